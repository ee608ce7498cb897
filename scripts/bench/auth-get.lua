-- wrk script: an authenticated GET of QSPP_BENCH_PATH.
local token = os.getenv("QSPP_BENCH_TOKEN")
local path = os.getenv("QSPP_BENCH_PATH")
local bad = 0

request = function()
    return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
end

response = function(status, headers, body)
    if status ~= 200 then bad = bad + 1 end
end

done = function(summary, latency, requests)
    io.write(string.format("BENCH bad=%d p50_us=%d p99_us=%d rps=%.1f\n", summary.errors.status,
        latency:percentile(50), latency:percentile(99), summary.requests / (summary.duration / 1e6)))
end
