"""Every hookspec has a docstring and a ``## satchel_<name>`` section in docs/hooks.md, and nothing more."""

import ast
import re
from dataclasses import dataclass

import pytest

HEADING = re.compile(r"^## (\S+)\s*$", re.MULTILINE)


@dataclass
class Spec:
    name: str
    args: list[str]
    firstresult: bool
    historic: bool
    docstring: str | None
    line: int
    deprecated: tuple[str, ...] = ()  # arguments still passed for one release (``warn_on_impl_args``)

    @property
    def current_args(self) -> list[str]:
        return [arg for arg in self.args if arg not in self.deprecated]


def _decorator_options(function: ast.FunctionDef) -> dict | None:
    """The keyword options of its ``@hookspec`` / ``@hookspec(...)`` decorator; None without one."""
    for decorator in function.decorator_list:
        call = decorator if isinstance(decorator, ast.Call) else None
        target = call.func if call else decorator
        name = target.id if isinstance(target, ast.Name) else getattr(target, "attr", None)
        if name == "hookspec":
            options = {}
            for kw in call.keywords if call else []:
                if kw.arg == "warn_on_impl_args" and isinstance(kw.value, ast.Dict):
                    options[kw.arg] = tuple(ast.literal_eval(key) for key in kw.value.keys)
                elif kw.arg in ("firstresult", "historic"):
                    options[kw.arg] = ast.literal_eval(kw.value)
            return options
    return None


def read_specs(path) -> list[Spec]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    specs = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("satchel_"):
            options = _decorator_options(node) or {}
            specs.append(Spec(node.name, [a.arg for a in node.args.args], bool(options.get("firstresult")),
                              bool(options.get("historic")), ast.get_docstring(node), node.lineno,
                              options.get("warn_on_impl_args", ())))
    return specs


def read_sections(path) -> dict[str, str]:
    """``{heading: text}`` of the ``## satchel_*`` sections; a repeated heading is kept as ``name#2``."""
    text = path.read_text(encoding="utf-8")
    matches = list(HEADING.finditer(text))
    sections: dict[str, str] = {}
    for match, following in zip(matches, matches[1:] + [None]):
        name = match.group(1)
        if not name.startswith("satchel_"):
            continue
        end = following.start() if following else len(text)
        key = name
        while key in sections:
            key += "#2"
        sections[key] = text[match.end():end]
    return sections


@pytest.fixture(scope="module")
def specs(source_tree):
    found = read_specs(source_tree.hookspecs_path)
    assert found, "no satchel_* hookspecs found"
    return found


@pytest.fixture(scope="module")
def sections(source_tree):
    assert source_tree.hooks_doc_path.exists(), "docs/hooks.md is missing"
    return read_sections(source_tree.hooks_doc_path)


def test_every_hookspec_is_marked(source_tree, specs):
    tree = ast.parse(source_tree.hookspecs_path.read_text(encoding="utf-8"))
    unmarked = [node.name for node in tree.body
                if isinstance(node, ast.FunctionDef) and node.name.startswith("satchel_")
                and _decorator_options(node) is None]
    assert not unmarked, f"satchel_* functions without @hookspec in hookspecs.py: {unmarked}"


def test_every_hookspec_has_a_docstring(specs):
    missing = [f"{spec.name} (line {spec.line})" for spec in specs if not (spec.docstring or "").strip()]
    assert not missing, f"hookspecs without a docstring: {missing}"


def test_every_hookspec_is_documented(specs, sections):
    missing = [spec.name for spec in specs if spec.name not in sections]
    assert not missing, f"hookspecs without a '## <name>' section in docs/hooks.md: {missing}"


def test_hooks_doc_documents_only_existing_hooks(specs, sections):
    names = {spec.name for spec in specs}
    unknown = [name for name in sections if name not in names]
    assert not unknown, f"docs/hooks.md documents hooks that do not exist (or twice): {unknown}"


def test_hooks_doc_follows_the_module_order(specs, sections):
    names = {spec.name for spec in specs}
    documented = [name for name in sections if name in names]
    expected = [spec.name for spec in specs if spec.name in sections]
    assert documented == expected, "docs/hooks.md sections are not in the order of hookspecs.py"


def test_hooks_doc_signatures_match(specs, sections):
    """Each section shows the exact signature and says firstresult / historic exactly when the spec is.

    The signature leaves out deprecated arguments; the section names each of them as deprecated.
    """
    problems = []
    for spec in specs:
        text = sections.get(spec.name)
        if text is None:
            continue
        signature = f"`{spec.name}({', '.join(spec.current_args)})`"
        if signature not in text:
            problems.append(f"{spec.name}: signature {signature} not shown")
        for arg in spec.deprecated:
            if f"`{arg}` (deprecated" not in text:
                problems.append(f"{spec.name}: deprecated argument {arg} not described as '`{arg}` (deprecated'")
        for flag in ("firstresult", "historic"):
            marked = f"**{flag}**" in text
            if marked != getattr(spec, flag):
                problems.append(f"{spec.name}: {'says' if marked else 'does not say'} **{flag}**")
        if "```python" not in text or "@hookimpl" not in text:
            problems.append(f"{spec.name}: no example hookimpl")
    assert not problems, "docs/hooks.md is out of date:\n" + "\n".join(problems)


def test_hooks_doc_examples_parse(sections):
    problems = []
    for name, text in sections.items():
        for block in re.findall(r"```python\n(.*?)```", text, re.DOTALL):
            try:
                ast.parse(block)
            except SyntaxError as exc:
                problems.append(f"{name}: {exc}")
    assert not problems, "example code in docs/hooks.md does not parse:\n" + "\n".join(problems)
