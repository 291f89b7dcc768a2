"""Built-in proxy trainer: offline byte corpus, nanoGPT-style model, mixture sampler, training loop.

Needs the ``mixlaw[train]`` extra (PyTorch). Only :mod:`.loop` and :mod:`.model` need torch:
``train``/``RunResult``/``Checkpoint`` are loaded on first use so that ``import mixlaw.train`` works without it.
"""

from __future__ import annotations

from typing import Any

from .config import ProxyConfig, apply_overrides, parse_count, parse_mixture, run_id, shape_for_size
from .corpus import BUILTIN_DOMAINS, build_corpus
from .data import Corpus

__all__ = [
    "BUILTIN_DOMAINS",
    "Checkpoint",
    "Corpus",
    "ProxyConfig",
    "RunResult",
    "apply_overrides",
    "build_corpus",
    "parse_count",
    "parse_mixture",
    "run_id",
    "shape_for_size",
    "train",
]


def __getattr__(name: str) -> Any:
    # Lazy: these pull in torch (loop, model), an optional extra, only when asked for.
    if name in ("train", "RunResult", "Checkpoint"):
        from . import loop

        return getattr(loop, name)
    raise AttributeError(f"module 'mixlaw.train' has no attribute {name!r}")
