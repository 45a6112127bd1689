"""Per-app replication state: role, primary, follower, file copies, status."""

import logging
from pathlib import Path

import requests

from satchel import clock

from satchel_replica.files import FileReplicator
from satchel_replica.follower import Follower
from satchel_replica.node import load_secret, load_state, resolve_role, save_state
from satchel_replica.signing import replica_headers

log = logging.getLogger(__name__)




class Replication:
    def __init__(self, app):
        self.app = app
        config = app.config
        self.role, self.primary_url = resolve_role(config)
        self.session = requests.Session()
        self.proxy_timeout = float(config.get("proxy_timeout") or 30)
        self.errors: list[str] = []
        self.primary_serial = -1
        self.primary_uuid: str | None = None
        self.last_contact: float | None = None
        self.in_sync_at: float | None = None
        self.replicas: dict[str, dict] = {}  # on a primary: who polls
        self._key: bytes | None = None
        self.follower: Follower | None = None
        self.files: FileReplicator | None = None
        if self.role == "replica":
            state = load_state(config.serverdir) or {}
            self.primary_uuid = state.get("primary_uuid")
            save_state(config.serverdir, {**state, "primary_url": self.primary_url})

    @property
    def key(self) -> bytes:
        if self._key is None:
            self._key = load_secret(self.app.config)
        return self._key

    def headers(self) -> dict:
        return replica_headers(self.key, self.app.node_uuid, self.app.config.get("outside_url"))

    # --- replica side ----------------------------------------------------------------------

    def start(self) -> None:
        if self.role != "replica":
            return
        self.key  # fail early without the shared secret
        config = self.app.config
        search_paths = [p for p in (config.get("replica_file_search_path") or "").split(",") if p]
        self.files = FileReplicator(self, int(config.get("file_replication_threads") or 5),
                                    [Path(p) for p in search_paths])
        self.files.start()
        self._requeue_missing()
        self.follower = Follower(self)
        self.follower.start()

    def _requeue_missing(self) -> None:
        """After a restart: copy what earlier imports referenced but never arrived."""
        with self.app.storage.read() as tx:
            for kind in ("files/", "attachments/", "indexstate/"):
                changes = {key: [-1, value] for key, value in tx.items(kind)}
                self.files.enqueue(changes)

    def check_primary(self, response) -> None:
        uuid = response.headers.get("X-Devpi-Primary-Uuid") or response.headers.get("X-Devpi-Master-Uuid")
        if not uuid:
            raise requests.HTTPError("the primary's answer lacks X-Devpi-Primary-Uuid")
        if self.primary_uuid is None:
            self.primary_uuid = uuid
            state = load_state(self.app.config.serverdir) or {}
            save_state(self.app.config.serverdir, {**state, "primary_uuid": uuid})
        elif uuid != self.primary_uuid:
            raise requests.HTTPError(f"primary uuid changed from {self.primary_uuid} to {uuid}: not following")
        serial = response.headers.get("X-Devpi-Serial", "")
        if serial.lstrip("-").isdigit():
            self.primary_serial = int(serial)
        self.last_contact = clock.now()
        if self.app.storage.last_serial() >= self.primary_serial:
            self.in_sync_at = clock.now()

    def record_error(self, message: str) -> None:
        self.errors.append(f"{clock.iso()} {message}")
        del self.errors[:-20]

    def imported(self, serial: int, changes: dict) -> None:
        self.primary_serial = max(self.primary_serial, serial)
        if serial >= self.primary_serial:
            self.in_sync_at = clock.now()
        self.files.enqueue(changes)

    def stop(self) -> None:
        if self.follower is not None:
            self.follower.stop()
        if self.files is not None:
            self.files.stop()
        self.session.close()

    # --- primary side ----------------------------------------------------------------------

    def polled(self, replica_uuid: str, request) -> None:
        self.replicas[replica_uuid] = {
            "remote-ip": request.remote_addr, "serial": request.matchdict.get("serial"),
            "last-request": clock.iso(), "outside-url": request.headers.get("X-Devpi-Replica-Outside-Url")}

    # --- status ----------------------------------------------------------------------------

    def status(self) -> dict:
        if self.role == "primary":
            return {"polling_replicas": self.replicas}
        if self.role != "replica":
            return {}
        serial = self.app.storage.last_serial()
        lag = max(self.primary_serial - serial, 0)
        stamp = (lambda t: clock.iso(t) if t else None)
        return {
            "primary-url": self.primary_url, "primary-uuid": self.primary_uuid,
            "primary-serial": self.primary_serial, "serial": serial, "replication-lag-serials": lag,
            "replication-lag-seconds": 0 if lag == 0 else (clock.now() - self.in_sync_at if self.in_sync_at else None),
            "primary-contacted-at": stamp(self.last_contact), "replica-in-sync-at": stamp(self.in_sync_at),
            "files-pending": len(self.files.pending) if self.files else 0,
            "replication-errors": list(self.errors),
        }
