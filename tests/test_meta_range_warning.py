"""A meta-law (auto, stack) warns once that a predicted mixture leaves the fitted range, not once more per member
(`mixlaw predict` with an auto law on Olmix's DCLM swarm printed 'AutoLaw: ...' and then 'YePower: ...')."""
from __future__ import annotations

import warnings

import numpy as np

from mixlaw import get_law
from mixlaw.errors import ExtrapolationWarning, WeightRangeWarning


def test_auto_warns_once_for_weights_outside_the_fitted_range():
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), 30) * 0.5 + np.array([0.5, 0, 0])  # w_a in [0.5, 1]
    y = 2 + np.exp(-W[:, 0]) + 0.3 * W[:, 1]
    law = get_law("auto", candidates=["linear", "loglinear"], n_folds=3, random_state=0).fit(
        W, y, domains=["a", "b", "c"], targets=["x"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        law.predict(np.array([[0.1, 0.45, 0.45]]))
    msgs = [str(w.message) for w in caught if issubclass(w.category, ExtrapolationWarning)]
    assert len(msgs) == 1 and msgs[0].startswith("law 'auto': mixture weights outside the fitted range for domain 'a'")
    assert issubclass(caught[0].category, WeightRangeWarning)


def test_predict_mixtures_without_w_prefix_names_the_files_columns(tmp_path, capsys):
    """`mixlaw predict --mixtures cand.csv` with bare domain names as columns said "found columns ['run',
    'loss:_']" (the validator's probe, not the file) and suggested --columns, which predict does not take."""
    import pandas as pd
    import pytest

    from mixlaw.cli import main

    W = np.random.default_rng(0).dirichlet(np.ones(2), 12)
    runs = tmp_path / "runs.csv"
    pd.DataFrame({"run": [f"r{i}" for i in range(12)], "w:web": W[:, 0], "w:code": W[:, 1],
                  "loss:x": 3 - W[:, 0]}).to_csv(runs, index=False)
    law = tmp_path / "law.json"
    cand = tmp_path / "cand.csv"
    cand.write_text("web,code\n0.5,0.5\n")
    for argv in (["fit", "--runs", str(runs), "--law", "linear", "--out", str(law)],
                 ["predict", "--law", str(law), "--mixtures", str(cand)]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
    err = capsys.readouterr().err
    assert exc.value.code != 0
    assert "among columns ['web', 'code']" in err and "(e.g. 'w:web')" in err and "loss:_" not in err


def test_predict_mixtures_name_a_missing_domain_and_the_right_rename(tmp_path, capsys):
    """`mixlaw predict --mixtures cand.csv` on Dai & Zheng's domains: a file without the wikipedia column said
    "weights sum to 0.847692, expected 1" (not which column is missing); one of weight_<domain> columns was told
    to rename them 'w:weight_arxiv'."""
    import pandas as pd
    import pytest

    from mixlaw.cli import main

    W = np.random.default_rng(0).dirichlet(np.ones(3), 12)
    runs = tmp_path / "runs.csv"
    pd.DataFrame({"run": [f"r{i}" for i in range(12)], "w:web": W[:, 0], "w:code": W[:, 1], "w:wiki": W[:, 2],
                  "loss:x": 3 - W[:, 0]}).to_csv(runs, index=False)
    law = tmp_path / "law.json"

    def run(*argv):
        with pytest.raises(SystemExit) as exc:
            main(list(argv))
        return exc.value.code, capsys.readouterr().err

    assert run("fit", "--runs", str(runs), "--law", "linear", "--out", str(law))[0] == 0
    (tmp_path / "two.csv").write_text("w:web,w:code\n0.5,0.3\n")
    code, err = run("predict", "--law", str(law), "--mixtures", str(tmp_path / "two.csv"))
    assert code == 2 and "missing ['wiki']" in err and "sum to" not in err
    (tmp_path / "dz.csv").write_text("weight_web,weight_code,weight_wiki\n0.5,0.3,0.2\n")
    code, err = run("predict", "--law", str(law), "--mixtures", str(tmp_path / "dz.csv"))
    assert code == 2 and "(e.g. 'w:web' for 'weight_web')" in err


def test_a_json_mixture_with_a_weight_that_is_not_a_number_says_which(tmp_path):
    """`mixlaw predict --mixtures m.json` with {"web": "0.5", ...} (weights as text) was read as a run table and
    said "cannot parse the file: If using all scalar values, you must pass an index" (pandas); export --mixture
    of the same file names the weight."""
    import json

    import pytest

    from mixlaw import api
    from mixlaw.errors import InputError

    W = np.random.default_rng(1).dirichlet(np.ones(3), 12)
    law = get_law("linear").fit(W, 3 - W[:, 0], domains=["web", "code", "wiki"])
    # A weight written as text that reads as a number ("0.5", "50%") is read, as in a CSV (6e521a8); text that does
    # not is refused by name.
    for doc, bad in [({"web": "half", "code": "0.5"}, "'web' is not a number: 'half'"),
                     ({"web": 0.5, "code": True}, "'code' is not a number: True"),
                     ({"web": 0.5, "code": None}, "'code' is not a number: None")]:
        (tmp_path / "m.json").write_text(json.dumps(doc))
        with pytest.raises(InputError, match=bad):
            api.predict_table(law, tmp_path / "m.json")
    for ok in ({"web": 0.5, "code": 0.5}, {"web": "0.5", "code": "50%"}):
        (tmp_path / "m.json").write_text(json.dumps(ok))
        assert api.predict_table(law, tmp_path / "m.json").shape == (1, 2)


def test_an_all_zero_domain_the_law_never_saw_is_ignored_with_a_warning(tmp_path, capsys):
    """`mixlaw compare --test te_extra.csv` / `mixlaw predict --mixtures te_extra.csv` (Dai & Zheng's held-out runs
    with a column w:extra of zeros) stopped at "unexpected weight column(s) ['w:extra']"; a non-zero one still does."""
    import pandas as pd
    import pytest

    from mixlaw.cli import main

    W = np.random.default_rng(0).dirichlet(np.ones(2), 20)
    frame = pd.DataFrame({"run": [f"r{i}" for i in range(20)], "w:web": W[:, 0], "w:code": W[:, 1],
                          "loss:x": 3 - W[:, 0]})
    frame.iloc[:14].to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[14:].assign(**{"w:extra": 0.0}).to_csv(tmp_path / "test.csv", index=False)
    frame.iloc[14:].assign(**{"w:extra": 0.1}).to_csv(tmp_path / "bad.csv", index=False)
    law = tmp_path / "law.json"

    def run(*argv):
        with pytest.raises(SystemExit) as exc:
            main(list(argv))
        return exc.value.code, capsys.readouterr().err

    assert run("fit", "--runs", str(tmp_path / "train.csv"), "--law", "linear", "--out", str(law))[0] == 0
    for argv in (["compare", "--runs", str(tmp_path / "train.csv"), "--test", str(tmp_path / "test.csv"),
                  "--laws", "linear"],
                 ["report", "--runs", str(tmp_path / "train.csv"), "--test", str(tmp_path / "test.csv"),
                  "--laws", "linear", "--out", str(tmp_path / "r.html")],
                 ["predict", "--law", str(law), "--mixtures", str(tmp_path / "test.csv")]):
        code, err = run(*argv)
        assert code == 0 and "warning: " in err and "['w:extra'] are 0 in every row" in err and "DataWarning" not in err
    code, err = run("compare", "--runs", str(tmp_path / "train.csv"), "--test", str(tmp_path / "bad.csv"),
                    "--laws", "linear", "--weight-tol", "0.2")
    assert code == 2 and "unexpected weight column(s) ['w:extra']" in err
