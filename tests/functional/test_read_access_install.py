"""pip and uv install from a read-restricted index (``acl_read``) of a real ``satchel serve`` process."""

import sys

import pytest
import requests
from uv import find_uv_bin

from satchel.testing.fixtures import filled_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """alice/secret, readable by alice and carol only, inherited by carol/prod."""
    def fill(filler):
        for name in ("alice", "bob", "carol"):
            filler.user(name, password=f"{name}-pw")
        filler.index("alice", "secret", acl_read="carol")
        filler.index("carol", "prod", bases=["alice/secret"])
        filler.file("alice/secret", "hello-pkg", "1.0")

    with filled_server(tmp_path_factory.mktemp("readaccess") / "server", fill) as process:
        yield process


def index_url(server, path, user=None):
    host = server.url.split("://", 1)[1]
    auth = f"{user}:{user}-pw@" if user else ""
    return f"http://{auth}{host}{path}"


def pip_install(e2e, tmp_path, url):
    return e2e.run([sys.executable, "-m", "pip", "install", "--isolated", "--index-url", url,
                "--target", tmp_path / "target", "--no-deps", "hello-pkg"], cwd=tmp_path, check=False)


def uv_install(e2e, tmp_path, url):
    return e2e.run([find_uv_bin(), "pip", "install", "--python", sys.executable, "--index-url", url,
                "--target", tmp_path / "target", "--no-deps", "hello-pkg"], cwd=tmp_path, check=False,
               env=e2e.client_env())


@pytest.mark.parametrize("installer", [pip_install, uv_install], ids=["pip", "uv"])
@pytest.mark.parametrize("path", ["/alice/secret/+simple/", "/carol/prod/"])
def test_install_with_credentials_in_url(server, e2e, tmp_path, installer, path):
    result = installer(e2e, tmp_path, index_url(server, path, "carol"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert [p.name for p in (tmp_path / "target").glob("*.dist-info")] == ["hello_pkg-1.0.dist-info"]


@pytest.mark.parametrize("installer", [pip_install, uv_install], ids=["pip", "uv"])
@pytest.mark.parametrize("user", [None, "bob"])
def test_install_refused_without_read_access(server, e2e, tmp_path, installer, user):
    result = installer(e2e, tmp_path, index_url(server, "/alice/secret/+simple/", user))
    assert result.returncode != 0
    assert not (tmp_path / "target").exists() or not list((tmp_path / "target").glob("*.dist-info"))


def test_file_url_learned_earlier_does_not_download(server):
    page = requests.get(server.url + "/alice/secret/+simple/hello-pkg/", auth=("carol", "carol-pw"),
                        headers={"Accept": "application/vnd.pypi.simple.v1+json"}, timeout=10).json()
    url = page["files"][0]["url"]
    url = url if url.startswith("http") else server.url + "/alice/secret/+simple/hello-pkg/" + url
    assert requests.get(url, auth=("carol", "carol-pw"), timeout=10).status_code == 200
    anonymous = requests.get(url, timeout=10)
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith("Basic")
    assert requests.get(url, auth=("bob", "bob-pw"), timeout=10).status_code == 403
