"""Deployment templates for ``satchel gen-config`` (package data, installed as ``satchel_templates``).

Each file is plain text with ``{placeholder}`` fields (lower-case names only, so nginx's ``{``
blocks and ``$variables`` pass through untouched); see plugins/satchel_genconfig/render.py.
"""
