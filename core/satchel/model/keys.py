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


def project(stage_name: str, project: str) -> str:
    """The one record per project and index: its links and versions (the simple page source)."""
    return f"projects/{stage_name}/{project}"


def stage_projects(stage_name: str) -> str:
    """Prefix of all project records of an index."""
    return f"projects/{stage_name}/"


def version(stage_name: str, project: str, version: str) -> str:
    """Version metadata of a release."""
    return f"versions/{stage_name}/{project}/{version}"


def project_versions(stage_name: str, project: str) -> str:
    return f"versions/{stage_name}/{project}/"


def file(relpath: str) -> str:
    """A stored file entry, by its URL path ``user/index/+f/abc/defg.../filename``."""
    return f"files/{relpath}"
