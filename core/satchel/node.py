"""This node's role in replication, as ``satchel_get_node_role`` answers it, and the replica's commit guard.

A replica holds exactly its primary's serials: it imports them (``Storage.import_changes``) and never
commits anything of its own. Core wraps a replica's storage in ``ReplicaStorage``, which refuses a
local commit loudly (an error log line, a count and the last refusals in ``/+status``) and rolls it
back, so a replica whose changelog diverged from its primary's cannot happen silently.
"""

import logging
import threading
import traceback
from contextlib import contextmanager
from collections.abc import Callable
from dataclasses import dataclass, field

from satchel import clock
from satchel.errors import ConfigError, SatchelError

log = logging.getLogger(__name__)
STANDALONE, PRIMARY, REPLICA = "standalone", "primary", "replica"
ROLES = (STANDALONE, PRIMARY, REPLICA)
KEPT_REFUSALS = 20


@dataclass(frozen=True)
class NodeRole:
    """What ``satchel_get_node_role`` returns: ``role`` (one of ``ROLES``) and, for a replica, its primary
    and ``credentials``, a callable giving the headers that authenticate this node to its primary."""

    role: str = STANDALONE
    primary_url: str | None = None
    credentials: Callable[[], dict] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        if self.role not in ROLES:
            raise ConfigError(f"unknown node role {self.role!r} (known: {', '.join(ROLES)})")
        if (self.role == REPLICA) != bool(self.primary_url):
            raise ConfigError("a replica, and only a replica, has a primary URL")
        if self.primary_url:
            object.__setattr__(self, "primary_url", self.primary_url.rstrip("/"))

    @property
    def is_replica(self) -> bool:
        return self.role == REPLICA

    def primary_headers(self) -> dict:
        """Headers for a request to the primary: its credentials (fresh each call; they expire), if any."""
        return dict(self.credentials()) if self.credentials else {}


def ask_node_role(hook, app) -> NodeRole:
    """The plugins' answer, checked; standalone when no plugin has one."""
    answer = hook.satchel_get_node_role(app=app)
    if answer is None:
        return NodeRole()
    if not isinstance(answer, NodeRole):
        raise ConfigError(f"satchel_get_node_role returned {answer!r}, not a satchel.node.NodeRole")
    return answer


class LocalCommitRefused(SatchelError):
    """A replica was about to commit a change of its own; it was rolled back."""


class ReplicaStorage:
    """A replica's storage: everything of the backend, but a write that changes something is refused.

    Writes that change nothing pass (they consume no serial); ``import_changes`` passes (that is how a
    replica's data arrives). Refusals are kept for ``/+status``.
    """

    def __init__(self, storage):
        self._storage = storage
        self._lock = threading.Lock()
        self.refused_count = 0
        self.refused: list[str] = []

    def __getattr__(self, name):
        return getattr(self._storage, name)

    @property
    def backend_storage(self):
        """The wrapped backend (for the few places that need it unguarded: none on a running replica)."""
        return self._storage

    @contextmanager
    def write(self):
        with self._storage.write() as tx:
            yield tx
            if tx.changes:
                self._refuse(sorted(tx.changes))

    def _refuse(self, keys: list[str]) -> None:
        where = traceback.extract_stack(limit=6)[:-3]
        caller = " < ".join(f"{frame.name} ({frame.filename.rsplit('/', 1)[-1]}:{frame.lineno})"
                            for frame in reversed(where))
        shown = ", ".join(keys[:5]) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")
        message = f"refused a local commit of {shown} from {caller}"
        log.error("replica: %s: a replica only imports its primary's changes", message)
        with self._lock:
            self.refused_count += 1
            self.refused.append(f"{clock.iso()} {message}")
            del self.refused[:-KEPT_REFUSALS]
        raise LocalCommitRefused("this replica does not commit changes of its own; the write belongs on "
                                 "the primary (see the replica's log and /+status)")

    def status(self) -> dict:
        """What ``/+status`` shows of refused commits."""
        with self._lock:
            return {"replica-refused-commits": self.refused_count,
                    "replica-refused-commits-recent": list(self.refused)}
