"""Index REST API for every index type: PUT (create), PATCH (modify: a dict or devpi's
``k=v``/``k+=v``/``k-=v`` list), DELETE."""

import json

from satchel.errors import BadRequest, Forbidden, NotFound
from satchel.model import keys
from satchel.model.indexes import build_config, create_index, delete_index, modify_index, require_stage
from satchel.names import check_indexname, check_username
from satchel.web.responses import json_response


def _body(request):
    try:
        return json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("Bad request: could not decode json") from None


def create(request):
    """``PUT /U/I``: 404 for a missing user comes before the permission check (as devpi)."""
    username = check_username(request.matchdict["user"])
    indexname = check_indexname(request.matchdict["index"])
    config = _body(request)
    if not isinstance(config, dict):
        raise BadRequest("Bad request: expected a JSON object")
    if request.tx.get(keys.user(username)) is None:
        raise NotFound(f"user '{username}' does not exist")
    if not request.permits("index_create", username):
        raise Forbidden(f"no permission to create index {username}/{indexname}")
    stage = create_index(request.tx, request.app, username, indexname, config, identity=request.identity)
    return json_response(stage.public_config, "indexconfig")


def _unwrap(data: dict) -> dict:
    # devpi-client may send back a whole reply envelope
    if data.get("type") == "indexconfig" and isinstance(data.get("result"), dict):
        return data["result"]
    return data


def apply_operations(config: dict, defaults: dict, operations: list) -> dict:
    """devpi-client's ``["key=value", "key+=value", "key-=value", "key-="]`` on a copy of ``config``."""
    config = dict(config)
    for operation in operations:
        if not isinstance(operation, str) or "=" not in operation:
            raise BadRequest(f"invalid operation {operation!r}: use key=value, key+=value or key-=value")
        key, _, value = operation.partition("=")
        if key.endswith("+"):
            key = key[:-1]
            current = _as_list(config.get(key))
            if value not in current:
                current.append(value)
            config[key] = current
        elif key.endswith("-"):
            key = key[:-1]
            if value == "":
                if key in defaults:
                    raise BadRequest("Default values can't be removed.")
                config.pop(key, None)
                continue
            current = _as_list(config.get(key))
            if value not in current:
                raise BadRequest(f"The '{key}' setting doesn't have value '{value}'")
            current.remove(value)
            config[key] = current
        else:
            config[key] = value
    return config


def _as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        return [item for item in value.split(",") if item]
    return list(value)


def modify(request):
    match = request.matchdict
    stage = require_stage(request.tx, request.app, match["user"], match["index"])
    if not request.permits("index_modify", stage):
        raise Forbidden(f"no permission to modify index {stage.name}")
    data = _body(request)
    if isinstance(data, list):
        defaults = {**stage.index_type.defaults, "type": stage.index_type.name}
        new = apply_operations(stage.config, defaults, data)
    elif isinstance(data, dict):
        new = {**stage.config, **_unwrap(data)}
    else:
        raise BadRequest("Bad request: expected a JSON object or a list of key=value operations")
    if "error_on_noop" in request.GET:
        normalized = build_config(request.tx, request.app, stage.name, dict(new), old=stage.config,
                                  identity=request.identity)
        if normalized == stage.config:
            raise BadRequest("The requested modifications resulted in no changes")
    stage = modify_index(request.tx, request.app, stage, new, identity=request.identity)
    return json_response(stage.public_config, "indexconfig")


def delete(request):
    match = request.matchdict
    stage = require_stage(request.tx, request.app, match["user"], match["index"])
    if not request.permits("index_delete", stage):
        raise Forbidden(f"no permission to delete index {stage.name}")
    if not stage.config.get("volatile", True):
        raise Forbidden(f"index {stage.name} non-volatile, cannot delete")
    delete_index(request.tx, stage)
    return json_response(message=f"index {stage.name} deleted", status=201)
