"""Drive the real ``devpi`` command (devpi-client from PyPI) against a live server."""

import os
import shutil
import subprocess
import sys
from pathlib import Path


def devpi_executable() -> str:
    found = shutil.which("devpi") or str(Path(sys.executable).with_name("devpi"))
    return found


class Devpi:
    """``devpi`` with its own client directory; every call returns the CompletedProcess."""

    def __init__(self, clientdir: Path, cwd: Path):
        self.clientdir = clientdir
        self.cwd = cwd
        self.env = {**os.environ, "DEVPI_CLIENTDIR": str(clientdir), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "UV_INDEX_URL"):
            self.env.pop(name, None)

    def run(self, *args, check=True, timeout=120):
        result = subprocess.run([devpi_executable(), *args, "--clientdir", str(self.clientdir)],
                                capture_output=True, text=True, cwd=self.cwd, env=self.env,
                                timeout=timeout, stdin=subprocess.DEVNULL)
        if check and result.returncode != 0:
            raise AssertionError(f"devpi {' '.join(args)} failed ({result.returncode}):\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result

    def __call__(self, *args, **kwargs):
        return self.run(*args, **kwargs)
