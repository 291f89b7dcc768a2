"""``key=value`` law options from the command line, typed by the law's constructor signature.

``mixlaw fit --law ye-implicit --law-option n_components=4`` must reach ``YeImplicit(n_components=4)`` as
an ``int``, not the string ``"4"``. The type comes from the constructor's annotation (``int``, ``float``,
``str``, ``bool``, ``dict``/``list``/``tuple`` as JSON, ``None``), the first member of a union that parses the
text winning; an unknown key names the law's options (nanoGPT's configurator rule: an override must name a
known key and keep its type). The parsed options are then checked by the law's own ``_parameter_constraints``,
so a value out of range fails with the same sentence as in Python.

A value may also be written as a law's repr writes it (``'cv'``, ``{'a': (0.0, 0.5)}``, ``None``, ``True``): the
inline ``key(option=value, ...)`` syntax of :mod:`.inline` hands its options here as specs.
"""

from __future__ import annotations

import ast
import inspect
import json
from collections.abc import Iterable
from typing import Any

from .._validation import validate_params
from ..errors import InputError, InvalidParameterError
from .base import _REGISTRY, get_law

#: Options the command line sets elsewhere (``--seed``).
_NOT_AN_OPTION = {"random_state": "--seed"}
_BOOLS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def law_option_names(key: str) -> list[str]:
    """The constructor options of the law registered as ``key`` that ``--law-option`` may set."""
    get_law(key)  # unknown key -> InputError listing the known ones
    sig = inspect.signature(_REGISTRY[key].__init__)
    return [p.name for p in sig.parameters.values() if p.kind == p.KEYWORD_ONLY and p.name not in _NOT_AN_OPTION]


_CONTAINERS = {"dict": dict, "Mapping": dict, "list": (list, tuple), "Sequence": (list, tuple), "tuple": (list, tuple)}


def _literal(text: str) -> Any:
    """``text`` as a Python literal (how a law's repr writes an option: ``'cv'``, ``{'a': (0.0, 0.5)}``), or
    ``_NO_LITERAL``."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return _NO_LITERAL


_NO_LITERAL = object()


def _convert(text: str, annotation: str, default: Any) -> Any:
    """``text`` as the first type of ``annotation`` (e.g. ``"int | None"``) that parses it."""
    kinds = [a.strip() for a in annotation.split("|")] if annotation else []
    if not kinds and default is not None:
        kinds = [type(default).__name__]
    bases = [k.split("[", 1)[0] for k in kinds]
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        # A quoted string, as a law's repr (and a leaderboard's row name) writes one: alpha='cv'.
        value = _literal(text)
        if isinstance(value, str):
            if "str" in bases:
                return value
            text = value
    if text.strip()[:1] in ("{", "[", "("):
        # The repr's containers ({'a': (0.0, 0.5)}, (10.0, 30.0)), which JSON does not read; a tuple stays a tuple
        # where the option's default is one, so the law reads back as it was written.
        value = _literal(text.strip())
        for base in bases:
            if base in _CONTAINERS and isinstance(value, _CONTAINERS[base]):
                if isinstance(value, list) and (base == "tuple" or isinstance(default, tuple)):
                    return tuple(value)
                return value
    if "None" in kinds and text.strip().lower() in ("none", "null"):
        return None
    if text.strip()[:1] in ("{", "["):
        # JSON before text: auto's objective is 'str | Mapping[str, float]', and 'objective={"a": 1, "b": 0}' was
        # taken as the string and refused as an unknown objective.
        kinds.sort(key=lambda k: k.split("[", 1)[0] == "str")
    for kind in kinds:
        base = kind.split("[", 1)[0]
        try:
            if base == "bool":
                if text.strip().lower() in _BOOLS:
                    return _BOOLS[text.strip().lower()]
            elif base == "int":
                value = float(text)
                if value.is_integer():
                    return int(value)
            elif base == "float":
                return float(text)
            elif base == "str":
                return text
            elif base in ("dict", "list", "tuple", "Mapping", "Sequence"):
                value = json.loads(text)
                if isinstance(value, dict if base in ("dict", "Mapping") else list):
                    return value
        except (ValueError, json.JSONDecodeError):
            continue
    raise InputError(f"expected {annotation or type(default).__name__}; got {text!r}")


def parse_law_options(key: str, specs: Iterable[str] | None, option: str = "--law-option") -> dict[str, Any]:
    """Parse ``["n_components=4", "alpha=1e-3"]`` into constructor options of law ``key``, typed and checked.

    Raises
    ------
    InputError
        A spec without ``=``, an option the law does not take (the message lists the ones it does), a value
        that does not parse as the option's type, or one the law's constraints reject.

    Examples
    --------
    >>> parse_law_options("ye-implicit", ["n_components=4", "reference=none"])
    {'n_components': 4, 'reference': None}
    """
    names = law_option_names(key)
    params = inspect.signature(_REGISTRY[key].__init__).parameters
    out: dict[str, Any] = {}
    raw: dict[str, str] = {}  # each option's text as given
    for spec in specs or []:
        name, sep, text = str(spec).partition("=")
        name = name.strip()
        if not sep or not name:
            raise InputError(f"{option}: expected key=value; got {spec!r}")
        if name in _NOT_AN_OPTION:
            raise InputError(f"{option} {name}: set it with {_NOT_AN_OPTION[name]}")
        if name not in names:
            raise InputError(f"{option}: law {key!r} has no option {name!r}; its options: {', '.join(names)}")
        if name in out:
            raise InputError(f"{option}: {name!r} given twice")  # the last silently won
        p = params[name]
        raw[name] = text.strip()
        annotation = p.annotation if isinstance(p.annotation, str) else getattr(p.annotation, "__name__", "")
        try:
            out[name] = _convert(text.strip(), annotation, p.default)
        except InputError as err:
            raise InputError(f"{option} {name} of law {key!r}: {err}") from None
    try:
        validate_params(get_law(key, **out))
    except InvalidParameterError as err:
        # The constraint's sentence names the keyword ("The 'alpha' parameter of YeExponential must be ..."), which a
        # command-line user never typed: the flag and the value given come first.
        name = next((k for k in out if f"'{k}' parameter" in str(err)), None)
        if name is None:
            raise
        raise InvalidParameterError(f"{option} {name}={raw[name]}: {err}") from None
    return out


__all__ = ["parse_law_options", "law_option_names"]
