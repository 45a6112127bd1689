"""A pytest plugin for the devpi-client suite's run: writes each test's outcome to $COMPAT_OUTCOMES as JSON.

Loaded with ``-p outcomes_plugin``; under pytest-xdist the controller sees every worker's reports, so the file
holds the whole run. One outcome per test id: failed, error (setup or teardown failed), skipped or passed.
"""

import json
import os

_outcomes: dict[str, str] = {}


def _merge(nodeid: str, outcome: str) -> None:
    rank = ["passed", "skipped", "failed", "error"]
    previous = _outcomes.get(nodeid, "passed")
    _outcomes[nodeid] = max(previous, outcome, key=rank.index)


def pytest_runtest_logreport(report):
    if report.when == "call":
        _merge(report.nodeid, "skipped" if report.skipped else "failed" if report.failed else "passed")
    elif report.failed:
        _merge(report.nodeid, "error")
    elif report.skipped:
        _merge(report.nodeid, "skipped")


def pytest_sessionfinish(session):
    path = os.environ.get("COMPAT_OUTCOMES")
    if path and not hasattr(session.config, "workerinput"):  # the xdist controller (or a plain run) writes
        with open(path, "w") as fh:
            json.dump(dict(sorted(_outcomes.items())), fh, indent=1)
