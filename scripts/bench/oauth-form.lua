-- wrk script: an OAuth client's form POST of QSPP_BENCH_BODY to QSPP_BENCH_PATH (the token endpoint
-- with client credentials, or introspection). An answer that is not 200, or an introspection that does
-- not say active, counts as bad.
local path = os.getenv("QSPP_BENCH_PATH")
local body = os.getenv("QSPP_BENCH_BODY")
local introspecting = path == "/introspect"
local inactive = 0

request = function()
    return wrk.format("POST", path, { ["Content-Type"] = "application/x-www-form-urlencoded" }, body)
end

response = function(status, headers, answer)
    if status == 200 and introspecting and not answer:find('"active":true', 1, true) then inactive = inactive + 1 end
end

done = function(summary, latency, requests)
    io.write(string.format("BENCH bad=%d p50_us=%d p99_us=%d rps=%.1f\n", summary.errors.status + inactive,
        latency:percentile(50), latency:percentile(99), summary.requests / (summary.duration / 1e6)))
end
