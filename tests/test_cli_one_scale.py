"""``--at-params`` / ``--final-step``: the CLI's way to keep the rows of one scale of a sweep's table.

A new user ran `fit`, `optimize` and `design --method active` on an exported sweep (3 sizes x 4 checkpoints):
each warned "keep the rows of one scale", which only Python's ``RunTable.filter`` could do."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

from cli_runner import run_cli as _cli
from test_pipeline import SIZES, STEPS, world


def _sweep(tmp_path):  # type: ignore[no-untyped-def]
    path = tmp_path / "sweep.csv"
    world(n_mix=10).frame.to_csv(path, index=False)  # 10 mixtures x 4 sizes x 5 checkpoints
    return str(path)


def test_fit_keeps_the_final_checkpoints_of_one_size(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    runs = _sweep(tmp_path)
    code, _, err = _cli(capsys, "fit", "--runs", runs, "--law", "ye-exp", "--target", "web")
    assert code == 0 and "--at-params largest --final-step" in err  # the scale-blind warning names the way out
    code, out, err = _cli(capsys, "fit", "--runs", runs, "--law", "ye-exp", "--target", "web", "--at-params",
                          "largest", "--final-step", "--json")
    assert code == 0 and "one loss surface" not in err
    assert json.loads(out)["report"]["n_runs"] == 10  # one row per mixture: 8e7 params, step 3000
    code, out, _ = _cli(capsys, "fit", "--runs", runs, "--law", "ye-exp", "--target", "web", "--at-params",
                        "20M", "--final-step", "--json")
    assert code == 0 and json.loads(out)["report"]["n_runs"] == 10
    code, _, err = _cli(capsys, "fit", "--runs", runs, "--law", "ye-exp", "--at-params", "3e7")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "is not a model size of the table" in err and ", ".join(f"{s:g}" for s in SIZES) in err


def test_at_params_takes_the_nearest_size_of_a_table_of_exact_counts(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # `--at-params 100K` on a table whose size is 100096 (and Pythia's "160M" for 162M parameters) was refused:
    # "no run of ... has params 100000". The one size within 5 % is taken, and the warning says which.
    frame = world(n_mix=10, sizes=[100096.0, 1.62e8]).frame
    path = tmp_path / "exact.csv"
    frame.to_csv(path, index=False)
    for spec, size in (("100K", "100096"), ("160M", "1.62e+08")):
        code, out, err = _cli(capsys, "fit", "--runs", str(path), "--law", "ye-exp", "--target", "web",
                              "--at-params", spec, "--final-step", "--json")
        assert code == 0, err
        assert json.loads(out)["report"]["n_runs"] == 10
        assert f"--at-params {spec}: taking {size}, the table's nearest model size" in err
    code, _, err = _cli(capsys, "fit", "--runs", str(path), "--law", "ye-exp", "--at-params", "1M")
    assert code == 2 and "1e+06 is not a model size of the table (100096, 1.62e+08)" in err


def test_json_says_the_size_and_step_the_law_was_fitted_at(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # `fit --at-params 160M --json` fit at the table's 1.62e8 and said so only on stderr: the JSON document had no
    # field naming the size (nor, with --final-step, the step) the law was fitted at. fit, optimize and compare
    # now give it as "fitted_at".
    path = tmp_path / "two.csv"
    world(n_mix=10, sizes=[1.62e8, 4.05e8]).frame.to_csv(path, index=False)
    for cmd in (["fit", "--law", "ye-exp", "--target", "web"], ["optimize", "--law", "ye-exp"],
                ["compare", "--laws", "ye-exp", "--holdout", "0.3"]):
        code, out, err = _cli(capsys, *cmd, "--runs", str(path), "--at-params", "160M", "--json")
        assert code == 0, err
        assert json.loads(out)["fitted_at"] == {"params": 1.62e8}, cmd
        code, out, err = _cli(capsys, *cmd, "--runs", str(path), "--at-params", "largest", "--final-step", "--json")
        assert code == 0, err
        assert json.loads(out)["fitted_at"] == {"params": 4.05e8, "step": float(STEPS[-1])}, cmd
    code, out, _ = _cli(capsys, "fit", "--law", "ye-exp", "--target", "web", "--runs", str(path), "--json")
    assert code == 0 and "fitted_at" not in json.loads(out)  # no cut, no field


def test_optimize_and_active_design_at_one_scale(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    runs = _sweep(tmp_path)
    code, out, err = _cli(capsys, "optimize", "--runs", runs, "--law", "ye-exp", "--at-params", "smallest",
                          "--final-step", "--json")
    assert code == 0 and "one loss surface" not in err
    opt = json.loads(out)["optimum"]
    assert abs(sum(opt["weights"].values()) - 1) < 1e-9 and opt["nearest_run_name"].endswith("-N1e+07")
    code, out, _ = _cli(capsys, "design", "--method", "active", "--runs", runs, "--law", "ye-exp", "--n", "2",
                        "--bootstrap", "4", "--at-params", "largest", "--final-step", "--json")
    assert code == 0
    code, _, err = _cli(capsys, "design", "--domains", "web,code,math", "--at-params", "largest")
    assert code == 2 and "--at-params applies to --method active only" in err
    assert STEPS[-1] == 3000


def _one_run_cut_short(tmp_path, n_mix: int) -> tuple[Path, str]:  # type: ignore[no-untyped-def]
    """A world's table written to CSV with its largest size's first run stopped at the second checkpoint."""
    import pandas as pd

    frame = world(n_mix=n_mix).frame
    big = frame["params"] == frame["params"].max()
    first = frame.loc[big, "run"].iloc[0]
    frame = frame[~((frame["run"] == first) & (frame["step"] > STEPS[1]))]
    path = tmp_path / "short.csv"
    pd.DataFrame(frame).to_csv(path, index=False)
    return path, first


def test_final_step_names_runs_that_end_early(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # newuser4: an interrupted sweep exported with --all; one run stopped at an early checkpoint. --final-step kept
    # that checkpoint as its final loss, and the one warning (a loss surface across step counts) told the user to
    # add --final-step, which they had.
    path, first = _one_run_cut_short(tmp_path, n_mix=10)
    code, _, err = _cli(capsys, "fit", "--runs", str(path), "--law", "ye-exp", "--target", "web", "--at-params",
                        "largest", "--final-step")
    assert code == 0, err
    assert f"--final-step: 1 run(s) end before the others of their size, so their last checkpoint is an earlier " \
           f"one: {first!r} (step {STEPS[1]:g} of {STEPS[-1]:g})" in err, err
    code, _, err = _cli(capsys, "fit", "--runs", _sweep(tmp_path), "--law", "ye-exp", "--target", "web",
                        "--at-params", "largest", "--final-step")
    assert code == 0 and "end before" not in err


def test_select_takes_one_size_of_a_sweep_and_warns_of_several(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # newuser4: `design --select` on a sweep's table took each (mixture, size) as a pilot of its own and compared
    # their final losses as one surface, without a word; --at-params, which keeps one size, was refused there
    # ("applies to --method active only").
    runs = _sweep(tmp_path)
    code, out, err = _cli(capsys, "design", "--select", "6", "--runs", runs, "--target", "web")
    assert code == 0 and "the pilots span 4 model sizes" in err and "--at-params largest" in err, err
    code, out, err = _cli(capsys, "design", "--select", "6", "--runs", runs, "--target", "web", "--at-params",
                          "largest", "--json")
    assert code == 0 and "model sizes" not in err, err
    chosen = [r["run"] for r in json.loads(out)["runs"]]
    frame = world(n_mix=10).frame
    assert len(chosen) == 6 and set(chosen) <= set(frame.loc[frame["params"] == max(SIZES), "run"])


def test_compare_and_report_take_one_scale_of_a_sweep(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # newuser4: on a sweep's tables, compare and report warned that each law "fits one loss surface across those
    # scales: keep the rows of one scale", and neither took --at-params / --final-step to do so.
    import pandas as pd

    frame = world(n_mix=10).frame
    names = sorted(frame["run"].str.replace(r"-[^-]*$", "", regex=True).unique())
    held = frame["run"].str.replace(r"-[^-]*$", "", regex=True).isin(names[-3:])
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    pd.DataFrame(frame[~held]).to_csv(train, index=False)
    pd.DataFrame(frame[held]).to_csv(test, index=False)
    base = ["--runs", str(train), "--test", str(test), "--target", "web", "--laws", "ye-exp,linear"]
    code, _, err = _cli(capsys, "compare", *base)
    assert code == 0 and "one loss surface" in err and "`--at-params largest --final-step`" in err, err
    code, out, err = _cli(capsys, "compare", *base, "--at-params", "largest", "--final-step", "--json")
    assert code == 0 and "one loss surface" not in err, err
    assert json.loads(out)["n_train"] == int((~held).sum() / len(SIZES) / len(STEPS))
    code, _, err = _cli(capsys, "report", *base, "--at-params", "largest", "--final-step", "--out",
                        str(tmp_path / "r.html"))
    assert code == 0 and "one loss surface" not in err, err
    code, _, err = _cli(capsys, "compare", "--dataset", "regmix", "--at-params", "largest")
    assert code == 2 and "the bundled data's splits are one scale each" in err


def test_final_step_runs_that_end_early_are_named_when_the_command_fails(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # The warning is the why of an error that follows (a run's "final" loss at an early checkpoint), yet a failed
    # command printed its error alone: show_warnings kept only the 'left out' lines and UnusedDomainWarning.
    path, _ = _one_run_cut_short(tmp_path, n_mix=4)
    # 4 mixtures of 3 domains are too few for ye-exp at one scale: the command fails after the cut.
    code, _, err = _cli(capsys, "fit", "--runs", str(path), "--law", "ye-exp", "--target", "web", "--at-params",
                        "largest", "--final-step")
    assert code != 0 and "error:" in err
    flat = " ".join(err.split())
    assert "--final-step: 1 run(s) end before the others of their size" in flat, err
    assert flat.index("end before the others") < flat.index("error:")


def test_final_step_on_one_row_per_run_says_no_run_ends_early(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # One row per run, its token count set by its design (AutoScale's runs, no checkpoints): --final-step warned that
    # 20 runs "end before the others of their size", of curves the table does not have.
    from token_sweep import token_sweep

    path = tmp_path / "runs.csv"
    token_sweep(seed=3).to_csv(path, index=False)
    code, _, err = _cli(capsys, "fit", "--runs", str(path), "--law", "linear", "--target", "web", "--final-step")
    assert code == 0, err
    assert "end before" not in err, err


def test_final_step_on_one_row_per_run_with_steps_names_a_run_that_ends_early(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # review33d: a sweep's last checkpoints exported one row per run, with their step; one run crashed at an earlier
    # step. Its step says it ended early (unlike AutoScale's token counts, set by design), yet after the check was
    # limited to tables with curves, --final-step said nothing of it.
    import pandas as pd

    path, first = _one_run_cut_short(tmp_path, n_mix=10)
    frame = pd.read_csv(path)
    frame = frame[frame["params"] == frame["params"].max()]
    last = frame.loc[frame.groupby("run")["step"].idxmax()]  # one row per run: its last checkpoint
    last.to_csv(path, index=False)
    code, _, err = _cli(capsys, "fit", "--runs", str(path), "--law", "ye-exp", "--target", "web", "--final-step")
    assert code == 0, err
    assert f"--final-step: 1 run(s) end before the others of their size, so their last checkpoint is an earlier " \
           f"one: {first!r} (step {STEPS[1]:g} of {STEPS[-1]:g})" in " ".join(err.split()), err



def test_a_test_table_is_cut_at_the_size_the_fitting_runs_were_cut_at(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # '--at-params 160M' read each table's nearest size on its own: the fitting runs' 1.62e8 and a --test table's
    # 1.58e8 (2.5 % apart, no size the fit reads as one), and compare scored the fit on the other size's runs; even
    # '--at-params 1.62e8', exact in the fitting table, cut the held-out one at its 1.58e8. And 'largest' took each
    # table's own largest. A --test table is cut at the fitting runs' size (within 1 %, one size as the fit reads
    # sizes), and keeps its sizes as they are where it has none there.
    from mixlaw.cli._tables import one_scale_rows, one_scale_tests

    fit = world(n_mix=10, sizes=[7.04e7, 1.62e8, 4.05e8])
    held = world(n_mix=6, sizes=[1.58e8, 4.05e8, 1.01e9])
    for spec, sizes in (("160M", {1.58e8, 4.05e8, 1.01e9}), ("1.62e8", {1.58e8, 4.05e8, 1.01e9}),
                        ("405M", {4.05e8}), ("largest", {4.05e8}), ("70.4M", {1.58e8, 4.05e8, 1.01e9})):
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            train = one_scale_rows(fit, spec, True)
            test = one_scale_tests({"held": held}, spec, True, fitted=train)["held"]
        assert set(test.model_params) == sizes, spec
        assert len(test) == 6 * len(sizes), spec  # each run's final checkpoint
        assert len([w for w in said if "nearest model size" in str(w.message)]) <= 1, spec  # the fitting table's
    path = tmp_path / "fit.csv"
    fit.frame.to_csv(path, index=False)
    held.frame.assign(run="t-" + held.frame["run"]).to_csv(tmp_path / "held.csv", index=False)
    code, _, err = _cli(capsys, "compare", "--runs", str(path), "--test", str(tmp_path / "held.csv"), "--laws",
                        "linear", "--target", "web", "--at-params", "160M", "--final-step")
    assert code == 0 and err.count("the table's nearest model size") == 1, err
