-- wrk script: a machine client's consent check, GET QSPP_BENCH_PATH with its bearer token
-- (QSPP_BENCH_TOKEN), sending QSPP_BENCH_ETAG as If-None-Match when set. An answer other than 200 or
-- 304 counts as bad.
local token = os.getenv("QSPP_BENCH_TOKEN")
local path = os.getenv("QSPP_BENCH_PATH")
local etag = os.getenv("QSPP_BENCH_ETAG")
local unexpected = 0

request = function()
    local headers = { ["Authorization"] = "Bearer " .. token }
    if etag and etag ~= "" then headers["If-None-Match"] = etag end
    return wrk.format("GET", path, headers)
end

response = function(status, headers, body)
    if status ~= 200 and status ~= 304 then unexpected = unexpected + 1 end
    if etag and etag ~= "" and status ~= 304 then unexpected = unexpected + 1 end
end

done = function(summary, latency, requests)
    io.write(string.format("BENCH bad=%d p50_us=%d p99_us=%d rps=%.1f\n", summary.errors.status + unexpected,
        latency:percentile(50), latency:percentile(99), summary.requests / (summary.duration / 1e6)))
end
