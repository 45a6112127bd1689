"""API tokens with real clients: the devpi client with devpi-tokens, twine ``-u __token__``, pip and uv."""

import sys

import pytest
from uv import find_uv_bin

from satchel.testing.devpi_cli import Devpi
from satchel.testing.server import ServerProcess

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(tmp_path_factory, e2e):
    root = tmp_path_factory.mktemp("tokens")
    server = ServerProcess(root / "server", args=["--no-root-pypi"]).start()
    try:
        api = e2e.Api(server.url)
        api.create_user("alice", "secret")
        api.create_index("alice", "secret", "dev")
        api.create_index("alice", "secret", "other")
        api.create_index("alice", "secret", "private", acl_read=["alice"])
        devpi = Devpi(root / "client", root)
        devpi("use", server.url + "/alice/dev")
        devpi("login", "alice", "--password", "secret")
        yield server, api, devpi, root
    finally:
        server.stop()


def token_of(result) -> str:
    return result.stdout.strip().splitlines()[-1].strip()


def twine(e2e, root, url, token, *files):
    return e2e.run([sys.executable, "-m", "twine", "upload", "--non-interactive", "--disable-progress-bar",
                    "--repository-url", url, "-u", "__token__", "-p", token, *map(str, files)], cwd=root,
                   check=False)


def test_devpi_tokens_client_and_twine(world, e2e, project_builder):
    server, api, devpi, root = world
    token = token_of(devpi("token-create", "--allowed", "upload", "--indexes", "alice/dev"))
    assert token.startswith("devpi-")
    listed = devpi("token-list").stdout + devpi("token-list").stderr
    assert "allowed=upload" in listed and "indexes=alice/dev" in listed
    assert "allowed=upload" in devpi("token-inspect", "--token", token).stdout
    built = project_builder.build("tokpkg", "1.0")
    result = twine(e2e, root, server.url + "/alice/dev/", token, built.wheel)
    assert result.returncode == 0, result.stdout + result.stderr
    files = api.get("/alice/dev/+simple/tokpkg/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    assert [f["filename"] for f in files.json()["files"]] == [built.wheel.name]
    refused = twine(e2e, root, server.url + "/alice/other/", token, built.wheel)
    assert refused.returncode != 0 and "alice/other" in refused.stdout + refused.stderr
    # derived to one project by the client alone, still verified by the server
    derived = token_of(devpi("token-derive", "--token", token, "--projects", "otherpkg"))
    refused = twine(e2e, root, server.url + "/alice/dev/", derived, project_builder.build("tokpkg", "1.1").wheel)
    assert refused.returncode != 0 and "tokpkg" in refused.stdout + refused.stderr
    # a token cannot create tokens
    client = Devpi(root / "tokenclient", root)
    client("use", server.url + "/alice/dev")
    client("token-login", "--token", token)
    denied = client("token-create", check=False)
    assert denied.returncode != 0 and "token" in (denied.stdout + denied.stderr).lower()
    # deleted: refused at once
    token_id = next(line.strip() for line in listed.splitlines()
                    if line.startswith("    ") and not line.startswith("     "))
    devpi("token-delete", token_id)
    refused = twine(e2e, root, server.url + "/alice/dev/", token, project_builder.build("tokpkg", "1.2").wheel)
    assert refused.returncode != 0 and "doesn't exist" in refused.stdout + refused.stderr


def test_expired_token(world, e2e, project_builder):
    server, api, devpi, root = world
    token = token_of(devpi("token-create", "--expires", "2s"))
    import time
    time.sleep(3)
    refused = twine(e2e, root, server.url + "/alice/dev/", token, project_builder.build("exppkg", "1.0").wheel)
    assert refused.returncode != 0 and "expired" in refused.stdout + refused.stderr


@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_install_from_read_restricted_index_with_token(world, e2e, project_builder, tmp_path, installer):
    server, api, devpi, root = world
    token = token_of(devpi("token-create", "--allowed", "upload,pkg_read", "--indexes", "alice/private"))
    built = project_builder.build(f"private-{installer}", "1.0")
    result = twine(e2e, root, server.url + "/alice/private/", token, built.wheel)
    assert result.returncode == 0, result.stdout + result.stderr
    host = server.url.split("://", 1)[1]
    url = f"http://__token__:{token}@{host}/alice/private/+simple/"
    if installer == "pip":
        command = [sys.executable, "-m", "pip", "install", "--isolated"]
    else:
        command = [find_uv_bin(), "pip", "install", "--python", sys.executable]
    result = e2e.run([*command, "--index-url", url, "--target", tmp_path / "t", "--no-deps",
                      f"private-{installer}"], cwd=tmp_path, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert list((tmp_path / "t").glob("private_*.dist-info"))
