"""A throwaway PostgreSQL server for tests: ``initdb`` + ``pg_ctl`` in a temp dir, on 127.0.0.1.

initdb refuses to run as root, so as root the server runs as the ``postgres`` system user
(created when missing) through ``runuser``. ``PostgresServer.start()`` raises ``Unavailable``
with the reason when no PostgreSQL is installed.
"""

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from satchel.testing.server import free_port


class Unavailable(Exception):
    """No PostgreSQL server can be started here; the message says why."""


def find_bindir() -> Path:
    """The directory holding ``initdb`` and ``pg_ctl`` (PATH first, then Debian's versioned dirs)."""
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    raise Unavailable("PostgreSQL's initdb is not installed (Debian: apt-get install postgresql)")


def _ensure_postgres_user() -> None:
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True,
                       capture_output=True)


class PostgresServer:
    """One server; ``dsn(dbname)`` connects to it, ``create_database()`` makes an empty database."""

    user = "satchel"

    def __init__(self, durable: bool = False, settings: dict[str, str] | None = None):
        """``durable``: PostgreSQL's default crash safety (``fsync``, ``full_page_writes``, ``synchronous_commit``
        on), as benchmarks need; without it (tests) commits skip the disk flush. ``settings``: more ``-c`` options."""
        self.durable = durable
        self.settings = dict(settings or {})
        self.bindir = find_bindir()
        self.port = free_port()
        self.basedir = Path(tempfile.mkdtemp(prefix="satchel-pg-"))
        self.datadir = self.basedir / "data"
        self.started = False

    def _run(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        command = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, **kwargs)

    def start(self) -> "PostgresServer":
        if os.geteuid() == 0:
            _ensure_postgres_user()
            os.chmod(self.basedir, 0o755)
            self.datadir.mkdir(mode=0o700)
            shutil.chown(self.datadir, "postgres", "postgres")
        result = self._run("initdb", "-D", str(self.datadir), "-U", self.user, "--auth=trust",
                           "-E", "UTF8", "--locale=C", "--no-sync")
        if result.returncode:
            raise Unavailable(f"initdb failed: {result.stderr.strip() or result.stdout.strip()}")
        settings = {"listen_addresses": "127.0.0.1", "max_connections": "300"}
        if not self.durable:  # a throwaway server: a crash loses nothing anyone needs
            settings.update(fsync="off", full_page_writes="off")
        settings.update(self.settings)
        options = f"-p {self.port} -k {self.datadir} " + " ".join(f"-c {key}={value}" for key, value in settings.items())
        result = self._run("pg_ctl", "-D", str(self.datadir), "-o", options, "-l",
                           str(self.datadir / "server.log"), "-w", "-t", "60", "start")
        if result.returncode:
            log = (self.datadir / "server.log")
            detail = log.read_text()[-2000:] if log.exists() else result.stderr
            raise Unavailable(f"pg_ctl start failed: {detail.strip()}")
        self.started = True
        return self

    def dsn(self, dbname: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user={self.user} dbname={dbname}"

    def create_database(self, prefix: str = "t", template: str | None = None) -> str:
        """A new database, empty or a copy of the database ``template`` (which nobody may be connected to);
        its DSN."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        copy = f' TEMPLATE "{template}"' if template else ""
        if template and self._admin("SHOW server_version_num") >= 150000:
            # copying the template's files beats WAL-logging each page (15's default) for small databases
            copy += " STRATEGY FILE_COPY"
        self._admin(f'CREATE DATABASE "{name}"{copy}')
        return self.dsn(name)

    def drop_database(self, dsn: str) -> None:
        """Drop the database of ``dsn`` (a ``create_database`` result), ending sessions still connected."""
        name = dsn.rpartition("dbname=")[2]
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _admin(self, statement: str) -> int | None:
        """Run ``statement`` in the ``postgres`` database; the first column of its first row as an int."""
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            cursor = conn.execute(statement)
            row = cursor.fetchone() if cursor.description else None
        return int(row[0]) if row else None

    def stop(self) -> None:
        if self.started:
            self._run("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "stop")
            self.started = False
        shutil.rmtree(self.basedir, ignore_errors=True)
