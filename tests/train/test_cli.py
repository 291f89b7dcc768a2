"""CLI of the trainer: commands work end to end, and bad input is one 'error:' line with exit code 2."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from mixlaw.train.cli import main, register

TINY = ["--size", "0.01M", "--tokens", "5k", "--eval-every", "10", "--block_size=32", "--batch_size=8",
        "--eval_tokens=256", "--num_threads=1"]


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def test_register_adds_the_commands() -> None:
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in ("corpus", "train", "sweep", "runs"):
        assert name in result.output


def test_build_train_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["corpus", "build", "--out", str(tmp_path / "c"), "--domains", "math,legal", "--max-mb",
                         "0.02", "--json"], capsys)
    assert code == 0 and list(json.loads(out)["manifest"]["domains"]) == ["math", "legal"]
    code, out, _ = _run(["train", "--corpus", str(tmp_path / "c"), "--mixture", "math=0.5,legal=0.5",
                         "--store", str(tmp_path / "runs.db"), "--out", str(tmp_path / "run"), "--json", *TINY], capsys)
    doc = json.loads(out)
    assert code == 0 and doc["schema_version"] == 1 and len(doc["result"]["checkpoints"]) == 2
    assert (tmp_path / "run/ckpt.pt").is_file() and (tmp_path / "run/result.json").is_file()
    code, _, err = _run(["runs", "export", str(tmp_path / "runs.db"), str(tmp_path / "runs.parquet")], capsys)
    table = pd.read_parquet(tmp_path / "runs.parquet")
    assert code == 0 and "wrote 2 rows (1 runs)" in err
    assert list(table.columns) == ["run", "w:math", "w:legal", "loss:math", "loss:legal", "params", "step", "tokens"]


def test_train_names_its_run_in_the_store(tiny_corpus: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    db, out = str(tmp_path / "runs.db"), str(tmp_path / "runs.csv")
    code, _, err = _run(["train", "--corpus", tiny_corpus, "--mixture", "math=1", "--name", "all-math", *TINY], capsys)
    assert code == 2 and "--name names the run in a run store: give --store too" in err
    code, _, err = _run(["train", "--corpus", tiny_corpus, "--mixture", "math=1", "--store", db, "--name", " all-math ",
                         *TINY], capsys)
    assert code == 0, err
    assert _run(["runs", "export", db, out], capsys)[0] == 0
    assert set(pd.read_csv(out)["run"]) == {"all-math"}
    assert _run(["runs", "export", db, out, "--ids"], capsys)[0] == 0
    assert set(pd.read_csv(out)["run"]) != {"all-math"} and pd.read_csv(out)["run"].str.fullmatch("[0-9a-f]{16}").all()
    # A sweep into the same store: --json maps each run id to its exported name (the design's row, else the id).
    design = tmp_path / "design.csv"
    design.write_text("run,w:math,w:legal\nall-math-again,1.0,0.0\nhalf,0.5,0.5\n")
    code, out_json, err = _run(["sweep", "--corpus", tiny_corpus, "--design", str(design), "--sizes", "0.01M",
                                "--tokens", "5k", "--eval-every", "10", "--block_size=32", "--batch_size=8",
                                "--eval_tokens=256", "--num_threads=1", "--store", db, "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out_json)
    assert doc["sweep"]["skipped"] == 1 and sorted(doc["names"].values()) == ["all-math", "half"]  # first name stays
    assert _run(["runs", "export", db, out], capsys)[0] == 0
    assert set(pd.read_csv(out)["run"]) == {"all-math", "half"}
    # A name the store has for another run renames both in exports (newuser4: without a word).
    code, _, err = _run(["train", "--corpus", tiny_corpus, "--mixture", "math=0.25,legal=0.75", "--store", db,
                         "--name", "all-math", *TINY], capsys)
    assert code == 0 and "already has a run named 'all-math'" in err, err
    # hunt30b: 'runs export' then renamed both to all-math-<id digits> without a word (sweep warns of a design's
    # shared name); now the same warning, one line, naming the store and the name.
    code, _, err = _run(["runs", "export", db, out], capsys)
    assert code == 0 and sorted(set(pd.read_csv(out)["run"]))[0].startswith("all-math-")
    assert (f"warning: run store {db!r}: the store gives the name(s) ['all-math'] to several runs: their runs are "
            "exported as <name>-<first 8 id digits> (give each run a name of its own, or name them all by id: "
            "--ids)\n") in err, err
    code, _, err = _run(["runs", "export", db, out, "--ids"], capsys)
    assert code == 0 and "warning" not in err, err


@pytest.mark.parametrize(("args", "message"), [
    (["--mixture", "math=0.5,web=0.5"], r"unknown domain\(s\) \['web'\]"),
    (["--mixture", "math=0.5,legal=0.4"], "weights sum to 0.9, expected 1"),
    (["--mixture", "math=1", "--lr=abc"], "--lr=abc: expected a number"),
    (["--mixture", "math=1", "--nonsense=1"], "unknown config key 'nonsense'"),
    (["--mixture", "math=1", "--store", "/dev/null/runs.db"], "cannot open run store"),
])
def test_bad_train_input_is_one_line_and_exit_2(tiny_corpus: str, args: list[str], message: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["train", "--corpus", tiny_corpus, *TINY, *args], capsys)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1
    assert re.search(message, err)


def test_corrupt_or_missing_corpus_is_exit_2(tiny_corpus: str, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["train", "--corpus", str(tmp_path / "none"), "--mixture", "a=1"], capsys)
    assert code == 2 and "no corpus manifest" in err
    import shutil

    shutil.copytree(tiny_corpus, tmp_path / "c")
    (tmp_path / "c/docs/val.bin").write_bytes(b"x")
    code, _, err = _run(["sweep", "--corpus", str(tmp_path / "c"), "--design", str(tmp_path / "d.csv"),
                         "--store", str(tmp_path / "s.db")], capsys)
    assert code == 2 and err.startswith("error: ") and "d.csv" in err  # the design is read first
    (tmp_path / "d.csv").write_text("w:docs,w:math\n0.5,0.5\n")
    code, _, err = _run(["sweep", "--corpus", str(tmp_path / "c"), "--design", str(tmp_path / "d.csv"),
                         "--store", str(tmp_path / "s.db")], capsys)
    assert code == 2 and "docs/val.bin: corrupt token file" in err
    assert not (tmp_path / "s.db").exists()


def test_sweep_progress_off_a_terminal_and_with_quiet(tiny_corpus: str, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # Off a terminal rich drew the sweep's bar once, when the sweep ended (a long sweep said nothing in a CI
    # log), and `mixlaw -q sweep` drew it all the same. Now: plain lines as runs finish, none with -q.
    from mixlaw import _console
    from mixlaw.cli import main as mixlaw_main

    monkeypatch.setattr(_console, "PLAIN_EVERY_S", 0.0)  # a line at every chance, without waiting 10 s
    design = tmp_path / "design.csv"
    design.write_text("w:math,w:legal\n0.5,0.5\n0.8,0.2\n")
    argv = ["sweep", "--corpus", tiny_corpus, "--design", str(design), "--sizes", "0.01M", "--tokens", "5k",
            "--eval-every", "10", "--block_size=32", "--batch_size=8", "--eval_tokens=256", "--num_threads=1"]
    for quiet in (False, True):
        with pytest.raises(SystemExit) as exc:
            mixlaw_main((["-q"] if quiet else []) + argv + ["--store", str(tmp_path / f"runs{quiet}.db")])
        out, err = capsys.readouterr()
        assert exc.value.code == 0 and "2 runs: 2 trained" in out, err
        assert "━" not in err  # no rich bar either way (stderr is not a terminal here)
        lines = [ln for ln in err.splitlines() if ln.startswith("mixlaw: sweep")]
        if quiet:
            assert lines == [], err
        else:
            assert "mixlaw: sweep 1/2 runs (" in err and "step" in err and lines[-1].startswith(
                "mixlaw: sweep 2/2 runs (done in "), err


def test_train_progress_off_a_terminal_and_with_quiet(tiny_corpus: str, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # 'mixlaw -q train' drew its progress bar all the same (README: -q turns progress off), and off a terminal
    # rich drew it once, when training ended: now plain lines there, and nothing with -q.
    from mixlaw import _console
    from mixlaw.cli import main as mixlaw_main

    monkeypatch.setattr(_console, "PLAIN_EVERY_S", 0.0)  # a line at every step, without waiting 10 s
    argv = ["train", "--corpus", tiny_corpus, "--mixture", "math=0.5,legal=0.5", "--json", *TINY]
    for quiet in (False, True):
        with pytest.raises(SystemExit) as exc:
            mixlaw_main((["-q"] if quiet else []) + argv)
        out, err = capsys.readouterr()
        assert exc.value.code == 0 and json.loads(out)["result"]["checkpoints"], err
        assert "━" not in err, err  # no rich bar either way (stderr is not a terminal here)
        lines = [ln for ln in err.splitlines() if ln.startswith("mixlaw: train")]
        if quiet:
            assert lines == [], err
        else:
            assert " step 1/" in lines[0] and lines[-1].endswith("tok/s)") and "(done in " in lines[-1], err


def test_train_resumed_from_its_out_folder_keeps_every_checkpoint_in_the_store(
        tiny_corpus: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """'train --store --out' resumes from <out>/ckpt.pt and reported only the checkpoints after it, while its claim
    emptied the run's rows: killed at step 80 and run again, the store held a done run of steps 90-160 alone.
    A finished --out folder trained into a new store is the same resume, with no step left to train."""
    from mixlaw.store import RunStore

    argv = ["train", "--corpus", tiny_corpus, "--mixture", "math=0.5,legal=0.5", "--out", str(tmp_path / "run"), *TINY]
    assert _run([*argv, "--store", str(tmp_path / "a.db")], capsys)[0] == 0
    code, _, err = _run([*argv, "--store", str(tmp_path / "b.db")], capsys)  # resumes at the last step
    assert code == 0, err
    steps = []
    for name in ("a.db", "b.db"):
        with RunStore(tmp_path / name, readonly=True) as db:
            (rid,) = db.run_ids()
            assert db.status(rid) == "done"
            steps.append(db.checkpoint_steps(rid))
    assert steps[0] == steps[1] == [10, 19]


def test_runs_export_refuses_to_write_over_its_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A store named runs.csv exported to runs.csv was replaced by its own export (rc 0, the runs' only copy lost)."""
    from mixlaw.store import RunStore

    store = tmp_path / "runs.csv"
    with RunStore(store) as db:
        db.begin_run("r1", {"mixture": {"a": 1.0}}, ["a"], 10)
        db.record_checkpoint("r1", 10, 100, {"a": 2.0})
        db.finish_run("r1")
    before = store.read_bytes()
    code, _, err = _run(["runs", "export", str(store), str(tmp_path / "." / "runs.csv")], capsys)
    assert code == 2 and "that is the run store" in err
    assert store.read_bytes() == before


def test_corpus_and_train_out_make_no_folder_named_tilde(tiny_corpus: str, tmp_path: Path, monkeypatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    # review25b: '--out=~/c' reaches mixlaw as written (bash expands '~' at a word's start only) and mkdir -p made a
    # folder named '~' here, as every write did; a file in the path said 'Not a directory' without naming it.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "f").write_text("x")
    tilde = "'~' is not expanded here (the shell expands it at the start of a word only"
    for out, says in (("~/c", tilde), ("f/c", "f is a file, not a folder; choose another path")):
        code, _, err = _run(["corpus", "build", "--out", out, "--domains", "math,legal", "--max-mb", "0.01"], capsys)
        assert code == 2 and says in err and len(err.strip().splitlines()) == 1, err
        code, _, err = _run(["train", "--corpus", tiny_corpus, "--mixture", "math=1", "--out", out + "/run", *TINY],
                            capsys)
        assert code == 2 and says in err and len(err.strip().splitlines()) == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]


@pytest.mark.parametrize("override", ["--n_embd=32", "--n-head=4", "--n_layer=3", "--mixture=math=1",
                                      "--model_size=0.02M", "--train_tokens=9k"])
def test_sweep_refuses_an_override_of_what_it_sets_itself(override: str, tiny_corpus: str, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    # Every run's mixture and model shape come from the sweep (its design row, its --sizes): '--n_embd=32' (or
    # '--n_embd=32 --n_head=5', a shape no model has) was dropped without a word and the size's own shape trained.
    design = tmp_path / "design.csv"
    design.write_text("w:math,w:legal\n0.5,0.5\n")
    code, out, err = _run(["sweep", "--corpus", tiny_corpus, "--design", str(design), "--sizes", "0.01M", "--tokens",
                           "5k", "--store", str(tmp_path / "s.db"), "--block_size=32", override], capsys)
    assert code == 2 and "a sweep sets" in err and override.split("=")[0] in err, err
    assert not (tmp_path / "s.db").exists()


@pytest.mark.parametrize("sizes", ["0.01M,", "0.01M,,0.02M", ","])
def test_sweep_refuses_an_empty_size_as_pipeline_fit_sizes_does(sizes: str, tiny_corpus: str, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    # hunt30b: 'mixlaw sweep --sizes 0.01M,' dropped the empty item without a word (a size lost in an edit?),
    # where 'pipeline --fit-sizes 70M,' refuses it; now the same one-line error.
    design = tmp_path / "design.csv"
    design.write_text("w:math,w:legal\n0.5,0.5\n")
    code, out, err = _run(["sweep", "--corpus", tiny_corpus, "--design", str(design), "--sizes", sizes,
                           "--tokens", "5k", "--store", str(tmp_path / "s.db")], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert err == f"error: --sizes: give comma-separated sizes, e.g. 70M,160M,410M; got {sizes!r}\n"
    assert not (tmp_path / "s.db").exists()


def test_runs_export_of_an_unknown_suffix_names_its_out_argument(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    # review30c: 'runs export runs.db r.xlsx' said "--out: cannot write 'r.xlsx' ..." (hunt30b's check_table_suffix,
    # '--out' by default), an option runs export does not have: its output is the positional OUT.
    from mixlaw.store import RunStore

    store = tmp_path / "runs.db"
    with RunStore(store) as db:
        db.begin_run("r1", {"mixture": {"a": 1.0}}, ["a"], 10)
        db.record_checkpoint("r1", 10, 100, {"a": 2.0})
        db.finish_run("r1")
    code, _, err = _run(["runs", "export", str(store), str(tmp_path / "r.xlsx")], capsys)
    assert code == 2
    assert f"error: OUT: cannot write {str(tmp_path / 'r.xlsx')!r}: unknown format '.xlsx'" in err
    assert not (tmp_path / "r.xlsx").exists()


@pytest.mark.parametrize("given, override", [(["--size", "0.01M"], "--model_size=0.02M"),
                                             (["--eval-every", "10"], "--eval_every=20")])
def test_an_override_of_a_field_its_option_gave_is_refused(given: list[str], override: str, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    # review34f: 'train --size 0.01M --model_size=0.02M' trained 0.02M without a word (the --key=value extra won,
    # whatever the order). Refused before the corpus is read.
    code, _, err = _run(["train", "--corpus", str(tmp_path / "none"), "--mixture", "math=1", *given, override],
                        capsys)
    assert code == 2 and f"{override.split('=')[0]} sets" in err and given[0] in err, err
