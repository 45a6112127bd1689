"""The upload log of a file stored over an existing one, as devpi keeps it.

A replaced file's log starts afresh with one ``overwrite`` entry whose ``count`` says how often the name has
been overwritten; the replaced file's own entries go with it.
"""

from satchel.model.projects import log_entry


def overwrite_log(old_entry: dict | None) -> list:
    """``[]`` for a new file; ``[overwrite entry]`` when ``old_entry`` (the replaced file's entry) exists."""
    if old_entry is None:
        return []
    count = sum(item.get("count", 0) for item in old_entry.get("log", ()) if item.get("what") == "overwrite")
    return [log_entry("overwrite", None, count=count + 1)]
