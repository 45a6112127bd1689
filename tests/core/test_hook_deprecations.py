"""Renamed hook arguments: the new forms get Stage objects and names, the old forms still work for one release
and warn when they are registered (docs/hooks.md, "Deprecated hook arguments")."""

import warnings

import pytest

from satchel.model import indexes
from satchel.plugin import hookimpl
from satchel.testing.client import DevpiClient


class NewForms:
    def __init__(self):
        self.calls = []

    @hookimpl
    def satchel_validate_indexconfig(self, app, index_name, old, new):
        self.calls.append(("validate", index_name, old is None))

    @hookimpl
    def satchel_stage_created(self, app, stage):
        self.calls.append(("created", stage.name, stage.index_type.name, stage.app is app))

    @hookimpl
    def satchel_stage_deleted(self, app, stage):
        self.calls.append(("deleted", stage.name, stage.index_type.name, stage.config.get("title")))


class OldForms:
    def __init__(self):
        self.calls = []

    @hookimpl
    def satchel_validate_indexconfig(self, app, tx, index, old, new, identity):
        self.calls.append(("validate", index))

    @hookimpl
    def satchel_stage_created(self, stage):
        self.calls.append(("created", stage.name))

    @hookimpl
    def satchel_stage_deleted(self, app, index):
        self.calls.append(("deleted", index))


def _create_and_delete(app):
    """Through the REST API, as devpi-client does it."""
    client = DevpiClient(app)
    client.login("root", "")
    client.put("/root/dev", {"type": "stage", "title": "Dev"}, status=200)
    client.delete("/root/dev", status=201)


@pytest.mark.parametrize("storage", ["memory", "sqlite"])
def test_new_forms_get_stages_without_warnings(make_app, storage):
    plugin = NewForms()
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        app = make_app(storage=storage, plugins=[plugin])
    _create_and_delete(app)
    assert ("validate", "root/dev", True) in plugin.calls
    assert ("created", "root/dev", "stage", True) in plugin.calls
    # the deleted index's Stage is rebuilt from its last config
    assert ("deleted", "root/dev", "stage", "Dev") in plugin.calls


def test_deleted_mirror_index_keeps_its_type(make_app):
    plugin = NewForms()
    app = make_app(storage="sqlite", plugins=[plugin], no_root_pypi=True)
    with app.storage.write() as tx:
        stage = indexes.create_index(tx, app, "root", "cache", {"type": "mirror", "mirror_url": "http://127.0.0.1:9/"})
    with app.storage.write() as tx:
        indexes.delete_index(tx, stage)
    assert ("deleted", "root/cache", "mirror", None) in plugin.calls


def test_old_forms_still_work_and_warn_once_registered(make_app):
    plugin = OldForms()
    with pytest.warns(DeprecationWarning, match="'index' is deprecated") as caught:
        app = make_app(plugins=[plugin])
    deprecations = [w for w in caught if issubclass(w.category, DeprecationWarning)]
    assert len(deprecations) == 2  # satchel_validate_indexconfig and satchel_stage_deleted, not stage_created
    _create_and_delete(app)
    assert ("validate", "root/dev") in plugin.calls
    assert ("created", "root/dev") in plugin.calls
    assert ("deleted", "root/dev") in plugin.calls
