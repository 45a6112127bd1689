"""The replica's follower: streams the primary's changelog and imports each serial in order."""

import json
import logging
import threading

import requests

from satchel.progress import terminal_bar

log = logging.getLogger(__name__)
POLL_TIMEOUT = 20  # seconds the primary may hold a long poll
MAX_BACKOFF = 30


class Follower(threading.Thread):
    def __init__(self, replication):
        super().__init__(name="satchel-follower", daemon=True)
        self.replication = replication
        self.app = replication.app
        self.stopping = threading.Event()
        self.bar = None

    def run(self) -> None:
        backoff = 1.0
        while not self.stopping.is_set():
            try:
                self._poll()
                backoff = 1.0
            except Exception as exc:  # network, primary restart, damaged entry: retry later
                self.replication.record_error(str(exc))
                log.warning("replica: following %s failed: %s (retry in %.0fs)",
                            self.replication.primary_url, exc, backoff)
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
        if self.bar is not None:
            self.bar.close()

    def _poll(self) -> None:
        storage = self.app.storage
        replication = self.replication
        start = storage.last_serial() + 1
        response = replication.session.get(
            f"{replication.primary_url}/+changelog/{start}-", params={"timeout": POLL_TIMEOUT},
            headers={**replication.headers(), "Accept": "application/x-satchel-changes+jsonl"},
            stream=True, timeout=(5, POLL_TIMEOUT + 15), allow_redirects=False)
        with response:
            replication.check_primary(response)
            if response.status_code == 202:
                return
            if response.status_code != 200:
                raise requests.HTTPError(f"primary answered {response.status_code}")
            self._progress(start)
            for line in response.iter_lines():
                if self.stopping.is_set():
                    return
                if not line:
                    continue
                entry = json.loads(line)
                serial = entry["serial"]
                if serial != storage.last_serial() + 1:
                    raise ValueError(f"primary sent serial {serial}, expected {storage.last_serial() + 1}")
                storage.import_changes(serial, entry["changes"])
                replication.imported(serial, entry["changes"])
                if self.bar is not None:
                    self.bar.update(1)
                    if self.bar.n >= self.bar.total:  # caught up: show 100% and leave the terminal to the log
                        self.bar.close()
                        self.bar = None

    def _progress(self, start: int) -> None:
        """A bar for the initial catch-up when running on a terminal."""
        behind = self.replication.primary_serial - start + 1
        if self.bar is None and behind > 100:
            self.bar = terminal_bar(total=behind, desc="catching up with the primary", unit="serial")

    def stop(self) -> None:
        self.stopping.set()
