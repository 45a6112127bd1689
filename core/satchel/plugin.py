"""The markers plugins use: ``from satchel.plugin import hookimpl``."""

import pluggy

NAME = "satchel"
ENTRY_POINT_GROUP = "satchel.plugins"

hookspec = pluggy.HookspecMarker(NAME)
hookimpl = pluggy.HookimplMarker(NAME)
