"""Seeds a running Roster for the wrk cross-check (see ../README.md, "wrk").

    python3 bench/wrk/seed.py http://127.0.0.1:PORT 20000 /tmp/roster-wrk.lua

Logs in as ROSTER_ADMIN_EMAIL / ROSTER_ADMIN_PASSWORD (the bench's defaults
otherwise), creates N users in bulk calls of 500, as roster-bench does, and
writes a Lua file with the token, the account and 1,000 of the users, which
the wrk scripts read from ROSTER_WRK_ENV. Standard library only.
"""

import http.client
import json
import os
import sys
import urllib.parse

base, users, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
url = urllib.parse.urlsplit(base)
conn = http.client.HTTPConnection(url.hostname, url.port)


def call(method, path, body=None, headers=None, form=False):
    headers = dict(headers or {})
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded" if form else "application/json"
        body = urllib.parse.urlencode(body) if form else json.dumps(body)
    conn.request(method, path, body, headers)
    response = conn.getresponse()
    text = response.read()
    if response.status >= 300:
        sys.exit(f"{method} {path}: {response.status} {text[:300]!r}")
    return json.loads(text) if text else None


login = {
    "grant_type": "password",
    "username": os.environ.get("ROSTER_ADMIN_EMAIL", "bench@example.com"),
    "password": os.environ.get("ROSTER_ADMIN_PASSWORD", "bench-password-1"),
}
token = call("POST", "/oauth/token", login, form=True)["access_token"]
auth = {"Authorization": f"Bearer {token}"}
account = call("GET", "/oauth/userinfo", headers=auth)["accounts"][0]["account_id"]
ids = []
for first in range(0, users, 500):
    batch = [{"userName": f"User {k}", "email": f"user{k}@bench.example", "userSettings": {"locale": "fr"}}
             for k in range(first, min(users, first + 500))]
    created = call("POST", f"/restapi/v2.1/accounts/{account}/users", {"newUsers": batch}, auth)["newUsers"]
    ids += [u["userId"] for u in created]
sample = ids[:: max(1, len(ids) // 1000)]
with open(out, "w") as f:
    f.write(f'token = "{token}"\naccount = "{account}"\nusers = {{{",".join(json.dumps(i) for i in sample)}}}\n')
