"""Shared fixtures come from satchel's own pytest plugin (the ``pytest11`` entry point ``satchel``)."""

from importlib.metadata import entry_points

import pytest

if not entry_points(group="pytest11", name="satchel"):
    # an editable install made before the entry point existed: `pip install -e ".[test]"` again registers it
    pytest_plugins = ["satchel.testing.fixtures"]


@pytest.fixture(autouse=True)
def _cheap_password_hashing(fast_password_hashing):
    """This suite opts every test into the kit's cheap argon2 parameters, not only those using make_app."""
