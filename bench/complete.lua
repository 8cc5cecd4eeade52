-- wrk script for `cargo xtask bench`: POST /api/payments/{id}/complete over
-- a file of payment ids (one a line), split between wrk's threads.
-- Arguments: <ids file> <number of wrk threads> <once|repeat>
--   once:   each id is reported once (the backend's full verification path);
--           the thread stops when its share is used up.
--   repeat: cycle through the ids for the whole duration (already verified).
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
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
  extra = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.body = "{}"
end

function request()
  pos = pos + 1
  if pos > #ids then
    if cycle then
      pos = 1
    else
      exhausted = true
      extra = extra + 1
      pos = #ids
    end
  end
  return wrk.format(nil, "/api/payments/" .. ids[pos] .. "/complete")
end

function response(status, headers, body)
  if exhausted then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
