"""Run claims: two sweeps sharing a store train each run once; a crashed claimant's run is taken over."""

from __future__ import annotations

import json
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mixlaw.errors import InputError
from mixlaw.store import LEASE_S, Heartbeat, LeaseLost, RunStore, StoreGone
from mixlaw.sweep import plan_sweep, run_sweep
from mixlaw.train.config import ProxyConfig

BASE = ProxyConfig(block_size=32, batch_size=8, eval_tokens=256, eval_every=40, num_threads=1)
MIXTURES = [{"docs": 0.25, "legal": 0.25, "scripture": 0.25, "math": 0.25}, {"docs": 0.7, "math": 0.3}]
SIZES = ["0.01M", "0.02M"]


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_claims_are_exclusive_until_the_lease_lapses(tmp_path: Path) -> None:
    host = socket.gethostname()
    with RunStore(tmp_path / "s.db") as db:
        cfg, doms = {"mixture": {"a": 0.5, "b": 0.5}}, ["a", "b"]
        assert db.claim_run("r1", "elsewhere:1:aa", cfg, doms, 10) == "claimed"
        assert db.claim_run("r1", "elsewhere:2:bb", cfg, doms, 10) == "held"  # live claim on another host
        assert db.claim_run("r1", "elsewhere:1:aa", cfg, doms, 10) == "claimed"  # the holder may re-claim
        db.conn.execute("UPDATE runs SET heartbeat = heartbeat - ? WHERE run_id = 'r1'", (LEASE_S + 1,))
        assert db.claim_run("r1", "elsewhere:2:bb", cfg, doms, 10) == "claimed"  # lapsed: taken over
        with pytest.raises(LeaseLost, match="claim lapsed"):  # the old holder can no longer write
            db.record_checkpoint("r1", 10, 100, {"a": 1.0, "b": 2.0}, owner="elsewhere:1:aa")
        db.record_checkpoint("r1", 10, 100, {"a": 1.0, "b": 2.0}, owner="elsewhere:2:bb")
        # Same host, process gone: no need to wait out the lease.
        assert db.claim_run("r2", f"{host}:{_dead_pid()}:cc", cfg, doms, 10) == "claimed"
        assert db.claim_run("r2", "elsewhere:3:dd", cfg, doms, 10) == "claimed"
        assert db.heartbeat("elsewhere:2:bb") == 1
        db.finish_run("r1", 1.0, owner="elsewhere:2:bb")
        assert db.claim_run("r1", "elsewhere:3:dd", cfg, doms, 10) == "done"
        assert db.checkpoint_steps("r1") == [10]



def test_a_store_deleted_while_open_is_never_written_nor_made_again(tmp_path: Path) -> None:
    # SQLite wrote on into the deleted file (every later result lost), and the next heartbeat or worker opened the
    # path and made a new empty store there: the sweep "finished" into a store holding none of its earlier runs.
    path = tmp_path / "sweep" / "runs.db"
    cfg, doms = {"mixture": {"a": 0.5, "b": 0.5}}, ["a", "b"]
    gone = r"run store '.*runs\.db' was deleted while mixlaw was writing it \(its folder '.*sweep' is gone too\): " \
           r"stopping here, as every later result would be lost"
    with RunStore(path) as db:
        assert db.claim_run("r1", "me:1:aa", cfg, doms, 10) == "claimed"
        db.record_checkpoint("r1", 10, 100, {"a": 1.0, "b": 2.0}, owner="me:1:aa")
        with Heartbeat(path, "me:1:aa", interval=0.01) as beat:
            time.sleep(0.05)
            beat.check()  # the store is there: nothing to say
            shutil.rmtree(path.parent)
            for _ in range(500):  # the next beat finds it gone (a beat is 10 ms here)
                if beat.gone is not None:
                    break
                time.sleep(0.01)
            with pytest.raises(StoreGone, match=gone):
                beat.check()
        with pytest.raises(StoreGone, match=gone):
            db.record_checkpoint("r1", 20, 200, {"a": 1.0, "b": 2.0}, owner="me:1:aa")
        with pytest.raises(StoreGone, match=gone):
            db.heartbeat("me:1:aa")
        with pytest.raises(StoreGone, match=gone):
            RunStore(path, create=False)  # a worker or heartbeat of the sweep
        with Heartbeat(path, "me:1:aa", interval=0.01) as late:
            time.sleep(0.05)
        assert late.gone is not None and not path.parent.exists()  # nothing made again
    # A store replaced by another file (a backup moved over it) is not written either.
    with RunStore(path) as db:
        db.begin_run("r1", cfg, doms, 10)
        other = tmp_path / "other.db"
        RunStore(other).close()
        other.replace(path)
        with pytest.raises(StoreGone, match=r"runs\.db' was replaced by another file while mixlaw was writing it: "):
            db.record_checkpoint("r1", 10, 100, {"a": 1.0, "b": 2.0})
        assert db.checkpoint_steps("r1") == []

def test_a_store_opened_by_a_relative_path_is_still_written_after_a_chdir(tmp_path: Path, monkeypatch) -> None:
    # SQLite keeps the file it opened whatever the working folder; the check that the store is still there
    # stat'ed the relative path again from the new folder and stopped with StoreGone ('was deleted') a store
    # that was there all along.
    cfg, doms = {"mixture": {"a": 0.5, "b": 0.5}}, ["a", "b"]
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path)
    with RunStore("runs.db") as db:
        db.begin_run("r1", cfg, doms, 10)
        monkeypatch.chdir(tmp_path / "elsewhere")
        db.record_checkpoint("r1", 10, 100, {"a": 1.0, "b": 2.0})
        assert db.checkpoint_steps("r1") == [10]
    assert not (tmp_path / "elsewhere" / "runs.db").exists()


_SWEEP = """
import json, sys
from mixlaw.sweep import run_sweep
from mixlaw.train.config import ProxyConfig
base = ProxyConfig(block_size=32, batch_size=8, eval_tokens=256, eval_every=40, num_threads=1)
r = run_sweep(sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]), "20k", sys.argv[4], base=base,
              progress=False)
print(json.dumps({"trained": r.trained, "skipped": r.skipped}))
"""


def _claimed(store: Path) -> int:
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute("SELECT COUNT(*) FROM runs WHERE owner IS NOT NULL").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def test_two_concurrent_sweeps_train_each_run_exactly_once(tiny_corpus: str, tmp_path: Path) -> None:
    store = tmp_path / "runs.db"
    args = [sys.executable, "-c", _SWEEP, tiny_corpus, json.dumps(MIXTURES), json.dumps(SIZES), str(store)]
    first = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(2400):  # start the second sweep once the first is training its first run (polls, ~2 min)
        if _claimed(store):
            break
        assert first.poll() is None, first.communicate()
        time.sleep(0.05)
    else:
        first.kill()
        pytest.fail("the first sweep never claimed a run")
    second = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = []
    for proc in (first, second):
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    a, b = (set(r["trained"]) for r in results)
    all_ids = {p.run_id for p in plan_sweep(tiny_corpus, MIXTURES, SIZES, "20k", BASE)}
    assert len(all_ids) == 4
    assert not a & b, f"runs trained twice: {sorted(a & b)}"
    assert a | b == all_ids
    for r in results:  # what a sweep did not train, it found finished by the other
        assert set(r["trained"]) | set(r["skipped"]) == all_ids
    with sqlite3.connect(store) as conn:
        assert conn.execute("SELECT COUNT(*) FROM runs WHERE status = 'done' AND owner IS NULL").fetchone()[0] == 4
        # 78 steps at eval_every 40: checkpoints 40 and 78 for each run, each written once
        assert conn.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0] == 8


def test_a_crashed_claimants_run_is_taken_over(tiny_corpus: str, tmp_path: Path, monkeypatch) -> None:
    store = tmp_path / "runs.db"
    plan = plan_sweep(tiny_corpus, MIXTURES[:1], SIZES, "5k", BASE)
    with RunStore(store) as db:
        # One run claimed by a process of this host that died, one by another host whose heartbeat lapsed.
        for p, owner in zip(plan, (f"{socket.gethostname()}:{_dead_pid()}:x", "elsewhere:1:y"), strict=True):
            assert db.claim_run(p.run_id, owner, p.config.to_dict(), list(p.config.mixture), 10) == "claimed"
            db.record_checkpoint(p.run_id, 40, 40 * 256, {d: 9.0 for d in p.config.mixture}, 9.0, owner=owner)
        db.conn.execute("UPDATE runs SET heartbeat = heartbeat - ? WHERE owner = 'elsewhere:1:y'", (LEASE_S + 1,))
    waits: list[float] = []  # the sweep sleeps only while another claimant holds a run: record, don't wait
    monkeypatch.setattr("mixlaw.sweep.time.sleep", waits.append)
    result = run_sweep(tiny_corpus, MIXTURES[:1], SIZES, "5k", store, base=BASE, progress=False)
    assert sorted(result.trained) == sorted(p.run_id for p in plan)
    assert waits == []  # taken over at once, not after waiting out a lease
    with RunStore(store, readonly=True) as db:
        for p in plan:
            assert db.status(p.run_id) == "done"
            assert db.checkpoint_steps(p.run_id) == [19]  # the crashed claimant's partial rows were replaced


def test_a_folder_given_as_a_sweeps_store_is_named_a_folder_not_deleted(tmp_path: Path) -> None:
    # RunStore(folder, create=False) (a sweep worker's open) said the store "was deleted while mixlaw was writing it".
    with pytest.raises(InputError, match="is a folder; give a file path such as runs.db") as exc:
        RunStore(tmp_path, create=False)
    assert not isinstance(exc.value, StoreGone)
    with pytest.raises(StoreGone, match="was deleted"):
        RunStore(tmp_path / "gone.db", create=False)
