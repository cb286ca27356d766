-- wrk script (bench/api loop-stall probe): every request names another Host, so that
-- every get_live_streams misses the response cache (its key holds the URL base when
-- serve runs without --public-url) and is rendered. Fixed-width names keep every body
-- the same length. Non-2xx answers and socket errors are reported by wrk itself.
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end
function init(args)
  math.randomseed(os.time() * 100 + tid)
end
function request()
  wrk.headers["Host"] = string.format("h%09d.bench", math.random(0, 999999999))
  return wrk.format(nil)
end
