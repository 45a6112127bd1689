"""Name rules: PEP 503 project normalization, user and index names as devpi allows them."""

import re

from packaging.utils import canonicalize_name

from satchel.errors import InvalidName

# devpi blocks every ASCII symbol except -.@_ plus spaces and control characters.
_BLOCKED = re.compile(r"[\x00-\x20!\"#$%&'()*+,/:;<=>?\[\\\]^`{|}~\x7f]")
_PROJECT_RE = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)


def normalize_project(name: str) -> str:
    """PEP 503 normalized form of a project name."""
    return canonicalize_name(name)


def _check(kind: str, name: str) -> str:
    if not name or _BLOCKED.search(name):
        raise InvalidName(
            f"{kind} {name!r} contains characters that aren't allowed. "
            "Any ascii symbol besides -.@_ is blocked."
        )
    return name


def check_username(name: str) -> str:
    """Return ``name`` or raise InvalidName naming the rule broken."""
    return _check("username", name)


def check_indexname(name: str) -> str:
    """Return ``name`` or raise InvalidName naming the rule broken."""
    return _check("indexname", name)


def check_project_name(name: str) -> str:
    """Validate a project name as given on upload (PEP 508 name rule); return it."""
    if not name.isascii():
        raise InvalidName("unicode project names not allowed")
    if not _PROJECT_RE.match(name):
        raise InvalidName(
            f"invalid project name {name!r}: use letters, digits, '.', '_' and '-', "
            "starting and ending with a letter or digit"
        )
    return name
