"""satchel: a private Python package index and caching PyPI mirror, built as a plugin host."""

__version__ = "0.1.0"
