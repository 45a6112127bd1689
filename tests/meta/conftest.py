"""The source tree as the architecture meta-tests see it: read with ``ast``, never imported."""

import ast
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CORE = REPO / "core"
PLUGINS = REPO / "plugins"
TESTS = REPO / "tests"
HOOKSPECS = CORE / "satchel" / "hookspecs.py"
HOOKS_DOC = REPO / "docs" / "hooks.md"

# calls that import a module named by their first argument
IMPORT_FUNCTIONS = {"import_module", "__import__"}


@dataclass(frozen=True)
class Import:
    """One import found in a module.

    ``module`` is the absolute dotted name imported from; ``names`` the names taken from it
    (``from m import a``).
    ``dynamic`` marks ``importlib.import_module("...")`` / ``__import__("...")`` calls with a literal name,
    ``type_checking`` imports under ``if TYPE_CHECKING:`` (never executed at run time).
    """

    module: str
    names: tuple[str, ...]
    line: int
    dynamic: bool = False
    type_checking: bool = False

    @property
    def top(self) -> str:
        return self.module.split(".")[0]


@dataclass
class SourceModule:
    name: str
    path: Path
    is_package: bool

    @property
    def relpath(self) -> str:
        return self.path.relative_to(REPO).as_posix()

    @property
    def top(self) -> str:
        return self.name.split(".")[0]

    @cached_property
    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @cached_property
    def tree(self) -> ast.Module:
        return ast.parse(self.text, filename=str(self.path))

    def _resolve_relative(self, level: int, module: str | None) -> str:
        package = self.name if self.is_package else self.name.rpartition(".")[0]
        parts = package.split(".")
        if level > 1:
            parts = parts[: len(parts) - (level - 1)]
        base = ".".join(parts)
        return f"{base}.{module}" if module else base

    @cached_property
    def imports(self) -> list[Import]:
        """Every import anywhere in the module: top level, in functions and classes, by literal name."""
        guarded = _type_checking_nodes(self.tree)
        found = []
        for node in ast.walk(self.tree):
            type_checking = id(node) in guarded
            if isinstance(node, ast.Import):
                for alias in node.names:
                    found.append(Import(alias.name, (), node.lineno, type_checking=type_checking))
            elif isinstance(node, ast.ImportFrom):
                module = self._resolve_relative(node.level, node.module) if node.level else node.module
                names = tuple(alias.name for alias in node.names)
                found.append(Import(module, names, node.lineno, type_checking=type_checking))
            elif isinstance(node, ast.Call) and _call_name(node.func) in IMPORT_FUNCTIONS and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    module = first.value
                    if module.startswith("."):
                        package = next((kw.value.value for kw in node.keywords if kw.arg == "package"
                                        and isinstance(kw.value, ast.Constant)), None)
                        if package is None:
                            continue
                        stripped = module.lstrip(".")
                        level = len(module) - len(stripped)
                        base = package.split(".")[: len(package.split(".")) - (level - 1)]
                        module = ".".join(base + ([stripped] if stripped else []))
                    found.append(Import(module, (), node.lineno, dynamic=True, type_checking=type_checking))
        return found


def _call_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _type_checking_nodes(tree: ast.Module) -> set[int]:
    """ids of every node inside the body of an ``if TYPE_CHECKING:`` / ``if typing.TYPE_CHECKING:``."""
    guarded: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = _call_name(test)
            if name == "TYPE_CHECKING":
                for statement in node.body:
                    guarded.update(id(sub) for sub in ast.walk(statement))
    return guarded


def _discover(root: Path) -> dict[str, SourceModule]:
    modules = {}
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if any(part.startswith(".") or part == "__pycache__" for part in relative.parts):
            continue
        parts = list(relative.with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        if not parts:
            continue
        name = ".".join(parts)
        modules[name] = SourceModule(name, path, is_package)
    return modules


class SourceTree:
    """core/ and plugins/ of the repository, by module name."""

    repo = REPO
    core_dir = CORE
    plugins_dir = PLUGINS
    tests_dir = TESTS
    hookspecs_path = HOOKSPECS
    hooks_doc_path = HOOKS_DOC

    def __init__(self):
        self.core = _discover(CORE)
        self.plugins = _discover(PLUGINS)
        self.modules = {**self.core, **self.plugins}

    @cached_property
    def plugin_packages(self) -> list[str]:
        """Top-level packages (and single modules) in plugins/, e.g. ``satchel_sqlite``."""
        return sorted({module.top for module in self.plugins.values()})

    def resolve(self, imported: Import) -> list[str]:
        """The modules of this tree an import loads by name (submodules of ``from p import m`` too)."""
        targets = []
        for name in imported.names:
            candidate = f"{imported.module}.{name}"
            if candidate in self.modules:
                targets.append(candidate)
        if imported.module in self.modules and (not targets or len(targets) < len(imported.names)):
            targets.append(imported.module)
        return targets


@pytest.fixture(scope="session")
def source_tree() -> SourceTree:
    return SourceTree()
