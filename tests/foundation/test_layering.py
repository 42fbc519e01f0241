"""The layering rules of design.md, read from the source: `ai` never imports `server`, no module
imports another package's private names, and no import cycles (imports inside functions count)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("server", "ai")


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules(root: Path = ROOT) -> dict[str, Path]:
    return {module_name(p, root): p for pkg in PACKAGES for p in sorted((root / pkg).rglob("*.py"))}


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of import nodes under `if TYPE_CHECKING:` (annotations only, never executed)."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return skip


def imports_of(path: Path, name: str, modules: dict[str, Path]) -> list[tuple[str, str, int]]:
    """(module imported, name imported or "", line) for every import in the file, wherever it is."""
    tree = ast.parse(path.read_text(), filename=str(path))
    skip = _type_checking_nodes(tree)
    is_pkg = path.name == "__init__.py"
    found: list[tuple[str, str, int]] = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found += [(a.name, "", node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = name.split(".") if is_pkg else name.split(".")[:-1]
                pkg = pkg[: len(pkg) - node.level + 1]
                base = ".".join(pkg + ([base] if base else []))
            for a in node.names:
                sub = f"{base}.{a.name}"
                found.append((sub, "", node.lineno) if sub in modules else (base, a.name, node.lineno))
    return found


def owning_module(imported: str, modules: dict[str, Path]) -> str | None:
    while imported and imported not in modules:
        imported = imported.rpartition(".")[0]
    return imported or None


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps = {owning_module(m, modules) for m, _, _ in imports_of(path, name, modules)}
        graph[name] = {d for d in deps if d and d != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        found.append(sorted(comp))
    return found


def package_of(module: str, modules: dict[str, Path]) -> str:
    return module if modules[module].name == "__init__.py" else module.rpartition(".")[0]


def layering_violations(root: Path = ROOT) -> list[str]:
    modules = all_modules(root)
    problems: list[str] = []
    for name, path in modules.items():
        for imported, attr, line in imports_of(path, name, modules):
            where = f"{path.relative_to(root)}:{line}"
            if name.startswith("ai.") or name == "ai":
                if imported == "server" or imported.startswith("server."):
                    problems.append(f"{where}: ai imports {imported} (ai never imports server)")
            target = owning_module(imported, modules)
            if attr.startswith("_") and not attr.startswith("__") and target:
                if package_of(target, modules) != package_of(name, modules):
                    problems.append(f"{where}: imports private {attr} from another package's {target}")
    problems += [f"import cycle: {' <-> '.join(c)}" for c in cycles(import_graph(modules))]
    return problems


def test_the_tree_keeps_its_layers():
    assert layering_violations() == []


@pytest.mark.parametrize("bad", [
    ("ai/npc/zz_bad.py", "from server.protocol import ProtocolError\n", "ai imports server.protocol"),
    ("server/world/zz_bad.py", "from server.realtime.fleet import _LEASES\n", "private _LEASES"),
    ("server/zz_a.py", "def f():\n    from server import zz_b\n", "import cycle"),
])
def test_a_forbidden_import_is_caught(tmp_path, bad):
    """The checker itself: a copy of the tree plus one forbidden import fails."""
    import shutil

    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, tmp_path / pkg, ignore=shutil.ignore_patterns("__pycache__", "data"))
    rel, source, expected = bad
    (tmp_path / rel).write_text(source)
    if "zz_a" in rel:
        (tmp_path / "server/zz_b.py").write_text("from server import zz_a\n")
    assert any(expected in p for p in layering_violations(tmp_path))
