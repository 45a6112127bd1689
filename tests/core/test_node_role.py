"""The node role hook, and the replica's storage that refuses local commits (in-process)."""

import logging

import pytest
from webtest import TestApp

from satchel.errors import ConfigError
from satchel.node import LocalCommitRefused, NodeRole
from satchel.plugin import hookimpl

JSON = {"Accept": "application/json", "Content-Type": "application/json"}


class Role:
    """A plugin answering ``satchel_get_node_role`` with a fixed answer."""

    def __init__(self, answer):
        self.answer = answer

    @hookimpl
    def satchel_get_node_role(self, app):
        return self.answer


def replica(make_app):
    # the replica plugin is disabled: this is core's guard alone, with nothing relaying writes
    return make_app(storage="sqlite", plugins=[Role(NodeRole("replica", "http://127.0.0.1:9/"))],
                    disable_plugins=["replica"])


def test_default_role_is_standalone(make_app):
    app = make_app(disable_plugins=["replica"], no_root_pypi=True)
    assert app.node_role == NodeRole("standalone") and not app.node_role.is_replica
    assert TestApp(app.wsgi).get("/+status", headers=JSON).json["result"]["role"] == "STANDALONE"


def test_role_is_read_only_on_the_app(make_app):
    app = make_app(no_root_pypi=True)
    with pytest.raises(AttributeError):
        app.node_role = NodeRole("primary")


@pytest.mark.parametrize("answer, message", [
    ("replica", "not a satchel.node.NodeRole"),
])
def test_a_bad_answer_stops_the_app(make_app, answer, message):
    with pytest.raises(ConfigError, match=message):
        make_app(plugins=[Role(answer)], disable_plugins=["replica"])


@pytest.mark.parametrize("role, url, message", [
    ("replica", None, "only a replica, has a primary URL"),
    ("primary", "http://p", "only a replica, has a primary URL"),
    ("mirror", None, "unknown node role 'mirror'"),
])
def test_node_role_values_are_checked(role, url, message):
    with pytest.raises(ConfigError, match=message):
        NodeRole(role, url)


def test_replica_is_not_initialized_locally_and_keeps_its_primary_url(make_app):
    app = replica(make_app)
    assert app.node_role.primary_url == "http://127.0.0.1:9"
    assert app.storage.last_serial() == -1  # no root: its data comes from the primary


def test_replica_refuses_a_local_commit_loudly(make_app, caplog):
    app = replica(make_app)
    app.storage.import_changes(0, {"users/root": [-1, {"username": "root"}]})  # replication passes
    with app.storage.write() as tx:
        assert tx.get("users/root") == {"username": "root"}  # a write that changes nothing passes
    with caplog.at_level(logging.ERROR, logger="satchel.node"):
        with pytest.raises(LocalCommitRefused, match="does not commit changes of its own"):
            with app.storage.write() as tx:
                tx.set("users/mallory", {"username": "mallory"})
    assert app.storage.last_serial() == 0
    with app.storage.read() as tx:
        assert tx.get("users/mallory") is None
    assert any("refused a local commit of users/mallory" in record.getMessage() for record in caplog.records)
    status = TestApp(app.wsgi).get("/+status", headers=JSON).json["result"]
    assert status["role"] == "REPLICA"
    assert status["replica-refused-commits"] == 1
    assert "users/mallory" in status["replica-refused-commits-recent"][0]


def test_a_write_request_reaching_a_replica_is_refused_not_committed(make_app):
    app = replica(make_app)
    app.storage.import_changes(0, {"users/root": [-1, {"username": "root"}]})
    response = TestApp(app.wsgi).put_json("/bob", {"password": "pw"}, headers=JSON, status=500)
    assert "does not commit changes of its own" in response.json["message"]
    assert app.storage.last_serial() == 0
