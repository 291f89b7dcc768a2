"""One model size written two ways (a rounded count for some runs, the exact one for others: 70M against
70,426,624) is one size: the pipeline must give the clean table's answer, and say so.

Found on mixlaw's trainer runs (3 sizes) with half the mixtures' smallest size written 28400 for 28368 (issue 9):
the pipeline saw 4 sizes, the size law's backtest held out the largest and left each mixture 2, and ``auto`` moved
to the direct route without a word (predictions up to 4.8 % off the clean table's)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from cli_runner import run_cli
from test_pipeline import N_STAR, S_STAR, SIZES, world

from mixlaw.data import RunTable
from mixlaw.errors import DataWarning
from mixlaw.pipeline import fit_pipeline
from mixlaw.pipeline.grouping import merge_near_sizes, snap_target_size


def _rounded(table: RunTable) -> RunTable:
    """Half the mixtures' smallest size written 0.5 % larger."""
    frame = table.frame.copy()
    half = frame["run"].str.split("-").str[0].isin([f"m{i}" for i in range(0, 8, 2)])
    frame.loc[half & (frame["params"] == SIZES[0]), "params"] = SIZES[0] * 1.005
    return RunTable(frame)


def test_a_size_written_two_ways_is_one_size() -> None:
    clean = world(n_mix=8, sizes=SIZES[:3])
    kw = {"target_params": N_STAR, "target_steps": S_STAR, "law": "ye-exp", "intervals": False}
    want = fit_pipeline(clean, **kw)
    # 1e7 * 1.005 is 10049999.999999998, named exactly (a size a user may paste back).
    with pytest.warns(DataWarning, match=r"model sizes within 1 % of each other read as one size \(10049999\.999999998 "
                                         r"as 1e\+07: 20 rows"):
        got = fit_pipeline(_rounded(clean), **kw)
    assert got.route == want.route and len(got.mixtures) == 8
    np.testing.assert_allclose(got.target_losses, want.target_losses, rtol=1e-9)


def test_sizes_of_a_sweep_stay_apart() -> None:
    table = world(n_mix=3, sizes=[1e7, 1.02e7, 2e7])
    assert merge_near_sizes(table) == (table, None)


def test_a_mixture_written_two_ways_at_a_size_left_out_is_no_concern() -> None:
    # Ye et al.'s RedPajama runs write one mixture's share 0.015625 at 70M-410M and 0.01562 at 1B: with
    # fit_up_to=410M the fit reads none of the 1B rows, and the warning on them said nothing of the fit.
    frame = world(n_mix=6).frame.copy()
    at = (frame["params"] == SIZES[-1]) & frame["run"].str.startswith("m0-")
    frame.loc[at, "w:web"] += 5e-6
    frame.loc[at, "w:code"] -= 5e-6
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        res = fit_pipeline(RunTable(frame), target_params=N_STAR, target_steps=S_STAR, fit_up_to=SIZES[-2],
                           route="nested", law="ye-exp")
    assert not any("read as one mixture" in w for w in res.warnings)


def test_the_cli_backtest_keeps_the_rows_the_fit_kept(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # 3 of 8 mixtures' largest size written 0.5 % larger: fit_pipeline merged it into the largest size before
    # --fit-up-to read the sizes, while --backtest's own --fit-up-to on the table as read left those 3 out
    # (15 entries, 5 mixtures x 3 evals, instead of 24).
    frame = world(n_mix=8, noise=3e-3).frame.copy()
    some = frame["run"].str.split("-").str[0].isin(["m0", "m3", "m6"])
    frame.loc[some & (frame["params"] == SIZES[-1]), "params"] = SIZES[-1] * 1.005
    path = tmp_path / "runs.csv"
    frame.to_csv(path, index=False)
    code, out, err = run_cli(capsys, "pipeline", "--runs", str(path), "--target-params", f"{N_STAR:g}",
                             "--target-steps", f"{S_STAR:g}", "--route", "nested", "--law", "ye-exp",
                             "--fit-up-to", f"{SIZES[-1]:g}", "--backtest", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert len(doc["pipeline"]["mixtures"]) == 8
    steps = next(b for b in doc["backtest"] if b["kind"] == "steps")
    assert steps["n"] == 24, steps


def test_a_target_in_the_other_spelling_is_the_merged_size(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # One size, written 1.005e7 for half the mixtures: --target-params 1.005e7 was no size of the merged table and
    # stopped at "the size law L(N) = E + A/N^alpha needs 3 model sizes ... the data has 1 model size(s) (1e+07)";
    # --target-params 1e7 ran the steps-only pipeline. Both give that pipeline now.
    path = tmp_path / "runs.csv"
    _rounded(world(n_mix=8, sizes=SIZES[:1])).frame.to_csv(path, index=False)
    docs = []
    for size in (SIZES[0], SIZES[0] * 1.005):
        code, out, err = run_cli(capsys, "pipeline", "--runs", str(path), "--target-params", f"{size:g}",
                                 "--target-steps", f"{S_STAR:g}", "--route", "nested", "--law", "ye-exp",
                                 "--json")
        assert code == 0, err
        docs.append(json.loads(out)["pipeline"])
    assert docs[1]["target_params"] == SIZES[0] and docs[1]["steps_only"]
    assert "target_params 1.005e+07 read as the table's size 1e+07" in " ".join(docs[1]["warnings"])
    assert [m["predicted"] for m in docs[1]["mixtures"]] == [m["predicted"] for m in docs[0]["mixtures"]]


def test_the_merge_and_the_target_snap_name_sizes_exactly() -> None:
    # 70,426,624 written 70M for one mixture: the lines said "7e+07 as 7.04266e+07" and "read as the table's size
    # 7.04266e+07", a size that, pasted back as --target-params, is 70,426,600 and not the table's.
    frame = world(n_mix=4, sizes=SIZES[:1]).frame.copy()
    frame["params"] = 70426624.0
    frame.loc[frame["run"].str.startswith("m0-"), "params"] = 70e6
    table = RunTable(frame)
    merged, line = merge_near_sizes(table)
    assert line is not None and "(7e+07 as 70426624: " in line
    size, snap = snap_target_size(table, merged, 7e7)
    assert size == 70426624.0
    assert snap is not None and "target_params 7e+07 read as the table's size 70426624 " in snap
