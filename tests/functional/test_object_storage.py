"""pip and uv install from a ``satchel serve`` process keeping files in an S3-compatible bucket
(moto's server), with ``--s3-redirect``: they follow the redirect to the pre-signed URL."""

import os
import subprocess
import sys
import uuid

import pytest
import requests
from uv import find_uv_bin

from satchel.testing.fixtures import filled_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory, s3_settings):
    serverdir = tmp_path_factory.mktemp("s3") / "server"
    env = {"SATCHEL_BLOBS": "s3", "SATCHEL_S3_BUCKET": s3_settings["bucket"],
           "SATCHEL_S3_ENDPOINT_URL": s3_settings["endpoint_url"], "SATCHEL_S3_PREFIX": f"{uuid.uuid4().hex}/",
           "SATCHEL_S3_REDIRECT": "1"}
    def fill(filler):
        filler.user("alice")
        filler.index("alice", "dev")
        filler.file("alice/dev", "hello-pkg", "1.0")

    with filled_server(serverdir, fill, env=env,
                       **{name[len("SATCHEL_"):].lower(): value for name, value in env.items()}) as process:
        yield process


def test_file_url_redirects_to_the_bucket(server, s3_settings):
    page = requests.get(server.url + "/alice/dev/+simple/hello-pkg/",
                        headers={"Accept": "application/vnd.pypi.simple.v1+json"}, timeout=30).json()
    url = requests.compat.urljoin(server.url + "/alice/dev/+simple/hello-pkg/", page["files"][0]["url"])
    response = requests.get(url, allow_redirects=False, timeout=30)
    assert response.status_code == 302
    assert response.headers["Location"].startswith(s3_settings["endpoint_url"] + "/")


def test_pip_follows_the_redirect(server, tmp_path):
    result = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-cache-dir",
                             "--isolated", "download", "--index-url", server.url + "/alice/dev/+simple/",
                             "--dest", str(tmp_path / "d"), "--no-deps", "hello-pkg"],
                            capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout + result.stderr
    assert [p.name for p in (tmp_path / "d").iterdir()] == ["hello_pkg-1.0-py3-none-any.whl"]


def test_uv_follows_the_redirect(server, tmp_path):
    env = {**os.environ, "UV_NO_CACHE": "1", "UV_PYTHON_DOWNLOADS": "never"}
    env.pop("UV_INDEX_URL", None)
    target = tmp_path / "target"
    result = subprocess.run([find_uv_bin(), "pip", "install", "--python", sys.executable, "--index-url",
                             server.url + "/alice/dev/+simple/", "--target", str(target), "--no-deps", "hello-pkg"],
                            capture_output=True, text=True, timeout=300, env=env, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout + result.stderr
    assert [p.name for p in target.glob("*.dist-info")] == ["hello_pkg-1.0.dist-info"]
