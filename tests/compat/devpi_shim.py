"""Stand-ins for devpi-server's ``devpi-server`` and ``devpi-init``: translate their options, run satchel.

devpi-client's test suite finds ``devpi-server`` on PATH (and ``devpi-init`` beside it), asks it for
``--version`` and ``-h``, and starts it with devpi's options. The runner writes two tiny executables that call
``python devpi_shim.py server|init SATCHEL ARGS...``; this module maps the arguments and replaces itself with
``satchel serve`` / ``satchel init``.
"""

from __future__ import annotations

import os
import sys

# the devpi-server release whose behaviour the suite is compared with (its tests branch on this version)
COMPARED_DEVPI_VERSION = "6.20.3"

# devpi options satchel has no equivalent for and that change nothing a client can see
DROPPED_FLAGS = {"--debug", "--init", "--requests-only", "--no-events"}
DROPPED_WITH_VALUE = {
    "--argon2-memory-cost", "--argon2-parallelism", "--argon2-time-cost",  # satchel's hashing is its own
    "--indexer-backend", "--keyfs-cache-size", "--theme", "--logger-cfg",
}
# devpi lets any logged-in user create a mirror index; satchel asks for it explicitly
SERVE_DEFAULTS = ["--mirror-admins", ":AUTHENTICATED:"]


def translate(argv: list[str]) -> list[str]:
    """devpi-server/devpi-init arguments -> satchel's (same names where they mean the same)."""
    out: list[str] = []
    args = iter(argv)
    for arg in args:
        name = arg.split("=", 1)[0]
        if name in DROPPED_FLAGS:
            continue
        if name in DROPPED_WITH_VALUE:
            if "=" not in arg:
                next(args, None)
            continue
        out.append(arg)
    return out


def command(kind: str, satchel: str, argv: list[str]) -> list[str] | None:
    """The satchel command line for a shim call, or None when the shim answers itself (``--version``)."""
    if "--version" in argv:
        return None
    if kind == "init":
        return [satchel, "init", *translate(argv)]
    if "-h" in argv or "--help" in argv:
        return [satchel, "serve", "--help"]
    return [satchel, "serve", *SERVE_DEFAULTS, *translate(argv)]


def main(argv: list[str]) -> int:
    kind, satchel, rest = argv[0], argv[1], argv[2:]
    cmd = command(kind, satchel, rest)
    if cmd is None:
        # the suite reads the last line as devpi-server's version: the one satchel is compared with
        print(f"satchel, standing in for devpi-server {COMPARED_DEVPI_VERSION}")
        print(COMPARED_DEVPI_VERSION)
        return 0
    sys.stdout.flush()
    os.execv(cmd[0], cmd)
    return 127  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
