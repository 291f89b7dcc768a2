"""Inner-CV choice of a penalty strength (laws/_regularize.py): its folds follow the law's seed."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from mixlaw.laws._regularize import choose_pooling


class _Recorder:
    """Stands in for a law: records the runs each refit is fitted on, predicts 1."""

    uses_model_params = uses_tokens = False

    def __init__(self, random_state, seen):
        self.random_state, self.seen = random_state, seen

    def clone(self):
        return self

    def set_params(self, **kw):
        return self

    def fit(self, W, Y, **kw):
        self.seen.append(tuple(np.round(W[:, 0], 12)))
        return self

    def predict(self, W, **kw):
        return np.ones((len(W), 1))


def _folds(random_state) -> list[tuple[float, ...]]:
    seen: list[tuple[float, ...]] = []
    W = np.random.default_rng(0).dirichlet(np.ones(3), size=20)
    ctx = SimpleNamespace(targets=["y"], domains=["a", "b", "c"], model_params=None, tokens=None)
    choose_pooling(_Recorder(random_state, seen), W, np.ones((20, 1)), ctx, ["y"], grid=(1.0,))
    return seen


def test_pooling_folds_follow_any_integer_seed_or_generator():
    assert _folds(np.int64(5)) == _folds(5) != _folds(0)
    assert _folds(np.random.default_rng(5)) == _folds(np.random.default_rng(5)) != _folds(0)
