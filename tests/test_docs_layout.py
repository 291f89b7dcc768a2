"""docs/layout.md names every module of ``src/mixlaw`` under the heading of its layer.

The README promises that docs/layout.md describes the source tree module by module; a module added without a line
there (or a layer heading whose list drifted from tests/test_layers.py's :data:`LAYERS`) would quietly break that.
Each module is a list item that starts with its path below ``src/mixlaw/`` in backticks (``laws/ye.py``,
``cli/__init__.py``), under the ``## <n>. <layer>`` heading of the layer :func:`test_layers.layer_of` gives it.
"""

from __future__ import annotations

import re
from pathlib import Path

from test_layers import LAYERS, PACKAGE, SRC, all_modules, layer_of

LAYOUT = Path(__file__).resolve().parents[1] / "docs" / "layout.md"


def documented(text: str) -> dict[str, list[str]]:
    """Paths named at the start of a list item, by the layer heading (``## 1. base``) they sit under."""
    out: dict[str, list[str]] = {}
    layer = None
    for line in text.splitlines():
        heading = re.match(r"## \d+\. (\w+)", line)
        if heading:
            layer = heading.group(1)
            out.setdefault(layer, [])
            continue
        if line.startswith("## "):
            layer = None
        item = re.match(r"- `([^`]+\.py)`", line)
        if item and layer is not None:
            out[layer].append(item.group(1))
    return out


def test_the_layer_headings_follow_test_layers():
    assert list(documented(LAYOUT.read_text(encoding="utf-8"))) == [name for name, _ in LAYERS]


def test_every_module_is_named_under_its_layer():
    named = documented(LAYOUT.read_text(encoding="utf-8"))
    where = {path: layer for layer, paths in named.items() for path in paths}
    missing, misplaced = [], []
    for module, path in all_modules().items():
        rel = path.relative_to(SRC / PACKAGE).as_posix()
        layer = layer_of(module)
        if rel not in where:
            missing.append(rel)
        elif layer is not None and where[rel] != layer[1]:
            misplaced.append(f"{rel} (under {where[rel]}, layer {layer[1]})")
    assert not missing, f"docs/layout.md names no line for: {', '.join(missing)}"
    assert not misplaced, f"docs/layout.md lists under the wrong layer: {', '.join(misplaced)}"


def test_layout_names_no_module_that_does_not_exist():
    named = [p for paths in documented(LAYOUT.read_text(encoding="utf-8")).values() for p in paths]
    gone = [p for p in named if not (SRC / PACKAGE / p).is_file()]
    assert not gone, f"docs/layout.md names modules that are not in src/mixlaw: {', '.join(gone)}"
    assert len(named) == len(set(named)), "docs/layout.md names a module twice"
