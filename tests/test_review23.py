"""Review of the last session's notebook use of the Python API (review23): each test failed before its fix."""

from __future__ import annotations

import inspect
import subprocess
import sys

import numpy as np
import pandas as pd


def _table(n: int = 24, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.ones(3), size=n)
    y = 2.0 + np.exp(W @ np.array([-1.0, 0.4, 0.2])) + rng.normal(0, 0.003, n)
    return pd.DataFrame({"run": [f"r{i}" for i in range(n)], **{f"w:{d}": W[:, j] for j, d in enumerate("xyz")},
                         "loss:a": y})


def test_mixlaw_compare_is_callable_and_still_the_module() -> None:
    # "'module' object is not callable": mixlaw.compare was the module compare.py only.
    import mixlaw
    from mixlaw.data import RunTable

    df = _table()
    train, test = RunTable(df.iloc[:18]), RunTable(df.iloc[18:])
    board = mixlaw.compare(train, {"test": test}, targets="a", laws=["linear"])
    assert type(board).__name__ == "Leaderboard"
    assert len(board.rows) == 1 and "test" in board.rows[0].splits
    # ...and the module the README documents is still there: attribute, submodule import, from-import.
    import mixlaw.compare as module
    from mixlaw.compare import compare, holdout_split

    assert module is mixlaw.compare and module.compare is compare and module.holdout_split is holdout_split
    assert "laws" in inspect.signature(mixlaw.compare).parameters
    out = subprocess.run([sys.executable, "-c", "import mixlaw.compare, mixlaw; "
                          "print(callable(mixlaw.compare), mixlaw.compare.holdout_split.__name__)"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "holdout_split"]


def test_cross_val_score_splits_a_run_table_as_its_frame() -> None:
    # scikit-learn wrapped a RunTable (no iloc, no __getitem__) in a 0-d object array and stopped on 'Input should
    # have at least 1 dimension' while the same table's DataFrame worked.
    import warnings

    from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split

    from mixlaw import get_law, load_regmix

    table = load_regmix("train_1m").subset(np.arange(90))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # ye-pow with one start, not its default two: the two splits are compared, not the fits (2.3 -> 0.8 CPU s).
        for key, options in (("linear", {}), ("ye-pow", {"n_restarts": 1})):
            by_table = cross_val_score(get_law(key, **options), table, cv=3)
            np.testing.assert_allclose(by_table, cross_val_score(get_law(key, **options), table.frame, cv=3),
                                       rtol=1e-9)
            assert np.isfinite(by_table).all()
        search = GridSearchCV(get_law("linear"), {"alpha": [1e-3, 1.0]}, cv=3).fit(table)
    assert search.best_params_["alpha"] in (1e-3, 1.0)
    train, test = train_test_split(table, test_size=0.25, random_state=0)
    assert (len(train), len(test)) == (67, 23) and type(train) is type(table)
    assert list(test.runs) == list(table.frame["run"].iloc[train_test_split(np.arange(90), test_size=0.25,
                                                                             random_state=0)[1]])


def test_score_warnings_under_scikit_learn_name_the_users_line() -> None:
    # A WeightRangeWarning of law.score under cross_val_score / GridSearchCV named scikit-learn's _scorer.py:
    # errors.user_stacklevel stopped at the first frame outside mixlaw.
    import warnings

    from sklearn.model_selection import GridSearchCV, cross_val_score

    from mixlaw import get_law, load_regmix
    from mixlaw.errors import WeightRangeWarning

    frame = load_regmix("train_1m").subset(np.arange(60)).frame
    for run in ("cv", "grid"):
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            line = inspect.currentframe().f_lineno + 1  # type: ignore[union-attr]
            cross_val_score(get_law("linear"), frame, cv=3) if run == "cv" else GridSearchCV(get_law("linear"), {"alpha": [1.0]}, cv=3).fit(frame)  # noqa: E501
        ranged = [w for w in record if issubclass(w.category, WeightRangeWarning)]
        assert ranged, run
        assert {(w.filename, w.lineno) for w in ranged} == {(__file__, line)}, run


def test_optimize_refuses_strings_for_fixed_weights_and_bounds() -> None:
    # fixed={'github': '0.1'} was fixed at 0.1 and bounds ('0', '0.05') or the string '01' read as numbers, silently.
    import pytest

    import mixlaw
    from mixlaw.data import RunTable

    table = RunTable(_table())
    law = mixlaw.get_law("linear").fit(table, targets="a")
    cases = [({"fixed": {"y": "0.1"}}, r"^fixed \(--fixed\) weight of 'y' must be a number, a share in \[0, 1\]; "
                                       r"got '0.1' \(give 0.1, not '0.1'\)$"),
             ({"fixed": {"y": True}}, r"^fixed \(--fixed\) weight of 'y' must be a number.*; got True$"),
             ({"bounds": {"y": ("0", "0.5")}}, r"^bounds \(--bounds\) for 'y' must be a pair \(lo, hi\) of "
                                               r"numbers, shares in \[0, 1\]; got \('0', '0.5'\) "
                                               r"\(give \(0, 0.5\), not strings\)$"),
             ({"bounds": {"y": "01"}}, r"^bounds \(--bounds\) for 'y' must be a pair .*; got '01'$")]
    for kw, match in cases:
        with pytest.raises(mixlaw.InputError, match=match):
            mixlaw.optimize_mixture(law, **kw)
        with pytest.raises(mixlaw.InputError, match=match):
            mixlaw.optimize_runs(table, targets="a", law="linear", **kw)
    # numbers of any numeric type still work
    out = mixlaw.optimize_mixture(law, fixed={"y": np.float32(0.25)}, bounds={"x": np.array([0.0, 0.6])})
    assert out.weights["y"] == pytest.approx(0.25) and out.weights["x"] <= 0.6 + 1e-9


def test_optimize_pipeline_gives_each_warning_once() -> None:
    # extrapolate=True repeated one WeightRangeWarning 14 times (each prediction of the optimum warned it again).
    import warnings
    from pathlib import Path

    import mixlaw
    from mixlaw.errors import WeightRangeWarning

    runs = mixlaw.read_runs(Path(__file__).resolve().parents[1] / "bench" / "data" / "crossscale_runs_v3.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mixlaw.fit_pipeline(runs, target_params=934720, target_steps=2929, route="nested", law="linear")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        line = inspect.currentframe().f_lineno + 1  # type: ignore[union-attr]
        opt = mixlaw.optimize_pipeline(res, extrapolate=True)
    ranged = [w for w in record if issubclass(w.category, WeightRangeWarning)]
    assert len(ranged) == 1 and "'legal'" in str(ranged[0].message)
    assert len({str(w.message) for w in record}) == len(record)  # none twice
    assert {(w.filename, w.lineno) for w in record} == {(__file__, line)}
    assert opt.weights["legal"] > 0.494  # the optimum does leave the fitted range: the warning is due
    with warnings.catch_warnings(record=True) as silenced:
        warnings.simplefilter("ignore")  # the user's filter still silences them
        mixlaw.optimize_pipeline(res, extrapolate=True)
    assert silenced == []


class _FailingLaw:
    """A law whose every refit fails (FitError), as a law can on every inner fold of a hard table."""

    key = "stub"
    random_state = 0
    uses_model_params = uses_tokens = False

    def clone(self) -> _FailingLaw:
        return self

    def set_params(self, **_: object) -> _FailingLaw:
        return self

    def fit(self, *_: object, **__: object) -> _FailingLaw:
        from mixlaw.errors import FitError

        raise FitError("no start converged")


def test_cv_strengths_warn_when_every_strength_fails() -> None:
    # alpha='cv' / pooling='cv' took the strongest strength by their tie-break, without a word, when every strength
    # failed on some inner fold (every score inf).
    import types
    import warnings

    import pytest

    from mixlaw.errors import ConvergenceWarning
    from mixlaw.laws._regularize import ALPHA_GRID, choose_alpha, choose_pooling

    df = _table()
    W, y = df[["w:x", "w:y", "w:z"]].to_numpy(), df["loss:a"].to_numpy()
    with pytest.warns(ConvergenceWarning, match=r"^law 'stub', eval 'a': alpha='cv' \(--law-option alpha=cv\) scored "
                                                r"no strength: each of 0.0001, 0.001, 0.01, 0.1, 1 failed .*so it took "
                                                r"the strongest, alpha=1; give alpha a number") as record:
        best, scores = choose_alpha(_FailingLaw(), W, y, list("xyz"), "a", np.random.default_rng(0))
    assert best == max(ALPHA_GRID) and all(np.isinf(v) for v in scores.values())
    assert {w.filename for w in record} == {__file__}
    ctx = types.SimpleNamespace(model_params=None, tokens=None, targets=["a"], domains=list("xyz"))
    with pytest.warns(ConvergenceWarning, match=r"pooling='cv' \(--law-option pooling=cv\) .*pooling=1; "):
        best_p, _ = choose_pooling(_FailingLaw(), W, y[:, None], ctx, ["a"])
    assert best_p == {"a": max(ALPHA_GRID)}
    # A CV that scores some strength says nothing.
    from mixlaw import get_law

    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        choose_alpha(get_law("ye-exp"), W, y, list("xyz"), "a", np.random.default_rng(0))


def _sat_table(n: int = 40, seed: int = 1) -> pd.DataFrame:
    return _table(n, seed)


def test_loglinear_sat_ranks_a_failed_inner_cv_below_every_score(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # The inner CV scored a NaN Spearman -1, tied with a real -1 and chosen by order (the first pair), and
    # non-finite out-of-fold predictions 0 ('constant': np.ptp of NaN is NaN), above every real negative score.
    import types

    from mixlaw import get_law
    from mixlaw.laws import loglinear_sat

    calls: list[int] = []

    def spearman(a, b):  # type: ignore[no-untyped-def]  # the first pair tried: NaN; every other: a real -1
        calls.append(1)
        return types.SimpleNamespace(statistic=float("nan") if len(calls) == 1 else -1.0)

    monkeypatch.setattr(loglinear_sat, "stats", types.SimpleNamespace(spearmanr=spearman))
    law = get_law("loglinear-sat").fit(_sat_table(), targets="a")
    first, second = list(law.cv_scores_["a"])[:2]
    assert law.cv_scores_["a"][first] == -1.0 and law.pairs_["a"] == [second]

    # Non-finite predictions of the first pair in the inner CV (its batched solve gives NaN coefficients).
    real = loglinear_sat._huber_average
    seen: list[int] = []

    def huber(F, Z, alphas, eps, *folds):  # type: ignore[no-untyped-def]
        coef, icpt, scale, ok = real(F, Z, alphas, eps, *folds)
        if folds:
            seen.append(1)
            if len(seen) == 1:
                coef = np.full_like(coef, np.nan)
        return coef, icpt, scale, ok

    calls.clear()
    monkeypatch.setattr(loglinear_sat, "stats", types.SimpleNamespace(spearmanr=lambda a, b: types.SimpleNamespace(
        statistic=-0.5)))
    monkeypatch.setattr(loglinear_sat, "_huber_average", huber)
    law = get_law("loglinear-sat").fit(_sat_table(), targets="a")
    assert law.cv_scores_["a"][first] == -1.0 and law.pairs_["a"] == [second]
