"""The ridge laws' inner CV (laws/_regularize.py) says the folds it used, and fails clearly on folds too small."""

from __future__ import annotations

import numpy as np
import pytest

from mixlaw.errors import TooFewObservationsError
from mixlaw.laws import get_law

M = 20
DOMAINS = [f"d{j}" for j in range(M)]


def _repeated(g: int, reps: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``g`` mixtures of 20 domains at ``reps`` seeds each (one fold per mixture when g < 5)."""
    rng = np.random.default_rng(seed)
    t = np.zeros(M)
    t[:4] = [-2.0, -1.0, 1.0, 1.5]
    W = np.repeat(rng.dirichlet(np.ones(M), size=g), reps, axis=0)
    y = (2.0 + np.exp(0.3 + W @ t)) * (1 + 0.001 * rng.standard_normal(len(W)))
    return W, y


def test_the_too_few_runs_error_names_the_inner_folds_actually_dealt():
    # 4 mixtures x 4 seeds: the inner CV deals 4 folds (one mixture each), not 5; each refit has 12 of 16 runs.
    W, y = _repeated(4, 4)
    with pytest.raises(TooFewObservationsError, match=r"refits the law on 3 of 4 inner folds of the 16 runs: "):
        get_law("additive", alpha="cv", gamma_pooling=0.0).fit(W, y, domains=DOMAINS)


@pytest.mark.parametrize("key", ["bimix", "autoscale"])
def test_pooling_cv_on_folds_too_small_says_so_and_what_fits(key):
    # 9 runs of 3 domains fit bimix's 7 / autoscale's 8 parameters, but not its inner folds' 7 (4 of 5 folds).
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), size=9)
    y = 2 + 0.5 * (W + 0.01) ** -0.3 @ [1.0, 0.5, 0.2]
    get_law(key, pooling=0.01).fit(W, y, domains=["a", "b", "c"], targets=["avg"])
    with pytest.raises(TooFewObservationsError, match=r"pooling='cv' refits the law on 4 of 5 inner folds of the 9 "
                                                      r"runs: .* too few .*; a fixed strength fits the 9 runs: "
                                                      r"pooling=0\.01 \(--law-option pooling=0\.01\)") as err:
        get_law(key, pooling="cv").fit(W, y, domains=["a", "b", "c"], targets=["avg"])
    assert err.value.n_obs == 7
