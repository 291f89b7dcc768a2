"""``mixlaw pipeline --optimize`` on a ragged multi-scale table (an eval not measured on some runs).

What it does (checked 2026-12-06): the pipeline fits the rows that have every target's loss, says which it left out
(a warning naming the lines and ``--target EVAL``), and optimises at the target with the mean of the fitted
mixtures as the reference: no crash, no NaN. What was wrong, ragged or not: the optimum's nearest run was given as
"row 5", the index of a mixture among the pipeline's fitted mixtures, not a row of the table (its run's first row
was 144): the run is now named without a row (a saved pipeline, optimised the same way, has no table).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from cli_runner import run_cli

SIZES = [1e7, 2e7, 4e7, 8e7]
STEPS = [500.0, 1000.0, 2000.0, 4000.0]


def _ragged(path, missing: str):  # type: ignore[no-untyped-def]
    """12 mixtures x 4 sizes x 4 checkpoints, evals x and y; y missing on the runs whose name matches ``missing``."""
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), size=12)
    rows = []
    for m, w in enumerate(W):
        for N in SIZES:
            for S in STEPS:
                scale = 0.8 * (1e7 / N) ** 0.3 + 0.4 * (500 / S) ** 0.4
                x = 2.0 + 0.3 * np.exp(w @ [0.5, -0.4, 0.1]) + scale
                y = 2.5 + 0.3 * np.exp(w @ [-0.6, 0.5, 0.1]) + scale
                rows.append({"run": f"m{m}-N{N:g}", "params": N, "step": S,
                             **{f"w:{d}": w[j] for j, d in enumerate("abc")},
                             "loss:x": x * (1 + 3e-3 * rng.standard_normal()),
                             "loss:y": y * (1 + 3e-3 * rng.standard_normal())})
    df = pd.DataFrame(rows)
    df.loc[df["run"].str.match(missing), "loss:y"] = np.nan
    df.to_csv(path, index=False)
    return df


def test_pipeline_optimize_on_a_ragged_table_fits_the_complete_rows_and_names_the_nearest_runs_row(
        tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "ragged.csv"
    df = _ragged(p, r"m(2|6|10)-")  # y never measured for 3 of the 12 mixtures
    args = ["pipeline", "--runs", str(p), "--target-params", "3.2e8", "--target-steps", "8000", "--route", "nested",
            "--law", "ye-exp", "--optimize"]
    code, out, err = run_cli(capsys, *args, "--json")
    assert code == 0, err
    assert "fitting x, y on the 144 of 192 rows that have each of them; left out 48 rows" in err
    opt = json.loads(out)["optimum"]
    assert np.all(np.isfinite(list(opt["weights"].values()))) and np.isfinite(opt["objective"])
    # The reference mixture is the mean of the fitted (complete) runs' mixtures, as optimize takes its runs.
    done = df[df["loss:y"].notna()].drop_duplicates("run")
    assert np.allclose([opt["natural"]["weights"][d] for d in "abc"], done[["w:a", "w:b", "w:c"]].mean(), atol=1e-9)
    # The nearest run is named, with no row: its index among the fitted mixtures (which the text called its row)
    # is no row of the table.
    assert opt["nearest_run"] is None
    w = df.loc[df["run"] == opt["nearest_run_name"], ["w:a", "w:b", "w:c"]].to_numpy(dtype=float)[0]
    assert np.isclose(abs(w - [opt["weights"][d] for d in "abc"]).sum(), opt["nearest_run_l1"], rtol=1e-6)
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    assert f"(run {opt['nearest_run_name']!r}; the runs lie" in out
