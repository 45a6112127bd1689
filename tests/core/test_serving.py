"""The task queue of ``satchel serve``: a connection's first requests go ahead, busy ones still progress."""

import logging
import signal
import sys

import pytest

from satchel import cli, serving
from satchel.serving import FavouringDispatcher, FavouringQueue


class Channel:
    """Stands for a waitress channel: queued once per request it has to serve."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


def warmed(queue, name, requests):
    """A channel that already had ``requests`` requests queued and served."""
    channel = Channel(name)
    for _ in range(requests):
        queue.append(channel)
        assert queue.popleft() is channel
    return channel


def drain(queue):
    order = []
    while queue:
        order.append(queue.popleft())
    return order


def test_a_new_connections_request_is_served_before_those_of_busy_connections():
    queue = FavouringQueue(fresh_requests=4, fresh_run=4)
    busy = [warmed(queue, f"busy{n}", 4) for n in range(5)]
    for channel in busy:
        queue.append(channel)
    newcomer = Channel("new")
    queue.append(newcomer)
    assert drain(queue) == [newcomer, *busy]


def test_only_the_first_requests_of_a_connection_are_favoured():
    queue = FavouringQueue(fresh_requests=2, fresh_run=4)
    old = warmed(queue, "old", 5)
    queue.append(old)  # waits while the client's first two requests go ahead
    client = Channel("client")
    queue.append(client)
    assert queue.popleft() is client
    queue.append(client)
    assert queue.popleft() is client
    queue.append(client)  # its third queues behind the old connection
    assert drain(queue) == [old, client]


def test_busy_connections_get_one_answer_after_each_run_of_fresh_ones():
    queue = FavouringQueue(fresh_requests=4, fresh_run=3)
    busy = [warmed(queue, f"busy{n}", 4) for n in range(2)]
    for channel in busy:
        queue.append(channel)
    newcomers = [Channel(f"new{n}") for n in range(7)]
    for channel in newcomers:
        queue.append(channel)
    assert drain(queue) == [*newcomers[:3], busy[0], *newcomers[3:6], busy[1], newcomers[6]]


def test_fresh_requests_served_while_nothing_else_waits_start_no_run():
    queue = FavouringQueue(fresh_requests=4, fresh_run=2)
    for n in range(10):  # a quiet server: fresh requests one after another, no busy one waiting
        queue.append(Channel(f"quiet{n}"))
        queue.popleft()
    old = warmed(queue, "old", 4)
    queue.append(old)
    first, second = Channel("a"), Channel("b")
    queue.append(first)
    queue.append(second)
    assert drain(queue) == [first, second, old]


def test_an_empty_queue_raises_as_a_deque_does():
    queue = FavouringQueue()
    assert len(queue) == 0 and not queue
    with pytest.raises(IndexError):
        queue.popleft()


def test_a_task_without_weak_references_is_queued_as_busy():
    queue = FavouringQueue(fresh_requests=4, fresh_run=1)
    old = warmed(queue, "old", 4)
    queue.append(old)
    queue.append(("a", "tuple"))  # cannot be weakly referenced: no history kept
    fresh = Channel("fresh")
    queue.append(fresh)
    assert drain(queue) == [fresh, old, ("a", "tuple")]


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        FavouringQueue(fresh_run=0)
    with pytest.raises(ValueError):
        FavouringQueue(fresh_requests=-1)


def test_the_dispatcher_runs_tasks_and_cancels_pending_ones_on_shutdown():
    dispatcher = FavouringDispatcher()

    class Task(Channel):
        served = cancelled = False

        def service(self):
            self.served = True

        def cancel(self):
            self.cancelled = True

    pending = [Task(f"t{n}") for n in range(3)]
    for task in pending:  # no thread yet: they wait in the queue
        dispatcher.add_task(task)
    assert len(dispatcher.queue) == 3
    dispatcher.shutdown(timeout=1)
    assert all(task.cancelled and not task.served for task in pending)


def test_the_queue_warning_is_written_once_per_period(caplog, monkeypatch):
    dispatcher = FavouringDispatcher()
    caplog.set_level(logging.WARNING, logger="waitress.queue")
    for n in range(50):  # no threads: every task waits
        dispatcher.add_task(Channel(f"t{n}"))
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == ["Task queue depth is 1"]
    monkeypatch.setattr(dispatcher, "_warned_at", dispatcher._warned_at - serving.QUEUE_WARNING_SECONDS)
    dispatcher.add_task(Channel("later"))
    assert caplog.records[-1].getMessage().startswith("Task queue depth is 51")


def test_create_server_serves_through_the_favouring_dispatcher_and_stops_its_threads_on_failure(monkeypatch):
    made = []

    class Recorded(FavouringDispatcher):
        def __init__(self):
            super().__init__()
            made.append(self)

    def app(environ, start_response):
        start_response("200 OK", [])
        return [b""]

    monkeypatch.setattr(serving, "FavouringDispatcher", Recorded)
    server = serving.create_server(app, 2, host="127.0.0.1", port=0)
    try:
        assert server.task_dispatcher is made[0]
        assert len(made[0].threads) == 2
        with pytest.raises(OSError):  # the port is taken
            serving.create_server(app, 2, host="127.0.0.1", port=server.effective_port)
        assert made[1].threads == set()
    finally:
        server.close()
        server.task_dispatcher.shutdown(timeout=1)


def test_a_server_process_hands_the_gil_over_sooner_than_pythons_default():
    before = sys.getswitchinterval()
    try:
        serving.set_switch_interval()
        assert sys.getswitchinterval() == pytest.approx(serving.SWITCH_INTERVAL)
        assert serving.SWITCH_INTERVAL < 0.005  # Python's default, which starves waitress' I/O thread
    finally:
        sys.setswitchinterval(before)


def test_satchel_serve_sets_the_switch_interval_before_it_serves(tmp_path, monkeypatch):
    """The real ``satchel serve`` command, with a server that records the interval when it is run."""
    seen = []

    class RecordingServer:
        effective_port = 0

        def run(self):
            seen.append(sys.getswitchinterval())

        def close(self):
            seen.append("closed")

    monkeypatch.setattr(serving, "create_server", lambda *args, **kwargs: RecordingServer())
    monkeypatch.setattr(signal, "signal", lambda *args: None)  # leave the test runner's handlers alone
    before = sys.getswitchinterval()
    try:
        assert cli.main(["serve", "--serverdir", str(tmp_path / "server"), "--no-root-pypi"]) == 0
    finally:
        sys.setswitchinterval(before)
    assert seen == [pytest.approx(serving.SWITCH_INTERVAL), "closed"]
