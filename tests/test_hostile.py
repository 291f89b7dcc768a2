"""Hostile inputs: files that try to run code, inject markup, replace special files or escape a folder, and
the probe's other bad inputs (saved laws, run stores, mixtures, paths, exports, training settings).

Each test plants the payload the adversarial probe of issue 13 used and checks that mixlaw refuses it with
one clear error (exit code 2 from the CLI) and that the payload had no effect.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixlaw import api
from mixlaw.cli import main
from mixlaw.errors import DataError, InputError
from mixlaw.export import export_mixture, parse_mixture, read_paths

PAYLOAD = "<img src=x onerror=alert(9)>"


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def _one_error(code: int, err: str) -> str:
    """Exit 2 with exactly one 'error:' line and no traceback; returns the line."""
    assert code == 2, err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


def _runs_csv(path: Path, n: int, seed: int, domains: tuple[str, ...] = ("a", "b", "c"),
              evals: tuple[str, ...] = ("a",)) -> Path:
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.ones(len(domains)), size=n)
    coef = np.linspace(-1.0, 0.5, len(domains))
    header = ["run", *(f"w:{d}" for d in domains), *(f"loss:{e}" for e in evals)]
    rows = [",".join(header)]
    for i, w in enumerate(W):
        losses = [2.0 + k * 0.1 + np.exp(w @ coef) * np.exp(0.005 * rng.standard_normal()) for k in range(len(evals))]
        rows.append(",".join([f"r{i}", *(f"{x:.17g}" for x in w), *(f"{v:.17g}" for v in losses)]))
    path.write_text("\n".join(rows) + "\n")
    return path


# ---------------------------------------------------------------------- 1. unpickling payload
class _Payload:
    """Unpickling this calls ``Path.touch(marker)``: proof that code from the file ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return (Path.touch, (self.marker,))


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("torch")
    from mixlaw.train.corpus import build_corpus

    out = tmp_path_factory.mktemp("corpus") / "c"
    build_corpus(out, domains=["math", "docs"], max_bytes=20_000, seed=0)
    return out


TINY = ["--size", "0.01M", "--tokens", "3k", "--eval-every", "5", "--block_size=32", "--batch_size=8",
        "--eval_tokens=256", "--num_threads=1"]


@pytest.mark.parametrize("where", ["train --out", "sweep store.ckpt"])
def test_unpickling_payload_has_no_side_effect(where: str, small_corpus: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    marker = tmp_path / "PWNED"
    if where == "train --out":
        (tmp_path / "out").mkdir()
        torch.save({"run_id": _Payload(marker)}, tmp_path / "out" / "ckpt.pt")
        argv = ["train", "--corpus", str(small_corpus), "--mixture", "math=0.5,docs=0.5", "--out",
                str(tmp_path / "out"), *TINY]
    else:
        from mixlaw.sweep import plan_sweep
        from mixlaw.train.config import ProxyConfig

        (tmp_path / "design.csv").write_text("w:math,w:docs\n0.5,0.5\n")
        base = ProxyConfig(block_size=32, batch_size=8, eval_tokens=256, eval_every=5, num_threads=1)
        plan = plan_sweep(small_corpus, [{"math": 0.5, "docs": 0.5}], ["0.01M"], "3k", base)
        ckdir = tmp_path / "runs.db.ckpt"
        ckdir.mkdir()
        torch.save({"run_id": _Payload(marker)}, ckdir / f"{plan[0].run_id}.pt")  # run ids are predictable
        argv = ["sweep", "--corpus", str(small_corpus), "--design", str(tmp_path / "design.csv"), "--sizes",
                "0.01M", "--tokens", "3k", "--eval-every", "5", "--store", str(tmp_path / "runs.db"),
                "--block_size=32", "--batch_size=8", "--eval_tokens=256", "--num_threads=1"]
    # The planted file really is a code-running pickle: a plain unpickle touches the marker.
    code, _, err = _cli(argv, capsys)
    line = _one_error(code, err)
    assert "is not a mixlaw training checkpoint" in line and "delete it" in line
    assert not marker.exists()  # no side effect
    if where == "sweep store.ckpt":
        from mixlaw.store import RunStore

        with RunStore(tmp_path / "runs.db", readonly=True) as db:
            assert all(db.checkpoint_steps(r) == [] for r in db.run_ids())
    torch.load(next(tmp_path.rglob("*.pt")), weights_only=False)  # the control: unsafe loading runs it
    assert marker.exists()


# ---------------------------------------------------------------------- 2. report XSS
def test_report_escapes_a_payload_in_every_string_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    from mixlaw.data import read_runs
    from mixlaw.laws import Linear, base
    from mixlaw.report import build_html_report

    # Payload in a domain name, an eval name, the fitting file's name, a held-out split name, the title, and a
    # law key (a registered law whose key is the payload, so it reaches the leaderboard and a plot title).
    dom = ("a", f"b{PAYLOAD}", "c$x")
    ev = (f"e{PAYLOAD}", "f")
    train = read_runs(_runs_csv(tmp_path / f"t{PAYLOAD}.csv", 30, 0, dom, ev))
    test = read_runs(_runs_csv(tmp_path / "held.csv", 12, 1, dom, ev))

    class Evil(Linear):
        pass

    Evil.key = f"k{PAYLOAD}"
    monkeypatch.setitem(base._REGISTRY, Evil.key, Evil)
    page = build_html_report(train, {f"s{PAYLOAD}": test}, laws=["linear", Evil.key], title=f"T{PAYLOAD}")
    assert PAYLOAD not in page and "onerror=alert" not in page.replace(html.escape(PAYLOAD), "")
    for field in (f"b{PAYLOAD}", f"e{PAYLOAD}", f"t{PAYLOAD}.csv", f"s{PAYLOAD}", f"T{PAYLOAD}", f"k{PAYLOAD}"):
        assert html.escape(field) in page, field  # shown, escaped
    # The CLI refuses an unknown law key (as `compare` does) instead of writing a page with it.
    held = _runs_csv(tmp_path / "h2.csv", 12, 1)
    code, _, err = _cli(["report", "--runs", str(_runs_csv(tmp_path / "t2.csv", 30, 0)), "--test", str(held),
                         "--laws", f"linear,{PAYLOAD}", "--out", str(tmp_path / "r.html")], capsys)
    assert "unknown law" in _one_error(code, err) and not (tmp_path / "r.html").exists()
    code, _, err = _cli(["report", "--runs", str(tmp_path / "t2.csv"), "--test", str(held), "--laws", "linear",
                         "--target", "all", "--objective", "nope", "--out", str(tmp_path / "r.html")], capsys)
    assert "--objective" in _one_error(code, err)


# ---------------------------------------------------------------------- 3. --out special files
def _special(kind: str, path: Path) -> None:
    if kind == "symlink":
        (path.parent / "target.txt").write_text("keep me\n")
        path.symlink_to(path.parent / "target.txt")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(path))
        sock.close()
    elif kind == "device":
        try:
            os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, 3))  # a copy of /dev/null's node
        except PermissionError:
            os.mkfifo(path)  # not root: a FIFO stands in for the device (both are not regular files)
    else:
        path.mkdir()


def _kind(path: Path) -> str:
    st = os.lstat(path)
    return stat.S_IFMT(st.st_mode).__str__()


@pytest.mark.parametrize("kind", ["symlink", "fifo", "socket", "device", "folder"])
@pytest.mark.parametrize("command", ["fit", "export", "predict", "runs export"])
def test_out_refuses_special_files(kind: str, command: str, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    runs = _runs_csv(tmp_path / "runs.csv", 30, 0)
    special = tmp_path / ("special.csv" if command in ("runs export", "predict") else "special")
    _special(kind, special)
    before = _kind(special)
    if command == "fit":
        argv = ["fit", "--runs", str(runs), "--law", "linear", "--out", str(special)]
    elif command == "export":
        argv = ["export", "--mixture", "a=0.5,b=0.5", "--out", str(special)]
    elif command == "predict":
        law = tmp_path / "law.json"
        assert _cli(["fit", "--runs", str(runs), "--law", "linear", "--out", str(law)], capsys)[0] == 0
        argv = ["predict", "--law", str(law), "--mixtures", str(runs), "--out", str(special)]
    else:
        from mixlaw.store import RunStore

        with RunStore(tmp_path / "s.db") as db:
            db.begin_run("r1", {"mixture": {"a": 1.0, "b": 0.0}}, ["a", "b"], 10)
        argv = ["runs", "export", str(tmp_path / "s.db"), str(special)]
    code, _, err = _cli(argv, capsys)
    line = _one_error(code, err)
    assert "not a regular file" in line or "is a folder" in line
    assert _kind(special) == before  # untouched
    if kind == "symlink":
        assert (tmp_path / "target.txt").read_text() == "keep me\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".special")]  # no temp file left


# ---------------------------------------------------------------------- 4. manifest path escape
@pytest.mark.parametrize("how", ["dotdot", "absolute", "symlink"])
def test_manifest_path_escape_is_refused(how: str, small_corpus: Path, tmp_path: Path) -> None:
    import shutil

    from mixlaw.train.data import Corpus

    corpus = tmp_path / "corpus"
    shutil.copytree(small_corpus, corpus)
    outside = tmp_path / "secret.bin"
    outside.write_bytes(b"root:x:0:0:root:/root:/bin/bash\n" * 40)  # the probe used ../../etc/passwd
    manifest = json.loads((corpus / "manifest.json").read_text())
    entry = manifest["domains"]["math"]["splits"]["val"]
    if how == "dotdot":
        entry["file"] = "../secret.bin"
    elif how == "absolute":
        entry["file"] = str(outside)
    else:
        (corpus / "math" / "link.bin").symlink_to(outside)
        entry["file"] = "math/link.bin"
    data = outside.read_bytes()
    entry["tokens"], entry["sha256"] = len(data), hashlib.sha256(data).hexdigest()  # size and hash match
    (corpus / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DataError, match="lies outside the corpus folder"):
        Corpus(corpus)


# ---------------------------------------------------------------------- saved laws
def _saved_law(tmp_path: Path, law: str, targets: str = "all") -> dict:
    runs = _runs_csv(tmp_path / "fit.csv", 40, 0, evals=("a", "b"))
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

    return {f.__name__: f for f in (params_list, params_empty, w_range_string, relabel_linear, relabel_loglinear,
                                    fewer_targets, version, unknown_key, not_object, nan_value, bad_option)}


@pytest.mark.parametrize("edit", list(_edits()))
def test_saved_law_is_checked_against_its_schema(edit: str, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    doc = _saved_law(tmp_path, "ye-exp")
    _edits()[edit](doc)
    path = tmp_path / "law.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match="law.json: not a valid saved law"):
        api.load_law(path)
    code, _, err = _cli(["predict", "--law", str(path), "--mixtures", str(tmp_path / "fit.csv")], capsys)
    _one_error(code, err)


def test_saved_lightgbm_with_a_bad_model_string_is_refused(tmp_path: Path) -> None:
    pytest.importorskip("lightgbm")
    doc = _saved_law(tmp_path, "linear")
    doc.update(law="lightgbm", params={}, options={}, state={"models": ["tree\nnot a model"], "n_iter": [1]})
    (tmp_path / "law.json").write_text(json.dumps(doc))
    with pytest.raises(InputError, match="field 'state' does not fit law 'lightgbm'"):
        api.load_law(tmp_path / "law.json")


def test_a_valid_saved_law_still_round_trips(tmp_path: Path) -> None:
    doc = _saved_law(tmp_path, "ye-exp")
    (tmp_path / "law.json").write_text(json.dumps(doc))
    law = api.load_law(tmp_path / "law.json")
    W = np.array([[0.2, 0.3, 0.5]])
    fitted = api.fit_table(api.read_runs(tmp_path / "fit.csv"), law="ye-exp")
    np.testing.assert_allclose(law.predict(W), fitted.predict(W), rtol=1e-12)


@pytest.mark.parametrize("content", ["", "{", "[1, 2]", "\x00\x01binary", "dir", "unreadable"])
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


@pytest.mark.parametrize("sql,match", [
    ("UPDATE runs SET config = '{bad' WHERE run_id = 'r1'", "run 'r1': column 'config'"),
    ("UPDATE runs SET domains = '5' WHERE run_id = 'r1'", "run 'r1': column 'domains'"),
    ("UPDATE meta SET value = 'abc' WHERE key = 'schema_version'", "schema_version is 'abc'"),
    ("UPDATE runs SET model_params = 'many' WHERE run_id = 'r2'", "column 'model_params'"),
    ("UPDATE runs SET config = '{\"mixture\": {\"a\": \"x\"}}' WHERE run_id = 'r2'", "mixture weight 'x'"),
    ("DROP TABLE evals", "no table 'evals'"),
])
def test_bad_store_contents_are_one_error(sql: str, match: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from mixlaw.store import RunStore

    _store(tmp_path / "s.db")
    with sqlite3.connect(tmp_path / "s.db") as conn:
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute(sql)
    with pytest.raises(InputError, match=match):
        RunStore(tmp_path / "s.db")
    code, _, err = _cli(["runs", "export", str(tmp_path / "s.db"), str(tmp_path / "o.csv")], capsys)
    assert match.split("'")[0] in _one_error(code, err)


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
    code, _, err = _cli(["runs", "export", str(path), str(tmp_path / "o.csv")], capsys)
    line = _one_error(code, err)
    assert "malformed" in line or "quick_check" in line or "not a database" in line


def test_runs_export_opens_read_only_and_refuses_an_empty_file(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    _store(tmp_path / "s.db")
    (tmp_path / "s.db").chmod(0o444)
    before = (tmp_path / "s.db").read_bytes()
    code, _, err = _cli(["runs", "export", str(tmp_path / "s.db"), str(tmp_path / "o.csv")], capsys)
    assert code == 0, err
    assert (tmp_path / "s.db").read_bytes() == before
    assert len((tmp_path / "o.csv").read_text().splitlines()) == 5
    (tmp_path / "empty.db").write_bytes(b"")
    code, _, err = _cli(["runs", "export", str(tmp_path / "empty.db"), str(tmp_path / "o2.csv")], capsys)
    assert "not a mixlaw run store" in _one_error(code, err)
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


# ---------------------------------------------------------------------- mixtures, paths, exports
@pytest.mark.parametrize("weights,match", [
    ({"a": 1e308, "b": 1e308}, "sum to inf"),
    ({"a": True, "b": 0.0}, "not a number: True"),
    ({"a": "0.5", "b": 0.5}, "not a number: '0.5'"),
    ({"a": float("nan"), "b": 1.0}, "finite and >= 0"),
])
def test_bad_export_weights(weights: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        export_mixture(weights, "json")


def test_export_overflow_on_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _cli(["export", "--mixture", "a=1e308,b=1e308"], capsys)
    assert "sum to inf" in _one_error(code, err)


def test_json_true_is_not_a_weight(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "m.json").write_text('{"a": true, "b": 0}')
    code, _, err = _cli(["export", "--mixture", str(tmp_path / "m.json")], capsys)
    assert "not a number: True" in _one_error(code, err)


def test_megatron_paths_starting_with_a_dash_stay_one_word() -> None:
    text = export_mixture({"a": 0.5, "b": 0.5}, "megatron", {"a": "--eval-only", "b": "-x/data"})
    words = text.split()
    assert words[:5] == ["--data-path", "0.5", "./--eval-only", "0.5", "./-x/data"]


def test_empty_path_cell_is_refused(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text("domain,path\na,/data/a\nb,\n")
    with pytest.raises(InputError, match=r"p\.csv:3: empty path cell"):
        read_paths(str(tmp_path / "p.csv"))
    (tmp_path / "p.json").write_text('{"a": "/data/a", "b": 5}')
    with pytest.raises(InputError, match="path of domain 'b' must be a non-empty string"):
        read_paths(str(tmp_path / "p.json"))


@pytest.mark.parametrize("kind", ["empty", "binary", "dir", "bad-json", "non-numeric", "shape", "unknown-domain"])
@pytest.mark.parametrize("option", ["--mixture", "--paths", "--tokens-available"])
def test_guarded_reads_of_option_files(option: str, kind: str, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    ext = ".json" if kind in ("bad-json", "shape", "unknown-domain") else ".csv"
    path = tmp_path / f"f{ext}"
    content = {"empty": "", "binary": "\x00\x01\x02", "bad-json": "{", "shape": '["d0", 5]',
               "unknown-domain": '{"d0": 5}',
               "non-numeric": {"--mixture": "w:a,w:b\nx,y\n", "--paths": "domain,path\n", "--tokens-available":
                               "domain,tokens\na,lots\n"}[option]}.get(kind)
    if kind == "dir":
        path.mkdir()
    else:
        path.write_text(content)
    if option == "--mixture":
        argv = ["export", "--mixture", str(path)]
    elif option == "--paths":
        argv = ["export", "--mixture", "a=0.5,b=0.5", "--format", "megatron", "--paths", str(path)]
    else:
        argv = ["design", "--domains", "a,b", "--tokens-available", str(path), "--target-tokens", "100"]
    code, _, err = _cli(argv, capsys)
    _one_error(code, err)


def test_parse_mixture_file_errors(tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_text("w:a,w:b\n0.5,abc\n")
    with pytest.raises(InputError, match="not a number"):
        export_mixture(parse_mixture(str(tmp_path / "m.csv")), "json")


# ---------------------------------------------------------------------- training settings
@pytest.mark.parametrize("override,match", [
    ("--lr=inf", "'lr' must lie in"), ("--lr=1e30", "'lr' must lie in"), ("--lr=nan", "'lr' must lie in"),
    ("--weight_decay=nan", "'weight_decay' must be a finite number"), ("--grad_clip=-1", "'grad_clip' must be"),
    ("--beta2=nan", "'beta2' must lie in"),
])
def test_training_hyperparameters_are_validated(override: str, match: str, small_corpus: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _cli(["train", "--corpus", str(small_corpus), "--mixture", "math=0.5,docs=0.5", *TINY, override],
                        capsys)
    assert match in _one_error(code, err)


def test_a_run_whose_loss_goes_nan_is_recorded_as_diverged(small_corpus: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    from mixlaw.store import RunStore, export_run_table
    from mixlaw.train import loop

    real = loop.evaluate
    calls = {"n": 0}

    def nan_after_first(model, windows, batch_rows):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        out = real(model, windows, batch_rows)
        return out if calls["n"] == 1 else {k: float("nan") for k in out}

    monkeypatch.setattr(loop, "evaluate", nan_after_first)
    store = tmp_path / "s.db"
    code, _, err = _cli(["train", "--corpus", str(small_corpus), "--mixture", "math=0.5,docs=0.5", *TINY,
                         "--store", str(store)], capsys)
    assert code == 1 and "Traceback" not in err
    assert "diverged by step 10: math loss nan" in err and "recorded as diverged" in err
    with RunStore(store, readonly=True) as db:
        (rid,) = db.run_ids()
        assert db.status(rid) == "diverged" and "lower --lr" in db.reason(rid)
        assert db.checkpoint_steps(rid) == [5]  # the finite checkpoint stays; the NaN one was never written
    assert len(export_run_table(store, include_unfinished=True)) == 0


# ---------------------------------------------------------------------- usage errors and silent nonsense
@pytest.mark.parametrize("argv,match", [
    ([], "no command given"),  # and the help above it
    (["runs"], "no command given"),
    (["fit"], "Missing option '--runs'"),
    (["fit", "--runs", "x.csv", "--seed", "abc"], "Invalid value for '--seed'"),
    (["fit", "--runs", "x.csv", "--bogus"], "No such option: --bogus"),
    (["nosuch"], "No such command 'nosuch'"),
    (["fit", "--runs"], "requires an argument"),
])
def test_usage_errors_are_one_line_exit_2(argv: list[str], match: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _cli(argv, capsys)
    assert match in _one_error(code, err)
    if not argv or argv == ["runs"]:
        assert "Usage:" in err


@pytest.mark.parametrize("command", ["demo", "compare", "fit", "optimize", "continual", "report", "pipeline",
                                     "design"])
def test_negative_seed_is_refused(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _cli([command, "--seed", "-1"], capsys)
    assert "--seed" in _one_error(code, err)


@pytest.mark.parametrize("command", [["compare", "--dataset", "regmix"], ["demo"]])
def test_laws_naming_no_law(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _cli([*command, "--laws", ","], capsys)
    assert "names no law" in _one_error(code, err)


def test_weight_tol_nan_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = _runs_csv(tmp_path / "r.csv", 30, 0)
    text = runs.read_text().splitlines()
    text[1] = "r0,0.5,0.5,0.2,3.0"  # sums to 1.2
    runs.write_text("\n".join(text) + "\n")
    code, _, err = _cli(["fit", "--runs", str(runs), "--law", "linear", "--weight-tol", "nan"], capsys)
    assert "'--weight-tol': nan is not a finite number" in _one_error(code, err)
    from mixlaw.data import read_runs

    with pytest.raises(InputError, match=r"--weight-tol must be a number in \[0, 1\)"):  # the API refuses it too
        read_runs(runs, weight_tol=float("nan"))


@pytest.mark.parametrize("law", ["linear", "loglinear"])
def test_closed_form_laws_refuse_fewer_runs_than_parameters(law: str, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    runs = _runs_csv(tmp_path / "r.csv", 3, 0)  # 3 runs, 3 domains: the law would interpolate exactly
    code, _, err = _cli(["fit", "--runs", str(runs), "--law", law], capsys)
    assert "too few to fit 3 parameters" in _one_error(code, err)
    code, _, err = _cli(["optimize", "--runs", str(runs), "--law", law], capsys)
    assert "too few" in _one_error(code, err)


def test_constant_lightgbm_is_refused_by_optimize_and_continual(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("lightgbm")
    runs = _runs_csv(tmp_path / "r.csv", 30, 0)  # 30 runs < 2 x min_child_samples: no tree can split
    code, _, err = _cli(["optimize", "--runs", str(runs), "--law", "lightgbm"], capsys)
    assert "is constant" in _one_error(code, err)
    two = _runs_csv(tmp_path / "two.csv", 30, 0, domains=("a", "b"), evals=("a", "b"))
    code, _, err = _cli(["continual", "--runs", str(two), "--original", "a", "--new", "b", "--law", "lightgbm",
                         "--bootstrap", "0", "--pre-loss", "3.0"], capsys)
    assert "is constant" in _one_error(code, err)


def test_a_loaded_constant_lightgbm_is_refused_like_a_fitted_one(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Loading recomputes the constant-model check, so every path that refuses a fitted constant model (the
    run check of optimize/continual/design/pipeline, and optimize_mixture, which a loaded pipeline's optimum
    and design's active search use) refuses a loaded one too."""
    pytest.importorskip("lightgbm")
    from mixlaw.errors import ConvergenceWarning
    from mixlaw.optimize import check_enough_runs, optimize_mixture

    for name, n in (("few", 30), ("many", 120)):
        code, _, err = _cli(["fit", "--runs", str(_runs_csv(tmp_path / f"{name}.csv", n, 0)), "--law", "lightgbm",
                             "--out", str(tmp_path / f"{name}.json")], capsys)
        assert code == 0, err
    with pytest.warns(ConvergenceWarning, match=r"saved model of \['a'\] is constant"):
        constant = api.load_law(tmp_path / "few.json")
    assert constant.constant_targets_ == ["a"]
    for check in (check_enough_runs, optimize_mixture):
        with pytest.raises(InputError, match=r"law 'lightgbm' is constant for \['a'\]"):
            check(constant)
    code, _, err = _cli(["predict", "--law", str(tmp_path / "few.json"), "--mixtures", str(tmp_path / "few.csv")],
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

    runs = _runs_csv(tmp_path / "r.csv", 20, 0, domains=("a", "b"))
    text = runs.read_text().replace("run,w:a,w:b,loss:a", "run,w:a,w:b,w:never,loss:a")
    text = "\n".join(ln if i == 0 else ln.replace(",", ",", 2).rsplit(",", 1)[0] + ",0," + ln.rsplit(",", 1)[1]
                     for i, ln in enumerate(text.splitlines()))
    runs.write_text(text + "\n")
    with pytest.warns(DataWarning, match=r"domain\(s\) \['never'\] have weight 0 in every run"):
        read_runs(runs)


def test_pipeline_bounds_without_optimize(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = _runs_csv(tmp_path / "r.csv", 10, 0)
    code, _, err = _cli(["pipeline", "--runs", str(runs), "--target-params", "1e9", "--target-steps", "1000",
                         "--bounds", "a=0:0.5"], capsys)
    assert "--bounds applies to the optimal mixture only: add --optimize" in _one_error(code, err)


def test_unreachable_ray_address_times_out(small_corpus: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("ray")
    (tmp_path / "d.csv").write_text("w:math,w:docs\n0.5,0.5\n")
    code, _, err = _cli(["sweep", "--corpus", str(small_corpus), "--design", str(tmp_path / "d.csv"), "--sizes",
                         "0.01M", "--tokens", "3k", "--store", str(tmp_path / "s.db"), "--backend", "ray",
                         "--address", "127.0.0.1:1"], capsys)
    assert "cannot connect to the Ray cluster" in _one_error(code, err)
    assert not (tmp_path / "s.db").exists()  # refused before the store was created


def test_unreadable_corpus_domain_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "a.txt").write_text("hello world " * 200)
    bad = folder / "b.txt"
    bad.write_text("secret")
    bad.chmod(0)
    if os.access(bad, os.R_OK):  # root reads anything: make that one read fail as it does for other users
        real = Path.read_bytes

        def denied(self: Path) -> bytes:
            if self == bad:
                raise PermissionError(13, "Permission denied", str(self))
            return real(self)

        monkeypatch.setattr(Path, "read_bytes", denied)
    code, _, err = _cli(["corpus", "build", "--out", str(tmp_path / "c"), "--domains", "math", "--domain",
                         f"mine={folder}"], capsys)
    assert "cannot be read" in _one_error(code, err)
