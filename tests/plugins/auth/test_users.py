"""Users over the REST API: create, modify, delete, list; status codes and messages as devpi."""

import pytest


def test_create_user(client):
    reply = client.put("/bob", {"password": "pw", "email": "bob@example.org", "title": "Bob"}, status=201)
    assert reply.json["type"] == "userconfig"
    result = reply.json["result"]
    assert result["username"] == "bob" and result["email"] == "bob@example.org"
    assert "pwhash" not in result and "password" not in result
    assert result["indexes"] == {}
    assert client.get("/bob").json["result"]["title"] == "Bob"


@pytest.mark.parametrize("body, message", [
    ({}, "password needs to be set"),
    ({"password": "x", "colour": "red"}, "Unknown keys in user config: colour"),
])
def test_create_user_bad_input(client, body, message):
    assert client.put("/bob", body, status=400).json["message"] == message
    client.get("/bob", status=404)


def test_create_user_bad_name_and_body(client):
    assert "contains characters" in client.put("/b~b", {"password": "x"}, status=400).json["message"]
    reply = client.web.put("/bob", b"{nope", headers=client.headers(), status=400)
    assert reply.json["message"] == "Bad request: could not decode json"


def test_create_existing_user_is_409(alice):
    assert alice.put("/alice", {"password": "x"}, status=409).json["message"] == "user already exists"


def test_modify_own_user(alice):
    reply = alice.patch("/alice", {"email": "new@example.org", "title": "A", "unknown": 1}, status=200)
    assert reply.json["message"] == "user updated"
    result = alice.get("/alice").json["result"]
    assert result["email"] == "new@example.org" and result["title"] == "A" and "modified" in result
    alice.patch("/alice", {"title": ""}, status=200)
    assert "title" not in alice.get("/alice").json["result"]


def test_password_change_returns_new_token(alice, client):
    reply = alice.patch("/alice", {"password": "better"}, status=200)
    assert reply.json["type"] == "userpassword"
    assert reply.json["message"] == "user updated, new proxy auth"
    assert reply.json["result"]["expiration"] == 36000
    client.logoff()
    client.web.post_json("/+login", {"user": "alice", "password": "secret"}, headers=client.headers(), status=401)
    client.login("alice", "better")


def test_cannot_modify_other_users(alice, client):
    client.put("/bob", {"password": "pw"}, status=201)
    reply = alice.patch("/bob", {"email": "x@example.org"}, status=403)
    assert reply.json["message"] == "no permission to modify user bob"
    client.logoff()
    client.patch("/bob", {"email": "x@example.org"}, status=403)


def test_root_may_modify_anyone(alice, client):
    client.logoff()
    client.login("root", "")
    client.patch("/alice", {"title": "set by root"}, status=200)
    assert client.get("/alice").json["result"]["title"] == "set by root"


def test_delete_user_and_indexes(alice):
    alice.put("/alice/prod", {"volatile": False}, status=200)
    reply = alice.delete("/alice", status=403)
    assert reply.json["message"] == "user 'alice' has non-volatile index: prod"
    alice.patch("/alice/prod", ["volatile=True"], status=200)
    assert alice.delete("/alice", status=200).json["message"] == "user 'alice' deleted"
    alice.get("/alice", status=404)
    alice.get("/alice/dev", status=404)


def test_anonymous_cannot_delete_and_root_cannot_be_deleted(client):
    client.put("/bob", {"password": "pw"}, status=201)
    client.delete("/bob", status=403)
    client.login("root", "")
    client.delete("/root", status=403)
    client.delete("/bob", status=200)


def test_list_users(alice):
    result = alice.get("/").json
    assert result["type"] == "list:userconfig"
    assert set(result["result"]) == {"root", "alice"}
    assert result["result"]["alice"]["indexes"]["dev"]["type"] == "stage"
