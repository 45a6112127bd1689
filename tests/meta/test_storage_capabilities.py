"""Storage capabilities are declared in the contract, never probed (issue 12).

Code reaches an optional feature of a storage, blob store or transaction through the name the
contract declares (``blobs.link_file``, ``blobs.spool_dir``, ``tx.release`` ...), whose default
says "not offered"; it never asks ``getattr``/``hasattr`` whether a backend happens to have it.
"""

import ast

PROBES = {"getattr", "hasattr"}
# names under which core and plugins hold a storage, a blob store or a transaction
STORAGE_NAMES = {"storage", "blobs", "store", "tx", "transaction", "read_tx", "write_tx"}


def storage_probes(tree: ast.AST) -> list[tuple[int, str]]:
    """``(line, source)`` of each getattr/hasattr whose object is named like a storage thing."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in PROBES \
                and node.args:
            target = node.args[0]
            parts = set()
            while isinstance(target, ast.Attribute):
                parts.add(target.attr)
                target = target.value
            if isinstance(target, ast.Name):
                parts.add(target.id)
            if parts & STORAGE_NAMES:
                found.append((node.lineno, ast.unparse(node)))
    return found


def test_the_check_finds_the_old_probes():
    old = ('fd, name = mkstemp(dir=getattr(blobs, "tmpdir", None))\n'
           'link = getattr(self.app.storage.blobs, "link_file", None)\n'
           'if hasattr(request.tx, "release"): pass\n'
           'conn = getattr(self._local, "conn", None)\n')
    assert sorted(line for line, _ in storage_probes(ast.parse(old))) == [1, 2, 3]


def test_nothing_probes_storage_blobs_or_transactions(source_tree):
    violations = [f"{module.relpath}:{line}: {source}"
                  for module in source_tree.modules.values()
                  for line, source in storage_probes(module.tree)]
    assert not violations, ("probing a storage capability; declare it in satchel/storage/contract.py "
                            "instead:\n" + "\n".join(violations))
