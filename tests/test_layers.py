"""The import graph of ``mixlaw`` points one way: down the layers of docs/layout.md (README: "Layout").

Every ``import``/``from ... import`` of a project module is parsed with :mod:`ast` (module level, under
``if TYPE_CHECKING``, and inside functions alike) and each module is mapped to its layer by the longest
matching prefix of :data:`LAYERS` (a package is mapped by its top name unless a submodule is listed). The
tests fail, naming the file, line and both layers, on

* an edge to a higher layer;
* a cycle among modules, even one made of same-layer edges;
* a function-local import of a project module, unless the imported module needs an optional heavy
  dependency (:data:`HEAVY`: torch, lightgbm, ray) at import time, the one reason to defer an import.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "mixlaw"

#: Layers from the bottom up. A module may import modules of its own layer or below (no cycles), never above.
LAYERS: list[tuple[str, list[str]]] = [
    # what everything else uses: errors, consoles, input checks, strict JSON, atomic file writes, worker counts, run
    # tables (the data package: schema, hints, diagnosis, table, scales, json_records, excel_formulas, reading, all
    # here through "data") and their importers (W&B, TensorBoard event files, Olmix), metrics, the least-squares
    # engine and its report, token budgets, bundled data, the run store
    ("base", ["errors", "_version", "_console", "_validation", "_json", "_atomic", "_workers", "data", "evals",
              "importers", "tfevents", "metrics", "_solver", "fit", "fit_report", "budget", "datasets", "store"]),
    # the mixing laws (one interface, one file per law; private helpers beside them, e.g. _capacity_model for
    # dz_eq1's capacity term and its Jacobians, _fit_stats for the interface's parameter count and train metrics,
    # all here through "laws")
    ("laws", ["laws"]),
    # what a fitted law is used for: step/size laws, the optimal mixture
    ("models", ["scaling", "optimize"]),
    # workflows that combine laws and optima: resampling, design, extrapolation pipelines, continual
    # pretraining, leaderboards, trainer exports (the mixture, paths and options they read in export_input); the
    # built-in trainer and its sweeps
    ("workflows", ["bootstrap", "_bootstrap_replicate", "_bootstrap_additive", "_bootstrap_warm", "design",
                   "pipeline", "continual", "compare", "export", "export_input", "export_schema", "train",
                   "sweep"]),
    # what users call: the package facade, the API the CLI calls (its optimize entry points in api_optimize), the
    # HTML reports, the command lines (the cli package: _common, _progress, _tables and the command groups, all here
    # through "cli"), and the trainer's end-to-end demo
    ("front", ["", "__main__", "api", "api_optimize", "report", "report_pipeline", "cli", "train.cli", "train.demo"]),
]
#: Third-party packages that are optional extras and heavy to import; a project module needing one at import
#: time may be imported inside the function that needs it.
HEAVY = {"torch", "lightgbm", "ray"}


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int
    local: bool  # inside a function body

    def where(self) -> str:
        return f"{module_path(self.source)}:{self.line}"


def module_path(module: str) -> str:
    p = SRC.joinpath(*module.split("."))
    return str((p / "__init__.py" if p.is_dir() else p.with_suffix(".py")).relative_to(SRC.parent))


def all_modules(src: Path = SRC) -> dict[str, Path]:
    """Every module of the package below ``src``, by dotted name."""
    out = {}
    for path in sorted((src / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _walk(node: ast.AST, local: bool) -> Iterator[tuple[ast.AST, bool]]:
    for child in ast.iter_child_nodes(node):
        inner = local or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        yield child, inner
        yield from _walk(child, inner)


def imports(module: str, path: Path, modules: dict[str, Path]) -> tuple[list[Edge], set[str]]:
    """Project-module edges of ``module`` and the third-party top names it imports at module level."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    edges: list[Edge] = []
    third_party: set[str] = set()
    for node, local in _walk(ast.parse(path.read_text(encoding="utf-8")), False):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    edges.append(Edge(module, _owner(alias.name, modules), node.lineno, local))
                elif not local:
                    third_party.add(alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != PACKAGE:
                if not local:
                    third_party.add(target.split(".")[0])
                continue
            # `from . import metrics` imports the submodule mixlaw.metrics; `from . import __version__` the package.
            targets = {f"{target}.{a.name}" if f"{target}.{a.name}" in modules else target for a in node.names}
            edges += [Edge(module, _owner(t, modules), node.lineno, local) for t in sorted(targets)]
    return edges, third_party


def _owner(name: str, modules: dict[str, Path]) -> str:
    while name not in modules:  # `import mixlaw.x.Y` of a class: the module is the longest existing prefix
        name = name.rpartition(".")[0]
    return name


def layer_of(module: str) -> tuple[int, str] | None:
    """(rank, name) of a module's layer: the longest prefix listed in :data:`LAYERS` wins (None: unlisted)."""
    rel = module.removeprefix(PACKAGE).lstrip(".")
    best: tuple[int, int, str] | None = None
    for rank, (name, members) in enumerate(LAYERS):
        for m in members:
            if rel == m or (m and rel.startswith(m + ".")):
                if best is None or len(m) > best[0]:
                    best = (len(m), rank, name)
    return None if best is None else (best[1], best[2])


def build_graph(src: Path = SRC) -> tuple[dict[str, Path], list[Edge], dict[str, set[str]]]:
    """Modules, their project-import edges, and the third-party packages each imports at module level."""
    modules = all_modules(src)
    edges: list[Edge] = []
    third: dict[str, set[str]] = {}
    for mod, path in modules.items():
        e, t = imports(mod, path, modules)
        edges += e
        third[mod] = t
    return modules, edges, third


@pytest.fixture(scope="module")
def graph() -> tuple[dict[str, Path], list[Edge], dict[str, set[str]]]:
    return build_graph()


def test_every_module_has_a_layer(graph) -> None:
    modules, _, _ = graph
    missing = [f"{module_path(m)}: {m}" for m in modules if layer_of(m) is None]
    assert not missing, (f"modules in no layer (add each to LAYERS in {Path(__file__).name}, in the lowest layer "
                         "whose modules it imports from):\n" + "\n".join(missing))


def test_no_edge_points_up(graph) -> None:
    _, edges, _ = graph
    bad = []
    for e in edges:
        src, tgt = layer_of(e.source), layer_of(e.target)
        if src is None or tgt is None:
            continue  # reported by test_every_module_has_a_layer
        (rs, ns), (rt, nt) = src, tgt
        if rt > rs:
            bad.append(f"{e.where()}: {e.source} ({ns}) imports {e.target} ({nt}), a higher layer")
    assert not bad, "imports pointing up the layers:\n" + "\n".join(bad)


def successors(modules: Iterable[str], edges: list[Edge]) -> dict[str, list[Edge]]:
    """The edges out of each module (a module naming itself, e.g. ``from . import x`` in a package's
    ``__init__`` where x is defined there, is no edge)."""
    succ: dict[str, list[Edge]] = {m: [] for m in modules}
    for e in edges:
        if e.target != e.source:
            succ.setdefault(e.source, []).append(e)
            succ.setdefault(e.target, [])
    return succ


def test_no_import_cycle(graph) -> None:
    modules, edges, _ = graph
    cycle = _find_cycle(successors(modules, edges))
    assert cycle is None, "import cycle:\n" + "\n".join(
        f"{e.where()}: {e.source} imports {e.target}{' (inside a function)' if e.local else ''}" for e in cycle)


def _find_cycle(succ: dict[str, list[Edge]]) -> list[Edge] | None:
    # The search recurses per module; the limit is put back, or every later test runs with it (a test that a
    # 600-deep saved file is refused passed alone and failed after this one).
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        return _search(succ)
    finally:
        sys.setrecursionlimit(limit)


def _search(succ: dict[str, list[Edge]]) -> list[Edge] | None:
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[Edge] = []

    def visit(m: str) -> list[Edge] | None:
        state[m] = 1
        for e in succ[m]:
            if state.get(e.target) == 1:
                start = next((i for i, s in enumerate(stack) if s.source == e.target), len(stack))
                return stack[start:] + [e]
            if e.target not in state:
                stack.append(e)
                found = visit(e.target)
                if found:
                    return found
                stack.pop()
        state[m] = 2
        return None

    for m in succ:
        if m not in state:
            found = visit(m)
            if found:
                return found
    return None


def _heavy(module: str, edges_by_source: dict[str, list[Edge]], third: dict[str, set[str]],
           seen: set[str] | None = None) -> bool:
    """Whether importing ``module`` imports one of :data:`HEAVY` (directly or through module-level imports)."""
    seen = set() if seen is None else seen
    if module in seen:
        return False
    seen.add(module)
    if third.get(module, set()) & HEAVY:
        return True
    return any(_heavy(e.target, edges_by_source, third, seen) for e in edges_by_source.get(module, [])
               if not e.local)


def test_function_local_imports_only_for_heavy_optional_dependencies(graph) -> None:
    modules, edges, third = graph
    by_source = successors(modules, edges)
    bad = [f"{e.where()}: {e.source} imports {e.target} inside a function; import it at the top of the module "
           f"(only modules needing {'/'.join(sorted(HEAVY))} may be imported late)"
           for e in edges if e.local and not _heavy(e.target, by_source, third)]
    assert not bad, "function-local imports of project modules:\n" + "\n".join(bad)


# ---------------------------------------------------------------------- the checker itself
def _check(tmp_path: Path, files: dict[str, str]) -> tuple[list[Edge], dict[str, set[str]], dict[str, Path]]:
    for rel, text in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    modules, edges, third = build_graph(tmp_path)
    return edges, third, modules


def test_checker_sees_relative_local_and_submodule_imports(tmp_path) -> None:
    edges, third, _ = _check(tmp_path, {
        "mixlaw/__init__.py": "from . import metrics\n",
        "mixlaw/metrics.py": "import numpy as np\n",
        "mixlaw/laws/__init__.py": "from .base import X\n",
        "mixlaw/laws/base.py": "from ..report import R\n\ndef f():\n    from ..fit import g\n    import torch\n",
        "mixlaw/report.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .laws.base import X\n",
        "mixlaw/fit.py": "",
    })
    got = {(e.source, e.target, e.local) for e in edges}
    assert got == {("mixlaw", "mixlaw.metrics", False), ("mixlaw.laws", "mixlaw.laws.base", False),
                   ("mixlaw.laws.base", "mixlaw.report", False), ("mixlaw.laws.base", "mixlaw.fit", True),
                   ("mixlaw.report", "mixlaw.laws.base", False)}
    assert third["mixlaw.metrics"] == {"numpy"} and "torch" not in third["mixlaw.laws.base"]
    assert layer_of("mixlaw.laws.base") == (1, "laws") and layer_of("mixlaw.report") == (4, "front")
    assert layer_of("mixlaw.train.loop") == (3, "workflows") and layer_of("mixlaw.train.demo") == (4, "front")
    assert layer_of("mixlaw") == (4, "front") and layer_of("mixlaw.newmodule") is None
    cycle = _find_cycle(successors([], edges))
    assert cycle is not None and {e.source for e in cycle} == {"mixlaw.laws.base", "mixlaw.report"}


def test_checker_allows_late_import_of_a_torch_module_only(tmp_path) -> None:
    edges, third, _ = _check(tmp_path, {
        "mixlaw/__init__.py": "",
        "mixlaw/cli.py": "def f():\n    from .loop import train\n    from .store import S\n",
        "mixlaw/loop.py": "from .model import M\n",
        "mixlaw/model.py": "import torch\n",
        "mixlaw/store.py": "import pandas\n",
    })
    by_source = successors([], edges)
    assert _heavy("mixlaw.loop", by_source, third)  # through model's module-level torch import
    assert not _heavy("mixlaw.store", by_source, third)
