-- wrk script for `cargo xtask bench`: POST /api/payments/{id}/complete over
-- a file of payment ids (one a line), split between wrk's threads.
-- Arguments: <ids file> <number of wrk threads> <once|repeat>
-- Environment: BENCH_REPLICA_PORTS (see setup).
--   once:   each id is reported once (the backend's full verification path);
--           the thread stops when its share is used up.
--   repeat: cycle through the ids for the whole duration (already verified).
--
-- wrk's own duration is always the -d value, even when every thread stopped
-- early, so the script times the run itself: from the first request sent to
-- the last response received, over all threads (gettimeofday via LuaJIT's FFI).
local ffi = require("ffi")
ffi.cdef([[
  typedef struct { long tv_sec; long tv_usec; } bench_timeval;
  int gettimeofday(bench_timeval *tv, void *tz);
]])
local tv = ffi.new("bench_timeval")
local function now_us()
  ffi.C.gettimeofday(tv, nil)
  return tonumber(tv.tv_sec) * 1000000 + tonumber(tv.tv_usec)
end

local counter = 0
local threads = {}

-- BENCH_REPLICA_PORTS (e.g. "8081,8082"): loopback ports of replicas on one
-- database; thread i connects to the i-th (in turn), as a load balancer
-- spreads connections. Unset: every thread uses the URL's port.
local replica_ports = {}
for port in (os.getenv("BENCH_REPLICA_PORTS") or ""):gmatch("%d+") do
  table.insert(replica_ports, port)
end

function setup(thread)
  thread:set("tid", counter)
  if #replica_ports > 0 then
    thread.addr = wrk.lookup("127.0.0.1", replica_ports[(counter % #replica_ports) + 1])[1]
  end
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  ids = {}
  local nthreads = tonumber(args[2])
  local i = 0
  for line in io.lines(args[1]) do
    if line ~= "" then
      if i % nthreads == tid then
        table.insert(ids, line)
      end
      i = i + 1
    end
  end
  pos = 0
  exhausted = false
  cycle = args[3] == "repeat"
  responses = 0
  first_us = nil
  last_us = nil
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.body = "{}"
end

function request()
  if first_us == nil then
    first_us = now_us()
  end
  pos = pos + 1
  if pos > #ids then
    if cycle then
      pos = 1
    else
      exhausted = true
      pos = #ids
    end
  end
  return wrk.format(nil, "/api/payments/" .. ids[pos] .. "/complete")
end

function response(status, headers, body)
  responses = responses + 1
  last_us = now_us()
  if exhausted then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local t0, t1, n = nil, nil, 0
  for _, t in ipairs(threads) do
    local a, b = t:get("first_us"), t:get("last_us")
    if a and (t0 == nil or a < t0) then t0 = a end
    if b and (t1 == nil or b > t1) then t1 = b end
    n = n + (t:get("responses") or 0)
  end
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"responses":%d,"active_us":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests, n, (t0 and t1) and (t1 - t0) or 0, summary.duration, latency:percentile(50),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
