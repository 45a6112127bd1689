"""Every hookspec is exercised: its name appears in at least one test module outside tests/meta/."""

import ast
import re



def hookspec_names(path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.name for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name.startswith("satchel_")]


def unreferenced_hooks(source_tree) -> list[str]:
    meta = source_tree.tests_dir / "meta"
    texts = [path.read_text(encoding="utf-8") for path in sorted(source_tree.tests_dir.rglob("*.py"))
             if meta not in path.parents and "__pycache__" not in path.parts]
    return [name for name in hookspec_names(source_tree.hookspecs_path)
            if not any(re.search(rf"\b{name}\b", text) for text in texts)]


def test_every_hookspec_is_referenced_by_a_test(source_tree):
    missing = unreferenced_hooks(source_tree)
    assert not missing, f"hookspecs not referenced by any test outside tests/meta: {', '.join(missing)}"
