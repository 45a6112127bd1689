"""``POST /U/+token-create``, ``GET /U/+tokens``, ``DELETE /U/+tokens/ID`` (devpi-tokens' routes and answers),
and the checks a token's restrictions make on each request."""

from satchel import clock
from satchel.errors import BadRequest, Forbidden, NotFound
from satchel.metrics import instruments
from satchel.model import keys
from satchel.names import normalize_project
from satchel.web.responses import json_response

from satchel_auth.apitokens import TokenIdentity
from satchel_auth.permissions import principals
from satchel_auth.restrictions import KNOWN_KEYS, LIST_KEYS, ONE_YEAR
from satchel_auth.state import auth_state

UPLOAD_ACTIONS = ("file_upload", "doc_upload")


def _user_record(request, username: str) -> dict:
    record = request.tx.get(keys.user(username))
    if record is None:
        raise NotFound(f"user '{username}' does not exist")
    return record


def _require_owner(request, username: str) -> None:
    if isinstance(request.identity, TokenIdentity):
        raise Forbidden("a token cannot manage tokens: it never modifies its user")
    request.require("user_modify", username, f"no permission to manage the tokens of user {username}")


def _caveats(request) -> list[str]:
    """devpi-tokens' restrictions from the JSON body as sorted ``key=value`` caveats; 400/403 on bad input."""
    data = request.json_object() if request.body else {}
    unknown = sorted(set(data) - set(KNOWN_KEYS))
    if unknown:
        raise BadRequest(f"Unknown restriction '{unknown[0]}'.")
    admin = bool(principals(request.identity) & auth_state(request.app).policy.admins())
    now = clock.now()
    expires = data.get("expires")
    caveats = []
    if expires == "never":
        if not admin:
            raise Forbidden("Not allowed to create token with no expiration")
        caveats.append("expires=never")
    else:
        try:
            expires = int(now + ONE_YEAR) if expires is None else int(expires)
        except (TypeError, ValueError):
            raise BadRequest(f"Invalid value '{expires}' for expiration") from None
        if expires <= now:
            raise BadRequest("Can't set expiration before current time")
        if expires > now + ONE_YEAR + 10 and not admin:
            raise Forbidden("Not allowed to set expiration to more than one year")
        caveats.append(f"expires={expires}")
    if data.get("not_before") is not None:
        try:
            caveats.append(f"not_before={int(data['not_before'])}")
        except (TypeError, ValueError):
            raise BadRequest(f"Invalid value '{data['not_before']}' for not before") from None
    for key in LIST_KEYS:
        if key not in data:
            continue
        values = data[key]
        if not isinstance(values, list) or not values:
            raise BadRequest(f"The {key} restriction must be a list")
        if not all(isinstance(v, str) and v.strip() and "," not in v for v in values):
            raise BadRequest(f"Every item of the {key} list must be a non-empty string without commas")
        caveats.append(f"{key}={','.join(sorted(v.strip() for v in values))}")
    return sorted(caveats)


def token_create(request):
    username = request.matchdict["user"]
    _user_record(request, username)
    _require_owner(request, username)
    token = auth_state(request.app).api_tokens.create(request.tx, username, _caveats(request))
    return json_response({"token": token}, "token-info")


def token_list(request):
    username = request.matchdict["user"]
    record = _user_record(request, username)
    _require_owner(request, username)
    return json_response({"tokens": auth_state(request.app).api_tokens.listing(record)}, "tokens-info")


def token_delete(request):
    username, token_id = request.matchdict["user"], request.matchdict["id"]
    _user_record(request, username)
    _require_owner(request, username)
    if not auth_state(request.app).api_tokens.delete(request.tx, username, token_id):
        raise NotFound(f"No token with id {token_id}")
    return json_response(message=f"token {token_id} deleted")


def authenticate_token(request, username, secret, parsed) -> TokenIdentity:
    """Verify a token and check it against what this request touches (index, project, permission)."""
    found = instruments(request.app)
    try:
        identity = auth_state(request.app).api_tokens.verify(request.tx, username, secret, parsed)
        _check_request(request, identity.restrictions)
    except Forbidden:
        found.inc("satchel_token_verifications_total", result="refused")
        raise
    found.inc("satchel_token_verifications_total", result="ok")
    return identity


def _check_request(request, restrictions) -> None:
    match = request.matchdict or {}
    index_name = f"{match['user']}/{match['index']}" if "index" in match else None
    refusal = restrictions.index_refusal(index_name)
    project = match.get("project", "").strip("/") or None
    upload = None
    if request.method == "POST" and index_name and "project" not in match:
        upload = request.POST.get(":action")
        if upload in UPLOAD_ACTIONS and request.POST.get("name"):
            project = normalize_project(str(request.POST["name"]))
    refusal = refusal or restrictions.project_refusal(project)
    if refusal is None and upload in UPLOAD_ACTIONS and not restrictions.permits("upload"):
        refusal = _not_allowed(restrictions, "upload")
    route = getattr(request.route, "name", "") or ""
    if refusal is None and index_name and request.method in ("GET", "HEAD") and not route.startswith("api") \
            and not restrictions.permits("pkg_read"):
        refusal = _not_allowed(restrictions, "pkg_read")
    if refusal:
        raise Forbidden(refusal)


def _not_allowed(restrictions, permission: str) -> str:
    return f"Token does not allow '{permission}' (allowed: {', '.join(sorted(restrictions.allowed or ()))})"
