"""Load the deployment templates (package ``satchel_templates``) and fill their ``{placeholders}``.

Only ``{lower_case}`` names are placeholders, so nginx's ``{`` blocks, ``$variables`` and regex
quantifiers such as ``{2}`` need no escaping. An unknown placeholder is an error, never left behind.
"""

import re
from importlib import resources

TEMPLATE_PACKAGE = "satchel_templates"
PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")


def load_template(name: str) -> str:
    """The text of one template file shipped in ``satchel_templates``."""
    return resources.files(TEMPLATE_PACKAGE).joinpath(name).read_text(encoding="utf-8")


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def fill(text: str, values: dict[str, str]) -> str:
    """Replace every ``{name}`` by ``values[name]``; KeyError names a placeholder without a value."""
    missing = sorted(placeholders(text) - set(values))
    if missing:
        raise KeyError(f"no value for placeholder(s): {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), text)


# --- quoting, one function per target syntax ----------------------------------------------

_NGINX_PLAIN = re.compile(r"^[A-Za-z0-9_./+:@%=,\-]+$")
_SHELL_PLAIN = re.compile(r"^[A-Za-z0-9_./+:@=,\-]+$")


def nginx_quote(value: str) -> str:
    """A value for an nginx directive: bare when safe, else double-quoted."""
    if _NGINX_PLAIN.match(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def systemd_quote(value: str) -> str:
    """One ExecStart word: ``%`` specifiers and ``$`` expansion escaped, double-quoted when needed."""
    if value and _SHELL_PLAIN.match(value):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")
    return '"' + escaped + '"'


def shell_quote(value: str) -> str:
    """POSIX shell quoting (supervisor splits ``command`` with shlex; cron runs /bin/sh)."""
    if value and _SHELL_PLAIN.match(value):
        return value
    return "'" + value.replace("'", "'\"'\"'") + "'"


def supervisor_escape(command: str) -> str:
    """supervisor expands ``%(name)s`` in values: a literal ``%`` is ``%%``."""
    return command.replace("%", "%%")


def cron_escape(command: str) -> str:
    """cron turns an unescaped ``%`` into a newline."""
    return command.replace("%", "\\%")
