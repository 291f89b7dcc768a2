"""Strict JSON for everything mixlaw writes: no ``NaN`` / ``Infinity`` tokens, which strict parsers
(JavaScript's ``JSON.parse``, Go, ``jq``) reject.

:func:`strict_json` replaces every non-finite float by ``null`` and records why in a sibling field
``<key>_reason`` (in an object) or in ``null_reasons`` at the top (for list items, keyed by the item's
path), so that a reader can tell "not computed" from "infinite".
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

#: Why a value is not a finite number, by what it was.
REASONS = {"nan": "not a number: undefined for these data (e.g. an R^2 or relative error with a zero "
                  "denominator, or a fit that produced no prediction)",
           "inf": "infinite: the quantity diverges (e.g. a prediction that overflowed, or a ratio to zero)",
           "-inf": "minus infinity: the quantity diverges"}


def _kind(x: float) -> str:
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def _plain(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    return x


def _clean(x: Any, path: str, reasons: dict[str, str]) -> Any:
    x = _plain(x)
    if isinstance(x, float) and not math.isfinite(x):
        reasons[path] = REASONS[_kind(x)]
        return None
    if isinstance(x, dict):
        out: dict[str, Any] = {}
        for k, v in x.items():
            v = _plain(v)
            if isinstance(v, float) and not math.isfinite(v):
                out[str(k)] = None
                out.setdefault(f"{k}_reason", REASONS[_kind(v)])
            else:
                out[str(k)] = _clean(v, f"{path}.{k}" if path else str(k), reasons)
        return out
    if isinstance(x, (list, tuple)):
        return [_clean(v, f"{path}[{i}]", reasons) for i, v in enumerate(x)]
    return x


def strict_json(doc: Any) -> Any:
    """``doc`` with non-finite floats as ``null`` plus reasons (see the module docstring)."""
    reasons: dict[str, str] = {}
    out = _clean(doc, "", reasons)
    if reasons and isinstance(out, dict):
        out["null_reasons"] = {**out.get("null_reasons", {}), **reasons}
    return out


def dumps(doc: Any, **kw: Any) -> str:
    """``json.dumps`` of :func:`strict_json` (``allow_nan=False``: a non-finite number can never slip out).

    >>> doc = json.loads(dumps({"mre": float("inf"), "xs": [1.0, float("nan")]}))
    >>> doc["mre"], doc["mre_reason"][:8], doc["xs"], doc["null_reasons"]["xs[1]"][:12]
    (None, 'infinite', [1.0, None], 'not a number')
    """
    kw.setdefault("default", str)
    return json.dumps(strict_json(doc), allow_nan=False, **kw)


__all__ = ["strict_json", "dumps"]
