"""Model rules: names, index types from plugins, resolution order, mirror shadowing, events."""

import pytest

from satchel.errors import BadRequest, Conflict, InvalidName, NotFound
from satchel.model import indexes, keys, projects
from satchel.model.indexes import IndexType, Stage
from satchel.names import check_indexname, check_username, normalize_project
from satchel.plugin import hookimpl
from satchel.testing.recorder import EventRecorder


class FakeMirrorStage(Stage):
    """A mirror keeping each upstream page whole in its project record, as the mirror plugin will."""

    def get_project(self, tx, project):
        return tx.get(keys.project(self.name, project))


class MirrorTypePlugin:
    """Registers a ``mirror`` type the way the mirror plugin will (tests only)."""

    @hookimpl
    def satchel_index_types(self, index_types):
        index_types.add("fakemirror", IndexType("fakemirror", FakeMirrorStage, defaults={"mirror_url": ""},
                                            is_mirror=True))


@pytest.fixture(params=["memory", "sqlite"])
def world(request, make_app):
    recorder = EventRecorder()
    app = make_app(storage=request.param, plugins=[MirrorTypePlugin(), recorder])
    from satchel.testing.fixtures import Filler

    filler = Filler(app)
    filler.user("alice")
    filler.user("root2")
    return app, filler, recorder


@pytest.mark.parametrize("name", ["alice", "a.b-c_d@e", "ümlaut"])
def test_valid_names(name):
    assert check_username(name) == name and check_indexname(name) == name


@pytest.mark.parametrize("name", ["", "a b", "a/b", "a+b", "a:b", "a~b", "a\x01"])
def test_invalid_names(name):
    with pytest.raises(InvalidName, match="contains characters that aren't allowed"):
        check_username(name)


def test_normalize_project():
    assert normalize_project("Hello_Pkg") == "hello-pkg"
    assert normalize_project("a.b--C") == "a-b-c"


def test_index_types_come_from_plugins(make_app):
    app = make_app(disable_plugins=["private"])
    assert "stage" not in app.index_types
    with app.storage.write() as tx:
        with pytest.raises(BadRequest, match="no index type given"):
            indexes.create_index(tx, app, "root", "dev", {})


def test_create_index_errors(world):
    app, filler, _ = world
    filler.index("alice", "dev")
    with app.storage.write() as tx:
        with pytest.raises(Conflict, match="index 'alice/dev' exists"):
            indexes.create_index(tx, app, "alice", "dev", {})
        with pytest.raises(NotFound, match="user 'bob' does not exist"):
            indexes.create_index(tx, app, "bob", "dev", {})
        with pytest.raises(BadRequest, match="unknown index type 'weird'"):
            indexes.create_index(tx, app, "alice", "x", {"type": "weird"})
        with pytest.raises(BadRequest, match="base index 'alice/none' does not exist"):
            indexes.create_index(tx, app, "alice", "x", {"bases": ["alice/none"]})
        with pytest.raises(BadRequest, match="unexpected keyword arguments: colour=blue"):
            indexes.create_index(tx, app, "alice", "x", {"colour": "blue"})
        with pytest.raises(BadRequest, match="Unknown boolean value"):
            indexes.create_index(tx, app, "alice", "x", {"volatile": "perhaps"})
    with app.storage.read() as tx:
        assert indexes.get_stage(tx, app, "alice", "x") is None


def _stage(app, name):
    with app.storage.read() as tx:
        return indexes.get_stage(tx, app, *name.split("/"))


def _set_bases(app, name, bases):
    with app.storage.write() as tx:
        key = keys.index(*name.split("/"))
        tx.set(key, {**tx.get(key), "bases": bases})


def test_resolution_order_breadth_first_mirrors_last_cycles(world):
    app, filler, _ = world
    filler.index("root2", "mirror", type="fakemirror")
    filler.index("alice", "a")
    filler.index("alice", "b", bases=["root2/mirror", "alice/a"])
    filler.index("alice", "c")
    filler.index("alice", "top", bases=["alice/b", "alice/c"])
    _set_bases(app, "alice/a", ["alice/top", "alice/gone"])  # a cycle and a missing base
    with app.storage.read() as tx:
        order = indexes.resolution_order(tx, app, _stage(app, "alice/top"))
    assert [s.name for s in order] == ["alice/top", "alice/b", "alice/c", "alice/a", "root2/mirror"]


def _mirror_has(app, project, filename):
    with app.storage.write() as tx:
        tx.set(keys.project("root2/mirror", project), {
            "name": project, "versions": ["1.0"],
            "files": [{"filename": filename, "path": f"root2/mirror/+f/000/0000000000000/{filename}",
                       "hashes": {}, "version": "1.0"}]})


@pytest.mark.parametrize("whitelist, shadowed", [([], True), (["hello-pkg"], False), (["*"], False)])
def test_private_project_shadows_mirror(world, whitelist, shadowed):
    app, filler, _ = world
    filler.index("root2", "mirror", type="fakemirror")
    filler.index("alice", "dev", bases=["root2/mirror"], mirror_whitelist=whitelist)
    filler.file("alice/dev", "hello-pkg", "2.0")
    _mirror_has(app, "hello-pkg", "hello_pkg-1.0.tar.gz")
    _mirror_has(app, "other", "other-1.0.tar.gz")
    with app.storage.read() as tx:
        links, _, _ = projects.merged_links(tx, app, _stage(app, "alice/dev"), "hello-pkg")
        other, _, _ = projects.merged_links(tx, app, _stage(app, "alice/dev"), "other")
    origins = [origin for origin, _ in links]
    assert ("root2/mirror" not in origins) is shadowed
    assert [origin for origin, _ in other] == ["root2/mirror"]


def test_whitelist_inheritance_intersection_and_union(world):
    app, filler, _ = world
    filler.index("root2", "mirror", type="fakemirror")
    filler.index("alice", "base", bases=["root2/mirror"], mirror_whitelist=["hello-pkg"])
    filler.index("alice", "inter", bases=["alice/base"])
    filler.index("alice", "union", bases=["alice/base"], mirror_whitelist_inheritance="union")
    filler.file("alice/base", "hello-pkg", "2.0")
    _mirror_has(app, "hello-pkg", "hello_pkg-1.0.tar.gz")
    with app.storage.read() as tx:
        inter, _, _ = projects.merged_links(tx, app, _stage(app, "alice/inter"), "hello-pkg")
        union, _, _ = projects.merged_links(tx, app, _stage(app, "alice/union"), "hello-pkg")
    assert "root2/mirror" not in [origin for origin, _ in inter]
    assert "root2/mirror" in [origin for origin, _ in union]


def test_lifecycle_hooks_fire_after_commit_in_order(world):
    app, filler, recorder = world
    recorder.calls.clear()
    filler.index("alice", "dev")
    filler.file("alice/dev", "hello-pkg", "1.0")
    names = [call[0] for call in recorder.calls]
    assert names == ["commit", "stage_created", "commit", "on_upload", "versiondata"]
    assert ("stage_created", "alice/dev", "stage") in recorder.calls
    assert ("on_upload", "alice/dev", "hello-pkg", "1.0", "hello_pkg-1.0-py3-none-any.whl") in recorder.calls


def test_rolled_back_write_fires_nothing(world):
    app, filler, recorder = world
    recorder.calls.clear()
    with pytest.raises(RuntimeError):
        with app.storage.write() as tx:
            indexes.create_index(tx, app, "alice", "dev", {})
            raise RuntimeError("abort")
    assert recorder.calls == []
    with app.storage.read() as tx:
        assert indexes.get_stage(tx, app, "alice", "dev") is None


def test_user_created_event(world):
    app, filler, recorder = world
    filler.user("carol")
    assert ("user_created", "carol") in recorder.calls


def test_event_cursor_survives_restart(make_app, tmp_path):
    serverdir = str(tmp_path / "persist")
    app = make_app(storage="sqlite", serverdir=serverdir)
    serial = app.storage.last_serial()
    assert app.events.cursor == serial
    app.close()
    recorder = EventRecorder()
    again = make_app(storage="sqlite", serverdir=serverdir, plugins=[recorder])
    again.start()
    try:
        assert recorder.calls == []  # nothing is dispatched twice
    finally:
        again.close()


def test_tox_result_keeps_a_given_name_only_of_the_right_form(world):
    from satchel.model import attachments

    app, filler, _ = world
    filler.index("alice", "dev")
    release = filler.file("alice/dev", "hello-pkg", "1.0")
    blob = app.storage.blobs.put_bytes(b'{"reportversion": "1"}')
    name = release["filename"] + ".toxresult-20240101120000-0"
    with app.storage.write() as tx:
        stage = indexes.get_stage(tx, app, "alice", "dev")
        for bad in ("other-1.0.tar.gz.toxresult-1", release["filename"] + ".toxresult-",
                    release["filename"] + ".toxresult-1/../../x"):
            with pytest.raises(BadRequest):
                attachments.store_toxresult(tx, stage, release["path"], blob, filename=bad)
        link = attachments.store_toxresult(tx, stage, release["path"], blob, filename=name)
        generated = attachments.store_toxresult(tx, stage, release["path"], blob)
    assert link["path"] == release["path"].rsplit("/", 1)[0] + "/" + name
    assert link["for_path"] == release["path"]
    assert generated["filename"].startswith(release["filename"] + ".toxresult-")
    assert generated["filename"].endswith("-1")  # counts the earlier result
    with app.storage.read() as tx:
        assert [a["filename"] for a in attachments.list_attachments(tx, stage, "hello-pkg", "1.0")] \
            == sorted([name, generated["filename"]])


def test_project_record_does_not_grow_with_its_versions(world):
    """Uploads rewrite the project record; a version list in it made big projects slower and slower."""
    app, filler, _ = world
    filler.index("alice", "dev")
    filler.file("alice/dev", "hello-pkg", "1.0")
    with app.storage.read() as tx:
        small = tx.get(keys.project("alice/dev", "hello-pkg"))
    for number in range(1, 40):
        filler.file("alice/dev", "hello-pkg", f"1.{number}")
    with app.storage.read() as tx:
        assert tx.get(keys.project("alice/dev", "hello-pkg")) == small
        stage = indexes.get_stage(tx, app, "alice", "dev")
        versions = stage.get_project(tx, "hello-pkg")["versions"]
    assert versions == ["1.0"] + [f"1.{number}" for number in range(1, 40)]  # PEP 440 order: 1.2 < 1.10


def test_records_with_a_version_list_from_earlier_versions_still_work(world):
    app, filler, _ = world
    filler.index("alice", "dev")
    filler.file("alice/dev", "hello-pkg", "1.0")
    filler.file("alice/dev", "hello-pkg", "2.0")
    with app.storage.write() as tx:  # as satchel 0.1 wrote it, including a version since removed elsewhere
        tx.set(keys.project("alice/dev", "hello-pkg"), {"name": "hello-pkg", "versions": ["1.0", "2.0", "0.9"]})
    with app.storage.read() as tx:
        stage = indexes.get_stage(tx, app, "alice", "dev")
        assert stage.get_project(tx, "hello-pkg")["versions"] == ["1.0", "2.0"]
    filler.file("alice/dev", "hello-pkg", "3.0")
    with app.storage.write() as tx:
        assert "versions" not in tx.get(keys.project("alice/dev", "hello-pkg"))
        from satchel.model.removal import remove_version
        assert remove_version(tx, stage, "hello-pkg", "1.0")
        assert not remove_version(tx, stage, "hello-pkg", "0.9")
    with app.storage.read() as tx:
        assert stage.get_project(tx, "hello-pkg")["versions"] == ["2.0", "3.0"]
