"""Check a secret (login token or password) for a user; remember recent password checks."""

import hashlib
import hmac
import threading
from collections import OrderedDict

from satchel import clock
from satchel.identity import Identity
from satchel.model import keys, users

from satchel_auth.tokens import TokenSigner

PASSWORD_CACHE_SECONDS = 60


class Authenticator:
    """Tokens first, then the stored argon2 hash.

    argon2 is slow on purpose; twine and pip send the password with every request, so a
    successful check is remembered briefly, keyed by an HMAC of the credentials and tied to
    the stored hash (a password change invalidates it at once).
    """

    def __init__(self, signer: TokenSigner, cache_key: bytes):
        self.signer = signer
        self._cache_key = cache_key
        self._recent: OrderedDict[bytes, tuple[str, float]] = OrderedDict()
        self._lock = threading.Lock()

    def authenticate(self, tx, username: str, secret: str) -> Identity | None:
        record = tx.get(keys.user(username))
        if record is None or username == "+replica":
            return None
        verified = self.signer.verify(secret)
        if verified is not None:
            token_user, groups = verified
            return Identity(username, tuple(groups)) if token_user == username else None
        if self._check_password(username, record.get("pwhash"), secret):
            return Identity(username)
        return None

    def _check_password(self, username: str, pwhash: str | None, password: str) -> bool:
        if not pwhash:
            return False
        cache_id = hmac.new(self._cache_key, f"{username}\0{password}".encode(), hashlib.sha256).digest()
        now = clock.monotonic()
        with self._lock:
            cached = self._recent.get(cache_id)
        if cached is not None and cached[0] == pwhash and now - cached[1] < PASSWORD_CACHE_SECONDS:
            return True
        if not users.verify_password(pwhash, password):
            return False
        with self._lock:
            self._recent[cache_id] = (pwhash, now)
            while len(self._recent) > 1024:
                self._recent.popitem(last=False)
        return True
