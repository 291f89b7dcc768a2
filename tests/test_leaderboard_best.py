"""``Leaderboard.best(split, metric)`` from Python (hunt34c, a notebook user's checks).

``best(split, "bias")`` returned the law with the largest mean signed error, the most biased one (linear, +7.3 %
on RegMix's test_1m, over ye-exp's +1.1 %), since every metric but mre, rmse and regret_at_1 was maximised; and a
split no law was scored on (a typo) raised the bare ``ValueError: max() arg is an empty sequence``.
"""

from __future__ import annotations

import pytest

from mixlaw.compare import LawScore, Leaderboard
from mixlaw.errors import InputError


def _board() -> Leaderboard:
    def row(law: str, bias: float, mre: float, rho: float) -> LawScore:
        return LawScore(law, 0.1, 3, {"test": {"spearman": rho, "pearson": rho, "mre": mre, "rmse": mre,
                                                "bias": bias, "r2": rho, "regret_at_1": mre}})
    return Leaderboard([row("linear", 0.073, 0.06, 0.87), row("ye-exp", -0.011, 0.03, 0.97),
                        row("additive", 0.013, 0.011, 0.99), LawScore("bad", 0.0, 0, {}, error="no fit")],
                       ["a"], "train", 10)


def test_best_by_bias_is_the_least_biased_law_either_sign():
    board = _board()
    assert board.best("test", "bias").law == "ye-exp"  # |-0.011| is the smallest; the largest, 0.073, was chosen
    assert board.best("test").law == board.best("test", "mre").law == "additive"


def test_best_of_an_unknown_split_names_the_splits():
    with pytest.raises(InputError, match=r"no law was scored on split 'tset'; the splits: test"):
        _board().best("tset")
    with pytest.raises(InputError, match="unknown metric"):
        _board().best("test", "spearmann")
