"""Users: stored records, password hashing (argon2)."""


from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from satchel import clock
from satchel.errors import BadRequest, Conflict, NotFound
from satchel.model import keys
from satchel.names import check_username

VISIBLE_KEYS = ("username", "email", "title", "description", "custom_data", "created", "modified")
SETTABLE_KEYS = ("email", "title", "description", "custom_data")
_hasher = PasswordHasher()




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
    record = {"username": username, "created": clock.iso()}
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


def modify_user(tx, username: str, changes: dict) -> tuple[dict, bool]:
    """Apply ``password`` and settable keys (a falsy value deletes the key); unknown keys are ignored.

    Returns the stored record and whether anything changed.
    """
    record = get_user(tx, username)
    updated = dict(record)
    if changes.get("password") is not None:
        if not isinstance(changes["password"], str):
            raise BadRequest("password must be a string")
        updated["pwhash"] = hash_password(changes["password"])
    elif changes.get("pwhash"):
        updated["pwhash"] = changes["pwhash"]
    for key in SETTABLE_KEYS:
        if key not in changes:
            continue
        if changes[key]:
            updated[key] = changes[key]
        else:
            updated.pop(key, None)
    if updated == record:
        return record, False
    updated["modified"] = clock.iso()
    tx.set(keys.user(username), updated)
    return updated, True


def delete_user(tx, username: str) -> None:
    """Remove the user record (its indexes must be deleted by the caller first)."""
    get_user(tx, username)
    tx.delete(keys.user(username))
