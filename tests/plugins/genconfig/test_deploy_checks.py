"""The generated files pass their tools' own checks: ``nginx -t``, a live nginx in front of satchel,
``systemd-analyze verify``. Each check skips with the reason when its tool is not installed."""

import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests

from satchel.app import create_app
from satchel.config import collect_options, resolve
from satchel.testing.fixtures import Filler
from satchel.testing.nginx import MISSING, NGINX, NginxProcess, nginx_prefix, nginx_test
from satchel.testing.server import ServerProcess, free_port

from satchel_genconfig import generate

needs_nginx = pytest.mark.skipif(NGINX is None, reason=MISSING)
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


def generate_files(pm, target: Path, **options) -> Path:
    options = {key: value for key, value in options.items() if value is not None}
    config = resolve(collect_options(pm).options, options, environ={}).with_values(dir=str(target))
    assert generate.gen_config(config, pm) == 0
    return target


@needs_nginx
@pytest.mark.parametrize("outside_url", [None, "http://pypi.example.com:8080/pypi"])
def test_nginx_accepts_the_site(genconfig_pm, tmp_path, outside_url):
    options = {"serverdir": str(tmp_path / "server"), "outside_url": outside_url}
    out = generate_files(genconfig_pm, tmp_path / "out", **options)
    result = nginx_test(nginx_prefix(tmp_path, out / "nginx-satchel.conf"))
    assert result.returncode == 0, result.stderr


@needs_nginx
def test_nginx_accepts_the_https_site(genconfig_pm, tmp_path):
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed: cannot make a certificate for the https site")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=pypi.example.com",
                    "-days", "1", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    out = generate_files(genconfig_pm, tmp_path / "out", serverdir=str(tmp_path / "server"),
                         outside_url="https://pypi.example.com/")
    live = "/etc/letsencrypt/live/pypi.example.com"
    prefix = nginx_prefix(tmp_path, out / "nginx-satchel.conf",
                          {f"{live}/fullchain.pem": str(cert), f"{live}/privkey.pem": str(key)})
    result = nginx_test(prefix)
    assert result.returncode == 0, result.stderr


@pytest.fixture
def running_nginx():
    """``running_nginx(prefix, port)`` starts nginx in the foreground; stopped after the test."""
    processes = []

    def start(prefix: Path, port: int) -> NginxProcess:
        process = NginxProcess(prefix, port)
        processes.append(process)
        try:
            return process.start()
        except RuntimeError as exc:
            pytest.fail(str(exc))

    yield start
    for process in processes:
        process.stop()


@needs_nginx
@pytest.mark.slow
@pytest.mark.parametrize("path_prefix", ["", "/pypi"])
def test_live_nginx_in_front_of_satchel(genconfig_pm, tmp_path, running_nginx, path_prefix):
    serverdir = tmp_path / "server"
    app = create_app({"serverdir": str(serverdir), "storage": "sqlite"})
    try:
        filler = Filler(app)
        filler.index("root", "dev")
        filler.file("root/dev", "hello-pkg", "1.0")
        for minor in range(15):  # a page big enough for satchel to gzip it
            filler.file("root/dev", "big-pkg", f"1.{minor}")
        with app.storage.read() as tx:
            entry = next(value for key, value in tx.items("files/root/dev/") if "/hello_pkg-" in key)
        wheel = app.storage.blobs.open(entry["sha256"]).read()
    finally:
        app.close()
    satchel_port, nginx_port = free_port(), free_port()
    outside = f"http://127.0.0.1:{nginx_port}{path_prefix}"
    out = generate_files(genconfig_pm, tmp_path / "out", serverdir=str(serverdir), port=satchel_port,
                         outside_url=outside)
    server = ServerProcess(serverdir, port=satchel_port)
    try:
        server.start()
        running_nginx(nginx_prefix(tmp_path, out / "nginx-satchel.conf"), nginx_port)
        # the outside URL reaches satchel through X-Outside-Url
        api = requests.get(f"{outside}/root/dev/+api", headers={"Accept": "application/json"}, timeout=10)
        assert api.status_code == 200, api.text
        assert api.json()["result"]["login"] == f"{outside}/+login"
        # project pages are cached per Accept
        page_url = f"{outside}/root/dev/+simple/hello-pkg/"
        statuses = [requests.get(page_url, timeout=10).headers.get("X-Cache-Status") for _ in range(2)]
        assert statuses == ["MISS", "HIT"]
        json_page = requests.get(page_url, headers={"Accept": "application/vnd.pypi.simple.v1+json"}, timeout=10)
        assert json_page.headers.get("X-Cache-Status") == "MISS"
        assert json_page.headers["Content-Type"] == "application/vnd.pypi.simple.v1+json"
        # gzipped and plain pages are separate entries: a client not accepting gzip never gets it
        big_url = f"{outside}/root/dev/+simple/big-pkg/"
        zipped = [requests.get(big_url, headers={"Accept-Encoding": "gzip"}, timeout=10) for _ in range(2)]
        assert [r.headers.get("X-Cache-Status") for r in zipped] == ["MISS", "HIT"]
        assert zipped[1].headers["Content-Encoding"] == "gzip"
        plain = requests.get(big_url, headers={"Accept-Encoding": "identity"}, timeout=10)
        assert plain.headers.get("X-Cache-Status") == "MISS" and "Content-Encoding" not in plain.headers
        assert plain.text == zipped[1].text  # requests undid the gzip
        # authenticated requests are never answered from the cache
        auth = requests.get(page_url, headers={"X-Devpi-Auth": "x"}, timeout=10)
        assert auth.headers.get("X-Cache-Status") == "BYPASS"
        # the release file arrives whole: satchel answers nginx with X-Accel-Redirect, nginx sends the blob
        file_url = urljoin(page_url, json_page.json()["files"][0]["url"])
        download = requests.get(file_url, timeout=10)
        assert download.status_code == 200
        assert download.content == wheel
        assert download.headers["Cache-Control"] == "max-age=365000000, immutable, public"
        sha = entry["sha256"]
        direct = requests.get(server.url + file_url[len(outside):], timeout=10,
                              headers={"X-Satchel-Accel": "/+blobs-internal/"})
        assert direct.headers["X-Accel-Redirect"] == f"/+blobs-internal/{sha[:2]}/{sha}"
        assert direct.content == b""
        # the internal location is not reachable from outside
        assert requests.get(f"http://127.0.0.1:{nginx_port}/+blobs-internal/{sha[:2]}/{sha}",
                            timeout=10).status_code == 404
    finally:
        server.stop()


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
def test_systemd_units_verify(genconfig_pm, tmp_path):
    out = generate_files(genconfig_pm, tmp_path / "out", serverdir=str(tmp_path / "server dir %i"))
    units = [str(out / name) for name in ("satchel.service", "satchel-prune.service", "satchel-prune.timer")]
    result = subprocess.run([SYSTEMD_ANALYZE, "verify", *units], capture_output=True, text=True, timeout=60)
    if result.returncode != 0 and "Failed to initialize manager" in result.stderr:
        pytest.skip(f"systemd-analyze cannot run here: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    assert "satchel" not in result.stderr, result.stderr  # no warnings about our files either


def test_blob_files_are_readable_by_nginx_workers(make_app):
    """nginx's workers (www-data) read ``+blobs/`` themselves: files must be world-readable under umask 022."""
    old = os.umask(0o022)
    try:
        app = make_app(storage="sqlite")
        Filler(app).index("root", "dev")
        Filler(app).file("root/dev", "perm-pkg", "1.0")
        with app.storage.read() as tx:
            entry = next(value for _, value in tx.items("files/root/dev/"))
        path = app.storage.blobs.path(entry["sha256"])
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o044 == 0o044, oct(path.stat().st_mode)
