"""The package layering: theory → numerics → proofs_check, arrows pointing down only.

Every module of the three packages is parsed (not imported) and each ``import``/``from ... import``
of a project module — at module level or inside a function — is an edge. The test fails on an
import from a lower layer to a higher one (theory importing numerics or proofs_check, numerics
importing proofs_check) and on any cycle between modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("theory", "numerics", "proofs_check")
LAYER = {name: rank for rank, name in enumerate(PACKAGES)}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for package in PACKAGES
            for path in sorted((ROOT / package).rglob("*.py"))}


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The longest project module that ``name`` (a.b.c, possibly a.b.function) refers to."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def _edges(modules: dict[str, Path]) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = name.split(".")
                    anchor = anchor if is_package else anchor[:-1]
                    anchor = anchor[:len(anchor) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [f"{base}.{alias.name}" for alias in node.names] or [base]
            for target in targets:
                resolved = _resolve(target, modules)
                if resolved is not None and resolved != name:
                    edges[name].add(resolved)
    return edges


MODULES = _modules()
EDGES = _edges(MODULES)


def test_the_walk_sees_the_known_imports():
    """The parser finds imports that exist (so an empty edge set cannot pass vacuously)."""
    assert "theory.assembly" in EDGES["theory.population"]
    assert "theory.fast_field" in EDGES["theory.population"]
    assert "proofs_check.runs.grid" in EDGES["proofs_check.runs.sweep"]
    assert sum(len(targets) for targets in EDGES.values()) > 100


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_points_up(module):
    rank = LAYER[module.split(".")[0]]
    upward = sorted(t for t in EDGES[module] if LAYER[t.split(".")[0]] > rank)
    assert not upward, f"{module} imports a higher layer: {upward}"


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges[node]):
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
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(found)


def test_cycle_finder_finds_a_planted_cycle():
    planted = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(planted) == [["a", "b", "c"]]


def _package_parents(module: str) -> set[str]:
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def test_no_import_cycles():
    """No cycle among modules. A package's __init__ that re-exports its own submodules is the
    package's facade, not a dependency of them, so edges from a module to the packages that
    contain it are left out."""
    edges = {name: {t for t in targets if t not in _package_parents(name)}
             for name, targets in EDGES.items()}
    assert _cycles(edges) == []


def test_report_modules_find_the_project_root():
    """report/ sits two levels below the root: the README table and the provenance read the
    root's README.md, pyproject.toml and git checkout."""
    import tomllib

    from proofs_check.report import markdown, readme_table

    assert readme_table.DEFAULT_README == ROOT / "README.md"
    with open(ROOT / "pyproject.toml", "rb") as file:
        assert markdown._source_version() == tomllib.load(file)["project"]["version"]
    assert markdown._git_commit().get("git_commit") is not None
