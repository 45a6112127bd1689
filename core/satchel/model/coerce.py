"""Coercing input given as strings: index configs (devpi-client sends booleans and lists as strings) and options."""

from satchel.errors import BadRequest


TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def to_bool(value, error: type[Exception] = BadRequest) -> bool:
    """A bool, or a word: 1/true/yes/on or 0/false/no/off (any case; empty is false); else raise ``error``.

    The one reading of booleans for index configs (devpi-client sends strings) and options (environment, file).
    """
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise error(f"Unknown boolean value {value!r}.")


def to_list(value) -> list[str]:
    """A list, or a comma separated string; None is empty."""
    if value is None:
        return []
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value]
    raise BadRequest(f"expected a list or a comma separated string, got {value!r}")
