"""Shared pieces of the end-to-end client tests: a clean client environment and real builds.

Every subprocess started by these tests talks to 127.0.0.1 only: pip and uv get no configuration files, no
find-links and no extra indexes, and distributions are built offline.
"""

import hashlib
import os
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from uv import find_uv_bin

JSON = {"Accept": "application/json", "Content-Type": "application/json"}


def client_env(**extra) -> dict:
    """os.environ without anything that would point pip, uv or twine somewhere other than our server."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("PIP_", "UV_", "TWINE_", "DEVPI_"))
           and name.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env.update({
        "PIP_CONFIG_FILE": os.devnull,  # pip reads no pip.conf (this machine's adds find-links and indexes)
        "PIP_NO_INPUT": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_CACHE_DIR": "1",
        "UV_NO_CACHE": "1",
        "UV_NO_CONFIG": "1",
        "UV_PYTHON_DOWNLOADS": "never",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",  # twine must not ask a keyring
        "NO_PROXY": "127.0.0.1,localhost",
    })
    env.update(extra)
    return env


def run(command, *, cwd, env=None, timeout=180, check=True) -> subprocess.CompletedProcess:
    result = subprocess.run([str(part) for part in command], check=False, capture_output=True, text=True,
                            cwd=cwd, env=env or client_env(), timeout=timeout, stdin=subprocess.DEVNULL)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, command))} failed ({result.returncode}):\n"
                             f"{result.stdout}\n{result.stderr}")
    return result


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def uv_version() -> tuple[int, int]:
    out = subprocess.run([find_uv_bin(), "--version"], capture_output=True, text=True, check=True).stdout
    major, minor = out.split()[1].split(".")[:2]
    return int(major), int(minor)


@dataclass
class Built:
    """One built release: its wheel and sdist."""

    name: str
    version: str
    wheel: Path
    sdist: Path
    files: list = field(default_factory=list)

    def __post_init__(self):
        self.files = [self.wheel, self.sdist]

    def digests(self) -> dict:
        return {path.name: sha256(path) for path in self.files}


class ProjectBuilder:
    """Write a tiny project and build its wheel and sdist with ``uv build``.

    uv builds projects using its own backend (``uv_build``) without downloading anything, so this works with
    no network. setuptools cannot build a wheel here without the ``wheel`` package, which is not a test
    dependency (see ``setuptools_can_build_wheels``).
    """

    def __init__(self, root: Path):
        self.root = root
        self.major, self.minor = uv_version()
        self.count = 0

    def write(self, name: str, version: str, *, body: str = "", dependencies=(), readme: str | None = None,
              data: dict | None = None) -> Path:
        """``data``: extra files of the package, ``{relative path: bytes}``; ``readme``: README.md text."""
        module = re.sub(r"[-_.]+", "_", name).lower()
        self.count += 1
        project = self.root / f"{module}-{self.count}"
        (project / "src" / module).mkdir(parents=True, exist_ok=True)
        for relpath, content in (data or {}).items():
            (project / "src" / module / relpath).write_bytes(content)
        deps = ", ".join(f'"{dep}"' for dep in dependencies)
        if readme is not None:
            (project / "README.md").write_text(readme, encoding="utf-8")
        (project / "pyproject.toml").write_text(
            "[build-system]\n"
            f'requires = ["uv_build>={self.major}.{self.minor},<{self.major}.{self.minor + 1}"]\n'
            'build-backend = "uv_build"\n\n'
            "[project]\n"
            f'name = "{name}"\nversion = "{version}"\n'
            f'description = "{name}, a test project for satchel"\n'
            'requires-python = ">=3.8"\n'
            f"dependencies = [{deps}]\n"
            + ('readme = "README.md"\n' if readme is not None else ""))
        (project / "src" / module / "__init__.py").write_text(f"VERSION = {version!r}\n{body}\n")
        return project

    def build(self, name: str, version: str, **options) -> Built:
        """Options as for ``write``; each call builds in a fresh directory."""
        project = self.write(name, version, **options)
        dist = project / "dist"
        run([find_uv_bin(), "build", "--offline", "--no-config", "--python", sys.executable,
             "--out-dir", dist, project], cwd=project, env=client_env(UV_OFFLINE="1"))
        (wheel,) = dist.glob("*.whl")
        (sdist,) = dist.glob("*.tar.gz")
        return Built(name, version, wheel=wheel, sdist=sdist)


def make_doc_zip(path: Path, pages: dict) -> Path:
    """A documentation zip as ``sphinx-build`` + devpi-client would make it: HTML files at the top."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in pages.items():
            archive.writestr(name, text)
    return path


def setuptools_can_build_wheels() -> bool:
    """setuptools before 70.1 needs the separate ``wheel`` package for ``bdist_wheel``."""
    import importlib.metadata
    import importlib.util

    try:
        version = importlib.metadata.version("setuptools")
    except importlib.metadata.PackageNotFoundError:
        return False
    parts = tuple(int(p) for p in version.split(".")[:2] if p.isdigit())
    return parts >= (70, 1) or importlib.util.find_spec("wheel") is not None


class Api:
    """Plain HTTP against the server, for checking what the clients did."""

    def __init__(self, url: str):
        self.url = url
        self.session = requests.Session()
        self.session.trust_env = False

    def get(self, path, **kwargs):
        kwargs.setdefault("timeout", 30)
        return self.session.get(self.url + path if path.startswith("/") else path, **kwargs)

    def json(self, path):
        response = self.get(path, headers=JSON)
        assert response.status_code == 200, (path, response.status_code, response.text)
        return response.json()["result"]

    def simple(self, path):
        response = self.get(path, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
        assert response.status_code == 200, (path, response.status_code, response.text)
        return response.json()

    def create_user(self, name, password):
        response = self.session.put(f"{self.url}/{name}", json={"password": password}, headers=JSON,
                                    timeout=30)
        assert response.status_code == 201, response.text

    def create_index(self, user, password, name, **config):
        response = self.session.put(f"{self.url}/{user}/{name}", json=config, headers=JSON,
                                    auth=(user, password), timeout=30)
        assert response.status_code == 200, response.text


@pytest.fixture(scope="session")
def project_builder(tmp_path_factory):
    """``project_builder.build(name, version, body=..., dependencies=...)`` -> Built (wheel + sdist)."""
    return ProjectBuilder(tmp_path_factory.mktemp("projects"))


@pytest.fixture(scope="session")
def e2e():
    """The helpers above for the test modules (with --import-mode=importlib they can't import conftest)."""
    return SimpleNamespace(run=run, client_env=client_env, sha256=sha256, Api=Api, JSON=JSON,
                           make_doc_zip=make_doc_zip, setuptools_can_build_wheels=setuptools_can_build_wheels)
