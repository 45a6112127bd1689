"""devpi-client 7 against ``satchel serve``: upload (wheel, sdist, docs), list, getjson, remove, push,
install, test.

One server and one logged-in client per module. The tests run in file order and build on each other the way
a user's session would: everything is uploaded by the module fixture, ``test_remove`` then removes 1.0 and
``test_push`` copies 1.1 to the non-volatile ``alice/prod``. Results are checked through the server's JSON API
and simple pages, never through the client's own output alone.
"""

import hashlib
import json
import sys
import textwrap
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from satchel.testing.devpi_cli import Devpi
from satchel.testing.server import ServerProcess

pytestmark = pytest.mark.slow

DOC_PAGES = {"index.html": "<html><body><h1>hello-pkg 1.1 documentation</h1></body></html>",
             "api/module.html": "<html><body><p>hello_pkg API</p></body></html>"}


def new_client(e2e, clientdir: Path, cwd: Path) -> Devpi:
    client = Devpi(clientdir, cwd)
    client.env = e2e.client_env(DEVPI_CLIENTDIR=str(clientdir))
    return client


@pytest.fixture(scope="module")
def world(tmp_path_factory, project_builder, e2e):
    """A server, alice logged in with devpi-client, ``alice/dev`` (volatile) and ``alice/prod``
    (non-volatile), hello-pkg 1.0 and 1.1 (wheel + sdist) and 1.1's docs uploaded with ``devpi upload``."""
    root = tmp_path_factory.mktemp("devpi-releases")
    releases = {version: project_builder.build("hello-pkg", version) for version in ("1.0", "1.1")}
    doczip = e2e.make_doc_zip(root / "hello-pkg-1.1.doc.zip", DOC_PAGES)
    server = ServerProcess(root / "server").start()
    state = SimpleNamespace(server=server)  # test_restart replaces the server
    try:
        devpi = new_client(e2e, root / "clientdir", root)
        devpi("use", server.url)
        devpi("user", "-c", "alice", "password=secret", "email=alice@example.org")
        devpi("login", "alice", "--password", "secret")
        devpi("index", "-c", "dev")
        devpi("index", "-c", "prod", "volatile=False")
        devpi("use", "alice/dev")
        uploads = [devpi("upload", *releases["1.0"].files).stdout,
                   devpi("upload", *releases["1.1"].files, doczip).stdout]
        state.__dict__.update(devpi=devpi, api=e2e.Api(server.url), releases=releases, doczip=doczip,
                              root=root, uploads=uploads)
        yield state
    finally:
        state.server.stop()


def links(verdata, rel="releasefile"):
    return {link["href"].rsplit("/", 1)[1]: link for link in verdata["+links"] if link["rel"] == rel}


def test_upload_stores_wheel_and_sdist_with_sha256(world, e2e):
    assert "file_upload of hello_pkg-1.0-py3-none-any.whl" in world.uploads[0]
    assert "file_upload of hello_pkg-1.0.tar.gz" in world.uploads[0]
    assert "doc_upload of hello-pkg-1.1.doc.zip" in world.uploads[1]
    project = world.api.json("/alice/dev/hello-pkg")
    assert sorted(project) == ["1.0", "1.1"]
    for version, release in world.releases.items():
        verdata = project[version]
        assert verdata["name"] == "hello-pkg" and verdata["version"] == version
        assert verdata["summary"] == "hello-pkg, a test project for satchel"
        assert verdata["requires_python"] == ">=3.8"
        stored = links(verdata)
        assert sorted(stored) == sorted(release.digests())
        for filename, digest in release.digests().items():
            link = stored[filename]
            assert link["hash_spec"] == f"sha256={digest}"
            assert link["href"] == f"{world.server.url}/alice/dev/+f/{digest[:3]}/{digest[3:16]}/{filename}"
            assert [entry["what"] for entry in link["log"]] == ["upload"]
            assert link["log"][0]["who"] == "alice"
            download = world.api.get(link["href"])
            assert download.status_code == 200
            source = release.wheel if filename.endswith(".whl") else release.sdist
            assert download.content == source.read_bytes()

    simple = world.api.simple("/alice/dev/+simple/hello-pkg/")
    files = {entry["filename"]: entry for entry in simple["files"]}
    expected = {**world.releases["1.0"].digests(), **world.releases["1.1"].digests()}
    assert {name: entry["hashes"]["sha256"] for name, entry in files.items()} == expected
    html = world.api.get("/alice/dev/+simple/hello-pkg/").text
    for filename, digest in expected.items():
        assert f"{filename}#sha256={digest}" in html


def test_wheel_metadata_served_as_pep658(world):
    wheel = world.releases["1.1"].wheel
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read("hello_pkg-1.1.dist-info/METADATA")
    entry = next(f for f in world.api.simple("/alice/dev/+simple/hello-pkg/")["files"]
                 if f["filename"] == wheel.name)
    assert entry.get("core-metadata") or entry.get("dist-info-metadata")
    url = world.api.url + "/alice/dev/+simple/hello-pkg/" + entry["url"] + ".metadata"
    response = world.api.get(url)
    assert response.status_code == 200 and response.content == metadata


def test_docs_served_unpacked(world, e2e):
    verdata = world.api.json("/alice/dev/hello-pkg/1.1")
    doc = links(verdata, "doczip")
    assert list(doc) == ["hello-pkg-1.1.doc.zip"]
    assert doc["hello-pkg-1.1.doc.zip"]["hash_spec"] == f"sha256={e2e.sha256(world.doczip)}"
    for path, text in DOC_PAGES.items():
        page = world.api.get(f"/alice/dev/hello-pkg/1.1/+doc/{path}")
        assert page.status_code == 200 and page.text == text
        assert page.headers["Content-Type"].startswith("text/html")
    assert world.api.get("/alice/dev/hello-pkg/1.1/+doc/").text == DOC_PAGES["index.html"]
    assert world.api.get("/alice/dev/hello-pkg/1.1/+doc/missing.html").status_code == 404
    assert world.api.get("/alice/dev/hello-pkg/1.0/+doc/index.html").status_code == 404


def test_list_and_getjson(world):
    devpi = world.devpi
    assert devpi("list").stdout.split() == ["hello-pkg"]
    listed = devpi("list", "hello-pkg").stdout.split()
    expected = [link["href"] for version in ("1.1", "1.0")
                for link in world.api.json(f"/alice/dev/hello-pkg/{version}")["+links"]
                if link["rel"] == "releasefile"]
    assert sorted(listed) == sorted(expected) and len(listed) == 4
    assert listed[0].endswith("-1.1-py3-none-any.whl") or listed[0].endswith("-1.1.tar.gz")
    got = json.loads(devpi("getjson", "/alice/dev/hello-pkg/1.1").stdout)
    assert got["type"] == "versiondata"
    assert got["result"]["version"] == "1.1"
    assert sorted(links(got["result"])) == sorted(world.releases["1.1"].digests())
    index = json.loads(devpi("getjson", "/alice/dev").stdout)["result"]
    assert index["projects"] == ["hello-pkg"] and index["volatile"] is True


def test_upload_refused_without_login(world, e2e):
    anonymous = new_client(e2e, world.root / "anonymous-clientdir", world.root)
    anonymous("use", world.server.url + "/alice/dev")
    refused = anonymous("upload", world.releases["1.0"].wheel, check=False)
    assert refused.returncode != 0
    assert "401" in refused.stdout + refused.stderr
    wheel_link = links(world.api.json("/alice/dev/hello-pkg/1.0"))["hello_pkg-1.0-py3-none-any.whl"]
    assert len(wheel_link["log"]) == 1  # nothing overwritten


def test_remove(world):
    before = world.api.json("/alice/dev/hello-pkg/1.0")
    hrefs = [link["href"] for link in before["+links"]]
    removed = world.devpi("remove", "-y", "hello-pkg==1.0")
    assert "deleting release 1.0 of hello-pkg" in removed.stdout
    assert sorted(world.api.json("/alice/dev/hello-pkg")) == ["1.1"]
    gone = world.api.get("/alice/dev/hello-pkg/1.0", headers={"Accept": "application/json"})
    assert gone.status_code == 404
    for href in hrefs:
        assert world.api.get(href).status_code == 410
    simple_names = [entry["filename"] for entry in world.api.simple("/alice/dev/+simple/hello-pkg/")["files"]]
    assert sorted(simple_names) == sorted(world.releases["1.1"].digests())
    assert world.devpi("list", "hello-pkg").stdout.count("-1.0") == 0


def test_push_to_non_volatile_index(world, e2e):
    pushed = world.devpi("push", "hello-pkg==1.1", "alice/prod")
    assert "200 register hello-pkg 1.1 -> alice/prod" in pushed.stdout
    assert "200 store_doczip hello-pkg 1.1 -> alice/prod" in pushed.stdout
    verdata = world.api.json("/alice/prod/hello-pkg/1.1")
    stored = links(verdata)
    assert sorted(stored) == sorted(world.releases["1.1"].digests())
    for filename, digest in world.releases["1.1"].digests().items():
        link = stored[filename]
        assert link["href"] == f"{world.server.url}/alice/prod/+f/{digest[:3]}/{digest[3:16]}/{filename}"
        assert link["hash_spec"] == f"sha256={digest}"
        assert [entry["what"] for entry in link["log"]] == ["upload", "push"]
        assert link["log"][1]["src"] == "alice/dev" and link["log"][1]["dst"] == "alice/prod"
        assert hashlib.sha256(world.api.get(link["href"]).content).hexdigest() == digest
    assert list(links(verdata, "doczip")) == ["hello-pkg-1.1.doc.zip"]
    assert world.api.get("/alice/prod/hello-pkg/1.1/+doc/index.html").text == DOC_PAGES["index.html"]
    prod = world.api.simple("/alice/prod/+simple/hello-pkg/")
    assert sorted(entry["filename"] for entry in prod["files"]) == sorted(world.releases["1.1"].digests())
    assert world.api.json("/alice/prod")["projects"] == ["hello-pkg"]
    # the source is unchanged
    source = world.api.json("/alice/dev/hello-pkg/1.1")
    assert sorted(links(source)) == sorted(world.releases["1.1"].digests())


def test_push_without_docs_only_docs_and_to_external_index(world, e2e):
    devpi = world.devpi
    for name in ("nodocs", "onlydocs"):
        devpi("index", "-c", name)
    devpi("index", "-c", "external", "volatile=False")
    devpi("push", "--no-docs", "hello-pkg==1.1", "alice/nodocs")
    verdata = world.api.json("/alice/nodocs/hello-pkg/1.1")
    assert sorted(links(verdata)) == sorted(world.releases["1.1"].digests()) and not links(verdata, "doczip")
    assert world.api.get("/alice/nodocs/hello-pkg/1.1/+doc/index.html").status_code == 404

    devpi("push", "--only-docs", "hello-pkg==1.1", "alice/onlydocs")
    verdata = world.api.json("/alice/onlydocs/hello-pkg/1.1")
    assert not links(verdata) and list(links(verdata, "doczip")) == ["hello-pkg-1.1.doc.zip"]
    assert world.api.get("/alice/onlydocs/hello-pkg/1.1/+doc/index.html").text == DOC_PAGES["index.html"]

    # "pypi:REPO" from a .pypirc: the server uploads the release to that URL itself (here: back to itself)
    pypirc = world.root / "pypirc"
    pypirc.write_text(f"[distutils]\nindex-servers = external\n\n[external]\n"
                      f"repository = {world.server.url}/alice/external/\n"
                      "username = alice\npassword = secret\n")
    pushed = devpi("push", "--pypirc", str(pypirc), "--register-project", "hello-pkg==1.1", "pypi:external")
    assert "200 register hello-pkg 1.1" in pushed.stdout
    assert pushed.stdout.count("200 upload ") == 2
    verdata = world.api.json("/alice/external/hello-pkg/1.1")
    stored = links(verdata)
    assert {name: link["hash_spec"] for name, link in stored.items()} == {
        name: f"sha256={digest}" for name, digest in world.releases["1.1"].digests().items()}
    assert all(link["log"][-1]["what"] == "upload" and link["log"][-1]["who"] == "alice"
               for link in stored.values())
    assert verdata["summary"] == "hello-pkg, a test project for satchel"
    page = world.api.get("/alice/external/hello-pkg/1.1/+doc/api/module.html")
    assert page.text == DOC_PAGES["api/module.html"]


def test_remove_file_and_whole_project(world, project_builder, e2e):
    devpi = world.devpi
    devpi("index", "-c", "scratch")
    releases = [project_builder.build("gone-pkg", version) for version in ("0.1", "0.2")]
    devpi("upload", "--index", "alice/scratch", *releases[0].files, *releases[1].files)
    meta = json.loads(devpi("getjson", links(world.api.json("/alice/scratch/gone-pkg/0.2"))[
        releases[1].wheel.name]["href"]).stdout)
    assert meta["type"] == "releasefilemeta"
    assert meta["result"]["hashes"]["sha256"] == releases[1].digests()[releases[1].wheel.name]

    wheel_href = links(world.api.json("/alice/scratch/gone-pkg/0.2"))[releases[1].wheel.name]["href"]
    devpi("remove", "-y", "--index", "alice/scratch", wheel_href)
    assert world.api.get(wheel_href).status_code == 410
    assert sorted(links(world.api.json("/alice/scratch/gone-pkg/0.2"))) == [releases[1].sdist.name]

    local = project_builder.build("gone-pkg", "0.3+local.1")  # a "+" in the DELETE /U/I/P/V path
    devpi("upload", "--index", "alice/scratch", *local.files)
    devpi("remove", "-y", "--index", "alice/scratch", "gone-pkg==0.3+local.1")
    assert sorted(world.api.json("/alice/scratch/gone-pkg")) == ["0.1", "0.2"]

    all_hrefs = [link["href"] for version in ("0.1", "0.2")
                 for link in world.api.json(f"/alice/scratch/gone-pkg/{version}")["+links"]]
    devpi("remove", "-y", "--index", "alice/scratch", "gone-pkg")
    assert world.api.get("/alice/scratch/gone-pkg", headers={"Accept": "application/json"}).status_code == 404
    assert world.api.get("/alice/scratch/+simple/gone-pkg/").status_code == 404
    assert all(world.api.get(href).status_code == 410 for href in all_hrefs)
    assert world.api.json("/alice/scratch")["projects"] == []


def test_doc_zip_without_version_goes_to_latest_release(world, e2e):
    devpi = world.devpi
    devpi("index", "-c", "docs")
    devpi("upload", "--index", "alice/docs", *world.releases["1.0"].files, *world.releases["1.1"].files)
    doczip = e2e.make_doc_zip(world.root / "hello-pkg.doc.zip", {"index.html": "<p>latest docs</p>"})
    devpi("upload", "--index", "alice/docs", doczip)
    assert world.api.get("/alice/docs/hello-pkg/1.1/+doc/index.html").text == "<p>latest docs</p>"
    assert links(world.api.json("/alice/docs/hello-pkg/1.1"), "doczip")
    assert not links(world.api.json("/alice/docs/hello-pkg/1.0"), "doczip")

    # deleting the whole index takes its files along; alice/dev's copies of the same bytes stay
    hrefs = [link["href"] for version in ("1.0", "1.1")
             for link in world.api.json(f"/alice/docs/hello-pkg/{version}")["+links"]]
    devpi("index", "-y", "--delete", "alice/docs")
    assert world.api.get("/alice/docs", headers={"Accept": "application/json"}).status_code == 404
    assert all(world.api.get(href).status_code in (404, 410) for href in hrefs)
    assert world.api.get("/alice/docs/hello-pkg/1.1/+doc/index.html").status_code == 404
    for link in world.api.json("/alice/dev/hello-pkg/1.1")["+links"]:
        assert hashlib.sha256(world.api.get(link["href"]).content).hexdigest() == link["hashes"]["sha256"]


def test_non_volatile_index_refuses_changes(world, project_builder):
    devpi = world.devpi
    identical = devpi("upload", "--index", "alice/prod", world.releases["1.1"].wheel)
    assert "file_upload of hello_pkg-1.1-py3-none-any.whl" in identical.stdout
    changed = project_builder.build("hello-pkg", "1.1", body="CHANGED = True")
    assert changed.wheel.read_bytes() != world.releases["1.1"].wheel.read_bytes()
    conflict = devpi("upload", "--index", "alice/prod", changed.wheel, check=False)
    assert conflict.returncode != 0
    assert "409" in conflict.stdout + conflict.stderr
    assert "already exists in non-volatile index" in conflict.stdout + conflict.stderr
    link = links(world.api.json("/alice/prod/hello-pkg/1.1"))["hello_pkg-1.1-py3-none-any.whl"]
    assert world.api.get(link["href"]).content == world.releases["1.1"].wheel.read_bytes()
    refused = devpi("remove", "-y", "--index", "alice/prod", "hello-pkg==1.1", check=False)
    assert refused.returncode != 0 and "non-volatile" in refused.stdout + refused.stderr
    assert sorted(world.api.json("/alice/prod/hello-pkg")) == ["1.1"]

    again = devpi("push", "hello-pkg==1.1", "alice/prod", check=False)  # devpi: 409 even for the same bytes
    assert again.returncode != 0
    assert "409" in again.stdout + again.stderr and "already exists in non-volatile index" in again.stdout

    world.api.create_user("bob", "bobpw")
    world.api.create_index("bob", "bobpw", "stage")
    foreign = devpi("push", "hello-pkg==1.1", "bob/stage", check=False)
    assert foreign.returncode != 0
    assert "401" in foreign.stdout and "user 'alice' cannot upload to 'bob/stage'" in foreign.stdout
    assert world.api.get("/bob/stage/hello-pkg", headers={"Accept": "application/json"}).status_code == 404

    # --force removes from a non-volatile index; the same bytes on alice/dev stay (content-addressed store)
    prod_hrefs = [link["href"] for link in world.api.json("/alice/prod/hello-pkg/1.1")["+links"]]
    devpi("remove", "-y", "--force", "--index", "alice/prod", "hello-pkg==1.1")
    assert all(world.api.get(href).status_code == 410 for href in prod_hrefs)
    for filename, link in links(world.api.json("/alice/dev/hello-pkg/1.1")).items():
        source = world.releases["1.1"].wheel if filename.endswith(".whl") else world.releases["1.1"].sdist
        assert world.api.get(link["href"]).content == source.read_bytes()
    assert world.api.get("/alice/dev/hello-pkg/1.1/+doc/index.html").text == DOC_PAGES["index.html"]


def test_install_into_venv(world, e2e):
    venv = world.root / "venv"
    e2e.run([sys.executable, "-m", "venv", venv], cwd=world.root)
    installed = world.devpi("install", "--venv", str(venv), "hello-pkg")
    assert "hello-pkg" in installed.stdout + installed.stderr
    packages = world.devpi("install", "--venv", str(venv), "-l").stdout
    assert "hello-pkg" in packages and "1.1" in packages
    python = venv / "bin" / "python"
    version = e2e.run([python, "-c", "import hello_pkg; print(hello_pkg.VERSION)"], cwd=world.root)
    assert version.stdout.strip() == "1.1"


TOX_STANDIN = textwrap.dedent('''\
    #!{python}
    """Stands in for tox (not a test dependency): records what devpi test handed over, writes a result."""
    import json, os, sys
    args = sys.argv[1:]
    installpkg = args[args.index("--installpkg") + 1]
    report = args[args.index("--result-json") + 1]
    with open(os.environ["TOX_STANDIN_LOG"], "w") as log:
        json.dump({{"args": args, "index": os.environ.get("PIP_INDEX_URL"), "cwd": os.getcwd(),
                   "installpkg_size": os.path.getsize(installpkg)}}, log)
    with open(report, "w") as out:
        json.dump({{"reportversion": "1", "toxversion": "4.0.0", "platform": sys.platform, "host": "ci",
                   "installpkg": {{"basename": os.path.basename(installpkg)}},
                   "testenvs": {{"py": {{
                       "test": [{{"command": ["pytest"], "retcode": 0, "output": "1 passed"}}],
                       "python": {{"version": sys.version.split()[0]}}}}}}}}, out)
    ''')


def test_devpi_test_posts_tox_result(world, e2e):
    """``devpi test`` with a stand-in for tox: tox is not a test dependency and could not install the package
    offline anyway. Everything between devpi-client and the server is real: the project JSON, the sdist
    download with the login token as Basic credentials, and the tox result upload."""
    bindir = world.root / "toxbin"
    bindir.mkdir()
    tox = bindir / "tox"
    tox.write_text(TOX_STANDIN.format(python=sys.executable))
    tox.chmod(0o755)
    ini = world.root / "tox.ini"
    ini.write_text("[tox]\nenvlist = py\n")
    log = world.root / "tox-standin.json"
    devpi = world.devpi
    saved = dict(devpi.env)
    devpi.env.update(PATH=f"{bindir}:{devpi.env['PATH']}", TOX_STANDIN_LOG=str(log))
    try:
        result = devpi("test", "--fallback-ini", str(ini), "hello-pkg==1.1")
    finally:
        devpi.env.clear()
        devpi.env.update(saved)
    assert "posting tox result data" in result.stdout
    handed = json.loads(log.read_text())
    sdist = world.releases["1.1"].sdist
    assert handed["installpkg_size"] == sdist.stat().st_size
    assert handed["index"].startswith("http://alice:") and handed["index"].endswith("/alice/dev/+simple/")
    verdata = world.api.json("/alice/dev/hello-pkg/1.1")
    results = [link for link in verdata["+links"] if link["rel"] == "toxresult"]
    assert len(results) == 1
    assert results[0]["for_href"] == links(verdata)[sdist.name]["href"]
    body = world.api.get(results[0]["href"]).json()
    assert body["testenvs"]["py"]["test"][0]["retcode"] == 0
    assert body["installpkg"]["basename"] == sdist.name
    listed = devpi("list", "-t", "hello-pkg==1.1").stdout  # devpi-client downloads and reads the result
    assert sys.version.split()[0] in listed
    assert "tests passed" in listed


SPHINX_STANDIN = textwrap.dedent('''\
    #!{python}
    """Stands in for sphinx-build (not a test dependency): "renders" docs/*.html into the build dir."""
    import shutil, sys
    source, build = sys.argv[-2], sys.argv[-1]
    shutil.copytree(source, build, ignore=shutil.ignore_patterns("conf.py"), dirs_exist_ok=True)
    ''')


def test_upload_builds_project_with_docs(world, e2e, tmp_path):
    """``devpi upload --with-docs`` in a project directory: devpi-client builds sdist and wheel with
    ``python -m build --no-isolation`` (setuptools backend) and zips the docs that sphinx-build made."""
    if not e2e.setuptools_can_build_wheels():
        pytest.skip("setuptools < 70.1 builds wheels only with the 'wheel' package, which is not installed "
                    "(not a test dependency); the offline build-mode upload needs it")
    project = tmp_path / "built-pkg"
    (project / "src" / "built_pkg").mkdir(parents=True)
    (project / "src" / "built_pkg" / "__init__.py").write_text("VERSION = '2.0'\n")
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "built-pkg"\nversion = "2.0"\ndescription = "built by devpi upload"\n')
    (project / "docs").mkdir()
    (project / "docs" / "conf.py").write_text("project = 'built-pkg'\n")
    (project / "docs" / "index.html").write_text("<h1>built-pkg docs</h1>")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    sphinx = bindir / "sphinx-build"
    sphinx.write_text(SPHINX_STANDIN.format(python=sys.executable))
    sphinx.chmod(0o755)
    devpi = new_client(e2e, world.root / "clientdir", project)  # same client state: logged in, alice/dev
    devpi.env["PATH"] = f"{bindir}:{devpi.env['PATH']}"
    devpi("upload", "--no-vcs", "--no-isolation", "--with-docs", timeout=300)
    built = sorted((project / "dist").iterdir())
    kinds = sorted(path.name.rsplit("2.0", 1)[1] for path in built)
    assert kinds == ["-py3-none-any.whl", ".doc.zip", ".tar.gz"], built  # sdist naming depends on setuptools
    verdata = world.api.json("/alice/dev/built-pkg/2.0")
    stored = {name: link["hash_spec"] for name, link in links(verdata).items()}
    assert stored == {path.name: f"sha256={e2e.sha256(path)}" for path in built if ".doc." not in path.name}
    assert list(links(verdata, "doczip")) == ["built-pkg-2.0.doc.zip"]
    assert world.api.get("/alice/dev/built-pkg/2.0/+doc/index.html").text == "<h1>built-pkg docs</h1>"


def test_restart_keeps_data_and_login(world, project_builder):
    """Stop the server and start it again on the same serverdir and port: the stored releases, docs and the
    client's login token (signed with the persisted secret) all still work."""
    before = world.api.json("/alice/dev/hello-pkg")
    world.server.stop()
    world.server = ServerProcess(world.server.serverdir, port=world.server.port).start()
    assert world.api.json("/alice/dev/hello-pkg") == before
    for link in before["1.1"]["+links"]:
        assert hashlib.sha256(world.api.get(link["href"]).content).hexdigest() == link["hashes"]["sha256"]
    assert world.api.get("/alice/dev/hello-pkg/1.1/+doc/index.html").text == DOC_PAGES["index.html"]
    assert "logged in as alice" in world.devpi("use").stdout
    release = project_builder.build("hello-pkg", "1.3")
    world.devpi("upload", *release.files)  # no new login
    assert sorted(world.api.json("/alice/dev/hello-pkg")) == ["1.1", "1.3"]
