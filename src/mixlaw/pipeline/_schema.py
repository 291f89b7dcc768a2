"""Checked reading of a saved pipeline's JSON fields: the file is untrusted input (no eval, no pickle).

Each helper reads one field of a parsed JSON object, checks its type, shape and range, and raises
:class:`~mixlaw.errors.InputError` naming the field; :mod:`.io` prefixes the file name. Arrays travel as
nested lists with ``null`` for NaN (strict JSON has no NaN).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .._validation import validate_params
from ..errors import InputError
from ..laws.base import get_law


def field_of(doc: Any, key: str, where: str) -> Any:
    if not isinstance(doc, Mapping):
        raise InputError(f"{where}: expected an object; got {type(doc).__name__}")
    if key not in doc:
        raise InputError(f"{where}: missing field {key!r}")
    return doc[key]


def number(doc: Any, key: str, where: str, *, positive: bool = False, optional: bool = False) -> float | None:
    v = field_of(doc, key, where)
    if v is None and optional:
        return None
    try:
        # float() first: a 400-digit integer literal is a Python int no float holds (np.isfinite raised TypeError)
        bad = isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(float(v))
    except OverflowError:
        bad = True
    if bad or (positive and v <= 0):
        raise InputError(f"{where}.{key}: expected a {'positive ' if positive else ''}finite number; got {v!r}")
    return float(v)


def string(doc: Any, key: str, where: str, choices: tuple[str, ...] | None = None) -> str:
    v = field_of(doc, key, where)
    if not isinstance(v, str) or (choices is not None and v not in choices):
        raise InputError(f"{where}.{key}: expected {'one of ' + str(choices) if choices else 'a string'}; got {v!r}")
    return v


def strings(doc: Any, key: str, where: str, n: int | None = None) -> list[str]:
    v = field_of(doc, key, where)
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v) or (n is not None and len(v) != n):
        raise InputError(f"{where}.{key}: expected a list of {n if n is not None else ''} strings".replace("  ", " ")
                         + f"; got {str(v)[:80]}")
    return list(v)


def array(doc: Any, key: str, where: str, shape: tuple[int | None, ...], *, allow_nan: bool = False) -> np.ndarray:
    """A float64 array of ``shape`` (None: any length) from nested lists; ``null`` is NaN when ``allow_nan``."""
    v = field_of(doc, key, where)
    try:
        a = np.array(v, dtype=np.float64) if _is_nested_numbers(v, len(shape)) else None
    except (TypeError, ValueError, OverflowError):  # OverflowError: an integer literal no float holds (10**400)
        a = None
    if a is None or a.ndim != len(shape) or any(s is not None and s != d for s, d in zip(shape, a.shape, strict=True)):
        want = "x".join("n" if s is None else str(s) for s in shape)
        raise InputError(f"{where}.{key}: expected a {want} array of numbers; got {str(v)[:80]}")
    if np.isinf(a).any() or (np.isnan(a).any() and not allow_nan):
        raise InputError(f"{where}.{key}: expected finite numbers")
    return a


def _is_nested_numbers(v: Any, depth: int) -> bool:
    if depth == 0:
        return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))
    return isinstance(v, list) and all(_is_nested_numbers(x, depth - 1) for x in v)


def jsonable_array(a: np.ndarray) -> Any:
    """Nested lists with None for NaN (strict JSON)."""
    arr = np.asarray(a, dtype=np.float64)
    return np.where(np.isnan(arr), None, arr).tolist() if np.isnan(arr).any() else arr.tolist()


def plain(x: Any) -> Any:
    """``x`` with numpy scalars/arrays turned into JSON types; anything else non-JSON raises InputError."""
    if isinstance(x, Mapping):
        return {str(k): plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    if isinstance(x, np.ndarray):
        return jsonable_array(x)
    if isinstance(x, np.generic):
        return x.item()
    if x is None or isinstance(x, (str, bool, int, float)):
        return x
    raise InputError(f"cannot save {type(x).__name__} {x!r} as JSON")


def law_spec(doc: Any, where: str) -> tuple[str, dict[str, Any]]:
    """A registered law key and constructor options that the law accepts (checked by constructing it)."""
    key = string(doc, "law", where)
    options = field_of(doc, "law_options", where)
    if not isinstance(options, dict):
        raise InputError(f"{where}.law_options: expected an object")
    try:
        validate_params(get_law(key, **options))
    except InputError as err:
        raise InputError(f"{where}.law: {err}") from None
    return key, dict(options)
