"""Descriptions: rendered as PyPI renders them, sanitized, cached by content; themes override."""

from html.parser import HTMLParser

import pytest
from webtest import TestApp

from satchel.errors import ConfigError

HOSTILE = ('<script>document.title="pwned"</script>\n\n<img src="x" onerror="document.title=\'pwned\'">\n\n'
           '<a href="javascript:document.title=\'pwned\'">click</a> [md link](javascript:alert(1)) '
           '<a href="JaVaScRiPt:alert(2)">upper</a> <div onclick="alert(3)">div</div>')


class ActiveContent(HTMLParser):
    """Collects what a browser would run: script elements, event handlers, javascript: URLs."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "iframe", "object", "embed"):
            self.found.append(tag)
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"{tag} {name}")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"{tag} {name}={value}")


def active_content(html: str) -> list[str]:
    parser = ActiveContent()
    parser.feed(html)
    return parser.found


@pytest.mark.parametrize("content_type", ["text/markdown", "text/x-rst", "text/plain", ""])
def test_hostile_descriptions_are_inert(world, content_type):
    world.release("evil", "1.0", description=HOSTILE, description_content_type=content_type)
    page = world.page("/alice/dev/evil/1.0").text
    assert "click" in page and "upper" in page  # the text is shown
    assert active_content(page) == []


def test_rst_fallback_to_plain_text_when_it_fails(world):
    world.release("broken", "1.0", description=".. raw:: html\n\n   <script>x()</script>\n")
    text = world.page("/alice/dev/broken/1.0").text
    assert "<script>x()" not in text and "&lt;script&gt;" in text


def test_descriptions_are_rendered_once_per_content(world):
    world.page("/alice/dev/hello-web/1.1")
    cache = world.app.stash["web"].descriptions
    renders = cache.renders
    for _ in range(3):
        world.page("/alice/dev/hello-web/1.1")
        world.page("/alice/prod/hello-web/1.1")
    assert cache.renders == renders
    world.release("same-text", "1.0", description="# Hello\n\nNewer **text**",
                  description_content_type="text/markdown")
    world.page("/alice/dev/same-text/1.0")
    assert cache.renders == renders  # same text and type: the cached HTML


def test_theme_overrides_templates_and_static_files(make_app, tmp_path):
    theme = tmp_path / "theme"
    (theme / "templates").mkdir(parents=True)
    (theme / "static").mkdir()
    (theme / "templates" / "root.html").write_text(
        '{% extends "base.html" %}{% block content %}<h1>Company packages</h1>{% endblock %}')
    (theme / "static" / "style.css").write_text("body { color: green; }")
    (theme / "static" / "logo.svg").write_text("<svg/>")
    app = make_app(storage="memory", no_root_pypi=True, web_theme=str(theme))
    web = TestApp(app.wsgi)
    browser = {"Accept": "text/html", "User-Agent": "Mozilla/5.0"}
    assert "<h1>Company packages</h1>" in web.get("/", headers=browser).text
    assert web.get("/+static/style.css").text == "body { color: green; }"
    assert web.get("/+static/logo.svg").body == b"<svg/>"
    assert "<title>" in web.get("/+status", headers=browser).text  # templates it does not override stay


def test_theme_must_be_a_directory(make_app, tmp_path):
    with pytest.raises(ConfigError, match="web-theme"):
        make_app(storage="memory", web_theme=str(tmp_path / "missing"))
