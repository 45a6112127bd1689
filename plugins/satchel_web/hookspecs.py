"""Hooks the web UI declares (added through ``satchel_add_hookspecs``); documented in docs/web.md.

Other plugins implement them without importing satchel_web.
"""

from satchel.plugin import hookspec


@hookspec
def satchel_web_version_sections(request, stage, project, version, metadata, links):
    """Extra sections of a version page.

    ``stage`` is the index the page is shown for, ``metadata`` the version's metadata dict,
    ``links`` the version's files and attachments (dicts with ``rel``, ``filename``, ``path``,
    ``origin`` ...). Return a ``satchel_web.sections.Section``-like object (``title``, ``html``
    (markup, already escaped), ``order``) or a list of them, or None.
    """


@hookspec(firstresult=True)
def satchel_web_search_backend(app):
    """The search backend of the web UI: an object with ``search(query, readable, offset, limit)``,
    ``sync()``, ``rebuild(progress)`` and ``close()`` (see ``satchel_web.search.backend``).

    Called once per app; the built-in SQLite FTS5 backend answers last (``trylast``), so a storage
    plugin (e.g. PostgreSQL) can answer with its own full-text search.
    """
