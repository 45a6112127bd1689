"""Operations: ``satchel export``, ``satchel import`` (own dumps and devpi's), ``satchel fsck``."""

import json
import sys
from pathlib import Path

from satchel.app import App
from satchel.commands import Command
from satchel.errors import ConfigError
from satchel.model import keys, users
from satchel.plugin import hookimpl
from satchel.progress import progress

from satchel_ops import devpi_import, dump, fsck

__version__ = "0.1.0"


@hookimpl
def satchel_add_options(parser):
    """Options of ``export``, ``import`` and ``fsck``, each limited to its command."""
    parser.add_option("include-mirrored-files", flag=True, default=False, commands=("export",),
                      help="export: include files cached from mirrors")
    parser.add_option("hard-links", flag=True, default=False, commands=("export", "import"),
                      help="export/import: hard-link files instead of copying where the filesystem allows")
    parser.add_option("from-devpi", flag=True, default=False, commands=("import",),
                      help="import: DIR is a devpi-export dump")
    parser.add_option("force-import", flag=True, default=False, commands=("import",),
                      help="import into a serverdir that already holds data (records of the same name are replaced)")
    parser.add_option("no-checksum", flag=True, default=False, commands=("fsck",),
                      help="fsck: only check that files exist")
    parser.add_option("repair", flag=True, default=False, commands=("fsck",),
                      help="fsck: refetch damaged mirror files, forget unrecoverable ones, delete orphans")


@hookimpl
def satchel_add_commands(commands):
    """Add ``export DIR``, ``import DIR`` and ``fsck``."""
    commands.add("export", Command("dump all data into DIR (absent or empty)", export_command, ("dir",)))
    commands.add("import", Command("load a dump (satchel's, or devpi's with --from-devpi) into the serverdir",
                                   import_command, ("dir",)))
    commands.add("fsck", Command("check stored files against their sha256 and references", fsck_command))


def _dir(config) -> Path:
    if not config.get("dir"):
        raise ConfigError("name the dump directory: satchel export|import DIR")
    return Path(config.dir)


def export_command(config, pluginmanager) -> int:
    """``satchel export DIR``: write every record and file of an initialized serverdir as a dump."""
    target = _dir(config)
    with App(config, pluginmanager) as app:
        if not app.is_initialized():
            raise ConfigError(f"serverdir {config.serverdir} holds no satchel data")
        counts = dump.export(app, target, include_mirrored_files=config.get("include_mirrored_files"),
                             hard_links=config.get("hard_links"))
    print(f"exported {counts['records']} records and {counts['files']} files "
          f"({counts['bytes']} bytes) to {target}", file=sys.stderr)
    return 0


def import_command(config, pluginmanager) -> int:
    """``satchel import DIR``: validate a dump (satchel's or, with --from-devpi, devpi's), then load it."""
    source = _dir(config)
    if config.get("from_devpi"):
        parsed = devpi_import.validate_devpi_dump(source, progress=progress)
    else:
        parsed = dump.validate(source)
    with App(config, pluginmanager) as app:
        if app.is_initialized() and not config.get("force_import") and not _only_fresh_root(app):
            raise ConfigError(f"serverdir {config.serverdir} already holds data; import into an empty "
                              "serverdir or pass --force-import")
        if config.get("from_devpi"):
            counts = devpi_import.import_devpi_dump(app, parsed, progress=progress)
        else:
            counts = dump.load(app, parsed, hard_links=config.get("hard_links"))
        if not app.is_initialized() or _missing_root(app):
            with app.storage.write() as tx:
                users.create_user(tx, "root", password="")
    print(f"imported {json.dumps(counts)} from {source}", file=sys.stderr)
    return 0


def _only_fresh_root(app) -> bool:
    """A serverdir that `serve` initialized but nobody used: only root and its initial data."""
    with app.storage.read() as tx:
        return users.list_usernames(tx) == ["root"] and not tx.keys("projects/") and not tx.keys("links/")


def _missing_root(app) -> bool:
    with app.storage.read() as tx:
        return tx.get(keys.user("root")) is None


def fsck_command(config, pluginmanager) -> int:
    """``satchel fsck``: check files against their hashes and references; 1 when problems are found."""
    serverdir = config.serverdir
    if (config.get("storage") or "sqlite").startswith("sqlite"):
        if not (serverdir / "satchel.sqlite").exists():
            hint = " (it looks like devpi-server's: devpi-export it, then satchel import --from-devpi)" \
                if (serverdir / ".sqlite").exists() or (serverdir / ".serverversion").exists() else ""
            raise ConfigError(f"{serverdir} is not a satchel serverdir{hint}")
    with App(config, pluginmanager) as app:
        report, bad = fsck.check(app, checksum=not config.get("no_checksum"))
        if config.get("repair"):
            fsck.repair(app, report, bad)
    for line in fsck.describe(report):
        print(line)
    return 1 if report.problems else 0
