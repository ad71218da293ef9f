-- PUT one custom setting of a user's group, as roster-bench's put_custom
-- does. The first pass over the users adds the setting, the later ones
-- change it.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "cycle.lua")
local requests = {}
for pass = 1, 2 do
  for n, user in ipairs(users) do
    requests[(pass - 1) * #users + n] = wrk.format("PUT",
      "/restapi/v2.1/accounts/" .. account .. "/users/" .. user .. "/custom_settings",
      {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json",
       ["X-DocuSign-User-Settings-Key"] = "bench"},
      '{"customSettings":[{"name":"color","value":"' .. pass .. '"}]}')
  end
end
cycle(requests)
