"""``--workers`` of compare, report and pipeline: the fold fits of their auto / stack cross-validations on N processes,
parsed and resolved as fit's (``cv_workers``: ``auto`` follows MIXLAW_CV_WORKERS, a count given overrides it)."""

from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
import pytest
from cli_runner import run_cli as _cli
from test_cv_workers import _table

from mixlaw import _workers
from mixlaw.laws import selection

#: Two cheap candidates, so that a stack's CV takes a second (the default eleven take a minute).
CHEAP = ("linear", "loglinear")


@pytest.fixture
def pools(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every process pool a CV starts, with the suite's MIXLAW_CV_WORKERS=1 set (so ``auto``, the
    default, starts none) and stack's candidates cut to :data:`CHEAP`."""
    monkeypatch.setenv(_workers.ENV, "1")
    monkeypatch.setattr(selection, "AUTO_CANDIDATES", CHEAP)
    sizes: list[int] = []

    class Recording(ProcessPoolExecutor):
        def __init__(self, max_workers: int, **kw: object) -> None:
            sizes.append(max_workers)
            super().__init__(max_workers=max_workers, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(selection, "ProcessPoolExecutor", Recording)
    return sizes


def _pipeline_table(n_mix: int = 8) -> pd.DataFrame:
    """Three sizes x four checkpoints of ``n_mix`` mixtures: L = E + A/N^0.3 + B/S^0.5 + exp(t . r)."""
    rng = np.random.default_rng(0)
    rows = []
    for m, w in enumerate(rng.dirichlet(np.ones(3), size=n_mix)):
        for N in (1e7, 2e7, 4e7):
            for S in (500, 1000, 2000, 3000):
                y = 1.9 + 300 / N**0.3 + 30 / S**0.5 + 0.5 * np.exp(w @ np.array([-1.5, 0.3, 0.2]))
                rows.append({"run": f"m{m}-N{N:g}", "params": N, "step": S, "w:web": w[0], "w:code": w[1],
                             "w:books": w[2], "loss:a": y * (1 + 1e-4 * rng.standard_normal())})
    return pd.DataFrame(rows)


def _args(command: str, tmp_path) -> list[str]:  # type: ignore[no-untyped-def]
    """A run of ``command`` that fits a stack (so a CV runs)."""
    runs = tmp_path / "runs.csv"
    if command == "pipeline":
        _pipeline_table().to_csv(runs, index=False)
        return ["pipeline", "--runs", str(runs), "--target-params", "1e9", "--target-steps", "1e5", "--route",
                "nested", "--law", "stack", "--json"]
    _table().to_csv(runs, index=False)
    common = ["--runs", str(runs), "--holdout", "0.25", "--laws", "stack", "--target", "a"]
    if command == "compare":
        return ["compare", *common, "--cv-folds", "3", "--json"]
    return ["report", *common, "--out", str(tmp_path / "page.html")]


@pytest.mark.parametrize("command", ["compare", "report", "pipeline"])
def test_workers_reach_the_cv_and_a_bad_count_is_one_line_naming_the_flag(command, capsys, tmp_path,
                                                                         pools) -> None:
    args = _args(command, tmp_path)
    code, _, err = _cli(capsys, *args)
    assert code == 0, err
    assert pools == []  # default auto, MIXLAW_CV_WORKERS=1: in this process
    code, _, err = _cli(capsys, *args, "--workers", "2")
    assert code == 0, err
    assert pools and set(pools) == {2}  # a count given overrides the variable, as in fit
    n = len(pools)
    code, _, err = _cli(capsys, *args, "--workers", "1")
    assert code == 0 and len(pools) == n
    for bad, says in (("0", "must be at least 1"), ("x", "must be a count >= 1 or 'auto'")):
        code, _, err = _cli(capsys, *args, "--workers", bad)
        assert code == 2
        assert err.strip().splitlines() == [err.strip()] and f"--workers (cv_workers(n)) {says}" in err


def test_compare_gives_the_same_table_on_one_and_two_workers(capsys, tmp_path, pools) -> None:
    args = _args("compare", tmp_path)
    code, one, err = _cli(capsys, *args, "--workers", "1")
    assert code == 0, err
    code, two, err = _cli(capsys, *args, "--workers", "2")
    assert code == 0, err
    assert set(pools) == {2}
    a, b = json.loads(one), json.loads(two)
    for doc in (a, b):
        assert doc["laws"][0].pop("fit_seconds") > 0  # wall time, the one number that may differ
    assert a == b  # leaderboard, each law's scores and stack's CV table, every other number
    assert [r["law"] for r in a["laws"]] == ["stack"] and a["laws"][0]["cv"]["n_folds"] == 3


def test_report_with_pipeline_refuses_workers(capsys, tmp_path) -> None:
    # --pipeline draws a saved pipeline's page: no law is fitted, so --workers is refused (as --laws is), not dropped.
    code, _, err = _cli(capsys, "report", "--pipeline", str(tmp_path / "p.json"), "--workers", "2")
    assert code == 2 and "--workers" in err and "--pipeline draws the saved pipeline's page" in err


def test_report_with_pipeline_refuses_seed(capsys, tmp_path) -> None:
    # 'report --pipeline p.json --seed 3' wrote the same page as --seed 0 without a word: nothing on it is drawn.
    code, _, err = _cli(capsys, "report", "--pipeline", str(tmp_path / "p.json"), "--seed", "3")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "--seed seeds the fits" in err and "--pipeline draws the saved pipeline's page" in err
