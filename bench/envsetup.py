"""Tooling the benchmark needs: a devpi-server virtualenv and the wrk load generator."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
DEVPI_VENV = BENCH_DIR / ".venv-devpi"
DEVPI_REQUIREMENT = "devpi-server==6.20.3"
DEVPI_VERSION = DEVPI_REQUIREMENT.split("==")[1]


def log(msg: str) -> None:
    """Progress messages go to stderr so stdout stays clean Markdown."""
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def venv_bin(name: str, venv_dir: Path = DEVPI_VENV) -> Path:
    """Path of an executable inside the benchmark's devpi virtualenv."""
    return venv_dir / "bin" / name


def installed_devpi_version(venv_dir: Path = DEVPI_VENV) -> str | None:
    """Return the devpi-server version in the venv, or None if absent/broken."""
    exe = venv_bin("devpi-server", venv_dir)
    if not exe.exists():
        return None
    try:
        out = subprocess.run(
            [str(exe), "--version"], capture_output=True, text=True, timeout=60, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def ensure_devpi(venv_dir: Path = DEVPI_VENV) -> Path:
    """Create the venv and install devpi-server (without devpi-web) if needed.

    Returns the venv's bin directory.
    """
    if installed_devpi_version(venv_dir) == DEVPI_VERSION:
        return venv_dir / "bin"
    if not venv_bin("python", venv_dir).exists():
        log(f"creating virtualenv {venv_dir}")
        venv.EnvBuilder(with_pip=True, clear=False).create(venv_dir)
    log(f"installing {DEVPI_REQUIREMENT} from PyPI into {venv_dir}")
    subprocess.run(
        [str(venv_bin("python", venv_dir)), "-m", "pip", "install", "--quiet",
         "--disable-pip-version-check", DEVPI_REQUIREMENT],
        check=True,
    )
    version = installed_devpi_version(venv_dir)
    if version != DEVPI_VERSION:
        raise RuntimeError(f"devpi-server install failed (found {version!r})")
    return venv_dir / "bin"


def ensure_wrk() -> str | None:
    """Return the path of wrk, installing the Debian package if possible.

    Returns None when wrk cannot be had; callers then fall back to the
    Python load generator.
    """
    return ensure_tool("wrk", "wrk")


def ensure_nginx() -> str | None:
    """Return the path of nginx (Debian ``nginx-light`` installed if possible), or None."""
    return ensure_tool("nginx", "nginx-light", extra_paths=("/usr/sbin/nginx",))


def ensure_tool(command: str, package: str, extra_paths=()) -> str | None:
    """The path of ``command``, after ``apt-get install -y PACKAGE`` when it is missing."""

    def find() -> str | None:
        return shutil.which(command) or next((p for p in extra_paths if os.path.exists(p)), None)

    found = find()
    if found:
        return found
    apt = shutil.which("apt-get")
    if not apt:
        log(f"{command} not found and apt-get unavailable")
        return None
    sudo = [] if os.geteuid() == 0 else (["sudo", "-n"] if shutil.which("sudo") else None)
    if sudo is None:
        log(f"{command} not found and not root: cannot apt-get install it")
        return None
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        log(f"installing {package}: apt-get update")
        subprocess.run(sudo + [apt, "update"], check=True, env=env,
                       stdout=subprocess.DEVNULL, timeout=600)
        log(f"installing {package}: apt-get install -y {package}")
        subprocess.run(sudo + [apt, "install", "-y", package], check=True, env=env,
                       stdout=subprocess.DEVNULL, timeout=600)
    except (OSError, subprocess.SubprocessError) as exc:
        log(f"could not install {package} ({exc})")
        return None
    return find()
