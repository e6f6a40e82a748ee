-- wrk script for mixed traffic: PATHS_FILE holds "A <path>" (anonymous visitor) and
-- "M <path>" (member, sends MEMBER_COOKIE) lines, picked at random; the summary line
-- counts answers by status class, so any error shows.
local lines = {}
local member_cookie = os.getenv("MEMBER_COOKIE") or ""
local threads = {}

setup = function(thread)
  threads[#threads + 1] = thread
end

init = function(args)
  for line in io.lines(os.getenv("PATHS_FILE")) do
    local who, path = line:match("^(%a) (.+)$")
    if who then lines[#lines + 1] = {who, path} end
  end
  math.randomseed(os.time() + (tonumber(tostring({}):sub(8)) or 0))
  s2xx, s3xx, s4xx, s5xx, member_requests = 0, 0, 0, 0, 0
end

request = function()
  local pick = lines[math.random(#lines)]
  local headers = {}
  if pick[1] == "M" then
    headers["Cookie"] = member_cookie
    member_requests = member_requests + 1
  end
  return wrk.format("GET", pick[2], headers)
end

response = function(status, headers, body)
  if status < 300 then s2xx = s2xx + 1
  elseif status < 400 then s3xx = s3xx + 1
  elseif status < 500 then s4xx = s4xx + 1
  else s5xx = s5xx + 1 end
end

done = function(summary, latency, requests)
  local total = {s2xx = 0, s3xx = 0, s4xx = 0, s5xx = 0, member = 0}
  for _, t in ipairs(threads) do
    total.s2xx = total.s2xx + t:get("s2xx")
    total.s3xx = total.s3xx + t:get("s3xx")
    total.s4xx = total.s4xx + t:get("s4xx")
    total.s5xx = total.s5xx + t:get("s5xx")
    total.member = total.member + t:get("member_requests")
  end
  local seconds = summary.duration / 1e6
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout
  io.write(string.format(
    "RESULT rps=%.1f p50=%.2f p95=%.2f p99=%.2f requests=%d member_requests=%d "
    .. "2xx=%d 3xx=%d 4xx=%d 5xx=%d socket_errors=%d\n",
    summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.requests, total.member, total.s2xx, total.s3xx, total.s4xx, total.s5xx, errors))
end
