"""The secret file (0600, refused when unsafe) and ``satchel passwd``."""

import base64
import os
import stat
import subprocess
import sys

import pytest

from satchel.errors import ConfigError
from satchel.testing.client import DevpiClient
from satchel_auth.secret import load_or_create_secret


def test_secret_created_0600_and_stable(tmp_path):
    path = tmp_path / ".secret"
    first = load_or_create_secret(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret(path) == first and len(first) >= 32


@pytest.mark.parametrize("mode, content, message", [
    (0o644, os.urandom(32), "must not be accessible by group or others"),
    (0o600, b"short", "too short"),
    (0o600, b"a" * 40, "too repetitive"),
], ids=["group-readable", "too-short", "repetitive"])  # fixed ids: xdist workers must collect the same names
def test_unsafe_secrets_refused(tmp_path, mode, content, message):
    path = tmp_path / "secret"
    path.write_bytes(content)
    path.chmod(mode)
    with pytest.raises(ConfigError, match=message):
        load_or_create_secret(path)


def test_tokens_survive_restart_with_persistent_secret(make_app, tmp_path):
    serverdir = str(tmp_path / "s")
    app = make_app(storage="sqlite", serverdir=serverdir)
    token = DevpiClient(app).login("root", "")
    app.close()
    again = DevpiClient(make_app(storage="sqlite", serverdir=serverdir))
    again.auth = base64.b64encode(f"root:{token}".encode()).decode()
    assert again.get("/+api").json["result"]["authstatus"][0] == "ok"
    assert stat.S_IMODE((tmp_path / "s" / ".secret").stat().st_mode) == 0o600


def _satchel(*args, stdin=""):
    return subprocess.run([sys.executable, "-m", "satchel", *args], input=stdin, capture_output=True,
                          text=True, timeout=60)


def test_passwd_command(tmp_path, make_app):
    serverdir = str(tmp_path / "s")
    assert _satchel("init", "--serverdir", serverdir).returncode == 0
    result = _satchel("passwd", "root", "--serverdir", serverdir, stdin="n3w-pass\n")
    assert result.returncode == 0, result.stderr
    client = DevpiClient(make_app(storage="sqlite", serverdir=serverdir))
    client.web.post_json("/+login", {"user": "root", "password": ""}, headers=client.headers(), status=401)
    client.login("root", "n3w-pass")


def test_passwd_errors(tmp_path):
    serverdir = str(tmp_path / "s")
    assert _satchel("init", "--serverdir", serverdir).returncode == 0
    missing = _satchel("passwd", "nobody", "--serverdir", serverdir, stdin="x\n")
    assert missing.returncode == 2 and "user 'nobody' does not exist" in missing.stderr
    empty = _satchel("passwd", "root", "--serverdir", serverdir, stdin="\n")
    assert empty.returncode == 2 and "empty password refused" in empty.stderr
    no_user = _satchel("passwd", "--serverdir", serverdir)
    assert no_user.returncode == 2 and "name the user" in no_user.stderr
