"""Coverage of a no-backtest interval term around each mixture's own pipeline prediction, for the tests of the
sizes-only and steps-only spreads (tests/ is on sys.path: it has no __init__.py)."""

from __future__ import annotations

import numpy as np


def own_prediction_cover(res, truth: dict, W: np.ndarray, half_width: np.ndarray, noise: float,  # type: ignore[no-untyped-def]
                         seed: int = 7) -> float:
    """Share of target runs whose measured loss (the true loss at the target, ``truth`` keyed by the rounded
    mixture, times relative noise ``noise``) lies within ``half_width`` (relative, one per row of ``W``) of the
    pipeline ``res``'s own prediction for that mixture."""
    center = {tuple(np.round(w, 9)): y for w, y in zip(res.mixtures, res.target_losses[:, 0], strict=True)}
    rng = np.random.default_rng(seed)
    y = np.array([truth[tuple(w)] for w in W]) * (1 + noise * rng.standard_normal(len(W)))
    c = np.array([center[tuple(w)] for w in W])
    return float(np.mean(np.abs(y / c - 1) <= half_width))
