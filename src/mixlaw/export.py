"""Export a mixture to the formats training frameworks read, with the token budget the optimum assumed.

:func:`export_mixture` renders ``{domain: weight}`` as

==========  ==========================================================================================
``megatron``  Megatron-LM / NeMo ``--data-path w1 prefix1 w2 prefix2 ...`` (prefixes without .bin/.idx;
              Megatron normalises the weights, ``megatron.core.datasets.utils.get_blend_from_list``)
``olmo``      OLMo-core ``SourceMixtureList`` YAML: ``sources:`` of ``source_name``, ``target_ratio``,
              ``paths``, ``max_repetition_ratio``, ``max_source_fraction``
              (``olmo_core.data.source_mixture.SourceMixtureConfig``; ratios must sum to 1)
``hf``        Python using ``datasets.interleave_datasets(datasets, probabilities=[...], seed=...,
              stopping_strategy=...)``
``mosaic``    Python using MosaicML Streaming ``Stream(remote=..., local=..., proportion=...)`` and
              ``StreamingDataset(streams=...)``
``json``      ``[{"domain": ..., "weight": ...}, ...]`` (Olmix-style; ``"path"`` added when paths are given)
==========  ==========================================================================================

Weights are rounded to ``decimals`` places by the largest-remainder (Hamilton) method, so the rounded
weights still sum to exactly 1: in units of ``10**-decimals`` they are integers summing to ``10**decimals``.

The mixture, domain paths and ``--export-option`` items a user gives are read in :mod:`mixlaw.export_input`
(:func:`parse_mixture`, :func:`read_paths`, :func:`parse_export_options`, public here too).
"""

from __future__ import annotations

import json
import math
import shlex
import unicodedata
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._validation import quote_name
from .data import beyond_tol, known_names, scaled_number
from .errors import DataWarning, InputError, user_stacklevel
from .export_input import parse_export_options, parse_mixture, read_paths  # public names of this module (__all__)
from .export_schema import check_export

FORMATS = ("megatron", "olmo", "hf", "mosaic", "json")
#: Same tolerance as run tables (DESIGN.md §2): weights summing to 1 ± 0.01 are renormalised with a warning.
SUM_TOL = 0.01
_HF_BUILDERS = {".json": "json", ".jsonl": "json", ".parquet": "parquet", ".csv": "csv", ".txt": "text",
                ".arrow": "arrow"}


def round_weights(weights: Mapping[str, float], decimals: int = 6) -> dict[str, int]:
    """Largest-remainder rounding: integer units of ``10**-decimals`` that sum to exactly ``10**decimals``.

    Each weight gets ``floor(w * 10**decimals)`` units; the units still missing go, one each, to the
    weights with the largest remainders (ties: earlier domain first).

    Parameters
    ----------
    weights : mapping of str to float
        Non-negative weights summing to 1 (within float precision).
    decimals : int, default=6

    Returns
    -------
    dict of str to int

    Examples
    --------
    >>> round_weights({"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}, decimals=2)
    {'a': 34, 'b': 33, 'c': 33}
    """
    if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 15:
        raise InputError(f"decimals must be an integer in [0, 15]; got {decimals!r}")
    scale = 10**decimals
    total = math.fsum(weights.values())
    exact = {d: w / total * scale for d, w in weights.items()}
    units = {d: math.floor(x) for d, x in exact.items()}
    missing = scale - sum(units.values())
    order = sorted(exact, key=lambda d: (-(exact[d] - units[d]), list(exact).index(d)))
    for d in order[:missing]:
        units[d] += 1
    return units


def _decimals_keeping(weights: Mapping[str, float], domains: Sequence[str], decimals: int) -> int:
    """Fewest decimals above ``decimals`` at which every one of ``domains`` rounds to a weight above 0.

    Every share of 1e-4 or more is kept by 5 decimals (floor(1e-4 * 1e5) = 10 units); the loop looks for fewer.
    """
    for more in range(decimals + 1, 16):
        units = round_weights(weights, more)
        if all(units[d] > 0 for d in domains):
            return more
    return 15  # unreachable for shares >= 1e-4 (see above)


def _format_units(u: int, decimals: int) -> str:
    """Exact decimal text of ``u * 10**-decimals`` (no float round-trip), trailing zeros kept to one."""
    if decimals == 0:
        return str(u)
    s = f"{u // 10**decimals}.{u % 10**decimals:0{decimals}d}".rstrip("0")
    return s + "0" if s.endswith(".") else s


def _check_weights(weights: Mapping[str, float], tol: float = SUM_TOL) -> dict[str, float]:
    if not isinstance(weights, Mapping) and isinstance(getattr(weights, "weights", None), Mapping):
        # export_mixture(optimize_mixture(...), "olmo") said "the mixture must be a non-empty mapping": the
        # optimum (an OptimumResult) is its weights.
        weights = weights.weights  # type: ignore[attr-defined]
    import pandas as pd  # here: only a Series needs it

    if isinstance(weights, pd.Series) and not isinstance(weights.index, pd.RangeIndex):
        # A Series labelled by domain (df.iloc[0], a frame's row of shares) is read by its labels, as law.predict
        # reads one; it was told "the mixture must be a non-empty mapping", which a 2-domain Series is not wrong to be.
        weights = {str(k): v for k, v in weights.items()}
    if not isinstance(weights, Mapping) or not weights:
        raise InputError(f"weights: the mixture must be a non-empty mapping {{domain: weight}} (or a Series labelled "
                         f"by domain); got {type(weights).__name__} {weights!r}"[:300])
    out: dict[str, float] = {}
    for d, w in weights.items():
        if isinstance(w, (bool, str)):  # JSON true is not the weight 1.0, and "0.5" is text, not a number
            raise InputError(f"weight of domain {d!r} is not a number: {w!r}")
        try:
            x = float(w)
        except (TypeError, ValueError, OverflowError):
            raise InputError(f"weight of domain {d!r} is not a number: {w!r}") from None
        if not math.isfinite(x) or x < 0:
            raise InputError(f"weight of domain {d!r} must be finite and >= 0; got {w!r}")
        out[str(d)] = x
    try:
        total = math.fsum(out.values())
    except OverflowError:  # 1e308 + 1e308: finite weights whose sum is not
        total = math.inf
    if beyond_tol(abs(total - 1.0), tol):
        raise InputError(f"mixture weights sum to {total:.6g}, expected 1 ± {tol:g} ({sum_hint(total, out)})")
    if abs(total - 1.0) > 1e-9:
        warnings.warn(f"mixture weights sum to {total:.9g}; renormalised to 1", DataWarning,
                      stacklevel=user_stacklevel(3))
    return out


def sum_hint(total: float, weights: Mapping[str, float] | None = None) -> str:
    """What to do about a mixture whose weights do not sum to 1: percentages (a sum of 100) are said as such, with
    the mixture written as fractions or with '%' (export and predict read 'web=60%,code=40%')."""
    if abs(total - 100.0) <= 1.0:
        eg = ",".join(f"{quote_name(d)}={float(w):g}%" for d, w in (weights or {}).items()) or "web=60%,code=40%"
        return f"the weights look like percentages: divide them by 100, or mark them: {eg}"
    return "fix the weights"


def _check_paths(domains: list[str], paths: Mapping[str, Any] | None, fmt: str) -> dict[str, list[str]]:
    if paths is None:
        if fmt == "json":
            return {}
        raise InputError(f"format {fmt!r} needs a path for every domain: pass paths={{domain: path}} "
                         "(CLI: --paths paths.json or paths.csv)")
    missing = [d for d in domains if d not in paths or not paths[d]]
    if missing:
        # Paths for domains the mixture lacks are allowed (one paths file for a whole corpus); a misspelt key shows
        # up here as its domain's missing path, so the closest of the given keys is named.
        given = known_names(missing, sorted(map(str, paths)))
        raise InputError(f"no path for domain(s) {missing} (paths given for: {given})")
    out: dict[str, list[str]] = {}
    for d in domains:
        p = paths[d]
        # Only a string or a list/tuple of them: list(3) raised TypeError and list({"x": 1}) took the key 'x' as the
        # path (export_mixture(w, "olmo", paths={"a": 3}) in Python; the CLI checks its file first; hunt25).
        items = [p] if isinstance(p, str) else list(p) if isinstance(p, (list, tuple)) else []
        if not items or not all(isinstance(x, str) and x for x in items):
            raise InputError(f"path of domain {d!r} must be a non-empty string (or, for olmo, a list); got {p!r}")
        if len(items) > 1 and fmt != "olmo":
            raise InputError(f"domain {d!r} has {len(items)} paths; format {fmt!r} takes one path per domain "
                             "(merge them into one prefix or use --format olmo)")
        out[d] = items
    return out


@dataclass(frozen=True)
class TokenBudget:
    """The data constraints the optimum was chosen under, carried into the trainer config.

    ``target_tokens`` is the run's token budget T; ``tokens_available`` the tokens on disk per domain
    (n_j). Domain j then contributes ``r_j * T`` tokens, which is ``r_j * T / n_j`` passes over its data:
    the repetition the trainer must be allowed (OLMo-core stops with "Insufficient tokens for source" when
    ``int(n_j * max_source_fraction * max_repetition_ratio) < int(T * target_ratio)``).
    """

    target_tokens: float
    tokens_available: Mapping[str, float] | None = None
    max_epochs: float | None = None

    def __post_init__(self) -> None:
        t = self.target_tokens
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or t <= 0:
            raise InputError(f"target_tokens must be a finite number > 0; got {t!r}")
        for d, n in (self.tokens_available or {}).items():
            if isinstance(n, bool) or not isinstance(n, (int, float)) or not math.isfinite(n) or n <= 0:
                raise InputError(f"tokens available for domain {d!r} must be a finite number > 0; got {n!r}")

    def tokens(self, ratio: float) -> int:
        """Tokens a source of this target ratio contributes (OLMo-core: ``int(requested * ratio)``)."""
        return int(float(self.target_tokens) * ratio)

    def repetition(self, domain: str, ratio: float, fraction: float = 1.0) -> float:
        """Smallest repetition ratio (3 decimals, rounded up, >= 1) that lets ``domain`` supply its share."""
        if self.tokens_available is None or domain not in self.tokens_available:
            return 1.0
        usable = float(self.tokens_available[domain]) * fraction
        rep = max(1.0, math.ceil(self.tokens(ratio) / usable * 1000 - 1e-9) / 1000)
        while int(usable * rep) < self.tokens(ratio):  # float rounding at the boundary
            rep = round(rep + 0.001, 3)
        return rep


def check_export_request(fmt: str, paths: Mapping[str, Any] | None, opts: Mapping[str, Any]) -> None:
    """Check what :func:`export_mixture` will check before the weights exist: the format, its option names
    and whether it has paths. ``mixlaw optimize --export`` calls it before fitting, so a typo in the format
    or a missing ``--paths`` fails in a second instead of after the fit (45 s on a 127-run x 24-domain
    table with ``--law auto``)."""
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    unknown = sorted(set(opts) - OPTIONS[fmt])
    if unknown:
        raise InputError(f"unknown option(s) {unknown} for format {fmt!r}; known: {sorted(OPTIONS[fmt]) or 'none'}")
    if paths is None and fmt != "json":
        _check_paths([], None, fmt)


def export_mixture(weights: Mapping[str, float], fmt: str, paths: Mapping[str, Any] | None = None, *,
                   decimals: int = 6, drop_zero: bool = True, budget: TokenBudget | None = None,
                   **opts: Any) -> str:
    """Render a mixture in a training framework's format, checked against that framework's config schema.

    Parameters
    ----------
    weights : mapping of str to float, or OptimumResult
        ``{domain: weight}``, weights >= 0 summing to 1 (± 0.01: renormalised with a :class:`DataWarning`); an
        :func:`~mixlaw.optimize.optimize_mixture` result is its ``weights``.
    fmt : {"megatron", "olmo", "hf", "mosaic", "json"}
    paths : mapping of str to str, optional
        ``{domain: path}`` from the user: Megatron dataset prefix, OLMo-core path or glob (a list is allowed),
        HF hub name / directory / data file, Mosaic remote (``scheme://``) or local directory. Required for
        every exported domain except with ``fmt="json"``.
    decimals : int, default=6
        Decimal places of the rounded weights (largest-remainder rounding: they sum to exactly 1). A share of
        0.01 % or more that rounds to 0 is refused (:class:`InputError` naming the decimals that keep it).
    drop_zero : bool, default=True
        Leave out domains whose rounded weight is 0 (they need no path then).
    budget : TokenBudget, optional
        Target tokens and tokens available per domain (what ``optimize --target-tokens --tokens-available``
        used). ``olmo`` then sets each source's ``max_repetition_ratio`` to the repetition its share needs and
        writes ``requested_tokens``; ``megatron`` writes ``--train-samples`` (with ``seq_length``); every
        format records tokens and repetition per domain (comments, or fields in ``json``).
    **opts
        Trainer options (:data:`OPTIONS` lists them per format). ``olmo``: ``max_repetition_ratio`` (float or
        ``{domain: float}``, >= 1 and >= what the budget needs), ``max_source_fraction`` (1.0),
        ``global_batch_size`` (tokens; with a budget the file becomes a ``SourceMixtureDatasetConfig``),
        ``processes``. ``megatron``: ``seed``, ``seq_length``, ``split``. ``hf``: ``split`` ("train"),
        ``streaming`` (True), ``seed`` (0), ``stopping_strategy`` ("first_exhausted"). ``mosaic``:
        ``local_root``, ``batch_size``, ``seed`` (0), ``epoch_size``. ``json``: ``indent`` (2).

    Returns
    -------
    str
        The rendered text (ends with a newline).

    Raises
    ------
    InputError
        Unknown format or option, bad weights, a share that rounds to 0 at ``decimals``, missing paths (the
        message names the domains), or an output the trainer's schema would reject (e.g. a repetition ratio
        below what the token budget needs).

    Examples
    --------
    >>> print(export_mixture({"web": 0.7, "code": 0.3}, "megatron", {"web": "/d/web_text", "code": "/d/code"}),
    ...       end="")
    --data-path 0.7 /d/web_text 0.3 /d/code
    >>> print(export_mixture({"a": 1 / 3, "b": 2 / 3}, "json", decimals=3), end="")
    [
      {
        "domain": "a",
        "weight": 0.333
      },
      {
        "domain": "b",
        "weight": 0.667
      }
    ]
    """
    check_export_request(fmt, {}, opts)  # the paths are checked below, per exported domain
    if budget is not None and not isinstance(budget, TokenBudget):
        raise InputError(f"budget must be a TokenBudget; got {type(budget).__name__}")
    w = _check_weights(weights)
    for key, val in opts.items():
        # A per-domain value for a domain the mixture lacks was silently left unused (a typo, or a name with a
        # colon split at the wrong colon), so the trainer got the default.
        unknown = [d for d in val if d not in w] if isinstance(val, Mapping) else []
        if unknown:
            raise InputError(f"option {key}: no domain {unknown[0]!r} in the mixture; its domains are "
                             f"{known_names(unknown[:1], list(w))}")
    units = round_weights(w, decimals)
    domains = [d for d in w if units[d] > 0 or not drop_zero]
    # A share the user gave (0.01 % or more) that rounds to 0 leaves the export: said, since '--decimals 0' on thirds
    # wrote one domain at weight 1 without a word. Optimiser zeros (1e-12) are below it.
    # That warning still wrote the export, exit 0: 7 shares of 1/7 at '--decimals 0' became one domain at weight 1, a
    # different mixture for the trainer. Refused instead, with the fewest decimals that keep every share.
    lost = [d for d in w if d not in domains and w[d] >= 1e-4]
    if lost:
        named = ", ".join(f"{d!r} ({w[d]:.4g})" for d in lost[:5]) + (" ..." if len(lost) > 5 else "")
        # 'every domain' was said, and then untrue of a share below 0.01 % that the named decimals still drop
        # (review25b: a 0.5, b 0.49995, c 0.00005 at --decimals 0 named 1, which wrote a and b alone).
        enough = _decimals_keeping(w, lost, decimals)
        raise InputError(f"{len(lost)} of {len(w)} domains round to weight 0 at {decimals} decimal(s) and would be "
                         f"left out of the export: {named}; {enough} decimal(s) keep every share of 0.01 % or "
                         f"more (--decimals {enough})")
    text = {d: _format_units(units[d], decimals) for d in domains}
    p = _check_paths(domains, paths, fmt)
    if budget is not None and budget.tokens_available is not None:
        missing = [d for d in domains if d not in budget.tokens_available]
        if missing:
            raise InputError(f"tokens available: no value for exported domain(s) {missing}")
        _warn_repeats(domains, text, budget)
    out = {"megatron": _megatron, "olmo": _olmo, "hf": _hf, "mosaic": _mosaic, "json": _json}[fmt](
        domains, text, p, opts, budget)
    check_export(fmt, out)
    return out


#: Epochs of a domain's data above which an export says so (without a budget's own ``max_epochs``): past about 4
#: epochs repeated tokens are worth much less than new ones (Muennighoff et al., "Scaling Data-Constrained Language
#: Models", NeurIPS 2023).
REPEAT_WARN_EPOCHS = 4.0


def _warn_repeats(domains: list[str], text: dict[str, str], budget: TokenBudget) -> None:
    """A DataWarning naming the exported domains whose share needs more passes over their data than the budget's
    ``max_epochs`` (or :data:`REPEAT_WARN_EPOCHS`): the export recorded 16.7 epochs of one domain in a comment and
    said nothing (newuser4)."""
    limit = REPEAT_WARN_EPOCHS if budget.max_epochs is None else float(budget.max_epochs)
    avail = budget.tokens_available or {}
    over = {d: budget.tokens(float(text[d])) / float(avail[d]) for d in domains if d in avail}
    over = {d: e for d, e in over.items() if e > limit}
    if over:
        named = ", ".join(f"{d!r} {e:.3g}" for d, e in sorted(over.items(), key=lambda x: -x[1])[:5])
        # The five that repeat most, and how many more: 7 of Olmix's domains read as a list of 5 (hunt31).
        named += f", and {len(over) - 5} more" if len(over) > 5 else ""
        warnings.warn(f"{len(over)} domain(s) repeat their data more than {limit:g} epochs at this share and "
                      f"budget ({named}): repeated tokens are worth less than new ones; `mixlaw optimize "
                      f"--target-tokens ... --tokens-available ... --max-epochs {limit:g}` keeps every domain "
                      "within that", DataWarning, stacklevel=user_stacklevel(3))


#: Options each format takes (anything else is an error naming these).
OPTIONS: dict[str, set[str]] = {
    "olmo": {"max_repetition_ratio", "max_source_fraction", "global_batch_size", "processes"},
    "megatron": {"seed", "seq_length", "split"},
    "hf": {"split", "streaming", "seed", "stopping_strategy"},
    "mosaic": {"local_root", "batch_size", "seed", "epoch_size"},
    "json": {"indent"},
}


def _int_opt(opts: Mapping[str, Any], key: str, lo: int = 0) -> int | None:
    v = opts.get(key)
    if v is None:
        return None
    if isinstance(v, str):
        # A count as --target-tokens takes it (global_batch_size=4M): it was "must be an integer; got '4M'".
        x = scaled_number(v)
        v = v if x is None else (int(x) if x == int(x) else x)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or float(v) != int(v) or int(v) < lo:
        raise InputError(f"option {key} must be an integer >= {lo}; got {v!r}")
    return int(v)


def _budget_lines(domains: list[str], text: dict[str, str], budget: TokenBudget | None, comment: str) -> list[str]:
    """Human-readable record of the token budget (for formats whose schema has no field for it)."""
    if budget is None:
        return []
    lines = [f"{comment} token budget: {budget.target_tokens:.6g} tokens"
             + ("" if budget.max_epochs is None else f", at most {budget.max_epochs:g} epochs per domain")]
    for d in domains:
        n = budget.tokens(float(text[d]))
        have = None if budget.tokens_available is None else budget.tokens_available.get(d)
        rep = "" if have is None else f" of {have:.6g} available ({n / have:.3f} epochs)"
        # A name that is not printable (a newline from a JSON mixture) would end the comment and start a config line.
        lines.append(f"{comment}   {d if d.isprintable() else repr(d)}: {n} tokens{rep}")
    return lines


def _breaks_line(text: str) -> bool:
    """Whether ``text`` holds a control character or a line/paragraph separator (what ``str.splitlines`` splits at
    among them); a non-breaking space or an accent is text."""
    return any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in text)


def _megatron(domains: list[str], text: dict[str, str], paths: dict[str, list[str]], opts: dict[str, Any],
              budget: TokenBudget | None) -> str:
    # Megatron-LM: --data-path takes "weight prefix" pairs; weights are normalised by the loader, and the
    # blended dataset builder repeats a prefix as often as its share of --train-samples needs.
    parts = ["--data-path"]
    for d in domains:
        path = paths[d][0]
        if _breaks_line(path):
            # The arguments are one command line: shlex quotes a line break, but the line-by-line check (and a
            # launcher that reads the file a line at a time) split it; a path with one was a ValueError traceback.
            raise InputError(f"path of domain {d!r} holds a line break or another control character ({path!r}); "
                             "megatron's --data-path is one command line")
        # A prefix starting with '-' would read as another option word on Megatron's command line.
        parts += [text[d], shlex.quote("./" + path if path.startswith("-") else path)]
    seq = _int_opt(opts, "seq_length", 1)
    if seq is not None:
        parts += ["--seq-length", str(seq)]
        if budget is not None:
            parts += ["--train-samples", str(math.ceil(budget.target_tokens / seq))]
    seed = _int_opt(opts, "seed")
    if seed is not None:
        parts += ["--seed", str(seed)]
    if opts.get("split") is not None:
        if _breaks_line(str(opts["split"])):
            raise InputError(f"option split holds a line break or another control character ({opts['split']!r})")
        parts += ["--split", shlex.quote(str(opts["split"]))]
    head = _budget_lines(domains, text, budget, "#")
    return "".join(line + "\n" for line in head) + " ".join(parts) + "\n"


def _olmo(domains: list[str], text: dict[str, str], paths: dict[str, list[str]], opts: dict[str, Any],
          budget: TokenBudget | None) -> str:
    import yaml

    rep = opts.get("max_repetition_ratio")
    try:
        frac = float(opts.get("max_source_fraction", 1.0))
    except (TypeError, ValueError):
        raise InputError(f"max_source_fraction must be a number; got {opts.get('max_source_fraction')!r}") from None
    if not 0 < frac <= 1:
        raise InputError(f"max_source_fraction must be in (0, 1]; got {frac!r}")
    sources = []
    for d in domains:
        ratio = float(text[d])
        need = 1.0 if budget is None else budget.repetition(d, ratio, frac)
        given = rep.get(d) if isinstance(rep, Mapping) else rep
        try:
            r = need if given is None else float(given)
        except (TypeError, ValueError):
            raise InputError(f"max_repetition_ratio of {d!r} must be a number; got {given!r}") from None
        if not (math.isfinite(r) and r >= 1):
            raise InputError(f"max_repetition_ratio of {d!r} must be >= 1 (OLMo-core's rule); got {r!r}")
        if r < need:
            raise InputError(f"max_repetition_ratio of {d!r} is {r:g}, but its share of the token budget needs "
                             f"{need:g} passes over its data (OLMo-core would stop with 'Insufficient tokens')")
        # float(text) is the float nearest the exact decimal; yaml writes its shortest repr, which reads back
        # to that same float, so the file holds the rounded decimals exactly.
        sources.append({"source_name": d, "target_ratio": ratio, "paths": paths[d],
                        "max_repetition_ratio": r, "max_source_fraction": frac})
    gbs = _int_opt(opts, "global_batch_size", 1)
    procs = _int_opt(opts, "processes", 1)
    head = _budget_lines(domains, text, budget, "#")
    if budget is not None and gbs is not None:
        doc: dict[str, Any] = {"source_list": {"sources": sources}, "requested_tokens": int(budget.target_tokens),
                               "global_batch_size": gbs}
        if procs is not None:
            doc["processes"] = procs
        head = ["# OLMo-core SourceMixtureDatasetConfig (olmo_core.data.source_mixture).",
                "# Load: SourceMixtureDatasetConfig(source_list=SourceMixtureList(sources=[SourceMixtureConfig(**s)",
                "#       for s in d['source_list']['sources']]), **{k: v for k, v in d.items() if k != 'source_list'})",
                *head]
    else:
        if gbs is not None or procs is not None:
            raise InputError("global_batch_size/processes belong to OLMo-core's SourceMixtureDatasetConfig, which "
                             "needs the token budget: pass target tokens (CLI: --target-tokens) as well")
        doc = {"sources": sources}
        head = ["# OLMo-core SourceMixtureList (olmo_core.data.source_mixture); target ratios sum to 1.",
                "# Load: SourceMixtureList(sources=[SourceMixtureConfig(**s) for s in yaml.safe_load(f)['sources']])",
                *head]
        if budget is not None:
            head.append(f"# requested_tokens: {int(budget.target_tokens)} (with global_batch_size this file would "
                        "be a SourceMixtureDatasetConfig)")
    # allow_unicode: a source named 'wéb' read "w\xE9b" in the file (valid YAML, but not the name a reader knows).
    return "".join(line + "\n" for line in head) + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def _hf_loader(path: str, split: str, streaming: bool) -> str:
    ext = next((e for e in _HF_BUILDERS if path.lower().endswith(e) or path.lower().endswith(e + ".gz")), None)
    if ext is not None:
        return (f"load_dataset({_HF_BUILDERS[ext]!r}, data_files={path!r}, split={split!r}, "
                f"streaming={streaming!r})")
    return f"load_dataset({path!r}, split={split!r}, streaming={streaming!r})"


def _hf(domains: list[str], text: dict[str, str], paths: dict[str, list[str]], opts: dict[str, Any],
        budget: TokenBudget | None) -> str:
    split = str(opts.get("split", "train"))
    streaming = opts.get("streaming", True)
    if not isinstance(streaming, bool):
        raise InputError(f"option streaming must be true or false; got {streaming!r}")
    seed = _int_opt({"seed": opts.get("seed", 0)}, "seed")
    strategy = str(opts.get("stopping_strategy", "first_exhausted"))
    if strategy not in ("first_exhausted", "all_exhausted"):
        raise InputError(f"stopping_strategy must be 'first_exhausted' or 'all_exhausted'; got {strategy!r}")
    lines = ["from datasets import interleave_datasets, load_dataset", ""]
    lines += _budget_lines(domains, text, budget, "#")
    short = _hf_first_exhausted_line(domains, text, budget) if strategy == "first_exhausted" else None
    if short is not None:
        # first_exhausted ends the whole stream when one source runs out: a share that needs more than one pass
        # over its data got fewer tokens than the budget, the comment above saying '1.044 epochs' (hunt34b).
        warnings.warn(short, DataWarning, stacklevel=user_stacklevel(3))
        lines += [f"# {short}"]
    lines += ["# domain order matches probabilities", "datasets = ["]
    lines += [f"    {_hf_loader(paths[d][0], split, streaming)},  # {d!r}" for d in domains]
    lines += ["]", "probabilities = [" + ", ".join(text[d] for d in domains) + "]",
              f"mixture = interleave_datasets(datasets, probabilities=probabilities, seed={seed}, "
              f"stopping_strategy={strategy!r})"]
    return "\n".join(lines) + "\n"


def _hf_first_exhausted_line(domains: list[str], text: dict[str, str], budget: TokenBudget | None) -> str | None:
    """The line saying that ``interleave_datasets(stopping_strategy='first_exhausted')`` ends before the budget: the
    domain whose share needs the most passes over its data, when that is more than one; None otherwise."""
    if budget is None or not budget.tokens_available:
        return None
    epochs = {d: budget.tokens(float(text[d])) / float(budget.tokens_available[d]) for d in domains
              if d in budget.tokens_available}
    if not epochs or max(epochs.values()) <= 1.0:
        return None
    d = max(epochs, key=epochs.__getitem__)
    ends = float(budget.tokens_available[d]) / float(text[d])
    return (f"{d!r} needs {epochs[d]:.3f} epochs of its data: with stopping_strategy='first_exhausted' the stream ends "
            f"when it runs out, at {ends:.3g} of the {float(budget.target_tokens):.5g} tokens (--export-option "
            "stopping_strategy=all_exhausted restarts a source that runs out)")


def _mosaic(domains: list[str], text: dict[str, str], paths: dict[str, list[str]], opts: dict[str, Any],
            budget: TokenBudget | None) -> str:
    local_root = opts.get("local_root")
    batch = _int_opt(opts, "batch_size", 1)
    epoch = _int_opt(opts, "epoch_size", 1)
    seed = _int_opt({"seed": opts.get("seed", 0)}, "seed")
    lines = ["from streaming import Stream, StreamingDataset", ""]
    lines += _budget_lines(domains, text, budget, "#")
    lines.append("streams = [")
    for d in domains:
        path = paths[d][0]
        if "://" in path:  # remote object store: cache under local_root/<domain> (a temp dir when None)
            local = None if local_root is None else f"{str(local_root).rstrip('/')}/{d}"
            loc = f", local={local!r}" if local is not None else ""
            lines.append(f"    Stream(remote={path!r}{loc}, proportion={text[d]}),  # {d!r}")
        else:
            lines.append(f"    Stream(local={path!r}, proportion={text[d]}),  # {d!r}")
    extra = "" if batch is None else f", batch_size={batch}"
    extra += "" if epoch is None else f", epoch_size={epoch}"
    lines += ["]", f"dataset = StreamingDataset(streams=streams, shuffle=True, shuffle_seed={seed}{extra})"]
    return "\n".join(lines) + "\n"


def _json(domains: list[str], text: dict[str, str], paths: dict[str, list[str]], opts: dict[str, Any],
          budget: TokenBudget | None) -> str:
    rows: list[dict[str, Any]] = []
    for d in domains:
        row: dict[str, Any] = {"domain": d, "weight": float(text[d])}
        if d in paths:
            row["path"] = paths[d][0]
        if budget is not None:
            row["tokens"] = budget.tokens(float(text[d]))
            if budget.tokens_available is not None:
                have = float(budget.tokens_available[d])
                row["tokens_available"] = have
                row["epochs"] = round(row["tokens"] / have, 6)
        rows.append(row)
    indent = _int_opt({"indent": opts.get("indent", 2)}, "indent")
    # ensure_ascii=False: the file is UTF-8, and '代码' read "\u4ee3\u7801".
    return json.dumps(rows, indent=indent, ensure_ascii=False) + "\n"


__all__ = ["export_mixture", "round_weights", "parse_mixture", "read_paths", "parse_export_options", "TokenBudget",
           "FORMATS", "OPTIONS", "check_export_request"]
