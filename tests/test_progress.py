"""Long loops report a real total: bootstrap refits, the laws of a comparison; and the default set of laws
says what it leaves out."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from rich.progress import Progress

from mixlaw import _console
from mixlaw.bootstrap import MIN_PARALLEL, bootstrap_law
from mixlaw.cli._progress import _CountColumn
from mixlaw.compare import default_laws, left_out_laws
from mixlaw.data import RunTable


def _table(n: int = 24) -> RunTable:
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), size=n)
    y = 2 + np.exp(W @ [-1.0, 0.2, 0.4]) * np.exp(rng.normal(0, 0.005, n))
    return RunTable(pd.DataFrame({"run": [f"r{i}" for i in range(n)], "w:a": W[:, 0], "w:b": W[:, 1],
                                  "w:c": W[:, 2], "loss:a": y}))


@pytest.mark.parametrize("jobs", [1, 2])
def test_bootstrap_reports_every_refit(jobs):
    n = max(MIN_PARALLEL, 16)
    done: list[int] = []
    res = bootstrap_law("linear", _table(), n=n, n_jobs=jobs, on_progress=done.append)
    assert sum(done) == n and res.n_boot == n
    if jobs == 2:
        assert len(done) > 2  # several updates, not one at the end


def test_count_column_never_prints_none():
    with Progress(disable=True) as bar:
        known = bar.add_task("x", total=8, completed=3)
        unknown = bar.add_task("y", total=None, completed=2)
        col = _CountColumn()
        assert col.render(bar.tasks[known]).plain == "3/8"
        assert col.render(bar.tasks[unknown]).plain == "2"


def test_left_out_laws_say_why(monkeypatch):
    monkeypatch.setitem(sys.modules, "lightgbm", None)  # as if mixlaw[lightgbm] were not installed
    assert "lightgbm" not in default_laws()
    assert "mixlaw[lightgbm]" in left_out_laws()["lightgbm"]


def test_off_a_terminal_long_work_prints_plain_lines(monkeypatch, capsys):
    # A batch job or CI log: rich hides its bar there, so long work used to print nothing for minutes.
    from mixlaw.cli import _progress

    monkeypatch.setattr(_console, "PLAIN_EVERY_S", 0.0)
    monkeypatch.setitem(_progress.QUIET, "on", False)
    assert not _progress.err.is_terminal  # pytest captures stderr
    with _progress.progress("bootstrap refits", total=3) as advance:
        advance("first")
        advance.set_total(4)
        advance(n=3)
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("mixlaw: bootstrap refits: first (1/3, ") and err[0].endswith(" s)")
    assert err[1].startswith("mixlaw: bootstrap refits: first (4/4, ")
    assert err[-1].startswith("mixlaw: bootstrap refits (done in ")


def test_short_work_off_a_terminal_prints_nothing(monkeypatch, capsys):
    from mixlaw.cli import _progress

    monkeypatch.setitem(_progress.QUIET, "on", False)
    with _progress.progress("fitting", total=2) as advance:
        advance()
        advance()
    assert capsys.readouterr().err == ""


def test_quiet_silences_progress(monkeypatch, capsys):
    from mixlaw.cli import main

    monkeypatch.setattr(_console, "PLAIN_EVERY_S", 0.0)
    argv = ["optimize", "--dataset", "regmix", "--law", "linear", "--target", "pile_cc", "--bootstrap", "10",
            "--workers", "1", "--json"]
    with pytest.raises(SystemExit) as exc:
        main(["--quiet", *argv])
    assert exc.value.code == 0
    assert "mixlaw:" not in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0 and "mixlaw: " in capsys.readouterr().err  # the same run, not quiet, reports


def test_plain_line_of_a_relabelling_bar_has_no_zero_count(monkeypatch, capsys):
    # --law auto's fold fits relabel the enclosing bar (advance(label, 0)): '(0, 16 s)' read as nothing done.
    from mixlaw.cli import _progress

    monkeypatch.setattr(_console, "PLAIN_EVERY_S", 0.0)
    monkeypatch.setitem(_progress.QUIET, "on", False)
    with _progress.progress("fitting auto") as advance:
        advance("cross-validating ye-exp (3/10 fold fits)", 0)
    line = capsys.readouterr().err.splitlines()[0]
    assert line.startswith("mixlaw: fitting auto: cross-validating ye-exp (3/10 fold fits) (") and ", " not in line[-8:]


def test_one_long_step_off_a_terminal_still_reports(monkeypatch, capsys):
    # One long fit advances nothing: a heartbeat prints the line when nothing moved for PLAIN_EVERY_S.
    import time

    from mixlaw.cli import _progress

    monkeypatch.setattr(_console, "PLAIN_EVERY_S", 0.05)
    monkeypatch.setitem(_progress.QUIET, "on", False)
    with _progress.progress("fitting bimix"):
        time.sleep(0.3)
    err = capsys.readouterr().err.splitlines()
    assert len(err) >= 3 and err[0].startswith("mixlaw: fitting bimix (") and err[0].endswith(" s)")
    assert err[-1].startswith("mixlaw: fitting bimix (done in ")


def test_meta_law_bootstrap_says_each_refit_reruns_the_choice(monkeypatch, capsys, tmp_path):
    # Found on Dai & Zheng's 122M SlimPajama runs (48 runs x 8 evals): 'mixlaw optimize --bootstrap 50' with the
    # default law auto ran 10 minutes (14 s a refit: every refit re-runs the CV of 11 laws) where --law
    # additive-ens, auto's choice, took 14 s for all 50; its progress lines said only 'auto: bootstrap refits'.
    from mixlaw.cli import main

    monkeypatch.setattr(_console, "PLAIN_EVERY_S", 0.0)
    _table().frame.to_csv(tmp_path / "runs.csv", index=False)
    base = ["optimize", "--runs", str(tmp_path / "runs.csv"), "--bootstrap", "2", "--workers", "1"]
    with pytest.raises(SystemExit) as exc:
        main([*base, "--law", "auto", "--candidates", "linear,loglinear"])
    err = capsys.readouterr().err
    assert exc.value.code == 0 and "(each re-runs the auto choice by cross-validation; --law KEY refits one law)" in err
    with pytest.raises(SystemExit) as exc:
        main([*base, "--law", "linear"])
    assert exc.value.code == 0 and "re-runs" not in capsys.readouterr().err


def test_report_shows_progress_per_law(monkeypatch, capsys, tmp_path):
    # mixlaw report --dataset regmix --target all ran 40 s (59 s to the end) without a line on stderr.
    from mixlaw.cli import _progress, main

    monkeypatch.setattr(_console, "PLAIN_EVERY_S", 0.0)
    monkeypatch.setitem(_progress.QUIET, "on", False)
    _table(30).frame.to_csv(tmp_path / "runs.csv", index=False)
    _table(12).frame.to_csv(tmp_path / "test.csv", index=False)
    with pytest.raises(SystemExit) as exc:
        main(["report", "--runs", str(tmp_path / "runs.csv"), "--test", str(tmp_path / "test.csv"),
              "--laws", "linear,loglinear", "--out", str(tmp_path / "r.html")])
    err = capsys.readouterr().err
    assert exc.value.code == 0
    assert "mixlaw: fitting laws: linear (" in err and "fitting laws: loglinear (" in err and "(2/2" in err


def test_one_warning_of_a_law_on_many_evals_is_one_line():
    # mixlaw optimize --runs rpj410.csv (Ye's RedPajama 410M runs, 22 Pile evals) printed 17 lines of
    # 'loglinear-sat[<eval>]: a Huber fit did not converge in 100 Newton steps'.
    from mixlaw.cli._common import merge_eval_warnings

    msgs = [f"loglinear-sat[e{i}]: a Huber fit did not converge in 100 Newton steps" for i in range(8)]
    msgs[1:1] = ["run table: renormalised", "ye-pow[e0]: no start converged (best objective 2.9)"]
    assert merge_eval_warnings(msgs + ["bimix[arc:rc::olmes]: a Huber fit did not converge in 100 Newton steps",
                                       "bimix[x]: a Huber fit did not converge in 100 Newton steps"]) == [
        "loglinear-sat[e0, e1, e2, e3, e4, e5, ... (8 eval sets)]: a Huber fit did not converge in 100 Newton steps",
        "run table: renormalised", "ye-pow[e0]: no start converged (best objective 2.9)",
        "bimix[arc:rc::olmes, x]: a Huber fit did not converge in 100 Newton steps"]


def test_quiet_after_the_command_is_the_root_option(monkeypatch, capsys):
    # `mixlaw pipeline --runs t.csv -q` stopped with "No such option: -q": the flag is read wherever it stands.
    from mixlaw.cli import _hoist_quiet, main

    assert _hoist_quiet(["fit", "--dataset", "regmix", "-q"]) == ["--quiet", "fit", "--dataset", "regmix"]
    assert _hoist_quiet(["fit", "--", "-q"]) == ["fit", "--", "-q"]
    assert _hoist_quiet(["fit"]) == ["fit"]
    monkeypatch.setattr(_console, "PLAIN_EVERY_S", 0.0)
    argv = ["optimize", "--dataset", "regmix", "--law", "linear", "--target", "pile_cc", "--bootstrap", "10",
            "--workers", "1", "--json"]
    with pytest.raises(SystemExit) as exc:
        main([*argv, "-q"])
    assert exc.value.code == 0
    assert "mixlaw:" not in capsys.readouterr().err
