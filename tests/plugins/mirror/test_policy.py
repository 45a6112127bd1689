"""Mirror supply-chain policy: mirror_cooldown, mirror_block, mirror_allow (against the fake upstream)."""

import pytest

from satchel import clock

DAY = 86400
OLD = "2020-01-01T00:00:00Z"


def iso(seconds_ago: float) -> str:
    return clock.iso(clock.now() - seconds_ago)


@pytest.fixture
def cooled(make_world):
    """root/mirror with a one-day cooldown; hello-pkg has an old 1.0, a new 2.0 and an untimed 0.9.

    Stored pages stay fresh for two days, so a test moving the clock by a day sees the policy change alone.
    """
    world = make_world(options={"mirror_cache_expiry": 2 * DAY}, mirror_cooldown=DAY)
    world.old = world.wheel("hello-pkg", "1.0", upload_time=OLD)
    world.new = world.wheel("hello-pkg", "2.0", upload_time=iso(60))
    world.untimed = world.wheel("hello-pkg", "0.9")
    return world


def mirror_path(world, fake_file):
    sha = fake_file.sha256
    return f"/{world.index_name}/+f/{sha[:3]}/{sha[3:16]}/{fake_file.filename}"


def test_cooldown_hides_young_files_in_html_and_json(cooled):
    page = cooled.page("hello-pkg", json=True).json
    assert sorted(f["filename"] for f in page["files"]) == [cooled.untimed.filename, cooled.old.filename]
    assert page["versions"] == ["0.9", "1.0"]
    html = cooled.page("hello-pkg").text
    assert cooled.old.filename in html and cooled.new.filename not in html
    projectjson = cooled.client.get("/root/mirror/hello-pkg").json["result"]
    assert sorted(projectjson) == ["0.9", "1.0"]


def test_cooldown_refuses_download_with_reason(cooled):
    cooled.page("hello-pkg")
    response = cooled.web.get(mirror_path(cooled, cooled.new), status=403, headers={"Accept": "application/json"})
    assert "mirror_cooldown" in response.json["message"] and cooled.new.filename in response.json["message"]
    assert cooled.upstream.count(cooled.new.path) == 0
    assert cooled.file("hello-pkg", cooled.old.filename).body == cooled.old.content
    assert cooled.file("hello-pkg", cooled.untimed.filename).body == cooled.untimed.content


def test_file_ages_in_and_etag_changes(cooled, fake_clock):
    first = cooled.page("hello-pkg", json=True)
    pages_fetched = cooled.upstream.count("/simple/?*")
    assert cooled.page("hello-pkg", json=True, headers={"If-None-Match": first.headers["ETag"]},
                       status=304)
    fake_clock.advance(DAY)
    aged = cooled.page("hello-pkg", json=True, headers={"If-None-Match": first.headers["ETag"]})
    assert aged.headers["ETag"] != first.headers["ETag"]
    assert cooled.new.filename in {f["filename"] for f in aged.json["files"]} and "2.0" in aged.json["versions"]
    assert cooled.upstream.count("/simple/?*") == pages_fetched  # no new upstream page: time did it
    assert cooled.file("hello-pkg", cooled.new.filename).body == cooled.new.content


def test_inheriting_private_index_sees_filtered_view(cooled):
    cooled.client.put("/root/dev", {"bases": ["root/mirror"]}, status=200)
    page = cooled.page("hello-pkg", index_name="root/dev", json=True).json
    assert cooled.new.filename not in {f["filename"] for f in page["files"]}
    cooled.client.patch("/root/mirror", {"mirror_block": ["hello-pkg"]}, status=200)
    response = cooled.page("hello-pkg", index_name="root/dev", status=403, headers={"Accept": "application/json"})
    assert "mirror_block" in response.text


def test_block_refuses_and_never_fetches(make_world):
    world = make_world(mirror_block="Evil_Pkg, other.thing")
    evil = world.wheel("evil-pkg", "1.0")
    world.wheel("good-pkg", "1.0")
    assert world.client.get("/root/mirror").json["result"]["mirror_block"] == ["evil-pkg", "other-thing"]
    response = world.page("evil-pkg", status=403, headers={"Accept": "application/json"})
    assert response.json["message"] == "project 'evil-pkg' is blocked by the mirror policy (mirror_block)"
    world.page("Evil.Pkg", status=(301, 302, 403))
    world.web.get(mirror_path(world, evil), status=403)
    world.client.get("/root/mirror/evil-pkg", status=403)
    assert world.upstream.count("/simple/evil-pkg/") == 0 and world.upstream.count(evil.path) == 0
    world.page("good-pkg")
    names = world.web.get("/root/mirror/+simple/", headers={"User-Agent": "pip/24.0"}).text
    assert "good-pkg" in names and "evil-pkg" not in names


def test_allow_list(make_world):
    world = make_world(mirror_allow=["good-pkg"])
    world.wheel("good-pkg", "1.0")
    other = world.wheel("other-pkg", "1.0")
    world.page("good-pkg")
    response = world.page("other-pkg", status=403, headers={"Accept": "application/json"})
    assert "mirror_allow" in response.json["message"]
    world.web.get(mirror_path(world, other), status=403)
    assert world.upstream.count("/simple/other-pkg/") == 0 and world.upstream.count(other.path) == 0


def test_policy_change_applies_at_once_to_cached_pages_and_files(world):
    fake = world.wheel("hello-pkg", "1.0")
    world.page("hello-pkg")
    assert world.file("hello-pkg", fake.filename).body == fake.content
    path = mirror_path(world, fake)
    requests_before = len(world.upstream.requests)
    serial = world.app.storage.last_serial()
    world.client.patch("/root/mirror", {"mirror_block": ["hello-pkg"]}, status=200)
    world.page("hello-pkg", status=403)
    world.web.get(path, status=403)  # cached, but blocked now
    assert len(world.upstream.requests) == requests_before
    # recorded in the changelog like any index change
    changes = dict(world.app.storage.changes_since(serial))
    assert any(value[1]["mirror_block"] == ["hello-pkg"] for entry in changes.values()
               for key, value in entry.items() if key.startswith("indexes/"))
    assert world.status()["root/mirror"]["policy"] == {"mirror_cooldown": 0, "mirror_block": ["hello-pkg"],
                                                       "mirror_allow": []}
    world.client.patch("/root/mirror", {"mirror_block": []}, status=200)
    world.page("hello-pkg")
    assert world.web.get(path).body == fake.content


@pytest.mark.parametrize("change, message", [
    ({"mirror_cooldown": -1}, "must not be negative"),
    ({"mirror_cooldown": "soon"}, "must be a number of seconds"),
    ({"mirror_block": ["bad name!"]}, "invalid project name"),
])
def test_bad_policy_values(world, change, message):
    before = world.client.get("/root/mirror").json["result"]
    response = world.client.patch("/root/mirror", change, status=400)
    assert message in response.json["message"]
    assert world.client.get("/root/mirror").json["result"] == before


def test_policy_options_are_mirror_only(world):
    world.client.put("/root/dev", {}, status=200)
    world.client.patch("/root/dev", {"mirror_cooldown": 5}, status=400)
