"""What ``MixingLaw.fit`` does with input that has two faults, and what a failed fit leaves behind: the split of
fit's input reading into laws/_fit_input.py (52d5f9d) must not change either."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from mixlaw.errors import InputError
from mixlaw.laws import get_law


def _ragged() -> tuple[np.ndarray, np.ndarray]:
    W = np.random.default_rng(0).dirichlet(np.ones(3), 40)
    Y = np.column_stack([2 + np.exp(-2 * W[:, 0]), 3 + W[:, 1] ** 2])
    Y[:4, 1] = np.nan
    return W, Y


@pytest.mark.parametrize("objective", [None, {"a": 1, "b": 0}])
@pytest.mark.parametrize("domains", [["x", "x", "z"], ["x", "y"]])
def test_bad_domain_names_are_refused_before_the_missing_losses_are_said_skipped(objective, domains) -> None:
    # The domain names are checked before the warnings that say which missing losses the fit skips: a fit that
    # is refused skips nothing, and under -W error the user got the DataWarning instead of the InputError.
    W, Y = _ragged()
    law = get_law("auto", candidates=["linear", "loglinear"], objective=objective)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(InputError, match="domain name"):
            law.fit(W, Y, targets=["a", "b"], domains=domains)
    assert [str(w.message) for w in caught] == []


def test_a_failed_fit_leaves_the_tolerance_it_was_given() -> None:
    # score(table) reads the table at the fit's weight_tol before it checks that the law is fitted: after a fit
    # refused for its losses, rows within that fit's weight_tol=0.2 read, and the law said it is not fitted (a
    # row-sum error at the default 0.01 named a tolerance this law was never given).
    W = np.random.default_rng(0).dirichlet(np.ones(3), 40) * 1.1
    law = get_law("linear")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(InputError, match="losses must be finite and > 0"):
            law.fit(W, -np.ones(40), weight_tol=0.2)
        frame = pd.DataFrame({"run": [f"r{i}" for i in range(40)], "w:x": W[:, 0], "w:y": W[:, 1],
                              "w:z": W[:, 2], "loss:a": 2 + W[:, 0]})
        with pytest.raises(NotFittedError):
            law.score(frame)
