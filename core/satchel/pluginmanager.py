"""Create the plugin manager: specs, blocked names, entry points, core's own hookimpls."""

import importlib
import os

import pluggy

from satchel import hookspecs
from satchel.errors import ConfigError
from satchel.plugin import ENTRY_POINT_GROUP, NAME

# core modules that implement hooks, registered like plugins but not disableable
CORE_MODULES = ("satchel.storage.memory", "satchel.commands", "satchel.metrics")


def disabled_from_env(environ=os.environ) -> list[str]:
    """Plugin names listed in ``SATCHEL_DISABLE_PLUGINS`` (comma separated)."""
    value = environ.get("SATCHEL_DISABLE_PLUGINS", "")
    return [name.strip() for name in value.split(",") if name.strip()]


def create_pluginmanager(disabled=(), load_entrypoints: bool = True, plugins=()) -> pluggy.PluginManager:
    """A manager with core's specs, ``disabled`` names blocked, plugins loaded.

    ``plugins`` are extra objects/modules to register (tests).
    """
    pm = pluggy.PluginManager(NAME)
    pm.add_hookspecs(hookspecs)
    for name in disabled:
        if name in CORE_MODULES:
            raise ConfigError(f"{name} is part of core and cannot be disabled")
        pm.set_blocked(name)
    for modname in CORE_MODULES:
        pm.register(importlib.import_module(modname), name=modname)
    if load_entrypoints:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for plugin in plugins:
        pm.register(plugin)
    pm.hook.satchel_add_hookspecs.call_historic(kwargs=dict(pluginmanager=pm))
    pm.check_pending()
    return pm


def plugin_versions(pm: pluggy.PluginManager) -> list[tuple[str, str, list[str]]]:
    """``(name, version, hook names)`` for every loaded plugin, entry-point plugins first."""
    dists = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
    rows = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        dist = dists.get(id(plugin))
        version = dist.version if dist is not None else "core"
        hooks = sorted(caller.name for caller in pm.get_hookcallers(plugin) or [])
        rows.append((name, version, hooks))
    return rows
