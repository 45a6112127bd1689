"""The ``mirror`` index type's Stage: project data comes from upstream, cached in storage."""

import re

from satchel.model import keys
from satchel.model.indexes import Stage

from satchel_mirror import names, policy
from satchel_mirror.runtime import mirror_state, runtime

# a normalized PEP 503 name: anything else is never sent upstream nor used in a key
_NORMALIZED = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")


def valid_project(project: str) -> bool:
    return bool(_NORMALIZED.fullmatch(project)) and "--" not in project


class MirrorStage(Stage):
    """Project pages fetched from ``mirror_url``; in offline mode only what is cached locally."""

    @property
    def state(self):
        return mirror_state(self.app, self.name, self.config.get("mirror_url", ""))

    def _offline(self) -> bool:
        return bool(self.app.config.get("offline_mode"))

    def get_project(self, tx, project: str) -> dict | None:
        if not valid_project(project):
            return None
        policy.check_project(self.config, project)  # before anything is fetched
        record, _ = self.state.project(self, tx, project)
        record = policy.filter_record(self.config, record)
        if record is None:
            return None
        if self._offline():
            cached = [link for link in record["files"] if tx.get(keys.file(link["path"])) is not None]
            return {**record, "files": cached}
        return record

    def project_serial(self, tx, project: str) -> int:
        if not valid_project(project):
            return -1
        policy.check_project(self.config, project)
        serial = self.state.serial(self, tx, project)
        if serial == -1 or not self.config.get("mirror_cooldown"):
            return serial
        # the page changes when a file ages in, without any new record: count those into the serial
        return serial * policy.VISIBLE_SLOTS + policy.visible_count(self.config, self._upload_times(tx, project,
                                                                                                    serial))

    def _upload_times(self, tx, project: str, serial: int) -> list[float]:
        """Sorted upload times of the record at ``serial``, remembered so the hot path decodes nothing."""
        cache = runtime(self.app).upload_times
        found = cache.get((self.name, project))
        if found is not None and found[0] == serial:
            return found[1]
        times = policy.upload_times(self.state.newest(tx, project)[0])
        if len(cache) > 4096:
            cache.clear()
        cache[(self.name, project)] = (serial, times)
        return times

    def page_headers(self, tx, project: str) -> dict[str, str]:
        """devpi's ``X-PYPI-LAST-SERIAL``: the upstream serial of the page served."""
        if not valid_project(project):
            return {}
        serial = self.state.upstream_serial(tx, project)
        return {"X-PYPI-LAST-SERIAL": str(serial)} if isinstance(serial, int) and serial > 0 else {}

    def list_projects(self, tx):
        """Upstream names, streamed from the stored list (refreshed in the background)."""
        if self.config.get("mirror_no_project_list") or self._offline():
            found = super().list_projects(tx)
        else:
            found = names.project_names(self, tx)
        if self.config.get("mirror_block") or self.config.get("mirror_allow"):
            return (name for name in found if policy.passes(self.config, name))
        return found
