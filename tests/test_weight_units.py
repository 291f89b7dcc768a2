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
    (np.array([1.0, 1.0, 0.93, 1.0]), r"row 2 \(0-based\): column 'w:a': weights sum to 0\.93, expected 1 ± 0\.01 "
                                      r"\(fix the row, or raise --weight-tol \(weight_tol=\)\)"),
])
def test_the_error_names_the_unit(scale: np.ndarray, hint: str) -> None:
    with pytest.raises(DataError, match=hint):
        RunTable(_frame(scale))


def test_bounds_take_percentages_as_mixtures_and_fixed_weights_do(tmp_path, capsys) -> None:
    # newuser4: `--mixtures code=40%,math=60%` and `--fixed code=20%` take percentages, but `--bounds code=0:30%`
    # said "expected domain=lo:hi", and `--bounds code=10:30` reached "must satisfy 0 <= lo <= hi <= 1; got (10, 30)".
    from cli_runner import run_cli

    from mixlaw.cli._common import parse_bounds

    assert parse_bounds(["a=5%:30%", "b=:0.5", "c=10%:"]) == {"a": (0.05, 0.3), "b": (0.0, 0.5), "c": (0.1, 1.0)}
    runs = tmp_path / "runs.csv"
    _frame(np.ones(12)).to_csv(runs, index=False)
    code, out, err = run_cli(capsys, "optimize", "--runs", str(runs), "--law", "linear", "--bounds", "a=0:30%",
                             "--json")
    assert code == 0, err
    import json

    assert json.loads(out)["optimum"]["upper"]["a"] == pytest.approx(0.3)
    code, _, err = run_cli(capsys, "optimize", "--runs", str(runs), "--law", "linear", "--bounds", "a=10:30")
    assert code == 2 and "bounds are shares in [0, 1]; for percentages mark them: a=10%:30%" in err, err
