-- wrk script: a successful password login (no MFA) per request, for one of QSPP_BENCH_ACCOUNTS accounts.
local prefix = os.getenv("QSPP_BENCH_PREFIX")
local accounts = tonumber(os.getenv("QSPP_BENCH_ACCOUNTS"))
local password = os.getenv("QSPP_BENCH_PASSWORD")
local bad = 0

request = function()
    local body = string.format('{"email":"%s-%d@example.com","password":"%s"}', prefix, math.random(1, accounts),
        password)
    return wrk.format("POST", "/v1/auth/login", { ["Content-Type"] = "application/json" }, body)
end

done = function(summary, latency, requests)
    io.write(string.format("BENCH bad=%d p50_us=%d p99_us=%d rps=%.1f\n", summary.errors.status,
        latency:percentile(50), latency:percentile(99), summary.requests / (summary.duration / 1e6)))
end
