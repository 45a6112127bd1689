"""Coercing index config input: devpi-client sends booleans and lists as strings."""

from satchel.errors import BadRequest


def to_bool(value) -> bool:
    """A bool, or one of the words true/yes/false/no (any case); else 400."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in ("true", "yes"):
        return True
    if word in ("false", "no"):
        return False
    raise BadRequest(f"Unknown boolean value {value!r}.")


def to_list(value) -> list[str]:
    """A list, or a comma separated string; None is empty."""
    if value is None:
        return []
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value]
    raise BadRequest(f"expected a list or a comma separated string, got {value!r}")
