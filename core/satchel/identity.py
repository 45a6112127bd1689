"""Who made a request: value type shared by core and the auth plugins."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Identity:
    """An authenticated user (``username`` set) or anonymous (``username`` None)."""

    username: str | None = None
    groups: tuple[str, ...] = ()

    @property
    def is_anonymous(self) -> bool:
        return self.username is None


ANONYMOUS = Identity()
