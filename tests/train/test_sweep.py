"""Sweeps: skip finished runs, survive SIGKILL without losing or duplicating runs, Ray gives the same table."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from mixlaw.errors import DataError, DataWarning, InputError
from mixlaw.store import RunStore, export_run_table
from mixlaw.sweep import load_design, plan_sweep, run_sweep
from mixlaw.train.cli import main as train_cli_main
from mixlaw.train.config import ProxyConfig

SIZES = ["0.01M", "0.02M"]
TOKENS = "30k"  # 117 steps of 256 tokens: a checkpoint at 50 and 100 before the end, to kill a run in between
EVAL_EVERY = 50
# The CLI flags and the in-process base config describe the same runs (same ids).
CLI_OVERRIDES = ["--block_size=32", "--batch_size=8", "--eval_tokens=512"]
BASE = ProxyConfig(block_size=32, batch_size=8, eval_tokens=512, eval_every=EVAL_EVERY, num_threads=1)


@pytest.fixture(scope="module")
def design(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("design") / "design.csv"
    path.write_text("w:docs,w:legal,w:scripture,w:math\n0.25,0.25,0.25,0.25\n0.7,0.1,0.1,0.1\n")
    return path


@pytest.fixture(scope="module")
def reference(tiny_corpus: str, design: Path, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """An uninterrupted sweep, in this process, one thread per run (as the 2-worker pool uses)."""
    store = tmp_path_factory.mktemp("ref") / "runs.db"
    result = run_sweep(tiny_corpus, design, SIZES, TOKENS, store, workers=1, base=BASE, progress=False)
    assert len(result.trained) == 4 and not result.skipped
    again = run_sweep(tiny_corpus, design, SIZES, TOKENS, store, workers=1, base=BASE, progress=False,
                      keep_checkpoints=True)
    assert again.trained == [] and again.skipped == result.run_ids  # resubmitted runs are found, not repeated
    return export_run_table(store)


def _sweep_cmd(corpus: str, design: Path, store: Path) -> list[str]:
    return [sys.executable, "-m", "mixlaw.train.cli", "sweep", "--corpus", corpus, "--design", str(design),
            "--sizes", ",".join(SIZES), "--tokens", TOKENS, "--eval-every", str(EVAL_EVERY), "--workers", "2",
            "--store", str(store), "--json", *CLI_OVERRIDES]


def _progress(store: Path) -> tuple[int, int]:
    """(finished runs, checkpoints of unfinished runs), read without disturbing the writers."""
    if not store.exists():
        return 0, 0
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5) as conn:
            done = conn.execute("SELECT COUNT(*) FROM runs WHERE status = 'done'").fetchone()[0]
            partial = conn.execute("SELECT COUNT(*) FROM checkpoints c JOIN runs r USING (run_id) "
                                   "WHERE r.status = 'running'").fetchone()[0]
        return done, partial
    except sqlite3.OperationalError:  # schema not created yet
        return 0, 0


def test_sweep_killed_mid_run_resumes_with_nothing_lost_or_duplicated(tiny_corpus: str, design: Path,
                                                                       reference: pd.DataFrame, tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "runs.db"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(_sweep_cmd(tiny_corpus, design, store), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    # Poll without a deadline: the sweep either reaches the state or ends (and the assert says so), so a
    # slow machine only makes the test slower, never red.
    while True:
        done, partial = _progress(store)
        if done >= 1 and partial >= 1:  # one run finished, another one part-way
            break
        assert proc.poll() is None, f"sweep ended before it could be killed: {proc.communicate()}"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    with sqlite3.connect(store) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finished_before = _progress(store)[0]
    assert finished_before < 4

    # The resumed sweep runs the same CLI in this process, on one worker with one thread (the pool's threads on 2
    # CPUs, the reference's): what is under test is what it finds in the store and the checkpoint files, not a
    # second interpreter and pool (three imports of torch: 8.6 of the test's 22.5 s).
    argv = _sweep_cmd(tiny_corpus, design, store)[3:]
    argv[argv.index("--workers") + 1] = "1"
    with pytest.raises(SystemExit) as exc:
        train_cli_main([*argv, "--num_threads=1"])
    out, err = capsys.readouterr()
    assert exc.value.code in (0, None), err
    summary = json.loads(out)["sweep"]
    assert summary["runs"] == 4 and summary["skipped"] >= finished_before >= 1

    table = export_run_table(store)
    pd.testing.assert_frame_equal(table, reference, check_exact=True)  # bitwise the uninterrupted results
    with sqlite3.connect(store) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 4
        assert conn.execute("SELECT COUNT(*) FROM runs WHERE status = 'done'").fetchone()[0] == 4
        n_ckpt = conn.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0]
    assert n_ckpt == len(reference) == 4 * 3  # steps 50, 100 and 117: each exactly once
    assert not any((tmp_path / "runs.db.ckpt").iterdir())  # finished runs' checkpoint files are removed


@pytest.fixture(scope="module")
def local_ray() -> Any:
    """One small local Ray for the module (its start-up takes seconds on 2 cores): one CPU, no dashboard, worker
    logs kept off the test output. The sweep joins it instead of starting its own."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_backend_gives_the_same_run_table(tiny_corpus: str, design: Path, reference: pd.DataFrame,
                                              local_ray: Any, tmp_path: Path) -> None:
    store = tmp_path / "ray.db"
    result = run_sweep(tiny_corpus, design, SIZES, TOKENS, store, workers=2, backend="ray", base=BASE,
                       progress=False)
    assert len(result.trained) == 4
    pd.testing.assert_frame_equal(export_run_table(store), reference, check_exact=True)
    again = run_sweep(tiny_corpus, design, SIZES, TOKENS, store, workers=2, backend="ray", base=BASE,
                      progress=False)
    assert again.trained == [] and again.skipped == result.run_ids  # finished runs are claimed by nobody


def test_plan_validates_everything_before_training(tiny_corpus: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("w:docs,w:math\n0.5,0.5\n0.5,0.4\n")
    with pytest.raises(DataError, match=r"bad\.csv:3: mixture weights sum to 0\.9"):
        run_sweep(tiny_corpus, bad, SIZES, "10k", tmp_path / "x.db", progress=False)
    assert not (tmp_path / "x.db").exists()  # nothing was created, let alone trained
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("w:docs,w:web\n0.5,0.5\n")
    with pytest.raises(DataError, match=r"unknown\.csv:2: mixture names unknown domain\(s\) \['web'\]"):
        plan_sweep(tiny_corpus, load_design(unknown), SIZES, "10k", design_path=str(unknown))
    neg = tmp_path / "neg.csv"
    neg.write_text("w:docs,w:math\n-0.5,1.5\n")
    with pytest.raises(DataError, match=r"neg\.csv:2: column 'w:docs': weight"):
        load_design(neg)
    with pytest.raises(DataError, match="no 'w:<domain>' columns"):
        (tmp_path / "nocol.csv").write_text("a,b\n1,2\n")
        load_design(tmp_path / "nocol.csv")
    with pytest.raises(InputError, match="--backend 'spark'"):
        run_sweep(tiny_corpus, [{"docs": 1.0}], SIZES, "10k", tmp_path / "x.db", backend="spark")
    # Duplicate mixtures collapse to one run id per size, and the rows dropped so are named (newuser4: a design's
    # row 'b' repeating row 'a' was never trained nor exported, without a word).
    with pytest.warns(DataWarning, match=r"1 design row\(s\) repeat an earlier row's mixture .*: row 3 \('b'\) "
                                        r"repeats row 2 \('a'\)"):
        plan = plan_sweep(tiny_corpus, [{"docs": 0.5, "math": 0.5}, {"math": 0.5, "docs": 0.5}], SIZES, "10k",
                          names=["a", "b"])
    assert len(plan) == 2 and plan == sorted(plan, key=lambda p: p.run_id)
    with pytest.warns(DataWarning, match=r"gives the name\(s\) \['c'\] to several rows"):
        plan_sweep(tiny_corpus, [{"docs": 0.5, "math": 0.5}, {"docs": 0.2, "math": 0.8}], SIZES, "10k",
                   names=["c", "c"])


def test_store_rebuilt_from_checkpoint_files(tiny_corpus: str, design: Path, reference: pd.DataFrame,
                                             tmp_path: Path) -> None:
    store = tmp_path / "runs.db"
    run_sweep(tiny_corpus, design, SIZES, TOKENS, store, workers=1, base=BASE, progress=False, keep_checkpoints=True)
    assert len(list((tmp_path / "runs.db.ckpt").glob("*.pt"))) == 4
    for f in tmp_path.glob("runs.db*"):
        if f.is_file():
            f.unlink()  # lose the store (and its WAL) but keep the checkpoint files
    ckpts = {f.name: (f.stat().st_ino, f.stat().st_mtime_ns) for f in (tmp_path / "runs.db.ckpt").glob("*.pt")}
    again = run_sweep(tiny_corpus, design, SIZES, TOKENS, store, workers=1, base=BASE, progress=False,
                      keep_checkpoints=True)
    assert len(again.trained) == 4
    # A run that trained any step would have rewritten its checkpoint file (atomic replace: new inode).
    assert {f.name: (f.stat().st_ino, f.stat().st_mtime_ns) for f in (tmp_path / "runs.db.ckpt").glob("*.pt")} == ckpts
    # Every run resumed at its last step: nothing retrained, yet every checkpoint is back in the store.
    pd.testing.assert_frame_equal(export_run_table(store), reference, check_exact=True)


def test_runs_are_exported_by_their_design_names_across_a_resumed_sweep(tiny_corpus: str, tmp_path: Path) -> None:
    even = {"docs": 0.25, "legal": 0.25, "scripture": 0.25, "math": 0.25}
    store, tokens = tmp_path / "runs.db", "4k"  # 15 steps: the names, not the training, are under test
    # A store from before names: the runs of 'even' trained by a sweep that named nothing.
    first = run_sweep(tiny_corpus, [even], SIZES, tokens, store, base=BASE, progress=False)
    with sqlite3.connect(store) as conn:
        conn.execute("DROP TABLE run_names")
    assert sorted(export_run_table(store)["run"].unique()) == first.run_ids
    design = tmp_path / "design.csv"
    design.write_text("run,w:docs,w:legal,w:scripture,w:math\neven,0.25,0.25,0.25,0.25\nheavy,0.7,0.1,0.1,0.1\n")
    heavy = plan_sweep(tiny_corpus, [{"docs": 0.7, "legal": 0.1, "scripture": 0.1, "math": 0.1}], SIZES[:1], tokens,
                       BASE)[0]
    # ... and a run of 'heavy' that a killed sweep on another machine claimed, unnamed, and left part-way.
    with RunStore(store) as db:
        db.claim_run(heavy.run_id, "elsewhere:1:dead", heavy.config.to_dict(), list(even), 10)
        db.record_checkpoint(heavy.run_id, 5, 1280, {d: 9.0 for d in even}, owner="elsewhere:1:dead")
        db.conn.execute("UPDATE runs SET heartbeat = 0 WHERE run_id = ?", (heavy.run_id,))  # its lease lapsed

    result = run_sweep(tiny_corpus, design, SIZES, tokens, store, base=BASE, progress=False)
    assert sorted(result.skipped) == first.run_ids and len(result.trained) == 2  # 'even' is not retrained
    table = export_run_table(store)
    assert table["run"].unique().tolist() == ["even-10k", "even-20k", "heavy-10k", "heavy-20k"]  # in name order
    by_id = export_run_table(store, ids=True)  # the same rows, named by id
    keys = [c for c in table.columns if c.startswith("w:")] + ["params", "step"]
    pairs = table.merge(by_id, on=keys, suffixes=("", "_id"), validate="one_to_one")
    assert len(pairs) == len(table) == len(by_id)
    for col in [c for c in table.columns if c.startswith("loss:")] + ["tokens"]:
        assert (pairs[col] == pairs[col + "_id"]).all()
    assert len(set(zip(pairs["run"], pairs["run_id"], strict=True))) == 4  # one name per run id
    assert set(pairs.loc[pairs["run_id"] == heavy.run_id, "run"]) == {"heavy-10k"}
    assert not table.duplicated(["run", "step"]).any() and 9.0 not in table.filter(like="loss:").to_numpy()
    with sqlite3.connect(store) as conn:
        assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 4
    again = run_sweep(tiny_corpus, design, SIZES, tokens, store, base=BASE, progress=False)
    assert again.trained == [] and sorted(again.skipped) == sorted(result.run_ids)
    pd.testing.assert_frame_equal(export_run_table(store), table)


def test_design_names_are_read_as_written(tmp_path: Path) -> None:
    from mixlaw.sweep import read_design

    design = tmp_path / "d.csv"
    design.write_text("run,w:docs,w:math\n007,0.5,0.5\n1.10,0.25,0.75\n,1.0,0.0\n")
    # As numbers, '007' was the run '7.0' (a blank cell made the column float) and '1.10' was '1.1'.
    assert read_design(design)[1] == ["007", "1.10", None]


def test_an_interrupted_pool_drops_its_queued_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Ctrl-C in the pool's wait left the pool's exit to wait for every queued run: an interrupted 12-run sweep trained
    # on for 83 s before it stopped. The runs not started are cancelled now; KeyboardInterrupt still propagates.
    import mixlaw.sweep as sweep

    calls: list[dict[str, Any]] = []

    class Pool:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pass

        def __enter__(self) -> Pool:
            return self

        def __exit__(self, *exc: Any) -> None:
            pass

        def submit(self, *args: Any, **kwargs: Any) -> object:
            return object()

        def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
            calls.append({"wait": wait, "cancel_futures": cancel_futures})

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(sweep, "ProcessPoolExecutor", Pool)
    monkeypatch.setattr(sweep, "wait", interrupted)
    runs = [sweep.PlannedRun(run_id=f"r{i}", config=BASE, row=i + 2) for i in range(3)]
    with pytest.raises(KeyboardInterrupt):
        sweep._run_pool(runs, tmp_path / "runs.db", tmp_path, 2, 1, False, lambda rid, outcome: True)
    assert calls == [{"wait": True, "cancel_futures": True}]


@pytest.mark.parametrize("override,match", [({"lr": 5.0}, "config field 'lr' must lie in"),
                                            ({"eval_every": 0}, "config field 'eval_every' must be")])
def test_a_bad_base_config_is_not_blamed_on_a_design_row(override: dict[str, Any], match: str, tiny_corpus: str,
                                                         design: Path, tmp_path: Path) -> None:
    """'mixlaw sweep --lr=5' said "design.csv:2: config field 'lr' must lie in (0, 1]": no row sets lr."""
    with pytest.raises(InputError, match=match) as info:
        run_sweep(tiny_corpus, design, SIZES, TOKENS, tmp_path / "s.db", base=ProxyConfig(**override), progress=False)
    assert not isinstance(info.value, DataError) and str(design) not in str(info.value)
    assert not (tmp_path / "s.db").exists()  # refused before the store is created


@pytest.mark.parametrize("record,match", [
    # A mixture error in a JSONL design's first record was said to be on its line 2 (a CSV's count: header = 1).
    ('{"w:docs": 0.5, "w:legal": 0.25, "w:math": 0.125}', "d.jsonl:1: mixture weights sum to 0.875"),
    # A JSON true was read as the weight 1.0 (a run of that domain alone) and trained.
    ('{"w:docs": true, "w:legal": 0, "w:math": 0}', "d.jsonl:1: column 'w:docs': weight True is not a finite"),
])
def test_a_jsonl_design_s_errors_name_its_own_lines(record: str, match: str, tiny_corpus: str,
                                                     tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(record + "\n")
    with pytest.raises(DataError, match=match):
        run_sweep(tiny_corpus, path, SIZES, TOKENS, tmp_path / "s.db", base=BASE, progress=False)
    assert not (tmp_path / "s.db").exists()


def test_a_sweep_whose_store_folder_is_deleted_stops_with_one_error(tiny_corpus: str, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # The folder removed mid-run (an 'rm -r' of the wrong folder, a cleaned scratch disk): the sweep trained on, its
    # checkpoints written into the deleted file, and the next run's worker made a new empty store in its place.
    from mixlaw.store import StoreGone
    from mixlaw.train import loop

    store = tmp_path / "out" / "runs.db"
    real = loop.evaluate

    def delete_then_evaluate(model, windows, batch_rows):  # type: ignore[no-untyped-def]
        shutil.rmtree(store.parent, ignore_errors=True)
        return real(model, windows, batch_rows)

    monkeypatch.setattr(loop, "evaluate", delete_then_evaluate)
    even = {"docs": 0.25, "legal": 0.25, "scripture": 0.25, "math": 0.25}
    with pytest.raises(StoreGone, match=r"runs\.db' was deleted while mixlaw was writing it \(its folder .* is "
                                        r"gone too\): stopping here"):
        run_sweep(tiny_corpus, [even], SIZES, "4k", store, base=BASE, progress=False)
    assert not store.parent.exists()  # no new empty store, no checkpoint folder


def test_a_size_given_twice_is_refused_before_training(tiny_corpus: str, tmp_path: Path) -> None:
    # hunt30: 'mixlaw sweep --design d2.csv --sizes 0.01M,0.01M' trained 2 runs for 2 mixtures x 2 sizes and said
    # '2 runs: 2 trained', half the runs asked for, without a word; the same size in two spellings too.
    for sizes, said in ((["0.01M", "0.01M"], "0.01M and 0.01M"), (["10k", "0.02M", "10000"], "10k and 10000")):
        with pytest.raises(InputError, match=rf"^--sizes: the size 10,000 given twice \({said}\)"):
            run_sweep(tiny_corpus, [{"docs": 0.5, "math": 0.5}], sizes, "10k", tmp_path / "x.db", progress=False)
    assert not (tmp_path / "x.db").exists()


def test_a_design_reads_percentages_as_its_sum_error_says_to_write_them(tiny_corpus: str, tmp_path: Path) -> None:
    # hunt30: a design of 50,50 says "they look like percentages: divide them by 100, or mark them: code=60%", and a
    # design of 50%,50% (as a spreadsheet writes shares, and as a run table reads them) was then refused: "weight
    # '50%' is not a finite number >= 0".
    pct = tmp_path / "pct.csv"
    pct.write_text("run,w:docs,w:math\na,50%,50%\nb,0.25,75%\n")
    assert load_design(pct) == [{"docs": 0.5, "math": 0.5}, {"docs": 0.25, "math": 0.75}]
    bare = tmp_path / "bare.csv"
    bare.write_text("run,w:docs,w:math\na,50,50\n")
    with pytest.raises(DataError, match=r"look like percentages: divide them by 100, or mark them"):
        plan_sweep(tiny_corpus, load_design(bare), SIZES[:1], "10k", design_path=str(bare))
    (tmp_path / "bad.csv").write_text("run,w:docs,w:math\na,50%,x%\n")
    with pytest.raises(DataError, match=r"bad\.csv:2: column 'w:math': weight 'x%' is not a finite number >= 0"):
        load_design(tmp_path / "bad.csv")
