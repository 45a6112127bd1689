"""pip and uv install from a user index that inherits another user index, files uploaded by real clients.

``alice/dev`` (non-volatile) gets hello-pkg 1.0 and 1.1 and util-pkg 0.3 through twine; ``alice/prod`` (bases
``alice/dev``) gets hello-pkg 1.2 and app-pkg 2.0 (requires hello-pkg>=1.0 and util-pkg) through devpi-client;
``bob/team`` inherits ``alice/prod``. Installers see only the server on 127.0.0.1: pip runs isolated (no
configuration files, no find-links), uv without configuration, and only wheels are taken, so nothing is built.
"""

import json
import sys
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from uv import find_uv_bin

from satchel.testing.devpi_cli import Devpi
from satchel.testing.server import ServerProcess

pytestmark = pytest.mark.slow

INDEX_PATHS = ["/alice/prod/+simple/", "/alice/prod/"]


@pytest.fixture(scope="module")
def world(tmp_path_factory, project_builder, e2e):
    root = tmp_path_factory.mktemp("inheritance")
    built = {
        "hello-1.0": project_builder.build("hello-pkg", "1.0"),
        "hello-1.1": project_builder.build("hello-pkg", "1.1"),
        "hello-1.2": project_builder.build("hello-pkg", "1.2"),
        "util-0.3": project_builder.build("util-pkg", "0.3"),
        "app-2.0": project_builder.build("app-pkg", "2.0", dependencies=["hello-pkg>=1.0", "util-pkg"]),
    }
    server = ServerProcess(root / "server").start()
    try:
        api = e2e.Api(server.url)
        api.create_user("alice", "secret")
        api.create_user("bob", "bobpw")
        api.create_index("alice", "secret", "dev", volatile=False)
        api.create_index("alice", "secret", "prod", bases=["alice/dev"], volatile=False)
        api.create_index("bob", "bobpw", "team", bases=["alice/prod"])
        e2e.run([sys.executable, "-m", "twine", "upload", "--non-interactive", "--disable-progress-bar",
                 "--repository-url", server.url + "/alice/dev/", "-u", "alice", "-p", "secret",
                 *built["hello-1.0"].files, *built["hello-1.1"].files, *built["util-0.3"].files], cwd=root)
        devpi = Devpi(root / "clientdir", root)
        devpi.env = e2e.client_env(DEVPI_CLIENTDIR=str(root / "clientdir"))
        devpi("use", server.url + "/alice/prod")
        devpi("login", "alice", "--password", "secret")
        devpi("upload", *built["hello-1.2"].files, *built["app-2.0"].files)
        yield SimpleNamespace(server=server, api=api, built=built, root=root)
    finally:
        server.stop()


def pip(e2e, *args, cwd):
    return e2e.run([sys.executable, "-m", "pip", "--isolated", "--disable-pip-version-check",
                    "--no-cache-dir", *args], cwd=cwd, check=False)


def uv(e2e, *args, cwd):
    return e2e.run([find_uv_bin(), *args], cwd=cwd, check=False)


def installed(target):
    return sorted(path.name for path in target.glob("*.dist-info"))


def test_prod_serves_its_own_and_inherited_files(world):
    simple = world.api.simple("/alice/prod/+simple/hello-pkg/")
    urls = {entry["filename"]: entry["url"] for entry in simple["files"]}
    hashes = {entry["filename"]: entry["hashes"]["sha256"] for entry in simple["files"]}
    expected = {**world.built["hello-1.0"].digests(), **world.built["hello-1.1"].digests(),
                **world.built["hello-1.2"].digests()}
    assert hashes == expected
    for name, url in urls.items():
        origin = "alice/prod" if "1.2" in name else "alice/dev"
        absolute = urlsplit(urljoin("/alice/prod/+simple/hello-pkg/", url)).path  # links are relative
        assert absolute == f"/{origin}/+f/{hashes[name][:3]}/{hashes[name][3:16]}/{name}"
    projects = world.api.simple("/alice/prod/+simple/")["projects"]
    assert sorted(project["name"] for project in projects) == ["app-pkg", "hello-pkg", "util-pkg"]
    assert world.api.json("/alice/prod")["projects"] == ["app-pkg", "hello-pkg"]


@pytest.mark.parametrize("index_path", INDEX_PATHS)
def test_pip_installs_with_dependencies_through_bases(world, e2e, tmp_path, index_path):
    target = tmp_path / "target"
    report = tmp_path / "report.json"
    result = pip(e2e, "install", "--index-url", world.server.url + index_path, "--only-binary", ":all:",
                 "--target", target, "--report", report, "app-pkg", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert installed(target) == ["app_pkg-2.0.dist-info", "hello_pkg-1.2.dist-info", "util_pkg-0.3.dist-info"]
    items = json.loads(report.read_text())["install"]
    sources = {item["metadata"]["name"]: item["download_info"] for item in items}
    for info in sources.values():
        info["url"] = unquote(info["url"])  # pip asks for /%2Bf/ (protocol.md 1.1)
    util = world.built["util-0.3"]
    assert "/alice/dev/+f/" in sources["util-pkg"]["url"]
    assert sources["util-pkg"]["archive_info"]["hashes"]["sha256"] == util.digests()[util.wheel.name]
    assert "/alice/prod/+f/" in sources["hello-pkg"]["url"] and "/alice/prod/+f/" in sources["app-pkg"]["url"]


@pytest.mark.parametrize("index_path", INDEX_PATHS)
def test_pip_installs_pinned_version_from_base_with_hashes(world, e2e, tmp_path, index_path):
    release = world.built["hello-1.0"]
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("hello-pkg==1.0 " + " ".join(f"--hash=sha256:{digest}"
                                                          for digest in release.digests().values()) + "\n")
    target = tmp_path / "target"
    result = pip(e2e, "install", "--index-url", world.server.url + index_path, "--only-binary", ":all:",
                 "--no-deps", "--require-hashes", "--target", target, "-r", requirements, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert installed(target) == ["hello_pkg-1.0.dist-info"]


@pytest.mark.parametrize("index_path", INDEX_PATHS)
def test_uv_installs_with_dependencies_through_bases(world, e2e, tmp_path, index_path):
    target = tmp_path / "target"
    result = uv(e2e, "pip", "install", "--no-config", "--python", sys.executable, "--only-binary", ":all:",
                "--index-url", world.server.url + index_path, "--target", target, "app-pkg", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert installed(target) == ["app_pkg-2.0.dist-info", "hello_pkg-1.2.dist-info", "util_pkg-0.3.dist-info"]


@pytest.mark.parametrize("index_path", INDEX_PATHS)
def test_uv_installs_pinned_version_from_base(world, e2e, tmp_path, index_path):
    target = tmp_path / "target"
    result = uv(e2e, "pip", "install", "--no-config", "--python", sys.executable, "--only-binary", ":all:",
                "--index-url", world.server.url + index_path, "--target", target, "--no-deps",
                "hello-pkg==1.1", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert installed(target) == ["hello_pkg-1.1.dist-info"]
    module = (target / "hello_pkg" / "__init__.py").read_text()
    assert "VERSION = '1.1'" in module


def test_three_level_chain_across_users(world, e2e, tmp_path):
    """bob/team -> alice/prod -> alice/dev: pip and uv resolve through both levels."""
    url = world.server.url + "/bob/team/+simple/"
    pip_target, uv_target = tmp_path / "pip", tmp_path / "uv"
    by_pip = pip(e2e, "install", "--index-url", url, "--only-binary", ":all:", "--target", pip_target,
                 "app-pkg", "hello-pkg==1.1", cwd=tmp_path)
    assert by_pip.returncode == 0, by_pip.stdout + by_pip.stderr
    by_uv = uv(e2e, "pip", "install", "--no-config", "--python", sys.executable, "--only-binary", ":all:",
               "--index-url", url, "--target", uv_target, "app-pkg", "hello-pkg==1.1", cwd=tmp_path)
    assert by_uv.returncode == 0, by_uv.stdout + by_uv.stderr
    expected = ["app_pkg-2.0.dist-info", "hello_pkg-1.1.dist-info", "util_pkg-0.3.dist-info"]
    assert installed(pip_target) == expected and installed(uv_target) == expected


def test_unknown_project_is_not_found(world, e2e, tmp_path):
    """Nothing outside the server is consulted: a name no index holds fails instead of resolving elsewhere."""
    for index_path in INDEX_PATHS:
        result = pip(e2e, "install", "--index-url", world.server.url + index_path, "--target", tmp_path / "t",
                     "--no-deps", "requests", cwd=tmp_path)
        assert result.returncode != 0
        assert "No matching distribution found for requests" in result.stdout + result.stderr
    assert world.api.get("/alice/prod/+simple/requests/").status_code == 404


def test_uv_exclude_newer_uses_upload_time(world, e2e, tmp_path):
    """uv's --exclude-newer reads PEP 700 ``upload-time`` from the JSON simple pages."""
    url = world.server.url + "/alice/prod/+simple/"
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    fresh = uv(e2e, "pip", "install", "--no-config", "--python", sys.executable, "--index-url", url,
               "--target", tmp_path / "fresh", "--no-deps", "--exclude-newer", tomorrow, "hello-pkg",
               cwd=tmp_path)
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert installed(tmp_path / "fresh") == ["hello_pkg-1.2.dist-info"]
    old = uv(e2e, "pip", "install", "--no-config", "--python", sys.executable, "--index-url", url,
             "--target", tmp_path / "old", "--no-deps", "--exclude-newer", "2020-01-01T00:00:00Z",
             "hello-pkg", cwd=tmp_path)
    assert old.returncode != 0
    assert "hello-pkg" in old.stderr and "published at" in old.stderr  # uv read the upload times
    assert installed(tmp_path / "old") == []


def test_yanked_release_is_skipped_by_installers(world, e2e, tmp_path):
    """PEP 592 (beyond devpi): a yanked 1.2 on alice/prod makes pip and uv fall back to 1.1 from alice/dev
    unless 1.2 is pinned exactly."""
    session = world.api.session
    url = world.server.url + "/alice/prod/hello-pkg/1.2"
    yank = session.patch(url, json={"yanked": "broken build"}, headers=e2e.JSON, auth=("alice", "secret"),
                         timeout=30)
    assert yank.status_code == 200, yank.text
    try:
        index = world.server.url + "/alice/prod/+simple/"
        by_pip = pip(e2e, "install", "--index-url", index, "--target", tmp_path / "pip", "--no-deps",
                     "--only-binary", ":all:", "hello-pkg", cwd=tmp_path)
        assert by_pip.returncode == 0, by_pip.stdout + by_pip.stderr
        assert installed(tmp_path / "pip") == ["hello_pkg-1.1.dist-info"]
        by_uv = uv(e2e, "pip", "install", "--no-config", "--python", sys.executable, "--index-url", index,
                   "--target", tmp_path / "uv", "--no-deps", "hello-pkg", cwd=tmp_path)
        assert by_uv.returncode == 0, by_uv.stdout + by_uv.stderr
        assert installed(tmp_path / "uv") == ["hello_pkg-1.1.dist-info"]
        pinned = pip(e2e, "install", "--index-url", index, "--target", tmp_path / "pinned", "--no-deps",
                     "--only-binary", ":all:", "hello-pkg==1.2", cwd=tmp_path)
        assert pinned.returncode == 0, pinned.stdout + pinned.stderr
        assert "yanked" in pinned.stdout + pinned.stderr and "broken build" in pinned.stdout + pinned.stderr
        assert installed(tmp_path / "pinned") == ["hello_pkg-1.2.dist-info"]
    finally:
        unyank = session.patch(url, json={"yanked": False}, headers=e2e.JSON, auth=("alice", "secret"),
                               timeout=30)
        assert unyank.status_code == 200, unyank.text
    entries = world.api.simple("/alice/prod/+simple/hello-pkg/")["files"]
    assert not any(entry.get("yanked") for entry in entries)


UNUSUAL = [("Mixed_Case.Pkg", "1.0"), ("epoch-pkg", "1!2.0"), ("local-pkg", "1.0+local.1"),
           ("rc-pkg", "2.0rc1"), ("post-pkg", "1.0.post1")]


@pytest.fixture(scope="module")
def unusual(world, project_builder, e2e):
    """Non-normalized names, epochs (``!``), local versions (``+``), pre- and post-releases on alice/dev."""
    built = [project_builder.build(name, version) for name, version in UNUSUAL]
    e2e.run([sys.executable, "-m", "twine", "upload", "--non-interactive", "--disable-progress-bar",
             "--repository-url", world.server.url + "/alice/dev/", "-u", "alice", "-p", "secret",
             *[path for release in built for path in release.files]], cwd=world.root)
    return built


@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_unusual_names_and_versions(world, e2e, tmp_path, installer, unusual):
    """Installed through alice/prod's simple pages; the file URLs carry ``!`` and ``+``."""
    specs = ["Mixed_Case.Pkg", "epoch-pkg==1!2.0", "local-pkg==1.0+local.1", "rc-pkg==2.0rc1", "post-pkg"]
    target = tmp_path / "target"
    if installer == "pip":
        result = pip(e2e, "install", "--index-url", world.server.url + "/alice/prod/", "--only-binary",
                     ":all:", "--no-deps", "--target", target, *specs, cwd=tmp_path)
    else:
        result = uv(e2e, "pip", "install", "--no-config", "--python", sys.executable, "--index-url",
                    world.server.url + "/alice/prod/", "--no-deps", "--target", target, *specs, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert installed(target) == ["epoch_pkg-1!2.0.dist-info", "local_pkg-1.0+local.1.dist-info",
                                 "mixed_case_pkg-1.0.dist-info", "post_pkg-1.0.post1.dist-info",
                                 "rc_pkg-2.0rc1.dist-info"]
    simple = world.api.simple("/alice/prod/+simple/mixed-case-pkg/")
    assert {entry["filename"]: entry["hashes"]["sha256"] for entry in simple["files"]} == unusual[0].digests()
