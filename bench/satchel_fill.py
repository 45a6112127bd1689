"""Fill a satchel serverdir through satchel's Python model API (no server running).

Run as a subprocess by run.py so that satchel's imports and storage handles
stay out of the benchmark process:

    python bench/satchel_fill.py --serverdir DIR [--count 200]

Creates user alice (password "pw"), index alice/dev (no bases) and uploads the
same release files that devpi-server gets over HTTP (see fixtures.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixtures import (  # noqa: E402
    DEFAULT_COUNT,
    INDEX,
    PASSWORD,
    PROJECT,
    REQUIRES_PYTHON,
    USER,
    release_files,
)


def fill(serverdir: Path, count: int) -> None:
    """Create the user, the index and `count` release files in `serverdir`."""
    from satchel.app import create_app
    from satchel.model import indexes, projects, users

    app = create_app({"serverdir": str(serverdir), "storage": "sqlite"})
    try:
        with app.storage.write() as tx:
            users.create_user(tx, USER, password=PASSWORD)
            stage = indexes.create_index(tx, app, USER, INDEX, {"type": "stage", "bases": []})
            for release in release_files(count):
                projects.add_release_file(
                    tx, app, stage, project=PROJECT, version=release.version,
                    filename=release.filename, content=release.content,
                    requires_python=REQUIRES_PYTHON)
    finally:
        app.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serverdir", type=Path, required=True)
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT)
    args = parser.parse_args()
    fill(args.serverdir, args.count)
    return 0


if __name__ == "__main__":
    sys.exit(main())
