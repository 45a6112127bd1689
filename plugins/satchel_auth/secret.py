"""The server secret: random bytes in a 0600 file, from which signing keys are derived."""

import hashlib
import os
import secrets
import stat
from pathlib import Path

from satchel.errors import ConfigError

SECRET_BYTES = 32


def load_or_create_secret(path: Path) -> bytes:
    """Read the secret file, creating it (mode 0600) when missing; refuse unsafe ones."""
    path = Path(path)
    if not path.exists():
        data = secrets.token_bytes(SECRET_BYTES)
        # O_EXCL: never overwrite a secret another process just created
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return load_or_create_secret(path)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        return data
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"secret file {path} must not be accessible by group or others (chmod 600)")
    if path.parent.stat().st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise ConfigError(f"directory of secret file {path} must not be writable by group or others")
    data = path.read_bytes()
    if len(data) < SECRET_BYTES:
        raise ConfigError(f"secret file {path} is too short: at least {SECRET_BYTES} bytes are needed")
    if len(set(data)) < 8:
        raise ConfigError(f"secret file {path} is too repetitive")
    return data


def derive_key(secret: bytes, purpose: str) -> bytes:
    """A key for one purpose (token signing, replication), so one leaked key doesn't expose others."""
    return hashlib.blake2b(secret, key=purpose.encode(), digest_size=32).digest()
