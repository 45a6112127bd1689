"""Tox results (``devpi test`` uploads): a table on the version page and a page per result.

Implemented through the web UI's own section hook, as any other plugin would.
"""

import json

from satchel.plugin import hookimpl

from satchel_web.sections import Section
from satchel_web.state import web_state


def read_result(app, link: dict) -> dict:
    """The stored JSON of a tox result ({} when unreadable)."""
    try:
        with app.storage.blobs.open(link["hashes"]["sha256"]) as handle:
            data = json.loads(handle.read())
    except (OSError, ValueError, KeyError):
        return {}
    return data if isinstance(data, dict) else {}


def _duration(commands: list) -> float | None:
    total, found = 0.0, False
    for command in commands:
        if isinstance(command, dict):
            for key in ("duration", "elapsed"):
                if isinstance(command.get(key), (int, float)):
                    total += command[key]
                    found = True
                    break
    return round(total, 2) if found else None


def environments(data: dict) -> list[dict]:
    """One row per tox environment: name, python, passed/failed, duration, commands."""
    rows = []
    testenvs = data.get("testenvs")
    if not isinstance(testenvs, dict):
        return rows
    for name, env in sorted(testenvs.items()):
        if not isinstance(env, dict):
            continue
        commands = [c for key in ("setup", "test") for c in (env.get(key) or []) if isinstance(c, dict)]
        tests = [c for c in (env.get("test") or []) if isinstance(c, dict)]
        failed = any(str(c.get("retcode", "0")) not in ("0", "None") for c in commands)
        python = env.get("python") or {}
        version = python.get("version") if isinstance(python, dict) else None
        result = "failed" if failed else ("passed" if tests else "no tests")
        rows.append({"name": name, "python": str(version or "").split(" ")[0], "result": result,
                     "duration": _duration(commands), "commands": commands})
    return rows


def results_of(request, links: list[dict]) -> list[dict]:
    rows = []
    for link in links:
        if link.get("rel") != "toxresult":
            continue
        data = read_result(request.app, link)
        for env in environments(data):
            rows.append({**env, "link": link, "host": data.get("host", ""), "platform": data.get("platform", ""),
                         "for": (link.get("for_path") or "").rsplit("/", 1)[-1]})
    return rows


@hookimpl
def satchel_web_version_sections(request, stage, project, version, metadata, links):
    rows = results_of(request, links)
    if not rows:
        return None
    web = web_state(request.app)
    html = web.env.get_template("toxresults_section.html").render(
        rows=rows, base=f"{request.path_prefix}/{stage.name}/{project}/{version}/+toxresults/")
    return Section("Tox results", html, order=50, id="toxresults")
