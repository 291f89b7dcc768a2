"""A row of two mixtures side by side (a two-phase schedule, as Marin's two_phase_many swarm writes phase_0_<bucket>
and phase_1_<bucket>) mapped as one mixture of twice the domains: the row-sum error says what the columns are."""

from __future__ import annotations

import pandas as pd
import pytest

from mixlaw.data import RunTable
from mixlaw.errors import DataError


def test_two_phase_columns_are_named_as_two_mixtures_not_unnormalised_counts() -> None:
    # It said "no row sums to 1 (sums 2 to 2): if the weights are token counts or unnormalised ratios, divide each
    # row by its sum", which halves both phases into one mixture the runs never trained on.
    frame = pd.DataFrame({"run": ["r1", "r2", "r3"], "w:p0_a": [0.2, 0.6, 0.3], "w:p0_b": [0.8, 0.4, 0.7],
                          "w:p1_a": [0.5, 0.1, 0.7], "w:p1_b": [0.5, 0.9, 0.3], "loss:x": [3.1, 3.0, 3.2]})
    with pytest.raises(DataError, match=r"'w:p0_a' to 'w:p0_b' sum to 1 in every row, and so do 'w:p1_a' to "
                                        r"'w:p1_b': two mixtures in one row") as exc:
        RunTable(frame)
    assert "divide each row by its sum" not in str(exc.value) and "column 'w:p1_a'" in str(exc.value)
