"""Ye et al.'s training logs (``data/<set>/<size>.txt`` of github.com/yegcjs/mixinglaws) read by ``mixlaw runs
import``: the reader against the parser bench/ye_public_runs.py had before it used the reader, its errors, and the
command line. The fixture is synthetic in Ye's format (tests/data/ye_logs/README.md: their repository states no
licence)."""

from __future__ import annotations

import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_runner import run_cli

from mixlaw.data import read_runs
from mixlaw.errors import DataError, DataWarning
from mixlaw.importers import is_ye_log, read_ye_base, read_ye_logs, ye_logs_given

DATA = Path(__file__).parent / "data" / "ye_logs"
FIVE = DATA / "5Mix"


def bench_cells(paths: list[Path], n_domains: int) -> dict[tuple[str, str, int], dict]:
    """bench/ye_public_runs.py's own parser (main at bdc0aba, before it called the reader), less its grouping:
    (size, run folder, step) -> {eval: loss, "_w": shares}."""
    cells: dict = defaultdict(dict)
    for path in paths:
        size = path.stem
        for line in path.read_text().splitlines():
            ckpt, evalfile, loss = line.split("\t")
            run_dir, step = ckpt.rstrip("/").rsplit("/", 1)
            run = run_dir.rsplit("/", 1)[1]
            shares = [float(x) for x in run.split("_")[-1].split("-")[-n_domains:]]
            ev = evalfile.rsplit("/", 1)[1].removeprefix("pythia-pile.valid.").removesuffix(".bin")
            cell = cells[(size, run, int(step))]
            cell[ev], cell["_w"] = float(loss), shares
    return cells


def test_a_folder_of_logs_gives_the_rows_and_losses_of_the_bench_parser():
    with pytest.warns(DataWarning, match=r"left out 1 file\(s\) that are not training logs: .*proportions.txt"):
        t = read_ye_logs(FIVE)
    ref = bench_cells([FIVE / "70M.txt", FIVE / "1B.txt"], 5)
    f = t.frame
    # One row per (size, run, step): the line given twice counts once; the size is the run name's.
    assert len(f) == len(ref) == 6 and f["run"].nunique() == 3
    sizes = {"70M": 70e6, "1B": 1e9}
    for (size, run, step), cell in ref.items():
        row = f[(f.run == run) & (f.step == step)]
        assert len(row) == 1 and row["params"].item() == sizes[size]
        w = np.asarray(cell["_w"]) / np.sum(cell["_w"])
        np.testing.assert_array_equal(row[[f"w:d{j}" for j in range(5)]].to_numpy()[0], w)  # exactly
        for ev in ("Github", "Pile-CC", "ArXiv"):
            loss = row[f"loss:{ev}"].item()
            assert (loss == cell[ev]) if ev in cell else np.isnan(loss)  # the missing eval is NaN, not dropped
    assert t.domains == ["d0", "d1", "d2", "d3", "d4"] and t.evals == ["ArXiv", "Github", "Pile-CC"]
    assert list(f.columns[:3]) == ["run", "params", "step"]
    assert f.sort_values(["params", "run", "step"]).index.tolist() == list(range(len(f)))


def test_files_as_a_shell_pattern_names_them_and_domains_option(tmp_path):
    files = sorted(FIVE.glob("*.txt"))  # what *.txt expands to: proportions.txt too
    assert ye_logs_given([str(p) for p in files]) and ye_logs_given([str(FIVE)])
    assert is_ye_log(FIVE / "70M.txt") and not is_ye_log(FIVE / "proportions.txt")
    with pytest.warns(DataWarning, match="proportions.txt"):
        t = read_ye_logs(files, domains=["github", "pile_cc", "books", "arxiv", "wiki"])
    assert t.domains == ["github", "pile_cc", "books", "arxiv", "wiki"] and len(t) == 6
    with pytest.raises(DataError, match=r"--domains names 2 domain\(s\) .*5 shares"), warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        read_ye_logs(files, domains=["a", "b"])
    # drop_incomplete and evals as for any import: the checkpoint without ArXiv goes, or stays without ArXiv.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        assert len(read_ye_logs(FIVE, drop_incomplete=True)) == 5
        assert len(read_ye_logs(FIVE, evals=["Github"], drop_incomplete=True)) == 6


def test_size_from_the_file_name_domains_from_the_checkpoint_folder_and_last_left_out():
    with pytest.warns(DataWarning, match=r"left out 1 line\(s\) of checkpoints named 'last' .*410M.txt:3"):
        t = read_ye_logs(DATA / "3Mix" / "410M.txt")
    f = t.frame
    assert t.domains == ["Github", "Books3", "PileCC"]  # the folder above the runs names one domain per share
    assert sorted(f["run"]) == ["410M_2-0.0-0.25-0.75", "410M_30-0.75-0.0-0.25"]
    assert (f["params"] == 410e6).all() and (f["step"] == 30000).all()
    assert f.loc[f.run == "410M_30-0.75-0.0-0.25", "loss:Books3"].item() == 3.0


@pytest.mark.parametrize(("line", "match"), [
    ("ck/P//70M_1-0.5-0.5/1000\tv/pythia-pile.valid.Github.bin", "2 tab-separated field"),
    ("ck/P//70M_1-0.5-0.5/10k\tv/pythia-pile.valid.Github.bin\t2.5", "does not end in '/<step>'"),
    ("ck/P//70M_1-0.5-0.5/1000\tv/pythia-pile.valid.Github.txt\t2.5", "is not '<name>.bin'"),
    ("ck/P//70M_1-0.5-0.5/1000\tv/pythia-pile.valid.Github.bin\tn/a", "the loss 'n/a' is not a number"),
    ("ck/P//70M_1-0.5-x/1000\tv/pythia-pile.valid.Github.bin\t2.5", "are not numbers"),
    ("ck/P//70M_1-0.5/1000\tv/pythia-pile.valid.Github.bin\t2.5", "a seed, then 2 or more shares"),
    ("ck/P//1-0.5-0.5/1000\tv/pythia-pile.valid.Github.bin\t2.5", "has no model size"),
    ("ck/P//70M_1-0.25-0.25-0.5/1000\tv/pythia-pile.valid.Github.bin\t2.5", r"has 3 shares, the runs before it 2 "
                                                                          r"\(first on line 1 of"),
    ("ck/P//70M_0-0.5-0.5/1000\tv/pythia-pile.valid.Github.bin\t2.6", r"two losses for run '70M_0-0.5-0.5', step "
                                                                      r"1000, eval 'Github': 2.5 on line 1, 2.6 here"),
    ("ck/P//70M_2-0.7-0.7/1000\tv/pythia-pile.valid.Github.bin\t2.5", r"run '70M_2-0.7-0.7', step 1000: weights "
                                                                      r"sum to 1.4"),
])
def test_a_malformed_line_is_an_error_naming_its_file_and_line(tmp_path, line, match):
    p = tmp_path / "logs.txt"
    good = "ck/P//70M_0-0.5-0.5/1000\tv/pythia-pile.valid.Github.bin\t2.5"
    p.write_text(f"{good}\n\n{line}\n")  # the blank line counts: the error names line 3
    with pytest.raises(DataError, match=match) as exc:
        read_ye_logs(p)
    assert str(exc.value).startswith(f"{p}:3: ")


def test_a_file_that_is_not_a_log_among_several_is_named(tmp_path):
    csv = tmp_path / "runs.csv"
    csv.write_text("run,w:a,w:b,loss:x\nr,0.5,0.5,2\n")
    with pytest.raises(DataError, match=r"runs.csv: not one of Ye et al.'s training logs.*first line: 'run,w:a"):
        read_ye_logs([FIVE / "70M.txt", csv])
    assert not ye_logs_given([str(csv)]) and not is_ye_log(csv)


def test_two_tables_given_apart_are_told_to_join_as_a_pair(tmp_path, capsys):
    # Olmix's ratios.csv and metrics.csv given as two arguments were read as two of Ye's logs: the error spoke of
    # log lines only, not of the RATIOS.csv+METRICS.csv pair that runs import reads.
    ratios, metrics = tmp_path / "ratios.csv", tmp_path / "metrics.csv"
    ratios.write_text(",run,name,index,a,b\n0,r0,r0,0,0.5,0.5\n")
    metrics.write_text(",run,name,index,x\n0,r0,r0,0,2.0\n")
    code, _, err = run_cli(capsys, "runs", "import", str(ratios), str(metrics), "--out", str(tmp_path / "o.csv"))
    assert code != 0 and "ratios.csv: not one of Ye et al.'s training logs" in err
    assert "one argument joined by '+' (Olmix's RATIOS.csv+METRICS.csv" in err
    with pytest.raises(DataError) as one:
        read_ye_logs([*sorted(FIVE.glob("*.txt"))[:2], ratios])
    assert "joined by '+'" not in str(one.value)  # three sources are no pair


def test_runs_import_writes_the_table_and_refuses_table_options(tmp_path, capsys):
    out = tmp_path / "runs.parquet"
    code, _, err = run_cli(capsys, "runs", "import", *map(str, sorted(FIVE.glob("*.txt"))), "--out", str(out),
                           "--domains", "a,b,c,d,e")
    assert code == 0, err
    assert "wrote 6 rows (3 runs; domains a, b, c, d, e; evals ArXiv, Github, Pile-CC" in err
    t = read_runs(out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        ref = read_ye_logs(FIVE, domains=list("abcde")).frame
    pd.testing.assert_frame_equal(t.frame[ref.columns].reset_index(drop=True), ref, check_dtype=False)
    code, _, err = run_cli(capsys, "runs", "import", str(FIVE), "--out", str(out), "--columns", "run=x")
    assert code != 0 and "--columns map a table's columns" in err
    csv = tmp_path / "t.csv"
    csv.write_text("run,w:a,w:b,loss:x\nr,0.5,0.5,2\n")
    code, _, err = run_cli(capsys, "runs", "import", str(csv), "--out", str(out), "--domains", "a,b")
    assert code != 0 and "--domains names the shares of Ye et al.'s training logs" in err


def _ct_log(path: Path) -> Path:
    """Ye's continual-pretraining log in miniature (data/ct/70M.txt): the base model's lines first (a checkpoint path
    naming a model, not a run's step), then runs of Pile share a and python share 1 - a at two steps."""
    evals = {"Github": 1.5, "Pile-CC": 3.6, "starcoder.python": 1.6}
    lines = [f"cfg//pythia_70m_step20000\tv/pythia-pile.valid.{e}.bin\t{v}" for e, v in evals.items()]
    for i, a in enumerate((0.125, 0.25, 0.375, 0.5, 0.625)):
        for s in (1000, 2000):
            for e, v in evals.items():
                forget = 0.3 * np.exp(-4 * a) if e != "starcoder.python" else -0.3 * (1 - a)
                lines.append(f"ck/ct//70M_ct_{i}-{a}-{1 - a}/{s}\tv/pythia-pile.valid.{e}.bin\t{v + forget + 100 / s}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_continual_pretraining_log_keeps_its_base_model_for_continual(tmp_path, capsys):
    # Ye's data/ct/70M.txt starts with the base model's 23 lines ('model_configs//pythia_70m_step20000', no step):
    # the file was not recognised as a log ("without --columns the table has 0 'w:<domain>' weight column(s)").
    log = _ct_log(tmp_path / "70M.txt")
    assert is_ye_log(log)
    with pytest.warns(DataWarning, match=r"left out the base model 'pythia_70m_step20000' \(3 line\(s\), first "):
        table = read_ye_logs(log, domains=["pile", "python"])
    assert len(table) == 10 and set(table.runs) == {f"70M_ct_{i}-{a}-{1 - a}" for i, a in
                                                   enumerate((0.125, 0.25, 0.375, 0.5, 0.625))}
    out = tmp_path / "ct.csv"
    code, _, err = run_cli(capsys, "runs", "import", str(log), "--domains", "pile,python", "--keep-base",
                           "--out", str(out))
    assert code == 0, err
    assert "base model pythia_70m_step20000 as a row with no mixture" in err and "left out the base" not in err
    frame = pd.read_csv(out)
    assert frame["run"].iloc[0] == "pythia_70m_step20000" and frame.iloc[0][["w:pile", "w:python"]].isna().all()
    # continual reads it as the loss before continual pretraining, the Pile's from its parts
    code, text, err = run_cli(capsys, "continual", "--runs", str(out), "--original", "pile", "--new", "python",
                              "--eval-group", "pile=Github:1,Pile-CC:3", "--bootstrap", "0")
    assert code == 0, err
    assert f"pile loss before continual pretraining = {(1.5 + 3 * 3.6) / 4:.5g} (base-model row (no mixture))" in text
    # any other command says what the row is
    code, _, err = run_cli(capsys, "fit", "--runs", str(out), "--law", "linear")
    assert code == 2 and "every weight of this row is empty: a base model's row, before continual pretraining? " \
        "only mixlaw continual reads those" in err
    code, _, err = run_cli(capsys, "runs", "import", str(FIVE), "--keep-base", "--out", str(tmp_path / "x.csv"))
    assert code == 2 and "--keep-base: these logs have no base model's lines" in err


def test_a_base_model_line_anywhere_is_read_and_a_second_loss_for_it_refused(tmp_path):
    lines = _ct_log(tmp_path / "70M.txt").read_text().splitlines()
    # the base model's lines after some runs' lines: still a log, still read
    mid = tmp_path / "mid.txt"
    mid.write_text("\n".join(lines[3:9] + lines[:3] + lines[9:]) + "\n")
    assert is_ye_log(mid)
    assert read_ye_base(mid).to_dict("records") == [{"run": "pythia_70m_step20000", "loss:Github": 1.5,
                                                     "loss:Pile-CC": 3.6, "loss:starcoder.python": 1.6}]
    # the same eval of the base model twice: the same loss is one, another is refused as a run's is
    dup = tmp_path / "dup.txt"
    dup.write_text("\n".join(lines[:1] + lines[:3] + lines[3:]) + "\n")
    assert read_ye_base(dup)["loss:Github"].tolist() == [1.5]
    dup.write_text("\n".join(lines[:3] + [lines[0].replace("\t1.5", "\t9.9")] + lines[3:]) + "\n")
    with pytest.raises(DataError, match=r"dup.txt:4: two losses for the base model 'pythia_70m_step20000', eval "
                                        r"'Github': 1.5 on line 1, 9.9 here"):
        read_ye_base(dup)


def test_keep_base_parses_the_log_once_and_writes_what_two_parses_did(tmp_path, capsys, monkeypatch):
    # runs import --keep-base read the log twice (read_ye_logs, then read_ye_base): one parse now gives both.
    from mixlaw.importers import read_ye_logs_with_base

    log = _ct_log(tmp_path / "70M.txt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        table = read_ye_logs(log, domains=["pile", "python"], evals=["Github", "Pile-CC"])
    base = read_ye_base(log, evals=table.evals)
    ref = pd.concat([base.reindex(columns=table.frame.columns), table.frame], ignore_index=True)
    calls = []
    # the globals of the functions the CLI calls (a doctest run may import the module a second time)
    space = read_ye_logs_with_base.__globals__
    parse = space["_parse_logs"]
    monkeypatch.setitem(space, "_parse_logs", lambda files: calls.append(files) or parse(files))
    out = tmp_path / "ct.csv"
    code, _, err = run_cli(capsys, "runs", "import", str(log), "--domains", "pile,python", "--evals",
                           "Github,Pile-CC", "--keep-base", "--out", str(out))
    assert code == 0, err
    assert len(calls) == 1
    got = pd.read_csv(out)
    assert got["run"].iloc[0] == "pythia_70m_step20000" and len(got) == len(ref) == 11
    pd.testing.assert_frame_equal(got, ref, check_dtype=False)


class _CountingFile:
    """A binary file that counts the bytes read from it (how much of a file the sniff reads)."""

    def __init__(self, f, counter):
        self._f, self._counter = f, counter

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()

    def read(self, *args):
        out = self._f.read(*args)
        self._counter.append(len(out))
        return out

    def readline(self, *args):
        out = self._f.readline(*args)
        self._counter.append(len(out))
        return out


def test_the_sniff_reads_past_a_long_base_model_header_and_blank_or_comment_lines(tmp_path):
    # is_ye_log read the first 8 KB alone: a log whose base-model lines (or blank lines) filled them was not a log
    # ("not one of Ye et al.'s training logs", or read as a table), and a comment line above the runs stopped it.
    lines = _ct_log(tmp_path / "ct.txt").read_text().splitlines()
    base, runs = lines[:3], lines[3:]
    many = [line.replace("pythia_70m_step20000", f"pythia_70m_step{s}") for s in range(20000, 20100) for line in base]
    long_head = tmp_path / "long.txt"
    long_head.write_text("\n".join(many + runs) + "\n")
    assert len("\n".join(many).encode()) > 8192 and is_ye_log(long_head)
    blank = tmp_path / "blank.txt"
    blank.write_text(" \n" * 5000 + "\n".join(runs) + "\n")
    assert is_ye_log(blank)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        assert len(read_ye_logs(blank)) == len(read_ye_logs(long_head)) == 10
    assert len(read_ye_base(long_head)) == 100
    commented = tmp_path / "commented.txt"
    commented.write_text("# Ye et al.'s data/ct/70M.txt\n\n" + "\n".join(lines) + "\n  # end\n")
    assert is_ye_log(commented) and ye_logs_given([str(commented)])
    with pytest.warns(DataWarning, match="left out the base model"):
        assert len(read_ye_logs(commented)) == 10
    # still not a log: a table, a comment alone, base-model lines alone, a line that is not a log's after the base
    for text in ("run,w:a,w:b,loss:x\nr,0.5,0.5,2\n", "# a note\n", "\n".join(base) + "\n",
                 "\n".join(base + ["run,w:a,w:b,loss:x"] + runs) + "\n"):
        other = tmp_path / "other.txt"
        other.write_text(text)
        assert not is_ye_log(other), text


def test_the_sniff_stops_at_the_first_line_that_decides(tmp_path, monkeypatch):
    import builtins

    read: list[int] = []
    real_open = builtins.open
    # is_ye_log's own globals (a doctest run may import its module a second time): its open() counts what it reads
    monkeypatch.setitem(is_ye_log.__globals__, "open", lambda *a, **k: _CountingFile(real_open(*a, **k), read))
    run = "ck/P//70M_0-0.5-0.5/1000\tv/pythia-pile.valid.Github.bin\t2.5\n"
    big = tmp_path / "big.txt"
    big.write_text(run + "x" * 100 + "\n" + run * 100_000)  # 6 MB: the first line decides
    assert is_ye_log(big) and 0 < sum(read) < 1 << 16
    read.clear()
    other = tmp_path / "other.txt"
    other.write_text("not\ta log\n" + run * 100_000)
    assert not is_ye_log(other) and 0 < sum(read) < 1 << 16
    read.clear()
    minified = tmp_path / "one_line.json"
    minified.write_text("[" + ",".join(['{"run": "a", "loss:x": 2.5}'] * 200_000) + "]")  # 5 MB, no newline
    assert not is_ye_log(minified) and 0 < sum(read) <= 1 << 17


def test_the_sniff_splits_lines_as_the_parser_does(tmp_path):
    # The line-by-line sniff split on '\n' alone: a log whose lines end in '\r' (old Mac line ends) was a log on main
    # (8 KB read, then splitlines) and the parser reads it, but the sniff saw one line of tabs and '\r's: "not a log".
    lines = _ct_log(tmp_path / "ct.txt").read_text().splitlines()
    cr = tmp_path / "cr.txt"
    cr.write_bytes(("\r".join(lines) + "\r").encode())
    assert is_ye_log(cr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        assert len(read_ye_logs(cr)) == 10
