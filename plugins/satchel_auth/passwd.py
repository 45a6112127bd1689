"""``satchel passwd USER``: set a password from the terminal (no echo) or standard input."""

import getpass
import sys

from satchel.app import App
from satchel.errors import ConfigError, NotFound
from satchel.model import users


def read_password(username: str) -> str:
    if sys.stdin.isatty():
        first = getpass.getpass(f"new password for {username}: ")
        if getpass.getpass("repeat new password: ") != first:
            raise ConfigError("passwords do not match")
        return first
    # scripts pipe the password in: one line
    return sys.stdin.readline().rstrip("\r\n")


def passwd(config, pluginmanager) -> int:
    username = config.get("user")
    if not username:
        raise ConfigError("name the user: satchel passwd USER")
    with App(config, pluginmanager) as app:
        if not app.is_initialized():
            raise ConfigError(f"serverdir {config.serverdir} is not initialized")
        with app.storage.read() as tx:
            try:
                users.get_user(tx, username)
            except NotFound as exc:
                raise ConfigError(exc.message) from None
        password = read_password(username)
        if not password:
            raise ConfigError("empty password refused")
        with app.storage.write() as tx:
            users.modify_user(tx, username, {"password": password})
    print(f"password of {username} changed", file=sys.stderr)
    return 0
