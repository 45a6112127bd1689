"""Which role this node plays, and what a replica remembers of its primary (``.replica.json``)."""

import hashlib
import json
import os
from pathlib import Path

from satchel.errors import ConfigError

ROLES = ("auto", "standalone", "primary", "replica")
STATE_FILE = ".replica.json"


def state_path(serverdir: Path) -> Path:
    return Path(serverdir) / STATE_FILE


def load_state(serverdir: Path) -> dict | None:
    try:
        return json.loads(state_path(serverdir).read_text())
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise ConfigError(f"{state_path(serverdir)} is damaged: {exc}") from None


def save_state(serverdir: Path, state: dict) -> None:
    path = state_path(serverdir)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state))
    os.replace(tmp, path)


def resolve_role(config) -> tuple[str, str | None]:
    """``(role, primary url)``; a replica is a node given ``--primary-url`` or prepared as one."""
    role = config.get("role") or "auto"
    if role not in ROLES:
        raise ConfigError(f"--role must be one of {', '.join(ROLES)}")
    primary_url = config.get("primary_url")
    state = load_state(config.serverdir) if config.serverdir.exists() else None
    if not primary_url and state:
        primary_url = state.get("primary_url")
    if role == "auto":
        role = "replica" if primary_url else "standalone"
    if role == "replica" and not primary_url:
        raise ConfigError("a replica needs --primary-url URL")
    if role != "replica":
        primary_url = None
    return role, primary_url.rstrip("/") if primary_url else None


def load_secret(config) -> bytes:
    """The secret shared with the primary (the auth plugin's secret file)."""
    path = Path(config.get("secretfile") or config.serverdir / ".secret")
    try:
        secret = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"no secret file at {path}: a replica needs the primary's secret file "
                          "(copy it, mode 0600, or pass --secretfile)") from None
    return hashlib.blake2b(secret, key=b"satchel-replica", digest_size=32).digest()
