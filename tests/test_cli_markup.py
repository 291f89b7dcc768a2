"""Text the CLI prints on stderr keeps its square brackets: rich reads '[name]' as a markup tag and drops it.

Found fitting Dai & Zheng's SlimPajama runs: 'mixlaw optimize' printed 'warning: additive: no start converged'
for the warning 'additive[openhermes]: no start converged' (the eval set that did not converge was lost).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from cli_runner import run_cli

from mixlaw.errors import ConvergenceWarning


def test_warning_keeps_the_eval_label(capsys):
    from mixlaw.cli._common import show_warnings

    with show_warnings():
        warnings.warn("additive[openhermes]: no start converged", ConvergenceWarning, stacklevel=1)
        warnings.warn("[bold]not a style[/bold]", ConvergenceWarning, stacklevel=1)
    err = capsys.readouterr().err
    assert "warning: additive[openhermes]: no start converged" in err
    assert "[bold]not a style[/bold]" in err


def test_written_paths_keep_their_brackets(capsys, tmp_path):
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(2), size=12)
    pd.DataFrame({"run": [f"r{i}" for i in range(12)], "w:a": W[:, 0], "w:b": W[:, 1],
                  "loss:a": 3.0 - W[:, 0]}).to_csv(tmp_path / "runs.csv", index=False)
    law = tmp_path / "law[v2].json"
    code, _, err = run_cli(capsys, "fit", "--runs", str(tmp_path / "runs.csv"), "--law", "linear", "--out", str(law))
    assert code == 0 and law.exists() and str(law) in err
    design = tmp_path / "mix[b].csv"
    code, _, err = run_cli(capsys, "design", "--domains", "a,b", "--n", "4", "--out", str(design))
    assert code == 0 and design.exists() and str(design) in err
