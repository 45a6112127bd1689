"""User REST API (PUT/PATCH/DELETE /U) and ``POST /+login``."""

from satchel.errors import BadRequest, Forbidden, Unauthorized
from satchel.metrics import instruments
from satchel.model import users
from satchel.model.indexes import delete_index, list_stages
from satchel.names import check_username
from satchel.web.responses import json_response

from satchel_auth.state import auth_state
from satchel_auth.tokens import TOKEN_LIFETIME

CREATE_KEYS = {"password", "pwhash", "email", "title", "description", "custom_data"}


def _state(request):
    return auth_state(request.app)


def _userconfig(request, record: dict) -> dict:
    config = users.visible(record)
    config["indexes"] = {s.indexname: s.public_config for s in list_stages(request.tx, request.app, record["username"])}
    return config


def create_user(request):
    username = check_username(request.matchdict["user"])
    data = request.json_object()
    if not request.permits("user_create", username):
        raise Forbidden(f"no permission to create user {username}")
    unknown = sorted(set(data) - CREATE_KEYS)
    if unknown:
        raise BadRequest(f"Unknown keys in user config: {', '.join(unknown)}")
    if not data.get("password") and not data.get("pwhash"):
        raise BadRequest("password needs to be set")
    fields = {key: data[key] for key in users.SETTABLE_KEYS if key in data}
    record = users.create_user(request.tx, username, password=data.get("password"),
                               pwhash=data.get("pwhash"), **fields)
    return json_response(_userconfig(request, record), "userconfig", status=201)


def modify_user(request):
    username = request.matchdict["user"]
    users.get_user(request.tx, username)
    data = request.json_object()
    permission = "user_modify_password" if set(data) <= {"password"} else "user_modify"
    if not request.permits(permission, username):
        raise Forbidden(f"no permission to modify user {username}")
    users.modify_user(request.tx, username, data)
    if data.get("password") is not None:
        token = _state(request).signer.issue(username)
        return json_response({"password": token, "expiration": TOKEN_LIFETIME}, "userpassword",
                             message="user updated, new proxy auth")
    return json_response(message="user updated")


def delete_user(request):
    username = request.matchdict["user"]
    users.get_user(request.tx, username)
    if not request.permits("user_delete", username):
        raise Forbidden(f"no permission to delete user {username}")
    stages = list_stages(request.tx, request.app, username)
    for stage in stages:
        if not stage.config.get("volatile", True):
            raise Forbidden(f"user '{username}' has non-volatile index: {stage.indexname}")
    for stage in stages:
        delete_index(request.tx, stage)
    users.delete_user(request.tx, username)
    return json_response(message=f"user '{username}' deleted")


def login(request):
    data = request.json_object()
    username, password = data.get("user"), data.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username:
        raise BadRequest("Bad request: no user/password specified")
    identity = _state(request).authenticator.authenticate(request.tx, username, password)
    if identity is None:
        instruments(request.app).inc("satchel_auth_failures_total", kind="login")
        raise Unauthorized(f"user '{username}' could not be authenticated")
    token = _state(request).signer.issue(username, identity.groups)
    return json_response({"password": token, "expiration": TOKEN_LIFETIME}, "proxyauth",
                         message="login successful")


def accepts_json(request) -> bool:
    """``/+login`` exists for JSON clients only (a text/html-only request gets 404, as devpi)."""
    accept = request.headers.get("Accept", "")
    return not accept or "json" in accept or "*/*" in accept
