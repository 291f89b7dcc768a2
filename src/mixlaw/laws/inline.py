"""A law with its options written inline, ``key(option=value, ...)``, and a list of them.

A leaderboard names a configured law as its repr writes it, the options that differ from the defaults in
parentheses (``ye-exp(alpha='cv', n_restarts=4)``), and ``mixlaw compare`` prints that name in its rows. The syntax
here mirrors those row names so that a row can be pasted back into ``--laws``: :func:`parse_law_entry` reads one
entry into its key and ``key=value`` specs, :func:`split_top_level` splits a list of them at the commas outside
brackets and quotes, and :func:`law_option_specs` writes a configured law's options back as specs. A value may be
written as the repr writes it (``'cv'``, ``{'a': (0.0, 0.5)}``, ``None``, ``True``) or as on the command line
(``cv``, JSON); typing and checking the specs is :func:`~mixlaw.laws.options.parse_law_options`'s.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

import numpy as np

from ..errors import InputError
from .base import _same
from .options import _NOT_AN_OPTION, _convert

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
    -> ``("ye-exp", ["alpha='cv'", "n_restarts=4"])``, the specs for :func:`~mixlaw.laws.options.parse_law_options`;
    a plain key -> ``(key, None)``. Only the syntax is checked here (a key before ``(``, the options in one pair of
    parentheses at the end); the key and the options are the law's to check.

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
    inside a dict) as its repr; anything else as its repr, which :func:`~mixlaw.laws.options.parse_law_options`
    reads."""
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


__all__ = ["split_top_level", "parse_law_entry", "law_option_specs"]
