"""docs/operations.md's sample deployment on one machine: a main process and three ``--requests-only``
workers on a real PostgreSQL and an S3-compatible bucket (moto's server), set up with the documented
commands (``init``, ``passwd``, ``gen-config --gen-workers``), with nginx in front on the generated site
when nginx is installed (else clients use the main process as the front). twine uploads through a worker,
pip installs through the front, and the files are in the bucket."""

import socket
import subprocess
import sys
import uuid
from types import SimpleNamespace

import pytest
import requests

from satchel.testing.nginx import NGINX, NginxProcess, nginx_prefix
from satchel.testing.server import ServerProcess, free_port

pytestmark = pytest.mark.slow
WORKERS = 3


def consecutive_free_ports(count: int) -> int:
    """A port P with P..P+count-1 free (gen-config gives worker N the port ``--port`` + N)."""
    for _ in range(50):
        base = free_port()
        if base + count > 65535:
            continue
        try:
            for port in range(base, base + count):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError(f"no {count} consecutive free ports")


def satchel(*args: str, env: dict, stdin: str | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "satchel", *args], input=stdin, capture_output=True,
                            text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, postgresql_server, s3_server, e2e):
    """``main``, ``workers``, ``front`` (nginx's URL, or the main process's without nginx), ``bucket``."""
    import boto3

    base = tmp_path_factory.mktemp("deployment")
    dsn = postgresql_server.create_database("deploy")
    bucket = f"satchel-files-{uuid.uuid4().hex[:12]}"
    s3 = boto3.client("s3", endpoint_url=s3_server.url)
    s3.create_bucket(Bucket=bucket)
    # what /etc/satchel.env holds in the documented deployment (moto's credentials come from s3_server)
    settings = {"SATCHEL_STORAGE": "postgresql", "SATCHEL_POSTGRESQL_DSN": dsn, "SATCHEL_BLOBS": "s3",
                "SATCHEL_S3_BUCKET": bucket, "SATCHEL_S3_ENDPOINT_URL": s3_server.url}
    env = e2e.client_env(**settings)
    serverdir = base / "srv"
    port = consecutive_free_ports(1 + WORKERS)
    front_port = free_port()
    satchel("init", "--serverdir", str(serverdir), "--no-root-pypi", env=env)
    satchel("passwd", "root", "--serverdir", str(serverdir), env=env, stdin="rootpw\n")
    satchel("gen-config", str(base / "deploy"), "--serverdir", str(serverdir), "--port", str(port),
            "--outside-url", f"http://127.0.0.1:{front_port}", "--gen-workers", str(WORKERS), env=env)
    site = base / "deploy" / "nginx-satchel.conf"
    upstreams = [f"server 127.0.0.1:{port + number};" for number in range(1 + WORKERS)]
    assert all(line in site.read_text() for line in upstreams), site.read_text()
    processes = [ServerProcess(serverdir, port=port, env=settings)]
    processes += [ServerProcess(serverdir, args=["--requests-only"], port=port + number, env=settings)
                  for number in range(1, 1 + WORKERS)]
    nginx = NginxProcess(nginx_prefix(base, site), front_port) if NGINX else None
    try:
        for process in processes:
            process.start()
        if nginx:
            nginx.start()
        yield SimpleNamespace(main=processes[0], workers=processes[1:], s3=s3, bucket=bucket, nginx=nginx,
                              front=f"http://127.0.0.1:{front_port}" if nginx else processes[0].url)
    finally:
        if nginx:
            nginx.stop()
        for process in processes:
            process.stop()
        postgresql_server.drop_database(dsn)


def test_upload_through_a_worker_install_through_the_front(deployment, project_builder, e2e, tmp_path):
    api = e2e.Api(deployment.front)
    api.create_user("alice", "secret")
    api.create_index("alice", "secret", "dev")
    built = project_builder.build("deploy-pkg", "1.0")
    worker = deployment.workers[1]
    e2e.run([sys.executable, "-m", "twine", "upload", "--disable-progress-bar", "--non-interactive",
             "--repository-url", f"{worker.url}/alice/dev/", "-u", "alice", "-p", "secret",
             built.wheel, built.sdist], cwd=tmp_path)
    # every process lists both files at once: the main process, each worker and the front
    for url in [deployment.main.url, *(w.url for w in deployment.workers), deployment.front]:
        page = e2e.Api(url).simple("/alice/dev/+simple/deploy-pkg/")
        assert sorted(f["filename"] for f in page["files"]) == sorted(built.digests()), url
    target = tmp_path / "target"
    e2e.run([sys.executable, "-m", "pip", "install", "--index-url", f"{deployment.front}/alice/dev/+simple/",
             "--target", target, "--no-deps", "deploy-pkg"], cwd=tmp_path)
    assert (target / "deploy_pkg" / "__init__.py").read_text().startswith("VERSION = '1.0'")
    # the files live in the bucket as blobs/<sha256>: not in the serverdir
    listing = deployment.s3.list_objects_v2(Bucket=deployment.bucket, Prefix="blobs/")
    stored = {item["Key"]: item["Size"] for item in listing.get("Contents", [])}
    for path in built.files:
        assert stored.get(f"blobs/{e2e.sha256(path)}") == path.stat().st_size, stored
    assert not any(path.is_file() for path in (deployment.main.serverdir / "+blobs").rglob("*"))
    if deployment.nginx is None:
        return  # no front to check: the rest is nginx's part
    # the front caches simple pages (generated site) ...
    statuses = [api.get("/alice/dev/+simple/deploy-pkg/").headers.get("X-Cache-Status") for _ in range(2)]
    assert statuses[1] == "HIT", statuses
    # uncached requests go round robin over the four processes: each one answers some of them
    processes = [deployment.main, *deployment.workers]
    before = [api_user_requests(process.url) for process in processes]
    for _ in range(4 * len(processes)):
        assert api.get("/alice/+api", headers=e2e.JSON).status_code == 200
    after = [api_user_requests(process.url) for process in processes]
    assert all(new > old for old, new in zip(before, after)), (before, after)


def api_user_requests(url: str) -> float:
    """How many ``/USER/+api`` requests the process at ``url`` answered (its own /+metrics)."""
    text = requests.get(url + "/+metrics", timeout=30).text
    return sum(float(line.rpartition(" ")[2]) for line in text.splitlines()
               if line.startswith("satchel_http_requests_total{") and 'route="api_user"' in line)
