"""One short curve (a run that crashed early, or was evaluated less often) holds every curve's backtest cut to its
own: the split must say which run does it, and how far the others would allow.

Found on mixlaw's trainer runs (4 sizes) with one run cut to its first 4 checkpoints (issue 9): the steps cut fell
from 1.95x to 1.32x for all 24 curves, and nothing named the run."""

from __future__ import annotations

import pandas as pd
from test_pipeline import N_STAR, S_STAR, world

from mixlaw.data import RunTable
from mixlaw.pipeline import leave_scale_out_split


def test_a_short_curve_that_holds_the_cut_is_named() -> None:
    frame = world(n_mix=8).frame
    frame = frame[~((frame["run"] == "m0-N2e+07") & (frame["step"] > 2000))].reset_index(drop=True)
    split = leave_scale_out_split(RunTable(frame), N_STAR, S_STAR)
    assert split.time_ratio == 1.5
    assert split.time_cap == ("the step cut is held to 1.5x by 1 short curve(s), e.g. run 'm0-N2e+07' at N = 2e+07 "
                              "(4 checkpoints): the others allow 3x")
    assert split.time_cap in split.describe() and split.to_dict()["time_cap"] == split.time_cap


def test_curves_of_one_length_say_nothing_of_it() -> None:
    split = leave_scale_out_split(world(n_mix=8), N_STAR, S_STAR)
    assert split.time_ratio == 3.0 and split.time_cap == ""


def test_a_short_curve_of_several_seeds_names_them_all() -> None:
    # Two seeds per mixture and size (one curve each: their checkpoints join), both of m0 at 2e7 cut after step
    # 2000: the line named 'm0-N2e+07-s0' alone, and leaving it out kept the cut at 1.5x (its seed s1 holds it).
    # One seed cut alone holds nothing (its curve has s0's late checkpoints), and nothing is said.
    a, b = world(n_mix=8).frame, world(n_mix=8, noise=1e-4).frame
    frame = pd.concat([a.assign(run=a["run"] + "-s0"), b.assign(run=b["run"] + "-s1")], ignore_index=True)
    late = frame["step"] > 2000
    split = leave_scale_out_split(RunTable(frame[~(late & frame["run"].str.startswith("m0-N2e+07"))]), N_STAR,
                                  S_STAR)
    assert split.time_ratio == 1.5
    assert split.time_cap == ("the step cut is held to 1.5x by 1 short curve(s), e.g. runs 'm0-N2e+07-s0', "
                              "'m0-N2e+07-s1' (one curve, 2 runs of one mixture) at N = 2e+07 (4 checkpoints): the "
                              "others allow 3x")
    split = leave_scale_out_split(RunTable(frame[~(late & (frame["run"] == "m0-N2e+07-s1"))]), N_STAR, S_STAR)
    assert split.time_ratio == 3.0 and split.time_cap == ""
