"""Users: stored records, password hashing (argon2)."""

import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from satchel.errors import Conflict, NotFound
from satchel.model import keys
from satchel.names import check_username

VISIBLE_KEYS = ("username", "email", "title", "description", "custom_data", "created", "modified")
_hasher = PasswordHasher()


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(pwhash: str | None, password: str) -> bool:
    if not pwhash:
        return False
    try:
        return _hasher.verify(pwhash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_user(tx, username: str, password: str | None = None, pwhash: str | None = None,
                **fields) -> dict:
    """Store a new user; ``pwhash`` wins over ``password``. Returns the stored record."""
    check_username(username)
    if tx.get(keys.user(username)) is not None:
        raise Conflict("user already exists")
    record = {"username": username, "created": now_iso()}
    if pwhash or password is not None:
        record["pwhash"] = pwhash or hash_password(password)
    record.update({key: value for key, value in fields.items() if value})
    tx.set(keys.user(username), record)
    return record


def get_user(tx, username: str) -> dict:
    check_username(username)
    record = tx.get(keys.user(username))
    if record is None:
        raise NotFound(f"user '{username}' does not exist")
    return record


def list_usernames(tx) -> list[str]:
    return [key[len(keys.USERS):] for key in tx.keys(keys.USERS)]


def visible(record: dict) -> dict:
    """The keys a user record shows on the wire (never the password hash)."""
    return {key: record[key] for key in VISIBLE_KEYS if key in record}
