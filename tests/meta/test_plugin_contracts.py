"""Plugins meet the core through hooks and declared names: no attributes set on the app, no guessed routes."""

import ast

import pytest

APP_MUTATORS = {"setattr", "delattr"}
PLACEMENT_KEYWORDS = ("before", "after")


def _is_app(node: ast.expr) -> bool:
    """``app`` itself or ``<something>.app`` (``self.app``, ``stage.app``, ``request.app``, ``stack.app``)."""
    return (isinstance(node, ast.Name) and node.id == "app") or (isinstance(node, ast.Attribute)
                                                                 and node.attr == "app")


def app_attribute_assignments(tree: ast.AST) -> list[int]:
    """Lines that set or delete an attribute of the app object."""
    lines = []
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, ast.Delete):
            targets = node.targets
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in APP_MUTATORS
              and node.args and _is_app(node.args[0])):
            lines.append(node.lineno)
        for target in targets:
            for part in ast.walk(target):
                if isinstance(part, ast.Attribute) and isinstance(part.ctx, (ast.Store, ast.Del)) \
                        and _is_app(part.value):
                    lines.append(node.lineno)
    return lines


@pytest.mark.parametrize("source, found", [
    ("app.primary_url = url", True),
    ("self.app.primary_url = url", True),
    ("stage.app.x += 1", True),
    ("setattr(request.app, 'x', 1)", True),
    ("del app.x", True),
    ("app.stash['mine'] = state", False),  # plugin state belongs in the stash
    ("self.app = app", False),
    ("x = app.config", False),
])
def test_the_checker_sees_assignments_on_the_app(source, found):
    assert bool(app_attribute_assignments(ast.parse(source))) is found


def test_plugins_never_set_attributes_on_the_app(source_tree):
    """Core asks plugins through hooks (``satchel_get_node_role``): construction order cannot lose a value."""
    violations = [f"{module.relpath}:{line}" for module in source_tree.plugins.values()
                  for line in app_attribute_assignments(module.tree)]
    assert not violations, "plugins assign attributes on the app (use a hook or app.stash):\n" + \
        "\n".join(violations)


def _route_calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add" \
                and len(node.args) >= 3:
            yield node


def _from_routes_module(tree: ast.AST) -> set[str]:
    """Names bound to ``satchel.web.routes`` or imported from it."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "satchel.web.routes":
            names.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module == "satchel.web":
            names.update(alias.asname or alias.name for alias in node.names if alias.name == "routes")
    return names


def route_placement_violations(packages: dict[str, list[tuple[str, ast.AST]]]) -> list[str]:
    """``where: what`` for each guessed placement; ``packages``: plugin -> [(path, tree)]."""
    violations = []
    for modules in packages.values():
        own = {call.args[0].value for _, tree in modules for call in _route_calls(tree)
               if isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str)}
        for path, tree in modules:
            declared = _from_routes_module(tree)
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                        and node.func.attr == "table":
                    violations.append(f"{path}:{node.lineno}: reads the route table")
            for call in _route_calls(tree):
                for keyword in call.keywords:
                    if keyword.arg in PLACEMENT_KEYWORDS and not _declared(keyword.value, own, declared):
                        violations.append(f"{path}:{call.lineno}: {keyword.arg}={ast.unparse(keyword.value)}")
    return violations


def _declared(value: ast.expr, own: set[str], declared: set[str]) -> bool:
    if isinstance(value, ast.Constant):
        return value.value in own
    if isinstance(value, ast.Attribute):
        return isinstance(value.value, ast.Name) and value.value.id in declared
    return isinstance(value, ast.Name) and value.id in declared


GUESS = 'router.add("f", p, v, before="mirror_file" if "mirror_file" in names else "file")'


@pytest.mark.parametrize("source, found", [
    (GUESS, True),
    ('router.add("f", p, v, before="file")', True),  # a string, not the declared constant
    ('router.add("f", p, v, before="mirror_file")', True),  # another plugin's route
    ("from satchel.web import routes\nrouter.add('f', p, v, before=routes.FILE)", False),
    ("from satchel.web.routes import FILE\nrouter.add('f', p, v, after=FILE)", False),
    ("router.add('g', p, v)\nrouter.add('f', p, v, before='g')", False),  # its own route
    ("names = router.table()", True),
])
def test_the_checker_sees_guessed_placements(source, found):
    assert bool(route_placement_violations({"plugin": [("x.py", ast.parse(source))]})) is found


def test_plugins_place_routes_only_next_to_declared_names(source_tree):
    """``before``/``after`` name a core route by its constant in ``satchel.web.routes``, or a route of
    the same plugin; never another plugin's route, a guessed string or a look at the route table."""
    packages: dict[str, list] = {}
    for module in source_tree.plugins.values():
        packages.setdefault(module.top, []).append((module.relpath, module.tree))
    violations = route_placement_violations(packages)
    assert not violations, "routes placed by guess (use satchel.web.routes or priority=):\n" + \
        "\n".join(violations)
