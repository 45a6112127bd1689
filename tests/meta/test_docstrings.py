"""Docstrings where a reader needs them (issue 12): every plugin entry module says what the plugin is, and each of
its hook implementations what the plugin uses the hook for; the registries a hook hands out and the storage
contract document every public method."""

import ast
import tomllib

import pytest

# what a hook receives to register things, and the contract a storage backend implements
REGISTRIES = {
    "satchel.registry": ("Registry",),
    "satchel.web.router": ("Router",),
    "satchel.web.wsgi": ("MiddlewareStack",),
    "satchel.config": ("OptionParser",),
    "satchel.storage.contract": ("ReadTx", "WriteTx", "BlobStore", "Storage"),
}


def _entry_modules(source_tree) -> list[str]:
    pyproject = tomllib.loads((source_tree.repo / "pyproject.toml").read_text(encoding="utf-8"))
    return sorted(pyproject["project"]["entry-points"]["satchel.plugins"].values()) + ["satchel.commands"]


def _marked(node, marker: str) -> bool:
    return any(marker in ast.unparse(decorator) for decorator in node.decorator_list)


def test_plugin_entry_modules_and_their_hook_implementations_have_docstrings(source_tree):
    problems = []
    for name in _entry_modules(source_tree):
        module = source_tree.modules[name]
        if not ast.get_docstring(module.tree):
            problems.append(f"{module.relpath}: no module docstring (what is this plugin for?)")
        for node in ast.walk(module.tree):
            if isinstance(node, ast.FunctionDef) and _marked(node, "hookimpl") and not ast.get_docstring(node):
                problems.append(f"{module.relpath}:{node.lineno} {node.name}: what does the plugin use it for?")
    assert not problems, "missing docstrings:\n" + "\n".join(problems)


@pytest.mark.parametrize("module_name", sorted(REGISTRIES))
def test_registries_and_contracts_document_their_public_methods(source_tree, module_name):
    module = source_tree.modules[module_name]
    classes = {node.name: node for node in module.tree.body if isinstance(node, ast.ClassDef)}
    problems = []
    for class_name in REGISTRIES[module_name]:
        node = classes.get(class_name)
        assert node is not None, f"{module_name}.{class_name} is gone: update REGISTRIES"
        if not ast.get_docstring(node):
            problems.append(f"{class_name}: no docstring")
        problems += [f"{class_name}.{item.name} (line {item.lineno})" for item in node.body
                     if isinstance(item, ast.FunctionDef) and not item.name.startswith("_")
                     and not ast.get_docstring(item)]
    assert not problems, f"{module.relpath}: public methods without a docstring:\n" + "\n".join(problems)
