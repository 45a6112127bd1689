"""The web UI's own hooks, implemented by other plugins without importing satchel_web."""

from dataclasses import dataclass, field

from markupsafe import escape

from satchel.plugin import hookimpl


@dataclass
class Section:
    title: str
    html: str
    order: int = 100
    id: str = ""


class WheelList:
    """A plugin adding a version-page section."""

    @hookimpl
    def satchel_web_version_sections(self, request, stage, project, version, metadata, links):
        wheels = [link["filename"] for link in links if link["filename"].endswith(".whl")]
        return Section("Wheels <b>here</b>", "<p>" + str(escape(", ".join(wheels))) + "</p>", order=10, id="wheels")


def test_a_plugin_adds_a_version_page_section(make_world):
    world = make_world(plugins=[WheelList()])
    text = world.page("/alice/dev/hello-web/1.0").text
    section = text[text.index('id="wheels"'):]
    assert "Wheels &lt;b&gt;here&lt;/b&gt;" in section  # titles are escaped, html is the plugin's
    assert "<p>hello_web-1.0-py3-none-any.whl</p>" in section


@dataclass
class Hit:
    project: str
    display: str
    summary: str = ""
    indexes: list = field(default_factory=list)


@dataclass
class Result:
    hits: list
    total: int


class ListBackend:
    """A search backend of another plugin: substring match over the names it was told about."""

    name = "list"

    def __init__(self, app):
        self.app = app
        self.calls = []

    def search(self, query, readable, offset=0, limit=20):
        self.calls.append(query.text)
        words = [word for _, words in query.terms for word in words]
        with self.app.storage.read() as tx:
            names = sorted(key.split("/")[-1] for key in tx.keys("projects/alice/dev/"))
        found = [Hit(name, name, "from the list backend", [("alice/dev", [])])
                 for name in names if all(word in name for word in words) and readable("alice/dev")]
        return Result(found[offset:offset + limit], len(found))

    def sync(self):
        return self.app.storage.last_serial()

    def rebuild(self, progress=None):
        return self.sync()

    def status(self):
        return {"backend": self.name}

    def close(self):
        pass


class ListSearch:
    @hookimpl
    def satchel_web_search_backend(self, app):
        self.backend = ListBackend(app)
        return self.backend


def test_a_plugin_answers_searches(make_world):
    plugin = ListSearch()
    world = make_world(plugins=[plugin])
    text = world.page("/+search?query=web").text
    assert "from the list backend" in text and 'href="/alice/dev/hello-web"' in text
    assert plugin.backend.calls == ["web"]
    assert world.web.get("/+status", headers=world.HEADERS["json"]).json["result"]["web-search"] == {"backend": "list"}
