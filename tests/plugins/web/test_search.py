"""Search: field syntax, grouping by project, paging, mirror names, permissions, and an index that is
never out of date (fed from the changelog with a persisted cursor), rebuilt by ``web-reindex``."""

import base64
import re
import sqlite3

from satchel.cli import main
from satchel.model import indexes, keys, projects
from satchel.model.removal import remove_version
from satchel.plugin import hookimpl
from satchel.testing.fixtures import Filler
from satchel_web.state import web_state


def hits(world, query, page=1):
    """``[(project, [index, ...])]`` of a result page, in order."""
    text = world.page(f"/+search?query={query}&page={page}").text
    found = []
    for item in re.findall(r"<li><h2>(.*?)</h2>(.*?)</li>\s*</ul>", text, re.S):
        found.append((item[0], re.findall(r'href="/([^/"]+/[^/"]+)/[^/"]+">\1', item[1])))
    return found


def names(world, query, page=1):
    return [name for name, _ in hits(world, query, page)]


def test_search_by_name_summary_description_keywords_and_version(world):
    world.release("other-tool", "3.0", summary="Unrelated helper", description="talks about greeting too")
    assert names(world, "hello") == ["hello-web"]
    assert names(world, "hello-web") == ["hello-web"]
    assert names(world, "machine") == ["hello-web"]  # a word of the summary
    assert set(names(world, "greeting")) == {"hello-web", "other-tool"}  # keywords and description
    assert names(world, "name:greeting") == []
    assert names(world, "summary:helper") == ["other-tool"]
    assert names(world, "version:3.0") == ["other-tool"]
    assert names(world, "version:1.1") == ["hello-web"]
    assert names(world, "description:talks") == ["other-tool"]
    assert names(world, 'summary:"greeting machine"') == ["hello-web"]
    assert names(world, "hell") == ["hello-web"]  # prefix of the last word
    assert set(names(world, "hel")) == {"hello-web", "other-tool"}  # "helper"
    assert names(world, "nothing-like-this") == []


def test_name_matches_rank_first(world):
    world.release("greeting", "1.0", summary="the real one")
    assert names(world, "greeting")[0] == "greeting"


def test_results_are_grouped_by_project_with_each_index(world):
    world.release("hello-web", "2.0", index="alice/prod", summary="A greeting machine for browsers")
    found = hits(world, "hello")
    assert [name for name, _ in found] == ["hello-web"]
    assert set(found[0][1]) == {"alice/dev", "alice/prod"}
    text = world.page("/+search?query=hello").text
    assert 'href="/alice/dev/hello-web/1.1">1.1</a>' in text and 'href="/alice/prod/hello-web/2.0">2.0</a>' in text


def test_paging(world):
    for number in range(25):
        world.release(f"paged-{number:02d}", "1.0", summary="paging test")
    first, second = names(world, "summary:paging"), names(world, "summary:paging", page=2)
    assert len(first) == 20 and len(second) == 5 and not set(first) & set(second)
    text = world.page("/+search?query=summary:paging").text
    assert "25 projects found" in text and "page 1 of 2" in text and 'rel="next"' in text


def register(world, index, project, versions, **metadata):
    """Versions registered through the model in one transaction (no files: quicker than uploads)."""
    with world.app.storage.write() as tx:
        stage = indexes.get_stage(tx, world.app, *index.split("/"))
        for version in versions:
            projects.replace_version_metadata(tx, stage, project, version,
                                              {"name": project, "version": version, **metadata})


def test_paging_counts_every_project_once_past_many_versions(world):
    """A project of 150 matching versions ranks first and fills no page twice: pages hold distinct
    projects, the count is of projects (not rows), and a page past the last still counts them."""
    register(world, "alice/dev", "crowd", [f"1.{n}" for n in range(150)], summary="paging paging paging")
    for number in range(45):
        register(world, "alice/dev" if number % 2 else "alice/prod", f"paged-{number:02d}", ["1.0"],
                 summary="paging test")
    register(world, "alice/prod", "crowd", ["9.0"], summary="paging paging paging")
    pages = [hits(world, "summary:paging", page=number) for number in (1, 2, 3)]
    assert [len(found) for found in pages] == [20, 20, 6]
    assert pages[0][0] == ("crowd", ["alice/dev", "alice/prod"])
    listed = [name for found in pages for name, _ in found]
    assert sorted(listed) == sorted(["crowd"] + [f"paged-{number:02d}" for number in range(45)])
    text = world.page("/+search?query=summary:paging").text
    assert "46 projects found" in text and "page 1 of 3" in text
    assert 'href="/alice/dev/crowd/1.149">1.149</a>, <a href="/alice/dev/crowd/1.148">' in text
    past = world.page("/+search?query=summary:paging&page=7").text
    assert "46 projects found" in past and hits(world, "summary:paging", page=7) == []


def test_a_project_without_versions_is_found_by_name(world):
    """A project's name row is only searched while it has no versions; without them it is found again."""
    register(world, "alice/prod", "lonely-name", ["1.0"], summary="to be taken")
    with world.app.storage.write() as tx:
        tx.delete(keys.version("alice/prod", "lonely-name", "1.0"))  # the project record stays
    assert hits(world, "lonely") == [("lonely-name", ["alice/prod"])]
    assert names(world, "taken") == []
    register(world, "alice/prod", "lonely-name", ["2.0"], summary="back again")
    assert names(world, "lonely") == ["lonely-name"] and names(world, "again") == ["lonely-name"]
    assert 'href="/alice/prod/lonely-name/2.0">2.0</a>' in world.page("/+search?query=lonely").text


def test_summary_shown_is_the_newest_versions(world):
    """Whichever version matched, a hit shows the summary of the project's newest version (10.0, not
    the summary that sorts last, nor the matching 1.0's)."""
    world.release("evolving", "1.0", summary="zebra apple")
    world.release("evolving", "10.0", summary="brand new")
    world.release("evolving", "9.0", summary="middle one")
    for query in ("apple", "summary:middle", "evolving"):
        text = world.page(f"/+search?query={query}").text
        assert "<p>brand new</p>" in text and "zebra" not in text and "middle one" not in text, query


def test_search_follows_changes_at_once(world):
    assert names(world, "fresh") == []
    world.release("fresh-pkg", "1.0", summary="just uploaded")
    assert names(world, "fresh") == ["fresh-pkg"]
    with world.app.storage.write() as tx:
        remove_version(tx, world.stage(), "fresh-pkg", "1.0")
    assert names(world, "summary:uploaded") == []
    with world.app.storage.write() as tx:
        indexes.delete_index(tx, world.stage("alice/prod"))
    world.release("hello-web", "5.0", index="alice/dev")
    assert hits(world, "hello") == [("hello-web", ["alice/dev"])]


def test_empty_and_odd_queries(world):
    assert "Fields:" in world.page("/+search").text
    assert "Fields:" in world.page("/+search?query=%22%22").text
    for odd in ("NEAR(", "a*b", "name:", "x\"y", "OR AND NOT", "summary:(", "%2A"):
        world.page(f"/+search?query={odd}")


class HideSecret:
    """A permission plugin: nobody may read alice/secret."""

    @hookimpl
    def satchel_permits(self, request, identity, permission, context):
        if permission == "pkg_read" and getattr(context, "name", None) == "alice/secret":
            return False
        return None


def test_unreadable_indexes_are_never_shown(make_world):
    world = make_world(plugins=[HideSecret()])
    world.filler.index("alice", "secret")
    world.release("hidden-pkg", "1.0", index="alice/secret", summary="classified greeting")
    assert names(world, "classified") == []
    assert names(world, "greeting") == ["hello-web"]
    assert "alice/secret" not in world.page("/").text and "alice/secret" not in world.page("/alice").text
    world.page("/alice/secret", status=401)


class OnlyAliceSeesSecret:
    """A permission plugin: only alice may read alice/secret."""

    @hookimpl
    def satchel_permits(self, request, identity, permission, context):
        if permission == "pkg_read" and getattr(context, "name", None) == "alice/secret":
            return identity.username == "alice"
        return None


def test_kept_result_pages_are_per_requester(make_world):
    """Result pages are kept (a repeat is served from the page cache), but never shown to someone else."""
    world = make_world(plugins=[OnlyAliceSeesSecret()])
    world.filler.index("alice", "secret")
    world.release("hidden-pkg", "1.0", index="alice/secret", summary="classified greeting")
    alice = {"Authorization": "Basic " + base64.b64encode(b"alice:pw").decode()}
    pages = web_state(world.app).pages
    assert "hidden-pkg" not in world.page("/+search?query=classified").text
    before = pages.hits
    assert "hidden-pkg" not in world.page("/+search?query=classified").text
    assert pages.hits == before + 1
    assert "hidden-pkg" in world.page("/+search?query=classified", headers=alice).text
    assert "hidden-pkg" not in world.page("/+search?query=classified").text


def test_search_index_catches_up_after_restart(make_world, make_app, tmp_path):
    serverdir = str(tmp_path / "server")
    world = make_world(storage="sqlite", serverdir=serverdir)
    assert names(world, "hello") == ["hello-web"]
    world.app.close()
    # the web plugin is away while a release is uploaded: nothing indexes it meanwhile
    away = make_app(storage="sqlite", serverdir=serverdir, disable_plugins=["web"])
    Filler(away).file("alice/dev", "late-arrival", "1.0", metadata={"summary": "came while away"})
    away.close()
    back = make_app(storage="sqlite", serverdir=serverdir)
    world.app, world.web = back, type(world.web)(back.wsgi)
    assert names(world, "away") == ["late-arrival"]
    assert back.stash["web"].search.cursor == back.storage.last_serial()


def test_web_reindex_rebuilds(make_world, tmp_path):
    serverdir = tmp_path / "server"
    world = make_world(storage="sqlite", serverdir=str(serverdir))
    world.app.close()
    (serverdir / "web-search.sqlite").unlink()
    assert main(["web-reindex", "--serverdir", str(serverdir)]) == 0
    with sqlite3.connect(serverdir / "web-search.sqlite") as db:
        rows = {row[0] for row in db.execute("SELECT project FROM entries")}
    assert rows == {"hello-web"}


def test_mirror_names_are_searchable(make_world, fake_upstream):
    fake_upstream.add_projects(["zebra-tools", "yak-shaver", "hello-web"])
    world = make_world(storage="sqlite", request_timeout=2)
    world.filler.index("root", "mirror", type="mirror", mirror_url=fake_upstream.url)
    index = world.page("/root/mirror").text  # lists the upstream names (fetching the list)
    assert "zebra-tools" in index and "not fetched yet" in index
    assert hits(world, "zebra") == [("zebra-tools", ["root/mirror"])]
    assert dict(hits(world, "hello"))["hello-web"] and "root/mirror" in dict(hits(world, "hello"))["hello-web"]
    page = world.page("/root/mirror/yak-shaver").text
    assert "has not fetched" in page and f'href="{fake_upstream.url}yak-shaver/"' in page
    assert fake_upstream.count("*/yak-shaver/*") == 0  # looking does not fetch


def test_cached_mirror_project_pages(make_world, fake_upstream):
    fake_upstream.add_projects(["hello-web", "zebra-tools"])
    world = make_world(storage="sqlite", request_timeout=2)
    world.filler.index("root", "mirror", type="mirror", mirror_url=fake_upstream.url)
    world.filler.index("alice", "all", bases=["alice/dev", "root/mirror"], mirror_whitelist=["*"])
    from satchel.testing.fixtures import make_wheel
    fake_upstream.add_file("zebra-tools", *make_wheel("zebra-tools", "0.5"))
    world.page("/alice/all/zebra-tools", status=404)  # unknown here until the mirror fetched it
    world.web.get("/root/mirror/+simple/zebra-tools/", headers=world.HEADERS["pip"])  # pip fetches it
    text = world.page("/alice/all/zebra-tools").text
    assert ">0.5</a>" in text and "root/mirror" in text and "has not fetched" not in text
    version = world.page("/root/mirror/zebra-tools/0.5").text
    assert "zebra_tools-0.5-py3-none-any.whl" in version


def test_an_index_of_the_first_format_is_rebuilt(make_world, make_app, tmp_path):
    """Format 1 kept name rows searchable next to versions; such an index is rebuilt on the next start."""
    serverdir = str(tmp_path / "server")
    world = make_world(storage="sqlite", serverdir=serverdir)
    world.app.close()
    with sqlite3.connect(f"{serverdir}/web-search.sqlite") as db:
        db.execute("DELETE FROM meta WHERE key='format'")
        db.execute("INSERT INTO docs (name) VALUES ('stale-row')")
    back = make_app(storage="sqlite", serverdir=serverdir)
    world.app, world.web = back, type(world.web)(back.wsgi)
    assert names(world, "stale") == [] and names(world, "hello") == ["hello-web"]
    with sqlite3.connect(f"{serverdir}/web-search.sqlite") as db:
        assert db.execute("SELECT value FROM meta WHERE key='format'").fetchone() == (2,)
        # two versions of hello-web; its name row stays out of the full-text table
        assert db.execute("SELECT count(*) FROM docs").fetchone() == (2,)
