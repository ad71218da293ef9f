-- GET a user's settings, cycling over the seeded sample (see seed.py).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "cycle.lua")
local requests = {}
for n, user in ipairs(users) do
  requests[n] = wrk.format("GET", "/restapi/v2.1/accounts/" .. account .. "/users/" .. user .. "/settings",
    {["Authorization"] = "Bearer " .. token})
end
cycle(requests)
