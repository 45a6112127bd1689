"""Lifecycle hooks fire on a replica from the imported changelog, exactly as on the primary."""

from satchel.testing.fixtures import Filler
from satchel.testing.recorder import EventRecorder


def test_replica_events_equal_primary_events(make_app):
    on_primary, on_replica = EventRecorder(), EventRecorder()
    primary = make_app(storage="sqlite", plugins=[on_primary])
    filler = Filler(primary)
    filler.user("alice")
    filler.index("alice", "dev")
    filler.file("alice/dev", "hello-pkg", "1.0")
    replica = make_app(storage="sqlite", plugins=[on_replica], no_root_pypi=True, primary_url="http://127.0.0.1:9")
    assert replica.storage.last_serial() == -1  # a replica creates nothing itself
    for serial, changes in primary.storage.changes_since(-1):
        replica.storage.import_changes(serial, changes)
    assert on_replica.calls == on_primary.calls
    assert ("on_upload", "alice/dev", "hello-pkg", "1.0", "hello_pkg-1.0-py3-none-any.whl") in on_replica.calls
