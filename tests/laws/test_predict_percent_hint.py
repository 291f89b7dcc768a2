"""predict on an array of percentages (review of the laws, 2026-12-05)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from mixlaw.errors import WeightRangeWarning
from mixlaw.laws import get_law


def test_percentages_passed_to_predict_are_named_in_the_range_warning():
    # Before: "mixture weights outside the fitted range for domain 'd2' (74.7; fitted [0.000138, 0.841]); also 'd1',
    # 'd0'" and a prediction of 6.1 for losses of 2-4.5 (no LossRangeWarning: within 3x), without the cause.
    W = np.random.default_rng(0).dirichlet(np.ones(3), size=30)
    law = get_law("ye-exp").fit(W, 2 + np.exp(W @ [0.0, -1.0, 0.5]))
    with pytest.warns(WeightRangeWarning, match="every row sums to 100: the weights look like percentages"):
        law.predict(100 * W[:2])
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        law.predict(np.array([[0.0, 0.0, 1.0]]))  # a vertex outside the range: no percentage hint
    assert rec and all("percentages" not in str(w.message) for w in rec)
