"""The web UI in a real headless Chromium (Debian's package, driven by Playwright) against `satchel serve`.

Clicks through index -> project -> version, searches by name and by a summary word, opens the docs, and proves
that a hostile description and hostile docs stay inert. Screenshots go to ``artefacts/browser/`` (gitignored).
"""

import io
import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import pytest
import requests

from satchel.testing.fixtures import make_wheel

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTEFACTS = Path(__file__).resolve().parents[2] / "artefacts" / "browser"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
HOSTILE = ('Evil\n====\n\n<script>document.title="pwned"</script>\n\n'
           '<img src="x" onerror="document.title=\'pwned\'">\n\n'
           '<a href="javascript:document.title=\'pwned\'">click me</a>\n')
DOCS_HTML = (b"<html><head><title>docs</title></head><body><h1>Hello docs</h1>"
             b"<script>try { parent.document.title = 'pwned'; document.body.dataset.reached = 'parent'; }"
             b" catch (e) { document.body.dataset.reached = 'blocked'; }</script></body></html>")


def _browser():
    """Playwright and the system Chromium, or a skip (a failure under CI) saying what is missing."""
    missing = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing, sync_playwright = "the playwright package is not installed", None
    if missing is None and not os.path.exists(CHROMIUM):
        missing = "chromium is not installed (apt-get install chromium)"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"browser test cannot run under CI: {missing}")
        pytest.skip(missing)
    return sync_playwright


class Uploader:
    def __init__(self, url, user="alice", password="secret"):
        self.url, self.auth = url, (user, password)
        self.session = requests.Session()
        self.session.trust_env = False
        json_headers = {"Accept": "application/json", "Content-Type": "application/json"}
        assert self.session.put(f"{url}/{user}", json={"password": password}, headers=json_headers).status_code == 201
        reply = self.session.put(f"{url}/{user}/dev", json={"title": "Alice's packages"}, headers=json_headers,
                                 auth=self.auth)
        assert reply.status_code == 200, reply.text

    def upload(self, name, version, action="file_upload", filename=None, content=None, **fields):
        if content is None:
            filename, content = make_wheel(name, version)
        data = {":action": action, "name": name, "version": version, "protocol_version": "1", **fields}
        reply = self.session.post(f"{self.url}/alice/dev/", data=data, files={"content": (filename, content)},
                                  auth=self.auth, timeout=30)
        assert reply.status_code == 200, reply.text

    def toxresult(self, name, version, result):
        links = self.session.get(f"{self.url}/alice/dev/{name}/{version}",
                                 headers={"Accept": "application/json"}).json()["result"]["+links"]
        href = next(link["href"] for link in links if link["rel"] == "releasefile")
        reply = self.session.post(href, data=json.dumps(result), auth=self.auth,
                                  headers={"Content-Type": "application/json"})
        assert reply.status_code == 200, reply.text


def _doc_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.html", DOCS_HTML)
    return buffer.getvalue()


@pytest.fixture
def served(live_server):
    sync_playwright = _browser()
    server = live_server("--no-root-pypi")
    uploader = Uploader(server.url)
    uploader.upload("hello-web", "1.0", summary="A friendly greeting machine",
                    description="Hello\n=====\n\nA *rendered* description.", description_content_type="text/x-rst")
    uploader.upload("hello-web", "1.0", action="doc_upload", filename="hello-web-1.0.zip", content=_doc_zip())
    uploader.toxresult("hello-web", "1.0", {"reportversion": "1", "host": "ci-box", "testenvs": {
        "py311": {"python": {"version": "3.11.4"}, "test": [{"command": ["pytest"], "retcode": "0"}]}}})
    uploader.upload("evil-pkg", "1.0", summary="hostile", description=HOSTILE, description_content_type="text/markdown")
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=ARGS, viewport={"width": 1100, "height": 900})
        try:
            page = context.new_page()
            dialogs = []
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            yield server.url, page, dialogs
        finally:
            context.close()


def shot(page, name):
    page.screenshot(path=str(ARTEFACTS / f"{name}.png"), full_page=True)


def test_click_through_search_and_docs(served):
    url, page, dialogs = served
    page.goto(url + "/")
    assert "satchel" in page.title()
    shot(page, "01-root")
    page.get_by_role("link", name="alice/dev").first.click()
    page.wait_for_url(url + "/alice/dev")
    assert page.get_by_role("heading", level=1).inner_text().startswith("alice/dev")
    shot(page, "02-index")
    page.get_by_role("link", name="hello-web").click()
    page.wait_for_url(url + "/alice/dev/hello-web")
    shot(page, "03-project")
    page.get_by_role("link", name="1.0", exact=True).first.click()
    page.wait_for_url(url + "/alice/dev/hello-web/1.0")
    assert page.locator(".readme em").inner_text() == "rendered"
    assert "hello_web-1.0-py3-none-any.whl" in page.locator("table.files").inner_text()
    assert "py311" in page.locator("table.toxresults").inner_text()
    assert "hello-web==1.0" in page.get_by_label("Install").input_value()
    shot(page, "04-version")

    page.get_by_label("Search packages").fill("hello-web")
    page.keyboard.press("Enter")
    page.wait_for_url("**/+search?query=hello-web")
    assert "hello-web" in page.locator("ol.results").inner_text()
    shot(page, "05-search-name")
    page.get_by_label("Search packages").fill("greeting")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/+search?query=greeting")
    results = page.locator("ol.results").inner_text()
    assert "hello-web" in results and "A friendly greeting machine" in results
    shot(page, "06-search-summary")

    page.goto(url + "/alice/dev/hello-web/1.0")
    page.get_by_role("link", name="Documentation", exact=True).click()
    page.wait_for_url("**/hello-web/1.0/+d/")
    frame = page.frame_locator("iframe.docs")
    assert frame.locator("h1").inner_text() == "Hello docs"
    # the docs' script ran in its sandbox and could not reach the page around it
    assert frame.locator("body").get_attribute("data-reached") == "blocked"
    assert page.title().startswith("hello-web 1.0 documentation")
    shot(page, "07-docs")
    assert dialogs == []


def test_hostile_description_is_inert_in_the_browser(served):
    url, page, dialogs = served
    page.goto(url + "/alice/dev/evil-pkg/1.0")
    page.wait_for_timeout(500)  # time for anything that might run
    assert page.title() == "evil-pkg 1.0 on alice/dev · satchel"
    readme = page.locator(".readme")
    assert "click me" in readme.inner_text()
    assert page.evaluate("document.querySelectorAll('script').length") == 0
    assert page.evaluate("document.querySelectorAll('[onerror], [onclick], [onload]').length") == 0
    assert page.evaluate(
        "[...document.querySelectorAll('a[href]')].filter(a => a.href.toLowerCase().startsWith('javascript:')).length"
    ) == 0
    page.get_by_text("click me").click()
    page.wait_for_timeout(200)
    assert page.title() == "evil-pkg 1.0 on alice/dev · satchel" and dialogs == []
    shot(page, "08-hostile")
