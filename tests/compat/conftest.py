"""The runner's modules are scripts beside this file, not a package: make them importable for its tests."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
