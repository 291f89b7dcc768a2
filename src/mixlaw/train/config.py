"""Proxy-run configuration: one flat dataclass, size/token parsing and ``--key=value`` overrides.

A run is fully described by a :class:`ProxyConfig`. :meth:`ProxyConfig.resolved` fills the derived fields
(model shape from ``model_size``, the full mixture over the corpus domains), and :func:`run_id` hashes the
resolved fields that change the result, so the same run submitted twice gets the same id.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from ..data import scaled_number, share_value
from ..errors import InputError

#: Mixture weights must sum to 1 within this tolerance; inside it they are renormalised exactly.
WEIGHT_TOL = 1e-3
#: Largest accepted peak learning rate (AdamW steps each weight by ~lr; typical proxy values are 1e-4..1e-2).
MAX_LR = 1.0
#: Width of one attention head; the model width is rounded to a multiple of it.
HEAD_DIM = 16
#: Width-to-depth ratio n_embd / n_layer of the size rule (see :func:`shape_for_size`).
ASPECT = 32


def parse_count(text: str | int, what: str = "count") -> int:
    """Parse ``"0.2M"``, ``"2M"``, ``"16k"``, ``"2e6"`` or ``"2_000_000"`` into a positive int.

    Parameters
    ----------
    text : str or int
        The number, with an optional suffix k/K (1e3), M (1e6), B/G (1e9), T (1e12).
    what : str
        Name used in the error message (``"--size"``).

    Returns
    -------
    int
        The rounded value.

    Raises
    ------
    InputError
        If the text is not a positive number.

    Examples
    --------
    >>> parse_count("0.2M"), parse_count("2M"), parse_count("16k"), parse_count("2e6")
    (200000, 2000000, 16000, 2000000)
    """
    if isinstance(text, int) and not isinstance(text, bool):
        value = float(text)
    else:
        scaled = scaled_number(text)
        if scaled is None:
            raise InputError(f"{what}: cannot parse {text!r} as a count; expected e.g. 0.2M, 2M, 16k or 2000000")
        value = scaled
    if not math.isfinite(value) or value < 1:
        raise InputError(f"{what}: {text!r} must be a positive count (at least 1)")
    return round(value)


def parse_mixture(text: str | dict[str, float], what: str = "--mixture") -> dict[str, float]:
    """Parse ``"web=0.5,code=0.3,books=0.2"`` into a dict (order kept; sums are checked later).

    Raises
    ------
    InputError
        On a malformed item, a repeated domain or a negative / non-finite weight.

    Examples
    --------
    >>> parse_mixture("code=0.25,prose=0.75")
    {'code': 0.25, 'prose': 0.75}
    >>> parse_mixture("code=25%,prose=75%")
    {'code': 0.25, 'prose': 0.75}
    """
    if isinstance(text, dict):
        items = [(str(k), v) for k, v in text.items()]
    else:
        items = []
        for part in filter(None, (p.strip() for p in str(text).split(","))):
            name, sep, value = part.partition("=")
            if not sep or not name.strip():
                raise InputError(f"{what}: item {part!r} is not of the form domain=weight (e.g. code=0.3)")
            items.append((name.strip(), value.strip()))
    if not items:
        raise InputError(f"{what}: empty mixture; expected domain=weight pairs such as code=0.5,prose=0.5")
    out: dict[str, float] = {}
    for name, value in items:
        try:
            # 'code=60%': a percentage, as mixlaw export/predict/design take one (the trainer said "expected a
            # number")
            w = share_value(value) if isinstance(value, str) else float(value)
        except (TypeError, ValueError):
            raise InputError(f"{what}: weight of {name!r} is {value!r}, expected a number") from None
        if not math.isfinite(w) or w < 0:
            raise InputError(f"{what}: weight of {name!r} is {w}, expected a finite number >= 0")
        if name in out:
            raise InputError(f"{what}: domain {name!r} given twice")
        out[name] = w
    return out


def shape_for_size(model_size: int) -> tuple[int, int, int]:
    """Choose ``(n_layer, n_embd, n_head)`` for a target non-embedding parameter count.

    The rule: a GPT block holds about ``12 * n_embd**2`` non-embedding parameters (attention 4 C², MLP 8 C²),
    and small models keep ``n_embd ≈ 32 * n_layer`` (Kaplan et al. 2020 find loss insensitive to the
    aspect ratio over a wide range, so any fixed ratio is fine). Hence ``n_layer = round((N / (12 * 32**2))
    ** (1/3))`` (at least 1), then ``n_embd = sqrt(N / (12 * n_layer))`` rounded to a multiple of 16 (the
    head width, at least 16), and ``n_head = n_embd / 16``. The true count of the built model is what runs
    record as ``params``.

    Examples
    --------
    >>> shape_for_size(100_000), shape_for_size(200_000), shape_for_size(400_000)
    ((2, 64, 4), (3, 80, 5), (3, 112, 7))
    """
    n_layer = max(1, round((model_size / (12 * ASPECT**2)) ** (1 / 3)))
    n_embd = max(HEAD_DIM, HEAD_DIM * round(math.sqrt(model_size / (12 * n_layer)) / HEAD_DIM))
    return n_layer, n_embd, n_embd // HEAD_DIM


#: Bytes of memory per parameter in training: fp32 weights, gradients and AdamW's two moments (activations extra).
TRAIN_BYTES_PER_PARAM = 16


def _memory_bytes() -> int | None:
    """The machine's physical memory, or None where the OS does not say."""
    import os

    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, OSError, ValueError):
        return None


#: A container's memory limit: cgroup v2's ``memory.max`` (``max``: none), else cgroup v1's
#: ``memory/memory.limit_in_bytes``.
CGROUP_MEMORY_MAX = "/sys/fs/cgroup/memory.max"
CGROUP_V1_MEMORY_LIMIT = "/sys/fs/cgroup/memory/memory.limit_in_bytes"
#: A cgroup limit at or above this is no limit: cgroup v1 writes "unlimited" as the page counter's maximum in bytes,
#: 9223372036854771712 (2^63 rounded down to a page); no machine has 2^62 bytes (4 EiB).
NO_CGROUP_LIMIT = 2**62


def _cgroup_memory_bytes() -> tuple[int, str] | None:
    """(bytes, file) of the memory limit of the container this process runs in (:data:`CGROUP_MEMORY_MAX`, else
    :data:`CGROUP_V1_MEMORY_LIMIT`), or None where there is none (no file, "max", a value of
    :data:`NO_CGROUP_LIMIT` or more, or text that is not a count).

    Why: a container's limit is not the machine's memory, which ``SC_PHYS_PAGES`` reads (the host's): the check
    let through, to the kernel's OOM killer, a model that fits the host but not the container. Read as
    :func:`mixlaw._workers.usable_cpus` reads the CPU quota (v2's file first, else v1's)."""
    for path in (CGROUP_MEMORY_MAX, CGROUP_V1_MEMORY_LIMIT):
        try:
            # Bytes, not text: int() reads b"2147483648\n", and a byte the locale cannot decode is text that is
            # not a count (decoded, it raised UnicodeDecodeError out of the memory check, a traceback).
            with open(path, "rb") as fh:
                text = fh.read().strip()
        except OSError:
            continue  # no such cgroup file (v1 without v2's, or not Linux): the next one
        try:
            limit = int(text)
        except ValueError:
            return None  # "max" (cgroup v2's no limit), or unreadable text
        return (limit, path) if 0 < limit < NO_CGROUP_LIMIT else None
    return None


def _gpu_memory_bytes(device: str) -> int | None:
    """The memory of the CUDA device that ``device`` ("auto", "cuda", "cuda:i") trains on, or None where there is
    none (no CUDA here: a sweep planned on a CPU-only machine for GPU workers is not checked)."""
    try:
        import torch

        if not torch.cuda.is_available():
            return None
        index = int(device.partition(":")[2] or 0) if device.startswith("cuda") else 0
        return int(torch.cuda.get_device_properties(index).total_memory)
    except (ImportError, RuntimeError, ValueError, AssertionError):
        return None


def _training_memory(device: str) -> tuple[int | None, str]:
    """(bytes, what) of the memory the model trains in: the GPU's for a CUDA device (and for "auto" where CUDA is
    present), else the machine's, or the container's limit where that is smaller (:func:`_cgroup_memory_bytes`).
    review24b: checked against the machine's memory alone, a GPU larger than it (16 GB of RAM, a 24 GB GPU) had a
    1.1B-parameter model refused that it trains."""
    if device.startswith("cuda") or device == "auto":
        gpu = _gpu_memory_bytes(device)
        if gpu is not None or device.startswith("cuda"):
            return gpu, "GPU memory"
    machine, limit = _memory_bytes(), _cgroup_memory_bytes()
    if limit is not None and (machine is None or limit[0] < machine):
        return limit[0], f"memory (the container's limit, {limit[1]})"
    return machine, "memory"


def _check_fits_in_memory(cfg: ProxyConfig) -> None:
    """Refuse a model whose weights, gradients and AdamW state alone exceed the machine's memory: '--size 1T' (a
    typo for 1M) built a 16 TB model until the kernel's OOM killer ended the process (and maybe others) after a
    minute, with no message. Counts 12 C^2 per block plus the byte embeddings and positions (the shape rule of
    :func:`shape_for_size`), TRAIN_BYTES_PER_PARAM bytes each."""
    total, what = _training_memory(str(cfg.device))
    params = 12 * cfg.n_layer * cfg.n_embd**2 + (2 * 256 + cfg.block_size) * cfg.n_embd
    need = TRAIN_BYTES_PER_PARAM * params
    if total is not None and need > total:
        raise InputError(f"config field 'model_size' ({cfg.model_size:,}; --size, --sizes): a model of about "
                         f"{params:.3g} parameters needs about {need / 2**30:,.0f} GiB to train (weights, gradients, "
                         f"AdamW state), more than this machine's {total / 2**30:,.0f} GiB of {what} (a typo? the "
                         "README's sweep trains 0.1M-0.4M)")


@dataclass
class ProxyConfig:
    """Everything that defines one proxy training run (nanoGPT-style: one flat config, a comment per field).

    Fields marked *derived* are filled by :meth:`resolved` when left at 0 / empty. Override any field
    from the command line with ``--key=value`` (see :func:`apply_overrides`).
    """

    corpus: str = "corpus"  # directory written by `mixlaw corpus build` (not hashed: moving it keeps run ids)
    mixture: dict[str, float] = field(default_factory=dict)  # domain -> sampling weight; omitted domains get 0
    model_size: int = 200_000  # target non-embedding parameters; the shape follows shape_for_size()
    n_layer: int = 0  # derived from model_size when 0
    n_embd: int = 0  # derived from model_size when 0 (a multiple of n_head)
    n_head: int = 0  # derived from model_size when 0 (head width 16)
    block_size: int = 128  # context length in bytes; 128 keeps a 0.2M model at ~40k tokens/s on 2 cores
    batch_size: int = 16  # sequences per step: 16 x 128 = 2048 tokens, enough steps for step-law fits at 2M tokens
    train_tokens: int = 2_000_000  # tokens seen in training; steps = train_tokens // (batch_size * block_size)
    lr: float = 2e-3  # peak AdamW learning rate; tiny models tolerate nanoGPT's shakespeare-char 1e-3 and more
    min_lr_ratio: float = 0.1  # cosine decay ends at lr * min_lr_ratio (Chinchilla: decay to ~10x lower)
    warmup_frac: float = 0.05  # share of the steps in linear warm-up (a fraction, so it scales with tokens)
    weight_decay: float = 0.1  # AdamW decay on matrices only (nanoGPT default)
    beta1: float = 0.9  # AdamW beta1 (nanoGPT)
    beta2: float = 0.95  # AdamW beta2; 0.95 rather than 0.999 is the usual choice for small batches (nanoGPT)
    grad_clip: float = 1.0  # clip the global gradient norm; 0 disables
    dropout: float = 0.0  # off: proxy runs see each byte less than once, so there is nothing to regularise
    eval_every: int = 250  # steps between checkpoints (per-domain validation loss); the last step always evaluates
    eval_tokens: int = 8192  # validation tokens per domain per checkpoint: ~3% of training compute at the defaults
    seed: int = 0  # base seed; the run seed is SeedSequence([seed, run_hash])
    device: str = "auto"  # "auto" (CUDA when present, else CPU), "cpu" or "cuda[:i]" (not hashed)
    num_threads: int = 0  # torch CPU threads, 0 = torch's default (not hashed; sweeps set cores // workers)
    ema_gamma: float = 0.0  # > 0: score a power-function EMA of the weights (Karras et al. 2024), 0 = raw weights

    # ------------------------------------------------------------------ derived values
    @property
    def tokens_per_step(self) -> int:
        """Tokens in one optimiser step, ``batch_size * block_size``."""
        return self.batch_size * self.block_size

    @property
    def max_steps(self) -> int:
        """Number of optimiser steps, ``train_tokens // tokens_per_step`` (at least 1)."""
        return max(1, self.train_tokens // self.tokens_per_step)

    def validate(self) -> None:
        """Check ranges of the numeric fields.

        Raises
        ------
        InputError
            Naming the field, its value and the expected range.
        """
        positive = ("model_size", "block_size", "batch_size", "train_tokens", "eval_every", "eval_tokens")
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise InputError(f"config field '{name}' must be an integer >= 1, got {value!r}")
        for name in ("n_layer", "n_embd", "n_head", "num_threads", "seed"):
            if getattr(self, name) < 0:
                raise InputError(f"config field '{name}' must be >= 0, got {getattr(self, name)!r}")
        # AdamW moves every weight by about lr per step whatever the gradient's scale, so lr > 1 wrecks a model
        # within a step or two (and inf/NaN at once): refuse it here rather than train on NaN losses.
        if not (isinstance(self.lr, (int, float)) and 0 < self.lr <= MAX_LR):
            raise InputError(f"config field 'lr' must lie in (0, {MAX_LR:g}], got {self.lr!r}")
        for name in ("weight_decay", "grad_clip"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise InputError(f"config field '{name}' must be a finite number >= 0"
                                 f"{' (0 = off)' if name == 'grad_clip' else ''}, got {value!r}")
        if not (math.isfinite(self.ema_gamma) and self.ema_gamma >= 0):
            raise InputError(f"config field 'ema_gamma' must be >= 0 (0 = off), got {self.ema_gamma!r}")
        for name in ("min_lr_ratio", "warmup_frac", "dropout", "beta1", "beta2"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise InputError(f"config field '{name}' must lie in [0, 1], got {value!r}")
        if self.n_embd and self.n_head and self.n_embd % self.n_head:
            raise InputError(f"config field 'n_embd' ({self.n_embd}) must be a multiple of 'n_head' ({self.n_head})")

    def resolved(self, domains: list[str]) -> ProxyConfig:
        """Return a copy with the model shape filled in and the mixture over exactly ``domains``.

        Parameters
        ----------
        domains : list of str
            The corpus domains, in corpus order; the mixture is reordered to it and padded with zeros.

        Raises
        ------
        InputError
            If the mixture names a domain the corpus lacks, or its weights do not sum to 1 within
            :data:`WEIGHT_TOL`.
        """
        self.validate()
        mixture = parse_mixture(self.mixture) if self.mixture else {}
        unknown = [d for d in mixture if d not in domains]
        if unknown:
            raise InputError(f"mixture names unknown domain(s) {unknown}; the corpus {self.corpus!r} has "
                             f"{list(domains)}")
        total = sum(mixture.values())
        if not mixture or abs(total - 1.0) > WEIGHT_TOL:
            pct = " (they look like percentages: divide them by 100, or mark them: code=60%)" \
                if abs(total - 100.0) <= 100 * WEIGHT_TOL else ""
            raise InputError(f"mixture weights sum to {total:.6g}, expected 1 (within {WEIGHT_TOL:g}): "
                             f"{_format_mixture(mixture) or '(empty)'}{pct}")
        # Renormalise inside the tolerance so the sampler's probabilities are exact; 3-decimal designs
        # (0.333,0.333,0.334) are the common case and are not an error. Sums already within 1e-9 are kept
        # as they are, so resolving twice never changes the weights (and hence the run id).
        scale = 1.0 if abs(total - 1.0) <= 1e-9 else total
        full = {d: float(mixture.get(d, 0.0)) / scale for d in domains}
        n_layer, n_embd, n_head = shape_for_size(self.model_size)
        out = dataclasses.replace(self, mixture=full, n_layer=self.n_layer or n_layer,
                                  n_embd=self.n_embd or n_embd, n_head=self.n_head or n_head)
        _check_fits_in_memory(out)
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON dict of every field."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProxyConfig:
        """Rebuild a config from :meth:`to_dict` output (unknown keys raise :class:`InputError`)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise InputError(f"unknown ProxyConfig key(s) {unknown}; known keys: {sorted(names)}")
        return cls(**data)


#: Fields that do not change a run's numbers (on one device), so they stay out of its id.
NOT_HASHED = ("corpus", "device", "num_threads")
#: Fields added after runs were first stored: hashed only when set away from their default, so the ids of
#: existing runs (and resumable stores) do not change.
HASHED_IF_SET = {"ema_gamma": 0.0}


def _format_mixture(mixture: dict[str, float]) -> str:
    return ",".join(f"{k}={v:g}" for k, v in mixture.items())


def run_id(config: ProxyConfig, corpus_fingerprint: str) -> str:
    """Stable id of a resolved run: SHA-256 (first 16 hex digits) of its hashed fields and the corpus.

    The corpus enters through its content fingerprint (``Corpus.fingerprint``), not its path, so a moved
    corpus keeps its run ids and a rebuilt, different corpus does not reuse old results. Floats are
    written with ``repr`` via JSON, so equal configs always hash equally.
    """
    payload = {k: v for k, v in config.to_dict().items()
               if k not in NOT_HASHED and not (k in HASHED_IF_SET and v == HASHED_IF_SET[k])}
    payload["corpus_fingerprint"] = corpus_fingerprint
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _coerce(name: str, kind: Any, default: Any, value: str) -> Any:
    """Convert an override string to the type of the field's default (nanoGPT's configurator rule)."""
    if isinstance(default, bool):
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        raise InputError(f"--{name}={value}: expected true or false")
    if isinstance(default, int):
        return parse_count(value, f"--{name}") if value.strip() not in ("0",) else 0
    if isinstance(default, float):
        try:
            return float(value)
        except ValueError:
            raise InputError(f"--{name}={value}: expected a number") from None
    if isinstance(default, dict):
        return parse_mixture(value, f"--{name}")
    return value


def apply_overrides(config: ProxyConfig, args: list[str]) -> ProxyConfig:
    """Apply ``--key=value`` overrides to ``config``, keeping each field's type.

    Parameters
    ----------
    config : ProxyConfig
    args : list of str
        Items like ``"--lr=1e-3"`` or ``"--block_size=64"`` (dashes in the key may be written as
        underscores or hyphens).

    Raises
    ------
    InputError
        For an item not of the form ``--key=value``, a key that is not a :class:`ProxyConfig` field, or a key set
        twice (``--lr=1e-3 --lr=2e-3``, or ``--block-size`` and ``--block_size``).

    Examples
    --------
    >>> apply_overrides(ProxyConfig(), ["--lr=1e-3", "--block-size=64"]).block_size
    64
    """
    fields = {f.name: f for f in dataclasses.fields(ProxyConfig)}
    changes: dict[str, Any] = {}
    for arg in args:
        if not arg.startswith("--") or "=" not in arg:
            raise InputError(f"override {arg!r} is not of the form --key=value (e.g. --lr=1e-3)")
        key, value = arg[2:].split("=", 1)
        key = key.replace("-", "_")
        if key not in fields:
            raise InputError(f"unknown config key {key!r} in {arg!r}; known keys: {', '.join(fields)}")
        if key in changes:  # the last one was taken without a word, as click did for an option given twice
            raise InputError(f"{arg.split('=', 1)[0]}: config key {key!r} is set twice; give it once")
        changes[key] = _coerce(key, fields[key].type, getattr(config, key), value)
    return dataclasses.replace(config, **changes)
