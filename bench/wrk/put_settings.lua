-- PUT one flag of a user's settings, as roster-bench's put_settings does.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "cycle.lua")
-- Each pass over the users sets the flag the other way, so every PUT changes it.
local requests = {}
for pass, body in ipairs({'{"templateApplyNotify":true}', '{"templateApplyNotify":false}'}) do
  for n, user in ipairs(users) do
    requests[(pass - 1) * #users + n] = wrk.format("PUT",
      "/restapi/v2.1/accounts/" .. account .. "/users/" .. user .. "/settings",
      {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}, body)
  end
end
cycle(requests)
