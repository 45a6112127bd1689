"""Outcomes of the devpi-client suite against the expected ones (expected_outcomes.toml).

The expectation file lists the tests that fail on satchel by deliberate difference (``[[failed]]``) and the ones
skipped by the suite's own design (``[[skipped]]``), each group with its reason. Every other test must pass.
Strict: a listed test that ends otherwise than listed is reported too, so the list cannot go stale.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path


def load_expected(path: Path) -> dict[str, tuple[str, str]]:
    """test id -> (expected outcome, reason)."""
    data = tomllib.loads(path.read_text())
    expected: dict[str, tuple[str, str]] = {}
    for outcome in ("failed", "skipped"):
        for group in data.get(outcome, []):
            for test in group["tests"]:
                if test in expected:
                    raise ValueError(f"{path.name}: {test} is listed twice")
                expected[test] = (outcome, group["reason"])
    return expected


def compare(outcomes: dict[str, str], expected: dict[str, tuple[str, str]], partial: bool = False) -> list[str]:
    """Every difference between a run's outcomes and the expectation, one line each (empty: all as expected).

    ``partial``: only some tests were selected (pytest ``-k``), so listed tests that did not run are no problem.
    An error (a failing fixture) counts as failed.
    """
    problems = []
    for test, outcome in sorted(outcomes.items()):
        want, reason = expected.get(test, ("passed", ""))
        got = "failed" if outcome == "error" else outcome
        if got == want:
            continue
        if want == "passed":
            problems.append(f"{outcome.upper()}: {test}")
        else:
            problems.append(f"{outcome.upper()} but listed as {want} ({reason}): {test}")
    if not partial:
        problems += [f"NOT RUN but listed as {want}: {test}"
                     for test, (want, _) in sorted(expected.items()) if test not in outcomes]
    return problems


def summary(outcomes: dict[str, str]) -> str:
    counts = Counter(outcomes.values())
    return f"{len(outcomes)} tests: " + ", ".join(f"{counts[k]} {k}" for k in sorted(counts))
