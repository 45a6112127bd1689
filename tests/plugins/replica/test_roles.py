"""Roles, replica preparation and the replication hooks, in-process."""

import subprocess
import sys

import pytest

from satchel.config import Config
from satchel.errors import ConfigError
from satchel_replica.node import load_state, resolve_role
from satchel_replica.signing import replica_headers, verify


def config(tmp_path, **values):
    return Config({"serverdir": str(tmp_path), **values})


@pytest.mark.parametrize("values, expected", [
    ({}, ("standalone", None)),
    ({"role": "primary"}, ("primary", None)),
    ({"primary_url": "http://p:3141/"}, ("replica", "http://p:3141")),
    ({"role": "standalone", "primary_url": "http://p"}, ("standalone", None)),
])
def test_resolve_role(tmp_path, values, expected):
    assert resolve_role(config(tmp_path, **values)) == expected


def test_replica_without_primary_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="needs --primary-url"):
        resolve_role(config(tmp_path, role="replica"))


def test_signatures(tmp_path):
    headers = replica_headers(b"k" * 32, "uuid-1")
    assert verify(b"k" * 32, headers) == "uuid-1"
    assert verify(b"x" * 32, headers) is None
    assert verify(b"k" * 32, {**headers, "X-Satchel-Replica-Uuid": "other"}) is None


def test_init_prepares_a_replica_without_local_data(tmp_path, make_app):
    serverdir = tmp_path / "replica"
    result = subprocess.run([sys.executable, "-m", "satchel", "init", "--serverdir", str(serverdir),
                             "--primary-url", "http://127.0.0.1:9/"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "data comes from elsewhere" in result.stderr
    assert load_state(serverdir)["primary_url"] == "http://127.0.0.1:9"
    # satchel_initialize_locally said no: no root, no serial
    app = make_app(storage="sqlite", serverdir=str(serverdir))
    assert app.hook.satchel_initialize_locally(app=app) is False
    assert app.storage.last_serial() == -1


def test_on_replicated_file_is_declared(make_app):
    app = make_app()
    assert hasattr(app.hook, "satchel_on_replicated_file")
