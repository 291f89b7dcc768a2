"""Review of session 17's ragged auto / stack fits and their messages (review17)."""

from __future__ import annotations

import html
import warnings

import numpy as np
import pandas as pd
import pytest

from mixlaw.data import RunTable
from mixlaw.errors import DataWarning


def _ragged(n: int = 40, k: int = 12, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.ones(3), size=n)
    T = np.array([[-1.0, 0.5, 0.2], [0.3, -0.8, 0.1], [0.2, 0.1, -0.9]])
    Y = np.array([2.0, 2.3, 2.6]) + np.exp(W @ T.T) + rng.normal(0, 0.005, (n, 3))
    df = pd.DataFrame({"run": [f"r{i}" for i in range(n)], **{f"w:{d}": W[:, j] for j, d in enumerate("xyz")},
                       **{f"loss:{e}": Y[:, i] for i, e in enumerate("abc")}})
    df.loc[rng.choice(n, k, replace=False), "loss:b"] = np.nan
    return df


def _complete_rows_warnings(record: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, DataWarning) and "rows that have each" in
            str(w.message)]


def test_optimize_with_an_objective_does_not_advise_auto_without_one() -> None:
    """optimize always has an objective (mean by default; --objective max aside): its complete-rows warning said
    '--law auto or stack ... without --objective ... fit each eval on every row', which a user of
    `mixlaw optimize --law auto` cannot follow (the warning came back unchanged)."""
    from mixlaw.api import optimize_runs

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        optimize_runs(RunTable(_ragged()), law="auto", candidates=["linear"], objective="mean", n_starts=2)
    said = _complete_rows_warnings(record)
    assert said and all("without --objective" not in s for s in said), said
    assert any("--target EVAL" in s for s in said)


def test_compare_does_not_name_a_law_flag_it_does_not_take() -> None:
    """compare takes --laws (laws=), and fits auto / stack on each eval's rows already in the same call."""
    from mixlaw.compare import compare

    df = _ragged()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        compare(RunTable(df.iloc[:30]), {"test": RunTable(df.iloc[30:].dropna())}, laws=["linear"])
    said = _complete_rows_warnings(record)
    assert said and all("--law " not in s for s in said), said


def test_a_single_law_fit_still_names_auto_and_stack() -> None:
    from mixlaw.laws import get_law

    with pytest.warns(DataWarning, match=r"--law auto or stack \(law='auto' / 'stack'\) without --objective"):
        get_law("linear").fit(RunTable(_ragged()))


def test_report_of_ragged_auto_has_an_optimum_from_the_complete_rows() -> None:
    """mixlaw report --laws auto --target all on a table missing some of one eval: auto is fitted on each eval's
    rows, and the page's optimum read its reference runs from those rows too, stopping at "column 'loss:b': loss is
    nan" ("Optimal mixture" said "not available")."""
    from mixlaw.report import build_html_report

    df = _ragged()
    # 20 fitting runs, 8 of them missing b (30 and 11 took twice the time: auto's candidates fitted on more rows)
    train, test = RunTable(df.iloc[:20]), RunTable(df.iloc[30:].dropna())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        page = build_html_report(train, {"test": test}, targets="all", laws=["auto"])
    assert "not available" not in page and "loss is nan" not in page
    assert "<h2>Optimal mixture (auto, objective mean" in page
    complete = set(df.iloc[:20].dropna()["run"])
    best = html.unescape(page).split("best run (measured) = ")[1].split("(run '")[1].split("'")[0]
    assert best in complete


def test_a_saved_law_keeps_its_fit_tolerance_for_predict() -> None:
    """law.fit(df, weight_tol=0.05).predict(df) reads a row summing to 1.03; the same law saved and loaded refused
    it, saying 'raise the weight_tol= of fit (this law's: 0.01)' of a law fitted at 0.05."""
    import json

    from mixlaw.errors import InputError
    from mixlaw.laws import get_law
    from mixlaw.laws.base import law_from_dict

    df = _ragged().dropna().reset_index(drop=True)
    df.loc[0, "w:x"] += 0.03
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        law = get_law("linear").fit(df, weight_tol=0.05)
        loaded = law_from_dict(json.loads(json.dumps(law.to_dict())))
        np.testing.assert_allclose(loaded.predict(df), law.predict(df))
    bad = law.to_dict() | {"weight_tol": 1.5}
    with pytest.raises(InputError, match="field 'weight_tol'"):
        law_from_dict(bad)
    old = {k: v for k, v in law.to_dict().items() if k != "weight_tol"}  # saved before the field: the default
    with pytest.raises(InputError, match=r"this law's: 0.01"):
        law_from_dict(old).predict(df)


def test_nan_losses_given_beside_a_run_table_are_said() -> None:
    """AutoLaw().fit(table, Y) with NaN in Y (the table's own losses complete) dropped them without a word:
    no DataWarning and rows_left_out_ {} (arrays alone, or the table's own losses, said it)."""
    from mixlaw.laws.auto import AutoLaw

    df = _ragged()
    Y = df[["loss:a", "loss:b", "loss:c"]].to_numpy()
    table = RunTable(df.fillna({"loss:b": 2.5}))
    with pytest.warns(DataWarning, match=r"left out the NaN losses \(b 12 of 40 rows\)"):
        law = AutoLaw(candidates=["linear"]).fit(table, Y)
    assert law.rows_left_out_ == {"b": 12} and law.cv_.n_runs_of == {"b": 28}


def test_the_cv_summary_of_a_ragged_fit_says_how_its_evals_were_grouped() -> None:
    """Seven evals, three missing different rows (10 each): four groups. The summary said 'n_par: fitted on all at
    once' beside linear's 12 (4 evals x 3 domains: the first eval's group; all 7 at once would be 21), and 'e1, e4,
    e5: ... on the 40 runs that have their loss' of evals measured on different runs."""
    from mixlaw.laws.auto import AutoLaw

    rng = np.random.default_rng(0)
    n = 50
    W = rng.dirichlet(np.ones(3), size=n)
    df = pd.DataFrame({"run": [f"r{i}" for i in range(n)], **{f"w:{d}": W[:, j] for j, d in enumerate("xyz")}})
    for e in range(7):
        df[f"loss:e{e}"] = 2 + np.exp(W @ rng.normal(size=3)) + rng.normal(0, 0.005, n)
    df.loc[:9, "loss:e1"] = np.nan
    df.loc[20:29, "loss:e4"] = np.nan
    df.loc[40:, "loss:e5"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cv = AutoLaw(candidates=["linear"]).fit(RunTable(df)).cv_
    text = cv.summary()
    assert "e1, e4, e5: 5-fold CV, each on the 40 runs that have its loss" in text
    assert "n_par: fitted on the largest group of eval sets measured on the same runs at once" in text
    assert "fitted on all at once" not in text
    linear = next(line for line in text.splitlines() if line.strip().startswith("linear"))
    assert linear.split()[-1] == "12"  # e0, e2, e3, e6: 4 evals x 3 domains


def test_compare_says_on_how_many_runs_a_ragged_auto_was_fitted(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """'fitted on tr.csv (28 runs)' headed a board whose auto row was fitted on 30 (each eval on its own rows)."""
    from cli_runner import run_cli

    df = _ragged()
    # 20 fitting runs, 12 of them complete (30 and 19 took twice the time: auto's candidates fitted on more rows)
    df.iloc[:20].to_csv(tmp_path / "tr.csv", index=False)
    df.iloc[30:].dropna().to_csv(tmp_path / "te.csv", index=False)
    code, out, _ = run_cli(capsys, "compare", "--runs", str(tmp_path / "tr.csv"), "--test", str(tmp_path / "te.csv"),
                           "--laws", "linear,auto")
    assert code == 0
    head = out.splitlines()[0]
    assert "(12 runs; auto: each eval on the rows that have it, 20 runs)" in head, head
