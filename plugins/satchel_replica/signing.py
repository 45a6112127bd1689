"""Replica credentials: the replica's uuid signed with a key derived from the shared secret."""

from itsdangerous import BadSignature, TimestampSigner

MAX_AGE = 60  # seconds a signature is accepted


def replica_headers(key: bytes, replica_uuid: str, outside_url: str | None = None) -> dict:
    token = TimestampSigner(key, salt="satchel-replica").sign(replica_uuid.encode()).decode()
    headers = {"Authorization": f"Bearer {token}", "X-Satchel-Replica-Uuid": replica_uuid,
               "X-Devpi-Replica-Uuid": replica_uuid}
    if outside_url:
        headers["X-Devpi-Replica-Outside-Url"] = outside_url
    return headers


def verify(key: bytes, headers) -> str | None:
    """The replica uuid of a valid, fresh signature matching ``X-Satchel-Replica-Uuid``, else None."""
    scheme, _, token = headers.get("Authorization", "").partition(" ")
    if scheme != "Bearer" or not token:
        return None
    try:
        uuid = TimestampSigner(key, salt="satchel-replica").unsign(token, max_age=MAX_AGE).decode()
    except (BadSignature, UnicodeDecodeError):
        return None
    return uuid if uuid == headers.get("X-Satchel-Replica-Uuid") else None
