"""Fixtures for gen-config: the plugin and its templates, also before the package is wired into setup.cfg."""

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
TEMPLATES_DIR = REPO / "contrib" / "templates"


def _ensure_templates_package() -> None:
    """Import ``satchel_templates`` from contrib/templates when the installed tree does not map it yet."""
    try:
        importlib.import_module("satchel_templates")
        return
    except ModuleNotFoundError:
        pass
    spec = importlib.util.spec_from_file_location(
        "satchel_templates", TEMPLATES_DIR / "__init__.py", submodule_search_locations=[str(TEMPLATES_DIR)])
    module = importlib.util.module_from_spec(spec)
    sys.modules["satchel_templates"] = module
    spec.loader.exec_module(module)


def _ensure_plugin_importable() -> None:
    try:
        importlib.import_module("satchel_genconfig")
    except ModuleNotFoundError:
        sys.path.insert(0, str(REPO / "plugins"))


_ensure_templates_package()
_ensure_plugin_importable()


@pytest.fixture
def genconfig_plugin():
    import satchel_genconfig

    return satchel_genconfig


def manager_with(plugin):
    """A plugin manager with ``plugin`` registered once: directly before the entry point is wired, or by it."""
    from satchel.pluginmanager import create_pluginmanager

    pm = create_pluginmanager()
    if not pm.is_registered(plugin):
        pm.register(plugin)
    return pm


@pytest.fixture
def genconfig_pm(genconfig_plugin):
    return manager_with(genconfig_plugin)
