"""Supply-chain policy of a mirror index: minimum release age, blocked and allowed projects.

The options live in the index config, so a change is one committed config change: it is in the
changelog, replicates, and (index config serials being part of every page's cache key) applies at once
to cached pages too.
"""

from bisect import bisect_right

from satchel import clock
from satchel.errors import BadRequest, Forbidden
from satchel.model.coerce import to_list
from satchel.names import check_project_name, normalize_project

POLICY_DEFAULTS = {"mirror_cooldown": 0, "mirror_block": [], "mirror_allow": []}
# the number of aged-in files is folded into a page's serial (its cache key and ETag); far above any count
VISIBLE_SLOTS = 1 << 24


def normalize_policy(config: dict) -> dict:
    """Coerce and check the policy keys of a mirror config (in place), 400 on bad input."""
    cooldown = config.get("mirror_cooldown") or 0
    try:
        config["mirror_cooldown"] = int(cooldown)
    except (TypeError, ValueError):
        raise BadRequest(f"'mirror_cooldown' must be a number of seconds, not {cooldown!r}") from None
    if config["mirror_cooldown"] < 0:
        raise BadRequest("'mirror_cooldown' must not be negative")
    for key in ("mirror_block", "mirror_allow"):
        names = [normalize_project(check_project_name(name)) for name in to_list(config.get(key))]
        config[key] = sorted(set(names))
    return config


def refusal(config: dict, project: str) -> str | None:
    """Why ``project`` is refused by the mirror's block or allow list, or None."""
    if project in config.get("mirror_block", ()):
        return f"project '{project}' is blocked by the mirror policy (mirror_block)"
    allow = config.get("mirror_allow")
    if allow and project not in allow:
        return f"project '{project}' is not allowed by the mirror policy (mirror_allow)"
    return None


def check_project(config: dict, project: str) -> None:
    message = refusal(config, project)
    if message is not None:
        raise Forbidden(message)


def passes(config: dict, project: str) -> bool:
    return refusal(config, project) is None


def upload_epoch(link: dict) -> float | None:
    """A link's upstream upload time (PEP 700 ``upload-time``) in seconds, None when unknown or unreadable."""
    value = link.get("upload_time")
    if not value:
        return None
    when = clock.parse(value)
    return when.timestamp() if when is not None else None


def too_young(config: dict, link: dict, at: float | None = None) -> str | None:
    """Why the file of ``link`` is still held back by ``mirror_cooldown``, or None (files without an upload
    time are served: the upstream gave nothing to judge by)."""
    cooldown = config.get("mirror_cooldown") or 0
    if not cooldown:
        return None
    uploaded = upload_epoch(link)
    if uploaded is None:
        return None
    age = (clock.now() if at is None else at) - uploaded
    if age >= cooldown:
        return None
    return (f"{link['filename']} was uploaded {max(0, int(age))} seconds ago; the mirror policy "
            f"(mirror_cooldown) serves files from {cooldown} seconds after upload")


def filter_record(config: dict, record: dict | None) -> dict | None:
    """The record without files younger than the cooldown, and without versions left with no file."""
    if record is None or not config.get("mirror_cooldown"):
        return record
    at = clock.now()
    kept, held = [], []
    for link in record["files"]:
        (held if too_young(config, link, at) else kept).append(link)
    if not held:
        return record
    gone = {link.get("version") for link in held} - {link.get("version") for link in kept}
    versions = [version for version in record.get("versions", ()) if version not in gone]
    return {**record, "files": kept, "versions": versions}


def upload_times(record: dict | None) -> list[float]:
    """Sorted upload times of a record's files (what ``visible_count`` needs)."""
    return sorted(t for t in (upload_epoch(link) for link in (record or {}).get("files", ())) if t is not None)


def visible_count(config: dict, times: list[float]) -> int:
    """How many timed files have aged in by now: it changes exactly when a file ages in."""
    return bisect_right(times, clock.now() - (config.get("mirror_cooldown") or 0))


def policy_status(config: dict) -> dict:
    """The policy as ``/+status`` shows it."""
    return {key: config.get(key, default) for key, default in POLICY_DEFAULTS.items()}
