"""Who may do what: devpi's ACL rules, with ``--restrict-modify``."""

from satchel.identity import Identity

ANONYMOUS = ":ANONYMOUS:"
AUTHENTICATED = ":AUTHENTICATED:"
USER_PERMISSIONS = {"user_create", "user_modify", "user_modify_password", "user_delete", "index_create"}
INDEX_ADMIN = {"index_modify", "index_delete"}
DELETE_PERMISSIONS = {"del_entry", "del_verdata", "del_project"}


def principals(identity: Identity) -> set[str]:
    """Every principal an identity matches: name, groups, :ANONYMOUS:, :AUTHENTICATED:."""
    found = {ANONYMOUS}
    if identity.username is not None:
        found |= {identity.username, AUTHENTICATED}
        found |= {group if group.startswith(":") else f":{group}" for group in identity.groups}
    return found


def _acl(stage, key: str) -> set[str]:
    return set(stage.config.get(key, ())) if stage is not None else set()


class Policy:
    """Decides permissions; ``restrict_modify`` is None or the set of allowed principals."""

    def __init__(self, restrict_modify: set[str] | None = None):
        self.restrict_modify = restrict_modify

    def admins(self) -> set[str]:
        return {"root"} if self.restrict_modify is None else self.restrict_modify

    def permits(self, identity: Identity, permission: str, context) -> bool | None:
        mine = principals(identity)
        if permission in ("user_login", "read", "pkg_read"):
            return True
        if permission in USER_PERMISSIONS:
            return self._user_permission(identity, mine, permission, context)
        stage = context if hasattr(context, "config") else None
        if permission in INDEX_ADMIN:
            owner = {stage.username} if stage is not None and self.restrict_modify is None else set()
            return bool(mine & (self.admins() | owner))
        if permission == "upload":
            return bool(mine & _acl(stage, "acl_upload"))
        if permission == "toxresult_upload":
            return bool(mine & _acl(stage, "acl_toxresult_upload"))
        if permission in DELETE_PERMISSIONS:
            owner = {stage.username} if stage is not None and self.restrict_modify is None else set()
            return bool(mine & (_acl(stage, "acl_upload") | self.admins() | owner))
        return None

    def _user_permission(self, identity, mine, permission, target) -> bool:
        user = identity.username
        if self.restrict_modify is None:
            if permission == "user_create":
                return True
            if permission == "user_delete" and target == "root":
                return False
            return user is not None and (user == target or user == "root")
        if permission == "user_modify_password" and user is not None and user == target:
            return True
        if permission == "user_delete" and user is not None and user == target:
            return False
        return bool(mine & self.restrict_modify)
