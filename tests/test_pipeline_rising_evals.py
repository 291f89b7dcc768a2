"""An eval that rises with training (an accuracy given as a loss column) is refused, or named, by the pipeline.

Found trying the pipeline as a user with benchmark accuracies in ``loss:`` columns: the step and size laws, which
can only fall, fitted every curve as a flat loss (median residual 3.5 %, max 59 %) and printed predicted
"losses" and intervals for them, with one warning about curves "rising at the end" (a spike?). A table whose
every eval rises on nearly every curve is now refused in one line that says what to give instead; an eval that
does among others is named in one warning and fitted as it is. The share is measured on every real multi-scale
table at hand (:data:`mixlaw.pipeline.tails.RISING_SHARE`).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest
from cli_runner import run_cli

from mixlaw.data import RunTable
from mixlaw.errors import DataWarning, InputError
from mixlaw.pipeline import fit_pipeline
from mixlaw.pipeline.tails import rising_evals

DATA = Path(__file__).resolve().parents[1] / "bench" / "data"
V3 = DATA / "crossscale_runs_v3.csv"
TARGET = {"target_params": 233680, "target_steps": 2929}


def _as_accuracy(frame: pd.DataFrame, evals: list[str]) -> pd.DataFrame:
    """``evals``' losses turned into an accuracy-like metric that rises as the loss falls."""
    frame = frame.copy()
    for e in evals:
        frame[f"loss:{e}"] = 1.0 / (1.0 + frame[f"loss:{e}"])
    return frame


@pytest.mark.parametrize("name", ["crossscale_runs.csv", "crossscale_runs_1m.csv", "crossscale_runs_v3.csv",
                                  "crossscale_runs_v3_12m.csv", "crossscale_runs_v4.csv"])
def test_real_loss_curves_are_not_read_as_rising(name: str) -> None:
    table = RunTable(pd.read_csv(DATA / name, dtype={"run": str}))
    assert rising_evals(table, "step", table.evals) == ([], "step")


def test_a_table_of_accuracies_is_refused_in_one_line(capsys, tmp_path) -> None:
    frame = _as_accuracy(pd.read_csv(V3, dtype={"run": str}), ["code", "dialogue", "legal"])
    with pytest.raises(InputError) as err:
        fit_pipeline(RunTable(frame), **TARGET)
    msg = str(err.value)
    assert "['code', 'dialogue', 'legal'] rise with training" in msg and "code on 24 of 24 curves" in msg
    assert "1 - accuracy" in msg and "--maximize" in msg and "\n" not in msg
    path = tmp_path / "acc.csv"
    frame.to_csv(path, index=False)
    code, out, err_text = run_cli(capsys, "pipeline", "--runs", str(path), "--target-params", "233680",
                                  "--target-steps", "2929")
    assert code == 2 and out == ""
    assert err_text.startswith(f"error: {path}: eval(s) ['code', 'dialogue', 'legal'] rise with training")
    assert "Traceback" not in err_text


def test_one_rising_eval_among_losses_is_named_and_fitted(capsys, tmp_path) -> None:
    frame = _as_accuracy(pd.read_csv(V3, dtype={"run": str}), ["dialogue"])
    with pytest.warns(DataWarning, match=r"eval\(s\) \['dialogue'\] rise with training") as caught:
        res = fit_pipeline(RunTable(frame), route="nested", law="ye-exp", **TARGET)
    line = next(str(w.message) for w in caught if "rise with training" in str(w.message))
    assert "dialogue on 24 of 24 curves" in line and "--target (targets=)" in line
    assert line in res.warnings
    # Leaving it out, as the line says, fits the losses without it.
    with warnings.catch_warnings(record=True) as quiet:
        warnings.simplefilter("always")
        kept = fit_pipeline(RunTable(frame), route="nested", law="ye-exp", targets=["code", "legal"], **TARGET)
    assert not any("rise with training" in str(w.message) for w in quiet)
    assert not any("rise with training" in w for w in kept.warnings)
    path = tmp_path / "mixed.csv"
    frame.to_csv(path, index=False)
    code, out, _ = run_cli(capsys, "pipeline", "--runs", str(path), "--target-params", "233680",
                           "--target-steps", "2929", "--route", "nested", "--law", "ye-exp", "--json")
    assert code == 0
    assert any("['dialogue'] rise with training" in w for w in json.loads(out)["pipeline"]["warnings"])


@pytest.mark.filterwarnings("ignore::mixlaw.errors.DataWarning")
def test_final_losses_at_several_sizes_are_read_over_model_size(tmp_path) -> None:
    # Each run's final accuracy at 4 sizes (no step column): no curve over steps, so the sizes are the curves.
    frame = pd.read_csv(V3, dtype={"run": str})
    last = frame[frame["step"] == frame["step"].max()].drop(columns=["step", "tokens"])
    table = RunTable(last)
    assert rising_evals(table, "step", table.evals) == ([], "step")  # losses: none rises
    acc = RunTable(_as_accuracy(last, ["code", "dialogue", "legal"]))
    with pytest.raises(InputError, match=r"rise with model size: the largest model size lies above the smallest "
                                         r"\(code on 6 of 6 curves"):
        fit_pipeline(acc, target_params=1e6)


def test_backtest_pipeline_names_a_rising_eval_too() -> None:
    # fit_pipeline named it; backtest_pipeline, the lower-level call, scored the accuracy as a loss without a word.
    from mixlaw.pipeline import backtest_pipeline

    frame = _as_accuracy(pd.read_csv(V3, dtype={"run": str}), ["dialogue"])
    with pytest.warns(DataWarning, match=r"eval\(s\) \['dialogue'\] rise with training") as caught:
        backtest_pipeline(RunTable(frame), route="nested", law="ye-exp", step_ratio=2.0)
    line = next(w for w in caught if "rise with training" in str(w.message))
    assert "dialogue on 24 of 24 curves" in str(line.message)
    assert line.filename == __file__  # the caller's line
    every = _as_accuracy(pd.read_csv(V3, dtype={"run": str}), ["code", "dialogue", "legal"])
    with pytest.raises(InputError, match=r"\['code', 'dialogue', 'legal'\] rise with training"):
        backtest_pipeline(RunTable(every), route="nested", law="ye-exp", step_ratio=2.0)


def test_pipeline_backtest_says_it_once(capsys, tmp_path) -> None:
    # `mixlaw pipeline --backtest` runs fit_pipeline, then backtest_pipeline, on the same rows: one line, not two.
    path = tmp_path / "mixed.csv"
    _as_accuracy(pd.read_csv(V3, dtype={"run": str}), ["dialogue"]).to_csv(path, index=False)
    code, _, err = run_cli(capsys, "pipeline", "--runs", str(path), "--target-params", "233680", "--target-steps",
                           "2929", "--route", "nested", "--law", "ye-exp", "--backtest")
    assert code == 0, err
    assert " ".join(err.split()).count("['dialogue'] rise with training") == 1


def test_auto_leaves_out_the_candidates_on_a_total_that_rises_as_fit_total_refuses_it(capsys, tmp_path) -> None:
    # fit_pipeline checks the evals (dialogue rises, code and legal fall: a warning), and auto chose "direct
    # joint+ye-exp on the total" of weights=dialogue:0.999,...: a total that rises (0.999 x an accuracy), which
    # --fit-total refuses. Now its candidates are left out, in one line; `--backtest` of auto's choice then runs
    # (it stopped on "every eval rises", rc 2, when it re-checked the total alone).
    path = tmp_path / "mixed.csv"
    _as_accuracy(pd.read_csv(V3, dtype={"run": str}), ["dialogue"]).to_csv(path, index=False)
    base = ["pipeline", "--runs", str(path), "--target-params", "1e6", "--target-steps", "6000", "--optimize",
            "--objective", "weights=dialogue:0.999,code:0.0005,legal:0.0005"]
    code, out, err = run_cli(capsys, *base, "--backtest")
    assert code == 0, err
    assert "<- chosen" in out and "on the total" not in out
    assert "[[Backtest" in out
    flat = " ".join(err.split())
    assert flat.count("the weighted total 0.0005*code, 0.999*dialogue, 0.0005*legal rises with training: the last "
                      "checkpoint lies above the first (on 24 of 24 curves); the candidates fitted on that total are "
                      "left out, as --fit-total refuses it") == 1, err
    assert flat.count("rise with") == 1  # the per-eval line, once
    code, _, err = run_cli(capsys, *base, "--fit-total")
    assert code == 2 and "['objective'] rise with training" in err
    # A total that falls (the accuracy weighed in lightly) keeps its candidates.
    code, out, err = run_cli(capsys, "pipeline", "--runs", str(path), "--target-params", "1e6", "--target-steps",
                             "6000", "--optimize", "--objective", "weights=dialogue:0.1,code:0.45,legal:0.45")
    assert code == 0, err
    assert "on the total" in out and "weighted total" not in " ".join(err.split())


@pytest.mark.parametrize("only", [["--sizes-only", "--target-params", "1e6", "--target-steps", "2929"],
                                  ["--steps-only", "--target-params", "233680", "--target-steps", "6000"]])
def test_pipeline_backtest_at_one_scale_says_it_once(capsys, tmp_path, only: list[str]) -> None:
    # The backtest reads a sizes-only (steps-only) pipeline at its one step (size): its own count of curves ("dialogue
    # on 6 of 6 curves", over model size) printed a second line beside the fit's ("24 of 24").
    path = tmp_path / "mixed.csv"
    _as_accuracy(pd.read_csv(V3, dtype={"run": str}), ["dialogue"]).to_csv(path, index=False)
    code, _, err = run_cli(capsys, "pipeline", "--runs", str(path), *only, "--route", "nested", "--law", "ye-exp",
                           "--backtest")
    assert code == 0, err
    assert " ".join(err.split()).count("['dialogue'] rise with") == 1


def test_an_accuracy_inside_an_eval_group_is_named(capsys, tmp_path) -> None:
    # review24a: an accuracy weighed into an --eval-group (or the --fit-total total) of losses was fitted without a
    # word: the group itself still falls while its losses dominate, and only the fitted columns were checked.
    from mixlaw.evals import add_eval_groups

    frame = _as_accuracy(pd.read_csv(V3, dtype={"run": str}), ["dialogue"])
    table = add_eval_groups(RunTable(frame), {"g": {"code": 0.5, "dialogue": 0.5}})
    with pytest.warns(DataWarning, match=r"eval\(s\) \['dialogue'\] in \['g'\] rise with training") as caught:
        fit_pipeline(table, route="nested", law="ye-exp", targets=["g"], **TARGET)
    line = next(str(w.message) for w in caught if "rise with" in str(w.message))
    assert "dialogue on 24 of 24 curves" in line and "--eval-group" in line and "code" not in line
    # A group of losses alone says nothing.
    quiet_table = add_eval_groups(RunTable(pd.read_csv(V3, dtype={"run": str})), {"g": {"code": 0.5, "legal": 0.5}})
    with warnings.catch_warnings(record=True) as quiet:
        warnings.simplefilter("always")
        fit_pipeline(quiet_table, route="nested", law="ye-exp", targets=["g"], **TARGET)
    assert not any("rise with" in str(w.message) for w in quiet)
    path = tmp_path / "mixed.csv"
    frame.to_csv(path, index=False)
    for extra in (["--eval-group", "g=code:0.5,dialogue:0.5", "--target", "g"],
                  ["--fit-total", "--optimize", "--objective", "weights=dialogue:0.5,code:0.25,legal:0.25"]):
        code, out, err = run_cli(capsys, "pipeline", "--runs", str(path), "--target-params", "233680",
                                 "--target-steps", "2929", "--route", "nested", "--law", "ye-exp", *extra)
        assert code == 0, err
        assert " ".join(err.split()).count("['dialogue'] in [") == 1, err


def test_an_accuracy_in_a_group_inside_the_fit_total_total_is_named(capsys, tmp_path) -> None:
    # The total of --fit-total weighs an --eval-group: its members are the group and legal, and the accuracy inside
    # the group (dialogue) was fitted without a word (only the total's own members were checked).
    path = tmp_path / "mixed.csv"
    _as_accuracy(pd.read_csv(V3, dtype={"run": str}), ["dialogue"]).to_csv(path, index=False)
    code, _, err = run_cli(capsys, "pipeline", "--runs", str(path), "--target-params", "233680", "--target-steps",
                           "2929", "--route", "nested", "--law", "ye-exp", "--eval-group", "g=code:0.5,dialogue:0.5",
                           "--target", "g", "--target", "legal", "--fit-total", "--optimize", "--objective",
                           "weights=g:0.5,legal:0.5")
    assert code == 0, err
    assert " ".join(err.split()).count("eval(s) ['dialogue'] in ['g'] rise with training") == 1, err
