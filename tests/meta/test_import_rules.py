"""Core imports no plugin; a plugin imports core and itself, never another plugin."""

import ast


def _describe(module, imported) -> str:
    how = "importlib by name" if imported.dynamic else "import"
    names = f" ({', '.join(imported.names)})" if imported.names else ""
    return f"{module.relpath}:{imported.line}: {how} {imported.module}{names}"


def test_plugins_are_found(source_tree):
    assert source_tree.core, "no modules found under core/"
    assert source_tree.plugin_packages, "no plugin packages found under plugins/"
    assert "satchel" not in source_tree.plugin_packages


def test_core_imports_no_plugin(source_tree):
    """Core meets plugins through hooks and registries only: not even a function-local import."""
    plugins = set(source_tree.plugin_packages)
    violations = [
        _describe(module, imported)
        for module in source_tree.core.values()
        for imported in module.imports
        if imported.top in plugins
    ]
    assert not violations, "core imports plugins:\n" + "\n".join(violations)


def test_plugins_do_not_import_each_other(source_tree):
    plugins = set(source_tree.plugin_packages)
    violations = [
        _describe(module, imported)
        for module in source_tree.plugins.values()
        for imported in module.imports
        if imported.top in plugins and imported.top != module.top
    ]
    assert not violations, "plugins import other plugins:\n" + "\n".join(violations)


def _string_constants(tree: ast.Module):
    """Every str constant that is not a docstring, with its line."""
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value


def test_core_names_no_plugin_module(source_tree):
    """No plugin module named in core's strings, e.g. in ``CORE_MODULES`` (imported by name)."""
    plugins = set(source_tree.plugin_packages)
    violations = [
        f"{module.relpath}:{line}: {value!r}"
        for module in source_tree.core.values()
        for line, value in _string_constants(module.tree)
        if value.split(".")[0] in plugins and all(part.isidentifier() for part in value.split("."))
    ]
    assert not violations, "core names plugin modules:\n" + "\n".join(violations)


def test_core_modules_registered_by_name_are_core(source_tree):
    """``satchel.pluginmanager.CORE_MODULES`` is imported by name: it must list existing core modules only."""
    module = source_tree.core["satchel.pluginmanager"]
    values = [
        ast.literal_eval(node.value)
        for node in module.tree.body
        if isinstance(node, ast.Assign)
        and any(getattr(t, "id", None) == "CORE_MODULES" for t in node.targets)
    ]
    assert values, "CORE_MODULES not found in satchel/pluginmanager.py"
    unknown = [name for name in values[-1] if name not in source_tree.core]
    assert not unknown, f"CORE_MODULES names modules that are not in core/: {unknown}"


def test_runtime_never_imports_the_test_kit(source_tree):
    """satchel.testing is the pytest plugin of the ``testing`` extra: the server must run without pytest."""
    violations = [
        _describe(module, imported)
        for module in source_tree.modules.values()
        if not module.name.startswith("satchel.testing")
        for imported in module.imports
        if imported.module == "satchel.testing" or imported.module.startswith("satchel.testing.")
        or (imported.module == "satchel" and "testing" in imported.names)
    ]
    assert not violations, "runtime modules import the test kit:\n" + "\n".join(violations)
