"""``satchel gen-config [DIR]``: fill the deployment templates for this server's options and write them."""

import grp
import math
import os
import pwd
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from satchel.config import Config, collect_options
from satchel.errors import ConfigError

from satchel_genconfig.render import (cron_escape, fill, load_template, nginx_quote, shell_quote,
                                      supervisor_escape, systemd_quote)

DEFAULT_DIR = "gen-config"
TEMPLATES = ("nginx-satchel.conf", "satchel.service", "satchel-worker@.service", "supervisor-satchel.conf",
             "satchel-prune.service", "satchel-prune.timer", "crontab", "prometheus-satchel.yml")
PRUNE_DAYS = 30
CACHE_VALIDITY = "30s"  # how long nginx reuses a simple page without asking satchel
ACCEL_PREFIX = "/+blobs-internal/"
DEFAULT_BODY_SIZE = 1 << 30
# written into the serve command line always (in this order) or never (secrets, init-only)
ALWAYS = ("serverdir", "host", "port")
GENERATOR_OPTIONS = {"gen-workers"}  # gen-config's own: not written into the serve command line
NEVER = {"root-passwd"}
_PREFIX = re.compile(r"(/[A-Za-z0-9._~\-]+)*")


@dataclass(frozen=True)
class Site:
    """The public side, from ``--outside-url``: what nginx listens on and the path prefix."""

    scheme: str = "http"
    server_name: str = "_"
    port: int = 80
    explicit_port: bool = False
    prefix: str = ""

    @property
    def https(self) -> bool:
        return self.scheme == "https"


def site_from(outside_url: str | None) -> Site:
    if not outside_url:
        return Site()
    parts = urlsplit(outside_url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
        raise ConfigError(f"--outside-url {outside_url!r} is not an http(s) URL with a host "
                          "(e.g. https://pypi.example.com or https://example.com/pypi)")
    prefix = parts.path.rstrip("/")
    if not _PREFIX.fullmatch(prefix):
        raise ConfigError(f"--outside-url path {parts.path!r}: use letters, digits and ._~- only")
    default_port = 443 if parts.scheme == "https" else 80
    return Site(parts.scheme, parts.hostname, port or default_port,
                port is not None and port != default_port, prefix)


def upstream_address(host: str, port: int) -> str:
    """Where nginx reaches satchel: a wildcard listen address means loopback."""
    if host in ("", "0.0.0.0", "*"):
        host = "127.0.0.1"
    elif host in ("::", "[::]"):
        host = "::1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{port}"


def satchel_command() -> list[str]:
    """The ``satchel`` script of this environment, else this interpreter with ``-m satchel``."""
    script = Path(sys.executable).parent / "satchel"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "satchel"]


def service_account(serverdir: Path) -> tuple[str, str]:
    """``(user, group)`` owning the serverdir (the current user's when it does not exist yet)."""
    try:
        info = serverdir.stat()
        uid, gid = info.st_uid, info.st_gid
    except OSError:
        uid, gid = os.getuid(), os.getgid()
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = str(uid)
    try:
        group = grp.getgrgid(gid).gr_name
    except KeyError:
        group = str(gid)
    return user, group


def server_arguments(config: Config, options: dict) -> list[str]:
    """``serve`` options reproducing this server: serverdir, host, port, then every non-default option."""
    args = ["--serverdir", str(absolute_serverdir(config)), "--host", str(config.host),
            "--port", str(config.port)]
    for option in options.values():
        if option.name in ALWAYS or option.name in NEVER or option.name in GENERATOR_OPTIONS:
            continue
        if config.sources.get(option.dest, "default") == "default":
            continue
        value = config.get(option.dest)
        if option.flag:
            args += [f"--{option.name}"] if value else []
        elif value is not None:
            args += [f"--{option.name}", str(value)]
    return args


def storage_arguments(config: Config) -> list[str]:
    """What a maintenance command needs to open the same storage."""
    args = ["--serverdir", str(absolute_serverdir(config))]
    if config.sources.get("storage", "default") != "default":
        args += ["--storage", str(config.storage)]
    return args


def absolute_serverdir(config: Config) -> Path:
    return Path(os.path.abspath(config.serverdir))


def body_size(config: Config) -> str:
    size = config.get("max_request_body_size") or DEFAULT_BODY_SIZE
    return f"{max(1, math.ceil(int(size) / (1 << 20)))}m"


def nginx_values(config: Config, site: Site) -> dict[str, str]:
    name = f"satchel_{config.port}"
    prefix_regex = re.escape(site.prefix)
    outside = "$scheme://$host" + (":$server_port" if site.explicit_port else "") + site.prefix
    listen = f"    listen {site.port}{' ssl' if site.https else ''};"
    tls = redirect = ""
    if site.https:
        live = f"/etc/letsencrypt/live/{site.server_name}"
        tls = (f"\n    # TLS: your certificate and key\n"
               f"    ssl_certificate {live}/fullchain.pem;\n    ssl_certificate_key {live}/privkey.pem;\n")
        if site.port == 443:
            redirect = (f"\nserver {{\n    listen 80;\n    server_name {site.server_name};\n"
                        f"    return 301 https://$host$request_uri;\n}}\n")
    return {
        "name": name,
        "upstream_address": upstream_address(str(config.host), config.port),
        "serverdir": str(absolute_serverdir(config)),
        "cache_dir": f"/var/cache/nginx-satchel-{config.port}",
        "cache_validity": CACHE_VALIDITY,
        "listen": listen,
        "server_name": site.server_name,
        "tls": tls,
        "redirect_server": redirect,
        "client_max_body_size": body_size(config),
        "outside_url": outside,
        "blobs_dir": nginx_quote(str(absolute_serverdir(config) / "+blobs") + "/"),
        "prefix": site.prefix,
        "prefix_regex": prefix_regex,
        "strip_prefix": f"        rewrite ^{prefix_regex}(/.*)$ $1 break;\n" if site.prefix else "",
    }


def template_values(config: Config, pluginmanager) -> dict[str, str]:
    """Every placeholder of every template, from the resolved options."""
    site = site_from(config.get("outside_url"))
    options = collect_options(pluginmanager).options
    command = satchel_command()
    serve = command + ["serve"] + server_arguments(config, options)
    prune = command + ["mirror-prune", str(PRUNE_DAYS)] + storage_arguments(config)
    user, group = service_account(absolute_serverdir(config))
    worker_ports = worker_port_numbers(config)
    # a worker runs no workers of its own: --workers stays with the main process
    worker_serve = [arg for number, arg in enumerate(serve)
                    if arg != "--workers" and (number == 0 or serve[number - 1] != "--workers")]
    port_at = worker_serve.index("--port") + 1  # the worker's port is the unit instance's name: %i, unquoted
    worker = [*map(systemd_quote, worker_serve[:port_at]), "%i", *map(systemd_quote, worker_serve[port_at + 1:]),
              "--requests-only"]
    servers = [upstream_address(str(config.host), port) for port in [config.port, *worker_ports]]
    return {
        "upstream_servers": "\n".join(f"    server {address};" for address in servers),
        "worker_command": " ".join(worker),
        "worker_instances": " ".join(f"satchel-worker@{port}" for port in worker_ports)
                            or "satchel-worker@PORT (e.g. gen-config --gen-workers 2)",
        **nginx_values(config, site),
        "unit_serverdir": str(absolute_serverdir(config)).replace("%", "%%"),
        "user": user,
        "group": group,
        "prune_days": str(PRUNE_DAYS),
        "serve_command": " ".join(map(systemd_quote, serve)),
        "prune_command": " ".join(map(systemd_quote, prune)),
        "supervisor_serve_command": supervisor_escape(" ".join(map(shell_quote, serve))),
        "cron_prune_command": cron_escape(" ".join(map(shell_quote, prune))),
    }


def worker_port_numbers(config: Config) -> list[int]:
    """Ports of ``--gen-workers N`` request-only workers: the ones after ``--port``."""
    count = int(config.get("gen_workers") or 0)
    if count < 0:
        raise ConfigError("--gen-workers must be 0 or more")
    return [config.port + number for number in range(1, count + 1)]


def render_all(config: Config, pluginmanager) -> dict[str, str]:
    """``{file name: text}`` of every deployment file."""
    values = template_values(config, pluginmanager)
    return {name: fill(load_template(name), values) for name in TEMPLATES}


def gen_config(config: Config, pluginmanager) -> int:
    """The ``gen-config`` command: write every file into DIR (default ./gen-config), overwriting."""
    target = Path(config.get("dir") or DEFAULT_DIR)
    files = render_all(config, pluginmanager)
    try:
        target.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (target / name).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write to {target}: {exc.strerror or exc}") from None
    for name in files:
        print(target / name)
    if not config.get("outside_url"):
        print("note: no --outside-url given: the nginx site answers any host name (server_name _)",
              file=sys.stderr)
    if config.sources.get("root_passwd", "default") != "default":
        print("note: --root-passwd is not written into the generated files", file=sys.stderr)
    print(f"wrote {len(files)} files to {target}; see docs/operations.md to install them", file=sys.stderr)
    return 0
