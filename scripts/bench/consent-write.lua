-- wrk script: one consent decision per request, for a random subject, with an admin access token.
local token = os.getenv("QSPP_BENCH_TOKEN")
-- How many different people the decisions come from: a million makes nearly every request a new
-- person (a new data key); a thousand models returning people.
local subjects = tonumber(os.getenv("QSPP_BENCH_SUBJECTS") or "1000000")
-- The request is formatted once and only the subject changes, so the load generator spends its CPU
-- (shared with the server on these two cores) on sending, not on formatting 5 KB of headers each time.
local before, after
-- Each thread its own random sequence: unseeded, both would pick the same subjects in the same order,
-- and every second decision would come from a person just seen.
local threads = 0
setup = function(thread)
    threads = threads + 1
    thread:set("thread_number", threads)
end

init = function()
    math.randomseed(os.time() + thread_number * 7919)
    local sample = wrk.format("POST", "/v1/subjects/bench-SUBJECT/consents", {
        ["Authorization"] = "Bearer " .. token,
        ["Content-Type"] = "application/json",
        ["User-Agent"] = "wrk/4.1",
    }, '{"purpose":"marketing","decision":"granted"}')
    local at = sample:find("SUBJECT", 1, true)
    before, after = sample:sub(1, at - 1), sample:sub(at + #"SUBJECT")
end

request = function()
    return before .. math.random(1, subjects) .. after
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
