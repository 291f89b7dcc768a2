"""An 80 % interval as wide as its prediction or wider is named in a warning, with what made it wide.

Ye et al.'s 5Mix runs (27 mixtures, 70M-410M, 22 evals -> 1B at 100k steps) gave one corner mixture (d4 = 0)
YoutubeSubtitles 1.91 [0.00, 4.63] (jackknife spread 111 %), and Dai & Zheng's SlimPajama cut to 5 mixtures
1.61 [0.00, 44.8], both without a word."""

from __future__ import annotations

import numpy as np
import pytest
from test_pipeline_direct_few_mixtures import world

from mixlaw.errors import MixlawWarning
from mixlaw.pipeline import fit_pipeline
from mixlaw.pipeline.intervals import build_intervals


def test_a_wild_jackknife_is_named() -> None:
    # 6 mixtures of 5 domains: the refit without one mixture predicts it many times its loss.
    with pytest.warns(MixlawWarning, match=r"prediction intervals: \d+ of 12 interval\(s\) are wider than \+/-50% "
                                           r".*from the jackknife"):
        res = fit_pipeline(world(6), target_params=3e8, target_steps=8000)
    iv = res.intervals
    assert iv is not None and np.max((iv.upper - res.target_losses) / res.target_losses) >= 0.5
    (line,) = [w for w in res.warnings if "wider than +/-50%" in w]
    # The widest named by its mixture's label and first run, as frame() and --out name it: "mixture 3 (run ...)"
    # counted the rows of a printed table that numbers none.
    named = [f" of mixture {m} (run {r!r}), " for m, r in zip(res.frame()["mixture"], res.mixture_runs, strict=True)]
    assert sum(n in line for n in named) == 1, line


def test_narrow_intervals_say_nothing() -> None:
    res = fit_pipeline(world(10), target_params=3e8, target_steps=8000)
    assert not any("wider than" in w for w in res.warnings)


def test_a_wide_extrapolation_error_is_named() -> None:
    from mixlaw.pipeline.intervals import wide_intervals_line

    center = np.array([[2.0, 3.0], [2.2, 3.1]])
    iv = build_intervals(center, np.array([[0.5, 0.5], [0.3, 0.7]]), np.full((6, 2), 0.7), 1.0, [], [], 0.8)
    line = wide_intervals_line(iv, center, ["a", "b"], ["mixture p=0.5 (run 'r1')", "mixture p=0.3 (run 'r2')"])
    assert line is not None and "4 of 4" in line and "backtest's extrapolation error" in line
    assert "of mixture p=0." in line
    small = build_intervals(center, np.array([[0.5, 0.5], [0.3, 0.7]]), np.full((6, 2), 0.05), 1.0, [], [], 0.8)
    assert wide_intervals_line(small, center, ["a", "b"]) is None


def test_predict_from_a_saved_pipeline_says_so(tmp_path, capsys) -> None:
    # 'mixlaw predict --pipeline' does not show the fit's warnings; the interval it prints must not pass unsaid.
    import warnings

    from cli_runner import run_cli

    from mixlaw.pipeline import save_pipeline

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MixlawWarning)
        res = fit_pipeline(world(6), target_params=3e8, target_steps=8000)
    save_pipeline(res, tmp_path / "p.json")
    mix = tmp_path / "m.csv"
    res.frame()[["mixture", *[c for c in res.frame() if c.startswith("w:")]]].rename(
        columns={"mixture": "run"}).to_csv(mix, index=False)
    code, out, err = run_cli(capsys, "predict", "--pipeline", str(tmp_path / "p.json"), "--mixtures", str(mix))
    assert code == 0, err
    assert "prediction intervals:" in err and "wider than +/-50% of their prediction; the widest" in err
    assert "poorly determined there" in err


def test_predict_cuts_a_long_mixture_label_where_it_prints_it(tmp_path, capsys) -> None:
    # predict labels the rows of 'mixlaw pipeline --out' by its mixture column: over Marin's 39 buckets a label of
    # 1368-1386 characters filled every printed row and the wide-interval warning. Here 5 domains with such names
    # (labels of 240-250 characters): printed and warned cut to their head; --json (and --out) keep them whole.
    import json
    import warnings

    from cli_runner import run_cli

    from mixlaw.data import RunTable
    from mixlaw.pipeline import save_pipeline
    from mixlaw.pipeline.result import LABEL_WIDTH

    base = world(6)
    long = {c: f"w:dolma3_cc/{c[2:]}_electronics_and_hardware_high" for c in base.frame.columns if c.startswith("w:")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MixlawWarning)
        res = fit_pipeline(RunTable(base.frame.rename(columns=long)), target_params=3e8, target_steps=8000)
    save_pipeline(res, tmp_path / "p.json")
    mix = tmp_path / "out.csv"
    res.frame().to_csv(mix, index=False)
    labels = res.frame()["mixture"].tolist()
    assert min(len(m) for m in labels) > 2 * LABEL_WIDTH
    args = ["predict", "--pipeline", str(tmp_path / "p.json"), "--mixtures", str(mix)]
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    assert "wider than +/-50% of their prediction; the widest" in err
    assert not any(m in out or m in err for m in labels)
    assert "... (+4 more of 5 domains)" in err and max(len(line) for line in out.splitlines()) < LABEL_WIDTH + 80
    code, out, err = run_cli(capsys, *args, "--json")
    assert code == 0, err
    assert [r["run"] for r in json.loads(out)["predictions"]] == labels


@pytest.mark.parametrize("law", ["size", "step"])
def test_a_wide_size_or_step_law_spread_is_named(law: str) -> None:
    # No backtest (3 sizes, sizes only; or 3 checkpoints, steps only): the law's own prediction error makes the
    # interval wide, not the jackknife, which was named with 'predicts it 0% away'.
    from mixlaw.pipeline.intervals import wide_intervals_line
    from mixlaw.pipeline.law_spread import SizeLawSpread

    center = np.array([[2.0], [2.2]])
    spread = SizeLawSpread(np.full((2, 1), 0.9), np.array([0.1]), np.array([1.0]), np.array([0.3]), 3, law=law)
    iv = build_intervals(center, np.array([[0.5, 0.5], [0.3, 0.7]]), None, float("nan"), [], [], 0.8,
                         size_law=spread)
    line = wide_intervals_line(iv, center, ["x"], ["r1", "r2"])
    assert line is not None and f"from the {law} law's prediction error at the target (90%" in line
    assert "jackknife: the mixing law" not in line
