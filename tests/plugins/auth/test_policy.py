"""devpi's permission rules, with and without --restrict-modify."""

import pytest

from satchel.identity import ANONYMOUS, Identity
from satchel_auth.permissions import Policy


class FakeStage:
    username = "alice"

    def __init__(self, **config):
        self.config = {"acl_upload": ["alice"], "acl_toxresult_upload": [":ANONYMOUS:"], **config}


ALICE, BOB, ROOT = Identity("alice"), Identity("bob"), Identity("root")
ADMIN_GROUP = Identity("carol", ("admins",))


@pytest.mark.parametrize("identity, permission, context, expected", [
    (ANONYMOUS, "pkg_read", FakeStage(), True),
    (ANONYMOUS, "user_create", "bob", True),
    (ANONYMOUS, "upload", FakeStage(), False),
    (ALICE, "upload", FakeStage(), True),
    (ROOT, "upload", FakeStage(), False),  # root is not implied
    (BOB, "upload", FakeStage(acl_upload=[":AUTHENTICATED:"]), True),
    (ANONYMOUS, "upload", FakeStage(acl_upload=[":ANONYMOUS:"]), True),
    (ADMIN_GROUP, "upload", FakeStage(acl_upload=[":admins"]), True),
    (ANONYMOUS, "toxresult_upload", FakeStage(), True),
    (ROOT, "index_modify", FakeStage(), True),
    (ALICE, "index_delete", FakeStage(), True),
    (BOB, "index_modify", FakeStage(), False),
    (ROOT, "del_project", FakeStage(), True),
    (BOB, "del_entry", FakeStage(acl_upload=["bob"]), True),
    (BOB, "del_verdata", FakeStage(), False),
    (ALICE, "user_modify", "alice", True),
    (BOB, "user_modify", "alice", False),
    (ROOT, "user_delete", "root", False),
    (ALICE, "index_create", "alice", True),
    (ALICE, "index_create", "bob", False),
])
def test_default_policy(identity, permission, context, expected):
    assert Policy().permits(identity, permission, context) is expected


@pytest.mark.parametrize("identity, permission, context, expected", [
    (ANONYMOUS, "user_create", "bob", False),
    (ROOT, "user_create", "bob", True),
    (ADMIN_GROUP, "index_create", "dave", True),
    (ALICE, "index_create", "alice", False),
    (ALICE, "user_modify_password", "alice", True),
    (ALICE, "user_modify", "alice", False),
    (ADMIN_GROUP, "user_delete", "carol", False),
    (ALICE, "index_modify", FakeStage(), False),
    (ROOT, "index_modify", FakeStage(), True),
    (ALICE, "del_project", FakeStage(), True),  # in acl_upload
])
def test_restrict_modify(identity, permission, context, expected):
    assert Policy({"root", ":admins"}).permits(identity, permission, context) is expected


def test_unknown_permission_has_no_opinion():
    assert Policy().permits(ALICE, "hello_admin", None) is None
