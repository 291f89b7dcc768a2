"""Run store: transactions per checkpoint, export format, atomic table writing, bad store paths."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from mixlaw.errors import DataWarning, InputError
from mixlaw.store import RunStore, export_run_table, run_table_rows, write_table

DOMAINS = ["code", "prose"]


def _fill(path: Path, finish: bool = True) -> None:
    with RunStore(path) as db:
        for rid, w in (("r1", 0.25), ("r2", 0.75)):
            db.begin_run(rid, {"mixture": {"code": w, "prose": 1 - w}}, DOMAINS, 1234)
            for step in (10, 20):
                db.record_checkpoint(rid, step, step * 100, {"prose": 3.0 - step / 100 - w, "code": 2.0 + w}, 4.0)
            if finish or rid == "r1":
                db.finish_run(rid, 1.5)


def test_export_is_the_design_run_table(tmp_path: Path) -> None:
    _fill(tmp_path / "runs.db")
    table = export_run_table(tmp_path / "runs.db")
    assert list(table.columns) == ["run", "w:code", "w:prose", "loss:code", "loss:prose", "params", "step", "tokens"]
    assert table["run"].tolist() == ["r1", "r1", "r2", "r2"] and table["step"].tolist() == [10, 20, 10, 20]
    assert table["tokens"].tolist() == [1000, 2000, 1000, 2000] and (table["params"] == 1234).all()
    assert table.loc[3, "loss:prose"] == pytest.approx(3.0 - 0.2 - 0.75)
    # The core reader accepts it as a run table.
    from mixlaw.data import RunTable

    rt = RunTable(table)
    assert rt.domains == DOMAINS and rt.weights.shape == (4, 2)


def test_unfinished_runs_are_left_out_unless_asked(tmp_path: Path) -> None:
    _fill(tmp_path / "runs.db", finish=False)
    assert export_run_table(tmp_path / "runs.db")["run"].unique().tolist() == ["r1"]
    assert len(export_run_table(tmp_path / "runs.db", include_unfinished=True)) == 4
    with RunStore(tmp_path / "runs.db") as db:
        assert db.status("r2") == "running" and db.run_ids("done") == ["r1"] and db.status("zz") is None
        db.reset_run("r2")
        assert db.checkpoint_steps("r2") == [] and db.checkpoint_steps("r1") == [10, 20]


def test_rewriting_a_checkpoint_never_duplicates(tmp_path: Path) -> None:
    _fill(tmp_path / "runs.db")
    with RunStore(tmp_path / "runs.db") as db:
        db.record_checkpoint("r1", 10, 1000, {"prose": 9.0, "code": 9.0})
        db.begin_run("r1", {"mixture": {}}, DOMAINS, 1)  # known run: ignored
        assert db.status("r1") == "done"
    table = export_run_table(tmp_path / "runs.db")
    assert len(table) == 4 and table.loc[0, "loss:code"] == 9.0


def test_failed_transaction_rolls_back(tmp_path: Path) -> None:
    _fill(tmp_path / "runs.db")
    with RunStore(tmp_path / "runs.db") as db:
        # A NaN loss is refused before anything is written: SQLite would store it as NULL.
        with pytest.raises(InputError, match="code loss is nan; a non-finite loss is not stored"):
            db.record_checkpoint("r1", 30, 3000, {"code": float("nan"), "prose": 1.0})
        # A failure after the checkpoint row was inserted (NULL domain violates NOT NULL) rolls back the whole
        # transaction and surfaces as one InputError naming the store.
        with pytest.raises(InputError, match=r"runs\.db'?: a write failed: NOT NULL constraint"):
            db.record_checkpoint("r1", 30, 3000, {None: 1.0})  # type: ignore[dict-item]
        assert db.checkpoint_steps("r1") == [10, 20]  # the checkpoint row of step 30 was rolled back too
        assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.parametrize("losses,train,named", [({"code": 0.0, "prose": 1.0}, 4.0, "code loss is 0.0"),
                                                  ({"code": 1.0, "prose": -2.5}, 4.0, "prose loss is -2.5"),
                                                  ({"code": 1.0, "prose": 1.0}, 0.0, "train loss is 0.0")])
def test_a_loss_not_above_zero_is_refused_at_record_time(tmp_path: Path, losses: dict[str, float], train: float,
                                                         named: str) -> None:
    # It was stored, and 'runs export' then refused the whole store ("loss is 0.0, expected a finite number > 0").
    _fill(tmp_path / "runs.db")
    with RunStore(tmp_path / "runs.db") as db:
        with pytest.raises(InputError, match=rf"^run r1 step 30: {named}; a loss <= 0 is not stored "
                                             r"\(a mixing law fits log losses: mark the run diverged\)$"):
            db.record_checkpoint("r1", 30, 3000, losses, train)
        assert db.checkpoint_steps("r1") == [10, 20]
    assert len(export_run_table(tmp_path / "runs.db")) == 4  # still exportable


def test_bad_store_paths_raise_one_clear_input_error(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")  # a missing folder is made (test_a_store_in_a_missing_folder_is_made...)
    with pytest.raises(InputError, match="cannot open run store .*a-file is a file, not a folder"):
        RunStore(tmp_path / "a-file" / "runs.db")
    (tmp_path / "junk.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(InputError, match="cannot open run store .*not a database"):
        RunStore(tmp_path / "junk.db")
    with pytest.raises(InputError, match="is a folder"):
        RunStore(tmp_path)
    with pytest.raises(InputError, match="does not exist"):
        export_run_table(tmp_path / "never.db")


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_write_table_round_trips_atomically(tmp_path: Path, suffix: str) -> None:
    frame = run_table_rows("r", {"a": 0.5, "b": 0.5}, 10,
                           [(1, 100, {"a": 2.0, "b": 3.0}), (2, 200, {"a": 1.5, "b": 2.5})])
    path = write_table(frame, tmp_path / f"t{suffix}")
    readers = {".parquet": pd.read_parquet, ".csv": pd.read_csv, ".jsonl": lambda p: pd.read_json(p, lines=True)}
    back = readers[suffix](path)
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"t{suffix}"]  # no temp file left
    with pytest.raises(InputError, match="unknown format"):
        write_table(frame, tmp_path / "t.xlsx")
    # A missing folder is made, as by every command's write (_atomic.atomic_target); a file in its place is refused.
    write_table(frame, tmp_path / "no-dir" / f"t{suffix}")
    assert (tmp_path / "no-dir" / f"t{suffix}").is_file()
    # ... named as such (review25b: it said "cannot write '.../t.csv/t.csv': File exists", of a path that does not)
    with pytest.raises(InputError, match=rf"^cannot write '{re.escape(str(tmp_path / f't{suffix}' / f't{suffix}'))}': "
                                         rf"{re.escape(str(tmp_path / f't{suffix}'))} is a file, not a folder; "
                                         "choose another path$"):
        write_table(frame, tmp_path / f"t{suffix}" / f"t{suffix}")
    with pytest.raises(InputError, match=rf"{re.escape(str(tmp_path / f't{suffix}'))} is a file, not a folder"):
        write_table(frame, tmp_path / f"t{suffix}" / "deeper" / f"t{suffix}")


def test_export_names_runs_by_their_design_names(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "runs.db"
    ids = ["aa11", "bb22", "cc33", "dd44"]
    with RunStore(path) as db:
        for rid, w, name in zip(ids, (0.2, 0.4, 0.6, 0.8), ("web", "web", "code", None), strict=True):
            assert db.claim_run(rid, "me", {"mixture": {"code": w, "prose": 1 - w}}, DOMAINS, 10, name=name) \
                == "claimed"
            db.record_checkpoint(rid, 10, 1000, {"code": 2.0, "prose": 3.0}, owner="me")
            db.finish_run(rid, 1.0, owner="me")
        # An unnamed run takes a name; a named run keeps its first; an unknown id adds nothing.
        db.name_runs({"dd44": "late", "cc33": "renamed", "zz99": "ghost"})
        assert db.names() == {"aa11": "web", "bb22": "web", "cc33": "code", "dd44": "late"}
    # A name two runs share gets each run's short id, so every run stays apart; rows come in the names' order.
    # ... and says so (hunt30b: renamed without a word), as a sweep of a design that repeats a name does.
    with pytest.warns(DataWarning, match=r"runs\.db': the store gives the name\(s\) \['web'\] to several runs"):
        assert export_run_table(path)["run"].tolist() == ["code", "late", "web-aa11", "web-bb22"]
    assert export_run_table(path, ids=True)["run"].tolist() == ids
    # A store from before names (no run_names table) still exports, by id, also read-only; a writable open (the next
    # sweep) adds the table.
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE run_names")
    assert export_run_table(path)["run"].tolist() == ids
    with RunStore(path) as db:
        db.name_runs({"aa11": "web"})
    assert export_run_table(path)["run"].tolist() == ["bb22", "cc33", "dd44", "web"]
    # A name's sizes come in size order, names in natural order (dd-2 before dd-10), not in string order.
    with RunStore(path) as db:
        for rid, (name, params) in {"s1": ("dd-10-500k", 5), "s2": ("dd-10-1M", 10), "s3": ("dd-2-2M", 20)}.items():
            db.claim_run(rid, "me", {"mixture": {"code": 0.5, "prose": 0.5}}, DOMAINS, params, name=name)
            db.record_checkpoint(rid, 10, 1000, {"code": 2.0, "prose": 3.0}, owner="me")
            db.finish_run(rid, 1.0, owner="me")
    assert export_run_table(path)["run"].unique().tolist() == ["bb22", "cc33", "dd44", "dd-2-2M", "dd-10-500k",
                                                                "dd-10-1M", "web"]
    # A name cell that is not a non-empty text is one error naming the run and column, on open.
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE run_names SET name = X'00ff' WHERE run_id = 'aa11'")
    with pytest.raises(InputError, match=r"run 'aa11': column 'name' is b'\\x00\\xff'"):
        export_run_table(path)


def test_run_labels_stay_unique_when_names_read_as_other_runs_ids() -> None:
    from mixlaw.store import run_labels

    a, b, c = "a" * 16, "b" * 16, "c" * 16
    # a is named after b's id (b unnamed, labelled by its id), c after a's id: a falls back to its id, so c must too.
    cases = ({a: b, b: None, c: a}, {c: a, b: None, a: b}, {a: b, b: a, c: None}, {a: "x", b: "x", c: "x-" + a[:8]})
    for names in cases:
        labels = run_labels(names)
        assert len(set(labels.values())) == len(names), labels
    assert run_labels({a: b, b: None, c: a}) == {a: a, b: b, c: c}
    assert run_labels({a: "web", b: None}) == {a: "web", b: b}


def test_a_domain_no_run_trains_on_is_an_eval_set_only(tmp_path: Path, capsys) -> None:
    # A design over 3 of the corpus's 6 domains (newuser4): the export gave every corpus domain a w: column, 0 in
    # every row, and `fit --at-params largest --final-step --law ye-exp` refused the sweep's 6 final losses ("6
    # observations are too few to fit 7 parameters": 3 of them for domains no run trains on). Judged over the
    # whole store: an unfinished run that trains on a domain keeps its column in an export without it.
    from cli_runner import run_cli

    domains = ["code", "prose", "math", "legal"]
    mixes = [(0.2, 0.8, 0.0), (0.5, 0.3, 0.2), (0.7, 0.0, 0.3), (0.1, 0.1, 0.8), (0.4, 0.4, 0.2), (0.9, 0.05, 0.05)]
    with RunStore(tmp_path / "runs.db") as db:
        for i, (c, p, m) in enumerate(mixes):
            rid = f"r{i}"
            db.begin_run(rid, {"mixture": {"code": c, "prose": p, "math": m, "legal": 0.0}}, domains, 1234)
            db.record_checkpoint(rid, 10, 1000, {d: 3.0 + 0.3 * (1 - c) ** 2 + 0.1 * (1 - m) for d in domains}, 4.0)
            db.finish_run(rid, 1.5)
    table = export_run_table(tmp_path / "runs.db")
    assert [c for c in table.columns if c.startswith("w:")] == ["w:code", "w:prose", "w:math"]
    assert {"loss:legal", "loss:code"} <= set(table.columns) and table.attrs["untrained_domains"] == ["legal"]
    out = tmp_path / "runs.csv"
    code, _, err = run_cli(capsys, "runs", "export", str(tmp_path / "runs.db"), str(out))
    assert code == 0 and "no run trains on legal: left out of the mixtures (w:), kept as eval sets (loss:)" in err
    code, _, err = run_cli(capsys, "fit", "--runs", str(out), "--law", "ye-exp", "--target", "code")
    assert code == 0, err
    with RunStore(tmp_path / "runs.db") as db:
        db.begin_run("r9", {"mixture": {"code": 0.5, "prose": 0.0, "math": 0.0, "legal": 0.5}}, domains, 1234)
    assert "w:legal" in export_run_table(tmp_path / "runs.db").columns


def test_the_export_of_an_interrupted_store_says_what_it_left_out(tmp_path: Path, capsys) -> None:
    # An interrupted sweep's store (newuser4): 'runs export' said "wrote 2 rows (1 runs)" and nothing of the run
    # it had left out; the summary now counts it (and --all exports it).
    from cli_runner import run_cli

    _fill(tmp_path / "runs.db", finish=False)
    out = str(tmp_path / "runs.csv")
    code, _, err = run_cli(capsys, "runs", "export", str(tmp_path / "runs.db"), out)
    assert code == 0 and "left out 1 unfinished run (an interrupted or ongoing sweep" in err, err
    code, _, err = run_cli(capsys, "runs", "export", str(tmp_path / "runs.db"), out, "--all")
    assert code == 0 and "unfinished" not in err, err
    code, doc, _ = run_cli(capsys, "runs", "export", str(tmp_path / "runs.db"), out, "--json")
    assert '"unfinished_left_out": 1' in doc


def test_an_export_before_any_run_finished_reads_as_no_rows(tmp_path: Path, capsys) -> None:
    # newuser4: a sweep killed before its first run finished exports 'run,params,step,tokens' and no row; `fit
    # --runs` on it said "missing at least two 'w:<domain>' weight columns" and offered a W&B --columns map.
    from cli_runner import run_cli

    _fill(tmp_path / "runs.db", finish=False)
    with RunStore(tmp_path / "runs.db") as db:
        db.reset_run("r1")
        db.begin_run("r1", {"mixture": {"code": 0.25, "prose": 0.75}}, DOMAINS, 1234)
    out = tmp_path / "runs.csv"
    code, _, err = run_cli(capsys, "runs", "export", str(tmp_path / "runs.db"), str(out))
    assert code == 0 and "wrote 0 rows" in err, err
    code, _, err = run_cli(capsys, "fit", "--runs", str(out))
    assert code == 2 and "the table has no rows: a run store's export before any run of it finished" in err, err
    assert "--columns" not in err


def test_a_jsonl_export_keeps_every_digit(tmp_path: Path) -> None:
    # newuser4: 'runs export runs.db runs.jsonl' kept 10 digits (pandas' to_json): a design's 1/13 read back as
    # 0.0769230769, so the export used as a sweep design got other run ids, and losses lost their last digits.
    from mixlaw.data import read_runs

    with RunStore(tmp_path / "runs.db") as db:
        db.begin_run("r1", {"mixture": {"code": 1 / 13, "prose": 12 / 13}}, DOMAINS, 1234)
        db.record_checkpoint("r1", 10, 1000, {"code": 4.421371936798096, "prose": 2 / 3})
        db.finish_run("r1", 1.0)
    write_table(export_run_table(tmp_path / "runs.db"), tmp_path / "runs.jsonl")
    back = read_runs(tmp_path / "runs.jsonl")
    assert back.weights[0].tolist() == [1 / 13, 12 / 13]
    assert back.losses(["code", "prose"])[0].tolist() == [4.421371936798096, 2 / 3]


def test_the_demo_reads_final_losses_of_a_domain_no_run_trains_on(tmp_path: Path) -> None:
    # The export leaves out such a domain's w: column (above); the demo's reader gives it weight 0, as before.
    from mixlaw.train.demo import final_losses

    doms = ["code", "prose", "math"]
    with RunStore(tmp_path / "runs.db") as db:
        for i, w in enumerate((0.3, 0.6)):
            db.begin_run(f"r{i}", {"mixture": {"code": w, "prose": 1 - w, "math": 0.0}}, doms, 100)
            db.record_checkpoint(f"r{i}", 10, 100, {"code": 3.0, "prose": 3.1, "math": 3.2})
            db.finish_run(f"r{i}", 1.0)
    W, _, L = final_losses(tmp_path / "runs.db", ["r0", "r1"], doms)
    assert W.tolist() == [[0.3, 0.7, 0.0], [0.6, 0.4, 0.0]] and L.shape == (2, 3)


def test_exporting_a_folder_says_it_is_a_folder(tmp_path: Path) -> None:
    # 'runs export sweep_out/ runs.parquet' (the folder, not the store file in it) said the store "does not exist".
    with pytest.raises(InputError, match="is a folder; give the store file"):
        export_run_table(tmp_path)
    with pytest.raises(InputError, match="does not exist; run 'mixlaw sweep"):
        export_run_table(tmp_path / "none.db")


def test_a_store_in_a_missing_folder_is_made_as_every_output_is(tmp_path: Path, monkeypatch) -> None:
    # 'sweep --store new/runs.db' was refused ("the folder must exist") where every other output's folder is made
    # (review25b); a file in the path and an unexpanded '~' are still refused in one line, and a reader makes nothing.
    monkeypatch.chdir(tmp_path)
    with RunStore("new/deep/runs.db") as db:
        assert db.run_ids() == []
    assert (tmp_path / "new" / "deep" / "runs.db").is_file()
    (tmp_path / "f").write_text("x")
    with pytest.raises(InputError, match="f is a file, not a folder"):
        RunStore("f/runs.db")
    with pytest.raises(InputError, match="'~' is not expanded here"):
        RunStore("~/runs.db")
    with pytest.raises(InputError):
        RunStore("other/runs.db", readonly=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f", "new"]


def test_a_store_folder_that_cannot_be_made_is_refused_in_one_line(tmp_path: Path, monkeypatch) -> None:
    # review25d: making the missing folder (2e5af95) let the OS's error out as a PermissionError traceback from
    # the API (run_sweep, RunStore) where a missing folder had been an InputError naming the store.
    def refuse(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    with pytest.raises(InputError, match=r"cannot open run store .*runs\.db.*: cannot make its folder .*"
                                         r"\(Permission denied\)"):
        RunStore(tmp_path / "new" / "runs.db")
