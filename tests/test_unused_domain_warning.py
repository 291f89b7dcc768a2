"""The all-zero-domain warning concerns tables to fit on, not held-out runs or candidate mixtures."""
from __future__ import annotations

import numpy as np
import pytest


def test_unused_domain_warning_only_for_the_fitting_table(tmp_path, capsys):
    """On Olmix's DCLM swarm split 100/27, `compare --test` and `predict --mixtures` warned that the test
    table's 'fashion_and_beauty' (0 in all 27 runs) had an effect no law can estimate: true of a table to fit
    on, misleading for held-out runs or candidates, which need not use every domain."""
    import warnings

    import pandas as pd

    from mixlaw.cli import main
    from mixlaw.errors import UnusedDomainWarning

    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), 40)
    frame = pd.DataFrame({"run": [f"r{i}" for i in range(40)], "w:a": W[:, 0], "w:b": W[:, 1], "w:c": W[:, 2],
                          "loss:x": 3 - W[:, 0] + 0.5 * W[:, 1]})
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    frame.iloc[:30].to_csv(train, index=False)
    held = frame.iloc[30:].copy()
    held["w:a"] += held["w:c"]
    held["w:c"] = 0.0
    held.to_csv(test, index=False)
    law = tmp_path / "law.json"
    for argv in (["compare", "--runs", str(train), "--test", str(test), "--laws", "linear"],
                 ["fit", "--runs", str(train), "--law", "linear", "--out", str(law)],
                 ["predict", "--law", str(law), "--mixtures", str(test)]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        err = capsys.readouterr().err
        assert exc.value.code == 0, err
        assert "weight 0 in every run" not in err
    from mixlaw.data import read_runs
    with pytest.warns(UnusedDomainWarning, match=r"\['c'\] have weight 0 in every run"):
        read_runs(test)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnusedDomainWarning)
        read_runs(train)


def test_an_unused_domain_is_said_before_the_fit_not_after_it(tmp_path, capsys, monkeypatch):
    """hunt31: 'fit --law auto' on a table with a domain 0 in every run printed that warning only when the fit
    ended, after its cross-validation (minutes on a wide table): it is known once the table is read."""
    import pandas as pd
    from cli_runner import run_cli

    from mixlaw import _console
    from mixlaw.cli import _progress

    monkeypatch.setattr(_console, "PLAIN_EVERY_S", 0.0)  # a progress line on every fold fit
    monkeypatch.setitem(_progress.QUIET, "on", False)
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), 30)
    frame = pd.DataFrame({"run": [f"r{i}" for i in range(30)], "w:a": W[:, 0], "w:b": W[:, 1], "w:c": W[:, 2],
                          "w:d": 0.0, "loss:x": 3 - W[:, 0] + 0.5 * W[:, 1]})
    frame.to_csv(tmp_path / "runs.csv", index=False)
    code, _, err = run_cli(capsys, "fit", "--runs", str(tmp_path / "runs.csv"), "--law", "auto",
                           "--candidates", "linear,loglinear", "--workers", "1")
    assert code == 0, err
    lines = err.splitlines()
    said = [i for i, line in enumerate(lines) if "['d'] have weight 0 in every run" in line]
    progress = [i for i, line in enumerate(lines) if line.startswith("mixlaw: fitting auto")]
    assert len(said) == 1 and progress and said[0] < progress[0], err
