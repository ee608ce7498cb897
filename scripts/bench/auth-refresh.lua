-- wrk script: each thread (one connection) rotates its own refresh-token chain: every answer's token
-- is the next request's.
local tokens = {}
local next_thread = 1

setup = function(thread)
    if #tokens == 0 then
        for line in io.lines(os.getenv("QSPP_BENCH_REFRESH_TOKENS")) do tokens[#tokens + 1] = line end
    end
    thread:set("token", tokens[next_thread])
    next_thread = next_thread + 1
end

request = function()
    return wrk.format("POST", "/v1/auth/refresh", { ["Content-Type"] = "application/json" },
        '{"refreshToken":"' .. token .. '"}')
end

response = function(status, headers, body)
    local rotated = body:match('"refreshToken":"([^"]+)"')
    if rotated then token = rotated end
end

done = function(summary, latency, requests)
    io.write(string.format("BENCH bad=%d p50_us=%d p99_us=%d rps=%.1f\n", summary.errors.status,
        latency:percentile(50), latency:percentile(99), summary.requests / (summary.duration / 1e6)))
end
