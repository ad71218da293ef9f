-- What every script here shares: the seeded server's token, account and
-- sample of users (seed.py's file, named by ROSTER_WRK_ENV), and `cycle`,
-- which makes wrk send the given requests one after the other, over and
-- over. Each request is formatted once, before the run: then wrk's cost per
-- request is sending it, as at the floor (no script); formatting each
-- request in Lua cost wrk about 3 µs more per request, 8-10 % of the PUTs'
-- rate on two cores.
dofile(os.getenv("ROSTER_WRK_ENV"))

function cycle(requests)
  local i = 0
  request = function()
    i = i % #requests + 1
    return requests[i]
  end
end
