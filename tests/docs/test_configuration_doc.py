"""docs/configuration.md documents exactly the options satchel's own plugins declare, with the code's values
(environment variable, config-file key, default and the subcommands that take it).

The option list is the real one: ``create_pluginmanager()`` (core plus the installed ``satchel.plugins``
entry points) and ``collect_options``. Options of third-party plugins installed in the environment are left
out: they document themselves.
"""

import re
from pathlib import Path

import pytest

from satchel.config import OptionParser, collect_options
from satchel.pluginmanager import create_pluginmanager

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "configuration.md"
OWN_SOURCES = (REPO / "core", REPO / "plugins")
BEGIN, END = "<!-- options:begin -->", "<!-- options:end -->"
ROW = re.compile(r"^\|\s*`--([a-z0-9-]+)`\s*\|")


def _declared_by_this_repo(pm) -> dict:
    """``{name: Option}`` of the options whose ``satchel_add_options`` lives in core/ or plugins/."""
    options = {}
    for impl in pm.hook.satchel_add_options.get_hookimpls():
        source = Path(impl.function.__code__.co_filename).resolve()
        if any(source.is_relative_to(root) for root in OWN_SOURCES):
            parser = OptionParser()
            impl.function(parser=parser)
            options.update(parser.options)
    return options


@pytest.fixture(scope="module")
def options() -> dict:
    pm = create_pluginmanager()
    every = collect_options(pm).options
    own = _declared_by_this_repo(pm)
    assert set(own) <= set(every)
    assert {"serverdir", "port", "storage"} <= set(own)
    return own


@pytest.fixture(scope="module")
def rows() -> dict[str, list[str]]:
    """``{option name: cells}`` of the reference tables (between the markers)."""
    text = DOC.read_text(encoding="utf-8")
    assert text.count(BEGIN) == 1 and text.count(END) == 1, f"{DOC.name} needs one {BEGIN} ... {END} block"
    block = text.split(BEGIN, 1)[1].split(END, 1)[0]
    found: dict[str, list[str]] = {}
    for line in block.splitlines():
        match = ROW.match(line)
        if not match:
            continue
        name = match.group(1)
        assert name not in found, f"--{name} is documented twice"
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        assert len(cells) == 6, \
            f"row of --{name} needs 6 cells (option, env, key, default, subcommands, meaning): {line}"
        found[name] = cells
    return found


def test_every_option_is_documented(options, rows):
    missing = sorted(set(options) - set(rows))
    assert not missing, f"options missing from docs/configuration.md: {['--' + n for n in missing]}"


def test_nothing_undocumented_is_listed(options, rows):
    extra = sorted(set(rows) - set(options))
    assert not extra, f"docs/configuration.md lists options no plugin declares: {['--' + n for n in extra]}"


def test_environment_variable_and_config_key(options, rows):
    for name, option in options.items():
        if name not in rows:
            continue
        _, env, key, _, _, meaning = rows[name]
        assert env == f"`{option.env}`", f"--{name}: environment variable should be {option.env}"
        assert key == f"`{option.name}`", f"--{name}: config-file key should be {option.name}"
        assert meaning, f"--{name}: say what it means"


def _expected_default(option) -> str | None:
    """What the default cell must contain; None when any words will do (computed defaults)."""
    if option.flag:
        return "off" if not option.default else "on"
    if option.default is None:
        return None
    if option.default == "":
        return "empty"
    return f"`{option.default}`"


def test_defaults_match_the_code(options, rows):
    for name, option in options.items():
        if name not in rows:
            continue
        expected = _expected_default(option)
        cell = rows[name][3]
        if expected is None:
            assert cell, f"--{name}: describe the default"
        else:
            assert cell == expected or cell.startswith(expected + " "), \
                f"--{name}: default cell {cell!r} should start with {expected!r}"


def test_subcommands_match_the_code(options, rows):
    """The subcommands cell: ``server-wide``, or the option's ``commands`` in declaration order."""
    for name, option in options.items():
        if name not in rows:
            continue
        expected = "server-wide" if option.server_wide else ", ".join(f"`{c}`" for c in option.commands)
        assert rows[name][4] == expected, f"--{name}: subcommands cell should be {expected!r}"


def test_the_checker_sees_a_missing_row(options, rows):
    """Guard against a parser that matches nothing: every core option is found by name."""
    for name in ("serverdir", "storage", "host", "port", "outside-url"):
        assert name in rows
