"""Roles, replica preparation and the replication hooks, in-process."""

import hashlib
import subprocess
import sys

import pytest

from satchel.config import Config
from satchel.errors import ConfigError
from satchel.plugin import hookimpl
from satchel_replica.files import FileReplicator
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


class ReplicatedFiles:
    def __init__(self):
        self.copied = []

    @hookimpl
    def satchel_on_replicated_file(self, app, sha256):
        self.copied.append(sha256)


class NoPrimary:
    """Stands in for the replication state: a primary that must not be asked."""

    primary_url = "http://127.0.0.1:9"

    def __init__(self, app):
        self.app = app

    def record_error(self, message):
        raise AssertionError(f"the primary was asked: {message}")


def test_search_path_copy_is_verified_and_fires_on_replicated_file(tmp_path, make_app):
    recorder = ReplicatedFiles()
    app = make_app(storage="sqlite", plugins=[recorder])
    good, bad = b"release bytes", b"other bytes"
    digest = hashlib.sha256(good).hexdigest()
    wrong = hashlib.sha256(b"something else").hexdigest()
    search = tmp_path / "old-server"
    (search / digest[:2]).mkdir(parents=True)
    (search / digest[:2] / digest).write_bytes(good)
    (search / wrong).write_bytes(bad)  # named for a hash it doesn't have: must not be taken
    replicator = FileReplicator(NoPrimary(app), threads=0, search_paths=[search])
    replicator.fetch(digest)
    with app.storage.blobs.open(digest) as handle:
        assert handle.read() == good
    assert recorder.copied == [digest]
    assert replicator._from_search_path(wrong) is False
