"""``satchel gen-config``: the command, the values it writes and the quoting of each file format."""

import configparser
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

import satchel.cli
from satchel.config import collect_options, resolve
from satchel.registry import Registry

from satchel_genconfig import generate
from satchel_genconfig.render import PLACEHOLDER, fill, load_template, placeholders

FILES = {"nginx-satchel.conf", "satchel.service", "satchel-worker@.service", "supervisor-satchel.conf", "satchel-prune.service",
         "satchel-prune.timer", "crontab", "prometheus-satchel.yml"}


@pytest.fixture
def run_cli(monkeypatch, genconfig_plugin, capsys):
    """``run_cli(*argv) -> (exit code, stdout, stderr)`` with the gen-config plugin loaded."""
    original = satchel.cli.create_pluginmanager

    def with_plugin(**kwargs):
        pm = original(**kwargs)
        if not pm.is_registered(genconfig_plugin):
            pm.register(genconfig_plugin)
        return pm

    monkeypatch.setattr(satchel.cli, "create_pluginmanager", with_plugin)
    for name in list(os.environ):
        if name.startswith("SATCHEL_"):
            monkeypatch.delenv(name)

    def run(*argv):
        code = satchel.cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def render(pm, **options):
    config = resolve(collect_options(pm).options, options, environ={})
    return generate.render_all(config, pm)


def test_command_is_registered_with_a_positional_dir(genconfig_pm):
    commands = Registry("command")
    genconfig_pm.hook.satchel_add_commands(commands=commands)
    command = commands.get("gen-config")
    assert command.arguments == ("dir",)
    assert command.run is generate.gen_config


def test_writes_every_file_into_dir(run_cli, tmp_path):
    serverdir = tmp_path / "server"
    code, out, err = run_cli("gen-config", str(tmp_path / "out"), "--serverdir", str(serverdir),
                             "--port", "4040", "--outside-url", "https://pypi.example.com")
    assert code == 0, err
    assert {p.name for p in (tmp_path / "out").iterdir()} == FILES
    assert out.split() == [str(tmp_path / "out" / name) for name in generate.TEMPLATES]
    nginx = (tmp_path / "out" / "nginx-satchel.conf").read_text()
    assert "server 127.0.0.1:4040;" in nginx
    assert f"alias {serverdir}/+blobs/;" in nginx
    assert "proxy_set_header X-Satchel-Accel /+blobs-internal/;" in nginx
    assert "proxy_set_header X-Outside-Url $scheme://$host;" in nginx
    assert "server_name pypi.example.com;" in nginx
    assert "listen 443 ssl;" in nginx and "return 301 https://$host$request_uri;" in nginx
    assert "client_max_body_size 1024m;" in nginx
    unit = (tmp_path / "out" / "satchel.service").read_text()
    assert (f"serve --serverdir {serverdir} --host 127.0.0.1 --port 4040 "
            "--outside-url https://pypi.example.com") in unit
    assert not serverdir.exists(), "gen-config must not create or open the serverdir"


def test_default_dir_is_gen_config_in_the_working_directory(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli("gen-config", "--serverdir", str(tmp_path / "server"))
    assert code == 0, err
    assert {p.name for p in (tmp_path / "gen-config").iterdir()} == FILES
    assert "server_name _;" in (tmp_path / "gen-config" / "nginx-satchel.conf").read_text()
    assert "--outside-url" in err  # the hint to set one


def test_non_default_options_reach_the_service_but_not_the_root_password(run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("SATCHEL_THREADS", "24")
    code, _, err = run_cli("gen-config", str(tmp_path / "out"), "--serverdir", str(tmp_path / "s"),
                           "--offline-mode", "--root-passwd", "s3cret", "--max-request-body-size", "5000000",
                           "--host", "0.0.0.0")
    assert code == 0, err
    files = {path.name: path.read_text() for path in (tmp_path / "out").iterdir()}
    for name, text in files.items():
        assert "s3cret" not in text, name
    assert "--root-passwd" in err
    exec_start = next(line for line in files["satchel.service"].splitlines() if line.startswith("ExecStart="))
    words = exec_start.removeprefix("ExecStart=").split()
    assert words[1:8] == ["serve", "--serverdir", str(tmp_path / "s"), "--host", "0.0.0.0", "--port", "3141"]
    assert "--offline-mode" in words and words[words.index("--threads") + 1] == "24"
    assert words[words.index("--max-request-body-size") + 1] == "5000000"
    # nginx reaches a wildcard listener on loopback and admits the upload size
    assert "server 127.0.0.1:3141;" in files["nginx-satchel.conf"]
    assert "client_max_body_size 5m;" in files["nginx-satchel.conf"]
    supervisor = configparser.RawConfigParser()
    supervisor.read_string(files["supervisor-satchel.conf"])
    assert shlex.split(supervisor.get("program:satchel", "command")) == words


def test_retention_runs_mirror_prune_30_on_the_same_storage(genconfig_pm, tmp_path):
    files = render(genconfig_pm, serverdir=str(tmp_path / "s"), storage=f"sqlite:path={tmp_path}/db")
    prune = f"mirror-prune 30 --serverdir {tmp_path}/s --storage sqlite:path={tmp_path}/db"
    assert prune in files["satchel-prune.service"]
    cron_line = [line for line in files["crontab"].splitlines() if line and not line.startswith("#")]
    assert len(cron_line) == 1 and cron_line[0].startswith("17 4 * * * ") and prune in cron_line[0]
    timer = configparser.RawConfigParser()
    timer.read_string(files["satchel-prune.timer"])
    assert timer.get("Timer", "OnCalendar") and timer.get("Install", "WantedBy") == "timers.target"


def test_outside_url_with_prefix_and_port(genconfig_pm, tmp_path):
    files = render(genconfig_pm, serverdir=str(tmp_path / "s"), port=3999,
                   outside_url="http://example.com:8080/pypi/")
    nginx = files["nginx-satchel.conf"]
    assert "listen 8080;" in nginx and "server_name example.com;" in nginx
    assert "proxy_set_header X-Outside-Url $scheme://$host:$server_port/pypi;" in nginx
    assert "location /pypi/ {" in nginx and "rewrite ^/pypi(/.*)$ $1 break;" in nginx
    assert "location ~ ^/pypi/[^/]+/[^/]+/\\+simple/([^/]+/)?$ {" in nginx
    assert "server 127.0.0.1:3999;" in nginx and "keys_zone=satchel_3999_simple" in nginx


@pytest.mark.parametrize("url", ["ftp://example.com", "example.com", "http://", "http://h/a b",
                                 "http://h:99999/"])
def test_bad_outside_url_is_a_clear_error(run_cli, tmp_path, url):
    code, _, err = run_cli("gen-config", str(tmp_path / "out"), "--outside-url", url)
    assert code == 2
    assert err.startswith("satchel: error: --outside-url")
    assert not (tmp_path / "out").exists()


def test_unwritable_dir_is_a_clear_error(run_cli, tmp_path):
    (tmp_path / "file").write_text("x")
    code, _, err = run_cli("gen-config", str(tmp_path / "file" / "out"), "--serverdir", str(tmp_path / "s"))
    assert code == 2 and "cannot write to" in err


def test_awkward_serverdir_is_quoted_for_every_format(genconfig_pm, tmp_path):
    serverdir = tmp_path / "my server %h $HOME 'q'"
    files = render(genconfig_pm, serverdir=str(serverdir))
    nginx_alias = next(line.strip() for line in files["nginx-satchel.conf"].splitlines()
                       if line.strip().startswith("alias "))
    assert nginx_alias == f'alias "{serverdir}/+blobs/";'
    exec_start = next(line for line in files["satchel.service"].splitlines() if line.startswith("ExecStart="))
    escaped = str(serverdir).replace("%", "%%").replace("$", "$$")
    assert f'--serverdir "{escaped}"' in exec_start
    supervisor = configparser.ConfigParser()  # interpolating, as supervisor does
    supervisor.read_string(files["supervisor-satchel.conf"])
    assert str(serverdir) in shlex.split(supervisor.get("program:satchel", "command"))
    cron = files["crontab"].splitlines()[-1]
    assert "%" not in cron.replace("\\%", "")
    assert str(serverdir) in shlex.split(cron.replace("\\%", "%").split(" ", 5)[5])


def test_every_placeholder_gets_a_value_and_none_survive(genconfig_pm, tmp_path):
    pm = genconfig_pm
    config = resolve(collect_options(pm).options, {"serverdir": str(tmp_path)}, environ={})
    values = generate.template_values(config, pm)
    used = set()
    for name in generate.TEMPLATES:
        used |= placeholders(load_template(name))
    assert used == set(values), "templates and generate.template_values disagree"
    for name, text in generate.render_all(config, pm).items():
        assert not PLACEHOLDER.search(text), f"{name} kept a placeholder"


def test_fill_refuses_a_missing_value():
    with pytest.raises(KeyError, match="port"):
        fill("listen {port};", {})
    assert fill("location / {\n  x{2} $host {a}\n}", {"a": "{b}"}) == "location / {\n  x{2} $host {b}\n}"


def test_templates_ship_with_the_package():
    import satchel_templates
    from importlib import resources

    shipped = {entry.name for entry in resources.files(satchel_templates).iterdir()}
    assert FILES <= shipped
    assert Path(satchel_templates.__file__).parent.name == "templates"


def test_prometheus_scrape_job_targets_the_server(genconfig_pm, tmp_path):
    config = resolve(collect_options(genconfig_pm).options, {"serverdir": str(tmp_path), "port": "4040"},
                     environ={})
    text = generate.render_all(config, genconfig_pm)["prometheus-satchel.yml"]
    assert "metrics_path: /+metrics" in text and 'targets: ["127.0.0.1:4040"]' in text


def test_workers_get_upstream_lines_and_a_template_unit(genconfig_pm, tmp_path):
    files = render(genconfig_pm, serverdir=str(tmp_path / "server"), port=3141, gen_workers=2,
                   storage="postgresql")
    upstream = files["nginx-satchel.conf"].split("upstream ", 1)[1].split("}", 1)[0]
    assert [line.strip() for line in upstream.splitlines() if line.strip().startswith("server ")] == \
        ["server 127.0.0.1:3141;", "server 127.0.0.1:3142;", "server 127.0.0.1:3143;"]
    unit = files["satchel-worker@.service"]
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    assert exec_start.endswith("--port %i --storage postgresql --requests-only")
    assert "systemctl enable --now satchel-worker@3142 satchel-worker@3143" in unit
    main = next(line for line in files["satchel.service"].splitlines() if line.startswith("ExecStart="))
    assert "--requests-only" not in main and "--gen-workers" not in main
    single = render(genconfig_pm, serverdir=str(tmp_path / "server"), port=3141)
    assert single["nginx-satchel.conf"].count("    server 127.0.0.1:") == 1


def test_workers_of_serve_stay_with_the_main_unit(genconfig_pm, tmp_path):
    files = render(genconfig_pm, serverdir=str(tmp_path / "server"), port=3141, gen_workers=1, workers=2)
    main = next(line for line in files["satchel.service"].splitlines() if line.startswith("ExecStart="))
    worker = next(line for line in files["satchel-worker@.service"].splitlines() if line.startswith("ExecStart="))
    assert main.endswith("--port 3141 --workers 2")
    assert worker.endswith("--port %i --requests-only")


def test_units_pass_systemd_analyze_verify(genconfig_pm, tmp_path):
    """systemd's own check of the main and worker units (instance 3142 of the template)."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian: apt-get install systemd)")
    serverdir = tmp_path / "server"
    serverdir.mkdir()
    files = render(genconfig_pm, serverdir=str(serverdir), port=3141, gen_workers=2, storage="postgresql")
    units = tmp_path / "units"
    units.mkdir()
    for name in ("satchel.service", "satchel-worker@.service"):
        (units / name).write_text(files[name])
    for unit in ("satchel.service", "satchel-worker@3142.service"):
        result = subprocess.run([analyze, "verify", str(units / unit)], capture_output=True, text=True,
                                timeout=120, stdin=subprocess.DEVNULL)
        assert result.returncode == 0, f"{unit}: {result.stdout}{result.stderr}"
        assert "satchel" not in result.stderr, result.stderr  # no warning about our units either
