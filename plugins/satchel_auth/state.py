"""What the plugin keeps per app, in ``app.stash["satchel_auth"]``, made on first use."""

import secrets

from satchel_auth.apitokens import ApiTokens
from satchel_auth.authenticator import Authenticator
from satchel_auth.permissions import Policy
from satchel_auth.secret import derive_key, load_or_create_secret
from satchel_auth.tokens import TokenSigner


class AuthState:
    def __init__(self, secret: bytes, restrict_modify: set[str] | None):
        self.signer = TokenSigner(derive_key(secret, "satchel-auth-token"))
        self.authenticator = Authenticator(self.signer, derive_key(secret, "satchel-auth-cache"))
        self.policy = Policy(restrict_modify)
        self.api_tokens = ApiTokens(derive_key(secret, "satchel-api-tokens"))


def parse_principals(spec: str | None) -> set[str] | None:
    if not spec:
        return None
    return {item.strip() for item in spec.split(",") if item.strip()}


def auth_state(app) -> AuthState:
    state = app.stash.get("satchel_auth")
    if state is None:
        config = app.config
        if config.get("secretfile"):
            secret = load_or_create_secret(config.secretfile)
        elif app.storage_backend.persistent:
            secret = load_or_create_secret(config.serverdir / ".secret")
        else:
            secret = secrets.token_bytes(32)  # nothing persists, so neither do tokens
        state = app.stash["satchel_auth"] = AuthState(secret, parse_principals(config.get("restrict_modify")))
    return state
