"""``key=value`` law options from the command line, typed by the law's constructor signature.

``mixlaw fit --law ye-implicit --law-option n_components=4`` must reach ``YeImplicit(n_components=4)`` as
an ``int``, not the string ``"4"``. The type comes from the constructor's annotation (``int``, ``float``,
``str``, ``bool``, ``dict``/``list``/``tuple`` as JSON, ``None``), the first member of a union that parses the
text winning; an unknown key names the law's options (nanoGPT's configurator rule: an override must name a
known key and keep its type). The parsed options are then checked by the law's own ``_parameter_constraints``,
so a value out of range fails with the same sentence as in Python.

A law with its options is also written inline, as a leaderboard names a configured law and its repr writes the
options (``ye-exp(alpha='cv', n_restarts=4)``): :func:`parse_law_entry` reads that back, so a row's name can be
pasted into ``--laws``; :func:`split_top_level` splits a list of them at the commas outside brackets and quotes.
A value may be written as the repr writes it (``'cv'``, ``{'a': (0.0, 0.5)}``, ``None``, ``True``) or as on the
command line (``cv``, JSON).
"""

from __future__ import annotations

import ast
import inspect
import json
from collections.abc import Iterable
from typing import Any

import numpy as np

from .._validation import validate_params
from ..errors import InputError, InvalidParameterError
from .base import _REGISTRY, _same, get_law

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


_CLOSE = {"(": ")", "[": "]", "{": "}"}


def split_top_level(text: str, sep: str = ",") -> list[str]:
    """``text`` split at each ``sep`` outside brackets (``()``, ``[]``, ``{}``) and quotes (a backslash escaping a
    quote inside them, as a repr or JSON writes one), the pieces stripped:
    ``"ye-exp, ye-exp(alpha='cv', objective={'a': 0.5, 'b': 0.5})"`` is two pieces.

    Raises
    ------
    InputError
        A bracket that is not closed (or closed by another kind), or a quote that is not.
    """
    pieces, depth, quote, start, escaped = [], [], "", 0, False
    for i, c in enumerate(text):
        if quote:
            # a backslash escapes the next character, as repr and JSON escape a quote: 'it\'s "x"'
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
        elif c in _CLOSE:
            depth.append(_CLOSE[c])
        elif c in _CLOSE.values():
            if not depth or depth.pop() != c:
                raise InputError(f"{text!r}: {c!r} at character {i + 1} closes no bracket")
        elif c == sep and not depth:
            pieces.append(text[start:i].strip())
            start = i + 1
    if quote or depth:
        raise InputError(f"{text!r}: {'a quote' if quote else repr(depth[-1])} is not closed")
    pieces.append(text[start:].strip())
    return pieces


def parse_law_entry(entry: str) -> tuple[str, list[str] | None]:
    """A law key with inline options, as a leaderboard names a configured law (``ye-exp(alpha='cv', n_restarts=4)``)
    -> ``("ye-exp", ["alpha='cv'", "n_restarts=4"])``, the specs for :func:`parse_law_options`; a plain key ->
    ``(key, None)``. Only the syntax is checked here (a key before ``(``, the options in one pair of parentheses
    at the end); the key and the options are the law's to check.

    Examples
    --------
    >>> parse_law_entry("ye-exp(alpha='cv', bounds={'a': (0.0, 0.5)})")
    ('ye-exp', ["alpha='cv'", "bounds={'a': (0.0, 0.5)}"])
    """
    text = entry.strip()
    if "(" not in text:
        return text, None
    key, _, rest = text.partition("(")
    if not key.strip() or not rest.endswith(")"):
        raise InputError("expected key or key(option=value, ...)")
    inner = rest[:-1]
    # split_top_level refuses a ')' that closes the entry's own '(' early: 'a(x=1)b(y=2)' is not one entry.
    specs = split_top_level(inner)
    if specs == [""]:
        return key.strip(), []
    if any(not s for s in specs):
        raise InputError("an empty option between commas")
    return key.strip(), specs


def law_option_specs(law: Any) -> list[str]:
    """``--law-option`` specs (``key=value``) that configure a law as ``law`` is configured: each option that differs
    from its default, the seed left to ``--seed``. A string is written bare and a container as JSON where that
    reads back as the same value (``alpha=cv``, ``candidates=["linear", "ye-exp"]``), else (``'none'``, a tuple
    inside a dict) as its repr; anything else as its repr, which :func:`parse_law_options` reads."""
    params = inspect.signature(type(law).__init__).parameters
    out = []
    for name, value in law.get_params().items():
        if name in _NOT_AN_OPTION or name not in params:
            continue
        p = params[name]
        if _same(p.default, value):
            continue
        if isinstance(value, np.generic):
            # Linear(alpha=np.float64(5.0)) from Python: its repr is no value the command line reads
            value = value.item()
        annotation = p.annotation if isinstance(p.annotation, str) else getattr(p.annotation, "__name__", "")
        text = repr(value)
        # Bare text or JSON where it reads back as the value (a shell quotes them plainly), else the repr.
        plain = value if isinstance(value, str) and value.strip() == value else \
            _json_text(value) if isinstance(value, dict | list | tuple) else None
        if plain is not None:
            try:
                text = plain if _same(_convert(plain, annotation, p.default), value) else text
            except InputError:
                pass
        out.append(f"{name}={text}")
    return out


def _json_text(value: Any) -> str | None:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return None


__all__ = ["parse_law_options", "law_option_names", "parse_law_entry", "split_top_level", "law_option_specs"]
