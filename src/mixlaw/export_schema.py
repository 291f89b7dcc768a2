"""Read an export back the way its trainer would, and check it against that trainer's config schema.

Each ``read_<format>`` parses the text :func:`mixlaw.export.export_mixture` wrote and applies the rules the
trainer itself applies (written from the trainers' code, which mixlaw does not import):

* OLMo-core ``olmo_core.data.source_mixture``: ``SourceMixtureConfig`` fields and ``validate()``
  (0 < target_ratio <= 1, 0 < max_source_fraction <= 1, max_repetition_ratio >= 1, paths non-empty),
  ``SourceMixtureList.validate()`` (ratios sum to 1 by ``np.allclose``), ``SourceMixtureDatasetConfig``
  fields (``requested_tokens`` > 0, ``global_batch_size``), and :func:`olmo_insufficient` repeats the
  "Insufficient tokens for source" test of ``SourceMixtureDatasetConfig.build``.
* Megatron-LM ``--data-path``: ``megatron.core.datasets.utils.get_blend_from_list`` (either prefixes, or
  weight/prefix pairs whose weights parse as floats), prefixes without ``.bin``/``.idx``, and the integer
  arguments ``--seed``, ``--seq-length``, ``--train-samples``.
* HF ``datasets.interleave_datasets`` / ``load_dataset`` keyword names, one probability per dataset,
  a known ``stopping_strategy``.
* MosaicML Streaming ``Stream`` / ``StreamingDataset`` keyword names, exactly one of
  ``proportion``/``repeat``/``choose`` per stream, ``remote`` or ``local`` on each.

Each reader returns what the trainer would see (weights by source, options) and raises
:class:`~mixlaw.errors.InputError` naming the rule broken.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import shlex
from collections.abc import Mapping
from typing import Any

import numpy as np

from .errors import InputError

_OLMO_SOURCE = {"source_name": str, "target_ratio": float, "paths": list, "max_repetition_ratio": float,
                "max_source_fraction": float}
_OLMO_DATASET = {"source_list", "requested_tokens", "global_batch_size", "processes", "render_tables", "quiet"}
_HF_INTERLEAVE = {"probabilities", "seed", "info", "split", "stopping_strategy"}
_HF_STOPPING = {"first_exhausted", "all_exhausted", "all_exhausted_without_replacement"}
_HF_LOAD = {"name", "data_dir", "data_files", "split", "cache_dir", "features", "download_config",
            "download_mode", "verification_mode", "keep_in_memory", "save_infos", "revision", "token",
            "streaming", "num_proc", "storage_options", "trust_remote_code"}
_MOSAIC_STREAM = {"remote", "local", "split", "proportion", "repeat", "choose", "download_retry",
                  "download_timeout", "validate_hash", "keep_zip"}
_MOSAIC_DATASET = {"streams", "remote", "local", "split", "download_retry", "download_timeout", "validate_hash",
                   "keep_zip", "epoch_size", "predownload", "cache_limit", "sampling_method",
                   "sampling_granularity", "partition_algo", "num_canonical_nodes", "batch_size", "shuffle",
                   "shuffle_algo", "shuffle_seed", "shuffle_block_size", "batching_method", "allow_unsafe_types",
                   "replication"}


def _bad(fmt: str, msg: str) -> InputError:
    return InputError(f"{fmt} export does not match the trainer's schema: {msg}")


def read_olmo(text: str) -> dict[str, Any]:
    """Parse an OLMo-core YAML; return ``{"sources": [...], "requested_tokens": int | None, ...}``."""
    import yaml

    doc = yaml.safe_load(text)
    if not isinstance(doc, Mapping):
        raise _bad("olmo", "top level is not a mapping")
    if "source_list" in doc:  # SourceMixtureDatasetConfig
        extra = sorted(set(doc) - _OLMO_DATASET)
        if extra:
            raise _bad("olmo", f"SourceMixtureDatasetConfig has no field(s) {extra}")
        for key in ("requested_tokens", "global_batch_size"):
            v = doc.get(key)
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise _bad("olmo", f"{key} must be an integer > 0; got {v!r}")
        lst = doc["source_list"]
        if not isinstance(lst, Mapping) or set(lst) != {"sources"}:
            raise _bad("olmo", "source_list must be a SourceMixtureList {sources: [...]}")
        out = {k: v for k, v in doc.items() if k != "source_list"}
    else:
        if set(doc) != {"sources"}:
            raise _bad("olmo", f"SourceMixtureList has only 'sources'; got {sorted(doc)}")
        lst, out = doc, {"requested_tokens": None}
    sources = lst["sources"]
    if not isinstance(sources, list) or not sources:
        raise _bad("olmo", "sources must not be empty")
    for s in sources:
        if not isinstance(s, Mapping):
            raise _bad("olmo", f"a source is not a mapping: {s!r}")
        extra = sorted(set(s) - set(_OLMO_SOURCE))
        missing = [k for k in ("source_name", "target_ratio", "paths") if k not in s]
        if extra or missing:
            raise _bad("olmo", f"source {s.get('source_name')!r}: unknown {extra}, missing {missing}")
        name = s["source_name"]
        ratio, rep = s["target_ratio"], s.get("max_repetition_ratio", 1.0)
        frac = s.get("max_source_fraction", 1.0)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (ratio, rep, frac)):
            raise _bad("olmo", f"source {name!r}: target_ratio, max_repetition_ratio, max_source_fraction are floats")
        if ratio and not 0 < ratio <= 1:
            raise _bad("olmo", f"source {name!r}: target_ratio must be > 0 and <= 1")
        if ratio and not 0 < frac <= 1:
            raise _bad("olmo", f"source {name!r}: max_source_fraction must be > 0 and <= 1")
        if rep < 1:
            raise _bad("olmo", f"source {name!r}: max_repetition_ratio must be >= 1")
        if not isinstance(s["paths"], list) or not s["paths"] or not all(isinstance(p, str) for p in s["paths"]):
            raise _bad("olmo", f"source {name!r}: paths must be a non-empty list of strings")
    total = float(np.sum([s["target_ratio"] for s in sources]))
    if not np.allclose(total, 1.0):
        raise _bad("olmo", f"target_ratios must sum to 1.0, got {total}")
    out["sources"] = [dict(s) for s in sources]
    out["weights"] = {s["source_name"]: s["target_ratio"] for s in sources}
    return out


def olmo_insufficient(doc: Mapping[str, Any], tokens_available: Mapping[str, float],
                      requested_tokens: int) -> list[str]:
    """Sources for which OLMo-core's ``build`` would stop with "Insufficient tokens for source".

    ``max_for_source = int(available * max_source_fraction * max_repetition_ratio)`` must be at least
    ``needed = int(requested_tokens * target_ratio)``.
    """
    short = []
    for s in doc["sources"]:
        have = int(float(tokens_available[s["source_name"]]) * s.get("max_source_fraction", 1.0)
                   * s.get("max_repetition_ratio", 1.0))
        if have < int(requested_tokens * s["target_ratio"]):
            short.append(s["source_name"])
    return short


def read_megatron(text: str) -> dict[str, Any]:
    """Parse Megatron-LM arguments; return ``{"weights": {prefix: w}, "seed": ..., ...}``."""
    args = [tok for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
            for tok in shlex.split(line)]
    parser = argparse.ArgumentParser(prog="megatron", add_help=False, exit_on_error=False)
    # The argument declarations of megatron/training/arguments.py that an export may set.
    parser.add_argument("--data-path", nargs="*", default=None)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--seq-length", type=int, default=None)
    parser.add_argument("--train-samples", type=int, default=None)
    parser.add_argument("--split", type=str, default=None)
    try:
        ns, unknown = parser.parse_known_args(args)
    except (argparse.ArgumentError, SystemExit) as e:
        raise _bad("megatron", str(e)) from None
    if unknown:
        raise _bad("megatron", f"unrecognised arguments {unknown}")
    blend = ns.data_path or []
    if not blend:
        raise _bad("megatron", "--data-path is empty")
    # get_blend_from_list: a single prefix, a list of prefixes, or (weight, prefix) pairs.
    if len(blend) % 2:
        raise _bad("megatron", "--data-path has an odd number of items (expected weight prefix pairs)")
    weights: dict[str, float] = {}
    for w, prefix in zip(blend[::2], blend[1::2], strict=True):
        try:
            x = float(w)
        except ValueError:
            raise _bad("megatron", f"weight {w!r} is not a float") from None
        if not math.isfinite(x) or x < 0:
            raise _bad("megatron", f"weight {w!r} must be finite and >= 0")
        if prefix.endswith((".bin", ".idx")):
            raise _bad("megatron", f"{prefix!r}: give the prefix, without .bin/.idx")
        weights[prefix] = x
    return {"weights": weights, "seed": ns.seed, "seq_length": ns.seq_length, "train_samples": ns.train_samples,
            "split": ns.split}


def _calls(tree: ast.AST, name: str) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == name]


def _kwargs(fmt: str, call: ast.Call, allowed: set[str], what: str) -> dict[str, Any]:
    out = {}
    for k in call.keywords:
        if k.arg not in allowed:
            raise _bad(fmt, f"{what}() has no argument {k.arg!r}")
        try:
            out[k.arg] = ast.literal_eval(k.value)
        except ValueError:
            out[k.arg] = ast.unparse(k.value)
    return out


def read_hf(text: str) -> dict[str, Any]:
    """Parse the HF datasets snippet; return ``{"probabilities": [...], "loaders": [...], ...}``."""
    tree = ast.parse(text)
    loads = [_kwargs("hf", c, _HF_LOAD, "load_dataset") | {"path": ast.literal_eval(c.args[0])}
             for c in _calls(tree, "load_dataset")]
    inter = _calls(tree, "interleave_datasets")
    if len(inter) != 1:
        raise _bad("hf", "expected one interleave_datasets call")
    kw = _kwargs("hf", inter[0], _HF_INTERLEAVE, "interleave_datasets")
    probs = next((ast.literal_eval(n.value) for n in ast.walk(tree) if isinstance(n, ast.Assign)
                  and getattr(n.targets[0], "id", "") == "probabilities"), None)
    if not isinstance(probs, list) or len(probs) != len(loads):
        raise _bad("hf", "probabilities must be a list with one entry per dataset")
    if any(p < 0 for p in probs) or not math.isclose(math.fsum(probs), 1.0, abs_tol=1e-9):
        raise _bad("hf", "probabilities must be >= 0 and sum to 1")
    if kw.get("stopping_strategy", "first_exhausted") not in _HF_STOPPING:
        raise _bad("hf", f"stopping_strategy must be one of {sorted(_HF_STOPPING)}")
    return {"probabilities": probs, "loaders": loads, **{k: v for k, v in kw.items() if k != "probabilities"}}


def read_mosaic(text: str) -> dict[str, Any]:
    """Parse the MosaicML Streaming snippet; return ``{"streams": [...], "dataset": {...}}``."""
    tree = ast.parse(text)
    streams = [_kwargs("mosaic", c, _MOSAIC_STREAM, "Stream") for c in _calls(tree, "Stream")]
    for s in streams:
        if sum(k in s for k in ("proportion", "repeat", "choose")) > 1:
            raise _bad("mosaic", "a Stream takes at most one of proportion, repeat, choose")
        if "remote" not in s and "local" not in s:
            raise _bad("mosaic", "a Stream needs remote or local")
    ds = _calls(tree, "StreamingDataset")
    if len(ds) != 1:
        raise _bad("mosaic", "expected one StreamingDataset call")
    kw = _kwargs("mosaic", ds[0], _MOSAIC_DATASET, "StreamingDataset")
    props = [s.get("proportion") for s in streams]
    if not all(isinstance(p, (int, float)) and p >= 0 for p in props) or \
            not math.isclose(math.fsum(props), 1.0, abs_tol=1e-9):
        raise _bad("mosaic", "stream proportions must be >= 0 and sum to 1")
    return {"streams": streams, "dataset": kw}


def read_json(text: str) -> dict[str, Any]:
    """Parse the JSON export (Olmix style); return ``{"rows": [...], "weights": {...}}``."""
    rows = json.loads(text, parse_constant=_no_constant)
    if not isinstance(rows, list) or not all(isinstance(r, Mapping) and {"domain", "weight"} <= set(r)
                                             for r in rows):
        raise _bad("json", 'expected [{"domain": ..., "weight": ...}, ...]')
    return {"rows": rows, "weights": {r["domain"]: r["weight"] for r in rows}}


def _no_constant(name: str) -> Any:
    raise _bad("json", f"non-standard constant {name}")


READERS = {"olmo": read_olmo, "megatron": read_megatron, "hf": read_hf, "mosaic": read_mosaic, "json": read_json}


def check_export(fmt: str, text: str) -> dict[str, Any]:
    """Read ``text`` back as format ``fmt``'s trainer would; raise :class:`InputError` on a schema violation."""
    return READERS[fmt](text)


__all__ = ["check_export", "read_olmo", "read_megatron", "read_hf", "read_mosaic", "read_json", "olmo_insufficient"]
