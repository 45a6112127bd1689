"""Migration from devpi: dumps made by the real devpi-server 6.20.3 (installed from PyPI) loaded into satchel.

One devpi-server is filled over HTTP (users, inheriting indexes, wheels, an sdist, a doc zip, a tox
result), stopped and exported; a second serverdir keeps devpi's own ``root/pypi`` mirror. The venv
with devpi-server is built once per module (``bench/.venv-devpi`` is reused when it is present). Building
it needs a package index: the module is marked ``live`` and skips when devpi-server cannot be installed.
"""

import base64
import importlib.util
import io
import json
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests

from satchel.app import create_app
from satchel.errors import ConfigError
from satchel.testing.client import DevpiClient
from satchel.testing.fixtures import make_wheel
from satchel.testing.server import free_port, stop_process

from satchel_ops import devpi_import
from satchel_ops.devpi_dump import _iso as devpi_iso

pytestmark = [pytest.mark.slow, pytest.mark.live]

REPO = Path(__file__).resolve().parents[3]
DEVPI_VERSION = "6.20.3"
BENCH_VENV = REPO / "bench" / ".venv-devpi"
JSON_PAGE = {"Accept": "application/vnd.pypi.simple.v1+json"}
TOXRESULT = {"reportversion": "1", "testenvs": {"py311": {"test": [{"retcode": 0}]}}}




def _devpi_version(bindir: Path) -> str | None:
    try:
        return subprocess.run([str(bindir / "devpi-server"), "--version"], capture_output=True, text=True,
                              timeout=60, stdin=subprocess.DEVNULL, check=False).stdout.strip()
    except OSError:
        return None


@pytest.fixture(scope="module")
def devpi_bin(tmp_path_factory) -> Path:
    """bin/ of a venv holding devpi-server 6.20.3: bench's when present, else made here from PyPI."""
    if _devpi_version(BENCH_VENV / "bin") == DEVPI_VERSION:
        return BENCH_VENV / "bin"
    venv = tmp_path_factory.mktemp("venv-devpi")
    python = venv / "bin" / "python"
    requirement = f"devpi-server=={DEVPI_VERSION}"
    if importlib.util.find_spec("uv") is not None:  # a test dependency, much faster than pip
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        install = [sys.executable, "-m", "uv", "pip", "install", "--quiet", "--python", str(python), requirement]
    else:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        install = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", requirement]
    try:
        done = subprocess.run(install, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.skip(f"installing {requirement} took over 600 s (is a package index reachable?)")
    if done.returncode != 0:
        pytest.skip(f"{requirement} could not be installed (no package index reachable?): {done.stderr[-500:]}")
    assert _devpi_version(venv / "bin") == DEVPI_VERSION
    return venv / "bin"


def _run(bindir: Path, command: str, *args):
    done = subprocess.run([str(bindir / command), *map(str, args)], capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL, check=False)
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"


class Devpi:
    """A running devpi-server on 127.0.0.1 and the requests this test makes to it."""

    def __init__(self, bindir: Path, serverdir: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.logpath = serverdir.parent / "devpi-server.log"
        self.logfile = open(self.logpath, "wb")
        self.process = subprocess.Popen(
            [str(bindir / "devpi-server"), "--serverdir", str(serverdir), "--host", "127.0.0.1",
             "--port", str(self.port)], stdout=self.logfile, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.auth: dict = {}

    def wait(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, \
                f"devpi-server exited with {self.process.returncode}:\n{self.logpath.read_text()[-3000:]}"
            try:
                if requests.get(self.url + "/+api", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.2)
        raise AssertionError(f"devpi-server did not answer within {timeout}s:\n{self.logpath.read_text()[-3000:]}")

    def stop(self) -> None:
        stop_process(self.process, timeout=20)
        self.logfile.close()

    def headers(self, json_body: bool = True) -> dict:
        headers = {"Accept": "application/json", **self.auth}
        if json_body:
            headers["Content-Type"] = "application/json"
        return headers

    def login(self, user: str, password: str) -> None:
        self.auth = {}
        reply = requests.post(self.url + "/+login", json={"user": user, "password": password},
                              headers=self.headers(), timeout=30)
        assert reply.status_code == 200, reply.text
        token = reply.json()["result"]["password"]
        self.auth = {"X-Devpi-Auth": base64.b64encode(f"{user}:{token}".encode()).decode()}

    def put(self, path: str, body: dict) -> None:
        reply = requests.put(self.url + path, json=body, headers=self.headers(), timeout=30)
        assert reply.status_code in (200, 201), reply.text

    def upload(self, index_name: str, name: str, version: str, filename: str, content: bytes,
               action: str = "file_upload") -> None:
        form = {":action": action, "name": name, "version": version, "summary": f"{name} summary",
                "requires_python": ">=3.8"}
        reply = requests.post(f"{self.url}/{index_name}/", data=form, files={"content": (filename, content)},
                              headers=self.headers(json_body=False), timeout=30)
        assert reply.status_code == 200, reply.text

    def get_json(self, path: str, headers=None) -> dict:
        reply = requests.get(self.url + path, headers=headers or self.headers(), timeout=30)
        assert reply.status_code == 200, reply.text
        return reply.json()


def _sdist(name: str, version: str) -> tuple[str, bytes]:
    buf = io.BytesIO()
    pkg_info = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    with tarfile.open(fileobj=buf, mode="w:gz") as archive:
        info = tarfile.TarInfo(f"{name}-{version}/PKG-INFO")
        info.size = len(pkg_info)
        archive.addfile(info, io.BytesIO(pkg_info))
    return f"{name}-{version}.tar.gz", buf.getvalue()


def _doczip(text: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("index.html", f"<html>{text}</html>")
    return buf.getvalue()


def _fill(devpi: Devpi) -> dict:
    """Users, indexes and files; returns what satchel must reproduce (bytes and devpi's pages)."""
    devpi.login("root", "")
    devpi.put("/alice", {"password": "secret", "email": "alice@example.org"})
    devpi.login("alice", "secret")
    devpi.put("/alice/dev", {"bases": []})
    devpi.put("/alice/prod", {"bases": ["alice/dev"], "volatile": False, "mirror_whitelist": ["six"],
                              "title": "Production"})
    files = dict([make_wheel("hello-pkg", "1.0"), make_wheel("hello-pkg", "1.1"), _sdist("hello-pkg", "1.1")])
    for filename, content in files.items():
        devpi.upload("alice/dev", "hello-pkg", "1.0" if "-1.0" in filename else "1.1", filename, content)
    other = make_wheel("other", "2.0")
    devpi.upload("alice/prod", "other", "2.0", *other)
    files[other[0]] = other[1]
    devpi.upload("alice/dev", "hello-pkg", "1.1", "hello-pkg-1.1.doc.zip", _doczip("docs of 1.1"),
                 action="doc_upload")
    links = devpi.get_json("/alice/dev/hello-pkg/1.1")["result"]["+links"]
    sdist_href = next(link["href"] for link in links if link["href"].endswith(".tar.gz"))
    reply = requests.post(sdist_href, data=json.dumps(TOXRESULT), headers=devpi.headers(), timeout=30)
    assert reply.status_code == 200, reply.text
    pages = {page: devpi.get_json(f"/{page}/", headers=JSON_PAGE)
             for page in ("alice/dev/+simple/hello-pkg", "alice/prod/+simple/hello-pkg",
                          "alice/prod/+simple/other")}
    return {"files": files, "pages": pages}


@pytest.fixture(scope="module")
def devpi_dump(devpi_bin, tmp_path_factory):
    """``(dump dir, facts)``: a devpi-export of a filled devpi-server initialized with --no-root-pypi."""
    base = tmp_path_factory.mktemp("devpi")
    serverdir, dump = base / "server", base / "dump"
    _run(devpi_bin, "devpi-init", "--serverdir", serverdir, "--no-root-pypi")
    devpi = Devpi(devpi_bin, serverdir)
    try:
        devpi.wait()
        facts = _fill(devpi)
    finally:
        devpi.stop()
    _run(devpi_bin, "devpi-export", "--serverdir", serverdir, dump)
    return dump, facts


@pytest.fixture(scope="module")
def root_pypi_dump(devpi_bin, tmp_path_factory):
    """A devpi-export of a serverdir initialized with devpi's default root/pypi mirror (no server run)."""
    base = tmp_path_factory.mktemp("devpi-pypi")
    _run(devpi_bin, "devpi-init", "--serverdir", base / "server")
    _run(devpi_bin, "devpi-export", "--serverdir", base / "server", base / "dump")
    return base / "dump"


@pytest.fixture
def fresh_app(tmp_path):
    """``fresh_app(**options)``: a new sqlite app (create_app initializes root), closed after the test."""
    made = []

    def factory(initialize=True, **options):
        app = create_app({"serverdir": str(tmp_path / f"satchel{len(made)}"), "storage": "sqlite",
                          "no_root_pypi": True, **options}, initialize=initialize)
        made.append(app)
        return app

    yield factory
    for app in made:
        app.close()


def _dataindex(dump: Path) -> dict:
    return json.loads((dump / "dataindex.json").read_text())


def _copy(dump: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(dump, tmp_path / "dump-copy"))


def _state(app) -> tuple:
    return app.storage.last_serial(), sorted(app.storage.blobs)


def test_validate_real_dump(devpi_dump):
    dump_dir, facts = devpi_dump
    dump = devpi_import.validate_devpi_dump(dump_dir)
    assert (dump.dumpversion, dump.devpi_server) == ("2", DEVPI_VERSION)
    assert set(dump.users) == {"root", "alice"}
    assert all(record["pwhash"].startswith("$argon2") for record in dump.users.values())
    assert set(dump.indexes) == {"alice/dev", "alice/prod"}
    kinds = sorted(f.type for f in dump.files)
    assert kinds == ["doczip"] + ["releasefile"] * 4 + ["toxresult"]
    for f in dump.files:
        if f.type == "releasefile":
            assert f.path.read_bytes() == facts["files"][f.filename]
            assert f.last_modified and f.last_modified.endswith("Z")
    assert dump.warnings == []


def test_import_real_dump(devpi_dump, fresh_app):
    dump_dir, facts = devpi_dump
    data = _dataindex(dump_dir)
    app = fresh_app(root_passwd="before-import")
    counts = devpi_import.import_devpi_dump(app, devpi_import.validate_devpi_dump(dump_dir))
    assert {k: counts[k] for k in ("users", "indexes", "projects", "versions", "releasefiles", "doczips",
                                   "toxresults")} == {"users": 2, "indexes": 2, "projects": 2, "versions": 3,
                                                      "releasefiles": 4, "doczips": 1, "toxresults": 1}
    client = DevpiClient(app)
    # devpi's argon2 hashes verify in satchel; root's password is the dump's, not the one before
    client.login("alice", "secret")
    client.login("root", "")
    client.web.post_json("/+login", {"user": "root", "password": "before-import"}, status=401)
    alice = client.get("/alice").json["result"]
    assert (alice["email"], alice["created"]) == ("alice@example.org", data["users"]["alice"]["created"])
    for name, entry in data["indexes"].items():
        config = client.get(f"/{name}?no_projects").json["result"]
        assert {key: config.get(key) for key in entry["indexconfig"]} == entry["indexconfig"]
    # simple pages: the same files with the same hashes and requires-python as devpi served
    for page, devpi_page in facts["pages"].items():
        ours = client.web.get(f"/{page}/", headers=JSON_PAGE).json
        assert sorted((f["filename"], f["hashes"]["sha256"], f.get("requires-python")) for f in ours["files"]) \
            == sorted((f["filename"], f["hashes"]["sha256"], f.get("requires-python"))
                      for f in devpi_page["files"])
        for f in ours["files"]:
            url = urlsplit(urljoin(f"http://localhost/{page}/", f["url"])).path
            assert client.web.get(url).body == facts["files"][f["filename"]]
    # upload times and logs as devpi recorded them
    described = {Path(f["relpath"]).name: f for entry in data["indexes"].values() for f in entry["files"]}
    page = client.web.get("/alice/prod/+simple/other/", headers=JSON_PAGE).json
    wheel = page["files"][0]
    last_modified = described[wheel["filename"]]["entrymapping"]["last_modified"]
    assert wheel["upload-time"] == devpi_iso(last_modified)
    versions = client.get("/alice/dev/hello-pkg").json["result"]
    links = {link["href"].rsplit("/", 1)[1]: link for link in versions["1.1"]["+links"]}
    assert links["hello-pkg-1.1.tar.gz"]["log"] == described["hello-pkg-1.1.tar.gz"]["log"]
    assert versions["1.1"]["summary"] == "hello-pkg summary"
    # the doc zip, served unpacked
    assert client.web.get("/alice/dev/hello-pkg/1.1/+doc/index.html").text == "<html>docs of 1.1</html>"
    # the tox result, under devpi's own file name, pointing at the sdist
    tox = [link for link in versions["1.1"]["+links"] if link["rel"] == "toxresult"]
    assert len(tox) == 1 and tox[0]["for_href"].endswith("/hello-pkg-1.1.tar.gz")
    assert tox[0]["href"].rsplit("/", 1)[1] in described
    assert json.loads(client.web.get(tox[0]["href"].replace("http://localhost", "")).body) == TOXRESULT
    # a second import into the same server is refused
    with pytest.raises(ConfigError, match="already has users"):
        devpi_import.import_devpi_dump(app, devpi_import.validate_devpi_dump(dump_dir))


def test_root_pypi_mirror_created_from_dump(root_pypi_dump, fresh_app):
    config = _dataindex(root_pypi_dump)["indexes"]["root/pypi"]["indexconfig"]
    assert config["type"] == "mirror"
    app = fresh_app()
    counts = devpi_import.import_devpi_dump(app, devpi_import.validate_devpi_dump(root_pypi_dump))
    assert (counts["users"], counts["indexes"]) == (1, 1)
    ours = DevpiClient(app).get("/root/pypi?no_projects").json["result"]
    assert {key: ours.get(key) for key in config} == config


def test_import_into_uninitialized_serverdir_is_one_commit(devpi_dump, fresh_app):
    """``satchel import`` may run before init: root comes from the dump, everything in serial 0."""
    app = fresh_app(initialize=False)
    devpi_import.import_devpi_dump(app, devpi_import.validate_devpi_dump(devpi_dump[0]))
    assert app.storage.last_serial() == 0
    DevpiClient(app).login("root", "")


def test_existing_root_pypi_takes_the_dump_config(root_pypi_dump, fresh_app, tmp_path):
    dump_dir = _copy(root_pypi_dump, tmp_path)
    data = _dataindex(dump_dir)
    data["indexes"]["root/pypi"]["indexconfig"].update(title="PyPI via devpi", mirror_cache_expiry=600)
    (dump_dir / "dataindex.json").write_text(json.dumps(data))
    app = fresh_app(no_root_pypi=False)  # satchel made its own root/pypi at init
    devpi_import.import_devpi_dump(app, devpi_import.validate_devpi_dump(dump_dir))
    ours = DevpiClient(app).get("/root/pypi?no_projects").json["result"]
    assert (ours["title"], ours["mirror_cache_expiry"], ours["volatile"]) == ("PyPI via devpi", 600, False)


def test_dumpversion_1_is_migrated(devpi_dump, fresh_app, tmp_path):
    """Old dumps: no version on files (taken from file names), ``pypi_whitelist``, salted sha256 hashes."""
    dump_dir = _copy(devpi_dump[0], tmp_path)
    data = _dataindex(dump_dir)
    data["dumpversion"] = "1"
    data["users"]["alice"].update(pwhash="ab" * 32, pwsalt="salt")
    config = data["indexes"]["alice/prod"]["indexconfig"]
    config["pypi_whitelist"] = config.pop("mirror_whitelist")
    for entry in data["indexes"].values():
        for desc in entry["files"]:
            desc.pop("version")
            desc["entrymapping"].pop("version")
    (dump_dir / "dataindex.json").write_text(json.dumps(data))
    app = fresh_app()
    counts = devpi_import.import_devpi_dump(app, devpi_import.validate_devpi_dump(dump_dir))
    assert (counts["releasefiles"], counts["doczips"], counts["toxresults"]) == (4, 1, 1)
    assert any("'alice': password hash in a format satchel cannot verify" in w for w in counts["warnings"])
    client = DevpiClient(app)
    client.web.post_json("/+login", {"user": "alice", "password": "secret"}, status=401)
    assert client.get("/alice/prod?no_projects").json["result"]["mirror_whitelist"] == ["six"]
    assert sorted(client.get("/alice/dev/hello-pkg").json["result"]) == ["1.0", "1.1"]


def _edit_json(dump_dir: Path, text_edit) -> None:
    path = dump_dir / "dataindex.json"
    path.write_text(text_edit(path.read_text()))


def _set_dumpversion(dump_dir: Path) -> None:
    data = _dataindex(dump_dir)
    data["dumpversion"] = "3"
    (dump_dir / "dataindex.json").write_text(json.dumps(data))


def _truncate_index(dump_dir: Path) -> None:
    _edit_json(dump_dir, lambda text: text[: len(text) // 2])


def _change_wheel(dump_dir: Path) -> None:
    path = dump_dir / "alice/dev/hello-pkg/1.0/hello_pkg-1.0-py3-none-any.whl"
    content = bytearray(path.read_bytes())
    content[100] ^= 0xFF
    path.write_bytes(bytes(content))


def _remove_doczip(dump_dir: Path) -> None:
    (dump_dir / "alice/dev/hello-pkg-1.1.doc.zip").unlink()


@pytest.mark.parametrize("damage, message", [
    (_set_dumpversion, "unsupported dumpversion '3'"),
    (_truncate_index, "dataindex.json is not valid JSON"),
    (_change_wheel, "hello_pkg-1.0-py3-none-any.whl: sha256 mismatch"),
    (_remove_doczip, "file alice/dev/hello-pkg-1.1.doc.zip is missing"),
], ids=["dumpversion", "truncated-json", "changed-file", "missing-file"])
def test_bad_dump_is_refused_before_writing(devpi_dump, fresh_app, tmp_path, damage, message):
    dump_dir = _copy(devpi_dump[0], tmp_path)
    damage(dump_dir)
    app = fresh_app()
    before = _state(app)
    with pytest.raises(ConfigError, match=message):
        devpi_import.import_devpi_dump(app, devpi_import.validate_devpi_dump(dump_dir))
    assert _state(app) == before


def test_file_changed_after_validation_is_refused(devpi_dump, fresh_app, tmp_path):
    dump_dir = _copy(devpi_dump[0], tmp_path)
    dump = devpi_import.validate_devpi_dump(dump_dir)
    _change_wheel(dump_dir)
    app = fresh_app()
    serial = app.storage.last_serial()
    with pytest.raises(ConfigError, match="changed after the dump was validated"):
        devpi_import.import_devpi_dump(app, dump)
    assert app.storage.last_serial() == serial


def test_unknown_index_type_is_refused_without_writing(devpi_dump, fresh_app, tmp_path):
    dump_dir = _copy(devpi_dump[0], tmp_path)
    _edit_json(dump_dir, lambda text: text.replace('"type": "stage"', '"type": "jenkins-stage"', 1))
    app = fresh_app()
    before = _state(app)
    with pytest.raises(ConfigError, match="unknown index type 'jenkins-stage'"):
        devpi_import.import_devpi_dump(app, devpi_import.validate_devpi_dump(dump_dir))
    assert _state(app) == before


def test_index_key_satchel_lacks_is_refused(devpi_dump, fresh_app, tmp_path):
    """A key from a devpi plugin is not dropped silently (it may have restricted something)."""
    dump_dir = _copy(devpi_dump[0], tmp_path)
    data = _dataindex(dump_dir)
    data["indexes"]["alice/dev"]["indexconfig"]["constraints"] = ["six<2"]
    (dump_dir / "dataindex.json").write_text(json.dumps(data))
    app = fresh_app()
    before = _state(app)
    with pytest.raises(ConfigError, match=r"index alice/dev: .*unexpected keyword arguments: constraints"):
        devpi_import.import_devpi_dump(app, devpi_import.validate_devpi_dump(dump_dir))
    assert _state(app) == before


def test_non_empty_serverdir_is_refused(devpi_dump, fresh_app):
    app = fresh_app()
    with app.storage.write() as tx:
        from satchel.model import users
        users.create_user(tx, "bob", password="pw")
    before = _state(app)
    with pytest.raises(ConfigError, match=r"already has users \(bob\)"):
        devpi_import.import_devpi_dump(app, devpi_import.validate_devpi_dump(devpi_dump[0]))
    assert _state(app) == before


def test_progress_callable_is_used(devpi_dump, fresh_app):
    seen, finished = [], []

    def progress(iterable, total=None, desc=""):
        seen.append((desc, total))
        yield from iterable
        finished.append(desc)  # only reached when the caller runs the progress to its end

    dump = devpi_import.validate_devpi_dump(devpi_dump[0], progress=progress)
    devpi_import.import_devpi_dump(fresh_app(), dump, progress=progress)
    assert seen == [("verifying devpi dump", 6), ("storing files", 6)]
    assert finished == ["verifying devpi dump", "storing files"]
