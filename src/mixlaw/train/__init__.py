"""Built-in proxy trainer: offline byte corpus, nanoGPT-style model, mixture sampler, training loop.

Needs the ``mixlaw[train]`` extra (PyTorch). Only :mod:`.config` and :mod:`.corpus` import without torch;
``train``/``RunResult`` are loaded on first use so that ``import mixlaw.train`` stays light.
"""

from __future__ import annotations

from typing import Any

from .config import ProxyConfig, apply_overrides, parse_count, parse_mixture, run_id, shape_for_size
from .corpus import BUILTIN_DOMAINS, build_corpus

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
    # Lazy: these pull in torch (loop, model) or numpy memmaps (data) only when asked for.
    if name in ("train", "RunResult", "Checkpoint"):
        from . import loop

        return getattr(loop, name)
    if name == "Corpus":
        from .data import Corpus

        return Corpus
    raise AttributeError(f"module 'mixlaw.train' has no attribute {name!r}")
