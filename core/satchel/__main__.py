"""Allow ``python -m satchel``."""

from satchel.cli import main

raise SystemExit(main())
