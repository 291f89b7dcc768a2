"""The same runs in another row order give the same folds, CV scores, choices and predictions.

Every K-fold split was dealt by row position: shuffling Marin's 280 rows moved loglinear-sat's predictions by up to
1.9 % (its inner CV chose other features) and could change ``auto``'s CV table and choice. Folds are now dealt by
the runs' content (mixlaw.laws._folds)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from mixlaw.laws import get_law
from mixlaw.laws._folds import canonical_order, deal_folds
from mixlaw.laws.cv_table import CVRow, CVTable
from mixlaw.laws.selection import fold_ids

DOMS = [f"d{j}" for j in range(5)]


def _runs(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.full(5, 0.7), size=n)
    # A saturating loss with a bend no law here has exactly, plus 1 % noise: the inner CVs have a real choice.
    y = 2.0 + 0.8 * np.exp(-3 * W[:, 0]) + 0.5 / (1 + 20 * W[:, 1]) + 0.3 * W[:, 2] ** 2
    return W, (y * np.exp(rng.normal(0, 0.01, n)))[:, None]


def _shuffled(seed: int, n: int) -> np.ndarray:
    return np.random.default_rng(100 + seed).permutation(n)


def test_folds_follow_the_runs_not_their_rows() -> None:
    W, _ = _runs()
    folds = fold_ids(len(W), 5, 0, same=W)
    for s in range(3):
        p = _shuffled(s, len(W))
        assert np.array_equal(fold_ids(len(W), 5, 0, same=W[p]), folds[p])
    # Without the runs' content there is nothing to deal by but the order given.
    assert np.array_equal(fold_ids(len(W), 5, 0), np.random.default_rng(0).permutation(len(W)) % 5)


def test_repeated_mixtures_share_a_fold_and_few_mixtures_are_dealt_run_by_run() -> None:
    W, _ = _runs(12)
    rep = np.repeat(W, 3, axis=0)
    folds = deal_folds(5, np.random.default_rng(0), rep)
    assert all(len(set(folds[3 * i:3 * i + 3])) == 1 for i in range(12)) and set(folds) == set(range(5))
    # Three mixtures at four seeds cannot make five folds of new mixtures: runs are dealt one by one, in content
    # order (equal rows are interchangeable), into min(5, 12) folds.
    few = np.repeat(W[:3], 4, axis=0)
    folds = deal_folds(5, np.random.default_rng(0), few)
    assert np.bincount(folds).tolist() == [3, 3, 2, 2, 2]
    p = _shuffled(0, len(few))
    shuffled = deal_folds(5, np.random.default_rng(0), few[p])
    assert sorted(zip(map(tuple, few[p]), shuffled, strict=True)) == sorted(zip(map(tuple, few), folds, strict=True))


def test_canonical_order_sorts_rows_by_content() -> None:
    X = np.array([[0.5, 0.5], [0.2, 0.8], [0.5, 0.1], [0.2, 0.8 + 1e-15]])
    order = canonical_order(X)
    assert order.tolist() == [1, 3, 2, 0]  # 1e-15 apart is one row (12 decimals): the stable sort keeps 1 before 3
    assert canonical_order(X[:, 0], None, X[:, 1]).tolist() == order.tolist()  # None left out, 1-D blocks columns


@pytest.mark.parametrize("key, options", [("loglinear-sat", {}), ("ye-exp", {"alpha": "cv"}),
                                          ("ye-pow", {"alpha": "cv"})])
def test_a_law_that_chooses_by_inner_cv_predicts_the_same_from_shuffled_rows(key: str, options: dict) -> None:
    W, Y = _runs()
    Wq = np.random.default_rng(1).dirichlet(np.ones(5), size=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = np.asarray(get_law(key, **options).fit(W, Y, domains=DOMS).predict(Wq))
        for s in range(2):
            p = _shuffled(s, len(W))
            got = np.asarray(get_law(key, **options).fit(W[p], Y[p], domains=DOMS).predict(Wq))
            # Up to floating-point summation order (the folds, hence the choices, are the same).
            np.testing.assert_allclose(got, ref, rtol=1e-7)


def test_lightgbm_fits_the_same_trees_from_shuffled_rows() -> None:
    pytest.importorskip("lightgbm")
    W, Y = _runs(80)
    Wq = np.random.default_rng(1).dirichlet(np.ones(5), size=30)
    for options in ({}, {"early_stopping_rounds": 5}):
        ref = np.asarray(get_law("lightgbm", **options).fit(W, Y, domains=DOMS).predict(Wq))
        p = _shuffled(0, len(W))
        got = np.asarray(get_law("lightgbm", **options).fit(W[p], Y[p], domains=DOMS).predict(Wq))
        np.testing.assert_array_equal(got, ref)


def test_auto_scores_and_chooses_the_same_from_shuffled_rows() -> None:
    W, Y = _runs()
    cands = ["linear", "loglinear", "loglinear-sat", "ye-exp"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = get_law("auto", candidates=cands).fit(W, Y, domains=DOMS)
        p = _shuffled(0, len(W))
        got = get_law("auto", candidates=cands).fit(W[p], Y[p], domains=DOMS)
    assert got.choice_ == ref.choice_
    a = {r.law: r.metrics for r in ref.cv_.rows}
    for r in got.cv_.rows:
        for m in ("spearman", "rmse", "score"):
            assert r.metrics[m] == pytest.approx(a[r.law][m], rel=1e-7, abs=1e-12)


def test_a_tie_in_cv_score_goes_to_the_law_with_fewer_parameters() -> None:
    m = {"spearman": 1.0, "rmse": 3.8e-5, "bias": 0.0, "mre": 0.0, "r2": 1.0}
    rows = [CVRow("ye-pow", "per-eval", "y", {**m, "score": 1.2e-10}, 14),
            CVRow("ye-exp", "per-eval", "y", {**m, "score": 1.3e-10}, 7),
            CVRow("linear", "per-eval", "y", {**m, "score": 0.02}, 6)]
    table = CVTable(rows, 24, 5, 0)
    assert table.best("y").law == "ye-exp"
    # A real difference in score still wins over parameters.
    rows[0] = CVRow("ye-pow", "per-eval", "y", {**m, "score": 1e-4}, 14)
    rows[1] = CVRow("ye-exp", "per-eval", "y", {**m, "score": 2e-4}, 7)
    assert CVTable(rows, 24, 5, 0).best("y").law == "ye-pow"
