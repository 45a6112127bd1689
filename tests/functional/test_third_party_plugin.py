"""A third-party plugin installed as a distribution is found through its entry point and can be disabled."""

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
import warnings
import zipfile
from pathlib import Path

import pytest
import requests

from satchel.testing.server import ServerProcess

pytestmark = pytest.mark.slow

NAME = "satchel-hello"
VERSION = "1.2.3"

PYPROJECT = f"""\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "{NAME}"
version = "{VERSION}"
description = "says hello: a tiny third-party satchel plugin"
requires-python = ">=3.11"
dependencies = ["satchel"]

[project.entry-points."satchel.plugins"]
hello = "satchel_hello"

[tool.setuptools]
packages = ["satchel_hello"]
"""

MODULE = '''\
"""satchel_hello: adds ``GET /+hello`` and the ``hello-feature`` API feature."""

from satchel.plugin import hookimpl
from satchel.web.responses import json_response


def hello_view(request):
    return json_response({"greeting": "hello"}, "hello")


@hookimpl
def satchel_add_routes(router):
    router.add("hello", r"/\\+hello", hello_view)


@hookimpl
def satchel_api_features():
    return ["hello-feature"]
'''

ENTRY_POINTS = '[satchel.plugins]\nhello = satchel_hello\n'


def write_source(directory: Path) -> Path:
    (directory / "satchel_hello").mkdir(parents=True)
    (directory / "pyproject.toml").write_text(PYPROJECT)
    (directory / "satchel_hello" / "__init__.py").write_text(MODULE)
    return directory


def _run(*command, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)


def _pip_install(target: Path, what: Path) -> subprocess.CompletedProcess:
    return _run(sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--no-build-isolation",
                "--disable-pip-version-check", "--quiet", "--target", str(target), str(what))


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def write_wheel_by_hand(directory: Path) -> Path:
    """A PEP 427 wheel of the same distribution, for when none can be built (setuptools without ``wheel``)."""
    dist_info = f"satchel_hello-{VERSION}.dist-info"
    files = {
        "satchel_hello/__init__.py": MODULE.encode(),
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\n".encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: satchel-tests\nRoot-Is-Purelib: true\n"
                              b"Tag: py3-none-any\n",
        f"{dist_info}/entry_points.txt": ENTRY_POINTS.encode(),
    }
    record = "".join(f"{name},{_record_hash(data)},{len(data)}\n" for name, data in files.items())
    record += f"{dist_info}/RECORD,,\n"
    wheel = directory / f"satchel_hello-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        archive.writestr(f"{dist_info}/RECORD", record)
    return wheel


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The hello distribution installed into its own directory (``pip install --target``)."""
    base = tmp_path_factory.mktemp("hello")
    source = write_source(base / "src")
    target = base / "site"
    errors = []
    result = _pip_install(target, source)
    if result.returncode != 0:
        errors.append(f"pip install --no-build-isolation: {result.stderr[-1500:]}")
        dist = base / "dist"
        result = _run(sys.executable, "-m", "build", "--no-isolation", "--wheel", "--outdir", str(dist),
                      str(source))
        wheels = sorted(dist.glob("*.whl")) if result.returncode == 0 else []
        if not wheels:
            errors.append(f"python -m build --no-isolation: {(result.stderr or result.stdout)[-1500:]}")
            warnings.warn("no wheel could be built without network (is the 'wheel' package missing?); "
                          "installing a hand-made wheel of the same distribution instead", stacklevel=1)
            wheels = [write_wheel_by_hand(base)]
        result = _pip_install(target, wheels[0])
    assert result.returncode == 0, "\n\n".join(errors + [f"pip install of the wheel: {result.stderr}"])
    assert list(target.glob("satchel_hello-*.dist-info")), "no dist-info was installed"
    return target


@pytest.fixture
def env(site) -> dict[str, str]:
    """Environment of the satchel processes: the plugin importable, nothing disabled."""
    path = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    return {"PYTHONPATH": path, "SATCHEL_DISABLE_PLUGINS": ""}


def list_plugins(env, tmp_path, *args) -> dict[str, tuple[str, list[str]]]:
    """``satchel plugins`` as ``{name: (version, hooks)}``."""
    result = subprocess.run([sys.executable, "-m", "satchel", "plugins", *args], cwd=tmp_path,
                            env={**os.environ, **env}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    plugins = {}
    for line in result.stdout.splitlines():
        head, _, hooks = line.partition(": ")
        name, _, version = head.partition(" ")
        plugins[name] = (version, [hook.strip() for hook in hooks.split(",")])
    return plugins


def test_plugins_command_lists_the_plugin(env, tmp_path):
    plugins = list_plugins(env, tmp_path)
    assert plugins["hello"] == (VERSION, ["satchel_add_routes", "satchel_api_features"])
    assert "sqlite" in plugins  # the built-ins are still there


def test_server_serves_the_plugin_route_and_feature(env, tmp_path):
    with ServerProcess(tmp_path / "server", env=env) as server:
        response = requests.get(server.url + "/+hello", timeout=10)
        assert response.status_code == 200, server.log()
        assert response.headers["Content-Type"] == "application/json"
        assert response.json() == {"result": {"greeting": "hello"}, "type": "hello"}
        features = requests.get(server.url + "/+api", timeout=10).json()["result"]["features"]
        assert "hello-feature" in features


def _assert_disabled(server):
    assert requests.get(server.url + "/+hello", timeout=10).status_code == 404
    features = requests.get(server.url + "/+api", timeout=10).json()["result"]["features"]
    assert "hello-feature" not in features


def test_disable_plugin_option(env, tmp_path):
    assert "hello" not in list_plugins(env, tmp_path, "--disable-plugin", "hello")
    with ServerProcess(tmp_path / "server", args=["--disable-plugin", "hello"], env=env) as server:
        _assert_disabled(server)


def test_disable_plugins_environment_variable(env, tmp_path):
    env = {**env, "SATCHEL_DISABLE_PLUGINS": "hello"}
    plugins = list_plugins(env, tmp_path)
    assert "hello" not in plugins
    assert "sqlite" in plugins
    with ServerProcess(tmp_path / "server", env=env) as server:
        _assert_disabled(server)



EXAMPLE = Path(__file__).resolve().parents[2] / "contrib" / "example_plugin"


def _pytest_in(directory: Path) -> subprocess.CompletedProcess:
    """A fresh pytest process in ``directory`` with the example importable (it is not installed)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "COV_"))}
    env.update(PYTHONPATH=str(EXAMPLE), PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"],
                          cwd=directory, env=env, capture_output=True, text=True, timeout=300)


def test_contrib_example_plugin_passes_its_tests_with_the_kit():
    """The template declares its entry point and its own tests pass in a fresh pytest process, whose fixtures come
    from satchel's pytest plugin (the ``pytest11`` entry point), not from any conftest."""
    pyproject = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())
    assert pyproject["project"]["entry-points"]["satchel.plugins"] == {"example": "satchel_example"}
    assert pyproject["project"]["optional-dependencies"]["test"] == ["satchel[testing]"]
    assert not list(EXAMPLE.rglob("conftest.py"))
    result = _pytest_in(EXAMPLE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_a_conftest_naming_the_kit_the_old_way_still_works(tmp_path):
    """Third-party suites written before the entry point existed say ``pytest_plugins = [...]`` themselves."""
    shutil.copytree(EXAMPLE / "tests", tmp_path / "tests")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "tests" / "conftest.py").write_text('pytest_plugins = ["satchel.testing.fixtures"]\n')
    result = _pytest_in(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
