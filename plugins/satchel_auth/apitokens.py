"""API tokens wire-compatible with devpi-tokens: V2 macaroons ``devpi-<serialized>`` with identifier ``USER-ID``.

A token's root key is derived from the server secret and a random per-token salt, and only the salt is
stored (in the user record, under ``tokens``): the database alone cannot mint or check a token. A verified
signature is remembered briefly (uploads send the token with every request); deleting the token takes effect
at once because every use checks that its id is still stored.
"""

import hashlib
import hmac
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import pymacaroons
from pymacaroons.exceptions import MacaroonException

from satchel import clock
from satchel.errors import Forbidden
from satchel.identity import Identity
from satchel.model import keys

from satchel_auth.restrictions import InvalidToken, Restrictions, read_caveats

PREFIX = "devpi-"
TOKEN_USER_NAMES = ("", "__token__")  # besides the owner's name (twine's convention; Bearer)
ID_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
VERIFIED_SECONDS = 60


@dataclass(frozen=True)
class TokenIdentity(Identity):
    """A user authenticated by an API token: the token's restrictions apply on top of the user's rights."""

    token_id: str = ""
    restrictions: Restrictions = field(default_factory=Restrictions, compare=False, hash=False)


def parse(secret: str):
    """``(macaroon, user, token id)`` when ``secret`` is a token, else None (a password, a login token)."""
    if not secret or "." in secret or len(secret) < 32:
        return None
    try:
        macaroon = pymacaroons.Macaroon.deserialize(secret.removeprefix(PREFIX))
        identifier = macaroon.identifier
        identifier = identifier.decode("ascii") if isinstance(identifier, bytes) else identifier
    except Exception:  # noqa: BLE001 - anything unreadable is simply not a token
        return None
    user, sep, token_id = identifier.rpartition("-")
    if not sep or not user or not token_id:
        return None
    return macaroon, user, token_id


def caveat_text(caveat) -> str:
    value = caveat.caveat_id
    return value.decode("utf-8") if isinstance(value, bytes) else value


class ApiTokens:
    """Minting, listing, revoking and verifying; one per app (in the auth plugin's state)."""

    def __init__(self, key: bytes):
        self._key = key
        self._verified: OrderedDict[bytes, tuple[float, str, str, str]] = OrderedDict()
        self._lock = threading.Lock()
        self.verifications = 0

    def root_key(self, salt: str) -> bytes:
        return hmac.new(self._key, salt.encode("ascii"), hashlib.sha256).digest()

    def create(self, tx, username: str, caveats: list[str]) -> str:
        record = tx.get(keys.user(username))
        tokens = dict(record.get("tokens") or {})
        token_id = "".join(secrets.choice(ID_ALPHABET) for _ in range(8))
        while token_id in tokens:
            token_id = "".join(secrets.choice(ID_ALPHABET) for _ in range(8))
        salt = secrets.token_urlsafe(32)
        tokens[token_id] = {"salt": salt, "restrictions": list(caveats), "created": clock.iso()}
        tx.set(keys.user(username), {**record, "tokens": tokens})
        macaroon = pymacaroons.Macaroon(identifier=f"{username}-{token_id}", key=self.root_key(salt),
                                        version=pymacaroons.MACAROON_V2)
        for caveat in caveats:
            macaroon.add_first_party_caveat(caveat)
        return PREFIX + macaroon.serialize()

    @staticmethod
    def listing(record: dict) -> dict:
        """``{id: {"restrictions": [...], "created": ...}}``: never the salt."""
        return {token_id: {k: v for k, v in info.items() if k != "salt"}
                for token_id, info in (record.get("tokens") or {}).items()}

    @staticmethod
    def delete(tx, username: str, token_id: str) -> bool:
        record = tx.get(keys.user(username))
        tokens = dict(record.get("tokens") or {})
        if tokens.pop(token_id, None) is None:
            return False
        tx.set(keys.user(username), {**record, "tokens": tokens})
        return True

    def verify(self, tx, username: str | None, secret: str, parsed) -> TokenIdentity:
        """The identity of a valid token (``parsed`` by ``parse``); Forbidden naming what failed, time included."""
        macaroon, user, token_id = parsed
        if username not in TOKEN_USER_NAMES and username != user:
            raise Forbidden("Token doesn't match user name")
        record = tx.get(keys.user(user))
        if record is None:
            raise Forbidden("User for token doesn't exist")
        info = (record.get("tokens") or {}).get(token_id)
        if info is None:
            raise Forbidden(f"The token id {token_id} doesn't exist")
        self._check_signature(macaroon, secret, user, token_id, info["salt"])
        try:
            restrictions = read_caveats([caveat_text(c) for c in macaroon.first_party_caveats()])
        except InvalidToken as exc:
            raise Forbidden(str(exc)) from None
        refusal = restrictions.time_refusal(clock.now())
        if refusal:
            raise Forbidden(refusal)
        return TokenIdentity(user, (), token_id, restrictions)

    def _check_signature(self, macaroon, secret: str, user: str, token_id: str, salt: str) -> None:
        cache_id = hashlib.sha256(secret.encode("utf-8")).digest()
        now = clock.monotonic()
        with self._lock:
            known = self._verified.get(cache_id)
        if known is not None and known[1:] == (user, token_id, salt) and now - known[0] < VERIFIED_SECONDS:
            return
        verifier = pymacaroons.Verifier()
        verifier.satisfy_general(lambda predicate: True)  # caveats are read and checked per request
        try:
            verifier.verify(macaroon, self.root_key(salt))
        except (MacaroonException, ValueError, TypeError):
            raise Forbidden("Token signature is invalid") from None
        with self._lock:
            self.verifications += 1
            self._verified[cache_id] = (now, user, token_id, salt)
            while len(self._verified) > 1024:
                self._verified.popitem(last=False)
