"""mixlaw's own files given where a run table goes (``--runs``) say what they are and which command reads them.

Found by a new user (newuser4): ``fit --runs law.json`` (a saved law) said "cannot parse the file: All arrays must
be of the same length", and ``fit --runs runs.db`` (the sweep's run store) "unknown table format '.db'"."""

from __future__ import annotations

import numpy as np
import pandas as pd
from cli_runner import run_cli

from mixlaw.store.runstore import RunStore


def _runs(tmp_path):
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(2), size=8)
    p = tmp_path / "runs.csv"
    pd.DataFrame({"run": [f"r{i}" for i in range(8)], "w:web": W[:, 0], "w:code": W[:, 1],
                  "loss:web": 3.0 - 0.5 * W[:, 0]}).to_csv(p, index=False)
    return p


def test_a_saved_law_as_runs_is_named(tmp_path, capsys):
    law = tmp_path / "law.json"
    code, _, err = run_cli(capsys, "fit", "--runs", str(_runs(tmp_path)), "--law", "linear", "--out", str(law))
    assert code == 0, err
    code, _, err = run_cli(capsys, "fit", "--runs", str(law), "--law", "linear")
    assert code == 2 and "not a run table (it is a saved law, from mixlaw fit --out: give it to mixlaw predict " \
                         "--law)" in err, err
    code, _, err = run_cli(capsys, "predict", "--pipeline", str(law), "--mixtures", "web=0.5,code=0.5")
    assert code == 2 and "it is a saved law (mixlaw fit --out), which mixlaw predict --law reads" in err, err


def test_a_saved_pipeline_as_runs_or_law_is_named(tmp_path, capsys):
    rng = np.random.default_rng(0)
    rows = [{"run": f"m{i}-{n}", "w:web": w, "w:code": 1 - w, "params": n, "step": s,
             "loss:web": 2 + 40 / n ** 0.3 + 3 / s ** 0.5 + 0.3 * (1 - w) ** 2}
            for i, w in enumerate(rng.uniform(0.1, 0.9, 8)) for n in (1e6, 2e6, 4e6) for s in (100, 200, 400)]
    runs = tmp_path / "runs.csv"
    pd.DataFrame(rows).to_csv(runs, index=False)
    saved = tmp_path / "pipe.json"
    code, _, err = run_cli(capsys, "pipeline", "--runs", str(runs), "--route", "nested", "--law", "ye-exp",
                           "--target-params", "4e6", "--target-steps", "800", "--save", str(saved))
    assert code == 0, err
    # It parses as a frame of its five fields: the error was the run table's missing columns, with a W&B map.
    code, _, err = run_cli(capsys, "fit", "--runs", str(saved))
    assert code == 2 and "not a run table (it is a saved pipeline, from mixlaw pipeline --save: give it to mixlaw " \
                         "predict --pipeline, or mixlaw optimize --pipeline for its optimum)" in err, err
    code, _, err = run_cli(capsys, "predict", "--law", str(saved), "--mixtures", "web=0.5,code=0.5")
    assert code == 2 and "it is a saved pipeline (mixlaw pipeline --save), not a law: pass it as --pipeline" in err


def test_a_run_store_as_runs_is_named(tmp_path, capsys):
    db = tmp_path / "runs.db"
    with RunStore(db):
        pass
    code, _, err = run_cli(capsys, "fit", "--runs", str(db), "--law", "linear")
    assert code == 2 and f"export its run table first, mixlaw runs export {db} runs.parquet" in err, err


def test_an_ordinary_bad_json_keeps_its_error(tmp_path, capsys):
    p = tmp_path / "other.json"
    p.write_text('{"a": [1, 2], "b": [1]}')
    code, _, err = run_cli(capsys, "fit", "--runs", str(p), "--law", "linear")
    assert code == 2 and "cannot parse the file" in err and "saved law" not in err and "SQLite" not in err, err


def test_an_optimum_as_law_or_runs_is_named(tmp_path, capsys):
    # Found on Marin's Delphi swarm: `optimize --out opt.json`, then `optimize --law opt.json --runs ...` to re-run it
    # under bounds said "not a valid saved law: missing field 'domains'", and `fit --runs opt.json` "cannot parse
    # the file: All arrays must be of the same length".
    runs = _runs(tmp_path)
    for flag in ("--out", "--json"):
        opt = tmp_path / f"opt{flag}.json"
        argv = ["optimize", "--runs", str(runs), "--law", "linear"]
        code, out, err = run_cli(capsys, *argv, *([flag, str(opt)] if flag == "--out" else [flag]))
        assert code == 0, err
        if flag == "--json":
            opt.write_text(out)
        code, _, err = run_cli(capsys, "optimize", "--law", str(opt), "--runs", str(runs))
        assert code == 2 and "it is an optimum (mixlaw optimize --out or --json), a mixture, not a law" in err, err
        assert "mixlaw fit --out" in err
        code, _, err = run_cli(capsys, "fit", "--runs", str(opt), "--law", "linear")
        assert code == 2 and "not a run table (it is an optimum, from mixlaw optimize: a mixture; give it to " \
                             "mixlaw predict --mixtures or mixlaw export)" in err, err
    law = tmp_path / "law.json"  # what the error says to do instead
    assert run_cli(capsys, "fit", "--runs", str(runs), "--law", "linear", "--out", str(law))[0] == 0
    code, out, err = run_cli(capsys, "predict", "--law", str(law), "--mixtures", str(tmp_path / "opt--out.json"))
    assert code == 0 and "pred:web" in out, err


def test_a_folder_as_runs_is_named_a_folder(tmp_path, capsys):
    # A folder said "unknown table format ''" (and one named runs.csv/ pandas' "Is a directory"); one holding
    # TensorBoard event files is pointed at the importer that reads it.
    plain, named, tb = tmp_path / "sweep", tmp_path / "runs.csv", tmp_path / "logs"
    for d in (plain, named, tb / "run1"):
        d.mkdir(parents=True)
    (tb / "run1" / "events.out.tfevents.1.host").write_bytes(b"")
    for d in (plain, named):
        code, _, err = run_cli(capsys, "fit", "--runs", str(d), "--law", "linear")
        assert code == 2 and f"{d}: is a folder; expected a run table file" in err, err
        assert "Traceback" not in err and "unknown table format" not in err
    code, _, err = run_cli(capsys, "continual", "--runs", str(tb), "--original", "a", "--new", "b")
    assert code == 2 and "is a folder" in err and f"mixlaw runs import-tensorboard {tb}" in err, err


def test_report_refuses_to_write_over_its_run_table(tmp_path, capsys):
    # report --out was checked against its inputs only with --pipeline: '--runs runs.csv --out runs.csv' fitted every
    # law and wrote the HTML page over the run table, rc 0.
    runs = _runs(tmp_path)
    before = runs.read_bytes()
    code, _, err = run_cli(capsys, "report", "--runs", str(runs), "--holdout", "0.25", "--laws", "linear",
                           "--out", str(runs))
    assert code == 2 and "--out" in err and str(runs) in err, err
    assert runs.read_bytes() == before
    test = tmp_path / "test.csv"
    test.write_bytes(before)
    code, _, err = run_cli(capsys, "report", "--runs", str(runs), "--test", f"held={test}", "--laws", "linear",
                           "--out", str(test))
    assert code == 2 and test.read_bytes() == before, err
