"""A replica never commits anything of its own: its mirror's pages, lists and files come through the primary."""

import hashlib

import pytest
import requests

from satchel.testing.fake_upstream import FakeUpstream
from satchel.testing.fixtures import make_wheel

pytestmark = pytest.mark.slow
JSON = {"Accept": "application/json"}
PAGE = {"Accept": "application/vnd.pypi.simple.v1+json", "User-Agent": "pip/24.0"}


@pytest.fixture
def upstream():
    with FakeUpstream() as fake:
        yield fake


@pytest.fixture
def mirrored(cluster, upstream):
    """``(primary, replica, wheels)``: a primary whose root/up mirrors the fake upstream, and its replica."""
    wheels = {}
    for version in ("1.15", "1.16"):
        filename, content = make_wheel("six", version)
        upstream.add_file("six", filename, content)
        wheels[filename] = hashlib.sha256(content).hexdigest()
    upstream.add_project("other-project")
    primary = cluster.primary("--no-root-pypi")
    created = requests.put(primary.url + "/root/up", json={"type": "mirror", "mirror_url": upstream.url},
                           headers=cluster.auth(primary, "root", ""), timeout=30)
    assert created.status_code == 200, created.text
    replica = cluster.replica(primary)
    cluster.wait_in_sync(replica, primary)
    upstream.clear_requests()
    return primary, replica, wheels


def serials(cluster, primary, replica) -> tuple[int, int]:
    # the replica first: whatever it holds must already be the primary's
    on_replica = cluster.status(replica)
    assert on_replica["replica-refused-commits"] == 0, on_replica["replica-refused-commits-recent"]
    return cluster.status(primary)["serial"], on_replica["serial"]


def test_first_page_request_on_a_replica_goes_through_the_primary(cluster, upstream, mirrored):
    primary, replica, wheels = mirrored
    reply = requests.get(replica.url + "/root/up/+simple/six/", headers=PAGE, timeout=60)
    assert reply.status_code == 200, reply.text
    assert sorted(entry["filename"] for entry in reply.json()["files"]) == sorted(wheels)
    assert upstream.count("/simple/six/") == 1  # asked once, by the primary
    on_primary, on_replica = serials(cluster, primary, replica)
    assert on_replica <= on_primary
    # the replica holds the primary's record: asking again asks nobody
    again = requests.get(replica.url + "/root/up/+simple/six/", headers=PAGE, timeout=60)
    assert again.json()["files"] == reply.json()["files"]
    assert upstream.count("/simple/six/") == 1
    for entry in reply.json()["files"]:
        body = requests.get(f"{replica.url}/root/up/+simple/six/{entry['url']}", timeout=60)
        assert body.status_code == 200, body.text
        assert hashlib.sha256(body.content).hexdigest() == wheels[entry["filename"]]
        assert upstream.count(upstream.file("six", entry["filename"]).path) == 1
    on_primary, on_replica = serials(cluster, primary, replica)
    assert on_replica <= on_primary
    # still following: a later change on the primary arrives
    assert requests.put(primary.url + "/root/more", json={}, headers=cluster.auth(primary, "root", ""),
                        timeout=30).status_code == 200
    cluster.wait_in_sync(replica, primary)
    assert cluster.status(replica)["replication-errors"] == []
    assert requests.get(replica.url + "/root/more", headers=JSON, timeout=30).status_code == 200


def test_index_json_on_a_replica_lists_upstream_names_from_the_primary(cluster, upstream, mirrored):
    primary, replica, _ = mirrored
    reply = requests.get(replica.url + "/root/up", headers=JSON, timeout=60)
    assert reply.status_code == 200, reply.text
    assert reply.json()["result"]["type"] == "mirror"
    assert reply.json()["result"]["projects"] == ["other-project", "six"]
    assert upstream.count("/simple/") == 1  # the project list: fetched once, by the primary
    on_primary, on_replica = serials(cluster, primary, replica)
    assert on_replica <= on_primary
    cluster.wait_in_sync(replica, primary)
    assert cluster.status(replica)["replication-errors"] == []


def test_replica_enforces_acl_read_and_mirror_policy(cluster, upstream):
    upstream.add_file("evil-pkg", *make_wheel("evil-pkg", "1.0"))
    primary = cluster.primary("--no-root-pypi")
    auth = cluster.auth(primary, "root", "")
    put = requests.put(primary.url + "/root/up", json={"type": "mirror", "mirror_url": upstream.url},
                       headers=auth, timeout=10)
    assert put.status_code == 200, put.text
    assert requests.put(primary.url + "/root/secret", json={"acl_read": ["root"]}, headers=auth,
                        timeout=10).status_code == 200
    replica = cluster.replica(primary)
    cluster.wait_in_sync(replica, primary)
    patched = requests.patch(primary.url + "/root/up", json={"mirror_block": ["evil-pkg"]}, headers=auth,
                             timeout=10)
    assert patched.json()["result"]["mirror_block"] == ["evil-pkg"], patched.text
    cluster.wait_in_sync(replica, primary)
    blocked = requests.get(replica.url + "/root/up/+simple/evil-pkg/", headers=PAGE, timeout=30)
    assert blocked.status_code == 403 and "mirror_block" in blocked.text
    assert cluster.status(replica)["mirrors"]["root/up"]["policy"]["mirror_block"] == ["evil-pkg"]
    assert upstream.count("/simple/evil-pkg/") == 0
    anonymous = requests.get(replica.url + "/root/secret/+simple/", headers=PAGE, timeout=30)
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith("Basic")
    assert requests.get(replica.url + "/root/secret/+simple/", headers=PAGE, auth=("root", ""),
                        timeout=30).status_code == 200


def test_restricted_mirror_page_on_a_replica_comes_through_the_primary(cluster, upstream):
    """The replica asks its primary with its own credentials: a mirror anonymous callers may not read still
    answers the replica's authorized client, and the primary refuses the same request unsigned."""
    wheel = make_wheel("six", "1.16")
    upstream.add_file("six", *wheel)
    primary = cluster.primary("--no-root-pypi")
    auth = cluster.auth(primary, "root", "")
    put = requests.put(primary.url + "/root/up", json={"type": "mirror", "mirror_url": upstream.url,
                                                        "acl_read": ["root"]}, headers=auth, timeout=10)
    assert put.status_code == 200, put.text
    replica = cluster.replica(primary)
    cluster.wait_in_sync(replica, primary)
    assert requests.get(replica.url + "/root/up/+simple/six/", headers=PAGE, timeout=30).status_code == 401
    reply = requests.get(replica.url + "/root/up/+simple/six/", headers=PAGE, auth=("root", ""), timeout=60)
    assert reply.status_code == 200, reply.text
    assert [entry["filename"] for entry in reply.json()["files"]] == [wheel[0]]
    assert upstream.count("/simple/six/") == 1
    body = requests.get(f"{replica.url}/root/up/+simple/six/{reply.json()['files'][0]['url']}",
                        auth=("root", ""), timeout=60)
    assert body.status_code == 200 and hashlib.sha256(body.content).hexdigest() == \
        hashlib.sha256(wheel[1]).hexdigest()
    # a forged or missing signature gives no read access on the primary
    forged = {**PAGE, "Authorization": "Bearer forged", "X-Satchel-Replica-Uuid": "x"}
    assert requests.get(primary.url + "/root/up/+simple/six/", headers=forged, timeout=30).status_code == 401
