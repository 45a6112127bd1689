"""The devpi-client suite runner's own logic: option translation of the shims, strict outcome comparison.

The suite itself runs in CI (.ci/run) through devpi_client_suite.py; these tests need no network.
"""

import subprocess
import sys
from pathlib import Path

import pytest

import devpi_shim
from outcomes import compare, load_expected

HERE = Path(__file__).parent


def test_shim_translates_devpi_server_options():
    argv = ["--serverdir", "/d", "--argon2-memory-cost", "8", "--argon2-time-cost=1", "--debug",
            "--indexer-backend", "null", "--host", "localhost", "--port", "3141"]
    assert devpi_shim.command("server", "satchel", argv) == [
        "satchel", "serve", "--mirror-admins", ":AUTHENTICATED:",
        "--serverdir", "/d", "--host", "localhost", "--port", "3141"]
    assert devpi_shim.command("init", "satchel", ["--no-root-pypi", "--serverdir", "/d"]) == [
        "satchel", "init", "--no-root-pypi", "--serverdir", "/d"]
    assert devpi_shim.command("server", "satchel", ["-h"]) == ["satchel", "serve", "--help"]


def test_shim_version_names_satchel_and_the_compared_devpi_version():
    result = subprocess.run([sys.executable, str(HERE / "devpi_shim.py"), "server", "satchel", "--version"],
                            capture_output=True, text=True, check=True)
    lines = result.stdout.splitlines()
    assert "satchel" in lines[0] and lines[-1] == devpi_shim.COMPARED_DEVPI_VERSION


def test_shim_starts_satchel_with_the_translated_options(tmp_path):
    satchel = Path(sys.executable).parent / "satchel"
    result = subprocess.run([sys.executable, str(HERE / "devpi_shim.py"), "init", str(satchel),
                             "--serverdir", str(tmp_path / "d"), "--no-root-pypi"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert any((tmp_path / "d").iterdir())


EXPECTED = {"t::listed": ("failed", "a deliberate difference"), "t::skip": ("skipped", "by design")}


def test_all_as_expected():
    outcomes = {"t::listed": "failed", "t::skip": "skipped", "t::other": "passed"}
    assert compare(outcomes, EXPECTED) == []
    assert compare({**outcomes, "t::listed": "error"}, EXPECTED) == []  # a fixture error counts as failed


@pytest.mark.parametrize("changed, problem", [
    ({"t::other": "failed"}, "FAILED: t::other"),
    ({"t::other": "error"}, "ERROR: t::other"),
    ({"t::other": "skipped"}, "SKIPPED: t::other"),
    ({"t::listed": "passed"}, "PASSED but listed as failed (a deliberate difference): t::listed"),
    ({"t::skip": "passed"}, "PASSED but listed as skipped (by design): t::skip"),
])
def test_every_unexpected_outcome_is_reported(changed, problem):
    outcomes = {"t::listed": "failed", "t::skip": "skipped", "t::other": "passed", **changed}
    assert compare(outcomes, EXPECTED) == [problem]


def test_listed_tests_that_did_not_run_are_reported_unless_the_run_was_partial():
    assert compare({"t::other": "passed"}, EXPECTED) == [
        "NOT RUN but listed as failed: t::listed", "NOT RUN but listed as skipped: t::skip"]
    assert compare({"t::other": "passed"}, EXPECTED, partial=True) == []


def test_expectation_file_is_well_formed_and_documented():
    expected = load_expected(HERE / "expected_outcomes.toml")
    docs = (HERE.parent.parent / "docs" / "migrating-from-devpi.md").read_text()
    for test, (outcome, reason) in expected.items():
        assert test.startswith("testing/") and "::" in test
        if outcome == "failed":
            assert test.split("::")[-1].split("[")[0] in docs, f"{test} is not in docs/migrating-from-devpi.md"
