-- wrk script for the bench's HTTP rows (run.ts): cycles through announce paths drawn from the
-- bench's workload model (one a line in the file named by the first script argument, made by
-- run.ts), checks every answer (status 200, a bencoded body with a peer list and no "failure
-- reason"), and prints one JSON line of totals at the end.
--   wrk -t1 -c64 -d10s -s bench/http-announce.lua http://127.0.0.1:PORT -- PATHS_FILE [OFFSET]
-- Headers given with -H (e.g. "Connection: close") go into every request.

local threads = {}
local nthreads = 0

function setup(thread)
  nthreads = nthreads + 1
  thread:set("tid", nthreads)
  table.insert(threads, thread)
end

local reqs = {}
local n = 0
local i = 1
bad = 0
first_bad = ""

function init(args)
  local file = args[1]
  local offset = tonumber(args[2] or "0") or 0
  for line in io.lines(file) do
    n = n + 1
    reqs[n] = wrk.format("GET", line)
  end
  if n == 0 then error("no request paths in " .. tostring(file)) end
  i = (offset + (tid or 1) * 7919) % n + 1
end

function request()
  local r = reqs[i]
  i = i + 1
  if i > n then i = 1 end
  return r
end

function response(status, headers, body)
  if status ~= 200 or not string.find(body, "5:peers", 1, true) or string.find(body, "failure reason", 1, true) then
    bad = bad + 1
    if first_bad == "" then first_bad = tostring(status) .. " " .. string.sub(body, 1, 80) end
  end
end

function done(summary, latency, requests)
  local b = 0
  local fb = ""
  for _, t in ipairs(threads) do
    b = b + (t:get("bad") or 0)
    local f = t:get("first_bad")
    if fb == "" and f and f ~= "" then fb = f end
  end
  fb = string.gsub(fb, '[^%w%s%p]', '.')
  fb = string.gsub(fb, '["\\]', '.')
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,' ..
    '"status_errors":%d,"timeouts":%d,"bad_answers":%d,"lat_mean_us":%.1f,"lat_p50_us":%.1f,"lat_p99_us":%.1f,"first_bad":"%s"}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout, b,
    latency.mean, latency:percentile(50), latency:percentile(99), fb))
end
