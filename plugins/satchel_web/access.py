"""Which indexes a requester may see: every listing and search result goes through here."""

from satchel.model import users
from satchel.model.indexes import list_stages

READ = "pkg_read"  # the permission guarding an index's packages (core grants it when no plugin objects)


def can_read(request, stage) -> bool:
    """Core's read permission for the index's packages (``satchel_permits`` decides; context: the Stage)."""
    return request.permits(READ, stage)


def readable_stages(request, username: str):
    return [stage for stage in list_stages(request.tx, request.app, username) if can_read(request, stage)]


def readable_index_names(request) -> set[str]:
    return {stage.name for username in users.list_usernames(request.tx)
            for stage in readable_stages(request, username)}
