"""The ``satchel`` command in-process (main(argv)) and as a real process."""

import os
import socket
import subprocess
import sys
import time

import pytest
import requests

from satchel.cli import main
from satchel.testing.server import ServerProcess, free_port


def run(*args, env=None, timeout=60):
    return subprocess.run([sys.executable, "-m", "satchel", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout, stdin=subprocess.DEVNULL)


def test_plugins_lists_builtins(capsys):
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "sqlite 0.1.0: satchel_storage_backend" in out
    assert "private 0.1.0: " in out and "satchel_index_types" in out


def test_disable_plugin(capsys, monkeypatch):
    assert main(["plugins", "--disable-plugin", "private"]) == 0
    assert "private" not in capsys.readouterr().out
    monkeypatch.setenv("SATCHEL_DISABLE_PLUGINS", "private,sqlite")
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "private" not in out and "sqlite" not in out


def test_unknown_storage(tmp_path, capsys):
    assert main(["init", "--serverdir", str(tmp_path / "s"), "--storage", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert "unknown storage backend 'nosuch'" in err and "memory, postgresql, sqlite" in err


def test_init_twice(tmp_path, capsys):
    serverdir = str(tmp_path / "s")
    assert main(["init", "--serverdir", serverdir]) == 0
    assert main(["init", "--serverdir", serverdir]) == 2
    assert "already initialized" in capsys.readouterr().err


def test_unwritable_serverdir(tmp_path, capsys):
    if os.geteuid() == 0:
        target = "/proc/satchel-cannot-exist"
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        target = str(locked / "server")
    assert main(["init", "--serverdir", target]) == 2
    err = capsys.readouterr().err
    assert err.startswith("satchel: error: ") and "serverdir" in err


def test_bad_option_value(tmp_path, capsys):
    assert main(["serve", "--serverdir", str(tmp_path), "--port", "eighty"]) == 2
    assert "invalid value 'eighty' for port from command line" in capsys.readouterr().err


@pytest.mark.slow
def test_serve_fresh_serverdir_and_env_options(tmp_path):
    server = ServerProcess(tmp_path / "fresh", env={"SATCHEL_THREADS": "2"})
    with server:
        response = requests.get(server.url + "/+api", headers={"Accept": "application/json"}, timeout=5)
        assert response.status_code == 200
        users = requests.get(server.url + "/", headers={"Accept": "application/json"}, timeout=5).json()
        assert "root" in users["result"]
    assert (tmp_path / "fresh" / "satchel.sqlite").exists()


@pytest.mark.slow
def test_serve_port_in_use(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = run("serve", "--serverdir", str(tmp_path / "s"), "--host", "127.0.0.1", "--port", str(port))
    assert result.returncode == 2
    assert f"satchel: error: cannot listen on 127.0.0.1:{port}" in result.stderr


@pytest.mark.slow
def test_serve_from_config_file(tmp_path):
    port = free_port()
    configfile = tmp_path / "satchel.toml"
    configfile.write_text(f'serverdir = "{tmp_path / "fromfile"}"\nport = {port}\nstorage = "memory"\n')
    process = subprocess.Popen([sys.executable, "-m", "satchel", "serve", "--configfile", str(configfile)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                status = requests.get(f"http://127.0.0.1:{port}/+status", timeout=1).json()
                break
            except requests.RequestException:
                if process.poll() is not None:
                    pytest.fail(process.stdout.read().decode())
                time.sleep(0.05)
        assert status["result"]["storage"] == "memory"
    finally:
        process.terminate()
        process.wait(timeout=10)
