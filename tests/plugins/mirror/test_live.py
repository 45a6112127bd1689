"""pip and uv installing through a real ``satchel serve`` process: from the fake upstream, and (marked
``live``) from the real upstream ``pypi_simple.PYPI_SIMPLE_ENDPOINT``, then again offline from the cache."""

import base64
import os
import subprocess
import sys

import pytest
import requests
from uv import find_uv_bin

from satchel.testing.fixtures import make_wheel

JSON = {"Accept": "application/json", "Content-Type": "application/json"}


def client_env() -> dict:
    """No pip/uv configuration from this machine: only our server is used."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("PIP_", "UV_")) and name.lower() not in ("http_proxy", "https_proxy")}
    env.update({"PIP_CONFIG_FILE": os.devnull, "PIP_NO_INPUT": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
                "PIP_NO_CACHE_DIR": "1", "UV_NO_CACHE": "1", "UV_NO_CONFIG": "1", "UV_PYTHON_DOWNLOADS": "never",
                "NO_PROXY": "127.0.0.1,localhost"})
    return env


def install(tool: str, index_url: str, target, *packages) -> subprocess.CompletedProcess:
    if tool == "pip":
        command = [sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target),
                   "--index-url", index_url, *packages]
    else:
        command = [find_uv_bin(), "pip", "install", "--no-deps", "--target", str(target), "--python",
                   sys.executable, "--index-url", index_url, *packages]
    result = subprocess.run(command, capture_output=True, text=True, env=client_env(), timeout=120,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 0, f"{tool} failed:\n{result.stdout}\n{result.stderr}"
    return result


def root_headers(server_url: str) -> dict:
    token = requests.post(server_url + "/+login", json={"user": "root", "password": ""}, headers=JSON,
                          timeout=10).json()["result"]["password"]
    return {**JSON, "X-Devpi-Auth": base64.b64encode(f"root:{token}".encode()).decode()}


@pytest.mark.slow
@pytest.mark.parametrize("tool", ["pip", "uv"])
def test_install_through_the_mirror_then_with_upstream_gone(live_server, fake_upstream, tmp_path, tool):
    filename, content = make_wheel("hello-pkg", "1.0")
    fake_upstream.add_file("hello-pkg", filename, content, metadata=True)
    server = live_server("--no-root-pypi", "--request-timeout", "0.5")
    requests.put(server.url + "/root/mirror", json={"type": "mirror", "mirror_url": fake_upstream.url},
                 headers=root_headers(server.url), timeout=10).raise_for_status()
    index_url = server.url + "/root/mirror/+simple/"
    install(tool, index_url, tmp_path / "first", "hello-pkg")
    assert (tmp_path / "first" / "hello_pkg" / "__init__.py").exists()
    fake_upstream.stop()
    install(tool, index_url, tmp_path / "second", "hello-pkg")
    assert (tmp_path / "second" / "hello_pkg" / "__init__.py").exists()


@pytest.mark.live
@pytest.mark.parametrize("tool", ["pip", "uv"])
def test_real_upstream_then_offline(real_upstream, live_server, tmp_path, tool):
    serverdir = tmp_path / "server"
    server = live_server(serverdir=serverdir)
    index_url = server.url + "/root/pypi/+simple/"
    install(tool, index_url, tmp_path / "online", "six", "idna")
    assert (tmp_path / "online" / "six.py").exists() and (tmp_path / "online" / "idna").is_dir()
    server.stop()
    offline = live_server("--offline-mode", serverdir=serverdir)
    install(tool, offline.url + "/root/pypi/+simple/", tmp_path / "offline", "six", "idna")
    assert (tmp_path / "offline" / "six.py").exists() and (tmp_path / "offline" / "idna").is_dir()
