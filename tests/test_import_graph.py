"""The package's import graph: no cycles, and no reach into the hook's private modules from outside.

Every ``import`` statement counts, wherever it stands (a function-level or ``TYPE_CHECKING``
import still ties two modules together for a reader and a refactoring). The graph is built from
the source with :mod:`ast`, so nothing is imported to check it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import airflow_provider_smartarena

PACKAGE = airflow_provider_smartarena.__name__
ROOT = Path(airflow_provider_smartarena.__file__).parent
HOOKS = f"{PACKAGE}.hooks"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> list[tuple[str, str | None]]:
    """(module imported, name imported from it or None) for every import of the package."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: list[tuple[str, str | None]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                # "from pkg import module" imports a module; "from module import name" a name.
                submodule = f"{base}.{alias.name}"
                found.append((submodule, None) if submodule in known else (base, alias.name))
    return [(module, item) for module, item in found if module.split(".")[0] == PACKAGE]


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for module, _ in _imports(name, path, known):
            target = module
            while target not in known and "." in target:
                target = target.rsplit(".", 1)[0]
            if target != name:
                graph[name].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), i.e. import cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def _private_reaches() -> set[tuple[str, str]]:
    modules = _modules()
    known = set(modules)
    reaches: set[tuple[str, str]] = set()
    for name, path in modules.items():
        if name == HOOKS or name.startswith(f"{HOOKS}."):
            continue
        for module, item in _imports(name, path, known):
            if not (module == HOOKS or module.startswith(f"{HOOKS}.")):
                continue
            inner = module[len(HOOKS) :].lstrip(".").split(".")
            if any(part.startswith("_") for part in inner if part):
                reaches.add((name, module))
            elif item is not None and item.startswith("_"):
                reaches.add((name, f"{module}.{item}"))
    return reaches


def test_the_graph_sees_the_package() -> None:
    graph = _graph()
    assert f"{HOOKS}.smartarena" in graph
    assert f"{HOOKS}._transport" in graph[f"{HOOKS}.smartarena"]


def test_no_import_cycle() -> None:
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_outside_hooks_imports_a_private_module_or_name_of_hooks() -> None:
    # The probe, the last to reach in, now uses SmartArenaHook.request()/Reply and hooks.paging.
    assert _private_reaches() == set(), (
        "import the public API (hooks.SmartArenaHook, hooks.Reply, hooks.paging)"
    )
