-- wrk script (bench/lib.sh wrk_run): counts responses whose body length is not
-- WRK_BODY_BYTES (-1: any length), so that a short or truncated body cannot count
-- as a served request. Each wrk thread has its own Lua state: the counters live in
-- the threads and done() (main state) sums them.
local want = tonumber(os.getenv("WRK_BODY_BYTES") or "-1")
local threads = {}
bad, first_bad = 0, -1

function setup(thread)
  table.insert(threads, thread)
end

function response(status, headers, body)
  if want >= 0 and #body ~= want then
    bad = bad + 1
    if first_bad < 0 then first_bad = #body end
  end
end

function done(summary, latency, requests)
  local n, first = 0, -1
  for _, t in ipairs(threads) do
    local b = t:get("bad") or 0
    n = n + b
    if b > 0 and first < 0 then first = t:get("first_bad") end
  end
  io.write(string.format("Body length checked: %d bytes expected\n", want))
  io.write(string.format("Body length mismatches: %d (first: %d bytes)\n", n, first))
end
