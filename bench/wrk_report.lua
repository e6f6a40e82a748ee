-- wrk script: optional random paths from PATHS_FILE, optional COOKIE, optional
-- AUTHORIZATION (the Authorization header: "Bearer cip_..." for the API), and a one-line
-- machine-readable summary with p50/p95/p99 (wrk's own --latency has no p95).
local paths = nil
local cookie = os.getenv("COOKIE")
local authorization = os.getenv("AUTHORIZATION")

init = function(args)
  local file = os.getenv("PATHS_FILE")
  if file and file ~= "" then
    paths = {}
    for line in io.lines(file) do paths[#paths + 1] = line end
    math.randomseed(os.time() + (tonumber(tostring({}):sub(8)) or 0))
  end
end

request = function()
  local headers = {}
  if cookie and cookie ~= "" then headers["Cookie"] = cookie end
  if authorization and authorization ~= "" then headers["Authorization"] = authorization end
  local path = wrk.path
  if paths then path = paths[math.random(#paths)] end
  return wrk.format("GET", path, headers)
end

done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    "RESULT rps=%.1f p50=%.2f p95=%.2f p99=%.2f requests=%d errors=%d non2xx=%d\n",
    summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.requests, errors, summary.errors.status))
end
