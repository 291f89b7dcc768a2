"""A row of two mixtures side by side (a two-phase schedule, as Marin's two_phase_many swarm writes phase_0_<bucket>
and phase_1_<bucket>) mapped as one mixture of twice the domains: the row-sum error says what the columns are."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from cli_runner import run_cli

from mixlaw.data import RunTable, read_runs
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


def _marin_like(path) -> None:
    """Marin's two_phase_many.csv layout, cut down: W&B ids, run_name, phase_0_/phase_1_ shares, eval/.../bpb."""
    rng = np.random.default_rng(0)
    doms = ["dolma3_arxiv", "dolma3_cc/art_and_design_high", "dolma3_stack_edu", "dolmino_synth_math"]
    rows = []
    for i in range(12):
        a, b = rng.dirichlet(np.ones(4)), rng.dirichlet(np.ones(4))
        rows.append({"wandb_run_id": f"w{i}", "run_id": i, "run_name": f"run_{i:05d}", "status": "completed",
                     **{f"phase_0_{d}": a[j] for j, d in enumerate(doms)},
                     **{f"phase_1_{d}": b[j] for j, d in enumerate(doms)},
                     "eval/uncheatable_eval/bpb": 1 + 0.1 * a[0] + 0.2 * b[1],
                     "eval/paloma/c4_en/bpb": 1.2 + 0.1 * b[0],
                     "lm_eval/mmlu_5shot/acc": 0.3})
    pd.DataFrame(rows).to_csv(path, index=False)


def test_a_table_of_phase_schedules_gets_a_map_of_one_phase(tmp_path, capsys) -> None:
    # `fit --runs two_phase_many.csv` suggested the W&B template 'run=Name,w:*=mixture/*,loss:*=eval/*/loss'.
    path = tmp_path / "two_phase.csv"
    _marin_like(path)
    code, _, err = run_cli(capsys, "fit", "--runs", str(path), "--law", "linear")
    assert code == 2
    assert "map one phase of its schedule of 2 phases (phase_0_*, phase_1_*;" in err
    assert "mixture/*" not in err
    cols = re.search(r"--columns '([^']+)'", err).group(1)
    assert cols == "w:*=phase_1_*,loss:*=*/bpb,run=run_name"
    out = tmp_path / "runs.csv"
    code, _, err = run_cli(capsys, "runs", "import", str(path), "--columns", cols, "--out", str(out))
    assert code == 0, err
    table = read_runs(out)
    assert table.domains[0] == "dolma3_arxiv" and len(table) == 12 and table.runs[0] == "run_00000"
