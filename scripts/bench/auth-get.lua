-- wrk script: an authenticated GET of QSPP_BENCH_PATH, with a bearer token (QSPP_BENCH_TOKEN) or
-- with a browser's session cookies (QSPP_BENCH_COOKIE).
local token = os.getenv("QSPP_BENCH_TOKEN")
local cookie = os.getenv("QSPP_BENCH_COOKIE")
local path = os.getenv("QSPP_BENCH_PATH")

request = function()
    if cookie and cookie ~= "" then
        return wrk.format("GET", path, { ["Cookie"] = cookie, ["Accept"] = "text/html" })
    end
    return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
end

done = function(summary, latency, requests)
    io.write(string.format("BENCH bad=%d p50_us=%d p99_us=%d rps=%.1f\n", summary.errors.status,
        latency:percentile(50), latency:percentile(99), summary.requests / (summary.duration / 1e6)))
end
