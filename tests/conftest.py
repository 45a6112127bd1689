"""Shared fixtures come from satchel's own pytest plugin (the ``pytest11`` entry point ``satchel.testing.fixtures``)."""

from importlib.metadata import entry_points

import pytest

# servers the storage plugins' tests start (PostgreSQL ...): fixtures of their own, not part of the kit
pytest_plugins = ["satchel.testing.servers"]
if not any(ep.value == "satchel.testing.fixtures" for ep in entry_points(group="pytest11")):
    # an editable install made before the entry point existed: `pip install -e ".[test]"` again registers it
    pytest_plugins = ["satchel.testing.fixtures", "satchel.testing.servers"]


@pytest.fixture(autouse=True)
def _cheap_password_hashing(fast_password_hashing):
    """This suite opts every test into the kit's cheap argon2 parameters, not only those using make_app."""


# every backend satchel ships: the kit's `app` covers memory and sqlite, this suite adds a real PostgreSQL
STORAGES = ["memory", "sqlite", "postgresql"]


@pytest.fixture(params=STORAGES)
def app(request, make_app):
    """An initialized App on each backend satchel ships (PostgreSQL: a fresh database of the session's server)."""
    return make_app(storage=request.param)
