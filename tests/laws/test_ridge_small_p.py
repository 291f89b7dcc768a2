"""Ridge laws (ye-exp, ye-pow, additive with alpha > 0) fitted with fewer runs than coefficients.

The engine counts only the free parameters a ridge leaves unpenalised against the runs
(:func:`mixlaw.fit.ridge_counted_params`); without a ridge the refusal names the counts as before.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from mixlaw import metrics
from mixlaw.errors import TooFewObservationsError
from mixlaw.fit import Param, Params, fit_model, pooling_penalty, ridge_counted_params
from mixlaw.laws import get_law, law_from_dict
from mixlaw.laws._regularize import ALPHA_GRID, SMALL_P_GRID, choose_alpha

M = 20
DOMAINS = [f"d{j}" for j in range(M)]


def _data(n_fit: int = 16, n_test: int = 200, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Ye's law on 20 domains of which 4 matter, 16 fitting runs (ye-exp has 21 coefficients, ye-pow 42)."""
    rng = np.random.default_rng(seed)
    t = np.zeros(M)
    t[:4] = [-2.0, -1.0, 1.0, 1.5]
    W = rng.dirichlet(np.ones(M), size=n_fit + n_test)
    y = 2.0 + np.exp(0.3 + W @ t)
    return W[:n_fit], y[:n_fit], W[n_fit:], y[n_fit:]


@pytest.mark.parametrize(("key", "opts"), [("ye-exp", {"alpha": 1.0}), ("ye-pow", {"alpha": 1.0}),
                                           ("additive", {"alpha": 1.0, "gamma_pooling": 1.0})])
def test_a_ridge_fits_fewer_runs_than_coefficients_and_ranks_held_out_mixtures(key, opts):
    W, y, Wt, yt = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        law = get_law(key, **opts).fit(W, y, domains=DOMAINS)
        pred = law.predict(Wt)
    assert law.n_params_ > len(y)
    assert np.all(np.isfinite(pred))
    # Measured (16 runs, 200 held out): Spearman 0.82 / 0.66 / 0.77, loglinear's leave-one-out ridge 0.57; a
    # constant or a wrong sign would rank at <= 0.
    assert metrics.spearman(yt, pred) > 0.5
    assert metrics.mre(yt, pred) < 0.05
    # The report counts the ridge's effective degrees of freedom: at most the runs, not the 21-42 coefficients.
    eff = law._n_effective()
    assert eff is not None and 0 < eff < len(y)
    assert f"(effective {eff:.1f})" in str(law.report())
    # Saved and loaded, the law keeps its count.
    assert law_from_dict(law.to_dict())._n_effective() == pytest.approx(eff)


def test_ye_exp_with_a_ridge_recovers_which_domains_help():
    W, y, _, _ = _data()
    law = get_law("ye-exp", alpha=1.0).fit(W, y, domains=DOMAINS)
    t = law.interactions()[0]
    # Relative to the reference domain; the true t are -2, -1 (help), 1, 1.5 (hurt), 0 for the other 16.
    assert t[0] < t[1] < np.median(t[4:]) < t[2] < t[3]


@pytest.mark.parametrize("key", ["ye-exp", "ye-pow", "additive"])
def test_without_a_ridge_fewer_runs_than_coefficients_still_raise_naming_the_counts(key):
    W, y, _, _ = _data()
    with pytest.raises(TooFewObservationsError, match=r"16 observations are too few to fit (21|42|41) parameters; "
                                                      r"need at least (22|43|42)") as err:
        get_law(key, alpha=0.0).fit(W, y, domains=DOMAINS)
    assert err.value.n_obs == 16 and err.value.n_params in (21, 42, 41)
    # ... and says what fits them: a ridge (with pooled exponents, for additive), as keyword and as flag.
    assert "alpha='cv'" in str(err.value) and "--law-option alpha=cv" in str(err.value)
    assert ("gamma_pooling=1" in str(err.value)) == (key == "additive")


def test_additive_with_free_exponents_counts_them_against_the_runs():
    # The ridge on log C leaves E, the mean log C and the 20 unpooled exponents: 22 unpenalised of 41.
    W, y, _, _ = _data()
    with pytest.raises(TooFewObservationsError, match=r"16 observations are too few to fit the 22 of its 41 free "
                                                      r"parameters that its penalty leaves unpenalised"):
        get_law("additive", alpha=1.0, gamma_pooling=0.0).fit(W, y, domains=DOMAINS)
    with pytest.raises(TooFewObservationsError, match=r"inner folds of the 16 runs: .*--law-option gamma_pooling=1"):
        get_law("additive", alpha="cv").fit(W, y, domains=DOMAINS)


@pytest.mark.parametrize("key", ["ye-exp", "ye-pow"])
def test_cv_alpha_fits_fewer_runs_than_coefficients_on_the_wider_grid(key):
    W, y, Wt, yt = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # One start for the final fit too (the CV's refits take one whatever n_restarts says): the same alpha and
        # the same held-out predictions here as with the default 8 (ye-exp) / 2 (ye-pow) starts.
        law = get_law(key, alpha="cv", n_restarts=1).fit(W, y, domains=DOMAINS)
        pred = law.predict(Wt)
    scores = law.cv_scores_["y0"]
    # Every inner fold fits 12-13 runs against 21 / 42 coefficients: all strengths fitted (finite scores).
    assert tuple(scores) == SMALL_P_GRID and all(np.isfinite(v) for v in scores.values())
    assert law.alpha_["y0"] in SMALL_P_GRID
    assert np.all(np.isfinite(pred)) and metrics.spearman(yt, pred) > 0.5


def test_cv_alpha_keeps_its_grid_with_more_runs_than_coefficients():
    W, y, _, _ = _data(n_fit=60)
    law = get_law("ye-exp", alpha="cv", n_restarts=1).fit(W, y, domains=DOMAINS)
    assert tuple(law.cv_scores_["y0"]) == ALPHA_GRID
    assert law._n_effective() is None  # the report counts its 21 coefficients, as before


def test_a_zero_strength_scores_inf_on_folds_too_small_for_it():
    W, y, _, _ = _data()
    law = get_law("ye-exp", n_restarts=1)
    alpha, scores = choose_alpha(law, W, y, DOMAINS, "y0", np.random.default_rng(0), grid=(0.0, 1.0))
    assert scores[0.0] == float("inf") and np.isfinite(scores[1.0]) and alpha == 1.0


def test_ridge_counted_params_is_the_null_space_of_the_penalty_on_the_free_parameters():
    spec = Params([Param("c", 1.0, 1.0), Param("a", 0.0, 0.0), Param("b", 0.0, 0.0), Param("g1", 0.5, 0.5),
                   Param("g2", 0.5, 0.5)])
    pool = pooling_penalty(1.0, start=3)
    assert ridge_counted_params(pool, spec.array(), spec.vary_mask) is None  # a pooling alone is no ridge

    def ridge(theta):
        v = np.zeros_like(theta)
        v[1:3] = 2 * theta[1:3]
        return float(theta[1:3] @ theta[1:3]), v + pool(theta)[1]

    ridge.hessian = lambda theta: np.diag([0, 2, 2, 0, 0.0]) + pool.hessian(theta)
    ridge.quadratic, ridge.identifies = True, True
    # c and the mean exponent are flat; a and b ridged, g1 - g2 pooled.
    assert ridge_counted_params(ridge, spec.array(), spec.vary_mask) == 2
    # A fixed parameter is not counted.
    assert ridge_counted_params(ridge, spec.array(), np.array([False, True, True, True, True])) == 1

    def model(theta):
        return np.full(2, theta[0]) + 0 * theta[1], np.tile([1.0, 0, 0, 0, 0], (2, 1))

    # Two observations, 5 free parameters, 2 unpenalised: refused, naming both counts.
    with pytest.raises(TooFewObservationsError, match="2 observations are too few to fit the 2 of its 5 free"):
        fit_model(model, spec, np.array([1.0, 1.1]), penalty=ridge)


def test_a_ridge_law_on_fewer_runs_than_coefficients_can_choose_a_mixture():
    from mixlaw.optimize import check_enough_runs, optimize_mixture

    W, y, _, _ = _data()
    law = get_law("ye-exp", alpha=1.0).fit(W, y, domains=DOMAINS)
    check_enough_runs(law)  # 16 runs, 2 unpenalised parameters (c, log_k): enough
    opt = optimize_mixture(law, within_fitted_range=True, random_state=0)
    r = opt.weight_array()
    # The true law's best domains are d0 (t = -2) and d1 (-1): the optimum puts more on them than on d2 / d3.
    assert r[0] + r[1] > r[2] + r[3]


def test_a_loaded_law_counts_the_eval_sets_fitted_at_or_above_their_coefficients():
    # 21 runs: eval a has 21 free coefficients (fitted below them: the ridge's effective dof), eval b 20 (one fixed:
    # its coefficients). Loaded, the law has no results_: counting b from them raised KeyError in its report.
    rng = np.random.default_rng(0)
    t = np.zeros(M)
    t[:4] = [-2.0, -1.0, 1.0, 1.5]
    W = rng.dirichlet(np.ones(M), size=21)
    Y = np.column_stack([2.0 + np.exp(0.3 + W @ t), 2.5 + np.exp(0.1 + W @ t)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        law = get_law("ye-exp", alpha=1.0, fixed={"b.t_d5": 0.0}).fit(W, Y, domains=DOMAINS, targets=["a", "b"])
    assert set(law._ridge_edf) == {"a"}
    eff = law._n_effective()
    assert eff == pytest.approx(law._ridge_edf["a"] + 20)
    loaded = law_from_dict(law.to_dict())
    assert loaded._n_effective() == pytest.approx(eff)
    assert loaded._n_free_checked() == law._n_free_checked()
    assert f"(effective {eff:.1f})" in str(loaded.report())


def test_ye_pow_under_a_strong_ridge_converges_on_every_inner_fold():
    alpha = 1e4  # (1e3 alike: 4 of 5 folds stopped at the cap before)
    # A strong ridge on t puts the optimum at c = 0 (the ridge prices t by its effect on log L, k / (c + k) times
    # its own). From the data-driven start (c = 0.9 min L) the solver crawled along the valley c + k = const and
    # stopped at the 2002-evaluation cap in 5 of 5 inner folds at 1e4 (objective 20.25 on fold 0 for the optimum's
    # 19.74), 4 of 5 at 1e3; the ridge's own limit (c = 0, t = 0) is now a second start where its objective is lower.
    from mixlaw.laws._folds import deal_folds

    W, y, _, _ = _data()
    fold = deal_folds(5, np.random.default_rng(0), W)  # choose_alpha's folds at random_state 0
    for f in range(int(fold.max()) + 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            law = get_law("ye-pow", alpha=alpha, n_restarts=1).fit(W[fold != f], y[fold != f], domains=DOMAINS)
        res = law.results_["y0"]
        assert res.n_starts == 2 and res.n_converged >= 1  # the data-driven start, then the ridge's limit
        assert law.params_["y0.c"].value == 0.0 and res.objective == min(res.start_objectives)
