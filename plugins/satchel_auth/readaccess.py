"""Per-index read access: the ``acl_read`` index option and the checks built on it."""

from satchel.errors import Forbidden
from satchel.identity import Identity
from satchel.model.coerce import to_list
from satchel.model.indexes import Stage, get_stage, resolution_order

from satchel_auth.permissions import ANONYMOUS, AUTHENTICATED, principals

READ_PERMISSIONS = ("read", "pkg_read")
DEFAULT_ACL_READ = [ANONYMOUS]


def acl_read(config: dict) -> list[str]:
    """The readers an index config names; indexes stored before ``acl_read`` existed are open."""
    return config.get("acl_read", DEFAULT_ACL_READ)


def normalize_acl_read(value) -> list[str]:
    """Comma list or list; the special principals in devpi's spelling (upper case)."""
    found = to_list(value)
    special = {ANONYMOUS.lower(): ANONYMOUS, AUTHENTICATED.lower(): AUTHENTICATED}
    return [special.get(item.lower(), item) for item in found] or list(DEFAULT_ACL_READ)


def may_read_config(identity: Identity, admins: set[str], index_name: str, config: dict) -> bool:
    """Whether ``identity`` may read the one index ``index_name`` with ``config`` (bases not considered).

    The owner and the admins (root or ``--restrict-modify``) can change ``acl_read`` anyway, so
    they always read.
    """
    readers = set(acl_read(config))
    if ANONYMOUS in readers:
        return True
    mine = principals(identity)
    return bool(mine & (readers | admins | {index_name.split("/", 1)[0]}))


def may_read_stage(tx, identity: Identity, admins: set[str], stage: Stage) -> bool:
    """Read access to ``stage`` and to every index it inherits from."""
    chain = resolution_order(tx, stage.app, stage) if stage.config.get("bases") else [stage]
    return all(may_read_config(identity, admins, s.name, s.config) for s in chain)


def check_new_bases(app, tx, identity: Identity | None, admins: set[str], old: dict | None, new: dict) -> None:
    """Refuse bases the modifying user cannot read, through their own bases too.

    Only newly named bases are checked: reading through any base needs read access anyway.
    """
    if identity is None:
        return  # initialization, import: no requester
    before = set((old or {}).get("bases", ()))
    for base in new.get("bases", ()):
        if base in before:
            continue
        stage = get_stage(tx, app, *base.split("/", 1))
        if stage is not None and not may_read_stage(tx, identity, admins, stage):
            who = identity.username or "anonymous"
            raise Forbidden(f"cannot use '{base}' as a base: {who} has no read access to it (acl_read)")
