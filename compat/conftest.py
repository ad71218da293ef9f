"""A real Roster on port 0 with a fresh database, and the official DocuSign
SDK configured as its users would: host ending in /restapi, a Bearer header."""

import json
import os
import pathlib
import subprocess
import tempfile
import urllib.parse
import urllib.request

import docusign_esign
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
ADMIN_EMAIL = "sdk-admin@example.com"
ADMIN_PASSWORD = "sdk-admin-password-1"


def _post_form(url, fields):
    data = urllib.parse.urlencode(fields).encode()
    with urllib.request.urlopen(urllib.request.Request(url, data=data)) as r:
        return json.loads(r.read())


def _get_json(url, token):
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())


class Roster:
    def __init__(self):
        self.dir = tempfile.TemporaryDirectory()
        binary = os.environ.get("ROSTER_BIN", str(ROOT / "target" / "debug" / "roster"))
        env = dict(os.environ, ROSTER_ADMIN_EMAIL=ADMIN_EMAIL, ROSTER_ADMIN_PASSWORD=ADMIN_PASSWORD)
        db = f"sqlite://{self.dir.name}/roster.db"
        self.proc = subprocess.Popen(
            [binary, "serve", "--listen", "127.0.0.1:0", "--database", db],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            text=True,
        )
        for line in self.proc.stdout:
            if line.startswith("roster listening on "):
                self.base = line.split("roster listening on ", 1)[1].strip()
                break
        else:
            raise RuntimeError("roster exited before it listened")
        self.token = self.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        info = _get_json(f"{self.base}/oauth/userinfo", self.token)
        self.account_id = info["accounts"][0]["account_id"]
        self.admin_id = info["sub"]

    def login(self, email, password):
        body = _post_form(f"{self.base}/oauth/token", {"grant_type": "password", "username": email, "password": password})
        return body["access_token"]

    def client(self, token=None):
        c = docusign_esign.ApiClient(host=f"{self.base}/restapi")
        c.set_default_header("Authorization", f"Bearer {token or self.token}")
        return c

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.dir.cleanup()


@pytest.fixture
def roster():
    r = Roster()
    yield r
    r.stop()
