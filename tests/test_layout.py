"""The package's shape, held by tests: no import cycle, no oversized module.

Why: issue 13 split the rooms that had grown several jobs each (hub, runner, the remote-skill
session). These checks keep them split: every import between teammesh modules, the ones under
`if TYPE_CHECKING:` included, must form a directed acyclic graph, and no module may grow past
the size at which it again holds more than one job.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent.parent / "src" / "teammesh"
LARGEST_MODULE_LINES = 550


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE_ROOT.rglob("*.py"))}


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _imports(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The teammesh modules `module` imports, at any depth of its body (TYPE_CHECKING too)."""
    found: set[str] = set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, is_package, node)
            # `from pkg import name` imports the submodule pkg.name when there is one.
            targets = [target, *(f"{target}.{alias.name}" for alias in node.names)]
        else:
            continue
        found.update(name for name in targets if name in known and name != module)
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a list of modules, or None; iterative DFS, three colours."""
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    for root in graph:
        if state.get(root):
            continue
        stack: list[tuple[str, list[str]]] = [(root, sorted(graph[root]))]
        state[root] = 1
        while stack:
            node, pending = stack[-1]
            if not pending:
                state[node] = 2
                stack.pop()
                continue
            nxt = pending.pop()
            if state.get(nxt) == 1:
                path = [name for name, _ in stack]
                return [*path[path.index(nxt):], nxt]
            if not state.get(nxt):
                state[nxt] = 1
                stack.append((nxt, sorted(graph[nxt])))
    return None


def _package_parents(module: str) -> set[str]:
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def test_the_import_graph_has_no_cycle() -> None:
    known = _modules()
    graph = {name: _imports(name, path, known) for name, path in known.items()}
    # Importing a.b runs a/__init__ first; that edge is Python's, not a design choice, so
    # a package's own __init__ re-exporting its children is not counted as a cycle with them.
    for name, targets in graph.items():
        graph[name] = {t for t in targets if t not in _package_parents(name)}
    assert _cycle(graph) is None, f"import cycle: {' -> '.join(_cycle(graph) or [])}"


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_no_module_outgrows_one_job() -> None:
    sizes = {
        name: len(path.read_text(encoding="utf-8").splitlines())
        for name, path in _modules().items()
    }
    too_big = {name: lines for name, lines in sizes.items() if lines >= LARGEST_MODULE_LINES}
    assert not too_big, f"modules of {LARGEST_MODULE_LINES}+ lines: {too_big}"
