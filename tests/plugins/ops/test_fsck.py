"""``satchel fsck``: missing and corrupt files, orphans, repair, foreign serverdirs."""

import os
import subprocess
import sys
import time

import pytest

from satchel.app import create_app
from satchel.testing.fake_upstream import FakeUpstream
from satchel.testing.fixtures import Filler, make_wheel


def fsck(serverdir, *args):
    return subprocess.run([sys.executable, "-m", "satchel", "fsck", "--serverdir", str(serverdir), *args],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


@pytest.fixture
def serverdir(tmp_path):
    path = tmp_path / "server"
    app = create_app({"serverdir": str(path), "storage": "sqlite"})
    filler = Filler(app)
    filler.user("alice")
    filler.index("alice", "dev")
    links = [filler.file("alice/dev", "hello-pkg", version) for version in ("1.0", "1.1")]
    app.close()
    return path, links


def blob_file(serverdir, sha256):
    return serverdir / "+blobs" / sha256[:2] / sha256


def test_clean_serverdir(serverdir):
    serverdir, _ = serverdir
    result = fsck(serverdir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "checked 2 file references" in result.stdout  # two wheels (METADATA lives in their records)


def test_corrupt_missing_and_orphan(serverdir):
    serverdir, (first, second) = serverdir
    blob_file(serverdir, first["hashes"]["sha256"]).write_bytes(b"bit rot")
    blob_file(serverdir, second["hashes"]["sha256"]).unlink()
    orphan = blob_file(serverdir, "0" * 64)
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"nobody's")
    result = fsck(serverdir)
    assert result.returncode == 1
    assert f"CORRUPT {first['hashes']['sha256']}" in result.stdout
    assert f"MISSING {second['hashes']['sha256']}" in result.stdout
    assert f"ORPHAN {'0' * 64}" in result.stdout
    fast = fsck(serverdir, "--no-checksum")
    assert "CORRUPT" not in fast.stdout and "MISSING" in fast.stdout
    fsck(serverdir, "--repair")
    assert not orphan.exists()
    # uploads can't be refetched: still reported
    assert fsck(serverdir).returncode == 1


def test_repair_refetches_mirror_files(tmp_path):
    with FakeUpstream() as upstream:
        filename, content = make_wheel("six", "1.0")
        upstream_file = upstream.add_file("six", filename, content)
        path = tmp_path / "server"
        app = create_app({"serverdir": str(path), "storage": "sqlite"})
        blob = app.storage.blobs.put_bytes(content)
        with app.storage.write() as tx:
            tx.set(f"files/root/pypi/+f/{blob.sha256[:3]}/{blob.sha256[3:16]}/{filename}",
                   {"sha256": blob.sha256, "size": blob.size, "filename": filename, "url": upstream_file.url})
        app.close()
        blob_file(path, blob.sha256).write_bytes(b"damaged")
        assert fsck(path).returncode == 1
        repaired = fsck(path, "--repair")
        assert "repaired files/root/pypi" in repaired.stdout
        assert blob_file(path, blob.sha256).read_bytes() == content
        assert fsck(path).returncode == 0


def test_foreign_serverdir(tmp_path):
    devpi_like = tmp_path / "devpi"
    devpi_like.mkdir()
    (devpi_like / ".sqlite").write_bytes(b"")
    (devpi_like / ".serverversion").write_text("4")
    result = fsck(devpi_like)
    assert result.returncode == 2 and "is not a satchel serverdir" in result.stderr and "devpi" in result.stderr
    assert not (devpi_like / "satchel.sqlite").exists()
    empty = fsck(tmp_path / "nothing")
    assert empty.returncode == 2 and "is not a satchel serverdir" in empty.stderr


def test_temporary_files_a_crash_left_are_reported_and_removed(serverdir):
    serverdir, _ = serverdir
    tmp = serverdir / "+blobs" / "tmp"
    old, fresh = tmp / "tmpold", tmp / "tmpfresh"  # an import killed while staging; an upload in progress
    old.write_bytes(b"x" * 1000)
    fresh.write_bytes(b"y" * 10)
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    result = fsck(serverdir)
    assert result.returncode == 1
    assert "LEFTOVER 1 temporary files (1000 bytes)" in result.stdout
    repaired = fsck(serverdir, "--repair")
    assert "removed 1 leftover temporary files" in repaired.stdout
    assert not old.exists() and fresh.exists()
    assert fsck(serverdir).returncode == 0
