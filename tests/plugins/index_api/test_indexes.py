"""Index configuration over the REST API: create, modify (dict and devpi's list operations), delete."""

import pytest

from satchel.testing.client import DevpiClient


def test_create_defaults(alice):
    result = alice.get("/alice/dev").json["result"]
    assert result["type"] == "stage"
    assert result["bases"] == [] and result["volatile"] is True
    assert result["acl_upload"] == ["alice"]
    assert result["acl_toxresult_upload"] == [":ANONYMOUS:"]
    assert result["mirror_whitelist"] == [] and result["mirror_whitelist_inheritance"] == "intersection"


def test_create_with_devpi_client_strings(alice):
    reply = alice.put("/alice/prod", {"bases": "alice/dev", "volatile": "False",
                                      "acl_upload": "alice,:authenticated:", "mirror_whitelist": "Hello_Pkg,*"},
                      status=200)
    result = reply.json["result"]
    assert reply.json["type"] == "indexconfig"
    assert result["bases"] == ["alice/dev"] and result["volatile"] is False
    assert result["acl_upload"] == ["alice", ":AUTHENTICATED:"]
    assert result["mirror_whitelist"] == ["hello-pkg", "*"]


@pytest.mark.parametrize("body, message", [
    ({"bases": ["alice/nope"]}, "base index 'alice/nope' does not exist"),
    ({"bases": ["nope"]}, "invalid base index spec: 'nope'"),
    ({"type": "weird"}, "unknown index type 'weird'"),
    ({"volatile": "perhaps"}, "Unknown boolean value 'perhaps'."),
    ({"colour": "blue"}, "indexconfig got unexpected keyword arguments: colour=blue"),
    ({"mirror_whitelist_inheritance": "both"}, "mirror_whitelist_inheritance must be"),
])
def test_create_bad_config(alice, body, message):
    assert message in alice.put("/alice/prod", body, status=400).json["message"]
    alice.get("/alice/prod", status=404)


def test_create_bad_names_and_bodies(alice):
    assert "contains characters" in alice.put("/alice/pr~d", {}, status=400).json["message"]
    reply = alice.web.put("/alice/prod", b"", headers=alice.headers(), status=400)
    assert reply.json["message"] == "Bad request: could not decode json"
    alice.put("/alice/prod", ["a"], status=400)


def test_create_conflicts_and_permissions(alice, client):
    assert alice.put("/alice/dev", {}, status=409).json["message"] == "index 'alice/dev' exists"
    client.put("/bob", {"password": "pw"}, status=201)
    assert alice.put("/bob/dev", {}, status=403).json["message"] == "no permission to create index bob/dev"
    alice.logoff()
    alice.put("/alice/other", {}, status=403)


def test_create_under_missing_user_is_404_before_permission(alice, client):
    """As devpi: a user that does not exist (or was deleted) is 404 for anyone, not 403."""
    reply = alice.put("/nobody/dev", {}, status=404)
    assert reply.json["message"] == "user 'nobody' does not exist"
    client.put("/bob", {"password": "pw"}, status=201)
    client.login("bob", "pw")
    client.delete("/bob", status=200)
    client.login("alice", "secret")
    assert alice.put("/bob/dev", {}, status=404).json["message"] == "user 'bob' does not exist"
    alice.logoff()
    alice.put("/nobody/dev", {}, status=404)
    client.get("/bob/dev", status=404)


def test_patch_dict_and_envelope(alice):
    alice.put("/alice/prod", {}, status=200)
    result = alice.patch("/alice/prod", {"bases": ["alice/dev"], "title": "Prod"}, status=200).json["result"]
    assert result["bases"] == ["alice/dev"] and result["title"] == "Prod"
    envelope = {"type": "indexconfig", "result": {**result, "description": "d"}}
    assert alice.patch("/alice/prod", envelope, status=200).json["result"]["description"] == "d"


def test_patch_list_operations(alice):
    alice.put("/alice/prod", {}, status=200)
    result = alice.patch("/alice/prod", ["bases=alice/dev", "acl_upload+=bob", "volatile=False"]).json["result"]
    assert result["bases"] == ["alice/dev"] and result["acl_upload"] == ["alice", "bob"]
    assert result["volatile"] is False
    result = alice.patch("/alice/prod", ["acl_upload-=bob", "bases="]).json["result"]
    assert result["acl_upload"] == ["alice"] and result["bases"] == []
    message = alice.patch("/alice/prod", ["acl_upload-=carol"], status=400).json["message"]
    assert message == "The 'acl_upload' setting doesn't have value 'carol'"
    assert alice.patch("/alice/prod", ["volatile-="], status=400).json["message"] == "Default values can't be removed."
    alice.patch("/alice/prod", ["title=T"], status=200)
    assert "title" not in alice.patch("/alice/prod", ["title-="], status=200).json["result"]
    message = alice.patch("/alice/prod", ["foo=bar"], status=400).json["message"]
    assert message == "indexconfig got unexpected keyword arguments: foo=bar"


def test_patch_refuses_cycles_and_type_change(alice):
    alice.put("/alice/prod", {"bases": ["alice/dev"]}, status=200)
    message = alice.patch("/alice/dev", ["bases=alice/prod"], status=400).json["message"]
    assert "cycle" in message
    assert alice.get("/alice/dev").json["result"]["bases"] == []
    message = alice.patch("/alice/dev", {"type": "mirror"}, status=400).json["message"]
    assert "unknown index type" in message or "can't be changed" in message


def test_patch_error_on_noop(alice):
    alice.patch("/alice/dev?error_on_noop", ["acl_upload=alice"], status=400)
    alice.patch("/alice/dev?error_on_noop", ["acl_upload=alice,bob"], status=200)


def test_patch_permissions(alice, client):
    alice.logoff()
    alice.patch("/alice/dev", ["title=x"], status=403)
    client.put("/bob", {"password": "pw"}, status=201)
    client.login("bob", "pw")
    client.patch("/alice/dev", ["title=x"], status=403)
    client.logoff()
    client.login("root", "")
    client.patch("/alice/dev", ["title=by root"], status=200)


def test_delete_index(alice):
    alice.put("/alice/prod", {"volatile": False}, status=200)
    assert alice.delete("/alice/prod", status=403).json["message"] == "index alice/prod non-volatile, cannot delete"
    reply = alice.delete("/alice/dev", status=201)
    assert reply.json["message"] == "index alice/dev deleted"
    alice.get("/alice/dev", status=404)


def test_features_advertise_keyvalue_parsing(client):
    assert "server-keyvalue-parsing" in client.get("/+api").json["result"]["features"]


def test_restrict_modify(make_app):
    client = DevpiClient(make_app(restrict_modify="root,:admins"))
    client.put("/bob", {"password": "pw"}, status=403)
    client.login("root", "")
    client.put("/bob", {"password": "pw"}, status=201)
    client.put("/bob/dev", {}, status=200)
    client.logoff()
    client.login("bob", "pw")
    client.put("/bob/other", {}, status=403)
    client.patch("/bob/dev", ["title=x"], status=403)
    client.patch("/bob", {"email": "b@example.org"}, status=403)
    client.patch("/bob", {"password": "new"}, status=200)  # own password stays allowed
