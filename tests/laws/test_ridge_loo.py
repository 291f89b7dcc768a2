"""linear / loglinear with alpha="cv" (the default): the ridge strength by closed-form leave-one-out."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.stats import spearmanr

from mixlaw.data import distinct_rows
from mixlaw.errors import TooFewObservationsError
from mixlaw.laws import get_law, law_from_dict
from mixlaw.laws.linear import LOO_GRID, least_squares, loo_ridge, mixture_groups


def _world(n_runs: int, n_domains: int, seed: int = 0, noise: float = 0.01):
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.full(n_domains, 0.5), size=n_runs)
    t = rng.normal(0.0, 1.0, n_domains)
    y = 2.0 + np.exp(0.5 * W @ t) * (1 + rng.normal(0.0, noise, n_runs))
    return W, y


def test_the_closed_form_leave_one_out_equals_refitting_without_each_run():
    W, y = _world(25, 6, seed=1)
    alpha, _, scores = loo_ridge(W, y)
    n, ybar = len(y), float(y.mean())
    s_max = float(np.linalg.svd(W, compute_uv=False)[0] ** 2)
    for a in (0.0, LOO_GRID[5] * s_max / n, LOO_GRID[15] * s_max / n):
        press = []
        for i in range(n):
            keep = np.arange(n) != i
            # the same ridge as least_squares, shrinking towards the full data's mean (as loo_ridge keeps it)
            Wk, zk = W[keep], y[keep] - ybar
            c = np.linalg.solve(Wk.T @ Wk + n * a * np.eye(W.shape[1]), Wk.T @ zk) if a > 0 else \
                np.linalg.lstsq(Wk, zk, rcond=None)[0]
            press.append((y[i] - ybar - W[i] @ c) ** 2)
        key = min(scores, key=lambda k: abs(k - a))
        assert_allclose(scores[key], np.mean(press), rtol=1e-6)
    assert alpha == min(scores, key=lambda k: (scores[k], k))


def test_cv_recovers_exact_coefficients_on_noise_free_data():
    W = np.random.default_rng(0).dirichlet(np.ones(3), size=20)
    law = get_law("linear").fit(W, W @ np.array([3.0, 2.5, 4.0]))
    assert law.get_params()["alpha"] == "cv"
    assert_allclose(law.coef(), [[3.0, 2.5, 4.0]], atol=1e-6)
    assert law.alpha_ == {"y0": 0.0}


@pytest.mark.parametrize("key", ["linear", "loglinear"])
def test_fewer_runs_than_domains_fit_with_a_ridge_and_rank_held_out_mixtures(key):
    # 50 domains, 30 runs: least squares cannot fit (it would interpolate), the leave-one-out ridge does.
    W, y = _world(330, 50, seed=0)
    with pytest.raises(TooFewObservationsError, match="too few"):
        get_law(key, alpha=0.0).fit(W[:30], y[:30])
    law = get_law(key).fit(W[:30], y[:30])
    assert law.alpha_["y0"] > 0
    assert law.dof_["y0"] <= 29
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pred = law.predict(W[30:])
    # measured 0.67 (loglinear) on this world; chance is 0
    assert spearmanr(pred, y[30:]).statistic > 0.5
    assert "Ridge strength by leave-one-out" in law.report().text()


def test_cv_needs_three_runs_and_names_the_way_out():
    W, y = _world(2, 3)
    with pytest.raises(TooFewObservationsError, match="2 run.s. are too few for alpha='cv'.*alpha=0.0"):
        get_law("loglinear").fit(W, y)


def test_a_saved_cv_law_keeps_its_strengths_and_predictions():
    W, y = _world(30, 40, seed=2)
    law = get_law("loglinear").fit(W, np.column_stack([y, y + 0.3]))
    back = law_from_dict(law.to_dict())
    assert back.alpha_ == law.alpha_ and back.dof_ == law.dof_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_allclose(back.predict(W), law.predict(W))


def test_a_fixed_alpha_is_the_plain_ridge():
    W, y = _world(40, 5, seed=3)
    law = get_law("linear", alpha=0.01).fit(W, y)
    assert_allclose(law.coef()[0], least_squares(W, y, 0.01)[0])
    assert law.alpha_ == {"y0": 0.01}


def test_auto_fits_a_table_with_more_domains_than_runs():
    # Before the leave-one-out ridge every candidate was excluded here ("no candidate law can be cross-validated").
    W, y = _world(40, 50, seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        law = get_law("auto", candidates=["ye-exp", "linear", "loglinear"]).fit(W, y)
    assert law.choice_["y0"] in ("linear", "loglinear")


def test_alpha_zero_on_fewer_mixtures_than_domains_is_the_ridges_limit():
    # 8 domains, 5 mixtures each run twice (two seeds): the runs do not pin the coefficients. Least squares'
    # least-norm answer shrank the free directions towards 0 (a domain predicted at loss 1.08 where the ridge at
    # alpha -> 0, which shrinks towards mean(y) = 3.30, gives 3.37): the optimum of the fitted law was that
    # artefact. alpha=0 is the ridge's limit. (alpha="cv" picked 0 here while each run's twin predicted it; the
    # twins are now left out together, and it picks a ridge.)
    rng = np.random.default_rng(0)
    W = np.repeat(rng.dirichlet(np.full(8, 0.5), size=5), 2, axis=0)
    y = 3.0 + W @ rng.normal(0.0, 1.0, 8) + rng.normal(0.0, 0.001, len(W))
    limit = y.mean() + np.linalg.pinv(W) @ (y - y.mean())
    assert_allclose(least_squares(W, y, 0.0)[0], limit, atol=1e-9)
    assert_allclose(least_squares(W, y, 1e-9)[0], limit, atol=1e-4)  # continuous at 0
    law = get_law("linear", alpha=0.0).fit(W, y)
    assert_allclose(law.coef()[0], limit, atol=1e-9)
    assert get_law("linear").fit(W, y).alpha_["y0"] > 0


def test_runs_of_one_mixture_are_left_out_together():
    # Two seeds of each of 6 mixtures: the closed form equals refitting without both copies, and alpha=0 (where a
    # twin left in predicted its copy almost exactly) no longer wins on a table of fewer mixtures than domains.
    rng = np.random.default_rng(3)
    W = np.repeat(rng.dirichlet(np.full(7, 0.5), size=6), 2, axis=0)
    y = 3.0 + W @ rng.normal(0.0, 1.0, 7) + rng.normal(0.0, 0.01, len(W))
    _, _, scores = loo_ridge(W, y)
    a = sorted(k for k in scores if np.isfinite(scores[k]) and k > 0)[3]
    n, ybar = len(y), float(y.mean())
    press = []
    for m in range(6):
        out = np.arange(n) // 2 == m
        Wk, zk = W[~out], y[~out] - ybar
        c = np.linalg.solve(Wk.T @ Wk + n * a * np.eye(7), Wk.T @ zk)
        press += list((y[out] - ybar - W[out] @ c) ** 2)
    assert_allclose(scores[a], np.mean(press), rtol=1e-6)
    assert not np.isfinite(scores[0.0]) or scores[0.0] > min(scores.values())


def test_alpha_zero_fits_the_directions_its_leave_one_out_scored():
    # Two domains in a fixed ratio up to a 1e-7 jitter (shares written to ~8 digits): W's last singular value is
    # 6e-8 of its first. loo_ridge scores alpha=0 without that direction (numerically absent), and chose 0 on this
    # seed; least_squares then fitted it with lstsq's own cut-off (1e-13) and gave b = [13158, -26306, 2.70, 3.20]:
    # a mixture that breaks the ratio was predicted thousands off. Both count the same directions now.
    rng = np.random.default_rng(5)
    b = rng.dirichlet(np.ones(3), size=40)
    W = np.column_stack([b[:, 0] * 2 / 3, b[:, 0] / 3 * (1 + rng.normal(0, 1e-7, 40)), b[:, 1], b[:, 2]])
    W /= W.sum(axis=1, keepdims=True)
    truth = np.array([0.5, 0.5, -0.3, 0.2])
    y = 3.0 + W @ truth + rng.normal(0.0, 0.01, 40)
    law = get_law("linear").fit(W, y)
    assert law.alpha_ == {"y0": 0.0}
    assert np.abs(law.coef()).max() < 10
    test = np.random.default_rng(1).dirichlet(np.ones(4), size=20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.abs(law.predict(test).ravel() - (3.0 + test @ truth)).max() < 0.2


def test_seeds_whose_shares_differ_in_the_last_bits_are_one_mixture_as_in_the_folds():
    # 6 mixtures at 3 seeds, each seed's shares renormalised by a script (w * (1 + 1e-15 u) / sum): the copies differ
    # by ~4e-16. mixture_groups compared rows exactly and left them out one by one (a copy left in predicting its
    # twin), while the CV folds (distinct_rows, 12 decimals) kept them together. Both group them now, and the
    # leave-one-out scores are those of exact copies.
    rng = np.random.default_rng(3)
    W0 = rng.dirichlet(np.full(7, 0.5), size=6)
    copies = [W0 * (1 + k * 1e-15 * rng.random(W0.shape)) for k in range(3)]
    W = np.concatenate([c / c.sum(axis=1, keepdims=True) for c in copies])
    exact = np.tile(W0, (3, 1))
    assert 0 < np.abs(W - exact).max() < 1e-14 and len(np.unique(W, axis=0)) > 6
    groups = mixture_groups(W)
    assert [g.tolist() for g in groups] == [g.tolist() for g in mixture_groups(exact)]
    assert sorted(g.tolist() for g in groups) == [[m, m + 6, m + 12] for m in range(6)]
    _, group = distinct_rows(W)
    assert [np.flatnonzero(group == k).tolist() for k in range(6)] == [g.tolist() for g in groups]
    y = 3.0 + exact @ rng.normal(0.0, 1.0, 7) + rng.normal(0.0, 0.01, len(W))
    a, _, scores = loo_ridge(W, y)
    a_exact, _, scores_exact = loo_ridge(exact, y)
    assert a == pytest.approx(a_exact, rel=1e-9)
    assert_allclose([v for v in scores.values()], [v for v in scores_exact.values()], rtol=1e-6)


def test_mixlaw_laws_describes_the_ridge_the_fit_is() -> None:
    # `mixlaw laws` said "closed-form least squares" of linear / loglinear, whose default fit is a ridge with its
    # strength chosen by leave-one-out per eval set (alpha="cv").
    from mixlaw.api import describe_laws
    from mixlaw.laws import get_law

    rows = {r["key"]: r["summary"] for r in describe_laws()}
    for key in ("linear", "loglinear"):
        assert get_law(key).alpha == "cv"
        assert "ridge" in rows[key] and "leave-one-out" in rows[key] and "least squares" not in rows[key], rows[key]
