"""ye-pow's batched model (every solver row in one call) gives the row-by-row numbers, so the fit is unchanged."""

from __future__ import annotations

import warnings

import numpy as np

from mixlaw.laws import YePower
from mixlaw.laws.base import FitContext

DOMAINS = ["a", "b", "c", "d", "e"]


def _swarm(n: int = 50, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Runs on 1-3 domains each (zero shares, as Olmix's DCLM swarm has), three eval sets of a power-share law."""
    rng = np.random.default_rng(seed)
    W = np.zeros((n, len(DOMAINS)))
    for row in W:
        k = int(rng.integers(1, 4))
        idx = rng.choice(len(DOMAINS), size=k, replace=False)
        row[idx] = rng.dirichlet(np.ones(k))
    T = rng.normal(0, 0.5, (3, len(DOMAINS)))
    Y = np.column_stack([1.2 + np.exp(-0.4 + W ** 0.5 @ t) for t in T])
    return W, Y * np.exp(0.003 * rng.standard_normal(Y.shape))


def test_batched_rows_equal_one_row_evaluations():
    W0, _ = _swarm()
    law, ctx = YePower(), FitContext(DOMAINS, ["x", "y", "z"])
    theta = np.random.default_rng(1).normal(0, 1, (6, 2 + 2 * len(DOMAINS)))
    theta[:, 2 + len(DOMAINS):] = np.random.default_rng(2).uniform(0.05, 1.5, (6, len(DOMAINS)))
    for W in (W0, np.asfortranarray(W0)):  # a fold's rows (C order) and a table's columns (Fortran order)
        batch = law._model_batch(W, ctx)
        assert batch is not None
        pred, jac = batch(theta, np.array([0, 1, 2, 0, 1, 2]))
        one = law._model_one(W, 0, ctx)
        for r in range(len(theta)):
            p1, j1 = one(theta[r])
            assert np.array_equal(pred[r], p1) and np.array_equal(jac[r], j1)


def test_fit_with_the_batched_model_is_the_row_by_row_fit(monkeypatch):
    W, Y = _swarm()

    def fit() -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            law = YePower(alpha=1e-3, n_restarts=3).fit(W, Y, domains=DOMAINS, targets=["x", "y", "z"])
        return law.params_.array("value")

    batched = fit()
    monkeypatch.setattr(YePower, "_model_batch", lambda self, W, ctx: None)
    assert np.array_equal(batched, fit())
