"""Login tokens: a signed, timestamped ``[username, groups]`` (itsdangerous)."""

from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from satchel import clock

TOKEN_LIFETIME = 36000  # seconds, as devpi


class _ClockSigner(TimestampSigner):
    """Token ages by satchel's clock, so tests can let a token expire without waiting."""

    def get_timestamp(self) -> int:
        return int(clock.now())


class TokenSigner:
    def __init__(self, key: bytes, lifetime: int = TOKEN_LIFETIME):
        self._serializer = URLSafeTimedSerializer(key, salt="satchel-login", signer=_ClockSigner)
        self.lifetime = lifetime

    def issue(self, username: str, groups=()) -> str:
        return self._serializer.dumps([username, list(groups)])

    def verify(self, token: str) -> tuple[str, list[str]] | None:
        """``(username, groups)`` of a valid, unexpired token, else None."""
        try:
            username, groups = self._serializer.loads(token, max_age=self.lifetime)
        except (BadSignature, ValueError, TypeError):
            return None
        if not isinstance(username, str) or not isinstance(groups, list):
            return None
        return username, groups
