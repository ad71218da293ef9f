#!/bin/bash
# Where a request's CPU goes: runs `wrk -t1 -c64 -d5` against a running
# Roster and prints, per request, the CPU time of each kind of server thread
# (runtime workers, SQLite writer, flusher), of wrk, and of the whole machine
# (with its idle share), from /proc. See ../README.md, "wrk".
#
#   bench/wrk/cpu.sh PID URL [SCRIPT [CONNECTIONS]]
#   bench/wrk/cpu.sh $(pgrep -f 'roster serve') http://127.0.0.1:8181/healthz
#   ROSTER_WRK_ENV=/tmp/wrk-bench/env.lua bench/wrk/cpu.sh $(pgrep -f 'roster serve') \
#       http://127.0.0.1:8181 bench/wrk/put_settings.lua
set -euo pipefail
pid=$1 url=$2 script=${3:-} conns=${4:-64}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# "thread-name ticks" for every thread of the server (utime + stime).
threads() { for t in /proc/"$pid"/task/*; do echo "$(cat "$t"/comm) $(awk '{print $14 + $15}' "$t"/stat)"; done; }
ticks() { awk '{print $14 + $15}' /proc/"$1"/stat; }

threads >"$out"/before
head -1 /proc/stat >"$out"/machine-before
wrk -t1 -c"$conns" -d5 ${script:+-s "$script"} "$url" >"$out"/wrk &
wrk_pid=$!
# wrk's own CPU, read while it runs (once it exits, /proc forgets it).
wrk_ticks=$(ticks $wrk_pid)
while kill -0 $wrk_pid 2>/dev/null; do wrk_ticks=$(ticks $wrk_pid 2>/dev/null || echo "$wrk_ticks"); sleep 0.1; done
wait $wrk_pid
threads >"$out"/after
head -1 /proc/stat >"$out"/machine-after

python3 - "$out" "$wrk_ticks" <<'PY'
import collections, os, sys
out, wrk_ticks = sys.argv[1], int(sys.argv[2])
text = open(f"{out}/wrk").read()
rps = float(next(l for l in text.splitlines() if l.startswith("Requests/sec")).split()[1])
requests = rps * 5
us_per_tick = 1e6 / os.sysconf("SC_CLK_TCK")

def by_thread(name):
    total = collections.Counter()
    for line in open(f"{out}/{name}"):
        comm, ticks = line.rsplit(" ", 1)
        total[comm] += int(ticks)
    return total

before, after = by_thread("before"), by_thread("after")
spent = {comm: (after[comm] - before[comm]) * us_per_tick / requests for comm in after}
print(f"{rps:.0f} req/s; CPU µs per request:", ", ".join(f"{c} {v:.1f}" for c, v in spent.items() if v >= 0.05))
print(f"wrk {wrk_ticks * us_per_tick / requests:.1f}")
a = list(map(int, open(f"{out}/machine-before").read().split()[1:]))
b = list(map(int, open(f"{out}/machine-after").read().split()[1:]))
d = [y - x for x, y in zip(a, b)]
busy = sum(d) - d[3] - d[4]
print(f"machine {busy * us_per_tick / requests:.1f} busy (idle {100 * d[3] / sum(d):.0f} %, iowait {100 * d[4] / sum(d):.0f} %)")
PY
