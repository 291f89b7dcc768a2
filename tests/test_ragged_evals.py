"""``auto`` / ``stack`` on eval sets measured on different runs (a loss cell missing in some rows): without an
objective each eval is fitted on the rows that have it, not on the rows that have every eval; with an objective,
the rows that have every eval it weighs (one of weight 0 is not fitted); for a single law fitted on several evals,
the complete rows as before."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from mixlaw.data import RunTable
from mixlaw.errors import DataWarning, InputError
from mixlaw.laws.auto import AutoLaw
from mixlaw.laws.base import law_from_dict
from mixlaw.laws.stack import StackLaw

CANDS = ["ye-exp", "linear"]
N, MISSING_B = 60, 24  # 40 % of eval b's cells


def _frame(n: int = N, seed: int = 0) -> pd.DataFrame:
    """n runs of 3 domains; evals a, b, c from Ye's exponential law L_i = c_i + exp(t_i . w) (known parameters)
    with a little noise."""
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.ones(3), size=n)
    T = np.array([[-1.0, 0.5, 0.2], [0.3, -0.8, 0.1], [0.2, 0.1, -0.9]])
    c = np.array([2.0, 2.3, 2.6])
    Y = c + np.exp(W @ T.T) + rng.normal(0, 0.005, (n, 3))
    return pd.DataFrame({"run": [f"r{i}" for i in range(n)], **{f"w:{d}": W[:, j] for j, d in enumerate("xyz")},
                         **{f"loss:{e}": Y[:, i] for i, e in enumerate("abc")}})


def _ragged(df: pd.DataFrame, k: int = MISSING_B, seed: int = 1) -> pd.DataFrame:
    out = df.copy()
    out.loc[np.random.default_rng(seed).choice(len(df), k, replace=False), "loss:b"] = np.nan
    return out


def _W(df: pd.DataFrame) -> np.ndarray:
    return df[["w:x", "w:y", "w:z"]].to_numpy()


def _quiet_predict(law, W):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():  # the rows b lacks may lie outside b's fitted range
        warnings.simplefilter("ignore")
        return np.asarray(law.predict(W))


@pytest.fixture(scope="module")
def tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    full = _frame()
    return full, _ragged(full)


@pytest.fixture(scope="module")
def auto_all(tables):  # type: ignore[no-untyped-def]
    with pytest.warns(DataWarning, match=r"run table: law 'auto' fitting each eval on the rows that have its loss; "
                                         r"left out the rows with no value \(loss:b 24 of 60 rows; "
                                         r"rows 1, 4, 6, 11, 13, \.\.\. \(0-based\)\)"):
        return AutoLaw(candidates=CANDS).fit(RunTable(tables[1]))


def test_auto_fits_each_eval_on_its_own_rows(tables, auto_all):
    full, ragged = tables
    law = auto_all
    assert law.n_runs_ == N and law.rows_left_out_ == {"b": MISSING_B}
    runs = {t: m[3].n_runs_ for m in law.members_ for t in m[2]}
    assert runs == {"a": N, "b": N - MISSING_B, "c": N}
    assert law.cv_.n_runs == N and law.cv_.n_runs_of == {"b": N - MISSING_B}
    assert "b: 5-fold CV on the 36 runs that have its loss" in str(law.cv_)
    assert law.train_metrics_["n_obs"] == 2 * N + (N - MISSING_B)
    W = _W(full)
    # a on all 60 rows: what auto fitted on a alone gives (the same seeded folds and starts; the joint solve of a
    # and c differs from a's own only by rounding)
    alone = AutoLaw(candidates=CANDS).fit(RunTable(full), targets="a")
    np.testing.assert_allclose(_quiet_predict(law, W)[:, 0], alone.predict(W), rtol=1e-7)
    # b on its 36 rows: what `--target b` alone fits
    with pytest.warns(DataWarning, match="fitting each eval on the rows that have its loss"):
        b_alone = AutoLaw(candidates=CANDS).fit(RunTable(ragged), targets="b")
    assert b_alone.n_runs_ == N - MISSING_B
    np.testing.assert_allclose(_quiet_predict(law, W)[:, 1], _quiet_predict(b_alone, W), rtol=1e-7)
    # ...and not what the common rows give: a fitted on 36 rows predicts otherwise
    common = AutoLaw(candidates=CANDS).fit(RunTable(ragged[ragged["loss:b"].notna()]), targets="a")
    assert not np.allclose(_quiet_predict(common, W), alone.predict(W), rtol=1e-7)


def test_fitted_range_is_every_row_used(tables, auto_all):
    W = _W(tables[0])
    np.testing.assert_array_equal(auto_all._w_range[0], W.min(axis=0))
    np.testing.assert_array_equal(auto_all._w_range[1], W.max(axis=0))
    lo, hi = auto_all._y_range
    y = tables[1][["loss:a", "loss:b", "loss:c"]].to_numpy()
    np.testing.assert_array_equal(lo, np.nanmin(y, axis=0))
    np.testing.assert_array_equal(hi, np.nanmax(y, axis=0))


def test_an_objective_still_takes_the_common_rows(tables):
    with pytest.warns(DataWarning, match=r"fitting a, b, c on the 36 of 60 rows that have each of them"):
        law = AutoLaw(candidates=CANDS, objective="mean").fit(RunTable(tables[1]))
    assert law.n_runs_ == N - MISSING_B and law.rows_left_out_ == {"b": MISSING_B}
    assert law.cv_.n_runs == N - MISSING_B and not law.cv_.n_runs_of


def test_one_law_for_every_eval_takes_the_common_rows(tables):
    with pytest.warns(DataWarning, match=r"on the 36 of 60 rows"):
        law = AutoLaw(candidates=CANDS, per_target=False).fit(RunTable(tables[1]))
    assert law.n_runs_ == N - MISSING_B


def test_saved_law_round_trips(tables, auto_all, tmp_path):
    from mixlaw.api import load_law, save_law

    W = _W(tables[0])
    save_law(auto_all, tmp_path / "auto.json")
    back = load_law(tmp_path / "auto.json")
    np.testing.assert_array_equal(_quiet_predict(back, W), _quiet_predict(auto_all, W))
    assert back.choice_ == auto_all.choice_ and back.cv_.n_runs_of == {"b": N - MISSING_B}
    assert [m[2] for m in back.members_] == [m[2] for m in auto_all.members_]
    assert str(back.cv_) == str(auto_all.cv_)


def test_stack_fits_each_eval_on_its_own_rows(tables):
    full, ragged = tables
    with pytest.warns(DataWarning, match="law .stack. fitting each eval"):
        law = StackLaw(candidates=CANDS).fit(RunTable(ragged))
    assert law.n_runs_ == N and law.rows_left_out_ == {"b": MISSING_B}
    assert set(law.weights_) == {"a", "b", "c"}
    assert {t: m[3].n_runs_ for m in law.members_ for t in m[2]} == {"a": N, "b": N - MISSING_B, "c": N}
    assert law.cv_.chosen == {"a": "stack", "b": "stack", "c": "stack"}
    # ye-exp in both groups: its parameters are named by eval set, so they keep the names a one-group fit gives
    assert {"ye-exp:a.c", "ye-exp:b.c", "w:b:ye-exp"} <= set(law.params_)
    with pytest.warns(DataWarning):
        b_alone = StackLaw(candidates=CANDS).fit(RunTable(ragged), targets="b")
    W = _W(full)
    np.testing.assert_allclose(_quiet_predict(law, W)[:, 1], _quiet_predict(b_alone, W), rtol=1e-7)
    back = law_from_dict(json.loads(json.dumps(law.to_dict())))
    np.testing.assert_array_equal(_quiet_predict(back, W), _quiet_predict(law, W))


def test_the_same_law_chosen_in_two_groups_keeps_distinct_parameter_names(tables):
    # dz-eq1's parameters are not named by eval set (its eval sets share the domains' skills): fitted for a+c and
    # again for b, its names must not clash
    with pytest.warns(DataWarning):
        law = AutoLaw(candidates=["dz-eq1"], n_folds=2).fit(RunTable(tables[1]))
    assert [m[2] for m in law.members_] == [["a", "c"], ["b"]]
    names = list(law.params_)
    assert any(n.startswith("dz-eq1:") for n in names) and any(n.startswith("dz-eq1(b):") for n in names)
    back = law_from_dict(json.loads(json.dumps(law.to_dict())))
    W = _W(tables[0])
    np.testing.assert_array_equal(_quiet_predict(back, W), _quiet_predict(law, W))


def test_arrays_with_nan_losses(tables):
    full, ragged = tables
    Y = ragged[["loss:a", "loss:b", "loss:c"]].to_numpy()
    with pytest.warns(DataWarning, match=r"left out the NaN losses \(b 24 of 60 rows\)"):
        law = AutoLaw(candidates=CANDS).fit(_W(full), Y, targets=["a", "b", "c"])
    assert law.n_runs_ == N and law.rows_left_out_ == {"b": MISSING_B}
    from mixlaw.laws import get_law

    with pytest.raises(InputError, match="NaN or infinite"):  # a single law still refuses a missing loss
        get_law("ye-exp").fit(_W(full), Y)
    bad = Y.copy()
    bad[0, 0] = np.inf
    with pytest.raises(InputError, match="NaN or infinite"):  # an infinite loss is no missing one
        AutoLaw(candidates=CANDS).fit(_W(full), bad)


def test_an_eval_with_too_few_rows_names_them(tables):
    df = _ragged(tables[0], k=N - 3)
    with pytest.warns(DataWarning), pytest.raises(InputError, match=r"fitting b on the 3 of 60 runs that have its "
                                                                    r"loss"):
        AutoLaw(candidates=CANDS).fit(RunTable(df))


def test_plain_law_warning_names_auto_and_stack(tables):
    with pytest.warns(DataWarning, match=r"fitting a, b, c on the 36 of 60 rows that have each of them; .*--law auto "
                                         r"or stack \(law='auto' / 'stack'\) without --objective \(objective=\), or "
                                         r"one eval per fit \(--target EVAL, targets='EVAL'\), fit each eval on every "
                                         r"row that has it"):
        from mixlaw.laws import get_law

        fitted = get_law("ye-exp").fit(RunTable(tables[1]))
    assert fitted.n_runs_ == N - MISSING_B and fitted.rows_left_out_ == {"b": MISSING_B}


def test_compare_fits_auto_on_each_evals_rows(tables):
    from mixlaw.compare import compare

    full, ragged = tables
    test = RunTable(_frame(n=30, seed=5))
    with pytest.warns(DataWarning, match="on the 36 of 60 rows"):  # linear's rows
        board = compare(RunTable(ragged), {"test": test}, laws=[AutoLaw(candidates=CANDS), "linear"])
    auto, linear = board.rows
    assert auto.error is None and auto.details["rows_left_out"] == {"b": MISSING_B} and auto.details["n_runs"] == N
    assert "rows_left_out" not in linear.details
    with pytest.warns(DataWarning, match="law 'auto' fitting each eval on the rows that have its loss") as caught:
        board = compare(RunTable(ragged), {"test": test}, laws=[AutoLaw(candidates=CANDS)])
    assert not [w for w in caught if "36 of 60" in str(w.message)]  # no law took the common rows
    assert board.rows[0].details["n_runs"] == N


def test_cli_fit_and_optimize(tables, tmp_path, capsys):
    from cli_runner import run_cli

    p = tmp_path / "t.csv"
    tables[1].to_csv(p, index=False)
    code, out, err = run_cli(capsys, "fit", "--runs", str(p), "--law", "auto", "--candidates", "ye-exp,linear",
                             "--json", "--out", str(tmp_path / "law.json"))
    assert code == 0, err
    doc = json.loads(out)
    assert doc["report"]["rows_left_out"] == {"b": MISSING_B} and doc["cv"]["n_runs_of"] == {"b": N - MISSING_B}
    assert "fitting each eval on the rows that have its loss" in err
    code, out, err = run_cli(capsys, "predict", "--law", str(tmp_path / "law.json"), "--mixtures", str(p), "--json")
    assert code == 0, err
    # optimize's default objective (the mean) needs every eval in a run: the common rows, the table's count per eval
    code, out, err = run_cli(capsys, "optimize", "--runs", str(p), "--candidates", "ye-exp,linear", "--json")
    assert code == 0, err
    assert json.loads(out)["optimum"]["rows_left_out"] == {"b": MISSING_B}
    assert "fitting a, b, c on the 36 of 60 rows" in err
    # --objective max: auto per eval set, each on its own rows
    code, out, err = run_cli(capsys, "optimize", "--runs", str(p), "--candidates", "ye-exp,linear",
                             "--objective", "max", "--json")
    assert code == 0, err
    assert json.loads(out)["optimum"]["rows_left_out"] == {"b": MISSING_B}
    assert "fitting each eval on the rows that have its loss" in err and "on the 36 of 60 rows" not in err


def test_a_row_without_any_loss_is_left_out_of_every_eval(tables):
    df = tables[1].copy()
    i = int(np.flatnonzero(df["loss:b"].notna().to_numpy())[0])  # a row that has b: every eval loses it
    df.loc[i, ["loss:a", "loss:b", "loss:c"]] = np.nan
    with pytest.warns(DataWarning, match=r"loss:a 1, loss:b 25, loss:c 1 of 60 rows"):
        law = AutoLaw(candidates=CANDS).fit(RunTable(df))
    assert law.n_runs_ == N - 1 and law.rows_left_out_ == {"a": 1, "b": MISSING_B + 1, "c": 1}
    assert {t: m[3].n_runs_ for m in law.members_ for t in m[2]} == {"a": N - 1, "b": N - MISSING_B - 1, "c": N - 1}


def test_one_eval_array_with_nan_losses():
    W = np.random.default_rng(3).dirichlet(np.ones(3), size=40)
    y = 2.0 + np.exp(W @ [-1.0, 0.5, 0.2])
    y[[1, 5, 9]] = np.nan
    with pytest.warns(DataWarning, match=r"law 'auto': fitting each eval on the rows that have its loss; left out "
                                         r"the NaN losses \(y0 3 of 40 rows\)"):
        law = AutoLaw(candidates=CANDS).fit(W, y)
    assert law.n_runs_ == 37 and law.rows_left_out_ == {"y0": 3} and _quiet_predict(law, W).shape == (40,)


@pytest.mark.parametrize(("cls", "objective"), [(AutoLaw, {"a": 1, "b": 0}), (StackLaw, "c"),
                                                (AutoLaw, {"a": 1, "b": 0, "c": 2})])
def test_an_objective_fits_on_the_rows_that_have_the_evals_it_weighs(tables, cls, objective):
    full, ragged = tables
    # b weighs 0: the 24 rows that miss only b are fitted, and the law is the one a table without b's gaps gives
    with pytest.warns(DataWarning, match=r"the objective weighs b 0: not fitted, so the rows that miss its loss are "
                                         r"kept \(loss:b 24 of 60 rows that have (a|c|a, c)\); give it a weight "
                                         r"to fit and predict it") as caught:
        law = cls(candidates=CANDS, objective=objective).fit(RunTable(ragged))
    assert not [w for w in caught if "36 of 60" in str(w.message)]
    assert law.n_runs_ == N and law.rows_left_out_ == {"b": MISSING_B} and law.evals_ == ["a", "c"]
    assert law.targets_ == ["objective"] and law.cv_.n_runs == N
    ref = cls(candidates=CANDS, objective=objective).fit(RunTable(full))
    W = _W(full)
    np.testing.assert_allclose(law.predict(W), ref.predict(W), rtol=1e-7)
    back = law_from_dict(json.loads(json.dumps(law.to_dict())))
    np.testing.assert_array_equal(back.predict(W), law.predict(W))


def test_an_objective_on_arrays_takes_nan_in_an_eval_it_weighs_0(tables):
    full, ragged = tables
    Y = ragged[["loss:a", "loss:b", "loss:c"]].to_numpy()
    with pytest.warns(DataWarning, match=r"law 'auto': the objective weighs b 0: .*\(loss:b 24 of 60 rows that "
                                         r"have a\)"):
        law = AutoLaw(candidates=CANDS, objective="a").fit(_W(full), Y, targets=["a", "b", "c"])
    assert law.n_runs_ == N and law.evals_ == ["a", "c"]
    with pytest.raises(InputError, match="NaN or infinite"):  # b weighed: its missing losses are an error still
        AutoLaw(candidates=CANDS, objective="mean").fit(_W(full), Y, targets=["a", "b", "c"])


@pytest.mark.parametrize(("law", "objective"), [("auto", {"a": 1, "b": 0}), ("ye-exp", {"a": 1, "b": 0, "c": 1})])
def test_optimize_fits_an_objective_on_the_rows_that_have_the_evals_it_weighs(tables, law, objective):
    from mixlaw.api import optimize_runs

    kw = {"candidates": CANDS} if law == "auto" else {}
    with pytest.warns(DataWarning, match=r"the objective weighs b 0: not fitted, so the rows that miss its loss are "
                                         r"kept \(loss:b 24 of 60 rows that have a") as caught:
        res = optimize_runs(RunTable(tables[1]), law=law, objective=objective, **kw)
    assert not [w for w in caught if "36 of 60" in str(w.message)]
    assert res.rows_left_out == {"b": MISSING_B}
    assert res.law_error is not None and (res.law_error.get("n_runs") == N or "on the 60 fitting" in
                                          res.law_error["source"])
    assert "b" not in res.losses
    np.testing.assert_allclose(list(res.natural_weights.values()), _W(tables[1]).mean(axis=0), rtol=1e-12)
    # the same optimum as on the table whose b misses nothing, but for b's predicted loss
    ref = optimize_runs(RunTable(tables[0]), law=law, objective=objective, **kw)
    np.testing.assert_allclose(list(res.weights.values()), list(ref.weights.values()), atol=1e-6)


def test_ragged_optimize_takes_its_reference_rows_from_every_row_fitted(tables):
    from mixlaw.api import optimize_runs

    full, ragged = tables
    with pytest.warns(DataWarning, match="fitting each eval on the rows that have its loss"):
        res = optimize_runs(RunTable(ragged), law="auto", objective="max", candidates=CANDS)
    W = _W(full)
    # the natural mixture is the mean of all 60 runs the fit used, not of the 36 that have b
    np.testing.assert_allclose(list(res.natural_weights.values()), W.mean(axis=0), rtol=1e-12)
    assert not np.allclose(W.mean(axis=0), W[ragged["loss:b"].notna().to_numpy()].mean(axis=0), rtol=1e-3)
    opt = np.array(list(res.weights.values()))
    assert res.nearest_run == int(np.argmin(np.abs(W - opt).sum(axis=1)))
    assert res.nearest_run_name == f"r{res.nearest_run}"
    # the best run needs every eval's loss: the row of the table that has them with the lowest max
    Y = ragged[["loss:a", "loss:b", "loss:c"]].to_numpy().max(axis=1)
    assert res.best_run is not None and res.best_run["row"] == int(np.nanargmin(Y))
    assert res.law_error is not None and "36 fitting runs that have every loss (of 60)" in res.law_error["source"]


def test_ragged_optimize_of_evals_measured_on_disjoint_runs(tables):
    # a measured on the first 30 runs, b on the other 30: each eval fits; no run has both, so no best run and no
    # in-sample error of the objective (a ValueError 'zero-size array' from predict before)
    from mixlaw.api import optimize_runs

    df = tables[0].drop(columns="loss:c")
    df.loc[30:, "loss:a"] = np.nan
    df.loc[:29, "loss:b"] = np.nan
    with pytest.warns(DataWarning, match="fitting each eval on the rows that have its loss"):
        res = optimize_runs(RunTable(df), law="auto", objective="max", candidates=CANDS)
    assert res.best_run is None and res.law_error is None
    assert np.isfinite(res.objective) and set(res.losses) == {"a", "b"}


def test_a_bootstrap_of_a_ragged_auto_says_it_resamples_the_common_rows(tables):
    from mixlaw.api import optimize_runs
    from mixlaw.bootstrap import bootstrap_law

    line = (r"run table: law 'auto' with a bootstrap \(--bootstrap, n_boot=\): fitting a, b, c on the 36 of 60 rows "
            r"that have each of them; left out 24 rows with no value \(loss:b 24; rows 1, 4, 6, 11, 13, ... "
            r"\(0-based\)\); its replicates resample whole runs, so each row needs every eval's loss; without a "
            r"bootstrap it fits each "
            r"eval on every row that has it$")
    for run in (lambda: bootstrap_law(AutoLaw(candidates=CANDS), RunTable(tables[1]), n_boot=2, n_jobs=1).law,
                lambda: optimize_runs(RunTable(tables[1]), law="auto", objective="max", candidates=CANDS, n_boot=2,
                                      n_jobs=1)):
        with pytest.warns(DataWarning, match=line) as caught:
            out = run()
        # one line, and none that says auto fits each eval on its own rows (which a bootstrap does not)
        rows = [str(w.message) for w in caught if "of 60 rows" in str(w.message)]
        assert len(rows) == 1 and "--law auto or stack" not in rows[0]
        assert getattr(out, "n_runs_", N - MISSING_B) == N - MISSING_B


def test_compare_with_an_objective_fits_on_the_rows_that_have_the_evals_it_weighs(tables):
    from mixlaw.compare import compare

    test = RunTable(_frame(n=30, seed=5))
    with pytest.warns(DataWarning, match=r"the objective weighs b 0: not fitted, so the rows that miss its loss are "
                                         r"kept \(loss:b 24 of 60 rows that have a, c\)") as caught:
        auto = AutoLaw(candidates=CANDS, objective={"a": 1, "c": 1})
        board = compare(RunTable(tables[1]), {"test": test}, laws=[auto, "linear"], objective={"a": 1, "b": 0, "c": 1})
    assert not [w for w in caught if "36 of 60" in str(w.message)]
    assert board.n_train == N and board.targets == ["a", "c"] and board.objective == {"a": 1.0, "c": 1.0}
    assert all(r.error is None for r in board.rows)
    ref = compare(RunTable(tables[0]), {"test": test}, laws=["linear"], objective={"a": 1, "c": 1})
    assert board.rows[1].splits["test"]["rmse"] == pytest.approx(ref.rows[0].splits["test"]["rmse"], rel=1e-9)


def test_a_bootstrap_of_an_objective_resamples_the_rows_that_have_the_evals_it_weighs(tables):
    from mixlaw.bootstrap import bootstrap_law

    law = AutoLaw(candidates=CANDS, objective={"a": 1, "b": 0})
    with pytest.warns(DataWarning, match=r"the objective weighs b 0: not fitted, so the rows that miss its loss are "
                                         r"kept \(loss:b 24 of 60 rows that have a\)") as caught:
        res = bootstrap_law(law, RunTable(tables[1]), n_boot=2, n_jobs=1)
    assert not [w for w in caught if "36 of 60" in str(w.message)]
    assert res.law.n_runs_ == N and res.law.evals_ == ["a", "c"] and res.n_failed == 0
    assert law.objective == {"a": 1, "b": 0}  # the law given is not changed
