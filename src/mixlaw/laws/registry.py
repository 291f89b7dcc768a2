"""The law registry: which law class answers to which CLI key.

A law module decorates its class with :func:`register` (``@register("ye-exp")``) and is imported by
``laws/__init__.py``; :func:`get_law` builds a law from its key and constructor options and
:func:`available_laws` lists the keys in registration order. The registry knows nothing of the law interface
(:mod:`mixlaw.laws.base`), so the interface and the saved-law loader can both use it.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from typing import Any

from ..errors import InputError

#: Key -> law class (a :class:`~mixlaw.laws.base.MixingLaw` subclass), in registration order.
_REGISTRY: dict[str, type[Any]] = {}


def register(key: str, *, extra: str | None = None) -> Any:
    """Class decorator: make a law available under the CLI key ``key`` (kebab-case). ``extra``: the optional
    package the law needs (also the name of mixlaw's pip extra that installs it), checked by :func:`missing_extra`."""

    def deco(cls: type[Any]) -> type[Any]:
        cls.key = key
        cls.extra = extra
        _REGISTRY[key] = cls
        return cls

    return deco


def _importable(package: str) -> bool:
    # Importing, not find_spec: an installed package whose native library fails to load must count as missing. Not
    # cached: after the first import it is a sys.modules lookup, and a cache would outlive a test's monkeypatch.
    try:
        importlib.import_module(package)
    except ImportError:
        return False
    return True


def missing_extra(key: str) -> str | None:
    """The optional package that the law ``key`` needs and that does not import here, else None."""
    extra = getattr(_REGISTRY.get(key), "extra", None)
    return extra if extra is not None and not _importable(extra) else None


def available_laws() -> list[str]:
    """Keys of every registered law, in registration order."""
    return list(_REGISTRY)


def get_law(key: str, **options: Any) -> Any:
    """Construct the law registered as ``key`` with constructor ``options`` (a :class:`~mixlaw.laws.base.MixingLaw`).

    Raises
    ------
    InputError
        Unknown key (the message lists the known ones) or an option the law does not take.
    """
    if not isinstance(key, str):
        # get_law(3) stopped on "'int' object has no attribute 'replace'", get_law(['linear']) on "unhashable type".
        raise InputError(f"key: a law key is a string such as 'ye-exp'; got {type(key).__name__} {key!r}"[:300]
                         + f" (available: {', '.join(available_laws())})")
    if key not in _REGISTRY:
        raise InputError(f"unknown law {key!r}{_did_you_mean(key, available_laws())}; available: "
                         f"{', '.join(available_laws())}")
    cls = _REGISTRY[key]
    # An unknown option said "YeExponential.__init__() got an unexpected keyword argument 'n_restart'": the
    # class's internals, and not the options there are.
    params = inspect.signature(cls.__init__).parameters.values()
    names = [p.name for p in params if p.name != "self" and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]
    takes_any = any(p.kind == p.VAR_KEYWORD for p in params)
    unknown = [] if takes_any else [k for k in options if k not in names]
    if unknown:
        raise InputError(f"law {key!r} has no option {unknown[0]!r}{_did_you_mean(unknown[0], names)}; its options: "
                         f"{', '.join(names)}")
    try:
        return cls(**options)
    except TypeError as err:
        raise InputError(f"law {key!r}: {err}") from err


def _did_you_mean(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name.replace("_", "-"), known, n=1) or difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


__all__ = ["register", "available_laws", "get_law", "missing_extra"]
