-- GET a user's settings, cycling over the seeded sample (see seed.py); the
-- requests are formatted once, before the run (see put_settings.lua).
dofile(os.getenv("ROSTER_WRK_ENV"))
local requests = {}
for n, user in ipairs(users) do
  requests[n] = wrk.format("GET", "/restapi/v2.1/accounts/" .. account .. "/users/" .. user .. "/settings",
    {["Authorization"] = "Bearer " .. token})
end
local i = 0
request = function()
  i = i % #requests + 1
  return requests[i]
end
