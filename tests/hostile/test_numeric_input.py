"""Hostile numbers: training hyperparameters that are not finite or out of range, a run whose loss
goes NaN, a NaN --weight-tol, fewer runs than a law's parameters, a model that is constant, a domain that is zero
in every run. Each is refused or warned about, never silently used.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mixlaw import api
from mixlaw.errors import InputError

from ._helpers import TINY, one_error, run_cli, runs_csv


# ---------------------------------------------------------------------- training settings
@pytest.mark.parametrize("override,match", [
    ("--lr=inf", "'lr' must lie in"), ("--lr=1e30", "'lr' must lie in"), ("--lr=nan", "'lr' must lie in"),
    ("--weight_decay=nan", "'weight_decay' must be a finite number"), ("--grad_clip=-1", "'grad_clip' must be"),
    ("--beta2=nan", "'beta2' must lie in"),
])
def test_training_hyperparameters_are_validated(override: str, match: str, small_corpus: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["train", "--corpus", str(small_corpus), "--mixture", "math=0.5,docs=0.5", *TINY, override],
                           capsys)
    assert match in one_error(code, err)


@pytest.mark.parametrize("bad, said, reason", [
    (float("nan"), "diverged by step 10: math loss nan", "lower --lr"),
    # A validation loss that rounds to 0 (a domain of one repeated token): the store refuses such a loss, so the run
    # stops as a NaN one does, and 'runs export' of the store still works.
    (0.0, "stopped at step 10: math loss 0.0, expected > 0", "repeated token"),
], ids=["nan", "zero"])
def test_a_run_whose_eval_loss_goes_bad_is_recorded_as_diverged_with_its_reason(
        bad: float, said: str, reason: str, small_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from mixlaw.store import RunStore, export_run_table
    from mixlaw.train import loop

    real = loop.evaluate
    calls = {"n": 0}

    def bad_after_first(model, windows, batch_rows):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        out = real(model, windows, batch_rows)
        return out if calls["n"] == 1 else {**out, "math": bad}

    monkeypatch.setattr(loop, "evaluate", bad_after_first)
    store = tmp_path / "s.db"
    code, _, err = run_cli(["train", "--corpus", str(small_corpus), "--mixture", "math=0.5,docs=0.5", *TINY,
                            "--store", str(store)], capsys)
    assert code == 1 and "Traceback" not in err
    assert said in err and "recorded as diverged" in err
    with RunStore(store, readonly=True) as db:
        (rid,) = db.run_ids()
        assert db.status(rid) == "diverged" and reason in db.reason(rid)
        assert db.checkpoint_steps(rid) == [5]  # the finite checkpoint stays; the bad one was never written
    assert len(export_run_table(store, include_unfinished=True)) == 0


# ---------------------------------------------------------------------- numbers that make no sense
def test_weight_tol_nan_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = runs_csv(tmp_path / "r.csv", 30, 0)
    text = runs.read_text().splitlines()
    text[1] = "r0,0.5,0.5,0.2,3.0"  # sums to 1.2
    runs.write_text("\n".join(text) + "\n")
    code, _, err = run_cli(["fit", "--runs", str(runs), "--law", "linear", "--weight-tol", "nan"], capsys)
    assert "'--weight-tol': nan is not a finite number" in one_error(code, err)
    from mixlaw.data import read_runs

    with pytest.raises(InputError, match=r"weight_tol \(--weight-tol\) must be a number in \[0, 1\)"):  # the API too
        read_runs(runs, weight_tol=float("nan"))


@pytest.mark.parametrize("law", ["linear", "loglinear"])
def test_closed_form_laws_refuse_fewer_runs_than_parameters(law: str, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    runs = runs_csv(tmp_path / "r.csv", 3, 0)  # 3 runs, 3 domains: least squares would interpolate exactly
    plain = ["--law", law, "--law-option", "alpha=0"]
    code, _, err = run_cli(["fit", "--runs", str(runs), *plain], capsys)
    assert "too few to fit 3 parameters" in one_error(code, err)
    code, _, err = run_cli(["optimize", "--runs", str(runs), *plain], capsys)
    assert "too few" in one_error(code, err)
    # The default (alpha="cv") fits them with a ridge that leaves a residual degree of freedom, and says so.
    code, out, _ = run_cli(["fit", "--runs", str(runs), "--law", law], capsys)
    assert code == 0 and "Ridge strength by leave-one-out" in out and "effective" in out
    two = runs_csv(tmp_path / "two.csv", 2, 0)
    code, _, err = run_cli(["fit", "--runs", str(two), "--law", law], capsys)
    assert "2 run(s) are too few for alpha='cv'" in one_error(code, err)


def test_constant_lightgbm_is_refused_by_optimize_and_continual(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("lightgbm")
    runs = runs_csv(tmp_path / "r.csv", 30, 0)  # 30 runs < 2 x min_child_samples: no tree can split
    code, _, err = run_cli(["optimize", "--runs", str(runs), "--law", "lightgbm"], capsys)
    assert "is constant" in one_error(code, err)
    two = runs_csv(tmp_path / "two.csv", 30, 0, domains=("a", "b"), evals=("a", "b"))
    code, _, err = run_cli(["continual", "--runs", str(two), "--original", "a", "--new", "b", "--law", "lightgbm",
                            "--bootstrap", "0", "--pre-loss", "3.0"], capsys)
    assert "is constant" in one_error(code, err)


def test_a_loaded_constant_lightgbm_is_refused_like_a_fitted_one(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Loading recomputes the constant-model check, so every path that refuses a fitted constant model (the
    run check of optimize/continual/design/pipeline, and optimize_mixture, which a loaded pipeline's optimum
    and design's active search use) refuses a loaded one too."""
    pytest.importorskip("lightgbm")
    from mixlaw.errors import ConvergenceWarning
    from mixlaw.optimize import check_enough_runs, optimize_mixture

    for name, n in (("few", 30), ("many", 120)):
        code, _, err = run_cli(["fit", "--runs", str(runs_csv(tmp_path / f"{name}.csv", n, 0)), "--law", "lightgbm",
                                "--out", str(tmp_path / f"{name}.json")], capsys)
        assert code == 0, err
    with pytest.warns(ConvergenceWarning, match=r"saved model of \['a'\] is constant"):
        constant = api.load_law(tmp_path / "few.json")
    assert constant.constant_targets_ == ["a"]
    for check in (check_enough_runs, optimize_mixture):
        with pytest.raises(InputError, match=r"law 'lightgbm' is constant for \['a'\]"):
            check(constant)
    code, _, err = run_cli(["predict", "--law", str(tmp_path / "few.json"), "--mixtures", str(tmp_path / "few.csv")],
                           capsys)
    assert code == 0 and "is constant" in err  # predicting is allowed, with the warning
    splits = api.load_law(tmp_path / "many.json")  # 120 runs: the trees split
    assert splits.constant_targets_ == []
    check_enough_runs(splits)
    uniform = float(np.ravel(splits.predict(np.full((1, 3), 1 / 3)))[0])
    assert optimize_mixture(splits, search="simulate", n_samples=2000).objective <= uniform


def test_a_domain_zero_in_every_run_is_warned(tmp_path: Path) -> None:
    from mixlaw.data import read_runs
    from mixlaw.errors import DataWarning

    runs = runs_csv(tmp_path / "r.csv", 20, 0, domains=("a", "b"))
    text = runs.read_text().replace("run,w:a,w:b,loss:a", "run,w:a,w:b,w:never,loss:a")
    text = "\n".join(ln if i == 0 else ln.replace(",", ",", 2).rsplit(",", 1)[0] + ",0," + ln.rsplit(",", 1)[1]
                     for i, ln in enumerate(text.splitlines()))
    runs.write_text(text + "\n")
    with pytest.warns(DataWarning, match=r"domain\(s\) \['never'\] have weight 0 in every run"):
        read_runs(runs)
