#!/usr/bin/env bash
# Schema fuzzing: schemathesis against /openapi.json of a live Roster (fresh
# SQLite database, authenticated as its admin), with a fixed seed and a
# bounded number of examples. Fails on any 5xx or any response that violates
# the document. Usage: compat/fuzz.sh ROSTER_BIN VENV
set -euo pipefail
bin=$1 venv=$2
work=$(mktemp -d)
port_file="$work/out"
ROSTER_ADMIN_EMAIL=fuzz@example.com ROSTER_ADMIN_PASSWORD=fuzz-password-1 \
  "$bin" serve --listen 127.0.0.1:0 --database "sqlite://$work/roster.db" >"$port_file" 2>"$work/log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do grep -q "roster listening on" "$port_file" && break; sleep 0.1; done
base=$(sed -n 's/^roster listening on //p' "$port_file")
[ -n "$base" ] || { echo "roster did not start" >&2; cat "$work/log" >&2; exit 1; }
token=$("$venv/bin/python" - "$base" <<'PY'
import json, sys, urllib.parse, urllib.request
form = urllib.parse.urlencode({"grant_type": "password", "username": "fuzz@example.com", "password": "fuzz-password-1"}).encode()
print(json.loads(urllib.request.urlopen(sys.argv[1] + "/oauth/token", data=form).read())["access_token"])
PY
)
# Logout, endsession and revoke would end the fuzzer's own session.
"$venv/bin/st" run "$base/openapi.json" \
  --checks not_a_server_error,response_schema_conformance \
  --max-examples "${FUZZ_EXAMPLES:-15}" --seed 1 --workers 2 \
  -H "Authorization: Bearer $token" \
  --exclude-path /oauth/revoke --exclude-path /api/login/logout --exclude-path /api/login/endsession
