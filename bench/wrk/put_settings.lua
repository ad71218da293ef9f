-- PUT one flag of a user's settings, as roster-bench's put_settings does.
-- Every request is formatted once, before the run: then wrk's cost per
-- request is sending it, as at the floor (no script), and not Lua building
-- strings (formatting each request cost wrk about 3 µs more per request,
-- 8-10 % of the PUTs' rate on two cores).
dofile(os.getenv("ROSTER_WRK_ENV"))
-- Each pass over the users sets the flag the other way, so every PUT changes it.
local requests = {}
for pass, body in ipairs({'{"templateApplyNotify":true}', '{"templateApplyNotify":false}'}) do
  for n, user in ipairs(users) do
    requests[(pass - 1) * #users + n] = wrk.format("PUT",
      "/restapi/v2.1/accounts/" .. account .. "/users/" .. user .. "/settings",
      {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}, body)
  end
end
local i = 0
request = function()
  i = i % #requests + 1
  return requests[i]
end
