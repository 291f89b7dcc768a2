"""Every --out that writes a table takes the same suffixes and refuses any other in one line (hunt30b)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from cli_runner import run_cli

from mixlaw.api import write_frame_atomic
from mixlaw.errors import InputError
from mixlaw.store import write_table

SAYS = "name it .csv, .parquet or .jsonl"


@pytest.mark.parametrize("args", [
    ["design", "--domains", "web,code", "--n", "4"],
    ["predict", "--law", "law.json", "--mixtures", "web=1"],
    ["pipeline", "--runs", "runs.csv"],
])
@pytest.mark.parametrize("name", ["out.xlsx", "out.txt", "out"])
def test_a_table_out_of_an_unknown_suffix_is_refused_before_any_work(args: list[str], name: str, tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str],
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # 'mixlaw design --out d.xlsx' (predict, pipeline likewise) wrote CSV text under that name, exit 0, while
    # 'runs export --out r.xlsx' refused it; now all refuse it, before reading the law or fitting the runs.
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, *args, "--out", name)
    suffix = Path(name).suffix or "(no suffix)"
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert err == f"error: --out: cannot write {name!r}: unknown format {suffix!r}; {SAYS}\n"
    assert list(tmp_path.iterdir()) == []


def test_runs_tables_are_refused_in_the_same_words() -> None:
    # Called from Python the error names the argument, not a command-line option (review30c: it said "--out").
    with pytest.raises(InputError, match=rf"^path: cannot write 'r\.xlsx': unknown format '\.xlsx'; {SAYS}$"):
        write_table(pd.DataFrame({"run": ["a"]}), "r.xlsx")
    with pytest.raises(InputError, match=rf"^path: cannot write 'r\.txt': unknown format '\.txt'; {SAYS}$"):
        write_frame_atomic(pd.DataFrame({"run": ["a"]}), "r.txt")


@pytest.mark.parametrize("command", ["design", "predict", "pipeline"])
def test_the_help_of_out_names_the_suffixes_it_writes(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    # predict's and design's help said "CSV" while a .parquet name wrote Parquet (and .jsonl JSON records).
    code, out, _ = run_cli(capsys, command, "--help")
    assert code == 0
    said = " ".join(re.sub(r"[│\s]+", " ", out).split())
    assert ".csv, .parquet or .jsonl" in said, said


def test_a_design_out_writes_what_its_suffix_says(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name, read in (("d.csv", pd.read_csv), ("d.parquet", pd.read_parquet),
                       ("d.jsonl", lambda p: pd.read_json(p, lines=True))):
        code, _, err = run_cli(capsys, "design", "--domains", "web,code", "--n", "4", "--out", str(tmp_path / name))
        assert code == 0, err
        assert list(read(tmp_path / name).columns)[-2:] == ["w:web", "w:code"]


def _optimize_to(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    """``mixlaw optimize --law linear --out tmp_path/name`` on six runs of two domains."""
    runs = tmp_path / "runs.csv"
    runs.write_text("run,w:web,w:code,loss:web\n" + "".join(f"r{i},{w},{1 - w},{2 + 0.5 * w + 0.01 * (i % 2)}\n"
                                                           for i, w in enumerate((0.1, 0.3, 0.5, 0.7, 0.9, 0.2))))
    code, _, err = run_cli(capsys, "optimize", "--runs", str(runs), "--law", "linear", "--out", str(tmp_path / name))
    assert code == 0, err


def test_optimize_out_of_a_jsonl_name_is_the_optimum_as_one_record(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    # 'mixlaw optimize --out opt.jsonl' wrote the optimum's pretty-printed JSON document under a JSON-records name
    # (pandas' read_json(lines=True) refused it), where .csv and .parquet names get the one row; now .jsonl too.
    rows = {}
    for name in ("opt.csv", "opt.jsonl"):
        _optimize_to(tmp_path, capsys, name)
        rows[name] = (pd.read_csv if name.endswith(".csv") else lambda p: pd.read_json(p, lines=True))(tmp_path / name)
    assert list(rows["opt.jsonl"].columns) == list(rows["opt.csv"].columns) == ["run", "w:web", "w:code", "pred:web"]
    assert rows["opt.jsonl"]["w:web"].tolist() == pytest.approx(rows["opt.csv"]["w:web"].tolist())


def test_export_reads_the_optimum_optimize_wrote_to_a_jsonl_name(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    # review30c: 'optimize --out opt.jsonl' now writes one record (run, w:<domain>, pred:<eval>), and
    # 'export --mixture opt.jsonl' read it as a JSON document: "weight of domain 'run' is not a number: 'optimum'",
    # exit 2, where it read the JSON document optimize wrote there before hunt30b (and reads opt.csv's row).
    exported = {}
    for name in ("opt.csv", "opt.jsonl", "opt.ndjson"):
        _optimize_to(tmp_path, capsys, name)
        code, out, err = run_cli(capsys, "export", "--mixture", str(tmp_path / name), "--format", "json")
        assert code == 0, err
        exported[name] = out
    assert exported["opt.jsonl"] == exported["opt.ndjson"] == exported["opt.csv"]
    # The pretty-printed JSON report optimize wrote under a .jsonl name before hunt30b still reads.
    _optimize_to(tmp_path, capsys, "opt.json")
    (tmp_path / "old.jsonl").write_text((tmp_path / "opt.json").read_text())
    code, out, err = run_cli(capsys, "export", "--mixture", str(tmp_path / "old.jsonl"), "--format", "json")
    assert code == 0 and out == exported["opt.csv"], err
    # A mapping written on one line of a .jsonl file is still read as the mapping.
    (tmp_path / "m.jsonl").write_text('{"web": 0.25, "code": 0.75}\n')
    code, out, err = run_cli(capsys, "export", "--mixture", str(tmp_path / "m.jsonl"), "--format", "json")
    assert code == 0, err
    assert '"weight": 0.75' in out


def test_optimize_out_row_has_the_bootstrap_interval(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A hunt: `optimize --bootstrap N --out opt.csv` wrote the optimum's row without the losses' interval that the
    # --json document has (intervals.losses); the row has it, named as predict --out names one (lo90:/hi90:).
    runs = tmp_path / "runs.csv"
    runs.write_text("run,w:web,w:code,loss:web\n" + "".join(f"r{i},{w},{1 - w},{2 + 0.5 * w + 0.01 * (i % 2)}\n"
                                                           for i, w in enumerate((0.1, 0.3, 0.5, 0.7, 0.9, 0.2))))
    code, out, err = run_cli(capsys, "optimize", "--runs", str(runs), "--law", "linear", "--bootstrap", "20",
                             "--out", str(tmp_path / "opt.csv"), "--json")
    assert code == 0, err
    iv = json.loads(out)["optimum"]["intervals"]
    row = pd.read_csv(tmp_path / "opt.csv")
    lvl = round(100 * iv["level"])
    assert list(row.columns) == ["run", "w:web", "w:code", "pred:web", f"lo{lvl}:web", f"hi{lvl}:web"]
    assert [row[f"lo{lvl}:web"][0], row[f"hi{lvl}:web"][0]] == pytest.approx(iv["losses"]["web"], rel=1e-12)
