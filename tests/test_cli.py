"""The command line: exit codes 0/1/2, one clear error line, JSON on stdout only."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cli_runner import run_cli as run

from mixlaw import __version__

REGMIX = Path(__file__).resolve().parents[1] / "src" / "mixlaw" / "datasets" / "regmix"
TRAIN = f"{REGMIX / 'train_mixture_1m.csv'}+{REGMIX / 'train_pile_loss_1m.csv'}"
TEST = f"{REGMIX / 'test_mixture_1m.csv'}+{REGMIX / 'test_pile_loss_1m.csv'}"


def test_compare_bundled_json(capsys):
    code, out, _ = run(capsys, "compare", "--dataset", "regmix", "--target", "pile_cc", "--laws", "ye-exp", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["schema_version"] == 1 and doc["mixlaw_version"] == __version__
    row = doc["laws"][0]
    assert row["law"] == "ye-exp" and row["n_params"] > 0 and row["fit_seconds"] > 0
    assert set(row["splits"]) == {"test_1m", "test_60m", "test_1B"}
    assert set(row["splits"]["test_1m"]) == {"spearman", "pearson", "mre", "rmse", "bias", "r2", "regret_at_1"}
    assert row["splits"]["test_1m"]["spearman"] > 0.9


def test_compare_user_tables_regmix_pair(capsys):
    code, out, _ = run(capsys, "compare", "--runs", TRAIN, "--test", f"held={TEST}", "--target", "loss:pile_cc",
                       "--laws", "ye-exp", "--json")
    assert code == 0
    assert json.loads(out)["laws"][0]["splits"]["held"]["spearman"] > 0.9


def test_fit_save_predict_roundtrip(capsys, tmp_path):
    law = tmp_path / "law.json"
    code, out, _ = run(capsys, "fit", "--runs", TRAIN, "--law", "ye-exp", "--target", "pile_cc", "--out", str(law))
    assert code == 0 and "[[YeExponential]]" in out and "Interactions t_ij" in out and law.exists()
    mix = tmp_path / "m.csv"
    mix.write_text("run," + ",".join(f"w:{d}" for d in json.loads(law.read_text())["domains"]) + "\n"
                   + "x," + ",".join(["1"] + ["0"] * 16) + "\n")
    code, out, _ = run(capsys, "predict", "--law", str(law), "--mixtures", str(mix), "--json")
    assert code == 0
    pred = json.loads(out)["predictions"]
    assert pred[0]["run"] == "x" and pred[0]["pred:pile_cc"] > 0


@pytest.mark.parametrize("argv, match", [
    (["fit", "--runs", TRAIN, "--law", "nope"], "unknown law 'nope'"),
    (["fit", "--runs", "missing.csv"], "missing.csv: no such file"),
    (["compare", "--dataset", "regmix", "--target", "books"], "unknown target 'books'"),
    (["compare", "--runs", TRAIN], "needs at least one --test"),
])
def test_bad_input_exit_2_one_line(capsys, argv, match):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert err.startswith("error: ") and match in err and "Traceback" not in err
    assert err.strip().count("\n") == 0


def test_bad_weights_name_file_row_column(capsys, tmp_path):
    p = tmp_path / "runs.csv"
    p.write_text("run,w:a,w:b,loss:a\nr1,0.5,0.5,3\nr2,0.5,0.4,3\n")
    code, _, err = run(capsys, "fit", "--runs", str(p))
    assert code == 2 and f"{p}:3: column 'w:a': weights sum to 0.9" in err


def test_inconsistent_domains_between_train_and_test(capsys, tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("run,w:a,w:b,loss:a\nr1,0.5,0.5,3\nr2,0.2,0.8,3.2\nr3,0.9,0.1,2.9\nr4,0.7,0.3,3\n")
    b.write_text("run,w:a,w:c,loss:a\nr1,0.5,0.5,3\n")
    code, _, err = run(capsys, "compare", "--runs", str(a), "--test", str(b), "--laws", "ye-exp")
    assert code == 2 and "b.csv: column 'w:b': training domains differ" in err


def test_json_error_document(capsys):
    code, out, err = run(capsys, "fit", "--runs", "missing.csv", "--json")
    assert code == 2 and json.loads(out)["error"]["exit_code"] == 2


def test_console_script_prints_no_traceback(tmp_path):
    p = tmp_path / "runs.csv"
    p.write_text("run,w:a,w:b,loss:a\nr1,0.5,0.5,-3\n")
    proc = subprocess.run([sys.executable, "-m", "mixlaw", "fit", "--runs", str(p)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"error: {p}:2: column 'loss:a': loss is -3, expected > 0 (the laws fit positive "
                                   f"losses: store a positive form of a metric that can be 0 or negative (a "
                                   f"log-probability's negation or an error rate 1 - accuracy, both losses; or the "
                                   f"metric plus a constant that lifts every value above 0, optimised with --maximize "
                                   f"if higher is better))")


def test_optimize_workers_do_not_change_the_bootstrap(capsys):
    args = ("optimize", "--runs", TRAIN, "--law", "ye-exp", "--target", "pile_cc", "--bootstrap", "8", "--json")
    code1, out1, _ = run(capsys, *args, "--workers", "1")
    code2, out2, _ = run(capsys, *args, "--workers", "2")
    assert code1 == code2 == 0
    a, b = json.loads(out1)["optimum"], json.loads(out2)["optimum"]
    assert a["intervals"] == b["intervals"] and a["weights"] == b["weights"]
    code, _, err = run(capsys, *args, "--workers", "0")
    assert code == 2 and "--workers (n_jobs=) must be at least 1" in err


def test_help_names_repeatable_options_by_their_form():
    # typer printed '--target <list[str]>', '--bounds <list[str]>', ... for every repeatable option: a Python
    # type where the reader needs the form of one value.
    from typer.testing import CliRunner

    from mixlaw.cli import app

    seen = {}
    for cmd in (["compare"], ["fit"], ["optimize"], ["design"], ["report"], ["pipeline"], ["continual"],
                ["corpus", "build"]):
        r = CliRunner().invoke(app, [*cmd, "--help"], terminal_width=200)
        assert r.exit_code == 0 and "list[" not in r.output, r.output
        seen.update({m.group(1): m.group(2) for m in re.finditer(r"(--[a-z-]+) (\S+=\S+|EVAL)\s", r.output)})
    assert seen["--target"] == "EVAL" and seen["--bounds"] == "DOMAIN=LO:HI" and seen["--law-option"] == "KEY=VALUE"
    assert seen["--eval-group"] == "NAME=EVAL:W,..." and seen["--test"] == "[NAME=]PATH"


def test_ctrl_c_exits_130_not_0(monkeypatch, capsys):
    # Not standalone, typer turns a KeyboardInterrupt into Exit(130) and returns 130 instead of raising it: every
    # command stopped by Ctrl-C (a sweep, a long compare) exited 0 and silently, so a script's next step ran.
    import mixlaw.design

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(mixlaw.design, "make_design", interrupted)
    code, out, err = run(capsys, "design", "--domains", "a,b", "--n", "3")
    assert code == 130 and out == "" and "interrupted" in err
