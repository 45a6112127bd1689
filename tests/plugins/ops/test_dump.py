"""``satchel export`` / ``satchel import``: round trip, validation, refusal to overwrite."""

import json
import os
import subprocess
import sys

import pytest
from webtest import TestApp

from satchel.app import create_app
from satchel.errors import ConfigError
from satchel.testing.client import DevpiClient
from satchel.testing.fixtures import Filler, make_wheel

from satchel_ops import dump

JSON_PAGE = {"Accept": "application/vnd.pypi.simple.v1+json"}


def satchel(*args):
    return subprocess.run([sys.executable, "-m", "satchel", *args], capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


@pytest.fixture
def source(tmp_path):
    """A sqlite server with users, inheriting indexes, wheels, an sdist and a mirror index."""
    app = create_app({"serverdir": str(tmp_path / "source"), "storage": "sqlite"})
    filler = Filler(app)
    with app.storage.write() as tx:
        from satchel.model import users
        users.create_user(tx, "alice", password="secret", email="alice@example.org")
    filler.index("alice", "dev")
    filler.index("alice", "prod", bases=["alice/dev"], volatile=False, mirror_whitelist=["six"])
    for version in ("1.0", "1.1"):
        filler.file("alice/dev", "hello-pkg", version)
    filler.file("alice/prod", "hello-pkg", "2.0", filename="hello-pkg-2.0.tar.gz", content=b"sdist 2.0")
    yield app
    app.close()


def pages(app):
    web = TestApp(app.wsgi)
    return {path: web.get(path, headers=JSON_PAGE).json for path in
            ("/alice/prod/+simple/hello-pkg/", "/alice/dev/+simple/hello-pkg/", "/alice/prod/+simple/")}


def test_round_trip_reproduces_the_server(source, tmp_path):
    counts = dump.export(source, tmp_path / "dump")
    assert counts["files"] == 3  # release files (wheel METADATA is kept in the file records)
    manifest = json.loads((tmp_path / "dump" / dump.MANIFEST).read_text())
    assert manifest["format"] == "satchel-dump" and manifest["version"] == 2
    target = create_app({"serverdir": str(tmp_path / "target"), "storage": "sqlite"}, initialize=False)
    try:
        dump.load(target, dump.validate(tmp_path / "dump"))
        assert pages(target) == pages(source)
        client = DevpiClient(target)
        client.login("alice", "secret")
        config = client.get("/alice/prod").json["result"]
        assert config["volatile"] is False and config["mirror_whitelist"] == ["six"]
        assert client.get("/root/pypi").json["result"]["type"] == "mirror"
        page = pages(target)["/alice/prod/+simple/hello-pkg/"]
        for entry in page["files"]:
            path = os.path.normpath("/alice/prod/+simple/hello-pkg/" + entry["url"])
            assert TestApp(target.wsgi).get(path).body
    finally:
        target.close()


def test_export_refuses_non_empty_directory(source, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(ConfigError, match="not empty"):
        dump.export(source, tmp_path / "full")


def test_hard_links(source, tmp_path):
    dump.export(source, tmp_path / "dump", hard_links=True)
    manifest = json.loads((tmp_path / "dump" / dump.MANIFEST).read_text())
    linked = dump.blob_path(tmp_path / "dump", manifest["blobs"][0])
    assert linked.stat().st_nlink >= 2


@pytest.fixture
def exported(source, tmp_path):
    dump.export(source, tmp_path / "dump")
    return tmp_path / "dump"


def _edit_manifest(root, **changes):
    path = root / dump.MANIFEST
    manifest = json.loads(path.read_text())
    manifest.update(changes)
    path.write_text(json.dumps(manifest))


@pytest.mark.parametrize("damage, message", [
    (lambda root: _edit_manifest(root, version=99), "newer than this satchel understands"),
    (lambda root: _edit_manifest(root, format="other"), "is not a satchel dump"),
    (lambda root: (root / dump.MANIFEST).unlink(), "incomplete export"),
    (lambda root: (root / dump.RECORDS).write_text((root / dump.RECORDS).read_text()[:-40]),
     "truncated or edited"),
    (lambda root: (root / dump.RECORDS).write_text(
        (root / dump.RECORDS).read_text().replace("alice@example.org", "mallory@example.org")),
     "truncated or edited"),
])
def test_damaged_dumps_are_refused(exported, damage, message):
    damage(exported)
    with pytest.raises(ConfigError, match=message):
        dump.validate(exported)


def _stored(app):
    with app.storage.read() as tx:
        return tx.keys(""), list(app.storage.blobs)


@pytest.mark.parametrize("hard_links", [False, True])
def test_file_with_wrong_bytes_is_refused_and_nothing_is_stored(exported, tmp_path, hard_links):
    manifest = json.loads((exported / dump.MANIFEST).read_text())
    victim = dump.blob_path(exported, manifest["blobs"][-1])
    victim.write_bytes(b"tampered")
    target = create_app({"serverdir": str(tmp_path / "target"), "storage": "sqlite"})
    try:
        before = _stored(target)
        parsed = dump.validate(exported)  # the structure is fine; the bytes are checked while copying
        with pytest.raises(ConfigError, match="does not match its sha256"):
            dump.load(target, parsed, hard_links=hard_links)
        assert _stored(target) == before
        assert not list((tmp_path / "target" / "+blobs" / "tmp").iterdir())  # spooled copies dropped
    finally:
        target.close()


def test_missing_file_or_bad_file_list_is_refused(exported):
    manifest = json.loads((exported / dump.MANIFEST).read_text())
    dump.blob_path(exported, manifest["blobs"][0]).unlink()
    with pytest.raises(ConfigError, match="is missing from the dump"):
        dump.validate(exported)
    _edit_manifest(exported, blobs=["../../etc/passwd"])
    with pytest.raises(ConfigError, match="not sha256 digests"):
        dump.validate(exported)


def test_version_1_layout_is_still_read(source, exported, tmp_path):
    manifest = json.loads((exported / dump.MANIFEST).read_text())
    for sha256 in manifest["blobs"]:
        old = dump.blob_path(exported, sha256, version=1)
        old.parent.mkdir(parents=True, exist_ok=True)
        dump.blob_path(exported, sha256).rename(old)
    _edit_manifest(exported, version=1)
    target = create_app({"serverdir": str(tmp_path / "target"), "storage": "sqlite"}, initialize=False)
    try:
        dump.load(target, dump.validate(exported))
        assert pages(target) == pages(source)
        assert sorted(target.storage.blobs) == sorted(manifest["blobs"])
    finally:
        target.close()


def test_cli_round_trip_and_refusals(source, tmp_path):
    serverdir = str(tmp_path / "source")
    source.close()
    assert satchel("export", str(tmp_path / "cli-dump"), "--serverdir", serverdir).returncode == 0
    target = str(tmp_path / "cli-target")
    result = satchel("import", str(tmp_path / "cli-dump"), "--serverdir", target)
    assert result.returncode == 0, result.stderr
    again = satchel("import", str(tmp_path / "cli-dump"), "--serverdir", serverdir)
    assert again.returncode == 2 and "already holds data" in again.stderr
    _edit_manifest(tmp_path / "cli-dump", version=dump.VERSION + 1)
    newer = satchel("import", str(tmp_path / "cli-dump"), "--serverdir", str(tmp_path / "t2"))
    assert newer.returncode == 2 and "newer than this satchel understands" in newer.stderr
    app = create_app({"serverdir": target, "storage": "sqlite"}, initialize=False)
    try:
        DevpiClient(app).login("alice", "secret")
        assert "hello-pkg-2.0.tar.gz" in TestApp(app.wsgi).get("/alice/prod/+simple/hello-pkg/").text
    finally:
        app.close()


def test_mirror_cache_left_out_unless_asked(tmp_path):
    app = create_app({"serverdir": str(tmp_path / "m"), "storage": "sqlite"})
    try:
        filename, content = make_wheel("six", "1.0")
        blob = app.storage.blobs.put_bytes(content)
        with app.storage.write() as tx:
            tx.set(f"files/root/pypi/+f/abc/def/{filename}",
                   {"sha256": blob.sha256, "size": blob.size, "filename": filename, "url": "http://up/x"})
            tx.set("projects/root/pypi/six", {"name": "six", "versions": [], "files": []})
        dump.export(app, tmp_path / "plain")
        dump.export(app, tmp_path / "full", include_mirrored_files=True)
    finally:
        app.close()
    plain = (tmp_path / "plain" / dump.RECORDS).read_text()
    full = (tmp_path / "full" / dump.RECORDS).read_text()
    assert "root/pypi/six" not in plain and "indexes/root/pypi" in plain
    assert "files/root/pypi/+f/abc/def" in full and "projects/root/pypi/six" in full
