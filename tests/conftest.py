"""Shared fixtures come from satchel's own pytest plugin."""

pytest_plugins = ["satchel.testing.fixtures", "satchel.testing.servers"]
