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
