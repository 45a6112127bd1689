"""Test support: pytest fixtures (``pytest_plugins = ["satchel.testing.fixtures"]``) and helpers."""
