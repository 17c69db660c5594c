"""Import graph of a Python package tree, read from its `import` statements (nothing is executed).

Every `import` / `from ... import` counts, wherever it stands: module level, inside functions
(deferred imports still make a cycle at run time) and under `if TYPE_CHECKING:` (a cycle of types is a
cycle of design). `from pkg import name` is an edge to `pkg.name` when that is a module, else to `pkg`.

`sibling_cycles` checks every level of the package tree: at each package, its children (sub-packages
and modules, with each sub-package standing for everything inside it) must import each other without
a circle. That rules out cycles between packages (models.emodiff <-> models.lip, procedural -> align
-> features -> procedural) and between the modules of one package (server.service <-> server.handlers).
`layer_violations` checks that no top-level package imports one in a higher layer.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path


def module_name(path: Path, root: Path) -> str:
    """`root/../a/b.py` -> 'a.b' and `root/../a/__init__.py` -> 'a' (root is the top package folder)."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(root: Path) -> dict[str, Path]:
    return {module_name(path, root): path for path in sorted(root.rglob("*.py"))}


def _absolute(node: ast.ImportFrom, name: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = name.split(".") if is_package else name.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_edges(root: Path) -> dict[str, set[str]]:
    """module -> the modules of the same tree it imports."""
    known = modules(root)
    top = root.name
    edges: dict[str, set[str]] = defaultdict(set)
    for name, path in known.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _absolute(node, name, path.name == "__init__.py")
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
            for target in targets:
                while target and target not in known:  # `import a.b.c` of an attribute path
                    target = target.rpartition(".")[0]
                if target and target.split(".")[0] == top and target != name:
                    edges[name].add(target)
    return edges


def _child(module: str, package: str) -> str | None:
    """The child of `package` that holds `module` ('__init__' for the package's own module)."""
    if module == package:
        return "__init__"
    if not module.startswith(package + "."):
        return None
    return module[len(package) + 1:].split(".")[0]


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of `graph` as [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node], _ = 1, path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def sibling_cycles(root: Path) -> list[str]:
    """For every package of the tree, a cycle among its children (if any), as readable lines."""
    edges = import_edges(root)
    packages = sorted({name for name, path in modules(root).items() if path.name == "__init__.py"})
    found = []
    for package in packages:
        graph: dict[str, set[str]] = defaultdict(set)
        for source, targets in edges.items():
            a = _child(source, package)
            for target in targets:
                b = _child(target, package)
                if a is not None and b is not None and a != b:
                    graph[a].add(b)
        cycle = find_cycle(graph)
        if cycle:
            found.append(f"{package}: " + " -> ".join(cycle))
    return found


def layer_violations(root: Path, layers: dict[str, int]) -> list[str]:
    """Imports from a top-level package to one in a higher layer; children missing from `layers` too."""
    top = root.name
    found = []
    for source, targets in sorted(import_edges(root).items()):
        a = _child(source, top)
        if a not in layers:
            found.append(f"{source}: '{a}' has no layer")
            continue
        for target in sorted(targets):
            b = _child(target, top)
            if b not in layers:
                found.append(f"{target}: '{b}' has no layer")
            elif layers[b] > layers[a]:
                found.append(f"{source} imports {target} (layer {layers[a]} -> {layers[b]})")
    return found


def third_party_imports(path: Path) -> set[str]:
    """Top-level names of modules outside the tree that `path` imports (relative imports excluded)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module.split(".")[0])
    return names
