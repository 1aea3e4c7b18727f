-- wrk script: requests read from a file, sent in its order (wrapping around), one line per request:
--   GET /path?query
--   POST /path {"json": "body"}
-- At the end, one line "BENCH {json}" with the counts and the latency percentiles (microseconds).

local requests = {}
local index = 0

function init(args)
  for line in io.lines(args[1]) do
    local method, path, body = line:match("^(%S+) (%S+) ?(.*)$")
    local headers = {}
    if body == "" then
      body = nil
    else
      headers["Content-Type"] = "application/json"
    end
    requests[#requests + 1] = wrk.format(method, path, headers, body)
  end
end

function request()
  index = index + 1
  if index > #requests then
    index = 1
  end
  return requests[index]
end

local QUANTILES = {1, 5, 10, 20, 25, 30, 40, 50, 60, 70, 75, 80, 90, 95, 97.5, 99, 99.5, 99.9}

function done(summary, latency, _requests)
  local parts = {}
  for _, q in ipairs(QUANTILES) do
    parts[#parts + 1] = string.format('"%s":%d', q, latency:percentile(q))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"max":%d,"percentiles":{%s}}}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, table.concat(parts, ",")))
end
