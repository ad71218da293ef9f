-- PUT one flag of roster-reference's rows (see ../README.md, "The physical
-- reference"), as put_settings.lua does of Roster's users: a sample of 1,000
-- rows of ROSTER_REFERENCE_ROWS (default 20,000), each pass the other way.
local rows = tonumber(os.getenv("ROSTER_REFERENCE_ROWS") or "20000")
local step = math.max(math.floor(rows / 1000), 1)
local requests = {}
for pass, body in ipairs({'{"templateApplyNotify":true}', '{"templateApplyNotify":false}'}) do
  for id = 0, rows - 1, step do
    requests[#requests + 1] = wrk.format("PUT", "/rows/" .. id, {["Content-Type"] = "application/json"}, body)
  end
end
local i = 0
request = function()
  i = i % #requests + 1
  return requests[i]
end
