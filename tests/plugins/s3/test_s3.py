"""S3 blobs beyond the contract suite: options, a failed upload, fsck on PostgreSQL + S3, redirects."""

import os
import subprocess
import sys
import threading
import uuid

import boto3
import pytest
import requests
from webtest import TestApp

from satchel.errors import ConfigError
from satchel.testing.fixtures import Filler
from satchel.testing.s3server import MotoServer

from satchel_s3.store import S3BlobStore


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}/"


def s3_options(s3_settings, prefix, **extra):
    return {"blobs": "s3", "s3_bucket": s3_settings["bucket"], "s3_endpoint_url": s3_settings["endpoint_url"],
            "s3_prefix": prefix, **extra}


def objects(s3_settings, prefix) -> list[str]:
    client = boto3.client("s3", endpoint_url=s3_settings["endpoint_url"])
    listing = client.list_objects_v2(Bucket=s3_settings["bucket"], Prefix=prefix)
    return [item["Key"] for item in listing.get("Contents", ())]


def test_app_keeps_uploads_in_the_bucket(make_app, s3_settings, prefix):
    app = make_app(storage="sqlite", **s3_options(s3_settings, prefix))
    filler = Filler(app)
    filler.user("alice")
    filler.index("alice", "dev")
    link = filler.file("alice/dev", "hello-pkg", "1.0", filename="hello-pkg-1.0.tar.gz", content=b"sdist bytes")
    sha256 = link["hashes"]["sha256"]
    assert objects(s3_settings, prefix) == [f"{prefix}blobs/{sha256}"]
    assert not any(app.config.serverdir.glob("+blobs/??/*"))  # nothing in the serverdir
    testapp = TestApp(app.wsgi)
    assert sha256 in testapp.get("/alice/dev/+simple/hello-pkg/").text
    assert testapp.get("/" + link["path"]).body == b"sdist bytes"  # streamed through satchel: redirect off


def test_redirect_answers_with_a_presigned_url(make_app, s3_settings, prefix):
    app = make_app(storage="sqlite", **s3_options(s3_settings, prefix, s3_redirect=True))
    filler = Filler(app)
    filler.user("alice")
    filler.index("alice", "dev")
    link = filler.file("alice/dev", "hello-pkg", "1.0", filename="hello-pkg-1.0.tar.gz",
                       content=b"redirected bytes")
    response = TestApp(app.wsgi).get("/" + link["path"], status=302)
    assert response.headers["Cache-Control"] == "no-store"
    location = response.headers["Location"]
    assert location.startswith(s3_settings["endpoint_url"]) and "Expires=" in location and "Signature" in location
    assert requests.get(location, timeout=10).content == b"redirected bytes"


def test_missing_bucket_is_a_clear_error(make_app, s3_settings, prefix):
    with pytest.raises(ConfigError, match="cannot use S3 bucket 'no-such-bucket'"):
        make_app(storage="sqlite", **s3_options({**s3_settings, "bucket": "no-such-bucket"}, prefix))
    with pytest.raises(ConfigError, match="needs a bucket"):
        make_app(storage="sqlite", blobs="s3", s3_endpoint_url=s3_settings["endpoint_url"])


def test_postgresql_blobs_need_postgresql_storage(make_app):
    with pytest.raises(ConfigError, match="needs --storage postgresql"):
        make_app(storage="sqlite", blobs="postgresql")


def test_upload_failing_midway_leaves_nothing_referenced(tmp_path, s3_server):
    """The S3 server dies while a blob is being uploaded: publish fails, no object, nothing committed."""
    own = MotoServer().start()
    try:
        client = boto3.client("s3", endpoint_url=own.url)
        client.create_bucket(Bucket="satchel-fail")
        store = S3BlobStore(tmp_path / "spool", "satchel-fail", endpoint_url=own.url)
        spooled = store.spool([os.urandom(1 << 20) for _ in range(80)])  # multipart: several PUTs
        stopper = threading.Timer(0.3, own.stop)
        stopper.start()
        with pytest.raises(Exception):
            store.publish(spooled)
        stopper.join()
    finally:
        own.stop()
    assert list((tmp_path / "spool").iterdir()) == []  # the spooled copy is gone too


def fsck(env, serverdir, *args):
    return subprocess.run([sys.executable, "-m", "satchel", "fsck", "--serverdir", str(serverdir), *args],
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL, env=env)


def test_fsck_on_postgresql_and_s3(make_app, postgresql_dsn, s3_settings, prefix, tmp_path):
    schema = "f_" + uuid.uuid4().hex[:10]
    serverdir = tmp_path / "server"
    options = {"postgresql_dsn": postgresql_dsn, "postgresql_schema": schema, **s3_options(s3_settings, prefix)}
    app = make_app(storage="postgresql", serverdir=str(serverdir), **options)
    filler = Filler(app)
    filler.user("alice")
    filler.index("alice", "dev")
    link = filler.file("alice/dev", "hello-pkg", "1.0", filename="hello-pkg-1.0.tar.gz", content=b"good bytes")
    orphan = app.storage.blobs.put_bytes(b"nobody refers to me").sha256
    app.close()
    env = {**os.environ, "SATCHEL_STORAGE": "postgresql", "SATCHEL_POSTGRESQL_DSN": postgresql_dsn,
           "SATCHEL_POSTGRESQL_SCHEMA": schema, "SATCHEL_BLOBS": "s3", "SATCHEL_S3_BUCKET": s3_settings["bucket"],
           "SATCHEL_S3_ENDPOINT_URL": s3_settings["endpoint_url"], "SATCHEL_S3_PREFIX": prefix}
    result = fsck(env, serverdir)
    assert result.returncode == 1 and f"ORPHAN {orphan}" in result.stdout, result.stdout + result.stderr
    client = boto3.client("s3", endpoint_url=s3_settings["endpoint_url"])
    client.put_object(Bucket=s3_settings["bucket"], Key=f"{prefix}blobs/{link['hashes']['sha256']}", Body=b"rot")
    result = fsck(env, serverdir, "--repair")
    assert f"CORRUPT {link['hashes']['sha256']}" in result.stdout
    assert f"{prefix}blobs/{orphan}" not in objects(s3_settings, prefix)
