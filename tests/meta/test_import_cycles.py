"""No import cycles among satchel's modules (core and plugins), function-local imports included.

Only import statements count: ``satchel.pluginmanager`` imports entry points and ``CORE_MODULES`` by name on
purpose, and imports under ``if TYPE_CHECKING:`` never run.
"""

from collections import deque


def import_graph(source_tree) -> dict[str, dict[str, int]]:
    """``{module: {imported module: first line}}`` over the modules of core/ and plugins/."""
    graph: dict[str, dict[str, int]] = {name: {} for name in source_tree.modules}
    for name, module in source_tree.modules.items():
        for imported in module.imports:
            if imported.dynamic or imported.type_checking:
                continue
            for target in source_tree.resolve(imported):
                graph[name].setdefault(target, imported.line)
    return graph


def strongly_connected_components(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (no recursion limit to worry about)."""
    index_of: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index_of:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index_of[root] = lowlink[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index_of:
                    index_of[successor] = lowlink[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    advanced = True
                    break
                if successor in on_stack:
                    lowlink[node] = min(lowlink[node], index_of[successor])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                lowlink[parent] = min(lowlink[parent], lowlink[node])
            if lowlink[node] == index_of[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components


def shortest_cycle(graph, component: list[str]) -> list[str]:
    """A shortest cycle through the component's first module, as a module path back to it."""
    members = set(component)
    start = component[0]
    previous: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for successor in sorted(graph[node]):
            if successor not in members:
                continue
            if successor == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return [*reversed(path), start]
            if successor not in previous:
                previous[successor] = node
                queue.append(successor)
    return [start, start]


def describe_cycle(graph, source_tree, cycle: list[str]) -> str:
    steps = [f"{a} ({source_tree.modules[a].relpath}:{graph[a][b]})" for a, b in zip(cycle, cycle[1:])]
    return " -> ".join(steps + [cycle[-1]])


def find_cycles(graph) -> list[list[str]]:
    return [component for component in strongly_connected_components(graph)
            if len(component) > 1 or component[0] in graph[component[0]]]


def test_cycle_finder_finds_cycles():
    graph = {"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1, "d": 1}, "d": {}, "e": {"e": 1}, "f": {"d": 1}}
    assert find_cycles(graph) == [["a", "b", "c"], ["e"]]
    assert shortest_cycle(graph, ["a", "b", "c"]) == ["a", "b", "c", "a"]


def test_graph_sees_core_imports(source_tree):
    """Guard against a resolver that silently finds nothing."""
    graph = import_graph(source_tree)
    assert "satchel.plugin" in graph["satchel.pluginmanager"]
    assert "satchel.hookspecs" in graph["satchel.pluginmanager"]


def test_no_import_cycles(source_tree):
    graph = import_graph(source_tree)
    cycles = find_cycles(graph)
    report = [
        f"{', '.join(component)}\n"
        f"    e.g. {describe_cycle(graph, source_tree, shortest_cycle(graph, component))}"
        for component in cycles
    ]
    assert not cycles, "import cycles (strongly connected modules):\n" + "\n".join(report)
