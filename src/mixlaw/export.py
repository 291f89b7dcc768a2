"""Export a mixture to the formats training frameworks read (DESIGN.md §9).

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
"""

from __future__ import annotations

import json
import math
import shlex
import warnings
from collections.abc import Mapping
from typing import Any

from .errors import DataWarning, InputError

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


def _format_units(u: int, decimals: int) -> str:
    """Exact decimal text of ``u * 10**-decimals`` (no float round-trip), trailing zeros kept to one."""
    if decimals == 0:
        return str(u)
    s = f"{u // 10**decimals}.{u % 10**decimals:0{decimals}d}".rstrip("0")
    return s + "0" if s.endswith(".") else s


def _check_weights(weights: Mapping[str, float], tol: float = SUM_TOL) -> dict[str, float]:
    if not isinstance(weights, Mapping) or not weights:
        raise InputError("the mixture must be a non-empty mapping {domain: weight}")
    out: dict[str, float] = {}
    for d, w in weights.items():
        try:
            x = float(w)
        except (TypeError, ValueError):
            raise InputError(f"weight of domain {d!r} is not a number: {w!r}") from None
        if not math.isfinite(x) or x < 0:
            raise InputError(f"weight of domain {d!r} must be finite and >= 0; got {w!r}")
        out[str(d)] = x
    total = math.fsum(out.values())
    if abs(total - 1.0) > tol:
        raise InputError(f"mixture weights sum to {total:.6g}, expected 1 ± {tol:g} (fix the weights)")
    if abs(total - 1.0) > 1e-9:
        warnings.warn(f"mixture weights sum to {total:.9g}; renormalised to 1", DataWarning, stacklevel=3)
    return out


def _check_paths(domains: list[str], paths: Mapping[str, Any] | None, fmt: str) -> dict[str, list[str]]:
    if paths is None:
        if fmt == "json":
            return {}
        raise InputError(f"format {fmt!r} needs a path for every domain: pass paths={{domain: path}} "
                         "(CLI: --paths paths.json or paths.csv)")
    missing = [d for d in domains if d not in paths or not paths[d]]
    if missing:
        raise InputError(f"no path for domain(s) {missing} (known: {sorted(paths)})")
    out: dict[str, list[str]] = {}
    for d in domains:
        p = paths[d]
        items = [p] if isinstance(p, str) else list(p)
        if not items or not all(isinstance(x, str) and x for x in items):
            raise InputError(f"path of domain {d!r} must be a non-empty string (or, for olmo, a list); got {p!r}")
        if len(items) > 1 and fmt != "olmo":
            raise InputError(f"domain {d!r} has {len(items)} paths; format {fmt!r} takes one path per domain "
                             "(merge them into one prefix or use --format olmo)")
        out[d] = items
    return out


def export_mixture(weights: Mapping[str, float], fmt: str, paths: Mapping[str, Any] | None = None, *,
                   decimals: int = 6, drop_zero: bool = True, **opts: Any) -> str:
    """Render a mixture in a training framework's format.

    Parameters
    ----------
    weights : mapping of str to float
        ``{domain: weight}``, weights >= 0 summing to 1 (± 0.01: renormalised with a :class:`DataWarning`).
    fmt : {"megatron", "olmo", "hf", "mosaic", "json"}
    paths : mapping of str to str, optional
        ``{domain: path}`` from the user: Megatron dataset prefix, OLMo-core path or glob (a list is allowed),
        HF hub name / directory / data file, Mosaic remote (``scheme://``) or local directory. Required for
        every exported domain except with ``fmt="json"``.
    decimals : int, default=6
        Decimal places of the rounded weights (largest-remainder rounding: they sum to exactly 1).
    drop_zero : bool, default=True
        Leave out domains whose rounded weight is 0 (they need no path then).
    **opts
        ``olmo``: ``max_repetition_ratio`` (float or ``{domain: float}``, default 1.0, must be >= 1),
        ``max_source_fraction`` (default 1.0). ``hf``: ``split`` ("train"), ``streaming`` (True), ``seed`` (0),
        ``stopping_strategy`` ("first_exhausted" or "all_exhausted"; default "first_exhausted").
        ``mosaic``: ``local_root`` (cache directory for remote streams), ``batch_size`` (None), ``seed`` (0).
        ``json``: ``indent`` (2).

    Returns
    -------
    str
        The rendered text (ends with a newline).

    Raises
    ------
    InputError
        Unknown format or option, bad weights, missing paths (the message names the domains).

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
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    allowed = {"olmo": {"max_repetition_ratio", "max_source_fraction"},
               "hf": {"split", "streaming", "seed", "stopping_strategy"},
               "mosaic": {"local_root", "batch_size", "seed"}, "json": {"indent"}, "megatron": set()}[fmt]
    unknown = sorted(set(opts) - allowed)
    if unknown:
        raise InputError(f"unknown option(s) {unknown} for format {fmt!r}; known: {sorted(allowed) or 'none'}")
    w = _check_weights(weights)
    units = round_weights(w, decimals)
    domains = [d for d in w if units[d] > 0 or not drop_zero]
    text = {d: _format_units(units[d], decimals) for d in domains}
    p = _check_paths(domains, paths, fmt)
    return {"megatron": _megatron, "olmo": _olmo, "hf": _hf, "mosaic": _mosaic, "json": _json}[fmt](
        domains, text, p, opts)


def _megatron(domains: list[str], text: dict[str, str], paths: dict[str, list[str]], opts: dict[str, Any]) -> str:
    # Megatron-LM: --data-path takes "weight prefix" pairs; weights are normalised by the loader.
    parts = ["--data-path"]
    for d in domains:
        parts += [text[d], shlex.quote(paths[d][0])]
    return " ".join(parts) + "\n"


def _olmo(domains: list[str], text: dict[str, str], paths: dict[str, list[str]], opts: dict[str, Any]) -> str:
    import yaml

    rep = opts.get("max_repetition_ratio", 1.0)
    frac = float(opts.get("max_source_fraction", 1.0))
    if not 0 < frac <= 1:
        raise InputError(f"max_source_fraction must be in (0, 1]; got {frac!r}")
    sources = []
    for d in domains:
        r = float(rep.get(d, 1.0) if isinstance(rep, Mapping) else rep)
        if not (math.isfinite(r) and r >= 1):
            raise InputError(f"max_repetition_ratio of {d!r} must be >= 1 (OLMo-core's rule); got {r!r}")
        # float(text) is the float nearest the exact decimal; yaml writes its shortest repr, which reads back
        # to that same float, so the file holds the rounded decimals exactly.
        sources.append({"source_name": d, "target_ratio": float(text[d]), "paths": paths[d],
                        "max_repetition_ratio": r, "max_source_fraction": frac})
    head = ("# OLMo-core SourceMixtureList (olmo_core.data.source_mixture); target ratios sum to 1.\n"
            "# Load: SourceMixtureList(sources=[SourceMixtureConfig(**s) for s in yaml.safe_load(f)['sources']])\n")
    return head + yaml.safe_dump({"sources": sources}, sort_keys=False)


def _hf_loader(path: str, split: str, streaming: bool) -> str:
    ext = next((e for e in _HF_BUILDERS if path.lower().endswith(e) or path.lower().endswith(e + ".gz")), None)
    if ext is not None:
        return (f"load_dataset({_HF_BUILDERS[ext]!r}, data_files={path!r}, split={split!r}, "
                f"streaming={streaming!r})")
    return f"load_dataset({path!r}, split={split!r}, streaming={streaming!r})"


def _hf(domains: list[str], text: dict[str, str], paths: dict[str, list[str]], opts: dict[str, Any]) -> str:
    split = str(opts.get("split", "train"))
    streaming = bool(opts.get("streaming", True))
    seed = int(opts.get("seed", 0))
    strategy = str(opts.get("stopping_strategy", "first_exhausted"))
    if strategy not in ("first_exhausted", "all_exhausted"):
        raise InputError(f"stopping_strategy must be 'first_exhausted' or 'all_exhausted'; got {strategy!r}")
    lines = ["from datasets import interleave_datasets, load_dataset", "", "# domain order matches probabilities",
             "datasets = ["]
    lines += [f"    {_hf_loader(paths[d][0], split, streaming)},  # {d!r}" for d in domains]
    lines += ["]", "probabilities = [" + ", ".join(text[d] for d in domains) + "]",
              f"mixture = interleave_datasets(datasets, probabilities=probabilities, seed={seed}, "
              f"stopping_strategy={strategy!r})"]
    return "\n".join(lines) + "\n"


def _mosaic(domains: list[str], text: dict[str, str], paths: dict[str, list[str]], opts: dict[str, Any]) -> str:
    local_root = opts.get("local_root")
    batch = opts.get("batch_size")
    seed = int(opts.get("seed", 0))
    lines = ["from streaming import Stream, StreamingDataset", "", "streams = ["]
    for d in domains:
        path = paths[d][0]
        if "://" in path:  # remote object store: cache under local_root/<domain> (a temp dir when None)
            local = None if local_root is None else f"{str(local_root).rstrip('/')}/{d}"
            loc = f", local={local!r}" if local is not None else ""
            lines.append(f"    Stream(remote={path!r}{loc}, proportion={text[d]}),  # {d!r}")
        else:
            lines.append(f"    Stream(local={path!r}, proportion={text[d]}),  # {d!r}")
    bs = "" if batch is None else f", batch_size={int(batch)}"
    lines += ["]", f"dataset = StreamingDataset(streams=streams, shuffle=True, shuffle_seed={seed}{bs})"]
    return "\n".join(lines) + "\n"


def _json(domains: list[str], text: dict[str, str], paths: dict[str, list[str]], opts: dict[str, Any]) -> str:
    rows: list[dict[str, Any]] = []
    for d in domains:
        row: dict[str, Any] = {"domain": d, "weight": float(text[d])}
        if d in paths:
            row["path"] = paths[d][0]
        rows.append(row)
    return json.dumps(rows, indent=int(opts.get("indent", 2))) + "\n"


def parse_mixture(spec: str) -> dict[str, float]:
    """Parse ``"a=0.5,b=0.5"`` or a file: JSON ``{domain: weight}`` / ``[{"domain", "weight"}]``, or a CSV
    run table with one row of ``w:<domain>`` columns (what ``mixlaw optimize --out`` or a design writes)."""
    from pathlib import Path

    path = Path(spec)
    if path.suffix.lower() in (".json", ".csv", ".yaml", ".yml") or path.exists():
        if not path.exists():
            raise InputError(f"{spec}: no such file")
        if path.suffix.lower() == ".csv":
            import pandas as pd

            frame = pd.read_csv(path)
            cols = [c for c in frame.columns if str(c).startswith("w:")]
            if not cols:
                raise InputError(f"{spec}: no w:<domain> columns")
            if len(frame) != 1:
                raise InputError(f"{spec}: {len(frame)} rows; a mixture file needs exactly one row")
            return {c[2:]: float(frame[c].iloc[0]) for c in cols}
        try:
            doc = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise InputError(f"{spec}: not valid JSON ({e})") from None
        return _mixture_from_doc(doc, spec)
    out: dict[str, float] = {}
    for item in (x.strip() for x in spec.split(",")):
        if not item:
            continue
        if "=" not in item:
            raise InputError(f"bad mixture item {item!r}: expected domain=weight (e.g. web=0.7,code=0.3)")
        d, v = (s.strip() for s in item.split("=", 1))
        if d in out:
            raise InputError(f"domain {d!r} given twice in the mixture")
        try:
            out[d] = float(v)
        except ValueError:
            raise InputError(f"weight of domain {d!r} is not a number: {v!r}") from None
    if not out:
        raise InputError("empty mixture; expected domain=weight,...")
    return out


def _mixture_from_doc(doc: Any, spec: str) -> dict[str, float]:
    if isinstance(doc, Mapping) and "mixture" in doc and isinstance(doc["mixture"], Mapping):
        doc = doc["mixture"]
    if isinstance(doc, Mapping):
        return {str(k): v for k, v in doc.items()}
    if isinstance(doc, list) and all(isinstance(r, Mapping) and {"domain", "weight"} <= set(r) for r in doc):
        return {str(r["domain"]): r["weight"] for r in doc}
    raise InputError(f'{spec}: expected {{"domain": weight, ...}} or [{{"domain": ..., "weight": ...}}, ...]')


def read_paths(spec: str) -> dict[str, Any]:
    """Read a domain->path map: JSON ``{domain: path}`` or a CSV with columns ``domain,path``."""
    from pathlib import Path

    path = Path(spec)
    if not path.exists():
        raise InputError(f"{spec}: no such file (expected a JSON {{domain: path}} or a CSV domain,path)")
    if path.suffix.lower() == ".csv":
        import pandas as pd

        frame = pd.read_csv(path, dtype=str)
        missing = [c for c in ("domain", "path") if c not in frame.columns]
        if missing:
            raise InputError(f"{spec}: missing column(s) {missing}; expected domain,path")
        out: dict[str, Any] = {}
        for d, p in zip(frame["domain"], frame["path"], strict=True):
            out.setdefault(str(d), []).append(str(p))  # repeated domains: several paths (olmo)
        return {d: v[0] if len(v) == 1 else v for d, v in out.items()}
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise InputError(f"{spec}: not valid JSON ({e})") from None
    if not isinstance(doc, Mapping):
        raise InputError(f"{spec}: expected a JSON object {{domain: path}}")
    return dict(doc)


__all__ = ["export_mixture", "round_weights", "parse_mixture", "read_paths", "FORMATS"]
