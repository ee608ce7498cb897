-- wrk script: a successful password login (no MFA) per request.
local body = string.format('{"email":"%s","password":"%s"}', os.getenv("QSPP_BENCH_EMAIL"),
    os.getenv("QSPP_BENCH_PASSWORD"))

request = function()
    return wrk.format("POST", "/v1/auth/login", { ["Content-Type"] = "application/json" }, body)
end

done = function(summary, latency, requests)
    io.write(string.format("BENCH bad=%d p50_us=%d p99_us=%d rps=%.1f\n", summary.errors.status,
        latency:percentile(50), latency:percentile(99), summary.requests / (summary.duration / 1e6)))
end
