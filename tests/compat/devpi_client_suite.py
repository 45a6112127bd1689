"""Run devpi-client's released test suite against satchel (or devpi-server) and list each test's outcome.

    python tests/compat/devpi_client_suite.py --target satchel --check
    python tests/compat/devpi_client_suite.py --target devpi

Fetches the devpi-client sdist of ``--client-version`` from PyPI, unpacks its ``testing/`` folder, installs what
the tests need into a virtualenv of its own, puts ``devpi-server`` and ``devpi-init`` first on PATH (shims
starting satchel, or devpi-server's own scripts from a second virtualenv) and runs the suite with pytest-xdist.
Writes ``outcomes-TARGET.json`` (test id -> passed/failed/error/skipped) and the pytest log into the work
directory. ``--check`` compares the outcomes with expected_outcomes.toml and exits 1 on any difference: a test
outside the lists that does not pass, or a listed one that does not end as listed (strict, like strict xfail).
Venvs and the sdist are kept in the work directory, so later runs only run the suite.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from outcomes import compare, load_expected, summary

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CLIENT_VERSION = "7.3.0"
SUITE_TIMEOUT = 45 * 60  # seconds; about 4-5 minutes on an idle 2-core machine
DEVPI_SERVER_VERSION = "6.20.3"
# what the suite needs so that every test can pass on devpi-server (test projects use flit_core<4 and tox,
# docs tests build with Sphinx, token tests use pypitoken, the hg tests mercurial); pinned to the versions
# the expectations were taken with, so that a new release of one of them cannot fail CI unannounced
SUITE_REQUIREMENTS = ["pytest==9.2.0", "pytest-xdist==3.8.0", "pytest-timeout==2.4.0", "sphinx==9.0.4",
                      "tox==4.67.15", "pypitoken==7.1.1", "mercurial==7.2.4", "flit_core==3.12.0",
                      "webtest==3.0.7", "mock==5.2.0", "wheel==0.48.0", "setuptools", "build==1.6.1",
                      "virtualenv==21.15.11"]


def log(message: str) -> None:
    print(f"[compat] {message}", flush=True)


def run(argv: list, **kwargs) -> None:
    subprocess.run([str(a) for a in argv], check=True, **kwargs)


def fetch_suite(workdir: Path, version: str) -> Path:
    """Unpack the sdist's ``testing/`` (and its pytest configuration in tox.ini); return the folder."""
    suite = workdir / f"devpi-client-{version}"
    if (suite / "testing" / "conftest.py").exists():
        return suite
    download = workdir / "sdist"
    run([sys.executable, "-m", "pip", "download", "-q", "--no-binary", ":all:", "--no-deps",
         f"devpi-client=={version}", "-d", download])
    sdist = next(download.glob(f"devpi_client-{version}.tar.gz"), None) or next(
        download.glob(f"devpi-client-{version}.tar.gz"))
    staging = workdir / "unpack"
    shutil.rmtree(staging, ignore_errors=True)
    with tarfile.open(sdist) as tar:
        top = tar.getnames()[0].split("/")[0]
        wanted = [m for m in tar.getmembers()
                  if m.name.startswith(f"{top}/testing/") or m.name == f"{top}/tox.ini"]
        tar.extractall(staging, members=wanted, filter="data")
    shutil.rmtree(suite, ignore_errors=True)
    (staging / top).rename(suite)
    shutil.rmtree(staging)
    return suite


def ensure_venv(path: Path, requirements: list[str]) -> Path:
    """A virtualenv at `path` with `requirements` installed (once: a marker file remembers them)."""
    marker = path / "compat-requirements.txt"
    wanted = "\n".join(requirements)
    if marker.exists() and marker.read_text() == wanted:
        return path
    shutil.rmtree(path, ignore_errors=True)
    log(f"creating {path.name}: {' '.join(requirements)}")
    run([sys.executable, "-m", "venv", path])
    run([path / "bin" / "python", "-m", "pip", "install", "-q", "--upgrade", "pip"])
    run([path / "bin" / "python", "-m", "pip", "install", "-q", *requirements])
    marker.write_text(wanted)
    return path


def satchel_executable() -> str:
    beside = Path(sys.executable).parent / "satchel"
    found = str(beside) if beside.exists() else shutil.which("satchel")
    if not found:
        sys.exit("satchel is not installed in this interpreter's environment (pip install -e .)")
    return found


def make_shims(workdir: Path, target: str) -> Path:
    """A directory with ``devpi-server`` and ``devpi-init`` for the target."""
    shims = workdir / f"shims-{target}"
    shutil.rmtree(shims, ignore_errors=True)
    shims.mkdir(parents=True)
    if target == "devpi":
        venv = ensure_venv(workdir / "devpi-server-venv", [f"devpi-server=={DEVPI_SERVER_VERSION}"])
        for name in ("devpi-server", "devpi-init"):
            (shims / name).symlink_to(venv / "bin" / name)
        return shims
    satchel = satchel_executable()
    for name, kind in (("devpi-server", "server"), ("devpi-init", "init")):
        script = shims / name
        script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{HERE / "devpi_shim.py"}" {kind} "{satchel}" "$@"\n')
        script.chmod(0o755)
    return shims


def run_suite(workdir: Path, suite: Path, venv: Path, shims: Path, target: str, workers: int,
              pytest_args: list[str]) -> tuple[dict[str, str], Path]:
    outcomes_path = workdir / f"outcomes-{target}.json"
    log_path = workdir / f"pytest-{target}.log"
    outcomes_path.unlink(missing_ok=True)
    shutil.copy(HERE / "outcomes_plugin.py", suite / "compat_outcomes.py")
    # one test project declares flit_core>=3.2 but uses keys flit_core 4 refuses: cap its isolated builds
    constraints = workdir / "constraints.txt"
    constraints.write_text("flit_core<4\n")
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.update(PATH=f"{shims}{os.pathsep}{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
               VIRTUAL_ENV=str(venv),  # as tox sets it: the suite's `devpi install` tests rely on it
               PIP_CONSTRAINT=str(constraints), COMPAT_OUTCOMES=str(outcomes_path),
               PYTHONDONTWRITEBYTECODE="1")
    argv = [venv / "bin" / "python", "-m", "pytest", "testing", "-p", "compat_outcomes", "-p", "no:cacheprovider",
            "-q", "-rfE", "--timeout", "300", "-n", str(workers),
            # its own temporary directory: pytest's default one is shared with every other pytest run of the
            # user, and pruning the others' old directories (full of virtualenvs) can take minutes
            "--basetemp", workdir / f"tmp-{target}", *pytest_args]
    log(f"running the devpi-client suite against {target} ({workers} workers), log: {log_path}")
    started = time.monotonic()
    with open(log_path, "w") as fh:
        process = subprocess.Popen([str(a) for a in argv], cwd=suite, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            code = process.wait(timeout=SUITE_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the xdist workers and the servers they started, too
            process.wait()
            sys.exit(f"the suite took longer than {SUITE_TIMEOUT}s and was stopped; see {log_path}")
    log(f"pytest exited {code} after {time.monotonic() - started:.0f}s")
    if not outcomes_path.exists():
        sys.exit(f"the suite wrote no outcomes; see {log_path}")
    return json.loads(outcomes_path.read_text()), log_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", choices=["satchel", "devpi"], default="satchel")
    parser.add_argument("--client-version", default=CLIENT_VERSION)
    parser.add_argument("--workdir", type=Path, default=REPO / ".compat")
    parser.add_argument("-n", "--workers", type=int, default=2)
    parser.add_argument("--check", action="store_true",
                        help="compare with expected_outcomes.toml; exit 1 on any unexpected outcome")
    parser.add_argument("--expected", type=Path, default=HERE / "expected_outcomes.toml")
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest (after --), e.g. -- -k mirror")
    args = parser.parse_args(argv)
    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    suite = fetch_suite(workdir, args.client_version)
    venv = ensure_venv(workdir / f"client-{args.client_version}-venv",
                       [f"devpi-client=={args.client_version}", *SUITE_REQUIREMENTS])
    shims = make_shims(workdir, args.target)
    outcomes, log_path = run_suite(workdir, suite, venv, shims, args.target, args.workers, args.pytest_args)
    log(summary(outcomes))
    if not args.check:
        return 0
    expected = load_expected(args.expected)
    if args.target == "devpi":  # the deliberate differences are satchel's: on devpi-server all of them pass
        expected = {test: want for test, want in expected.items() if want[0] == "skipped"}
    problems = compare(outcomes, expected, partial=bool(args.pytest_args))
    for problem in problems:
        log(problem)
    if problems:
        # pytest's one-line reasons (-rfE) of the failures, so that CI's output says what went wrong
        for line in log_path.read_text(errors="replace").splitlines():
            if line.startswith(("FAILED ", "ERROR ")):
                log(f"  {line[:300]}")
        log(f"{len(problems)} unexpected outcome(s) against {args.expected.name}; pytest log: {log_path}")
        return 1
    log(f"every outcome as expected ({args.expected.name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
