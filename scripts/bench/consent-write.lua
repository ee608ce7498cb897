-- wrk script: one consent decision per request, for a random subject, with an admin access token.
local token = os.getenv("QSPP_BENCH_TOKEN")
-- How many different people the decisions come from: a million makes nearly every request a new
-- person (a new data key); a thousand models returning people.
local subjects = tonumber(os.getenv("QSPP_BENCH_SUBJECTS") or "1000000")
local counter = 0

request = function()
    counter = counter + 1
    local subject = "bench-" .. math.random(1, subjects)
    local body = '{"purpose":"marketing","decision":"granted"}'
    return wrk.format("POST", "/v1/subjects/" .. subject .. "/consents", {
        ["Authorization"] = "Bearer " .. token,
        ["Content-Type"] = "application/json",
        ["User-Agent"] = "wrk/4.1",
    }, body)
end

local failures = 0
response = function(status, headers, body)
    if status ~= 201 then failures = failures + 1 end
end

done = function(summary, latency, requests)
    io.write(string.format("BENCH non201=%d p50_us=%d p99_us=%d rps=%.1f\n",
        summary.errors.status, latency:percentile(50), latency:percentile(99),
        summary.requests / (summary.duration / 1e6)))
end
