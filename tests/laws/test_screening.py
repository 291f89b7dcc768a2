"""Screening in auto/stack CV: a slow candidate that clearly loses on fold 1 skips the other folds, with a
table row saying so; a slow one that does well, a fast one that does badly, and one that wins a column stay.

No timing: CPU costs are injected (a fake clock that charges each law a set number of seconds per fit)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from mixlaw.laws import get_law, screening
from mixlaw.laws import selection as sel
from mixlaw.laws.screening import COST_RATIO, MIN_SECONDS, screen

DOMS = ["a", "b", "c"]


def _exp_data(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Ye's exponential law, curved enough that linear loses clearly (CV S ~0.0007 vs ~0.09 for linear)."""
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.ones(3), size=n)
    return W, (2 + np.exp(W @ [-3.0, 1.0, 2.0]) + rng.normal(0, 0.01, n))[:, None]


@pytest.fixture
def charged(monkeypatch):
    """``charged(costs)``: from now on every fit of law ``key`` costs ``costs[key]`` fake CPU seconds (others
    0); returns the list of (key, rows) of every fit made."""
    clock = [0.0]
    real = sel.fit_law

    def install(costs: dict[str, float]) -> list[tuple[str, int]]:
        calls: list[tuple[str, int]] = []

        def fake_fit(key, W, Y, **kw):
            calls.append((key, len(W)))
            clock[0] += costs.get(key, 0.0)
            return real(key, W, Y, **kw)

        monkeypatch.setattr(sel, "_clock", lambda: clock[0])
        monkeypatch.setattr(sel, "fit_law", fake_fit)
        return calls

    return install


def _rule_inputs(rng: np.random.Generator, m: int = 30):
    y = rng.normal(3.0, 0.2, size=(m, 2))
    good = y + rng.normal(0, 0.01, size=y.shape)
    bad = y + rng.normal(0, 0.2, size=y.shape)
    return y, good, bad


def _scores(y: np.ndarray, preds: dict[str, np.ndarray]) -> dict[str, list[float]]:
    return {k: [sel.score_columns(y[:, j], p[:, j])["score"] for j in range(y.shape[1])] for k, p in preds.items()}


def test_rule_screens_slow_and_bad_keeps_slow_good_and_fast_bad() -> None:
    y, good, bad = _rule_inputs(np.random.default_rng(0))
    preds = {"fast-good": good, "slow-bad": bad, "fast-bad": bad + 0.01, "fast-mid": good + 0.05,
             "slow-good": good + 0.001}
    costs = {"fast-good": 1.0, "slow-bad": 200.0, "fast-bad": 1.0, "fast-mid": 1.0, "slow-good": 200.0}
    out = screen(costs, preds, y, ["x", "z"], _scores(y, preds))
    assert set(out) == {"slow-bad"}
    why = out["slow-bad"]
    assert why.best in ("fast-good", "slow-good") and why.lost >= screening.CONFIDENCE
    msg = why.message(5)
    assert msg.startswith("screened out after fold 1 of 5: 200.0 CPU s")
    assert "clearly worse" in msg and "x the median candidate's" in msg


def test_rule_keeps_a_slow_candidate_that_is_best_on_one_column_or_not_slow_enough() -> None:
    y, good, bad = _rule_inputs(np.random.default_rng(1))
    mixed = np.column_stack([bad[:, 0], good[:, 1] - 0.0])  # bad on x, the best on z
    preds = {"a": good + np.array([0.0, 0.05]), "b": good + np.array([0.0, 0.05]), "mixed": mixed}
    costs = {"a": 1.0, "b": 1.0, "mixed": 500.0}
    assert screen(costs, preds, y, ["x", "z"], _scores(y, preds)) == {}
    # Bad everywhere but below the cost gate (ratio or absolute seconds): kept.
    preds = {"a": good, "b": good, "bad": bad}
    cheap = 2 * MIN_SECONDS / COST_RATIO
    for fast, slow in ((cheap, 0.9 * COST_RATIO * cheap), (0.001, 0.9 * MIN_SECONDS)):  # ratio / seconds short
        costs = {"a": fast, "b": fast, "bad": slow}
        assert screen(costs, preds, y, ["x", "z"], _scores(y, preds)) == {}
    costs = {"a": cheap, "b": cheap, "bad": 1.1 * COST_RATIO * cheap}
    assert set(screen(costs, preds, y, ["x", "z"], _scores(y, preds))) == {"bad"}


def test_cv_screens_a_slow_loser_after_fold_one_and_says_so(charged) -> None:
    W, Y = _exp_data()
    calls = charged({"linear": 100.0, "ye-exp": 1.0, "loglinear": 1.0})
    cv = sel.cross_validate(W, Y, domains=DOMS, targets=["e"], candidates=["ye-exp", "linear", "loglinear"])
    row = next(r for r in cv.table.rows if r.law == "linear")
    assert row.screened and row.error.startswith("screened out after fold 1 of 5")
    assert ("linear", "per-eval") not in cv.oof and ("ye-exp", "per-eval") in cv.oof
    assert sum(k == "linear" for k, _ in calls) == 1  # fold 1 only
    assert sum(k == "ye-exp" for k, _ in calls) == 5
    text = str(cv.table)
    assert "linear                  screened out after fold 1 of 5: 100.0 CPU s" in text
    assert row.to_dict()["screened"] is True
    assert sel.CVTable.from_dict(cv.table.to_dict()).rows[1].screened  # rows keep their order
    # The choice is the one an unscreened CV makes.
    plain = sel.cross_validate(W, Y, domains=DOMS, targets=["e"], candidates=["ye-exp", "linear", "loglinear"],
                               screen=False)
    assert cv.table.best("e").law == plain.table.best("e").law == "ye-exp"
    assert all(not r.screened and r.error is None for r in plain.table.rows)


def test_cv_keeps_a_slow_winner_and_auto_stack_pass_screen_through(charged) -> None:
    W, Y = _exp_data(seed=1)
    charged({"ye-exp": 100.0, "linear": 1.0, "loglinear": 1.0})
    cv = sel.cross_validate(W, Y, domains=DOMS, targets=["e"], candidates=["ye-exp", "linear", "loglinear"])
    assert not any(r.screened for r in cv.table.rows)
    assert cv.table.best("e").law == "ye-exp"
    calls = charged({"linear": 100.0, "ye-exp": 1.0, "loglinear": 1.0})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stack = get_law("stack", candidates=["ye-exp", "linear", "loglinear"]).fit(W, Y, domains=DOMS, targets=["e"])
        n_screened = len(calls)
        off = get_law("auto", candidates=["ye-exp", "linear", "loglinear"], screen=False).fit(
            W, Y, domains=DOMS, targets=["e"])
    assert "linear" not in stack.weights_["e"]
    assert "screened out" in str(stack.cv_)
    assert sum(k == "linear" for k, _ in calls[:n_screened]) == 1
    assert sum(k == "linear" for k, _ in calls[n_screened:]) == 5 and off.choice_ == {"e": "ye-exp"}
