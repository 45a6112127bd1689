"""Every plugin in plugins/ is a built-in entry point and a listed package; setup.cfg maps every package."""

import configparser
import tomllib
from pathlib import Path

import pytest

ENTRY_POINT_GROUP = "satchel.plugins"


@pytest.fixture(scope="module")
def entry_points(source_tree) -> dict[str, str]:
    pyproject = tomllib.loads((source_tree.repo / "pyproject.toml").read_text(encoding="utf-8"))
    return pyproject.get("project", {}).get("entry-points", {}).get(ENTRY_POINT_GROUP, {})


@pytest.fixture(scope="module")
def setup_options(source_tree) -> tuple[list[str], dict[str, str]]:
    """``(packages, package_dir)`` of setup.cfg's ``[options]``."""
    parser = configparser.ConfigParser()
    parser.read(source_tree.repo / "setup.cfg", encoding="utf-8")
    packages = parser.get("options", "packages", fallback="").split()
    package_dir = {}
    for line in parser.get("options", "package_dir", fallback="").splitlines():
        if "=" in line:
            name, _, directory = line.partition("=")
            package_dir[name.strip()] = directory.strip()
    return packages, package_dir


def _package_dirs(source_tree) -> list[str]:
    return sorted(module.name for module in source_tree.modules.values() if module.is_package)


def _directory_of(package: str, package_dir: dict[str, str]) -> Path | None:
    parts = package.split(".")
    for cut in range(len(parts), 0, -1):
        prefix = ".".join(parts[:cut])
        if prefix in package_dir:
            return Path(package_dir[prefix], *parts[cut:])
    if "" in package_dir:
        return Path(package_dir[""], *parts)
    return None


def test_every_plugin_is_an_entry_point(source_tree, entry_points):
    registered = {value.split(":")[0].split(".")[0].strip() for value in entry_points.values()}
    missing = [name for name in source_tree.plugin_packages if name not in registered]
    assert not missing, f'plugins missing from [project.entry-points."{ENTRY_POINT_GROUP}"]: {missing}'


def test_every_entry_point_is_a_plugin(source_tree, entry_points):
    plugins = set(source_tree.plugin_packages)
    unknown = {name: value for name, value in entry_points.items()
               if value.split(":")[0].split(".")[0].strip() not in plugins}
    assert not unknown, f"entry points naming no package in plugins/: {unknown}"


def test_every_package_is_listed_in_setup_cfg(source_tree, setup_options):
    packages, _ = setup_options
    missing = [name for name in _package_dirs(source_tree) if name not in packages]
    assert not missing, f"packages missing from setup.cfg [options] packages: {missing}"


def test_setup_cfg_maps_every_package_to_its_directory(source_tree, setup_options):
    """Each listed package is a directory with ``__init__.py``, or a data directory (templates, static
    files) named in ``[options.package_data]``: listed so that setuptools ships it without a warning."""
    packages, package_dir = setup_options
    parser = configparser.ConfigParser()
    parser.read(source_tree.repo / "setup.cfg", encoding="utf-8")
    data_packages = set()
    if parser.has_section("options.package_data"):
        data_packages = set(parser.options("options.package_data"))
    problems = []
    for package in packages:
        directory = _directory_of(package, package_dir)
        if directory is None or not (source_tree.repo / directory).is_dir():
            problems.append(f"{package} -> {directory}")
        elif not (source_tree.repo / directory / "__init__.py").is_file() and package not in data_packages:
            problems.append(f"{package} -> {directory}")
    assert not problems, f"setup.cfg packages without a package directory: {problems}"


def test_test_kit_is_a_pytest_plugin_of_the_testing_extra(source_tree):
    """``satchel[testing]`` brings pytest and WebTest; pytest finds the kit through the ``pytest11`` entry point;
    the runtime dependencies need neither."""
    project = tomllib.loads((source_tree.repo / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["entry-points"]["pytest11"] == {"satchel.testing.fixtures": "satchel.testing.fixtures"}
    testing = {requirement.split(">")[0].split("=")[0].lower() for requirement in
               project["optional-dependencies"]["testing"]}
    assert {"pytest", "webtest"} <= testing
    runtime = " ".join(project["dependencies"]).lower()
    assert "pytest" not in runtime and "webtest" not in runtime
    assert "satchel[testing]" in project["optional-dependencies"]["test"]


def test_setup_cfg_and_pyproject_do_not_overlap(source_tree):
    """setup.cfg: the package layout only; pyproject.toml: everything else (their header comments say so)."""
    parser = configparser.ConfigParser()
    parser.read(source_tree.repo / "setup.cfg", encoding="utf-8")
    layout = {"options": {"packages", "package_dir"}, "options.package_data": None}
    for section in parser.sections():
        assert section in layout, f"setup.cfg [{section}] belongs in pyproject.toml"
        allowed = layout[section]
        extra = set(parser.options(section)) - allowed if allowed is not None else set()
        assert not extra, f"setup.cfg [{section}] {sorted(extra)} belong in pyproject.toml"
    pyproject = tomllib.loads((source_tree.repo / "pyproject.toml").read_text(encoding="utf-8"))
    assert "setuptools" not in pyproject.get("tool", {}), "pyproject.toml [tool.setuptools]: the layout is setup.cfg's"
    assert {"name", "version", "dependencies"} <= set(pyproject["project"])
