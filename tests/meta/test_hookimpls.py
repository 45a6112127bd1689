"""Hook implementations in plugins/ and contrib/ name existing hooks and only their current arguments.

pluggy checks this when a plugin is registered, but only for plugins that load; this also covers the
contrib example and plugins that are disabled or fail to import.
"""

import ast


def _marker_name(decorator: ast.expr) -> str | None:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute):
        return target.attr
    return None


def _functions(path, marker: str):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
                _marker_name(d) == marker for d in node.decorator_list):
            yield node


def _deprecated_args(node) -> set[str]:
    """The keys of ``@hookspec(warn_on_impl_args={...})``: arguments kept for one release only."""
    for decorator in node.decorator_list:
        if isinstance(decorator, ast.Call):
            for kw in decorator.keywords:
                if kw.arg == "warn_on_impl_args" and isinstance(kw.value, ast.Dict):
                    return {ast.literal_eval(key) for key in kw.value.keys}
    return set()


def _all_specs(source_tree) -> dict[str, list[str]]:
    """Core's hookspecs plus any a plugin declares for ``satchel_add_hookspecs``; current arguments only."""
    specs = {}
    for module in source_tree.modules.values():
        for node in _functions(module.path, "hookspec"):
            deprecated = _deprecated_args(node)
            specs[node.name] = [a.arg for a in node.args.args if a.arg not in deprecated]
    return specs


def test_hookimpls_match_hookspecs(source_tree):
    specs = _all_specs(source_tree)
    assert "satchel_add_routes" in specs
    paths = [module.path for module in source_tree.modules.values()]
    paths += sorted((source_tree.repo / "contrib").rglob("*.py"))
    problems = []
    for path in paths:
        for node in _functions(path, "hookimpl"):
            where = f"{path.relative_to(source_tree.repo)}:{node.lineno} {node.name}"
            if node.name not in specs:
                problems.append(f"{where}: no such hook")
                continue
            unknown = [a.arg for a in node.args.args if a.arg not in specs[node.name] and a.arg != "self"]
            if unknown:
                problems.append(f"{where}: unknown arguments {unknown} (hook takes {specs[node.name]})")
    assert not problems, "bad hook implementations:\n" + "\n".join(problems)
