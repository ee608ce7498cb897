-- wrk script: an authenticated read of the caller's own account.
local token = os.getenv("QSPP_BENCH_TOKEN")
local bad = 0

request = function()
    return wrk.format("GET", "/v1/me", { ["Authorization"] = "Bearer " .. token })
end

response = function(status, headers, body)
    if status ~= 200 then bad = bad + 1 end
end

done = function(summary, latency, requests)
    io.write(string.format("BENCH bad=%d p50_us=%d p99_us=%d rps=%.1f\n", summary.errors.status,
        latency:percentile(50), latency:percentile(99), summary.requests / (summary.duration / 1e6)))
end
