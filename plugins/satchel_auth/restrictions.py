"""What an API token may do: devpi-tokens' first-party caveats, read into one ``Restrictions``.

Caveats are ``key=value`` (``expires``, ``not_before``, ``allowed``, ``indexes``, ``projects``; lists comma
separated) as devpi-tokens writes them, or the JSON forms PyPI's tokens use (``{"version": 1, "permissions":
...}``, ``{"nbf", "exp"}``, ``[0, exp, nbf]``, ``[1, [projects]]``). Several caveats narrow each other: a
derived token can only lose rights. An unknown caveat makes the token invalid.
"""

import json
from dataclasses import dataclass, field

from satchel.names import normalize_project

ONE_YEAR = 366 * 24 * 3600  # devpi-tokens' default and maximum lifetime (a leap year)
LIST_KEYS = ("allowed", "indexes", "projects")
KNOWN_KEYS = ("expires", "not_before", *LIST_KEYS)


class InvalidToken(ValueError):
    """A caveat that can't be read."""


@dataclass
class Restrictions:
    expires: int | None = None  # None: never
    not_before: int | None = None
    allowed: set[str] | None = None  # None: no restriction
    indexes: set[str] | None = None
    projects: set[str] | None = None
    caveats: list[str] = field(default_factory=list)

    def narrow(self, key: str, value) -> None:
        if key == "expires":
            self.expires = value if self.expires is None else min(self.expires, value)
        elif key == "not_before":
            self.not_before = value if self.not_before is None else max(self.not_before, value)
        else:
            current = getattr(self, key)
            setattr(self, key, set(value) if current is None else current & set(value))

    def time_refusal(self, now: float) -> str | None:
        if self.expires is not None and now >= self.expires:
            return f"Token expired at {self.expires}"
        if self.not_before is not None and now < self.not_before:
            return f"Token not valid before {self.not_before}"
        return None

    def index_refusal(self, index_name: str | None) -> str | None:
        if index_name is not None and self.indexes is not None and index_name not in self.indexes:
            return f"Token denied access to index '{index_name}'"
        return None

    def project_refusal(self, project: str | None) -> str | None:
        if project is None or self.projects is None:
            return None
        if normalize_project(project) not in self.projects:
            return f"Token denied access to project '{normalize_project(project)}'"
        return None

    def permits(self, permission: str) -> bool:
        """A token never modifies its user; with ``allowed`` only those permissions remain."""
        if permission.startswith("user_"):
            return False
        return self.allowed is None or permission in self.allowed


def _int(value, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidToken(f"invalid {what} {value!r} in token") from None


def _names(values, key: str) -> list[str]:
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
        raise InvalidToken(f"invalid {key} list in token")
    values = [v.strip() for v in values]
    return [normalize_project(v) for v in values] if key == "projects" else values


def _read_json(data, found: Restrictions) -> None:
    if isinstance(data, dict) and "version" in data and "permissions" in data:
        if data["version"] != 1:
            raise InvalidToken("invalid version in token")
        permissions = data["permissions"]
        if permissions == "user":
            return
        if not isinstance(permissions, dict) or not isinstance(permissions.get("projects"), list):
            raise InvalidToken("invalid permissions in token")
        found.narrow("projects", _names(permissions["projects"], "projects"))
    elif isinstance(data, dict) and "nbf" in data and "exp" in data:
        found.narrow("not_before", _int(data["nbf"], "nbf"))
        found.narrow("expires", _int(data["exp"], "exp"))
    elif isinstance(data, list) and len(data) == 3 and data[0] == 0:
        found.narrow("expires", _int(data[1], "expiry"))
        found.narrow("not_before", _int(data[2], "not-before"))
    elif isinstance(data, list) and len(data) == 2 and data[0] == 1:
        found.narrow("projects", _names(data[1], "projects"))
    else:
        raise InvalidToken("unknown caveat in token")


def read_caveats(caveats: list[str]) -> Restrictions:
    """The restrictions of a macaroon's caveat ids (text); InvalidToken for anything unknown."""
    found = Restrictions(caveats=list(caveats))
    for caveat in caveats:
        if caveat.startswith(("{", "[")):
            try:
                data = json.loads(caveat)
            except ValueError:
                raise InvalidToken("unreadable caveat in token") from None
            _read_json(data, found)
            continue
        key, sep, value = caveat.partition("=")
        if not sep or key not in KNOWN_KEYS:
            raise InvalidToken(f"unknown caveat {key!r} in token")
        if key in LIST_KEYS:
            found.narrow(key, _names(value.split(","), key))
        elif key == "expires":
            if value != "never":
                found.narrow("expires", _int(value, "expires"))
        else:
            found.narrow("not_before", _int(value, "not_before"))
    return found
