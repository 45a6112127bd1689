"""Every page of the web UI, its status codes, ETags and accessibility basics (WebTest)."""

import re

import pytest

from satchel.model import indexes
from satchel.model.yanking import set_yanked
from satchel.testing.fixtures import make_wheel
from satchel_web.state import web_state


def main_text(response) -> str:
    return response.text[response.text.index("<main"):response.text.index("</main>")]


def assert_accessible(response):
    """A title, the landmarks, and a label for every input field."""
    html = response.text
    assert re.search(r"<title>[^<]+</title>", html)
    for landmark in ("<header", "<main", "<footer", "<nav"):
        assert landmark in html
    for field_id in re.findall(r'<input id="([^"]+)"', html):
        assert f'<label for="{field_id}">' in html, f"input {field_id} has no label"
    assert "<input " not in re.sub(r'<input id="[^"]+"', "", html), "an input without an id (and label)"


def test_root_lists_users_indexes_and_plugins(world):
    response = world.page("/")
    assert response.content_type == "text/html"
    assert_accessible(response)
    text = main_text(response)
    assert 'href="/alice/dev"' in text and "Alice&#39;s dev" in text and "work in progress" in text
    assert 'href="/alice/dev">alice/dev</a>' in text  # prod's base, as a link
    assert ">web<" in text and ">private<" in text  # plugins with versions


def test_user_page(world):
    response = world.page("/alice")
    assert_accessible(response)
    assert 'href="/alice/prod"' in main_text(response)


def test_index_page_config_bases_projects_latest(world):
    world.release("other-pkg", "0.1", index="alice/prod")
    response = world.page("/alice/prod")
    assert_accessible(response)
    text = main_text(response)
    assert '<a href="/alice/dev">alice/dev</a>' in text  # bases as links
    assert "acl_upload" in text and "volatile" in text
    assert 'href="/alice/prod/other-pkg/0.1">0.1<' in text
    dev = main_text(world.page("/alice/dev"))
    assert 'href="/alice/dev/hello-web/1.1">1.1<' in dev  # latest version


def test_index_page_paging_and_filter(world):
    for number in range(105):
        world.release(f"pkg-{number:03d}", "1.0")
    first = main_text(world.page("/alice/dev"))
    assert "(106)" in first and "pkg-098" in first and "pkg-099" not in first
    assert 'rel="next" href="?page=2"' in first
    second = main_text(world.page("/alice/dev?page=2"))
    assert "pkg-099" in second and "pkg-104" in second and "pkg-000" not in second
    assert 'rel="prev"' in second and 'rel="next"' not in second
    filtered = main_text(world.page("/alice/dev?filter=pkg-10"))
    assert "(5)" in filtered and "pkg-100" in filtered and "hello-web" not in filtered
    assert "no projects" in main_text(world.page("/alice/dev?filter=zzz"))


def test_project_page_versions_newest_first_with_origin_and_yanked(world):
    world.filler.file("alice/prod", "hello-web", "2.0", yanked=True)
    response = world.page("/alice/prod/hello-web")
    assert_accessible(response)
    text = main_text(response)
    order = [text.index(f">{v}</a>") for v in ("2.0", "1.1", "1.0")]
    assert order == sorted(order)
    row_20 = text[text.index(">2.0</a>"):text.index(">1.1</a>")]
    assert "alice/prod" in row_20 and "yanked" in row_20
    row_11 = text[text.index(">1.1</a>"):text.index(">1.0</a>")]
    assert "alice/dev" in row_11 and "UTC" in row_11 and "yanked" not in row_11


def test_version_page(world):
    stage_link = world.page("/alice/dev/hello-web/1.1")
    assert_accessible(stage_link)
    text = main_text(stage_link)
    assert "A greeting machine for browsers" in text
    assert "<h1" in text and "<strong>text</strong>" in text  # markdown rendered
    assert ">=3.9" in text.replace("&gt;", ">") and "Alice" in text and "MIT" in text
    assert '<a href="https://example.org/src"' in text
    assert "javascript:" not in text.replace("javascript:alert(1)</dd>", "")  # shown as text, never a link
    assert 'href="javascript' not in text
    assert "requests&gt;=2" in text and "Programming Language :: Python :: 3" in text
    assert "pip install --index-url http://localhost/alice/dev/+simple/ hello-web==1.1" in text
    wheel = "hello_web-1.1-py3-none-any.whl"
    assert f'href="/alice/dev/+f/' in text and wheel in text and f"{wheel}.metadata" in text
    assert re.search(r"[0-9a-f]{64}", text) and "bytes" in text


def test_version_page_of_inherited_release_and_rst(world):
    text = main_text(world.page("/alice/prod/hello-web/1.0"))
    assert "<em>world</em>" in text  # reStructuredText by default
    assert "pip install --index-url http://localhost/alice/prod/+simple/ hello-web==1.0" in text


def test_tox_results_section_and_result_page(world):
    with world.app.storage.read() as tx:
        link = world.stage().get_project(tx, "hello-web")["files"][0]
    result = world.add_toxresult(link)
    text = main_text(world.page("/alice/dev/hello-web/1.0"))
    assert 'id="toxresults"' in text
    assert "py311" in text and "3.11.4" in text and "passed" in text and "1.5 s" in text
    assert "py312" in text and "failed" in text and "ci-box" in text
    page = world.page(f"/alice/dev/hello-web/1.0/+toxresults/{result['filename']}")
    assert_accessible(page)
    assert "3 passed" in page.text and "1 failed" in page.text
    world.page("/alice/dev/hello-web/1.0/+toxresults/nothing-here", status=404)


def test_docs_pages(world):
    world.add_docs(version="1.0")
    text = main_text(world.page("/alice/dev/hello-web/1.0"))
    assert 'href="/alice/dev/hello-web/1.0/+d/"' in text and 'href="/alice/dev/hello-web/latest/+d/"' in text
    docs = world.page("/alice/dev/hello-web/1.0/+d/")
    assert_accessible(docs)
    frame = re.search(r"<iframe[^>]*>", docs.text).group(0)
    assert 'sandbox="allow-scripts allow-popups allow-forms"' in frame and "allow-same-origin" not in frame
    assert 'src="/alice/dev/hello-web/1.0/+doc/index.html"' in frame
    api = world.page("/alice/dev/hello-web/1.0/+d/api/")
    assert 'src="/alice/dev/hello-web/1.0/+doc/api/"' in api.text
    escaped = world.page("/alice/dev/hello-web/1.0/+d/../../../etc/passwd")
    assert 'src="/alice/dev/hello-web/1.0/+doc/etc/passwd"' in escaped.text
    # the raw files stay where they were, with a sandbox policy of their own
    raw = world.web.get("/alice/dev/hello-web/1.0/+doc/index.html", headers=world.HEADERS["browser"])
    assert raw.body == b"<h1>Hello docs</h1>" and "sandbox" in raw.headers["Content-Security-Policy"]
    assert world.page("/alice/dev/hello-web/1.0/+d", status=302).location.endswith("/+d/")
    # latest follows the newest version with docs
    latest = world.page("/alice/dev/hello-web/latest/+d/")
    assert "/hello-web/1.0/+doc/index.html" in latest.text
    world.add_docs(version="1.1", files={"index.html": b"new"})
    assert "/hello-web/1.1/+doc/index.html" in world.page("/alice/dev/hello-web/latest/+d/").text
    world.page("/alice/dev/hello-web/9.9/+d/", status=404)


def test_docs_missing(world):
    world.page("/alice/dev/hello-web/latest/+d/", status=404)
    world.page("/alice/dev/hello-web/1.0/+d/", status=404)


def test_status_page_for_browsers_only(world):
    response = world.page("/+status")
    assert_accessible(response)
    text = main_text(response)
    assert "serial" in text and "web-search" in text and "sqlite-fts5" in text
    data = world.web.get("/+status", headers=world.HEADERS["json"]).json["result"]
    assert "serial" in data and data["web-search"]["backend"] == "sqlite-fts5"
    assert world.web.get("/+status").content_type == "application/json"


@pytest.mark.parametrize("path", ["/nobody", "/alice/nothing", "/alice/dev/nothing", "/alice/dev/hello-web/9.9",
                                  "/alice/dev/nothing/1.0/+d/"])
def test_unknown_things_are_404_pages_for_browsers_and_json_for_json_clients(world, path):
    page = world.page(path, status=404)
    assert page.content_type == "text/html" and "<title>" in page.text and "<main" in page.text
    if "+d" not in path:
        answer = world.web.get(path, headers=world.HEADERS["json"], status=404)
        assert answer.content_type == "application/json" and answer.json["message"]


def test_bad_names_are_400_pages(world):
    page = world.page("/alice/bad%20name", status=400)
    assert "<main" in page.text


@pytest.mark.parametrize("path", ["/", "/alice", "/alice/dev", "/alice/dev/hello-web", "/alice/dev/hello-web/1.1",
                                  "/+status", "/+search?query=hello", "/+static/style.css"])
def test_every_page_has_an_etag_and_answers_304(world, path):
    first = world.page(path)
    assert first.etag
    again = world.page(path, status=304, headers={"If-None-Match": f'"{first.etag}"'})
    assert again.body == b""


def test_etag_changes_with_the_data(world):
    first = world.page("/alice/dev/hello-web")
    world.release("hello-web", "1.2")
    second = world.page("/alice/dev/hello-web", headers={"If-None-Match": f'"{first.etag}"'})
    assert second.status_int == 200 and ">1.2</a>" in second.text


def test_static_file_names_are_checked(world):
    world.web.get("/+static/..style.css", status=404)
    world.web.get("/+static/missing.css", status=404)


def test_kept_pages_follow_every_change_they_show(world):
    """Project and index pages are kept by the serials they were built from: a repeat is served from
    the page cache, and an upload, a yank, a base's upload or a config change shows at once."""
    pages = web_state(world.app).pages
    world.page("/alice/prod/hello-web")
    world.page("/alice/prod")
    hits = pages.hits
    world.page("/alice/prod/hello-web")
    world.page("/alice/prod")
    assert pages.hits == hits + 2
    world.release("hello-web", "1.5")  # on the base alice/dev
    assert ">1.5</a>" in world.page("/alice/prod/hello-web").text
    with world.app.storage.write() as tx:
        set_yanked(tx, world.stage(), "hello-web", True, version="1.5")
    row = main_text(world.page("/alice/prod/hello-web")).split(">1.5</a>")[1].split("</tr>")[0]
    assert "yanked" in row
    world.release("new-pkg", "3.0", index="alice/prod")
    assert 'href="/alice/prod/new-pkg/3.0">3.0<' in main_text(world.page("/alice/prod"))
    world.release("new-pkg", "3.1", index="alice/prod")
    assert 'href="/alice/prod/new-pkg/3.1">3.1<' in main_text(world.page("/alice/prod"))
    with world.app.storage.write() as tx:
        stage = world.stage("alice/prod")
        indexes.modify_index(tx, world.app, stage, {**stage.config, "title": "Production"})
    assert "Production" in main_text(world.page("/alice/prod"))
    # the same page under another outside URL is built for it, not served from the other's entry
    moved = world.page("/alice/prod", headers={"X-Outside-Url": "http://example.org/mirror"})
    assert 'href="/mirror/alice/prod/new-pkg/3.1"' in main_text(moved)


def section(text: str, heading_id: str) -> str:
    start = text.index(f'<section aria-labelledby="{heading_id}">')
    return text[start:text.index("</section>", start)]


def test_mirror_index_page_shows_upstream_settings_and_health(make_world, fake_upstream):
    fake_upstream.add_projects(["zebra-tools"])
    fake_upstream.add_file("zebra-tools", *make_wheel("zebra-tools", "0.5"))
    world = make_world(storage="sqlite", request_timeout=2)
    world.filler.index("root", "mirror", type="mirror", mirror_url=fake_upstream.url, volatile=False,
                       mirror_block=["evil-pkg"])
    world.web.get("/root/mirror/+simple/zebra-tools/", headers=world.HEADERS["pip"])  # one page fetched
    response = world.page("/root/mirror")
    assert_accessible(response)
    mirror = section(main_text(response), "mirror")
    assert f'<a href="{fake_upstream.url}" rel="nofollow noopener">{fake_upstream.url}</a>' in mirror
    assert re.search(r"volatile[^<]*</th><td>no<", mirror)
    assert re.search(r"never these projects</th><td>\s*<ul class=\"plain\"><li>\s*evil-pkg", mirror)
    assert re.search(r"pages cached</th><td>\s*1\s*<", mirror)
    assert re.search(r"upstream failures</th><td>\s*0\s*<", mirror)
    contact = re.search(r"last upstream contact</th><td>\s*([^<]*)<", mirror).group(1)
    assert contact.startswith("20")  # an ISO time: the fetch above reached upstream
    # a mirror of the default upstream says "PyPI" (no project list: looking fetches nothing)
    world.filler.index("root", "default", type="mirror", mirror_no_project_list=True)
    default = section(main_text(world.page("/root/default")), "mirror")
    assert ">PyPI</a>" in default and re.search(r"no upstream project list</th><td>yes<", default)
    assert 'id="mirror"' not in world.page("/alice/dev").text  # private indexes have no such section
