"""Every table a report prints is also a pandas DataFrame, by one name, ``to_frame()``: a law's parameters, auto's
CV table, the optimum's weights, the bootstrap's parameter intervals, a pipeline's backtest (fitted or loaded) and
its predictions. From Python these were printed text only (the CV table and the backtest a dataclass dump)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixlaw import bootstrap_law, get_law, optimize_mixture
from mixlaw.data import RunTable
from mixlaw.pipeline import fit_pipeline, load_pipeline, save_pipeline

from .test_pipeline import N_STAR, S_STAR, world

DOMAINS = ["web", "code", "math"]


def _table(n: int = 40, seed: int = 0) -> RunTable:
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.ones(3), n)
    T = np.array([[-2.0, 0.0, 0.3], [0.0, -2.5, 0.3]])
    Y = (2.0 + np.exp(W @ T.T)) * (1 + 1e-3 * rng.standard_normal((n, 2)))
    return RunTable(pd.DataFrame({"run": [f"r{i}" for i in range(n)], **{f"w:{d}": W[:, j] for j, d in
                                  enumerate(DOMAINS)}, "loss:web": Y[:, 0], "loss:code": Y[:, 1]}))


def test_parameters_frame_matches_the_params() -> None:
    law = get_law("ye-exp").fit(_table(), targets="web")
    df = law.parameters.to_frame()
    assert list(df.index) == list(law.params_) and df.index.name == "name"
    assert list(df.columns) == ["value", "stderr", "init", "min", "max", "vary", "note"]
    for name, p in law.params_.items():
        assert df.loc[name, "value"] == p.value and df.loc[name, "vary"] == p.vary
        assert (np.isnan(df.loc[name, "stderr"]) if p.stderr is None else df.loc[name, "stderr"] == p.stderr)
    assert not df["vary"].all()  # the reference domain's exponent is held at 0


def test_cv_frame_has_every_row_and_marks_the_choice() -> None:
    law = get_law("auto", candidates=["linear", "ye-exp"]).fit(_table(), targets=["web", "code"])
    df = law.cv_.to_frame()
    assert len(df) == len(law.cv_.rows) == 4 and set(df["target"]) == {"web", "code"}
    chosen = df[df["chosen"]]
    assert dict(zip(chosen["target"], chosen["law"], strict=True)) == law.choice_
    best = df.loc[df.groupby("target")["score"].idxmin()]
    assert dict(zip(best["target"], best["law"], strict=True)) == law.choice_  # the lowest S is the one chosen
    row = law.cv_.rows[0]
    assert df.loc[0, "spearman"] == row.metrics["spearman"] and df.loc[0, "n_params"] == row.n_params


def test_optimum_frame_has_weights_bounds_active_and_bootstrap_intervals() -> None:
    table = _table()
    law = get_law("ye-exp").fit(table, targets=["web", "code"])
    opt = optimize_mixture(law, bounds={"code": (0.1, 0.3)}, fixed={"math": 0.2})
    df = opt.to_frame()
    assert df.index.name == "domain" and list(df.index) == DOMAINS
    assert df["optimum"].to_dict() == opt.weights and df.loc["code", "upper"] == 0.3
    assert df.loc["math", "active"] == "fixed" and "lo" not in df.columns
    boot = bootstrap_law(law, table, targets=["web", "code"], n=8, n_jobs=1,
                         optimize={"bounds": {"code": (0.1, 0.3)}, "fixed": {"math": 0.2}})
    bf = boot.optimum.to_frame()
    ivs = boot.optimum.intervals["weights"]
    assert bf["lo"].to_dict() == {d: v[0] for d, v in ivs.items()} and (bf["lo"] <= bf["hi"]).all()
    pf = boot.to_frame()
    assert list(pf.columns) == ["value", "lo", "hi", "vary"] and list(pf.index) == boot.param_names
    assert pf["lo"].to_dict() == {k: v[0] for k, v in boot.param_intervals().items()}


@pytest.fixture(scope="module")
def pipeline():  # type: ignore[no-untyped-def]
    return fit_pipeline(world(noise=1e-3, n_mix=8), target_params=N_STAR, target_steps=S_STAR)


def test_pipeline_backtest_frame_fitted_and_loaded_alike(pipeline, tmp_path) -> None:  # type: ignore[no-untyped-def]
    sel = pipeline.selection
    df = sel.to_frame()
    assert len(df) == len(sel.candidates)
    assert df[df["chosen"]]["candidate"].tolist() == [sel.chosen.label]
    if sel.runner_up is not None:
        assert df[df["runner_up"]]["candidate"].tolist() == [sel.runner_up.label]
    scored = df[df["error"].isna()]["score"].tolist()
    # printed order: by backtest score, the candidates that could not run last. No NaN: sorted() leaves a list
    # holding one as it is ([0.3, nan, 0.1] == sorted of itself), which is_monotonic_increasing refused.
    assert not np.isnan(scored).any() and scored == sorted(scored)
    save_pipeline(pipeline, tmp_path / "p.json")
    loaded = load_pipeline(tmp_path / "p.json").saved_selection.to_frame()
    pd.testing.assert_frame_equal(loaded, df, check_dtype=False)
    pd.testing.assert_frame_equal(pipeline.to_frame(), pipeline.frame())


def test_leaderboard_frame_has_a_row_per_law_and_split() -> None:
    from mixlaw import compare

    train, test = _table(40, 0), _table(20, 1)
    board = compare.compare(train, {"held": test, "again": test}, targets="web", laws=["linear", "ye-exp"])
    df = board.to_frame()
    assert len(df) == 4 and set(df["split"]) == {"held", "again"} and df["error"].isna().all()
    row = df[(df["law"] == "ye-exp") & (df["split"] == "held")].iloc[0]
    ye = next(r for r in board.rows if r.law == "ye-exp")
    assert row["spearman"] == ye.splits["held"]["spearman"] and row["mre"] == ye.splits["held"]["mre"]


class _Printer:
    """IPython's pretty printer, as much of it as ``_repr_pretty_`` uses."""

    def __init__(self) -> None:
        self.out = ""

    def text(self, s: str) -> None:
        self.out += s


def test_a_notebook_shows_the_reports_not_the_dataclass_repr() -> None:
    # A cell ending in law.report(), law.cv_ or optimize_mixture(...) showed 'FitReport(law=..., params={...' on one
    # line (IPython falls back to repr): now the report, as print() gives it.
    law = get_law("auto", candidates=["linear", "ye-exp"]).fit(_table(), targets="web")
    for obj in (law.report(), law.cv_, optimize_mixture(law)):
        p = _Printer()
        obj._repr_pretty_(p, False)
        assert p.out == str(obj) and "\n" in p.out and not p.out.startswith(type(obj).__name__ + "(")
    try:
        from IPython.lib.pretty import pretty
    except ImportError:
        return
    assert pretty(law.report()) == str(law.report())
