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

-- A response() hook makes wrk hand every body to Lua as a string: for a body of
-- megabytes (the 16 MB get_live_streams of 50,000 channels) that copy costs wrk
-- more than the server's work and the figure would measure wrk; at 426 KB (bench/api's
-- gzip list) it still did: both servers then served wrk's ceiling, ~2,900 requests/s,
-- against ~10,000 without the hook. Past LARGE bytes
-- the check is done(): the bytes read per completed request must reach the
-- expected body (bodies still in flight at the end only add bytes; wrk's parser
-- never completes a response short of its Content-Length, and a cut connection
-- is a socket error, which wrk_run rejects).
local LARGE = 262144
if want < 0 or want <= LARGE then
  function response(status, headers, body)
    if want >= 0 and #body ~= want then
      bad = bad + 1
      if first_bad < 0 then first_bad = #body end
    end
  end
end

function done(summary, latency, requests)
  local n, first = 0, -1
  for _, t in ipairs(threads) do
    local b = t:get("bad") or 0
    n = n + b
    if b > 0 and first < 0 then first = t:get("first_bad") end
  end
  if want > LARGE and summary.requests > 0 then
    local mean = summary.bytes / summary.requests
    if mean < want then
      n = summary.requests
      first = math.floor(mean)
    end
  end
  io.write(string.format("Body length checked: %d bytes expected\n", want))
  io.write(string.format("Body length mismatches: %d (first: %d bytes)\n", n, first))
end
