"""waitress, set up as ``satchel serve`` runs it: a new connection is answered ahead of busy ones.

waitress queues one task per request and serves them first come, first served. Under many keep-alive
clients asking as fast as they are answered (CI runners, installers resolving big dependency sets), the
queue always holds a request of nearly every busy connection, and a new client's first request waits
behind all of them. ``FavouringQueue`` keeps two lanes instead: the first ``FRESH_REQUESTS`` requests
of a connection go to the fresh lane, later ones to the busy lane. Threads take from the fresh lane
first, but at most ``FRESH_RUN`` times in a row while busy requests wait: busy connections keep at
least one in ``FRESH_RUN + 1`` of the answers, whatever number of new connections arrives.
"""

import logging
import sys
import threading
import time
import weakref
from collections import deque

import waitress
from waitress.task import ThreadedTaskDispatcher

FRESH_REQUESTS = 4  # a connection's first requests go ahead: a new client's look-ups, a pip run's first pages
FRESH_RUN = 4  # fresh requests served in a row while busy ones wait, at most
QUEUE_WARNING_SECONDS = 10.0  # waitress warns on every queued request; once per this period is enough
# How long a thread may keep the GIL while another waits for it (Python's default: 5 ms). waitress' I/O
# thread gives up the GIL for every recv and send; with the worker threads busy it waits up to the whole
# interval to get it back, for each of them. At 200 keep-alive clients that made the I/O thread the
# bottleneck: 150-1,100 req/s from run to run with wrk timeouts at 5 ms, a steady 1,100 at 0.5 ms
# (bench/RESULTS.md, 2026-12-03 13:50).
SWITCH_INTERVAL = 0.0005

queue_log = logging.getLogger("waitress.queue")


class FavouringQueue:
    """The dispatcher's task queue in two lanes, behind the part of deque's interface waitress uses.

    A task is a waitress channel; it is queued once per request it has to serve. Not thread-safe by
    itself: the dispatcher holds its lock around every call.
    """

    def __init__(self, fresh_requests: int = FRESH_REQUESTS, fresh_run: int = FRESH_RUN):
        if fresh_requests < 0 or fresh_run < 1:
            raise ValueError("fresh_requests must be at least 0 and fresh_run at least 1")
        self.fresh_requests = fresh_requests
        self.fresh_run = fresh_run
        self.fresh: deque = deque()
        self.busy: deque = deque()
        self._queued = weakref.WeakKeyDictionary()  # channel -> requests queued so far; gone with it
        self._run = 0  # fresh tasks taken since the last busy one

    def append(self, task) -> None:
        try:
            count = self._queued.get(task, 0)
            self._queued[task] = count + 1
        except TypeError:  # not weakly referable: no history, so no favour
            count = self.fresh_requests
        (self.fresh if count < self.fresh_requests else self.busy).append(task)

    def popleft(self):
        """The next task: fresh first, but a busy one after ``fresh_run`` fresh ones in a row."""
        if self.fresh and (not self.busy or self._run < self.fresh_run):
            self._run = self._run + 1 if self.busy else 0  # a run only counts while busy tasks wait
            return self.fresh.popleft()
        self._run = 0
        return self.busy.popleft()  # IndexError when both are empty, as deque's

    def __len__(self) -> int:
        return len(self.fresh) + len(self.busy)


class FavouringDispatcher(ThreadedTaskDispatcher):
    """waitress' thread pool over a ``FavouringQueue``; its queue warning at most every
    ``QUEUE_WARNING_SECONDS``, written outside the lock every worker thread waits on."""

    def __init__(self, fresh_requests: int = FRESH_REQUESTS, fresh_run: int = FRESH_RUN):
        super().__init__()
        self.queue = FavouringQueue(fresh_requests, fresh_run)
        self._warned_at = float("-inf")
        self._warn_lock = threading.Lock()

    def add_task(self, task) -> None:
        with self.lock:
            self.queue.append(task)
            self.queue_cv.notify()
            waiting = len(self.queue) - (len(self.threads) - self.stop_count - self.active_count)
        if waiting > 0:
            self._warn(waiting)

    def _warn(self, waiting: int) -> None:
        now = time.monotonic()
        if now - self._warned_at < QUEUE_WARNING_SECONDS or not self._warn_lock.acquire(blocking=False):
            return
        try:
            self._warned_at = now
            queue_log.warning("Task queue depth is %d (requests waiting for a thread; next report in %.0f s "
                              "at the earliest)", waiting, QUEUE_WARNING_SECONDS)
        finally:
            self._warn_lock.release()


def set_switch_interval() -> None:
    """Let waitress' I/O thread get the GIL back quickly (``SWITCH_INTERVAL``); for server processes."""
    sys.setswitchinterval(SWITCH_INTERVAL)


def create_server(application, threads: int, **adjustments):
    """``waitress.create_server`` with a ``FavouringDispatcher`` of ``threads`` threads.

    waitress takes a dispatcher only through its ``_dispatcher`` argument (an unknown argument would
    fail loudly as an unknown adjustment). Raises what waitress raises (e.g. ``OSError`` when the
    port is taken), with the threads stopped.
    """
    dispatcher = FavouringDispatcher()
    dispatcher.set_thread_count(threads)
    try:
        return waitress.create_server(application, _dispatcher=dispatcher, threads=threads, **adjustments)
    except BaseException:
        dispatcher.shutdown(timeout=1)
        raise
