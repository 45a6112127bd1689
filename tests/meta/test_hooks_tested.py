"""Every hookspec is exercised: its name appears in a test module outside tests/meta/ or in the
shared test plugins of ``satchel.testing`` that those tests use."""

import ast
import re


def hookspec_names(path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.name for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name.startswith("satchel_")]


def unreferenced_hooks(source_tree) -> list[str]:
    meta = source_tree.tests_dir / "meta"
    paths = [*sorted(source_tree.tests_dir.rglob("*.py")),
             *sorted((source_tree.core_dir / "satchel" / "testing").glob("*.py"))]
    texts = [path.read_text(encoding="utf-8") for path in paths
             if meta not in path.parents and "__pycache__" not in path.parts]
    return [name for name in hookspec_names(source_tree.hookspecs_path)
            if not any(re.search(rf"\b{name}\b", text) for text in texts)]


def test_every_hookspec_is_referenced_by_a_test(source_tree):
    missing = unreferenced_hooks(source_tree)
    assert not missing, f"hookspecs not referenced by any test outside tests/meta: {', '.join(missing)}"
