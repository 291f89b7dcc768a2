"""A run table whose weights are in another unit (percentages, token counts): the error says which, since
--weight-tol (below 1) cannot get past it and 'raise --weight-tol' sent users the wrong way."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixlaw.data import RunTable
from mixlaw.errors import DataError


def _frame(scale: np.ndarray) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), size=len(scale)) * scale[:, None]
    return pd.DataFrame({"run": [f"r{i}" for i in range(len(scale))],
                         **{f"w:{d}": W[:, j] for j, d in enumerate("abc")}, "loss:x": 2.0 + W[:, 0]})


@pytest.mark.parametrize(("scale", "hint"), [
    (np.full(6, 100.0), r"sum to 100, expected 1 ± 0\.01 \(every row sums to 100: the weights look like percentages; "
                        r"divide them by 100\)"),
    (np.array([3e9, 5e9, 4e9]), r"\(no row sums to 1 \(sums 3e\+09 to 5e\+09\): if the weights are token counts or "
                                r"unnormalised ratios, divide each row by its sum\)"),
    (np.array([1.0, 1.0, 0.93, 1.0]), r"row 4: column 'w:a': weights sum to 0\.93, expected 1 ± 0\.01 \(fix the row, "
                                      r"or raise --weight-tol\)"),
])
def test_the_error_names_the_unit(scale: np.ndarray, hint: str) -> None:
    with pytest.raises(DataError, match=hint):
        RunTable(_frame(scale))
