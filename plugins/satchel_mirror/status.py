"""``/+status`` of each mirror index: upstream contact and failures, what is cached on disk."""

from satchel.model import keys
from satchel.model.indexes import list_stages
from satchel.model.users import list_usernames

from satchel_mirror.policy import policy_status
from satchel_mirror.runtime import runtime


def _cached_totals(app) -> dict:
    """``{index: {"pages-cached", "files-cached", "bytes-cached", "url"}}`` from storage."""
    totals = {}
    with app.storage.read() as tx:
        for user in list_usernames(tx):
            for stage in list_stages(tx, app, user):
                if not stage.is_mirror:
                    continue
                size = count = 0
                for _, entry in tx.items(keys.file(f"{stage.name}/")):
                    count += 1
                    size += entry.get("size") or 0
                totals[stage.name] = {
                    "mirror_url": stage.public_config.get("mirror_url"), "policy": policy_status(stage.config),
                    "pages-cached": len(tx.keys(keys.index_projects(stage.name))),
                    "files-cached": count, "bytes-cached": size}
    return totals


def mirror_status(app) -> dict:
    found = runtime(app)
    serial = app.storage.last_serial()
    cached = found.status_cache
    if cached is None or cached[0] != serial:  # counting reads every file entry: only after changes
        cached = found.status_cache = (serial, _cached_totals(app))
    result = {}
    for name, totals in sorted(cached[1].items()):
        state = found.states.get(name)
        result[name] = {**totals, **(state.stats.as_dict() if state is not None else
                                     {"last-upstream-contact": None, "upstream-failures": 0}),
                        "upstream-retry-in": round(state.retry_in(), 1) if state is not None else 0.0}
    return result
