"""auto and stack on an eval set whose loss is the same in every run (review of the laws, 2026-12-05)."""

from __future__ import annotations

import numpy as np
import pytest

from mixlaw.errors import InputError
from mixlaw.laws import get_law


@pytest.mark.parametrize("key", ["auto", "stack"])
def test_a_constant_eval_is_refused_before_the_cross_validation(key):
    # Before: every candidate was fitted on every fold (8 s on these 40 runs), then "no candidate law can be
    # cross-validated on 'flat' with these runs, or none ranks them better than chance (ye-exp: out-of-fold
    # spearman 0.000; ...)" for all 11 candidates, which did not say why.
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), size=40)
    Y = np.column_stack([2.0 + np.exp(W @ [0.0, -1.0, 0.5]), np.full(40, 2.0)])
    with pytest.raises(InputError, match=r"'flat' is 2 in every one of the 40 runs: a constant loss leaves nothing"):
        get_law(key).fit(W, Y, targets=["varies", "flat"])


def test_a_constant_eval_inside_an_objective_is_fitted():
    # The mean of a constant and a varying eval still ranks the runs: only a constant column is refused.
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), size=40)
    Y = np.column_stack([2.0 + np.exp(W @ [0.0, -1.0, 0.5]), np.full(40, 2.0)])
    law = get_law("auto", objective="mean", candidates=["ye-exp", "linear"]).fit(W, Y, targets=["varies", "flat"])
    assert np.all(np.isfinite(law.predict(W)))


@pytest.mark.parametrize("key", ["ye-exp", "linear", "additive-ens"])
def test_a_single_law_on_a_constant_eval_warns_and_reports_r2_as_not_a_number_to_read(key):
    """A single law fitted a constant eval set without a word and printed 'R2=nan'."""
    from mixlaw.errors import DataWarning

    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), size=40)
    with pytest.warns(DataWarning, match=r"'flat' is 2 in every one of its 40 runs: the mixture does not change it"):
        law = get_law(key).fit(W, np.full(40, 2.0), targets=["flat"])
    assert "R2=n/a (constant losses)" in str(law.report())
    Y = np.column_stack([2.0 + np.exp(W @ [0.0, -1.0, 0.5]), np.full(40, 2.0)])
    with pytest.warns(DataWarning, match=r"'flat' is 2 in every one"):
        get_law(key).fit(W, Y, targets=["varies", "flat"])


@pytest.mark.parametrize("key", ["auto", "stack"])
def test_an_eval_without_signal_among_others_names_the_ones_to_leave_out(key):
    """One eval set that no law ranks better than chance stopped auto / stack on every eval, and the error (every
    candidate's failure on that eval, 1,700 characters on Olmix's update-5 swarm) never said the others fitted:
    it now counts them and names every eval set to leave out of the targets."""
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), size=30)
    signal = 2.0 + np.exp(W @ [0.0, -1.0, 0.5])
    noise = 2.0 + 0.1 * rng.permutation(np.linspace(0, 1, 30))
    Y = np.column_stack([signal, noise, signal * 1.1])
    law = get_law(key, candidates=["linear", "loglinear"])
    with pytest.raises(InputError, match=r"better than chance; 2 of the 3 eval sets have a law that does: leave "
                                         r"'noise' out of the targets \(--target, targets=\) \(linear: out-of-fold"):
        law.fit(W, Y, targets=["a", "noise", "b"])
    # Alone, it keeps the message it had: nothing else to fit.
    with pytest.raises(InputError, match=r"better than chance \(linear: out-of-fold"):
        get_law(key, candidates=["linear", "loglinear"]).fit(W, noise, targets=["noise"])


@pytest.mark.parametrize("key", ["auto", "stack"])
def test_runs_of_one_mixture_are_refused_before_the_cross_validation(key):
    """Runs that all train on one mixture (seeds; a domain that is 0 in every run beside one other) were
    cross-validated, and the error listed every candidate's out-of-fold Spearman (-0.59 on 10 Marin runs), with no
    word that the mixtures were the same; one mixture at several model sizes was fitted as a stack."""
    rng = np.random.default_rng(0)
    W = np.tile([0.0, 1.0], (10, 1))
    y = 1.0 + 0.02 * rng.standard_normal(10)
    with pytest.raises(InputError, match=r"the 10 runs all train on one mixture, so no mixing law can tell mixtures "
                                         r"apart: add runs at other mixtures$"):
        get_law(key).fit(W, y, targets=["x"])
    N = np.repeat([1e6, 4e6, 1.6e7], 4)
    W3 = np.tile([0.3, 0.7], (12, 1))
    with pytest.raises(InputError, match=r"the 12 rows all train on one mixture.*a candidate that takes them "
                                         r"\(candidates=, --candidates: dz-eq1.*`mixlaw pipeline` extrapolates"):
        get_law(key, candidates=["linear", "loglinear"]).fit(W3, 2 + 10 / N ** 0.3, targets=["x"], model_params=N)


@pytest.mark.parametrize("key", ["auto", "stack"])
def test_one_mixture_at_several_sizes_is_fitted_by_a_candidate_that_takes_the_size(key):
    """A candidate that takes the model size learns L(N) from one mixture's sizes: auto chose dz-eq1 there (2.014 at
    N = 6.4e7), and `mixlaw pipeline --law stack` fits such a law on one mixture's final checkpoints; the refusal of
    one-mixture runs stopped both ('no pipeline candidate can be backtested ... direct stack: ... `mixlaw pipeline`
    extrapolates a mixture across scales', said by mixlaw pipeline itself)."""
    N = np.repeat([1e6, 4e6, 1.6e7], 4)
    W3 = np.tile([0.3, 0.7], (12, 1))
    y = 2 + 10 / N ** 0.3 + 0.001 * np.random.default_rng(0).standard_normal(12)
    law = get_law(key, candidates=["dz-eq1", "linear"]).fit(W3, y, targets=["x"], model_params=N)
    assert np.all(np.diff(law.predict(W3[[0, 4, 8]], model_params=N[[0, 4, 8]])) < 0)  # falls with N
