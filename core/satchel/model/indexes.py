"""Indexes (their model object is ``Stage``): index types, creation, lookup and the resolution order."""

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from satchel.errors import BadRequest, Conflict, NotFound
from satchel.model import keys
from satchel.model.ordering import sort_links, version_key
from satchel.names import check_indexname, check_username


class Stage:
    """One index: its name, stored config and type. Holds no transaction; methods take one.

    Index types subclass this to change where project data comes from (the mirror fetches it).
    """

    def __init__(self, app, username: str, indexname: str, config: dict, index_type: "IndexType"):
        self.app = app
        self.username = username
        self.indexname = indexname
        self.name = f"{username}/{indexname}"
        self.config = config
        self.index_type = index_type

    @property
    def is_mirror(self) -> bool:
        """Whether the index type caches another index (its files and pages come from upstream)."""
        return self.index_type.is_mirror

    def __repr__(self) -> str:
        return f"<Stage {self.name} type={self.index_type.name}>"

    @property
    def public_config(self) -> dict:
        """The config as shown on the wire (secrets such as upstream credentials masked)."""
        mask = self.index_type.public_config
        return mask(self.config) if mask is not None else self.config

    def get_project(self, tx, project: str) -> dict | None:
        """``{"name", "versions", "files": [link, ...]}`` or None when this index lacks the project."""
        record = tx.get(keys.project(self.name, project))
        if record is None:
            return None
        record["versions"] = list_versions(tx, self, project)
        record["files"] = sort_links([value for _, value in tx.items(keys.project_links(self.name, project))])
        return record

    def project_serial(self, tx, project: str) -> int:
        """A number that changes whenever ``get_project`` would return something new."""
        return tx.get_serial(keys.project(self.name, project))

    def page_headers(self, tx, project: str) -> dict[str, str]:
        """Extra headers for this index's simple page of ``project`` (a mirror adds its upstream serial)."""
        return {}

    def list_projects(self, tx) -> list[str]:
        """Normalized names of the projects this index itself holds."""
        prefix = keys.index_projects(self.name)
        return [key[len(prefix):] for key in tx.keys(prefix)]


@dataclass
class IndexType:
    """What a plugin registers through ``satchel_index_types``."""

    name: str
    stage_class: type[Stage] = Stage
    defaults: dict[str, Any] = field(default_factory=dict)
    optional: tuple[str, ...] = ()  # keys allowed without a default (title, description ...)
    is_mirror: bool = False
    accepts_uploads: bool = False
    default: bool = False  # used when a new index names no type
    normalize: Callable[[dict], dict] | None = None  # coerce and validate input values
    public_config: Callable[[dict], dict] | None = None  # mask secrets for the wire


def list_versions(tx, stage: Stage, project: str) -> list[str]:
    """The versions a private index holds of ``project``, oldest first (from the keys: nothing decoded)."""
    prefix = keys.project_versions(stage.name, project)
    return sorted((key[len(prefix):] for key in tx.keys(prefix)), key=version_key)


def get_stage(tx, app, username: str, indexname: str) -> Stage | None:
    """The index ``username/indexname`` as its type's Stage, or None when it does not exist."""
    config = tx.get(keys.index(username, indexname))
    if config is None:
        return None
    return make_stage(app, username, indexname, config)


def make_stage(app, username: str, indexname: str, config: dict) -> Stage:
    """A Stage of the class the config's index type declares (no storage read)."""
    index_type = app.index_types.get(config["type"])
    return index_type.stage_class(app, username, indexname, config, index_type)


def require_stage(tx, app, username: str, indexname: str) -> Stage:
    """The stage, 400 for a name breaking the rules, 404 when it doesn't exist."""
    check_username(username)
    check_indexname(indexname)
    stage = get_stage(tx, app, username, indexname)
    if stage is None:
        raise NotFound(f"The stage {username}/{indexname} could not be found.")
    return stage


def list_stages(tx, app, username: str) -> list[Stage]:
    """The indexes of ``username``, by name."""
    prefix = keys.user_indexes(username)
    return [make_stage(app, username, key[len(prefix):], config) for key, config in tx.items(prefix)]


def _default_type(app) -> str:
    for name, index_type in app.index_types.items():
        if index_type.default:
            return name
    raise BadRequest("no index type given and no default index type is installed")


def build_config(tx, app, index_name: str, config: dict, old: dict | None = None, identity=None) -> dict:
    """Apply defaults, normalize values, check keys and bases; return the config to store.

    ``config`` is complete: keys it leaves out get their defaults. ``old`` is the stored config
    when an existing index changes; ``identity`` who asks (None outside requests).
    """
    type_name = config.get("type") or (old or {}).get("type") or _default_type(app)
    if type_name not in app.index_types:
        raise BadRequest(f"unknown index type {type_name!r}")
    if old is not None and type_name != old.get("type"):
        raise BadRequest("the 'type' of an index can't be changed")
    index_type = app.index_types.get(type_name)
    allowed = {"type": type_name, **index_type.defaults}
    for extra in app.hook.satchel_indexconfig_defaults(index_type=type_name):
        allowed.update(extra or {})
    unknown = {key: value for key, value in config.items()
               if key not in allowed and key not in index_type.optional}
    if unknown:
        listed = ", ".join(f"{key}={value}" for key, value in sorted(unknown.items()))
        raise BadRequest(f"indexconfig got unexpected keyword arguments: {listed}")
    new = {**allowed, **config, "type": type_name}
    if index_type.normalize is not None:
        new = index_type.normalize(new)
    for base in new.get("bases", ()):
        user, _, name = base.partition("/")
        if not user or not name or "/" in name:
            raise BadRequest(f"invalid base index spec: {base!r}")
        if tx.get(keys.index(user, name)) is None:
            raise BadRequest(f"base index '{base}' does not exist")
    _check_no_cycle(tx, index_name, new.get("bases", ()))
    app.hook.satchel_validate_indexconfig(app=app, tx=tx, index_name=index_name, old=old, new=new,
                                          identity=identity, index=index_name)  # index: deprecated
    return new


def _check_no_cycle(tx, index_name: str, bases) -> None:
    """Refuse bases through which ``index_name`` would inherit from itself."""
    seen: set[str] = set()
    queue = deque(bases)
    while queue:
        base = queue.popleft()
        if base == index_name:
            raise BadRequest(f"bases of '{index_name}' form a cycle: '{index_name}' would inherit from itself")
        if base in seen:
            continue
        seen.add(base)
        config = tx.get(keys.index(*base.split("/", 1))) or {}
        queue.extend(config.get("bases", ()))


def modify_index(tx, app, stage: Stage, config: dict, identity=None) -> Stage:
    """Replace the config with ``config`` (keys left out fall back to their defaults)."""
    stored = build_config(tx, app, stage.name, dict(config), old=stage.config, identity=identity)
    tx.set(keys.index(stage.username, stage.indexname), stored)
    return make_stage(app, stage.username, stage.indexname, stored)


def delete_index(tx, stage: Stage) -> None:
    """Remove the index config and every key scoped to the index (blobs are left to fsck)."""
    for prefix in keys.index_scoped_prefixes(stage.name):
        for key in tx.keys(prefix):
            tx.delete(key)
    tx.delete(keys.index(stage.username, stage.indexname))


def create_index(tx, app, username: str, indexname: str, config: dict, identity=None) -> Stage:
    """Create ``username/indexname`` with ``config`` (its ``type`` picks the index type)."""
    check_username(username)
    check_indexname(indexname)
    if tx.get(keys.user(username)) is None:
        raise NotFound(f"user '{username}' does not exist")
    if tx.get(keys.index(username, indexname)) is not None:
        raise Conflict(f"index '{username}/{indexname}' exists")
    stored = build_config(tx, app, f"{username}/{indexname}", dict(config), identity=identity)
    tx.set(keys.index(username, indexname), stored)
    return make_stage(app, username, indexname, stored)


def resolution_order(tx, app, stage: Stage) -> list[Stage]:
    """The index, then its bases breadth-first (each once, missing ones skipped), mirrors last."""
    seen = {stage.name}
    order = [stage]
    queue = deque([stage])
    while queue:
        current = queue.popleft()
        for base in current.config.get("bases", ()):
            if base in seen:
                continue
            seen.add(base)
            username, _, indexname = base.partition("/")
            base_stage = get_stage(tx, app, username, indexname)
            if base_stage is None:
                continue
            order.append(base_stage)
            queue.append(base_stage)
    return [s for s in order if not s.is_mirror] + [s for s in order if s.is_mirror]
