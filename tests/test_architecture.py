"""The layers of the code base (README "Layout"): who may import whom, and no import cycles.

Every import counts, including those inside functions: a cycle hidden in a function body is still a cycle."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "kernels", "replay", "scenarios")

# (importer prefix, forbidden prefixes): the allowed directions are cli → batch/bench → sim → managers → kernels.
FORBIDDEN = [
    ("replay", ("engine", "kernels", "taichi")),
    ("scenarios", ("engine", "kernels", "taichi", "replay")),
    ("kernels", ("engine", "replay", "scenarios")),
    ("engine.sim", ("engine.cli", "engine.batch", "engine.bench")),
    ("engine.managers", ("engine.cli", "engine.batch", "engine.bench", "engine.sim.simulation")),
    ("engine.batch", ("engine.cli", "engine.bench")),
    ("engine.bench", ("engine.cli", "engine.batch")),
    ("engine.errors", ("engine.", "kernels", "replay", "scenarios")),
]


def module_name(path: Path) -> str:
    """Dotted module name of a source file under ROOT."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_modules() -> dict[str, Path]:
    """Every module of the four packages, by dotted name."""
    return {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def imports_of(name: str, path: Path) -> set[str]:
    """The absolute module names a file imports (anywhere in it), resolving relative imports."""
    found = set()
    tree = ast.parse(path.read_text(), str(path))
    type_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If) and _is_type_checking(block.test)
                 for stmt in block.body for n in ast.walk(stmt)}
    for node in ast.walk(tree):
        if id(node) in type_only:  # `if TYPE_CHECKING:` imports never run
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = name.split(".")[: -node.level if path.name != "__init__.py" else len(name.split(".")) - node.level + 1]
                base = ".".join(package + ([base] if base else []))
            found.update(f"{base}.{alias.name}" for alias in node.names)
            found.add(base)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    """Is this an `if TYPE_CHECKING:` (or `typing.TYPE_CHECKING`) test?"""
    return getattr(test, "id", None) == "TYPE_CHECKING" or getattr(test, "attr", None) == "TYPE_CHECKING"


def internal_graph() -> dict[str, set[str]]:
    """module → the project modules it imports (a `from pkg import mod` counts as importing pkg.mod)."""
    modules = source_modules()
    graph = {}
    for name, path in modules.items():
        found = imports_of(name, path)
        # `from pkg import submodule` imports the submodule: do not also count the package (its __init__)
        parents = {m.rsplit(".", 1)[0] for m in found if m in modules and "." in m}
        graph[name] = {m for m in found if m in modules and m != name and not (m in parents and _only_via_children(m, found, modules))}
    return graph


def _only_via_children(package: str, found: set, modules: dict) -> bool:
    """True when every name imported from `package` is one of its submodules."""
    children = [m for m in found if m.startswith(package + ".") and "." not in m[len(package) + 1:]]
    return all(m in modules for m in children)


def test_the_scan_sees_the_whole_tree():
    """Guard against a scan that silently finds nothing (and so can never fail)."""
    graph = internal_graph()
    assert "engine.sim.simulation" in graph and "kernels.worlds" in graph["engine.sim.simulation"] | {
        m for dep in graph["engine.sim.simulation"] for m in graph.get(dep, ())}
    assert sum(len(v) for v in graph.values()) > 50


@pytest.mark.parametrize("importer,forbidden", FORBIDDEN)
def test_imports_go_one_way(importer, forbidden):
    """No module of a layer imports a layer above it (or Taichi, where the layer must run without it)."""
    modules = source_modules()
    bad = []
    for name, path in modules.items():
        if name != importer and not name.startswith(importer + "."):
            continue
        for imported in imports_of(name, path):
            if any(imported == f or imported.startswith(f if f.endswith(".") else f + ".") for f in forbidden):
                bad.append(f"{name} imports {imported}")
    assert not bad, "\n".join(sorted(bad))


def test_no_import_cycles():
    """The module import graph is acyclic (Tarjan's strongly connected components of size > 1)."""
    graph = internal_graph()
    index, low, on_stack, stack, cycles, counter = {}, {}, set(), [], [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"
