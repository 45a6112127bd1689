"""Moving a server: ``satchel export`` from the embedded sqlite serverdir, ``satchel import`` into
PostgreSQL with files in an S3-compatible bucket, as docs/operations.md describes."""

import os
import subprocess
import sys
import uuid

from webtest import TestApp

from satchel.app import create_app
from satchel.testing.fixtures import Filler


def satchel(*args, env=None):
    result = subprocess.run([sys.executable, "-m", "satchel", *args], capture_output=True, text=True,
                            timeout=300, stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_export_from_sqlite_import_into_postgresql_and_s3(tmp_path, postgresql_dsn, s3_settings):
    old = tmp_path / "old"
    app = create_app({"serverdir": str(old), "storage": "sqlite"})
    filler = Filler(app)
    filler.user("alice", password="secret")
    filler.index("alice", "dev")
    wheel = filler.file("alice/dev", "hello-pkg", "1.0")
    sdist = filler.file("alice/dev", "hello-pkg", "1.1", filename="hello-pkg-1.1.tar.gz", content=b"sdist")
    app.close()
    satchel("export", str(tmp_path / "dump"), "--serverdir", str(old))

    schema, prefix = "m_" + uuid.uuid4().hex[:10], f"{uuid.uuid4().hex}/"
    env = {"SATCHEL_STORAGE": "postgresql", "SATCHEL_POSTGRESQL_DSN": postgresql_dsn,
           "SATCHEL_POSTGRESQL_SCHEMA": schema, "SATCHEL_BLOBS": "s3", "SATCHEL_S3_BUCKET": s3_settings["bucket"],
           "SATCHEL_S3_ENDPOINT_URL": s3_settings["endpoint_url"], "SATCHEL_S3_PREFIX": prefix}
    new = tmp_path / "new"
    satchel("import", str(tmp_path / "dump"), "--serverdir", str(new), env=env)
    assert "checked 2 file references" in satchel("fsck", "--serverdir", str(new), env=env).stdout

    moved = create_app({"serverdir": str(new), **{k[len("SATCHEL_"):].lower(): v for k, v in env.items()}})
    try:
        assert moved.storage.name == "postgresql"
        testapp = TestApp(moved.wsgi)
        page = testapp.get("/alice/dev/+simple/hello-pkg/").text
        assert wheel["filename"] in page and sdist["filename"] in page
        assert testapp.get("/" + sdist["path"]).body == b"sdist"
        assert sorted(moved.storage.blobs) == sorted({wheel["hashes"]["sha256"], sdist["hashes"]["sha256"]})
        assert testapp.get("/alice", headers={"Accept": "application/json"}).json["result"]["username"] == "alice"
    finally:
        moved.close()
