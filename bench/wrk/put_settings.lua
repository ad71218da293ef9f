-- PUT one flag of a user's settings, as roster-bench's put_settings does.
dofile(os.getenv("ROSTER_WRK_ENV"))
local i = 0
request = function()
  i = i + 1
  local user = users[(i % #users) + 1]
  local body = (i % 2 == 0) and '{"templateApplyNotify":true}' or '{"templateApplyNotify":false}'
  return wrk.format("PUT", "/restapi/v2.1/accounts/" .. account .. "/users/" .. user .. "/settings",
    {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}, body)
end
