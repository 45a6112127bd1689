"""What the search index holds, derived from storage keys: one row per version of a project
on an index (its metadata), and one name row per project an index has (version ``""``),
which for a mirror includes every name of its upstream project list.
"""

from dataclasses import dataclass

from satchel.model import keys
from satchel.model import users
from satchel.model.indexes import get_stage, list_stages

MAX_DESCRIPTION = 50_000  # characters of a description that are searchable


@dataclass
class Document:
    index_name: str
    project: str  # normalized
    version: str  # "" for a project's name row
    display: str = ""
    summary: str = ""
    description: str = ""
    keywords: str = ""


def version_document(index_name: str, project: str, version: str, metadata: dict) -> Document:
    keywords = metadata.get("keywords") or ""
    if isinstance(keywords, (list, tuple)):
        keywords = " ".join(str(k) for k in keywords)
    return Document(index_name, project, version, str(metadata.get("name") or project),
                    str(metadata.get("summary") or ""),
                    str(metadata.get("description") or "")[:MAX_DESCRIPTION], str(keywords))


def name_document(index_name: str, project: str, display: str | None = None) -> Document:
    return Document(index_name, project, "", display or project)


@dataclass
class Change:
    """One thing to do to the search index: ``upsert`` a document, ``drop`` rows, ``resync`` names."""

    action: str
    index_name: str
    project: str | None = None
    version: str | None = None
    document: Document | None = None


def changes_of(changes: dict) -> list[Change]:
    """Search-index changes for one changelog entry ``{key: [back_serial, value]}``."""
    result = []
    for key, (_, value) in changes.items():
        kind, _, rest = key.partition("/")
        if kind == "versions":
            user, index, project, version = (rest.split("/", 3) + ["", "", "", ""])[:4]
            name = f"{user}/{index}"
            if value is None:
                result.append(Change("drop", name, project, version))
            else:
                result.append(Change("upsert", name, document=version_document(name, project, version, value)))
        elif kind == "projects":
            user, index, project = (rest.split("/", 2) + ["", "", ""])[:3]
            name = f"{user}/{index}"
            if value is None:
                result.append(Change("drop", name, project))
            else:
                result.append(Change("upsert", name, document=name_document(name, project, value.get("name"))))
        elif kind == "indexes" and value is None:
            result.append(Change("drop", rest))
        elif kind == "indexstate":
            user, index, _ = (rest.split("/", 2) + ["", "", ""])[:3]
            # a plugin's per-index state changed: for a mirror that is its upstream name list
            result.append(Change("resync", f"{user}/{index}"))
    return result


def mirror_names(app, tx, index_name: str):
    """The project names a mirror index lists, or None when ``index_name`` is no mirror."""
    username, _, indexname = index_name.partition("/")
    stage = get_stage(tx, app, username, indexname)
    if stage is None or not stage.is_mirror:
        return None
    return stage.list_projects(tx)


def all_documents(app, tx):
    """Every document of the stored data at the snapshot ``tx`` (for a rebuild)."""
    for username in users.list_usernames(tx):
        for stage in list_stages(tx, app, username):
            prefix = keys.index_projects(stage.name)
            for key, record in tx.items(prefix):
                yield name_document(stage.name, key[len(prefix):], (record or {}).get("name"))
            if stage.is_mirror:
                if tx.keys(keys.index_state(stage.name, "")):
                    for name in stage.list_projects(tx):
                        yield name_document(stage.name, name)
                continue
            vprefix = next(p for p in keys.index_scoped_prefixes(stage.name) if p.startswith("versions/"))
            for key, metadata in tx.items(vprefix):
                project, _, version = key[len(vprefix):].partition("/")
                yield version_document(stage.name, project, version, metadata or {})
