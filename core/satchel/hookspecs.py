"""Every hook of satchel's core, grouped by phase. Call hooks with keyword arguments only.

Naming: a hook that registers things receives a registry; ``get_*`` and ``authenticate``
are firstresult; ``on_*`` and lifecycle hooks are post-commit notifications run on the
event thread; ``validate_*`` veto inside the write transaction by raising.
"""

from satchel.plugin import hookspec

# Old argument names kept for one release: an implementation asking for them still gets them, with this
# warning when it is registered (see docs/hooks.md, "Deprecated hook arguments").
_INDEX_ARG = DeprecationWarning(
    "the hook argument 'index' is deprecated: take 'index_name' (a \"user/name\" string) or 'stage' instead; "
    "'index' will be removed in the next release")

# --- plugin host and command line -------------------------------------------------------


@hookspec(historic=True)
def satchel_add_hookspecs(pluginmanager):
    """Add a plugin's own hookspecs to the one manager (``pluginmanager.add_hookspecs``).

    historic: plugins registered later still receive the call. Returns nothing.
    """


@hookspec
def satchel_add_options(parser):
    """Declare options with ``parser.add_option(name, ..., commands=...)`` (satchel.config.OptionParser).

    ``commands`` names the subcommands the option belongs to (``("serve",)``, ``("export", "import")``);
    leave it out (None) for a server-wide option, taken by every subcommand that works on a serverdir.
    Only those subcommands accept ``--name`` and list it in ``--help``; elsewhere it is an error. The
    option is also read from ``SATCHEL_<NAME>`` and the TOML config file, where another subcommand
    ignores it (and sees the default). Returns nothing.
    """


@hookspec
def satchel_configure(config):
    """Validate the resolved ``config`` (a satchel.config.Config) and set up plugin state.

    Runs once per process before any command. Raise ConfigError to stop with a clear message.
    """


@hookspec
def satchel_add_commands(commands):
    """Register subcommands: ``commands.add(name, Command(...))`` (satchel.commands.Command).

    ``Command(help, run, arguments=(), server=True, options_of=())``: ``server=False`` for a subcommand
    that takes no server-wide option; ``options_of`` names subcommands whose own options it takes too.
    """


# --- storage and model ------------------------------------------------------------------


@hookspec
def satchel_storage_backend(backends):
    """Register storage backends: ``backends.add(name, StorageBackend(...))``.

    ``--storage NAME`` picks one; sqlite is the default. Called once when the app is created.
    """


@hookspec
def satchel_blob_backend(backends):
    """Register blob stores: ``backends.add(name, BlobBackend(...))`` (satchel.storage.contract).

    ``--blobs NAME`` picks one; ``fs`` (files in the serverdir) is the default. Called once when the
    app is created, after the storage is opened.
    """


@hookspec
def satchel_index_types(index_types):
    """Register index types: ``index_types.add(name, IndexType(...))`` (satchel.model.indexes).

    Core knows no index type by name; the private and mirror plugins register ``stage`` and
    ``mirror``. Called once when the app is created.
    """


@hookspec
def satchel_indexconfig_defaults(index_type):
    """Return a dict of extra index config keys with defaults for ``index_type`` (a str), or None.

    The type of each default also types the key's input. Called when an index is created or
    its config validated.
    """


@hookspec(warn_on_impl_args={"index": _INDEX_ARG})
def satchel_validate_indexconfig(app, tx, index_name, old, new, identity, index):
    """Veto an index config change by raising BadRequest, Forbidden (or another SatchelError).

    ``index_name`` is "user/name" (``index``, the same string, is deprecated), ``old`` the stored config (None on creation), ``new`` the config
    about to be stored (may be adjusted in place), ``identity`` who asks (None outside a request,
    e.g. on initialization or import). Runs inside the write transaction ``tx``.
    """


@hookspec(firstresult=True)
def satchel_initialize_locally(app):
    """Return False when this node gets its data from elsewhere (a replica from its primary).

    Then ``serve`` and ``init`` don't create root and initial data; None or True: initialize as usual.
    """


@hookspec(firstresult=True)
def satchel_get_node_role(app):
    """Return this node's ``satchel.node.NodeRole`` (role and, for a replica, the primary URL), or None.

    Asked once by ``App.__init__`` after the storage is opened; the answer is ``app.node_role``
    (standalone when no plugin answers). A replica's storage then refuses local commits.
    """


@hookspec
def satchel_init_serverdir(app, tx):
    """Create initial data in a fresh serverdir (the mirror plugin creates root/pypi).

    Runs in the initializing write transaction, after the root user exists.
    """


# --- web ---------------------------------------------------------------------------------


@hookspec
def satchel_add_routes(router):
    """Register named routes: ``router.add(name, pattern, view, methods=..., permission=...)``.

    Called once per app after core's own routes.
    """


@hookspec
def satchel_add_middleware(stack):
    """Add WSGI request wrappers: ``stack.add(name, factory, order=...)``.

    ``factory(wsgi_app) -> wsgi_app``; lower order wraps closer to the application.
    """


# --- process lifecycle -------------------------------------------------------------------


@hookspec
def satchel_startup(app):
    """Start background workers. Called by ``serve`` before the first request is answered."""


@hookspec
def satchel_shutdown(app):
    """Stop background workers. Called when ``serve`` exits and when the app is closed."""


# --- authentication and permissions ------------------------------------------------------


@hookspec(firstresult=True)
def satchel_get_credentials(request):
    """Return ``(username, secret)`` taken from the request, or None when it carries none."""


@hookspec(firstresult=True)
def satchel_authenticate(request, username, secret):
    """Return an Identity for valid credentials; None lets the next plugin try.

    Invalid credentials are not an error: the request then proceeds as anonymous.
    """


@hookspec(firstresult=True)
def satchel_permits(request, identity, permission, context):
    """Return True or False to decide ``permission`` for ``identity`` on ``context``; None = no opinion.

    ``request`` is the request being served (its ``app`` carries the configuration).
    ``identity`` is an Identity (anonymous when nobody authenticated); ``context`` is the route's
    matchdict for a route permission, or what a view checks against (e.g. the Stage). Without
    any opinion only read permissions are granted.
    """


# --- server information ------------------------------------------------------------------


@hookspec
def satchel_api_features():
    """Return a list of feature strings added to ``/+api`` ``features``."""


@hookspec
def satchel_status_info(app):
    """Return a dict merged into the ``/+status`` result."""


@hookspec
def satchel_metrics(app):
    """Return a list of ``(name, "counter" | "gauge", value)`` tuples for ``/+status`` (and ``/+metrics``)."""


@hookspec
def satchel_add_metrics(metrics):
    """Declare the metrics a plugin reports: ``metrics.add(Metric(...))`` (satchel.metrics).

    Report them with ``instruments(app).inc/observe/set``; a metrics plugin exposes them.
    """


# --- lifecycle events (post-commit, on the event thread, in serial order) ----------------


@hookspec
def satchel_on_commit(app, serial, changes):
    """Every committed serial with its changes ``{key: [back_serial, value]}``."""


@hookspec
def satchel_user_created(app, username):
    """A user was created."""


@hookspec
def satchel_stage_created(app, stage):
    """An index was created; ``stage`` is its Stage object (primary and replica alike)."""


@hookspec(warn_on_impl_args={"index": _INDEX_ARG})
def satchel_stage_deleted(app, stage, index):
    """An index was deleted; ``stage`` is its Stage as it was (its data is gone from storage).

    ``index`` (the deleted index's "user/name", i.e. ``stage.name``) is deprecated.
    """


@hookspec
def satchel_on_upload(stage, project, version, link):
    """A file was stored on a private index; ``link`` is its file record."""


@hookspec
def satchel_on_file_removed(stage, relpath):
    """The file at ``relpath`` was removed from the index ``stage``."""


@hookspec
def satchel_on_versiondata_changed(stage, project, version, metadata):
    """Version metadata changed; ``metadata`` is None when the version was deleted."""


@hookspec
def satchel_mirror_initialnames(stage, projectnames):
    """A mirror index learned its upstream project names for the first time.

    Declared in core, called by the mirror plugin; ``projectnames`` is an iterable of names.
    """
