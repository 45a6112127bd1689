"""``satchel mirror-prune DAYS [USER/INDEX]``: delete cached mirror files not requested for DAYS days."""

import sys

from satchel import clock
from satchel.app import App
from satchel.errors import ConfigError
from satchel.model.indexes import list_stages
from satchel.model.users import list_usernames
from satchel.progress import no_progress
from satchel.progress import progress as satchel_progress


def _mirror_stages(app, tx, only: str | None):
    stages = [stage for user in list_usernames(tx) for stage in list_stages(tx, app, user) if stage.is_mirror]
    if only:
        stages = [stage for stage in stages if stage.name == only]
        if not stages:
            raise ConfigError(f"no mirror index {only}")
    return stages


def _referenced_blobs(tx) -> set[str]:
    referenced = set()
    for _, entry in tx.items("files/"):
        referenced.add(entry.get("sha256"))
        referenced.add(entry.get("metadata_sha256"))
    for _, entry in tx.items("indexstate/"):
        if isinstance(entry, dict):
            referenced.add(entry.get("sha256"))
    for _, entry in tx.items("attachments/"):
        referenced.update((entry.get("hashes") or {}).values())
    return referenced


def prune(app, days: int, only: str | None = None, progress: bool = False) -> tuple[int, int]:
    """Remove cached mirror files last requested more than ``days`` ago; ``(files, bytes freed)``.

    ``progress``: show it (a bar on a terminal, log lines otherwise).
    """
    show = satchel_progress if progress else no_progress
    cutoff = clock.day(clock.now() - days * 86400)
    with app.storage.read() as tx:
        old = []
        for stage in _mirror_stages(app, tx, only):
            for key, entry in tx.items(f"files/{stage.name}/"):
                if (entry.get("last_access") or "") < cutoff:
                    old.append((key, entry))
    with app.storage.write() as tx:
        for key, _ in show(old, total=len(old), desc="forgetting files", unit="file"):
            tx.delete(key)
    return len(old), free_blobs(app, old, show)


def free_blobs(app, entries: list[tuple[str, dict]], show=None) -> int:
    """Delete the blobs of file entries already deleted, unless something else still refers to them.

    Returns the bytes freed.
    """
    with app.storage.read() as tx:
        referenced = _referenced_blobs(tx)
    freed = 0
    for _, entry in (show or no_progress)(entries, total=len(entries), desc="freeing space", unit="file"):
        for sha256 in (entry.get("sha256"), entry.get("metadata_sha256")):
            if sha256 and sha256 not in referenced and app.storage.blobs.exists(sha256):
                freed += entry.get("size", 0) if sha256 == entry.get("sha256") else 0
                app.storage.blobs.delete(sha256)
    return freed


def prune_command(config, pluginmanager) -> int:
    try:
        days = int(config.get("days") or "")
    except ValueError:
        raise ConfigError("give the number of days: satchel mirror-prune DAYS [USER/INDEX]") from None
    if days < 0:
        raise ConfigError("DAYS must not be negative")
    with App(config, pluginmanager) as app:
        count, freed = prune(app, days, config.get("index"), progress=True)
    print(f"removed {count} cached mirror files, freed {freed} bytes", file=sys.stderr)
    return 0
