"""The Jinja2 environment (autoescape on; a theme's templates first) and its filters."""

from pathlib import Path
from urllib.parse import quote

import jinja2

PACKAGE_DIR = Path(__file__).parent


def make_environment(theme: Path | None) -> jinja2.Environment:
    loaders = []
    if theme is not None:
        loaders.append(jinja2.FileSystemLoader(str(theme / "templates")))
    loaders.append(jinja2.FileSystemLoader(str(PACKAGE_DIR / "templates")))
    env = jinja2.Environment(loader=jinja2.ChoiceLoader(loaders), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters["filesize"] = filesize
    env.filters["when"] = format_when
    env.filters["q"] = lambda value: quote(str(value), safe="")
    return env


def filesize(size) -> str:
    if not isinstance(size, int):
        return ""
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def format_when(value) -> str:
    """ISO strings and devpi's ``[Y, M, D, h, m, s]`` lists as ``YYYY-MM-DD hh:mm UTC``."""
    if isinstance(value, (list, tuple)) and len(value) >= 5:
        return "%04d-%02d-%02d %02d:%02d UTC" % tuple(value[:5])
    if isinstance(value, str) and len(value) >= 16:
        return value[:10] + " " + value[11:16] + " UTC"
    return str(value or "")
