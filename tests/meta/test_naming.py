"""The naming rule of docs/architecture.md's glossary: "index" is what users see, ``Stage``/``stage`` the model
object, ``index_name`` the string "user/name". Checked on core/, plugins/ and contrib/ with ``ast``."""

import ast

# names that mix the words up: a "user/name" string is an index_name, never a stage name
RETIRED_NAMES = {"stage_name", "stagename", "stage_names", "stagenames"}
# a parameter annotated ``str`` with one of these names holds an index_name under the wrong name
WRONG_FOR_STRINGS = {"stage", "index"}


def _paths(source_tree):
    paths = [module.path for module in source_tree.modules.values()]
    return paths + sorted((source_tree.repo / "contrib").rglob("*.py"))


def _names(tree):
    """``(line, name)`` of every identifier a module binds or reads: names, arguments, attributes, defs."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            yield node.lineno, node.id
        elif isinstance(node, ast.arg):
            yield node.lineno, node.arg
        elif isinstance(node, ast.Attribute):
            yield node.lineno, node.attr
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield node.lineno, node.name


def test_no_retired_names(source_tree):
    problems = []
    for path in _paths(source_tree):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for line, name in _names(tree):
            if name.lower() in RETIRED_NAMES:
                problems.append(f"{path.relative_to(source_tree.repo)}:{line}: {name} (say index_name)")
    assert not problems, "names against the glossary:\n" + "\n".join(problems)


def test_string_parameters_holding_index_names_are_called_index_name(source_tree):
    problems = []
    for path in _paths(source_tree):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.arg) and node.arg in WRONG_FOR_STRINGS and node.annotation is not None:
                if ast.unparse(node.annotation) in ("str", "str | None"):
                    problems.append(f"{path.relative_to(source_tree.repo)}:{node.lineno}: {node.arg}: str")
    assert not problems, "a \"user/name\" string is an index_name:\n" + "\n".join(problems)


def test_hooks_handing_over_an_index_call_it_stage(source_tree):
    """Hookspec arguments: the model object is ``stage``, a name ``index_name``; ``index`` only as deprecated."""
    problems = []
    for module in source_tree.modules.values():
        for node in ast.walk(module.tree):
            if not (isinstance(node, ast.FunctionDef) and node.name.startswith("satchel_")):
                continue
            marker = next((d for d in node.decorator_list
                           if "hookspec" in ast.unparse(d)), None)
            if marker is None:
                continue
            if "index" in [a.arg for a in node.args.args] and "warn_on_impl_args" not in ast.unparse(marker):
                problems.append(f"{module.relpath}:{node.lineno}: {node.name} takes 'index'")
    assert not problems, "hookspecs against the glossary:\n" + "\n".join(problems)
