-- wrk: a different X-Hash-Key on every request, so consistent_hash keyed by that header
-- spreads requests over the targets as many clients would (wrk has one client address).
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, { ["X-Hash-Key"] = tostring(n) })
end
