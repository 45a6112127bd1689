"""Login, tokens and credentials: X-Devpi-Auth before Basic, bad credentials mean anonymous."""

import base64

import pytest

from satchel_auth.tokens import TOKEN_LIFETIME


def basic(user, secret):
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


def devpi_auth(user, secret):
    return base64.b64encode(f"{user}:{secret}".encode()).decode()


def test_login_reply(client):
    client.put("/alice", {"password": "secret"}, status=201)
    reply = client.web.post_json("/+login", {"user": "alice", "password": "secret"}, headers=client.headers())
    assert reply.json["type"] == "proxyauth"
    assert reply.json["message"] == "login successful"
    assert reply.json["result"]["expiration"] == 36000
    assert reply.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize("body, status, message", [
    ({"user": "alice", "password": "wrong"}, 401, "user 'alice' could not be authenticated"),
    ({"user": "nobody", "password": "x"}, 401, "user 'nobody' could not be authenticated"),
    ({"user": "alice"}, 400, "Bad request: no user/password specified"),
])
def test_login_failures(client, body, status, message):
    client.put("/alice", {"password": "secret"}, status=201)
    reply = client.web.post_json("/+login", body, headers=client.headers(), status=status)
    assert reply.json["message"] == message


def test_login_html_only_is_404(client):
    client.web.post("/+login", "{}", headers={"Accept": "text/html"}, status=404)


def authstatus(client, headers):
    return client.web.get("/+api", headers={"Accept": "application/json", **headers}).json["result"]["authstatus"]


def test_credential_sources(client):
    client.put("/alice", {"password": "secret"}, status=201)
    token = client.login("alice", "secret")
    client.logoff()
    ok = ["ok", "alice", []]
    assert authstatus(client, {"X-Devpi-Auth": devpi_auth("alice", token)}) == ok
    assert authstatus(client, {"X-Devpi-Auth": devpi_auth("alice", "secret")}) == ok
    assert authstatus(client, {"Authorization": basic("alice", "secret")}) == ok
    assert authstatus(client, {"Authorization": basic("alice", token)}) == ok
    noauth = ["noauth", "", []]
    assert authstatus(client, {"Authorization": basic("alice", "wrong")}) == noauth
    assert authstatus(client, {"Authorization": basic("bob", token)}) == noauth  # token of another user
    assert authstatus(client, {"X-Devpi-Auth": "!!!not base64"}) == noauth
    # X-Devpi-Auth wins even when it is invalid
    assert authstatus(client, {"X-Devpi-Auth": devpi_auth("alice", "wrong"),
                               "Authorization": basic("alice", "secret")}) == noauth


def test_tampered_and_expired_tokens(client, fake_clock):
    client.put("/alice", {"password": "secret"}, status=201)
    token = client.login("alice", "secret")
    client.logoff()
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert authstatus(client, {"X-Devpi-Auth": devpi_auth("alice", tampered)})[0] == "noauth"
    fake_clock.advance(TOKEN_LIFETIME)
    assert authstatus(client, {"X-Devpi-Auth": devpi_auth("alice", token)})[0] == "ok"  # at the end of its life
    fake_clock.advance(1)
    assert authstatus(client, {"X-Devpi-Auth": devpi_auth("alice", token)})[0] == "noauth"


def test_password_cache_follows_password_changes(client):
    client.put("/alice", {"password": "secret"}, status=201)
    headers = {"Authorization": basic("alice", "secret")}
    assert authstatus(client, headers)[0] == "ok"
    client.login("alice", "secret")
    client.patch("/alice", {"password": "other"}, status=200)
    assert authstatus(client, headers)[0] == "noauth"


def test_replica_name_cannot_log_in(client):
    client.web.post_json("/+login", {"user": "+replica", "password": ""}, headers=client.headers(), status=401)
