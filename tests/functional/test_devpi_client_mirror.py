"""devpi-client 7 removing cached releases from a mirror index of ``satchel serve`` (upstream: a local fake)."""

import pytest

from satchel.testing.devpi_cli import Devpi
from satchel.testing.fake_upstream import FakeUpstream
from satchel.testing.fixtures import make_wheel
from satchel.testing.server import ServerProcess

pytestmark = pytest.mark.slow


def cached_files(api) -> int:
    return api.json("/+status")["mirrors"]["root/mirror"]["files-cached"]


def test_devpi_remove_on_a_mirror(tmp_path, e2e):
    with FakeUpstream() as upstream:
        wheels = [upstream.add_file("hello-pkg", *make_wheel("hello-pkg", version)) for version in ("1.0", "2.0")]
        server = ServerProcess(tmp_path / "server", args=["--no-root-pypi"]).start()
        try:
            api = e2e.Api(server.url)
            devpi = Devpi(tmp_path / "clientdir", tmp_path)
            devpi.env = e2e.client_env(DEVPI_CLIENTDIR=str(tmp_path / "clientdir"))
            devpi("use", server.url)
            devpi("login", "root", "--password", "")
            devpi("index", "-c", "mirror", "type=mirror", f"mirror_url={upstream.url}")
            devpi("use", "root/mirror")
            files = {entry["filename"]: entry["url"] for entry in
                     api.simple("/root/mirror/+simple/hello-pkg/")["files"]}
            for wheel in wheels:
                url = api.url + "/root/mirror/+simple/hello-pkg/" + files[wheel.filename]
                assert api.get(url).content == wheel.content
            assert cached_files(api) == 2
            assert "hello_pkg-1.0" in devpi("list", "hello-pkg").stdout

            removed = devpi("remove", "-y", "hello-pkg==1.0")
            assert "deleting release 1.0 of hello-pkg" in removed.stdout
            assert cached_files(api) == 1
            assert len(api.simple("/root/mirror/+simple/hello-pkg/")["files"]) == 2  # still listed upstream's

            devpi("remove", "-y", "hello-pkg")
            assert cached_files(api) == 0
            assert upstream.count("/simple/hello-pkg/") == 1
            assert len(api.simple("/root/mirror/+simple/hello-pkg/")["files"]) == 2  # asked upstream again
            assert upstream.count("/simple/hello-pkg/") == 2
        finally:
            server.stop()
