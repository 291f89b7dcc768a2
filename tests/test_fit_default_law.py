"""`mixlaw fit` and `fit_table` without a law fit `stack` (a K-fold CV of the candidates on the user's runs), not
ye-exp: no one fixed law is best on every real table (bench/auto_vs_stack.py), and the tool is there to choose."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from cli_runner import run_cli

from mixlaw import read_runs
from mixlaw.api import fit_table


def _runs(path, n: int = 30, seed: int = 0):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    w = rng.dirichlet(np.ones(3), size=n)
    # a loss with an interior optimum in the shares, which ye-exp's single exp(t . r) cannot take
    y = 2.5 + 0.6 * ((w - [0.5, 0.3, 0.2]) ** 2).sum(axis=1) + 0.2 * np.exp(-3 * w[:, 1])
    frame = pd.DataFrame({"run": [f"r{i}" for i in range(n)], "w:a": w[:, 0], "w:b": w[:, 1], "w:c": w[:, 2],
                          "loss:x": y * np.exp(0.001 * rng.standard_normal(n))})
    frame.to_csv(path, index=False)
    return path


def test_fit_without_a_law_fits_stack_in_the_cli_and_the_api(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = _runs(tmp_path / "runs.csv")
    code, out, err = run_cli(capsys, "fit", "--runs", str(path), "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["report"]["law"] == "StackLaw" and doc["cv"]["chosen"] == {"x": "stack"} and doc["weights"]
    law = fit_table(path)
    assert type(law).__name__ == "StackLaw"
    fresh = read_runs(_runs(tmp_path / "fresh.csv", seed=1))
    # the ensemble predicts unseen mixtures of this curved surface better than the law that was the default
    stack_err = np.abs(law.predict(fresh.weights)[:, 0] / fresh.losses()[:, 0] - 1).mean()
    ye_err = np.abs(fit_table(path, law="ye-exp").predict(fresh.weights)[:, 0] / fresh.losses()[:, 0] - 1).mean()
    assert stack_err < ye_err
