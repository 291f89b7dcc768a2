"""Predictions an optimiser asks for thousands of times: the same numbers by a shorter path.

A per-eval law's parameter vector of an eval set is kept per fitted parameter set (not looked up by name at every
prediction), and the additive law predicts without building its Jacobian.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from mixlaw.fit import Params
from mixlaw.laws import ShukorAdditive, YePower
from mixlaw.laws.base import FitContext

DOMAINS = ["a", "b", "c", "d"]


def _runs(n: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.ones(len(DOMAINS)), n)
    W[: n // 4, 1] = 0.0
    W /= W.sum(axis=1, keepdims=True)
    Y = np.column_stack([2.0 + 1.0 / (0.5 + W @ [1.0, 0.3, 0.8, 0.1]), 1.5 + np.exp(-W @ [0.5, 1.0, 0.2, 0.7])])
    return W, Y * np.exp(0.002 * rng.standard_normal(Y.shape))


def test_additive_prediction_is_its_models_without_the_jacobian(monkeypatch):
    W, _ = _runs()
    law, ctx = ShukorAdditive(), FitContext(DOMAINS, ["x"])
    theta = np.concatenate([[1.7], np.random.default_rng(1).normal(0, 1, 4), [0.3, 0.6, 1.0, 0.05]])
    for X in (W, np.asfortranarray(W), W[:1]):
        want = law._model_one(X, 0, ctx)(theta)[0]
        with monkeypatch.context() as m:
            m.setattr(ShukorAdditive, "_model_one", lambda *a: pytest.fail("the model (with its Jacobian) was built"))
            assert np.array_equal(law._predict_one(X, theta, 0, ctx), want)


def test_parameter_vectors_follow_a_refit(monkeypatch):
    W, Y = _runs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        law = YePower(n_restarts=1).fit(W, Y, domains=DOMAINS, targets=["x", "y"])
        first = law.predict(W[:5])
        looked_up = []
        get = Params.__getitem__
        monkeypatch.setattr(Params, "__getitem__", lambda self, k: looked_up.append(k) or get(self, k))
        assert np.array_equal(law.predict(W[:5]), first)
        assert not looked_up  # the second prediction reads no parameter by name
        monkeypatch.undo()
        v = law._values_for("x")
        v[:] = 0.0  # a caller's copy: the law's own values are untouched
        assert np.array_equal(law.predict(W[:5]), first)
        law.fit(W[::-1][:30], Y[::-1][:30], domains=DOMAINS, targets=["x", "y"])  # other runs, other parameters
    fresh = YePower(n_restarts=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fresh.fit(W[::-1][:30], Y[::-1][:30], domains=DOMAINS, targets=["x", "y"])
    assert np.array_equal(law.predict(W[:5]), fresh.predict(W[:5]))
    assert not np.array_equal(law.predict(W[:5]), first)
    assert np.array_equal(law._values_for("y"), fresh.params_.array("value")[len(law._local_names["x"]):])
