"""API tokens (devpi-tokens' wire format) at WSGI level: create, list, delete, restrictions, derived tokens."""

import base64
import json

import pymacaroons
import pytest
from webtest import TestApp

from satchel.model import keys
from satchel.testing.fixtures import Filler, make_wheel

JSON = {"Accept": "application/json", "Content-Type": "application/json"}


def basic(user, secret="pw"):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()}


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(params=["sqlite", "postgresql"])
def world(request, make_app, fake_clock):
    app = make_app(storage=request.param)
    filler = Filler(app)
    filler.user("alice")
    filler.user("bob")
    filler.index("alice", "dev")
    filler.index("alice", "other")
    filler.index("alice", "secret", acl_read="alice")
    web = TestApp(app.wsgi)
    web.app_, web.clock = app, fake_clock
    return web


def create(web, body=None, user="alice", auth=None, status=200):
    response = web.post(f"/{user}/+token-create", json.dumps(body or {}), headers={**JSON, **(auth or basic(user))},
                        status=status)
    return response.json["result"]["token"] if status == 200 else response


def upload(web, index, headers, name="hello-pkg", version="1.0", status="*"):
    filename, content = make_wheel(name, version)
    return web.post(f"/{index}/", params=[(":action", "file_upload"), ("name", name), ("version", version)],
                    upload_files=[("content", filename, content)], headers=headers, status=status)


def authstatus(web, headers):
    return web.get("/+api", headers={**JSON, **headers}).json["result"]["authstatus"]


def test_token_format_and_listing(world):
    token = create(world, {"allowed": ["upload"], "indexes": ["alice/dev"]})
    assert token.startswith("devpi-")
    macaroon = pymacaroons.Macaroon.deserialize(token[6:])
    assert macaroon.version == pymacaroons.MACAROON_V2
    user, token_id = macaroon.identifier.decode().rsplit("-", 1)
    caveats = [c.caveat_id.decode() for c in macaroon.caveats]
    assert user == "alice" and "allowed=upload" in caveats and "indexes=alice/dev" in caveats
    expires = int(next(c for c in caveats if c.startswith("expires="))[8:])
    assert 365 * 86400 < expires - world.clock.time() <= 366 * 86400 + 10
    listed = world.get("/alice/+tokens", headers={**JSON, **basic("alice")}).json
    assert listed["type"] == "tokens-info"
    assert sorted(listed["result"]["tokens"][token_id]["restrictions"]) == sorted(caveats)
    # only a derived hash of the key material is kept: no salt on the wire, no key anywhere in the record
    with world.app_.storage.read() as tx:
        stored = tx.get(keys.user("alice"))["tokens"][token_id]
    assert "salt" not in json.dumps(listed) and token not in json.dumps(stored) and "key" not in stored
    assert "tokens" not in world.get("/alice", headers=JSON).json["result"]


@pytest.mark.parametrize("headers", [
    lambda t: basic("alice", t), lambda t: basic("__token__", t), lambda t: basic("", t),
    lambda t: bearer(t), lambda t: {"X-Devpi-Auth": base64.b64encode(f"alice:{t}".encode()).decode()},
])
def test_accepted_credential_forms(world, headers):
    token = create(world)
    assert authstatus(world, headers(token)) == ["ok", "alice", []]


def test_token_of_another_user_name_is_refused(world):
    token = create(world)
    response = world.get("/+api", headers={**JSON, **basic("bob", token)}, status=403)
    assert response.json["message"] == "Token doesn't match user name"


def test_restrictions_index_permission_project(world):
    token = create(world, {"allowed": ["upload"], "indexes": ["alice/dev"], "projects": ["hello-pkg"]})
    assert upload(world, "alice/dev", basic("__token__", token)).status_int == 200
    refused = upload(world, "alice/other", basic("__token__", token), status=403)
    assert "Token denied access to index 'alice/other'" in refused.text
    refused = upload(world, "alice/dev", basic("__token__", token), name="other-pkg", status=403)
    assert "Token denied access to project 'other-pkg'" in refused.text
    # upload only: no reading, not even of an open index
    refused = world.get("/alice/dev/+simple/hello-pkg/", headers=bearer(token), status=403)
    assert "pkg_read" in refused.json["message"]


def test_upload_only_token_cannot_read_restricted_index(world):
    token = create(world, {"allowed": ["upload"]})
    world.get("/alice/secret/+simple/", headers=basic("alice"), status=200)
    world.get("/alice/secret/+simple/", headers=bearer(token), status=403)
    reader = create(world, {"allowed": ["pkg_read"]})
    world.get("/alice/secret/+simple/", headers=bearer(reader), status=200)
    assert upload(world, "alice/dev", bearer(reader)).status_int in (401, 403)


def test_expiry_and_not_before(world):
    token = create(world, {"expires": int(world.clock.time()) + 60})
    authstatus(world, bearer(token))
    world.clock.advance(61)
    response = world.get("/+api", headers={**JSON, **bearer(token)}, status=403)
    assert response.json["message"].startswith("Token expired at")
    later = create(world, {"not_before": int(world.clock.time()) + 100})
    assert world.get("/+api", headers={**JSON, **bearer(later)}, status=403).json["message"].startswith(
        "Token not valid before")


def test_lifetime_rules(world):
    now = int(world.clock.time())
    assert "no expiration" in create(world, {"expires": "never"}, status=403).json["message"]
    assert "more than one year" in create(world, {"expires": now + 400 * 86400}, status=403).json["message"]
    assert "before current time" in create(world, {"expires": now - 1}, status=400).json["message"]
    assert create(world, {"bogus": 1}, status=400).json["message"] == "Unknown restriction 'bogus'."
    assert create(world, {"allowed": "upload"}, status=400).json["message"]
    never = create(world, {"expires": "never"}, user="root", auth=basic("root", ""))
    assert authstatus(world, bearer(never)) == ["ok", "root", []]


def test_delete_and_only_owner_manages(world):
    token = create(world)
    token_id = pymacaroons.Macaroon.deserialize(token[6:]).identifier.decode().rsplit("-", 1)[1]
    world.get("/alice/+tokens", headers={**JSON, **basic("bob")}, status=403)
    world.delete(f"/alice/+tokens/{token_id}", headers={**JSON, **basic("bob")}, status=403)
    reply = world.delete(f"/alice/+tokens/{token_id}", headers={**JSON, **basic("alice")})
    assert reply.json["message"] == f"token {token_id} deleted"
    response = world.get("/+api", headers={**JSON, **bearer(token)}, status=403)
    assert response.json["message"] == f"The token id {token_id} doesn't exist"
    world.delete(f"/alice/+tokens/{token_id}", headers={**JSON, **basic("alice")}, status=404)
    root_token = create(world, user="alice", auth=basic("root", ""))  # root manages every user's tokens
    assert authstatus(world, bearer(root_token))[1] == "alice"


def test_token_never_modifies_its_user(world):
    token = create(world)
    response = create(world, auth=basic("alice", token), status=403)
    assert "cannot manage tokens" in response.json["message"]
    world.patch_json("/alice", {"password": "new"}, headers={**JSON, **bearer(token)}, status=403)
    world.get("/alice/+tokens", headers={**JSON, **bearer(token)}, status=403)
    authstatus(world, basic("alice"))  # the password still works


def test_derived_token_is_narrower(world):
    token = create(world, {"allowed": ["upload", "pkg_read"]})
    macaroon = pymacaroons.Macaroon.deserialize(token[6:])
    macaroon.add_first_party_caveat("projects=hello-pkg")
    derived = macaroon.serialize()  # as `devpi token-derive` writes it: no prefix
    assert upload(world, "alice/dev", bearer(derived)).status_int == 200
    assert "Token denied access to project 'other-pkg'" in upload(
        world, "alice/dev", bearer(derived), name="other-pkg", status=403).text
    # PyPI's JSON caveats narrow too
    pypi = pymacaroons.Macaroon.deserialize(token[6:])
    pypi.add_first_party_caveat(json.dumps({"version": 1, "permissions": {"projects": ["other-pkg"]}}))
    assert upload(world, "alice/dev", basic("__token__", pypi.serialize()), status=403).status_int == 403
    expired = pymacaroons.Macaroon.deserialize(token[6:])
    now = int(world.clock.time())
    expired.add_first_party_caveat(json.dumps({"nbf": now - 10, "exp": now - 1}))
    assert "expired" in world.get("/+api", headers={**JSON, **bearer(expired.serialize())}, status=403).text
    # a caveat cannot be taken away: a tampered signature is refused
    tampered = pymacaroons.Macaroon(identifier=macaroon.identifier, key=b"guess" * 8,
                                    version=pymacaroons.MACAROON_V2)
    refused = world.get("/+api", headers={**JSON, **bearer(tampered.serialize())}, status=403)
    assert refused.json["message"] == "Token signature is invalid"
    unknown = pymacaroons.Macaroon.deserialize(token[6:])
    unknown.add_first_party_caveat("frobnicate=1")
    assert "unknown caveat" in world.get("/+api", headers={**JSON, **bearer(unknown.serialize())}, status=403).text


def test_verification_is_cached_and_counted(world):
    token = create(world)
    tokens = world.app_.stash["satchel_auth"].api_tokens
    before = tokens.verifications
    for _ in range(5):
        authstatus(world, bearer(token))
    assert tokens.verifications == before + 1
