-- GET a user's settings, cycling over the seeded sample (see seed.py).
dofile(os.getenv("ROSTER_WRK_ENV"))
local i = 0
request = function()
  i = i + 1
  local user = users[(i % #users) + 1]
  return wrk.format("GET", "/restapi/v2.1/accounts/" .. account .. "/users/" .. user .. "/settings",
    {["Authorization"] = "Bearer " .. token})
end
