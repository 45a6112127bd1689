"""devpi-client 7 against ``satchel serve``: use, login, users, indexes, getjson, list."""

import json

import pytest

from satchel.testing.devpi_cli import Devpi

pytestmark = pytest.mark.slow


@pytest.fixture
def devpi(live_server, tmp_path):
    server = live_server()
    client = Devpi(tmp_path / "clientdir", tmp_path)
    client("use", server.url)
    client.server = server
    return client


def test_use_and_login_logoff(devpi):
    out = devpi("use").stdout
    assert devpi.server.url in out
    login = devpi("login", "root", "--password", "")
    assert "logged in 'root'" in login.stdout
    devpi("logoff")
    bad = devpi("login", "root", "--password", "wrong", check=False)
    assert bad.returncode != 0 and "401" in bad.stdout + bad.stderr


def test_user_lifecycle(devpi):
    created = devpi("user", "-c", "alice", "password=secret", "email=alice@example.org")
    assert "user created: alice" in created.stdout
    devpi("login", "alice", "--password", "secret")
    devpi("user", "-m", "alice", "title=Alice")
    listing = devpi("user", "-l").stdout.split()
    assert "alice" in listing and "root" in listing
    shown = devpi("getjson", "/alice").stdout
    data = json.loads(shown)
    assert data["result"]["title"] == "Alice" and data["result"]["email"] == "alice@example.org"
    devpi("passwd", "alice", check=False)  # interactive in devpi-client; must not crash the server
    devpi("logoff")
    devpi("login", "alice", "--password", "secret")


def test_index_lifecycle(devpi):
    devpi("user", "-c", "alice", "password=secret")
    devpi("login", "alice", "--password", "secret")
    devpi("index", "-c", "dev", "volatile=False")
    devpi("index", "-c", "prod", "bases=alice/dev", "mirror_whitelist=hello-pkg")
    devpi("index", "alice/prod", "acl_upload+=bob", "title=Production")
    config = json.loads(devpi("getjson", "/alice/prod").stdout)["result"]
    assert config["bases"] == ["alice/dev"] and config["acl_upload"] == ["alice", "bob"]
    assert config["title"] == "Production" and config["mirror_whitelist"] == ["hello-pkg"]
    assert config["volatile"] is True
    listing = devpi("index", "-l").stdout.split()
    assert "alice/dev" in listing and "alice/prod" in listing
    devpi("use", "alice/prod")
    assert devpi("list").stdout.strip() == ""
    refused = devpi("index", "-y", "--delete", "alice/dev", check=False)
    assert refused.returncode != 0 and "non-volatile" in refused.stdout + refused.stderr
    devpi("index", "-y", "--delete", "alice/prod")
    assert "alice/prod" not in devpi("index", "-l").stdout
    bad = devpi("index", "-c", "broken", "bases=alice/nope", check=False)
    assert bad.returncode != 0 and "does not exist" in bad.stdout + bad.stderr


def test_use_index_shows_urls(devpi):
    devpi("user", "-c", "alice", "password=secret")
    devpi("login", "alice", "--password", "secret")
    devpi("index", "-c", "dev")
    devpi("use", "alice/dev")
    out = devpi("use", "--urls").stdout
    assert f"{devpi.server.url}/alice/dev/+simple/" in out
