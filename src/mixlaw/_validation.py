"""Parameter validation (scikit-learn style), fitted checks, random-state handling and safe reads of small
user files (a folder, unreadable, empty or binary file is one clear InputError)."""

from __future__ import annotations

import csv
import re
from numbers import Integral, Real
from typing import Any

import numpy as np

from .errors import InputError, InvalidParameterError, NotFittedError


class Interval:
    """A numeric interval constraint: ``Interval(Real, 0, None, closed="neither")``."""

    def __init__(self, kind: type, left: float | None, right: float | None, *, closed: str = "both") -> None:
        self.kind, self.left, self.right, self.closed = kind, left, right, closed

    def is_satisfied_by(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, self.kind):
            return False
        if self.kind is Integral and not isinstance(value, Integral):
            return False
        if value != value:  # NaN: every comparison below is False, so it would pass any bounds
            return False
        if self.left is not None:
            if self.closed in ("left", "both") and value < self.left:
                return False
            if self.closed in ("right", "neither") and value <= self.left:
                return False
        if self.right is not None:
            if self.closed in ("right", "both") and value > self.right:
                return False
            if self.closed in ("left", "neither") and value >= self.right:
                return False
        return True

    def __str__(self) -> str:
        kind = "an int" if self.kind is Integral else "a float"
        lo = "-inf" if self.left is None else self.left
        hi = "inf" if self.right is None else self.right
        lb = "[" if self.closed in ("left", "both") and self.left is not None else "("
        rb = "]" if self.closed in ("right", "both") and self.right is not None else ")"
        return f"{kind} in the range {lb}{lo}, {hi}{rb}"


class Options:
    """A constraint that the value is one of a fixed set."""

    def __init__(self, options: set[Any]) -> None:
        self.options = options

    def is_satisfied_by(self, value: Any) -> bool:
        try:
            return value in self.options
        except TypeError:
            return False

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(o) for o in sorted(self.options, key=str))


#: What a ``random_state`` may be, as every refusal of one says it: a law's (``"random_state"`` constraint, the
#: meta-laws auto and stack included: they draw one int per fit from a Generator) and a function's
#: (:func:`check_random_state`). Before, -1 read "must be an int in the range [0, inf) or None" for auto / stack
#: and "random_state (--seed) must be an int >= 0, a numpy Generator or None; got -1" for every other law.
RANDOM_STATE_RULE = {"random_state": "an int >= 0, a numpy Generator or None"}


def _is_seed(value: Any) -> bool:
    """None or a non-negative int (NumPy's included, bool not): numpy's default_rng refuses a negative one with a
    bare "expected non-negative integer"."""
    return value is None or (isinstance(value, Integral) and not isinstance(value, bool) and value >= 0)


def _satisfies(value: Any, constraint: Any) -> bool:
    if constraint is None:
        return value is None
    if constraint == "random_state":
        return _is_seed(value) or isinstance(value, np.random.Generator)
    if constraint == "array-like":
        return value is not None and np.ndim(value) >= 1
    if isinstance(constraint, type):
        return isinstance(value, constraint) and not (constraint is not bool and isinstance(value, bool))
    return bool(constraint.is_satisfied_by(value))


def _describe(constraint: Any) -> str:
    if constraint is None:
        return "None"
    if constraint in RANDOM_STATE_RULE:
        return RANDOM_STATE_RULE[constraint]
    if isinstance(constraint, type):
        return f"an instance of '{constraint.__name__}'"
    return str(constraint)


def validate_params(obj: Any) -> None:
    """Check ``obj.get_params()`` against ``obj._parameter_constraints``.

    Raises
    ------
    InvalidParameterError
        ``"The 'x' parameter of Cls must be ... Got ... instead."``
    """
    constraints = getattr(obj, "_parameter_constraints", {})
    for name, allowed in constraints.items():
        value = getattr(obj, name)
        if not any(_satisfies(value, c) for c in allowed):
            desc = " or ".join(_describe(c) for c in allowed)
            raise InvalidParameterError(
                f"The '{name}' parameter of {type(obj).__name__} must be {desc}. Got {value!r} instead."
            )


def check_is_fitted(obj: Any, attribute: str = "params_") -> None:
    """Raise :class:`NotFittedError` unless ``obj`` has the fitted ``attribute``."""
    if not hasattr(obj, attribute):
        raise NotFittedError(
            f"This {type(obj).__name__} instance is not fitted yet. Call 'fit' with appropriate arguments first."
        )


def check_flag(value: Any, keyword: str, flag: str) -> None:
    """Refuse a flag that is not a bool (NumPy's included): ``maximize="no"`` (or "False", read from a config file)
    is truthy, and the metric was maximised without a word."""
    if not isinstance(value, bool | np.bool_):
        raise InputError(f"{keyword} must be True or False ({flag}); got {value!r}")


def check_random_state(seed: int | np.random.Generator | None) -> np.random.Generator:
    """Turn ``seed`` into a ``np.random.Generator`` (``None`` means 0: mixlaw is deterministic by default)."""
    if isinstance(seed, np.random.Generator):
        return seed
    # A negative int stopped on numpy's bare "expected non-negative integer" (bootstrap_law(random_state=-1)).
    if _is_seed(seed):
        return np.random.default_rng(0 if seed is None else int(seed))
    raise InvalidParameterError(f"random_state (--seed) must be {RANDOM_STATE_RULE['random_state']}; got {seed!r}")


def renamed(name: str, value: Any, old: str, old_value: Any, default: Any = None) -> Any:
    """The value of keyword ``name`` given under it or under ``old``, the older spelling it replaces.

    mixlaw's rule for a renamed keyword: the older spelling stays a silent alias (no warning; the docs show the
    canonical one), and giving both is an InputError naming both. "Given" is "not None": both keywords default
    to None in the signature and ``default`` is the documented default when neither is given.
    """
    if old_value is None:
        return default if value is None else value
    if value is not None:
        raise InputError(f"{name}= and {old}= are the same argument ({old}= is its older name); give one of them")
    return old_value


def renamed_in(kw: dict[str, Any], name: str, old: str) -> dict[str, Any]:
    """``kw`` (a ``**kwargs`` dict) with ``old`` moved to ``name`` (:func:`renamed`'s rule); a new dict."""
    if old not in kw:
        return kw
    out = dict(kw)
    out[name] = renamed(name, out.get(name), old, out.pop(old))
    return out


__all__ = ["Interval", "Options", "Real", "Integral", "validate_params", "check_is_fitted", "check_random_state",
           "quote_name", "split_names", "renamed", "renamed_in"]


def path_exists(spec: Any) -> bool:
    """Whether ``spec`` names an existing file or folder, False where the OS cannot even look it up: an option that
    takes inline text or a file (``--mixture a=0.02,...``) asks this of its text, and ``Path.exists`` raises
    ENAMETOOLONG on a text over the file-name limit (255 bytes), so an inline mixture of 50 domains was refused with
    "File name too long"."""
    from pathlib import Path

    try:
        return Path(spec).exists()
    except (OSError, ValueError):  # ValueError: a NUL byte in the text
        return False


def read_user_text(path: Any, what: str) -> str:
    """Read a small UTF-8 text file named on the command line (a mixture, paths, token counts, a saved law).

    Raises
    ------
    InputError
        Naming the file, for a missing file, a folder, an unreadable, empty or binary file.
    """
    from pathlib import Path

    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file; expected a {what} file")
    if p.is_dir():
        raise InputError(f"{p}: is a folder; expected a {what} file")
    try:
        data = p.read_bytes()
    except OSError as e:
        raise InputError(f"{p}: cannot read ({e.strerror or e})") from None
    if not data.strip():
        raise InputError(f"{p}: the {what} file is empty")
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark (Windows editors write one) is not content
    except UnicodeDecodeError:
        text = "\x00"
    if "\x00" in text:
        raise InputError(f"{p}: not a text file (binary content); expected a {what} file")
    return text


def parse_user_json(text: str, where: Any, twice: str = "keep one") -> Any:
    """``json.loads`` of a user's small JSON file (:func:`read_user_text`'s text: a mixture, paths, token counts),
    an InputError naming ``where`` when it is not JSON, nested too deeply for the parser included ('[[[...' 100000
    deep: Python's parser recurses per level), or a key given twice in one object (``twice``: what to do)."""
    import json

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        # json.loads keeps the last of a repeated key: {"web": "/a", "code": "/b", "web": "/c"} as --paths lost
        # '/a' from the export, and a repeated share in a mixture file replaced the first.
        seen: dict[str, Any] = {}
        for k, v in pairs:
            if k in seen:
                raise InputError(f"{where}: key {k!r} is given twice in one JSON object (JSON keeps the last "
                                 f"only): {twice}")
            seen[k] = v
        return seen

    try:
        return json.loads(text, object_pairs_hook=unique)
    except (json.JSONDecodeError, RecursionError) as e:
        raise InputError(f"{where}: not valid JSON ({e})") from None


def parse_user_yaml(text: str, where: Any, twice: str = "keep one") -> Any:
    """``yaml.safe_load`` of a user's small YAML file (a mixture), with :func:`parse_user_json`'s refusals: an
    InputError naming ``where`` when it is not YAML, nested too deeply, or a key given twice in one mapping (PyYAML,
    like ``json.loads``, keeps the last: a repeated share would replace the first without a word)."""
    import yaml

    class _Loader(yaml.SafeLoader):
        # YAML 1.2's booleans (true / false), not 1.1's yes/no/on/off: a domain named 'no' (Norwegian) in
        # '- domain: no' was read as False, the domain 'False' (review31).
        yaml_implicit_resolvers = {c: [(tag, rx) for tag, rx in rs if tag != "tag:yaml.org,2002:bool"]
                                   for c, rs in yaml.SafeLoader.yaml_implicit_resolvers.items()}

    _Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                  list("tTfF"))

    def unique(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        # The pairs a merge ('<<: *base') brings come first, and a key of the mapping's own overrides them, as
        # YAML says: 'mixture: {<<: *base, web: 0.4}' was refused as 'web' given twice (review31).
        own = sum(k.tag != "tag:yaml.org,2002:merge" for k, _ in node.value)
        loader.flatten_mapping(node)
        merged = len(node.value) - own
        seen: dict[Any, Any] = {}
        mine: set[Any] = set()
        for i, (key_node, value_node) in enumerate(node.value):
            # A scalar key as written: keys name domains, and 'no: 0.3', 'on: 0.5', '007: 0.1' or 'null: 0.2' were
            # the domains 'False', 'True', '7' and 'None' (review31).
            key = (key_node.value if isinstance(key_node, yaml.ScalarNode)
                   else loader.construct_object(key_node, deep=True))
            if i >= merged and key in mine:
                raise InputError(f"{where}: key {key!r} is given twice in one YAML mapping (YAML keeps the last "
                                 f"only): {twice}")
            if i >= merged:
                mine.add(key)
            seen[key] = loader.construct_object(value_node, deep=True)
        return seen

    _Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, unique)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        expanded, distinct = _yaml_expansion(node, yaml)
        if expanded > YAML_EXPANSION_LIMIT and expanded > 2 * distinct:
            # Aliases of aliases ('billion laughs'): a 271-byte mixture file of 8 nested anchors stood for 43 million
            # values, and the error on its first weight printed them, 254 MB (review31); one more level, 9 times that.
            raise InputError(f"{where}: its YAML aliases (*name) repeat {distinct} values to {expanded}; a mixture "
                             "file names each domain's weight: write them out")
        return loader.construct_document(node)
    except (yaml.YAMLError, RecursionError, TypeError) as e:  # TypeError: an unhashable key ([a]: 1)
        raise InputError(f"{where}: not valid YAML ({str(e).splitlines()[0] if str(e) else type(e).__name__})") \
            from None
    finally:
        loader.dispose()


#: Values a YAML file may stand for through its aliases before :func:`parse_user_yaml` refuses it (where they are
#: more than twice its own): Marin's 39 buckets take about 80.
YAML_EXPANSION_LIMIT = 100_000


def _yaml_expansion(node: Any, yaml: Any) -> tuple[int, int]:
    """(values the YAML node stands for with every alias written out, distinct nodes): each node counted once per
    path to it, memoised, so the count of a 'billion laughs' is had without building it."""
    memo: dict[int, int] = {}
    active: set[int] = set()

    def size(n: Any) -> int:
        key = id(n)
        if key in memo:
            return memo[key]
        if key in active:  # a recursive alias (&a [*a]): counted once; the constructor builds it once
            return 1
        active.add(key)
        if isinstance(n, yaml.SequenceNode):
            total = 1 + sum(size(c) for c in n.value)
        elif isinstance(n, yaml.MappingNode):
            total = 1 + sum(size(k) + size(v) for k, v in n.value)
        else:
            total = 1
        active.discard(key)
        memo[key] = total
        return total

    return size(node), len(memo)


def quote_name(name: str) -> str:
    """A domain or eval name as the command line's lists read it (:func:`split_names`; ``export``/``predict``'s inline
    mixture): double-quoted as a CSV cell, '"' doubled inside, when it holds a ',', '=' or '"' or starts or ends
    with a space; else as it is. One writer for the report's ``optimize`` command and the percentage hint's example,
    so that what mixlaw prints is what it reads back."""
    return '"' + name.replace('"', '""') + '"' if any(c in name for c in ',="') or name != name.strip() else name


def first_and_more(items: list[str], limit: int = 5, sep: str = ", ") -> str:
    """The first ``limit`` of ``items`` joined by ``sep``, then " and N more" when there are more: the one form
    of a message that names some of many runs, rows or evals (a warning about 300 runs names 5 and counts the
    rest).

    >>> first_and_more(["a", "b", "c"], 2), first_and_more(["a", "b"], 2, sep="; ")
    ('a, b and 1 more', 'a; b')
    """
    return sep.join(items[:limit]) + (f" and {len(items) - limit} more" if len(items) > limit else "")


def split_names(text: str) -> list[str]:
    """Comma-separated names, a name that holds a comma in double quotes as in a CSV cell (``"x, y",z``; ``""``
    is a quote inside): split at every comma, an eval named 'x, y' could not be asked for."""
    if '"' not in text:
        return text.split(",")
    try:
        # strict, for one error: an unclosed quote ('"x, y') read as the name 'x, y' without a word, where the
        # inline mixture's reader says it. Text after a closing quote stays allowed: '"x, y"=0:0.5' (--bounds).
        return next(csv.reader([text], skipinitialspace=True, strict=True))
    except csv.Error as e:
        if "end of data" in str(e):
            raise InputError(f"{text!r}: a quoted name needs its closing '\"' ('\"\"' is a quote inside)") from None
    return next(csv.reader([text], skipinitialspace=True))


def split_counts(value: str, option: str) -> list[str]:
    """The items of a comma-separated list of sizes (``70M,160M,410M``), stripped; an empty item (``0.01M,``,
    ``a,,b``) is a one-line error naming ``option``, one message for every option that takes sizes (a trailing
    comma dropped without a word could hide a size lost in an edit)."""
    items = [v.strip() for v in value.split(",")]
    if not all(items):
        raise InputError(f"{option}: give comma-separated sizes, e.g. 70M,160M,410M; got {value!r}")
    return items
