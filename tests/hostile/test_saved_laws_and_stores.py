"""Hostile saved state: edited or unreadable saved laws (checked against their schema), run
stores with bad contents or random bytes, old stores, and the temporary files of atomic writes (failed or killed
writers leave nothing behind that a later write does not sweep).
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixlaw import api
from mixlaw.errors import InputError

from ._helpers import one_error, run_cli, runs_csv


# ---------------------------------------------------------------------- saved laws
def _saved_law(tmp_path: Path, law: str, targets: str = "all") -> dict:
    runs = runs_csv(tmp_path / "fit.csv", 40, 0, evals=("a", "b"))
    fitted = api.fit_table(api.read_runs(runs), law=law, targets=targets)
    return json.loads(json.dumps({"schema_version": 1, **fitted.to_dict()}, default=float))


def _edits() -> dict[str, object]:
    def params_list(d: dict) -> None:
        d["params"] = list(d["params"].values())

    def params_empty(d: dict) -> None:
        d["params"] = {}

    def w_range_string(d: dict) -> None:
        d["w_range"] = "0,1"

    def relabel_linear(d: dict) -> None:  # a ye-exp file relabelled as another law
        d["law"] = "linear"

    def relabel_loglinear(d: dict) -> None:
        d["law"] = "loglinear"

    def fewer_targets(d: dict) -> None:
        d["targets"] = d["targets"][:1]

    def version(d: dict) -> None:
        d["schema_version"] = 99

    def unknown_key(d: dict) -> None:
        d["law"] = "no-such-law"

    def not_object(d: dict) -> None:
        d.clear()

    def nan_value(d: dict) -> None:
        next(iter(d["params"].values()))["value"] = "nan"

    def bad_option(d: dict) -> None:
        d["options"] = {"n_restarts": "many"}

    # A 400-digit integer literal parses as a Python int that no float holds: np.isfinite raised TypeError on it in
    # w_range / value, float() OverflowError on it in stderr / min (a traceback from mixlaw predict; hunt25).
    def huge_int_w_range(d: dict) -> None:
        d["w_range"][0][0] = 10**400

    def huge_int_value(d: dict) -> None:
        next(iter(d["params"].values()))["value"] = 10**400

    def huge_int_stderr(d: dict) -> None:
        next(iter(d["params"].values()))["stderr"] = 10**400

    def huge_int_min(d: dict) -> None:
        next(iter(d["params"].values()))["min"] = -(10**400)

    def huge_int_fit_scale_loss(d: dict) -> None:  # OverflowError from float() in fit_scale.losses before (hunt25)
        losses = d["fit_scale"]["losses"]
        losses[next(iter(losses))][0] = 10**400

    def local_names_null(d: dict) -> None:  # TypeError "'NoneType' object is not iterable" before (hunt25)
        d["state"]["local_names"][d["targets"][0]] = None

    def local_names_number(d: dict) -> None:
        d["state"]["local_names"][d["targets"][0]] = 0

    return {f.__name__: f for f in (local_names_null, local_names_number, params_list, params_empty, w_range_string,
                                    relabel_linear, relabel_loglinear,
                                    fewer_targets, version, unknown_key, not_object, nan_value, bad_option,
                                    huge_int_w_range, huge_int_value, huge_int_stderr, huge_int_min,
                                    huge_int_fit_scale_loss)}


@pytest.mark.parametrize("edit", list(_edits()))
def test_saved_law_is_checked_against_its_schema(edit: str, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    doc = _saved_law(tmp_path, "ye-exp")
    _edits()[edit](doc)
    path = tmp_path / "law.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match="law.json: not a valid saved law"):
        api.load_law(path)
    code, _, err = run_cli(["predict", "--law", str(path), "--mixtures", str(tmp_path / "fit.csv")], capsys)
    one_error(code, err)


def test_saved_lightgbm_with_a_bad_model_string_is_refused(tmp_path: Path) -> None:
    pytest.importorskip("lightgbm")
    doc = _saved_law(tmp_path, "linear")
    doc.update(law="lightgbm", params={}, options={}, state={"models": ["tree\nnot a model"], "n_iter": [1]})
    (tmp_path / "law.json").write_text(json.dumps(doc))
    with pytest.raises(InputError, match="field 'state' does not fit law 'lightgbm'"):
        api.load_law(tmp_path / "law.json")


@pytest.mark.parametrize(("law", "where", "key"), [("loglinear-sat", "state", "row_shares"), ("ye-exp", None, "y_1d")])
def test_a_saved_flag_must_be_a_json_boolean(law: str, where: str | None, key: str, tmp_path: Path) -> None:
    # bool("false") is True: a hand-edited "row_shares": "false" was read as True (review13).
    doc = _saved_law(tmp_path, law)
    (doc[where] if where else doc)[key] = "false"
    (tmp_path / "law.json").write_text(json.dumps(doc))
    with pytest.raises(InputError, match=f"saved state field '{key}' must be true or false; got 'false'"):
        api.load_law(tmp_path / "law.json")
    (doc[where] if where else doc)[key] = False
    (tmp_path / "law.json").write_text(json.dumps(doc))
    api.load_law(tmp_path / "law.json")


def test_a_valid_saved_law_still_round_trips(tmp_path: Path) -> None:
    doc = _saved_law(tmp_path, "ye-exp")
    (tmp_path / "law.json").write_text(json.dumps(doc))
    law = api.load_law(tmp_path / "law.json")
    W = np.array([[0.2, 0.3, 0.5]])
    fitted = api.fit_table(api.read_runs(tmp_path / "fit.csv"), law="ye-exp")
    np.testing.assert_allclose(law.predict(W), fitted.predict(W), rtol=1e-12)


@pytest.mark.parametrize("content", ["", "{", "[1, 2]", "\x00\x01binary", "dir", "unreadable",
                                     pytest.param("[" * 100_000, id="nested-100000-deep")])
def test_unreadable_saved_law_files(content: str, tmp_path: Path) -> None:
    path = tmp_path / "law.json"
    if content == "dir":
        path.mkdir()
    else:
        path.write_text(content)
        if content == "unreadable":
            path.chmod(0)
            if os.access(path, os.R_OK):  # root reads anything: use a folder-shaped failure instead
                path.unlink()
                path.mkdir()
    with pytest.raises(InputError, match="law.json"):
        api.load_law(path)


# ---------------------------------------------------------------------- run stores
def _store(path: Path) -> None:
    from mixlaw.store import RunStore

    with RunStore(path) as db:
        for rid, w in (("r1", 0.25), ("r2", 0.75)):
            db.begin_run(rid, {"mixture": {"a": w, "b": 1 - w}}, ["a", "b"], 1000)
            for step in (10, 20):
                db.record_checkpoint(rid, step, step * 10, {"a": 3.0 - w, "b": 2.0 + w}, 4.0)
            db.finish_run(rid, 1.0)


def _tampered_store(path: Path, sql: str) -> None:
    """A store of :func:`_store` edited by hand: the ``"; "``-separated SQL statements, foreign keys off."""
    _store(path)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA foreign_keys=OFF")
        for stmt in sql.split("; "):
            conn.execute(stmt)


@pytest.mark.parametrize("sql,match", [
    ("UPDATE runs SET config = '{bad' WHERE run_id = 'r1'", "run 'r1': column 'config'"),
    ("UPDATE runs SET domains = '5' WHERE run_id = 'r1'", "run 'r1': column 'domains'"),
    ("UPDATE meta SET value = 'abc' WHERE key = 'schema_version'", "schema_version is 'abc'"),
    ("UPDATE runs SET model_params = 'many' WHERE run_id = 'r2'", "column 'model_params'"),
    ("UPDATE runs SET config = '{\"mixture\": {\"a\": \"x\"}}' WHERE run_id = 'r2'", "mixture weight 'x'"),
    ("DROP TABLE evals", "no table 'evals'"),
    # A mixture that no longer sums to 1, weighs a domain the run has no column for, or has a negative weight was
    # exported as it was, and every reader refused the table, naming its row instead of the store's run.
    ("UPDATE runs SET config = '{\"mixture\": {\"a\": 3, \"b\": 0}}' WHERE run_id = 'r2'",
     "run 'r2': column 'config': mixture weights sum to 3"),
    ("UPDATE runs SET config = '{\"mixture\": {}}' WHERE run_id = 'r2'", "mixture weights sum to 0"),
    ("UPDATE runs SET config = '{\"mixture\": {\"a\": 1.5, \"b\": -0.5}}' WHERE run_id = 'r2'",
     "mixture weight b=-0.5 is negative"),
    ("UPDATE runs SET config = '{\"mixture\": {\"a\": 0.5, \"c\": 0.5}}' WHERE run_id = 'r2'",
     "mixture weighs 'c', which is not in its 'domains'"),
    ("UPDATE runs SET domains = '[\"a\", \"b\", \"a\"]' WHERE run_id = 'r1'", "a domain is listed twice"),
])
def test_bad_store_contents_are_one_error(sql: str, match: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from mixlaw.store import RunStore

    _tampered_store(tmp_path / "s.db", sql)
    with pytest.raises(InputError, match=match):
        RunStore(tmp_path / "s.db")
    code, _, err = run_cli(["runs", "export", str(tmp_path / "s.db"), str(tmp_path / "o.csv")], capsys)
    assert match.split("'")[0] in one_error(code, err)


@pytest.mark.parametrize("sql,match", [
    ("UPDATE evals SET loss = 9e999 WHERE run_id = 'r1' AND step = 20 AND domain = 'a'",
     "run 'r1' step 20 domain 'a': loss is inf, expected a finite number > 0"),
    ("UPDATE evals SET loss = -1.5 WHERE run_id = 'r2' AND step = 10 AND domain = 'b'", "loss is -1.5"),
    ("UPDATE evals SET loss = 0 WHERE run_id = 'r2' AND step = 10 AND domain = 'b'", "loss is 0.0"),
    # An eval whose checkpoint row is gone was dropped from the export without a word (its row lost).
    ("UPDATE checkpoints SET step = 25 WHERE run_id = 'r1' AND step = 20",
     "run 'r1' step 20 domain 'a': the loss has no row in 'checkpoints'"),
    ("UPDATE checkpoints SET step = 2.5 WHERE run_id = 'r1' AND step = 20; "
     "UPDATE evals SET step = 2.5 WHERE run_id = 'r1' AND step = 20", "step 2.5 and tokens 200 must be integers"),
    ("UPDATE checkpoints SET tokens = -5 WHERE run_id = 'r2' AND step = 10", "tokens -5 must be integers >= 0"),
])
def test_bad_checkpoint_rows_are_refused_by_the_export(sql: str, match: str, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from mixlaw.store import export_run_table

    _tampered_store(tmp_path / "s.db", sql)
    with pytest.raises(InputError, match=re.escape(match)):
        export_run_table(tmp_path / "s.db", include_unfinished=True)
    code, _, err = run_cli(["runs", "export", str(tmp_path / "s.db"), str(tmp_path / "o.csv")], capsys)
    assert match in one_error(code, err)
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("dangling", [True, False])
def test_a_store_path_that_is_a_symlink_is_not_written_through(dangling: bool, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    from mixlaw.store import RunStore

    target = tmp_path / "elsewhere" / "t.db"
    target.parent.mkdir()
    if not dangling:
        _store(target)
    before = target.read_bytes() if target.exists() else None
    link = tmp_path / "s.db"
    link.symlink_to(target)
    with pytest.raises(InputError, match="is a symlink .*give the path of the file itself"):
        RunStore(link)
    # A dangling link made the sweep create a store wherever it pointed.
    assert (target.read_bytes() if target.exists() else None) == before
    if not dangling:  # reading through a link is harmless: runs export still follows it
        code, _, err = run_cli(["runs", "export", str(link), str(tmp_path / "o.csv")], capsys)
        assert code == 0, err
        assert target.read_bytes() == before


def test_random_bytes_in_store_pages_are_reported_with_quick_check(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from mixlaw.store import RunStore

    path = tmp_path / "s.db"
    with RunStore(path) as db:
        for k in range(300):  # enough rows for a dozen pages
            db.begin_run(f"r{k:04d}", {"mixture": {"a": 0.5, "b": 0.5}}, ["a", "b"], 1000)
            db.record_checkpoint(f"r{k:04d}", 10, 100, {"a": 1.0, "b": 2.0}, 3.0)
            db.finish_run(f"r{k:04d}", 1.0)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = conn.execute("PRAGMA page_size").fetchone()[0]
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(0)
    data[5 * page: 12 * page] = rng.integers(0, 256, 7 * page, dtype=np.uint8).tobytes()  # pages 6-12
    path.write_bytes(bytes(data))
    code, _, err = run_cli(["runs", "export", str(path), str(tmp_path / "o.csv")], capsys)
    line = one_error(code, err)
    assert "malformed" in line or "quick_check" in line or "not a database" in line


def test_runs_export_opens_read_only_and_refuses_an_empty_file(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    _store(tmp_path / "s.db")
    (tmp_path / "s.db").chmod(0o444)
    before = (tmp_path / "s.db").read_bytes()
    code, _, err = run_cli(["runs", "export", str(tmp_path / "s.db"), str(tmp_path / "o.csv")], capsys)
    assert code == 0, err
    assert (tmp_path / "s.db").read_bytes() == before
    assert len((tmp_path / "o.csv").read_text().splitlines()) == 5
    (tmp_path / "empty.db").write_bytes(b"")
    code, _, err = run_cli(["runs", "export", str(tmp_path / "empty.db"), str(tmp_path / "o2.csv")], capsys)
    assert "not a mixlaw run store" in one_error(code, err)
    assert (tmp_path / "empty.db").stat().st_size == 0  # not turned into a store


def test_old_v1_store_is_upgraded_in_place(tmp_path: Path) -> None:
    from mixlaw.store import RunStore, export_run_table

    path = tmp_path / "v1.db"
    with sqlite3.connect(path) as conn:  # the v1 layout, as mixlaw 0.1 wrote it
        conn.executescript("""
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE runs (run_id TEXT PRIMARY KEY, config TEXT NOT NULL, domains TEXT NOT NULL,
                model_params INTEGER NOT NULL, status TEXT NOT NULL CHECK (status IN ('running', 'done')),
                started REAL NOT NULL, finished REAL, wall_s REAL, info TEXT);
            CREATE TABLE checkpoints (run_id TEXT NOT NULL REFERENCES runs(run_id), step INTEGER NOT NULL,
                tokens INTEGER NOT NULL, train_loss REAL, PRIMARY KEY (run_id, step));
            CREATE TABLE evals (run_id TEXT NOT NULL, step INTEGER NOT NULL, domain TEXT NOT NULL,
                loss REAL NOT NULL, PRIMARY KEY (run_id, step, domain),
                FOREIGN KEY (run_id, step) REFERENCES checkpoints(run_id, step));
            INSERT INTO meta VALUES ('schema_version', '1');
            INSERT INTO runs VALUES ('r1', '{"mixture": {"a": 0.5, "b": 0.5}}', '["a", "b"]', 10, 'done', 0, 1, 1,
                '{}');
            INSERT INTO runs VALUES ('r2', '{"mixture": {"a": 0.5, "b": 0.5}}', '["a", "b"]', 10, 'running', 0,
                NULL, NULL, '{}');
            INSERT INTO checkpoints VALUES ('r1', 10, 100, 3.0);
            INSERT INTO evals VALUES ('r1', 10, 'a', 1.0), ('r1', 10, 'b', 2.0);
        """)
    assert export_run_table(path)["loss:b"].tolist() == [2.0]  # read-only: v1 is readable as it is
    with RunStore(path) as db:
        assert db._version() == 2 and db.status("r1") == "done"
        db.mark_diverged("r2", "diverged by step 10: train loss nan")
        assert db.status("r2") == "diverged" and db.reason("r2").startswith("diverged by step 10")
        assert db.conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert export_run_table(path, include_unfinished=True)["run"].tolist() == ["r1"]  # diverged runs never export


def test_failed_writes_leave_no_temp_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    def full(*_a: object, **_k: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(InputError, match="No space left on device"):
        api.write_text_atomic("x" * 1000, tmp_path / "r.html")
    from mixlaw.store import run_table_rows, write_table

    with pytest.raises(InputError, match="No space left on device"):
        write_table(run_table_rows("r", {"a": 1.0}, 1, [(1, 1, {"a": 1.0})]), tmp_path / "t.csv")
    assert list(tmp_path.iterdir()) == []


def test_a_training_checkpoint_that_does_not_fit_on_disk_says_so(tmp_path: Path) -> None:
    """A full disk while saving a sweep's training checkpoint was reported as torch's "[enforce fail at
    inline_container.cc:672] . unexpected pos 63616 vs 63504"; the error now names the OS's reason. A file-size
    limit (RLIMIT_FSIZE, in a child process) fails the write the way a full disk does, without root."""
    pytest.importorskip("torch")
    child = ("import resource, signal, sys, torch\n"
             "from mixlaw.errors import InputError\n"
             "from mixlaw.train.loop import _save_atomic\n"
             "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
             "resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))\n"
             "try:\n"
             "    _save_atomic({'w': torch.zeros(50_000)}, sys.argv[1])\n"
             "except InputError as err:\n"
             "    print(err)\n")
    proc = subprocess.run([sys.executable, "-c", child, str(tmp_path / "ckpt.pt")], capture_output=True, text=True)
    assert "cannot write the training checkpoint" in proc.stdout, proc.stderr
    assert "File too large" in proc.stdout and "enforce fail" not in proc.stdout
    assert list(tmp_path.iterdir()) == []  # no temp file left


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped): no live writer has it."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    return int(proc.stdout)


def test_temp_file_of_a_writer_killed_mid_write_is_swept_by_the_next_write(tmp_path: Path) -> None:
    """``kill -9`` between writing the temp file and the rename leaves the temp file; the next write of the same
    file removes it (its process is gone), and nothing else."""
    out = tmp_path / "r.html"
    child = ("import os, signal, sys\n"
             "from mixlaw._atomic import atomic_target\n"
             "with atomic_target(sys.argv[1]) as tmp:\n"
             "    tmp.write_text('half a report')\n"
             "    os.kill(os.getpid(), signal.SIGKILL)\n")
    proc = subprocess.run([sys.executable, "-c", child, str(out)], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    (left,) = tmp_path.iterdir()  # the killed writer's temp file, and no report
    assert left.name.startswith(".r.html.") and left.name.endswith(".tmp") and left.read_text() == "half a report"
    api.write_text_atomic("<html></html>", out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"] and out.read_text() == "<html></html>"


@pytest.mark.parametrize("writer", ["text", "frame", "run table", "atomic_target", "checkpoint", "corpus"])
def test_every_atomic_writer_sweeps_only_stale_temp_files(writer: str, tmp_path: Path) -> None:
    """Leftovers of dead writers (this format and the older pid-named ones) go; a live writer's, another host's,
    and files that only look alike stay."""
    from mixlaw._atomic import HOST

    dead, live = _dead_pid(), os.getpid()
    name = {"text": "r.html", "frame": "t.csv", "run table": "runs.csv", "atomic_target": "p.json",
            "checkpoint": "ckpt.pt", "corpus": "math.train.bin"}[writer]
    stale = [f".{name}.{HOST}.{dead}.0123abcd.tmp", f"{name}.{dead}.tmp", f".{name}.{dead}.tmp"]
    kept = [f".{name}.{HOST}.{live}.89abcdef.tmp", f".{name}.otherhost.{dead}.0123abcd.tmp", f".{name}.notes.tmp",
            f".{name}.x7h2kq_a", f"other.{dead}.tmp"]
    for n in stale + kept:
        (tmp_path / n).write_text("leftover")
    path = tmp_path / name
    frame = pd.DataFrame({"a": [1.0, 2.0]})
    if writer == "text":
        api.write_text_atomic("x", path)
    elif writer == "frame":
        api.write_frame_atomic(frame, path)
    elif writer == "run table":
        from mixlaw.store import write_table

        write_table(frame, path)
    elif writer == "atomic_target":  # what save_pipeline and the writers above use
        from mixlaw._atomic import atomic_target

        with atomic_target(path) as tmp:
            tmp.write_text("{}")
    elif writer == "checkpoint":
        pytest.importorskip("torch")
        from mixlaw.train.loop import _save_atomic

        _save_atomic({"step": 1}, path)
    else:
        pytest.importorskip("torch")
        from mixlaw.train.corpus import _write_atomic

        _write_atomic(path, b"bytes")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, *kept])


def test_a_free_parameter_edited_outside_its_bounds_is_refused(tmp_path: Path) -> None:
    # newuser4: c = 100 written over a fitted 5.23 (bounds [0, 6.64]) loaded as it was and predicted 100 nats, with
    # only the loss-range warning; an init outside the bounds was already refused. A fixed parameter is not free.
    doc = _saved_law(tmp_path, "ye-exp")
    name, p = next((n, p) for n, p in doc["params"].items() if p["vary"] and np.isfinite(p["max"]))
    p["value"] = p["max"] + 10.0
    path = tmp_path / "law.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=rf"parameter '{name}': value=.* lies outside its bounds .*an edited file"):
        api.load_law(path)
    # Fixed, past its bounds but not off the losses by factors: 10 above made its own prediction at the centre 13
    # nats against fitted 2-3, which the centre check refuses (saved29).
    p["value"], p["vary"] = p["max"] + 1.0, False
    path.write_text(json.dumps(doc))
    api.load_law(path)


def _meta_edits() -> dict[str, object]:
    def first(d: dict) -> dict:
        return d["state"]["members"][0]

    return {
        "negative_weight": lambda d: d["state"]["weights"]["a"].update({k: -1.0 for k in d["state"]["weights"]["a"]}),
        "all_zero_weights": lambda d: d["state"]["weights"]["a"].update({k: 0.0 for k in d["state"]["weights"]["a"]}),
        "unknown_member_weight": lambda d: d["state"]["weights"].update({"a": {"nope": 1.0}}),
        "no_weights_for_an_eval": lambda d: d["state"]["weights"].pop("a"),
        "weights_for_another_eval": lambda d: d["state"]["weights"].update({"zz": {first(d)["key"]: 1.0}}),
        "member_key_relabelled": lambda d: first(d).update({"key": "bimix"}),
        "unknown_fit_mode": lambda d: first(d).update({"fit_on": "sideways"}),
        "no_members": lambda d: d["state"].update({"members": []}),
        "member_of_unknown_evals": lambda d: first(d).update({"targets": ["zz"]}),
        "objective_weights_of_3_evals": lambda d: d["state"].update({"objective_weights": [1.0, 2.0, 3.0]}),
    }


@pytest.fixture(scope="module")
def stack_doc(tmp_path_factory: pytest.TempPathFactory) -> dict:
    runs = runs_csv(tmp_path_factory.mktemp("stack") / "fit.csv", 40, 0, evals=("a", "b"))
    fitted = api.fit_table(api.read_runs(runs), law="stack", targets="all", candidates=["linear", "loglinear",
                                                                                        "ye-exp"])
    return json.loads(json.dumps({"schema_version": 1, **fitted.to_dict()}, default=float))


@pytest.mark.parametrize("edit", list(_meta_edits()))
def test_a_hand_edited_stack_is_refused_not_predicted(edit: str, tmp_path: Path, stack_doc: dict,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A stack file with a negative or unknown member weight, no member, a member relabelled or of an unknown mode
    predicted -2.6 or 0 (a warning at most) and optimize printed an optimum of it, exit 0; no members gave NaN."""
    doc = json.loads(json.dumps(stack_doc))
    _meta_edits()[edit](doc)  # type: ignore[operator]
    path = tmp_path / "law.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match="law.json: not a valid saved law"):
        api.load_law(path)
    code, _, err = run_cli(["optimize", "--law", str(path)], capsys)
    one_error(code, err)


def test_a_saved_stack_still_loads(tmp_path: Path, stack_doc: dict) -> None:
    path = tmp_path / "stack.json"
    path.write_text(json.dumps(stack_doc))
    assert api.load_law(path).key == "stack"


@pytest.mark.parametrize(("law", "edit"), [("ye-exp", True), ("ye-exp", "1.5"), ("ye-pow", True),
                                           ("ye-implicit", [1.0] * 1000), ("ye-implicit", [True, 1.0])])
def test_a_saved_exponent_cap_must_be_numbers(law: str, edit: object, tmp_path: Path) -> None:
    # hunt25: float(True) is 1.0 and a list of 1000 caps was read for ye-implicit's 2: a tampered z_max loaded and
    # moved the predictions (ye-implicit by 2%) without a word.
    doc = _saved_law(tmp_path, law, targets="a")
    doc["state"]["z_max"]["a"] = edit if law != "ye-implicit" or isinstance(edit, list) else [edit] * 2
    (tmp_path / "law.json").write_text(json.dumps(doc))
    with pytest.raises(InputError, match="saved state field 'z_max' of target 'a' must be"):
        api.load_law(tmp_path / "law.json")


@pytest.mark.parametrize("key", ["dz-eq1", "dz-eq3-safe"])
def test_a_joint_dz_law_with_a_parameter_record_deleted_or_moved_is_refused(key: str) -> None:
    # Dai & Zheng's laws read their parameter vector by position: a saved dz-eq1 with 'log_c_arxiv' deleted loaded and
    # predicted up to 6.4x off (hunt25); records out of order shifted blocks the same way.
    from mixlaw import law_from_dict
    from mixlaw.datasets import load_regmix
    from mixlaw.laws import get_law

    table = load_regmix("train_1m").take(np.arange(60))
    law = get_law(key).fit(table, targets=["pile_cc", "github"])
    assert law_from_dict(law.to_dict()).params_.array("value").tolist() == law.params_.array("value").tolist()
    d = law.to_dict()
    first = next(iter(d["params"]))
    del d["params"][first]
    with pytest.raises(InputError, match=rf"parameters do not match law '{key}' .*missing {first}"):
        law_from_dict(d)
    d = law.to_dict()
    names = list(d["params"])
    d["params"] = {n: d["params"][n] for n in [names[1], names[0], *names[2:]]}
    with pytest.raises(InputError, match="the records are out of order"):
        law_from_dict(d)


def test_a_stack_weight_deleted_or_true_and_a_boolean_eps_are_refused() -> None:
    # float(True) is 1.0 and the stack's prediction is sum_m w_m pred_m, unnormalised: a member weight deleted or set
    # to true, or loglinear-sat's eps set to true, loaded and moved predictions by 24-79 % (hunt25).
    from mixlaw import law_from_dict
    from mixlaw.datasets import load_regmix
    from mixlaw.laws import get_law
    from mixlaw.laws.stack import StackLaw

    table = load_regmix("train_1m").take(np.arange(60))
    stack = get_law("stack", candidates=["linear", "loglinear"]).fit(table, targets=["pile_cc"])
    assert isinstance(stack, StackLaw) and abs(sum(stack.weights_["pile_cc"].values()) - 1) < 1e-9
    law_from_dict(stack.to_dict())
    for edit in ("delete", "true"):
        d = stack.to_dict()
        member = next(iter(d["state"]["weights"]["pile_cc"]))
        if edit == "delete" and len(d["state"]["weights"]["pile_cc"]) > 1:
            del d["state"]["weights"]["pile_cc"][member]
        else:
            d["state"]["weights"]["pile_cc"][member] = True
        with pytest.raises(InputError, match="must be a finite number|sum to 1"):
            law_from_dict(d)
    ll = get_law("loglinear-sat").fit(table, targets=["pile_cc"])
    d = ll.to_dict()
    d["state"]["config"]["pile_cc"]["eps"] = True
    with pytest.raises(InputError, match=r"'config\.eps' must be a finite number; got True"):
        law_from_dict(d)
