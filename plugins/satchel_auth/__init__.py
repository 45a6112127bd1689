"""Users, login and permissions: devpi's credentials (X-Devpi-Auth, Basic) and ACL rules."""

from satchel.commands import Command
from satchel.errors import ConfigError
from satchel.metrics import Metric, instruments
from satchel.model.indexes import Stage
from satchel.plugin import hookimpl
from satchel.web.patterns import U

from satchel_auth import apitokens, tokens_api, users_api
from satchel_auth.credentials import credentials_from
from satchel_auth.passwd import passwd
from satchel_auth.readaccess import DEFAULT_ACL_READ, READ_PERMISSIONS, check_new_bases, may_read_stage, \
    normalize_acl_read
from satchel_auth.state import auth_state, parse_principals

__version__ = "0.1.0"



@hookimpl
def satchel_add_options(parser):
    """``--restrict-modify`` (who administers users and indexes) and ``--secretfile`` (token signing key)."""
    parser.add_option("restrict-modify", default=None, metavar="SPEC", commands=("serve",),
                      help="only these users and :groups (comma separated) may create or modify "
                           "users and indexes; list root explicitly")
    parser.add_option("secretfile", default=None, metavar="PATH", commands=("serve",),
                      help="secret file (at least 32 bytes, mode 0600) shared by primary and replicas "
                           "(default: <serverdir>/.secret, created on first start)")


@hookimpl
def satchel_add_commands(commands):
    """Add ``passwd USER``."""
    commands.add("passwd", Command("set a user's password (from the terminal, or one line of stdin)",
                                   passwd, arguments=("user",)))


@hookimpl
def satchel_add_routes(router):
    """``POST /+login`` and the users REST API (``PUT``/``PATCH``/``DELETE /USER``)."""
    router.add("login", r"/\+login", users_api.login, methods=("POST",), predicate=users_api.accepts_json)
    router.add("user_write", U + r"/?", users_api.create_user, methods=("PUT",))
    router.add("user_modify", U + r"/?", users_api.modify_user, methods=("PATCH",))
    router.add("user_delete", U + r"/?", users_api.delete_user, methods=("DELETE",))
    router.add("token_create", U + r"/\+token-create", tokens_api.token_create, methods=("POST",))
    router.add("token_list", U + r"/\+tokens", tokens_api.token_list)
    router.add("token_delete", U + r"/\+tokens/(?P<id>[^/]+)", tokens_api.token_delete, methods=("DELETE",))


@hookimpl
def satchel_startup(app):
    """Load the secret and build the authenticator before the first request."""
    auth_state(app)


@hookimpl
def satchel_get_credentials(request):
    """Credentials from ``X-Devpi-Auth`` or, without it, Basic auth."""
    return credentials_from(request.headers)


@hookimpl
def satchel_authenticate(request, username, secret):
    """A valid API token, login token or password of the user gives their identity.

    An API token that fails (expired, deleted, outside its indexes or projects) answers 403 naming why.
    """
    if not secret and apitokens.parse(username) is not None:
        username, secret = "", username  # Basic "TOKEN:" (devpi-tokens accepts the token as the user name)
    parsed = apitokens.parse(secret)
    if parsed is not None:
        return tokens_api.authenticate_token(request, username, secret, parsed)
    if not username:
        return None
    state = auth_state(request.app)
    identity = state.authenticator.authenticate(request.tx, username, secret)
    if identity is None:
        instruments(request.app).inc("satchel_auth_failures_total", kind="credentials")
    return identity


@hookimpl
def satchel_add_metrics(metrics):
    """Count failed logins and credentials (a brute-force signal)."""
    metrics.add(Metric("satchel_auth_failures_total", "counter",
                       "failed authentications: kind=login (POST /+login) or credentials (a request's Basic or "
                       "X-Devpi-Auth secret); a brute-force signal", ("kind",)))
    metrics.add(Metric("satchel_token_verifications_total", "counter",
                       "API token checks by result (ok, refused); verified signatures are remembered briefly",
                       ("result",)))


@hookimpl
def satchel_permits(request, identity, permission, context):
    """devpi's ACL rules; read permissions on an index also check ``acl_read`` along its bases."""
    policy = auth_state(request.app).policy
    if isinstance(identity, apitokens.TokenIdentity):
        restrictions = identity.restrictions
        if not restrictions.permits(permission):
            return False
        if isinstance(context, Stage) and restrictions.index_refusal(context.name):
            return False
    if permission in READ_PERMISSIONS and isinstance(context, Stage):
        return may_read_stage(request.tx, identity, policy.admins(), context)
    return policy.permits(identity, permission, context)


@hookimpl
def satchel_indexconfig_defaults(index_type):
    """Every index gets ``acl_read`` (who may read it; everybody by default)."""
    return {"acl_read": list(DEFAULT_ACL_READ)}


@hookimpl
def satchel_validate_indexconfig(app, tx, old, new, identity):
    """Normalize ``acl_read`` and refuse new bases the caller may not read."""
    new["acl_read"] = normalize_acl_read(new.get("acl_read"))
    check_new_bases(app, tx, identity, auth_state(app).policy.admins(), old, new)


@hookimpl
def satchel_configure(config):
    """Refuse a ``--restrict-modify`` that names nobody."""
    if config.get("restrict_modify") is not None and not parse_principals(config.restrict_modify):
        raise ConfigError("--restrict-modify needs at least one user or :group")
