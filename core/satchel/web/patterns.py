"""Path patterns of devpi's URL layout for ``router.add``, defined once for core's and the plugins' routes.

Their named groups become ``request.matchdict``: ``user``, ``index``, ``project``, ``version``, ``relpath``.
A user or index name never starts with ``+`` (``/+api``, ``/U/I/+simple`` are not names).
"""

U = r"/(?P<user>[^+/]+)"  # /USER
UI = U + r"/(?P<index>[^+/]+)"  # /USER/INDEX
PROJECT = UI + r"/(?P<project>[^+/]+/?)"  # /USER/INDEX/PROJECT, trailing slash optional
VERSION = UI + r"/(?P<project>[^+/]+)/(?P<version>[^/]+/?)"  # /USER/INDEX/PROJECT/VERSION
FILE = UI + r"/\+f/(?P<relpath>.+)"  # a stored file: /USER/INDEX/+f/<hash parts>/<filename>
