"""satchel's test kit (install ``satchel[testing]``): the pytest plugin ``satchel`` (``satchel.testing.fixtures``,
loaded through the ``pytest11`` entry point), the fake PyPI upstream, server processes and clients.

For tests only: no runtime module imports it (a meta-test checks).
"""
