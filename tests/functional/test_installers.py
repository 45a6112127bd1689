"""pip and uv install from a real ``satchel serve`` process on 127.0.0.1."""

import os
import subprocess
import sys

import pytest
import requests
from uv import find_uv_bin

from satchel.testing.fixtures import filled_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server whose sqlite serverdir was filled through the model before it started."""
    def fill(filler):
        filler.user("alice")
        filler.index("alice", "dev")
        filler.index("alice", "prod", bases=["alice/dev"])
        filler.file("alice/dev", "hello-pkg", "1.0")
        filler.file("alice/dev", "hello-pkg", "1.1", requires_python=">=3.8")
        filler.file("alice/dev", "hello-pkg", "2.0", requires_python=">=99")  # never chosen
        filler.file("alice/prod", "other-pkg", "0.5")

    with filled_server(tmp_path_factory.mktemp("installers") / "server", fill) as process:
        yield process


def _pip(*args, cwd):
    return subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-cache-dir",
                           "--isolated", *args], capture_output=True, text=True, cwd=cwd, timeout=300,
                          stdin=subprocess.DEVNULL)


def _uv(*args, cwd):
    env = {**os.environ, "UV_NO_CACHE": "1", "UV_PYTHON_DOWNLOADS": "never"}
    env.pop("UV_INDEX_URL", None)
    return subprocess.run([find_uv_bin(), *args], capture_output=True, text=True, cwd=cwd, timeout=300,
                          env=env, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("index_path", ["/alice/prod/+simple/", "/alice/prod/"])
def test_pip_installs_from_inheriting_index(server, tmp_path, index_path):
    target = tmp_path / "target"
    result = _pip("install", "--index-url", server.url + index_path, "--target", str(target),
                  "--no-deps", "hello-pkg", "other-pkg", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    installed = sorted(p.name for p in target.glob("*.dist-info"))
    assert installed == ["hello_pkg-1.1.dist-info", "other_pkg-0.5.dist-info"]


def test_pip_download_checks_hashes(server, tmp_path):
    result = _pip("download", "--index-url", server.url + "/alice/dev/+simple/", "--dest", str(tmp_path / "d"),
                  "--no-deps", "hello-pkg==1.0", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert [p.name for p in (tmp_path / "d").iterdir()] == ["hello_pkg-1.0-py3-none-any.whl"]


@pytest.mark.parametrize("index_path", ["/alice/prod/+simple/", "/alice/prod/"])
def test_uv_installs_from_inheriting_index(server, tmp_path, index_path):
    target = tmp_path / "target"
    result = _uv("pip", "install", "--python", sys.executable, "--index-url", server.url + index_path,
                 "--target", str(target), "--no-deps", "hello-pkg", "other-pkg", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    installed = sorted(p.name for p in target.glob("*.dist-info"))
    assert installed == ["hello_pkg-1.1.dist-info", "other_pkg-0.5.dist-info"]


def test_server_answers_installer_requests(server):
    headers = {"User-Agent": "pip/24.0", "Accept": "application/vnd.pypi.simple.v1+json"}
    page = requests.get(server.url + "/alice/prod/+simple/hello-pkg/", headers=headers, timeout=10)
    assert page.status_code == 200
    assert [f["filename"] for f in page.json()["files"]][0] == "hello_pkg-1.0-py3-none-any.whl"
