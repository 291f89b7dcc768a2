"""The warnings ``MixingLaw.fit`` (and ``RunTable``) give about their input and what it leaves of the fit (rows
renormalised or left out, too few distinct mixtures, a constant eval, a scale-blind law) name the line that called
it, not a line inside mixlaw: a user reading 'base.py:412: DataWarning' cannot tell which of their fits it was
about. (A solver's ConvergenceWarning goes through the same errors.user_stacklevel; no test here triggers one.)"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from mixlaw.data import RunTable
from mixlaw.errors import DataWarning, ScaleWarning
from mixlaw.laws import get_law


def _caught(fn) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    return list(caught)


def _mixtures(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet(np.ones(3), n)


def _assert_named_here(caught: list[warnings.WarningMessage], kind: type[Warning], match: str) -> None:
    hits = [w for w in caught if issubclass(w.category, kind) and match in str(w.message)]
    assert hits, [str(w.message) for w in caught]
    assert {w.filename for w in hits} == {__file__}, [(w.filename, str(w.message)) for w in hits]


def test_renormalised_rows_name_the_callers_line() -> None:
    W = _mixtures(30) * 1.004
    y = 2 + np.exp(-2 * W[:, 0])
    _assert_named_here(_caught(lambda: get_law("linear").fit(W, y)), DataWarning, "renormalised")


def test_seeds_of_too_few_mixtures_name_the_callers_line() -> None:
    W = np.repeat(_mixtures(2), 8, axis=0)
    y = 2 + np.exp(-2 * W[:, 0]) + np.random.default_rng(1).normal(0, 1e-3, len(W))
    _assert_named_here(_caught(lambda: get_law("ye-exp").fit(W, y)), DataWarning, "distinct")


def test_a_constant_eval_names_the_callers_line() -> None:
    W = _mixtures(30)
    _assert_named_here(_caught(lambda: get_law("linear").fit(W, np.full(30, 2.0))), DataWarning, "every one")


def test_a_table_s_rows_without_a_loss_name_the_callers_line() -> None:
    W = _mixtures(30)
    a, b = 2 + np.exp(-2 * W[:, 0]), 3 + W[:, 1]
    b[:3] = np.nan
    table = RunTable(pd.DataFrame({"run": [f"r{i}" for i in range(30)], "w:x": W[:, 0], "w:y": W[:, 1],
                                   "w:z": W[:, 2], "loss:a": a, "loss:b": b}))
    _assert_named_here(_caught(lambda: get_law("linear").fit(table)), DataWarning, "left out 3 rows")


def test_a_ragged_array_fit_names_the_callers_line() -> None:
    W = _mixtures(40)
    Y = np.column_stack([2 + np.exp(-2 * W[:, 0]), 3 + W[:, 1] ** 2])
    Y[:4, 1] = np.nan
    caught = _caught(lambda: get_law("auto", candidates=["linear", "loglinear"]).fit(W, Y, targets=["a", "b"]))
    _assert_named_here(caught, DataWarning, "left out the NaN")


def test_a_scale_blind_law_on_several_sizes_names_the_callers_line() -> None:
    W = np.vstack([_mixtures(20), _mixtures(20)])
    sizes = np.repeat([1e8, 1e9], 20)
    y = 2 + np.exp(-2 * W[:, 0]) + 5 * sizes ** -0.1
    table = RunTable(pd.DataFrame({"run": [f"r{i}" for i in range(40)], "w:x": W[:, 0], "w:y": W[:, 1],
                                   "w:z": W[:, 2], "params": sizes, "loss:a": y}))
    _assert_named_here(_caught(lambda: get_law("linear").fit(table)), ScaleWarning, "takes no model size")



def test_a_run_table_s_warnings_name_the_line_that_built_it() -> None:
    W = _mixtures(20)
    frame = pd.DataFrame({"run": [f"r{i}" for i in range(20)], "w:x": W[:, 0] * 1.004, "w:y": W[:, 1] * 1.004,
                          "w:z": W[:, 2] * 1.004, "w:unused": 0.0, "loss:a": 2 + W[:, 0]})
    caught = _caught(lambda: RunTable(frame))
    _assert_named_here(caught, DataWarning, "renormalised")
    _assert_named_here(caught, Warning, "weight 0 in every run")


def test_a_run_table_s_warnings_name_the_caller_through_every_reader(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # The table's warnings had stacklevel=4, right for RunTable(df) alone: read through mixlaw.read_runs(path) (a file
    # or Olmix's ratios.csv+metrics.csv pair), law.fit(df) or read_runs_mapped(df) they named reading.py:657,
    # pairs.py:66, _inputs.py:105 or columns.py:401.
    import mixlaw
    from mixlaw.importers import read_runs_mapped

    W = _mixtures(20)
    frame = pd.DataFrame({"run": [f"r{i}" for i in range(20)], "w:x": W[:, 0] * 1.004, "w:y": W[:, 1] * 1.004,
                          "w:z": W[:, 2] * 1.004, "w:unused": 0.0, "loss:a": 2 + W[:, 0]})
    frame.to_csv(tmp_path / "runs.csv", index=False)
    ratios = frame[["run", "w:x", "w:y", "w:z", "w:unused"]].rename(columns=lambda c: c.removeprefix("w:"))
    ratios.to_csv(tmp_path / "ratios.csv", index=False)
    frame[["run", "loss:a"]].rename(columns={"loss:a": "a"}).to_csv(tmp_path / "metrics.csv", index=False)
    for call in (lambda: mixlaw.read_runs(tmp_path / "runs.csv"),
                 lambda: mixlaw.read_runs(f"{tmp_path / 'ratios.csv'}+{tmp_path / 'metrics.csv'}"),
                 lambda: get_law("linear").fit(frame, targets="a"),
                 lambda: read_runs_mapped(frame.rename(columns={"run": "name"}), "run=name, w:*=w:*, loss:*=loss:*")):
        caught = _caught(call)
        _assert_named_here(caught, DataWarning, "renormalised")
        _assert_named_here(caught, Warning, "weight 0 in every run")


def test_the_python_api_s_warnings_name_the_callers_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Each named a mixlaw file (fixed stacklevels, right for one path only): law.score(table) base.py:554,
    # optimize_runs / fit_table api.py:444 / :118 (rows left out, an accuracy minimised), fit_pipeline's far target
    # pipeline/auto.py:324, an Olmix pair with runs in one file alone importers/pairs.py:118.
    from pathlib import Path

    import mixlaw
    from mixlaw.api import fit_table, optimize_runs
    from mixlaw.errors import HigherIsBetterWarning

    reg = mixlaw.load_regmix("train_1m").subset(np.arange(60))
    law = get_law("linear").fit(reg, targets=["pile_cc", "github"])
    _assert_named_here(_caught(lambda: law.score(mixlaw.load_regmix("test_1B"))), ScaleWarning, "model size")
    frame = reg.frame.copy()
    frame.loc[frame.index[:3], "loss:github"] = np.nan
    gap = RunTable(frame)
    for call in (lambda: optimize_runs(gap, law="linear", targets=["pile_cc", "github"]),
                 lambda: fit_table(gap, law="linear", targets=["pile_cc", "github"])):
        _assert_named_here(_caught(call), DataWarning, "left out 3 rows")
    acc = RunTable(reg.frame.assign(**{"loss:hellaswag_acc": 1.2 - 0.1 * reg.losses("pile_cc")}))
    _assert_named_here(_caught(lambda: optimize_runs(acc, law="linear", targets="hellaswag_acc")),
                       HigherIsBetterWarning, "higher-is-better")
    runs = mixlaw.read_runs(Path(__file__).resolve().parents[1] / "bench" / "data" / "crossscale_runs_v3.csv")
    _assert_named_here(_caught(lambda: mixlaw.fit_pipeline(runs, target_params=1e12, target_steps=2929,
                                                           route="nested", law="linear")), ScaleWarning, "target")
    ratios = pd.DataFrame({"run": [f"r{i}" for i in range(6)], "a": np.linspace(0.2, 0.7, 6)})
    ratios.assign(b=1 - ratios["a"]).to_csv(tmp_path / "ratios.csv", index=False)
    pd.DataFrame({"run": [f"r{i}" for i in range(5)], "x": np.linspace(2, 3, 5)}).to_csv(tmp_path / "metrics.csv",
                                                                                        index=False)
    _assert_named_here(_caught(lambda: mixlaw.read_runs(f"{tmp_path / 'ratios.csv'}+{tmp_path / 'metrics.csv'}")),
                       DataWarning, "in only one of the files")


def test_a_per_eval_law_on_a_table_with_gaps_names_the_callers_line() -> None:
    # RunTable.rows_with_any, reached through fit -> read_fit_input, named the caller by a fixed level threaded in.
    W = _mixtures(40)
    a, b = 2 + np.exp(-2 * W[:, 0]), 3 + W[:, 1] ** 2
    b[:4] = np.nan
    table = RunTable(pd.DataFrame({"run": [f"r{i}" for i in range(40)], "w:x": W[:, 0], "w:y": W[:, 1],
                                   "w:z": W[:, 2], "loss:a": a, "loss:b": b}))
    caught = _caught(lambda: get_law("auto", candidates=["linear", "loglinear"]).fit(table))
    _assert_named_here(caught, DataWarning, "fitting each eval on the rows that have its loss")


def test_cross_validate_names_the_callers_line() -> None:
    # _cv_weights (and _weights_on_simplex under it) took a fixed stacklevel per caller.
    from mixlaw.laws.selection import cross_val_predict, cross_validate

    W = _mixtures(30) * 1.004
    Y = (2 + np.exp(-2 * W[:, 0]))[:, None]
    caught = _caught(lambda: cross_validate(W, Y, domains=["x", "y", "z"], targets=["a"], candidates=["linear"],
                                            n_folds=3))
    _assert_named_here(caught, DataWarning, "renormalised")
    caught = _caught(lambda: cross_val_predict("linear", W, Y, np.arange(30) % 3, domains=["x", "y", "z"],
                                               targets=["a"]))
    _assert_named_here(caught, DataWarning, "renormalised")


def test_fit_input_warnings_under_cross_val_score_name_the_users_line() -> None:
    # Under scikit-learn the first frame outside mixlaw is sklearn's: user_stacklevel skips it, whatever level the
    # caller inside mixlaw gave. Rows off the simplex (an array) and rows without a loss (a table's frame).
    import inspect

    from sklearn.model_selection import cross_val_score

    W = _mixtures(30) * 1.004
    y = 2 + np.exp(-2 * W[:, 0])
    frame = pd.DataFrame({"run": [f"r{i}" for i in range(30)], "w:x": W[:, 0] / 1.004, "w:y": W[:, 1] / 1.004,
                          "w:z": W[:, 2] / 1.004, "loss:a": y, "loss:b": 3 + W[:, 1]})
    frame.loc[:2, "loss:b"] = np.nan
    for X, Y, match in ((W, y, "renormalised"), (frame, None, "left out")):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            line = inspect.currentframe().f_lineno + 1  # type: ignore[union-attr]
            cross_val_score(get_law("linear"), X, Y, cv=3)
        hits = [w for w in caught if issubclass(w.category, DataWarning) and match in str(w.message)]
        assert hits, [str(w.message) for w in caught]
        assert {(w.filename, w.lineno) for w in hits} == {(__file__, line)}, [(w.filename, w.lineno) for w in hits]
