"""Storage key templates. Plugins declare their own keys under their own prefix.

User and index names never contain ``/`` (see satchel.names), so prefixes are unambiguous.
"""

USERS = "users/"
INDEXES = "indexes/"


def user(username: str) -> str:
    return f"users/{username}"


def index(username: str, indexname: str) -> str:
    return f"indexes/{username}/{indexname}"


def user_indexes(username: str) -> str:
    """Prefix of all index configs of a user."""
    return f"indexes/{username}/"


def project(index_name: str, project: str) -> str:
    """Per project and index: its display name, rewritten on every change of its links.

    The versions are the ``version`` keys under ``project_versions``; the record holds no list of them.
    """
    return f"projects/{index_name}/{project}"


def link(index_name: str, project: str, filename: str) -> str:
    """One file link of a private project (its own key, so an upload never rewrites the others)."""
    return f"links/{index_name}/{project}/{filename}"


def project_links(index_name: str, project: str) -> str:
    return f"links/{index_name}/{project}/"


def index_projects(index_name: str) -> str:
    """Prefix of all project records of an index."""
    return f"projects/{index_name}/"


def version(index_name: str, project: str, version: str) -> str:
    """Version metadata of a release."""
    return f"versions/{index_name}/{project}/{version}"


def project_versions(index_name: str, project: str) -> str:
    return f"versions/{index_name}/{project}/"


def file(relpath: str) -> str:
    """A stored file entry, by its URL path ``user/index/+f/abc/defg.../filename``."""
    return f"files/{relpath}"


def attachment(index_name: str, project: str, version: str, filename: str) -> str:
    """A doc zip or tox result of a release: its link (rel, path, hashes, for_path)."""
    return f"attachments/{index_name}/{project}/{version}/{filename}"


def version_attachments(index_name: str, project: str, version: str) -> str:
    return f"attachments/{index_name}/{project}/{version}/"


def project_attachments(index_name: str, project: str) -> str:
    return f"attachments/{index_name}/{project}/"


def tombstone(relpath: str) -> str:
    """Marks a file URL whose file was deleted, so a GET answers 410 instead of 404.

    Not under ``files/``: the event dispatcher reads every ``files/`` value as an upload.
    """
    return f"tombstones/{relpath}"


def index_state(index_name: str, name: str) -> str:
    """A plugin's own per-index record (e.g. a mirror's upstream project list); deleted with the index."""
    return f"indexstate/{index_name}/{name}"


# kinds of keys that live below "<kind>/<user>/<index>/": deleting an index deletes them all
INDEX_SCOPED_KINDS = ("projects", "links", "versions", "files", "attachments", "tombstones", "indexstate")


def index_scoped_prefixes(index_name: str) -> list[str]:
    return [f"{kind}/{index_name}/" for kind in INDEX_SCOPED_KINDS]
