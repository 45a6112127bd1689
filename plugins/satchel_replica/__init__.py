"""Replication: a primary serves its changelog and blobs; replicas follow, copy files, relay writes."""

import sys

from satchel.commands import Command
from satchel.errors import ConfigError
from satchel.node import NodeRole
from satchel.plugin import hookimpl, hookspec
from satchel.web.patterns import UI
from satchel.web.router import PRIORITY_NODE

from satchel_replica import changelog, fileview, signing
from satchel_replica.node import ROLES, load_state, state_path
from satchel_replica.proxy import WriteProxy
from satchel_replica.replication import Replication

READ_PERMISSIONS = ("read", "pkg_read")  # what a replica may do on its primary with its own credentials

__version__ = "0.1.0"


class ReplicaSpecs:
    """Hooks the replica plugin declares for other plugins (added by ``satchel_add_hookspecs``)."""
    @hookspec
    def satchel_on_replicated_file(self, app, sha256):
        """A replica finished copying the blob ``sha256`` from its primary (or a search path)."""


@hookimpl
def satchel_add_hookspecs(pluginmanager):
    """Declare ``satchel_on_replicated_file``."""
    pluginmanager.add_hookspecs(ReplicaSpecs)


@hookimpl
def satchel_add_options(parser):
    """The node's role, its primary's URL, and how a replica copies files and relays writes."""
    parser.add_option("role", default="auto", choices=ROLES,
                      help="standalone, primary (serves replication), replica, or auto (replica when a "
                           "primary URL is known)")
    parser.add_option("primary-url", default=None, metavar="URL", help="follow the primary at URL (a replica)")
    parser.add_option("file-replication-threads", default=5, type=int, commands=("serve",),
                      help="replica: threads copying files")
    parser.add_option("replica-file-search-path", default=None, metavar="DIRS", commands=("serve",),
                      help="replica: comma-separated directories to reuse files from (by sha256)")
    parser.add_option("proxy-timeout", default=30.0, type=float, metavar="SECONDS", commands=("serve",),
                      help="replica: wait this long for the primary when relaying a write")


@hookimpl
def satchel_add_commands(commands):
    """Add ``promote``, which turns a replica's serverdir into a primary's."""
    commands.add("promote", Command("turn this replica's serverdir into a primary (the old primary is gone)",
                                    promote))


def replication(app) -> Replication:
    found = app.stash.get("satchel_replica")
    if found is None:
        found = app.stash["satchel_replica"] = Replication(app)
    return found


@hookimpl
def satchel_get_node_role(app):
    """The role from ``--role``/``--primary-url`` (or a serverdir prepared as a replica)."""
    state = replication(app)
    credentials = state.headers if state.role == "replica" else None
    return NodeRole(state.role, state.primary_url, credentials)


@hookimpl(tryfirst=True)
def satchel_permits(request, identity, permission, context):
    """A replica's signed request may read any index of its primary: it receives all of them by replication
    anyway (e.g. a page of an ``acl_read``-restricted mirror its client asked it for)."""
    if permission not in READ_PERMISSIONS or "X-Satchel-Replica-Uuid" not in request.headers:
        return None
    state = request.app.stash.get("satchel_replica")
    if state is None or state.role != "primary":
        return None
    return True if signing.verify(state.key, request.headers) else None


@hookimpl
def satchel_initialize_locally(app):
    """A replica's data comes from its primary: it does not initialize itself."""
    return False if app.node_role.is_replica else None


@hookimpl
def satchel_add_routes(router):
    """Replica-served files (ahead of every index type's: a replica fetches what it lacks through its
    primary), and the changelog and blob endpoints replicas follow."""
    router.add("replica_file", UI + r"/(?P<kind>\+[fe])/(?P<relpath>.+)", fileview.serve,
               predicate=fileview.is_replica, permission="pkg_read", priority=PRIORITY_NODE)
    router.add("changelog_entry", r"/\+changelog/(?P<serial>\d+)", changelog.single_entry)
    router.add("changelog_stream", r"/\+changelog/(?P<serial>\d+)-", changelog.entries_from)
    router.add("replica_blob", r"/\+replica/blob/(?P<sha256>[0-9a-f]+)", changelog.blob)


@hookimpl
def satchel_add_middleware(stack):
    """On a replica, relay writes to the primary and answer once the change is replicated."""
    state = replication(stack.app)
    stack.add("replica-write-proxy", lambda wsgi_app: WriteProxy(wsgi_app, state), order=900)


@hookimpl
def satchel_startup(app):
    """Start following the primary (on a replica)."""
    replication(app).start()


@hookimpl
def satchel_shutdown(app):
    """Stop following the primary."""
    replication(app).stop()


@hookimpl
def satchel_status_info(app):
    """Role, serials, lag and file-copy errors for ``/+status``."""
    return replication(app).status()


def promote(config, pluginmanager) -> int:
    state = load_state(config.serverdir)
    if state is None:
        raise ConfigError(f"{config.serverdir} is not a replica's serverdir")
    path = state_path(config.serverdir)
    path.rename(path.with_name(path.name + ".promoted"))
    print(f"{config.serverdir} is no longer a replica of {state.get('primary_url')}; start it with "
          "satchel serve --role primary", file=sys.stderr)
    return 0


@hookimpl
def satchel_metrics(app):
    """Replication lag for ``/+status`` and ``/+metrics`` (a replica only)."""
    status = replication(app).status()
    if status.get("role") != "REPLICA":
        return None
    return [("satchel_replication_lag_serials", "gauge", status["replication-lag-serials"]),
            ("satchel_replication_lag_seconds", "gauge", status["replication-lag-seconds"]),
            ("satchel_replication_files_pending", "gauge", status["files-pending"])]
