"""``AutoLaw(per_target=False)`` (one law for every eval) chooses as ``per_target=True`` does per eval: ties in
the mean CV score, to ``TIE_DECIMALS`` decimals, go to the law with fewer parameters (not to the first candidate),
and a law whose out-of-fold predictions could not be scored on an eval (score inf) is never chosen."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from mixlaw.errors import InputError
from mixlaw.laws import auto
from mixlaw.laws.auto import AutoLaw
from mixlaw.laws.cv_table import CVRow, CVTable


def _data():
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), size=30)
    Y = np.column_stack([2.0 + np.exp(W @ [-1.0, 0.5, 0.2]), 3.0 + np.exp(W @ [0.3, -1.2, 0.1])])
    return W, Y


def _row(law, target, score, n_params, spearman=0.9):
    m = {"spearman": spearman, "rmse": 0.1, "bias": 0.0, "mre": 0.01, "r2": 0.9, "score": score}
    return CVRow(law, "per-eval", target, m, n_params=n_params)


def _fit_with(monkeypatch, rows):
    monkeypatch.setattr(auto, "cross_validate", lambda *a, **kw: SimpleNamespace(table=CVTable(rows, 30, 5, 0)))
    W, Y = _data()
    return AutoLaw(candidates=[r.law for r in rows], per_target=False).fit(W, Y, targets=["a", "b"])


def test_a_tie_in_mean_score_goes_to_fewer_parameters(monkeypatch):
    # ye-pow first and lower by 5e-13 on average: a tie to 9 decimals, which ye-exp's 7 parameters win.
    rows = [_row("ye-pow", "a", 0.3, 10), _row("ye-pow", "b", 0.5, 10),
            _row("ye-exp", "a", 0.3 + 1e-12, 7), _row("ye-exp", "b", 0.5, 7)]
    assert _fit_with(monkeypatch, rows).choice_ == {"a": "ye-exp", "b": "ye-exp"}
    # A real difference still goes to the lower score.
    rows[2] = _row("ye-exp", "a", 0.3 + 1e-6, 7)
    assert _fit_with(monkeypatch, rows).choice_ == {"a": "ye-pow", "b": "ye-pow"}


def test_a_law_unscored_on_an_eval_is_not_chosen(monkeypatch):
    # ye-exp's out-of-fold predictions on b were not finite (score inf): linear, scored on both, is chosen.
    rows = [_row("ye-exp", "a", 0.1, 7), _row("ye-exp", "b", float("inf"), 7),
            _row("linear", "a", 0.4, 3), _row("linear", "b", 0.4, 3)]
    assert _fit_with(monkeypatch, rows).choice_ == {"a": "linear", "b": "linear"}
    # No candidate scored on every eval: an error naming each one's unscored eval, not the first candidate.
    rows[3] = _row("linear", "b", float("inf"), 3)
    rows[2] = _row("linear", "a", float("inf"), 3)
    # The keyword and the flag that gives it ('mixlaw fit --law auto --law-option per_target=true').
    with pytest.raises(InputError, match=r"per_target=True \(--law-option per_target=true\).*ye-exp: not scored "):
        _fit_with(monkeypatch, rows)
