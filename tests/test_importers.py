"""Importers: column maps, Olmix's ratio/metric pair, W&B (a stand-in API object) and TensorBoard event files."""

from __future__ import annotations

import contextlib
import json
import struct
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_runner import run_cli as _cli

from mixlaw.data import read_runs
from mixlaw.errors import DataError, DataWarning, InputError
from mixlaw.importers import parse_column_map, read_olmix_pair, read_runs_mapped, runs_from_tensorboard, runs_from_wandb
from mixlaw.tfevents import crc32c, masked_crc, read_scalars

MIX = {"r0": (0.7, 0.3), "r1": (0.2, 0.8), "r2": (0.5, 0.5)}


def _wandb_csv(tmp_path: Path) -> Path:
    # What W&B's "Export CSV" of a runs table looks like: display names, config and summary columns.
    rows = [{"Name": r, "State": "finished", "mixture/web": w, "mixture/code": c, "model/n_params": 1e6,
             "eval/pile/loss": 3.0 - w, "eval/code/loss": 2.0 + w, "_runtime": 12.5} for r, (w, c) in MIX.items()]
    p = tmp_path / "wandb_export.csv"
    pd.DataFrame(rows).to_csv(p, index=False)
    return p


def test_column_map_reads_a_wandb_csv_export(tmp_path):
    p = _wandb_csv(tmp_path)
    with pytest.raises(DataError, match="missing at least two 'w:<domain>'") as exc:
        read_runs(p)
    assert "DESIGN.md" not in str(exc.value) and "--columns" in str(exc.value)
    t = read_runs_mapped(p, "run=Name, params=model/n_params, w:*=mixture/*, loss:*=eval/*/loss")
    assert t.domains == ["web", "code"] and t.evals == ["pile", "code"]
    np.testing.assert_allclose(t.weights, [MIX[r] for r in t.runs])
    np.testing.assert_allclose(t.losses("pile"), [3.0 - MIX[r][0] for r in t.runs])
    assert np.all(t.model_params == 1e6)


def test_column_map_from_yaml_and_its_errors(tmp_path):
    p = _wandb_csv(tmp_path)
    y = tmp_path / "cols.yaml"
    y.write_text("run: Name\nweights: mixture/*\nevals:\n  pile: eval/pile/loss\n")
    t = read_runs_mapped(p, str(y))
    assert t.evals == ["pile"] and t.domains == ["web", "code"]
    with pytest.raises(DataError, match=r"no column 'Run' for 'run'; columns: Name, State"):
        read_runs_mapped(p, "run=Run, w:*=mixture/*, loss:*=eval/*/loss")
    with pytest.raises(DataError, match="no column matches 'mix/\\*'"):
        read_runs_mapped(p, "run=Name, w:*=mix/*")
    with pytest.raises(InputError, match="unknown target 'weight'"):
        parse_column_map("weight=mixture/web")
    with pytest.raises(InputError, match="one \\* on both sides"):
        parse_column_map("w:*=mixture/web")


def test_olmix_ratio_and_metric_pair(tmp_path):
    ratios = tmp_path / "ratios.csv"
    metrics = tmp_path / "metrics.csv"
    # Olmix's canonical layout: run, name, index, then one column per domain / metric.
    pd.DataFrame({"run": list(MIX), "name": [f"swarm-{r}" for r in MIX], "index": range(3),
                  "dclm": [w for w, _ in MIX.values()], "arxiv": [c for _, c in MIX.values()]}).to_csv(ratios)
    pd.DataFrame({"run_id": ["r2", "r0", "r1", "r9"], "name": ["a", "b", "c", "d"],
                  "arc_easy_bpb": [1.1, 1.2, 1.3, 9.0], "hellaswag_bpb": [0.9, 0.8, 0.7, 9.0]}).to_csv(metrics,
                                                                                                    index=False)
    with pytest.warns(DataWarning, match="1 run\\(s\\) in only one of the files"):
        t = read_olmix_pair(ratios, metrics)
    assert t.domains == ["dclm", "arxiv"] and t.evals == ["arc_easy_bpb", "hellaswag_bpb"]
    by = dict(zip(t.runs, t.losses("arc_easy_bpb"), strict=True))
    assert by == {"r0": 1.2, "r1": 1.3, "r2": 1.1}
    with pytest.raises(DataError, match="missing the run id column"):
        read_olmix_pair(metrics.with_name("x.csv") if False else _no_id(tmp_path), metrics)


def _no_id(tmp_path: Path) -> Path:
    p = tmp_path / "noid.csv"
    p.write_text("a,b\n0.5,0.5\n")
    return p


class _Run:
    def __init__(self, name, config, history, summary=None):
        self.name, self.id, self.config, self._history = name, name + "-id", config, history
        self.summary = summary or {}

    def scan_history(self):
        return iter(self._history)


class _Api:
    def __init__(self, runs):
        self._runs, self.asked = runs, []

    def runs(self, path):
        self.asked.append(path)
        return list(self._runs)


@contextlib.contextmanager
def _left_out(tmp=None):
    """The messages of the DataWarnings that say rows or runs were left out, without the folder ``tmp`` (others,
    e.g. float32 weights renormalised, pass as the test's marks say)."""
    said: list[str] = []
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        yield said
    for w in rec:
        if issubclass(w.category, DataWarning) and "left out" in str(w.message):
            said.append(str(w.message) if tmp is None else str(w.message).replace(f"{tmp}/", ""))
        elif not (issubclass(w.category, DataWarning) and "renormalised" in str(w.message)):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def _wandb_runs():
    runs = []
    for r, (w, c) in MIX.items():
        hist = []
        for step in (100, 200, 300):
            hist.append({"_step": step, "train/loss": 4.0 - step / 1000, "_runtime": 1.0})  # a train-only row
            hist.append({"_step": step, "eval/pile/loss": 3.0 - w - step / 1000})  # the eval of the same step
        hist.append({"_step": 310, "train/loss": 3.6})  # no eval at the last step
        runs.append(_Run(r, {"mixture": {"web": w, "code": c}, "model": {"n_params": {"value": 2e6, "desc": None}}},
                         hist, summary={"eval/pile/loss": 3.0 - w}))
    return runs


def test_wandb_importer_reads_history_per_run():
    api = _Api(_wandb_runs())
    with _left_out() as said:  # the step-310 rows log training loss only: left out without a word
        t = runs_from_wandb("ent/proj", api=api, columns="params=model/n_params, w:*=mixture/*, loss:*=eval/*/loss")
    assert said == []
    assert api.asked == ["ent/proj"] and len(t) == 9 and t.domains == ["web", "code"]
    assert sorted(set(t.steps)) == [100.0, 200.0, 300.0] and np.all(t.model_params == 2e6)
    got = {(r, s): y for r, s, y in zip(t.runs, t.steps, t.losses("pile"), strict=True)}
    assert got[("r1", 200.0)] == pytest.approx(3.0 - 0.2 - 0.2)
    summary = runs_from_wandb("ent/proj", api=_Api(_wandb_runs()), history=False,
                              columns="w:*=mixture/*, loss:*=eval/*/loss")
    assert len(summary) == 3 and summary.steps is None
    with pytest.raises(DataError, match="map them with --columns"):
        runs_from_wandb("ent/proj", api=_Api(_wandb_runs()))
    with pytest.raises(InputError, match="ENTITY/PROJECT"):
        runs_from_wandb("just-a-project", api=api)


# ---------------------------------------------------------------------- TensorBoard fixture writer
def _key(field, wire):
    return _varint(field << 3 | wire)


def _varint(n):
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _ld(field, payload):
    return _key(field, 2) + _varint(len(payload)) + payload


def _event(step, tag, value, tf2=False):
    if tf2:  # TensorProto{dtype: DT_FLOAT, float_val: [value]} as tf.summary.scalar writes it
        val = _ld(1, tag.encode()) + _ld(8, _key(1, 0) + _varint(1) + _ld(5, struct.pack("<f", value)))
    else:  # simple_value, as torch.utils.tensorboard writes it
        val = _ld(1, tag.encode()) + _key(2, 5) + struct.pack("<f", value)
    return _key(1, 1) + struct.pack("<d", 1.7e9) + _key(2, 0) + _varint(step) + _ld(5, _ld(1, val))


def _write_events(path: Path, events):
    with open(path, "wb") as f:
        for data in [_key(3, 2) + _varint(13) + b"brain.Event:2"] + events:  # file_version record first
            head = struct.pack("<Q", len(data))
            f.write(head + struct.pack("<I", masked_crc(head)) + data + struct.pack("<I", masked_crc(data)))


def test_crc32c_check_value():
    assert crc32c(b"123456789") == 0xE3069283  # the standard CRC-32C check value


@pytest.mark.filterwarnings("ignore:.*renormalised:mixlaw.errors.DataWarning")  # float32 scalars
def test_tensorboard_importer(tmp_path):
    for r, (w, c) in MIX.items():
        d = tmp_path / "logs" / r
        d.mkdir(parents=True)
        ev = [_event(0, "mixture/web", w), _event(0, "mixture/code", c)]
        ev += [_event(s, "eval/pile", 3.0 - w - s / 1000, tf2=(r == "r1")) for s in (100, 200)]
        _write_events(d / "events.out.tfevents.1700000000.host.1.0", ev)
    assert list(read_scalars(tmp_path / "logs" / "r1" / "events.out.tfevents.1700000000.host.1.0"))[:1] == [
        (0, "mixture/web", pytest.approx(0.2))]
    with _left_out() as said:  # step 0 holds the mixture, no loss: left out without a word
        t = runs_from_tensorboard(tmp_path / "logs", columns="w:*=mixture/*, loss:*=eval/*")
    assert said == []
    assert len(t) == 6 and t.domains == ["web", "code"] and sorted(set(t.steps)) == [100.0, 200.0]
    got = {(r, s): y for r, s, y in zip(t.runs, t.steps, t.losses("pile"), strict=True)}
    assert got[("r1", 200.0)] == pytest.approx(3.0 - 0.2 - 0.2, rel=1e-6)
    np.testing.assert_allclose(t.weights, [MIX[r] for r in t.runs], rtol=1e-6)
    # mixtures from a design table instead of scalar tags
    design = tmp_path / "design.csv"
    pd.DataFrame({"run": list(MIX), "w:a": [w for w, _ in MIX.values()], "w:b": [c for _, c in MIX.values()]}
                 ).to_csv(design, index=False)
    with _left_out() as said:
        t2 = runs_from_tensorboard(tmp_path / "logs", columns="loss:*=eval/*", mixtures=design)
    assert said == [] and t2.domains == ["a", "b"] and len(t2) == 6
    bad = tmp_path / "logs" / "r0" / "events.out.tfevents.1700000000.host.1.0"
    raw = bytearray(bad.read_bytes())
    raw[-6] ^= 0xFF
    bad.write_bytes(bytes(raw))
    with pytest.raises(DataError, match="bad data checksum"):
        runs_from_tensorboard(tmp_path / "logs", columns="w:*=mixture/*, loss:*=eval/*")


# ---------------------------------------------------------------------- CLI
def test_cli_runs_import_then_fit(capsys, tmp_path):
    src = _wandb_csv(tmp_path)
    out = tmp_path / "runs.csv"
    code, _, err = _cli(capsys, "runs", "import", str(src), "--columns",
                        "run=Name,w:*=mixture/*,loss:*=eval/*/loss", "--out", str(out))
    assert code == 0, err
    assert "wrote 3 rows (3 runs; domains web, code; evals pile, code)" in err
    assert read_runs(out).evals == ["pile", "code"]
    code, _, err = _cli(capsys, "runs", "import", str(src), "--columns", "run=Nom", "--out", str(out))
    assert code == 2 and err.startswith("error: ") and "no column 'Nom' for 'run'" in err


def test_cli_reads_olmix_pair_directly(capsys, tmp_path):
    ratios, metrics = tmp_path / "ratios.csv", tmp_path / "metrics.csv"
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), size=12)
    pd.DataFrame({"run": [f"r{i}" for i in range(12)], "name": "x", **{d: W[:, j] for j, d in enumerate("abc")}}
                 ).to_csv(ratios, index=False)
    pd.DataFrame({"run": [f"r{i}" for i in range(12)], "bpb": 1.0 + W @ [0.1, 0.3, 0.5]}).to_csv(metrics, index=False)
    code, out, err = _cli(capsys, "fit", "--runs", f"{ratios}+{metrics}", "--law", "linear", "--target", "bpb",
                          "--json")
    assert code == 0, err
    rep = json.loads(out)["report"]
    assert rep["n_domains"] == 3 and rep["n_runs"] == 12


def test_cli_import_tensorboard(capsys, tmp_path):
    for r, (w, _) in MIX.items():
        d = tmp_path / "tb" / r
        d.mkdir(parents=True)
        _write_events(d / "events.out.tfevents.1.h.1.0",
                      [_event(s, "val/loss", 3.0 - w - s / 1000) for s in (10, 20)])
    design = tmp_path / "design.csv"
    pd.DataFrame({"run": list(MIX), "w:a": [0.5, 0.25, 0.75], "w:b": [0.5, 0.75, 0.25]}).to_csv(design, index=False)
    out = tmp_path / "runs.parquet"
    code, _, err = _cli(capsys, "runs", "import-tensorboard", str(tmp_path / "tb"), "--columns", "loss:val=val/loss",
                        "--mixtures", str(design), "--out", str(out), "--json")
    assert code == 0, err
    t = read_runs(out)
    assert len(t) == 6 and t.evals == ["val"] and t.domains == ["a", "b"]


def test_help_text_keeps_brackets():
    from typer.testing import CliRunner

    from mixlaw.cli import app

    r = CliRunner().invoke(app, ["runs", "import-wandb", "--help"], terminal_width=200)
    assert "mixlaw[wandb]" in r.output
    r = CliRunner().invoke(app, ["demo", "--help"], terminal_width=200)
    assert "mixlaw[train,corpus]" in r.output and "<bool>" not in r.output


def test_import_summary_names_at_most_twenty_evals(tmp_path, capsys):
    """Olmix's DCLM swarm (110 evals): the import's one-line summary printed all of them."""
    from mixlaw.cli import main

    src = tmp_path / "wide.csv"
    cols = {"run": ["a", "b"], "w:web": [0.5, 1.0], "w:code": [0.5, 0.0],
            **{f"loss:task_{k}": [3.0, 3.1] for k in range(30)}}
    pd.DataFrame(cols).to_csv(src, index=False)
    with pytest.raises(SystemExit) as exc:
        main(["runs", "import", str(src), "--out", str(tmp_path / "out.parquet")])
    err = capsys.readouterr().err
    assert exc.value.code == 0, err
    assert "task_19, ... (30 in all)" in err and "task_20" not in err


def test_import_numbers_the_runs_of_a_table_without_run_ids(tmp_path, capsys):
    # Dai & Zheng's SlimPajama sweep has weight_*, model_size, n_tokens and *_loss columns and no run id.
    rows = []
    for a, b in [(0.2, 0.8), (0.6, 0.4)]:
        for n in (1e8, 3e8):
            for d in (1e9, 2e9, 4e9):
                rows.append({"weight_a": a, "weight_b": b, "model_size": n, "n_tokens": d,
                             "a_loss": 3.0 - a + 1e3 / n ** 0.3 + 30 / d ** 0.2})
    src = tmp_path / "sweep.csv"
    pd.DataFrame(rows).to_csv(src, index=False)
    cols = "params=model_size,tokens=n_tokens,w:*=weight_*,loss:*=*_loss"
    with pytest.warns(DataWarning, match=r"no run column; numbered the runs \(one run per mixture and model size, "
                                         r"its checkpoints the rows of different tokens: 4 runs in 12 rows\)"):
        table = read_runs_mapped(src, cols)
    f = table.frame
    assert f["run"].nunique() == 4 and (f.groupby("run")["tokens"].nunique() == 3).all()
    assert (f.groupby("run")[["w:a", "params"]].nunique() == 1).all().all()
    assert_cols = ["w:a", "params", "tokens", "loss:a"]
    assert np.allclose(f[assert_cols].to_numpy(), pd.DataFrame(rows)[["weight_a", "model_size", "n_tokens",
                                                                          "a_loss"]].to_numpy())
    # without step/tokens every row is a run
    one = tmp_path / "one.csv"
    pd.DataFrame(rows[:3]).drop(columns=["n_tokens"]).to_csv(one, index=False)
    with pytest.warns(DataWarning, match="one run per row"):
        assert read_runs_mapped(one, "w:*=weight_*,loss:*=*_loss").frame["run"].nunique() == 3
    # the CLI import writes it; a table read directly still needs a run column and says where to get one
    code, _, err = _cli(capsys, "runs", "import", str(src), "--columns", cols, "--out", str(tmp_path / "r.csv"))
    assert code == 0 and "4 runs" in err
    pd.read_csv(tmp_path / "r.csv").drop(columns="run").to_csv(tmp_path / "norun.csv", index=False)
    code, _, err = _cli(capsys, "fit", "--runs", str(tmp_path / "norun.csv"), "--law", "linear")
    assert code == 2 and "missing 'run'" in err and "'mixlaw runs import' numbers its runs" in err


def test_a_row_given_twice_in_a_table_without_run_ids_names_no_run_column(tmp_path, capsys):
    # Dai & Zheng's CSV with its first rows pasted again: "dz.csv:2454: column 'run': duplicate run 'mix0_N1.22e+08'
    # (same run, params, tokens as line 2; ...)" named a column and a run the file does not have.
    rows = [{"weight_a": a, "weight_b": 1 - a, "model_size": n, "n_tokens": d, "a_loss": 3.0 - a + 1e3 / n ** 0.3}
            for a in (0.2, 0.6) for n in (1e8, 3e8) for d in (1e9, 2e9, 4e9)]
    src = tmp_path / "sweep.csv"
    pd.DataFrame(rows + rows[:1]).to_csv(src, index=False)
    cols = "params=model_size,tokens=n_tokens,w:*=weight_*,loss:*=*_loss"
    code, _, err = _cli(capsys, "runs", "import", str(src), "--columns", cols, "--out", str(tmp_path / "r.csv"))
    assert code == 2 and len([x for x in err.splitlines() if x.startswith("error")]) == 1, err
    assert f"error: {src}:14: duplicate run 'mix0_N1e+08' (same run, params, tokens as line 2; the same row twice: " \
           "drop one); the file has no run column, so each mixture and model size was numbered as one run" in err, err
    assert "column 'run'" not in err and "--columns run=<column>" in err


def test_import_without_a_map_names_the_files_columns_and_a_map_that_fits(tmp_path, capsys):
    # mixlaw runs import dmsl_llm_slimpajama.csv --out dz.parquet (Dai & Zheng's CSV, no --columns) said
    # "missing 'run', ...; found columns []" for a file of 17 columns, and suggested a W&B map.
    src = tmp_path / "sweep.csv"
    pd.DataFrame({"weight_a": [0.2, 0.6], "weight_b": [0.8, 0.4], "model_size": 1e8, "n_tokens": 1e9,
                  "a_loss": [3.1, 3.0], "b_loss": [3.3, 3.4]}).to_csv(src, index=False)
    code, _, err = _cli(capsys, "runs", "import", str(src), "--out", str(tmp_path / "r.csv"))
    assert code == 2 and "found columns []" not in err
    assert "the file's columns: weight_a, weight_b, model_size, n_tokens, a_loss, b_loss" in err
    guess = "w:*=weight_*,loss:*=*_loss,params=model_size,tokens=n_tokens"
    assert f"--columns '{guess}'" in err
    code, _, err = _cli(capsys, "runs", "import", str(src), "--columns", "w:*=weight_*",
                        "--out", str(tmp_path / "r.csv"))
    assert code == 2 and "with this --columns map the table has no 'loss:<eval>' column" in err
    with pytest.warns(DataWarning, match="numbered the runs"):
        assert read_runs_mapped(src, guess).evals == ["a", "b"]  # the suggestion works as given


def test_missing_loss_hint_keeps_the_column_map(tmp_path, capsys):
    # runs import dmsl_llm_slimpajama.csv --columns '...' (6 rows without a loss) told the user to rerun
    # 'mixlaw runs import <file> --drop-incomplete --out runs.parquet': without the map, which stops at the columns.
    src = tmp_path / "sweep.csv"
    cols = "run=name,w:*=weight_*,loss:*=*_loss"
    pd.DataFrame({"name": ["x", "y", "z"], "weight_a": [0.2, 0.6, 0.5], "weight_b": [0.8, 0.4, 0.5],
                  "a_loss": [3.1, float("inf"), 3.0]}).to_csv(src, index=False)
    code, _, err = _cli(capsys, "runs", "import", str(src), "--columns", cols, "--out", str(tmp_path / "r.csv"))
    assert code == 2 and f'--columns "{cols}" --drop-incomplete' in err
    # A missing loss (not a diverged run's inf) is kept: the import says so, and how to leave those rows out.
    pd.DataFrame({"name": ["x", "y", "z"], "weight_a": [0.2, 0.6, 0.5], "weight_b": [0.8, 0.4, 0.5],
                  "a_loss": [3.1, None, 3.0]}).to_csv(src, index=False)
    code, _, err = _cli(capsys, "runs", "import", str(src), "--columns", cols, "--out", str(tmp_path / "r.csv"))
    assert code == 0 and "rows without a loss: loss:a 1 (a fit of an eval uses the rows that have it; " in err
    code, _, err = _cli(capsys, "runs", "import", str(src), "--columns", cols, "--drop-incomplete",
                        "--out", str(tmp_path / "r.csv"))
    assert code == 0 and "left out 1 of 3 rows" in err


#: Runs as nested records (Dai & Zheng's 122M runs are written so), for the JSON and JSONL readers.
NESTED_RECORDS = [{"name": n, "mixture": {"web": w, "code": 1 - w}, "eval": {"pile": {"loss": v}}}
                  for n, w, v in (("a", 0.2, 3.1), ("b", 0.7, 3.0))]


def import_nested_records(src, capsys) -> None:  # type: ignore[no-untyped-def]
    """``runs import SRC --columns ...`` of :data:`NESTED_RECORDS` writes their runs, shares and losses."""
    out_path = src.parent / "r.csv"
    code, _, err = _cli(capsys, "runs", "import", str(src), "--columns", "run=name,w:*=mixture/*,loss:*=eval/*/loss",
                        "--out", str(out_path))
    assert code == 0, err
    out = pd.read_csv(out_path)
    assert list(out["run"]) == ["a", "b"] and list(out["loss:pile"]) == [3.1, 3.0]
    np.testing.assert_allclose(out["w:web"], [0.2, 0.7])


def test_nested_jsonl_records_get_slash_joined_names(tmp_path, capsys):
    # runs import nested.jsonl --columns 'run=name,w:*=mixture/*,loss:*=eval/*/loss' (Dai & Zheng's 122M runs as
    # {"name", "mixture": {...}, "eval": {"arxiv": {"loss": ...}}}) said "no column matches 'mixture/*'; columns:
    # name, mixture, eval": the W&B importer joins nested keys with '/', a JSON file did not.
    import json

    src = tmp_path / "runs.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in NESTED_RECORDS))
    import_nested_records(src, capsys)
    code, _, err = _cli(capsys, "runs", "import", str(src), "--out", str(tmp_path / "r.csv"))
    assert code == 2 and "--columns 'w:*=mixture/*,loss:*=eval/*/loss,run=name'" in err


def _olmix_pair_with_index(tmp_path):
    """Olmix's files as its swarms write them (',run,name,index,<domains>'): 12 runs of 3 domains, one metric."""
    ratios, metrics = tmp_path / "ratios.csv", tmp_path / "metrics.csv"
    W = np.random.default_rng(0).dirichlet(np.ones(3), size=12)
    runs = [f"r{i}" for i in range(12)]
    pd.DataFrame({"run": runs, "name": "x", "index": range(12), **{d: W[:, j] for j, d in enumerate("abc")}}
                 ).to_csv(ratios)
    pd.DataFrame({"run": runs, "name": "x", "index": range(12), "bpb": 1.0 + W @ [0.1, 0.3, 0.5]}).to_csv(metrics)
    return ratios, metrics, W


def test_cli_reads_olmix_pair_with_its_index_column(capsys, tmp_path):
    # mixlaw fit --runs dclm_ratios.csv+dclm_metrics.csv (Olmix's files: ',run,name,index,<domains>') was read as
    # RegMix's pair, which joins on 'index': "no mixture columns (expected 'train_the_pile_<domain>' or ...)".
    ratios, metrics, W = _olmix_pair_with_index(tmp_path)
    code, out, err = _cli(capsys, "fit", "--runs", f"{ratios}+{metrics}", "--law", "linear", "--target", "bpb",
                          "--json")
    assert code == 0, err
    assert json.loads(out)["report"]["n_domains"] == 3


def test_python_reads_olmix_pair_as_runs_does(tmp_path):
    # mixlaw.read_runs("ratios.csv+metrics.csv") and api.fit_table of that path took every pair for RegMix's and
    # stopped at "columns 'run' and 'run' are one name, 'run' (they differ in case or spaces alone)", where
    # `--runs` read the pair.
    from mixlaw import api, read_runs
    from mixlaw.data import read_runs as read_one_table

    ratios, metrics, W = _olmix_pair_with_index(tmp_path)
    table = read_runs(f"{ratios}+{metrics}")
    assert table.domains == ["a", "b", "c"] and table.evals == ["bpb"] and len(table) == 12
    assert api.fit_table(f"{ratios}+{metrics}", law="linear").n_runs_ == 12
    with pytest.raises(InputError, match=r"Olmix's pair .* mixlaw\.read_runs"):
        read_one_table(f"{ratios}+{metrics}")
    # RegMix's pair as before, by path+path or losses=
    mix, loss = tmp_path / "mix.csv", tmp_path / "loss.csv"
    pd.DataFrame({"index": range(12), **{f"train_the_pile_{d}": W[:, j] for j, d in enumerate("abc")}}
                 ).to_csv(mix, index=False)
    pd.DataFrame({"index": range(12), "metric/the_pile_a_val_loss": 2 + W[:, 0]}).to_csv(loss, index=False)
    assert read_runs(f"{mix}+{loss}").evals == ["a"] == read_runs(mix, losses=loss).evals
    # Olmix's pair by losses= as by '+' (its docstring said RegMix's only; it stopped at "'run' and 'run' are one
    # name"), and a pair given both ways is one line, not "no such file".
    by_kw = read_runs(ratios, losses=metrics)
    np.testing.assert_array_equal(by_kw.weights, table.weights)
    np.testing.assert_array_equal(by_kw.losses("bpb"), table.losses("bpb"))
    with pytest.raises(InputError, match=r"names a pair of files and losses= a losses' file: give the pair as"):
        read_runs(f"{ratios}+{metrics}", losses=metrics)
    # mixlaw.read_regmix_pair (public) on Olmix's pair said "columns 'run' and 'run' are one name".
    from mixlaw import read_regmix_pair

    with pytest.raises(DataError, match=r"beside 'index': it is Olmix's pair .*: mixlaw\.read_runs\("):
        read_regmix_pair(ratios, metrics)


def test_runs_import_reads_regmix_s_pair_as_runs_does(capsys, tmp_path):
    # Dai & Zheng ship their 1B test runs as RegMix's pair (test_mixture_1B.csv: index, train_the_pile_<d>;
    # test_pile_loss_1B.csv: index, metric/the_pile_<e>_val_loss). `fit --runs mix+loss` read it; `runs import mix+loss`
    # took it for Olmix's pair: "missing the run id column ('run' or 'run_id')".
    mix, loss = tmp_path / "mix.csv", tmp_path / "loss.csv"
    W = np.random.default_rng(0).dirichlet(np.ones(3), size=6)
    pd.DataFrame({"index": range(6), **{f"train_the_pile_{d}": W[:, j] for j, d in enumerate("abc")}}
                 ).to_csv(mix, index=False)
    pd.DataFrame({"index": range(6), "metric/the_pile_a_val_loss": 2 + W[:, 0],
                  "metric/the_pile_b_val_loss": [2.5, None, 2.4, 2.3, 2.2, 2.1]}).to_csv(loss, index=False)
    out = tmp_path / "runs.csv"
    code, _, err = _cli(capsys, "runs", "import", f"{mix}+{loss}", "--out", str(out))
    assert code == 0, err
    got = pd.read_csv(out)
    assert len(got) == 6 and {"w:a", "w:b", "w:c", "loss:a", "loss:b"} <= set(got.columns)
    np.testing.assert_allclose(got["loss:a"], 2 + W[:, 0])
    code, _, err = _cli(capsys, "runs", "import", f"{mix}+{loss}", "--drop-incomplete", "--out", str(out))
    assert code == 0 and len(pd.read_csv(out)) == 5 and "left out 1 of 6 rows" in err, err
    code, _, err = _cli(capsys, "runs", "import", f"{mix}+{loss}", "--evals", "a", "--drop-incomplete",
                        "--out", str(out))
    assert code == 0 and len(pd.read_csv(out)) == 6 and "loss:b" not in pd.read_csv(out).columns, err


def test_an_error_in_a_mapped_column_names_the_files_column(tmp_path):
    # "column 'w:web'" named a column the W&B export does not have; the user looks for 'mixture/web'.
    src = _wandb_csv(tmp_path)
    df = pd.read_csv(src).astype({"mixture/web": object, "Name": object})
    df.loc[1, "mixture/web"] = "0.2x"
    df.loc[2, "Name"] = "007"
    df.to_csv(src, index=False)
    with pytest.raises(DataError, match=r"wandb_export\.csv:3: column 'mixture/web': value '0\.2x' is not a number "
                                        r"\(mapped to w:web\)"):
        read_runs_mapped(src, "run=Name, w:*=mixture/*, loss:*=eval/*/loss")
    df.loc[1, "mixture/web"] = 0.2
    df.to_csv(src, index=False)
    t = read_runs_mapped(src, "run=Name, w:*=mixture/*, loss:*=eval/*/loss")
    assert list(t.runs) == ["r0", "r1", "007"]  # the mapped run column is read as text too


def _tb_logs(root: Path, loss=lambda r, w, s: 3.0 - w - s / 1000, mix=MIX) -> Path:
    for r, (w, c) in mix.items():
        d = root / r
        d.mkdir(parents=True)
        ev = [_event(0, "mixture/web", w), _event(0, "mixture/code", c)]
        ev += [_event(s, "eval/pile", loss(r, w, s)) for s in (100, 200)]
        _write_events(d / "events.out.tfevents.1.h.1.0", ev)
    return root


@pytest.mark.filterwarnings("ignore:.*renormalised:mixlaw.errors.DataWarning")  # float32 scalars
def test_tensorboard_file_still_being_written_is_read_up_to_its_last_whole_record(tmp_path):
    # A run still training (or killed) leaves its last record half flushed: that stopped the whole import with
    # "truncated record at byte 225"; TensorBoard itself reads the records before it.
    root = _tb_logs(tmp_path / "logs")
    f = root / "r1" / "events.out.tfevents.1.h.1.0"
    f.write_bytes(f.read_bytes()[:-7])
    with pytest.warns(DataWarning, match=r"r1/events\.out\.tfevents\.1\.h\.1\.0: the last record \(byte \d+ of \d+\) "
                                         r"is cut short.*read the 4 records before it"):
        t = runs_from_tensorboard(root, columns="w:*=mixture/*, loss:*=eval/*")
    assert sorted(zip(t.runs, t.steps, strict=True)) == [("r0", 100), ("r0", 200), ("r1", 100), ("r2", 100),
                                                         ("r2", 200)]
    f.write_bytes(f.read_bytes()[:5])  # not even a whole length header
    with pytest.warns(DataWarning, match="read the 0 records before it"):
        assert "r1" not in set(runs_from_tensorboard(root, columns="w:*=mixture/*, loss:*=eval/*").runs)


@pytest.mark.filterwarnings("ignore:.*renormalised:mixlaw.errors.DataWarning")
def test_importer_errors_name_the_run_step_and_logged_name(tmp_path):
    # "logs:9: column 'loss:pile'" named line 9 of a table that only exists inside the importer.
    root = _tb_logs(tmp_path / "neg", loss=lambda r, w, s: -1.0 if (r, s) == ("r2", 200) else 3.0 - w)
    with pytest.raises(DataError, match=r"neg: column 'eval/pile': run 'r2', step 200: loss is -1, expected > 0 "
                                        r".*\(mapped to loss:pile\)"):
        runs_from_tensorboard(root, columns="w:*=mixture/*, loss:*=eval/*")
    root = _tb_logs(tmp_path / "sum", mix={**MIX, "r2": (0.5, 0.45)})
    with pytest.raises(DataError, match=r"sum: column 'mixture/web': run 'r2', step 100: weights sum to 0\.95"):
        runs_from_tensorboard(root, columns="w:*=mixture/*, loss:*=eval/*")
    runs = _wandb_runs()
    runs[1].config["mixture"]["web"] = 0.1  # sums to 0.9
    with pytest.raises(DataError, match=r"wandb:ent/proj: column 'mixture/web': run 'r1', params 2e\+06, step 100: "
                                        r"weights sum to 0\.9"):
        runs_from_wandb("ent/proj", api=_Api(runs), columns="params=model/n_params, w:*=mixture/*, loss:*=eval/*/loss")


@pytest.mark.filterwarnings("ignore:.*renormalised:mixlaw.errors.DataWarning")
def test_losses_logged_as_nan_are_named_by_run_and_step(tmp_path):
    # A diverged run's NaN losses were left out with the count of rows "without every eval loss", as the steps
    # that log no eval are: nothing said which run had diverged.
    root = _tb_logs(tmp_path / "logs", loss=lambda r, w, s: float("nan") if r == "r1" else 3.0 - w - s / 1000)
    with _left_out(tmp_path) as said:
        t = runs_from_tensorboard(root, columns="w:*=mixture/*, loss:*=eval/*")
    assert set(t.runs) == {"r0", "r2"}
    # Said once, with the reason: not again as rows left out.
    assert said == ["logs: eval losses logged as NaN (a diverged run?): 'r1' eval/pile at step(s) 100, 200; those "
                    "rows are left out"]
    runs = _wandb_runs()
    runs[2]._history[1]["eval/pile/loss"] = float("nan")
    with _left_out() as said:
        runs_from_wandb("ent/proj", api=_Api(runs), columns="w:*=mixture/*, loss:*=eval/*/loss")
    assert len(said) == 1 and "'r2' eval/pile/loss at step(s) 100;" in said[0]


@pytest.mark.filterwarnings("ignore:.*renormalised:mixlaw.errors.DataWarning")
def test_losses_logged_as_inf_are_left_out_as_nan_ones_are(tmp_path):
    # A framework that logs a diverged loss as inf stopped the whole import at "loss is inf" (issue 9), where the
    # same run logging NaN was left out with a warning; these importers have no --drop-incomplete to get past it.
    root = _tb_logs(tmp_path / "logs", loss=lambda r, w, s: float("inf") if (r, s) == ("r1", 200) else 3.0 - w)
    with _left_out(tmp_path) as said:
        t = runs_from_tensorboard(root, columns="w:*=mixture/*, loss:*=eval/*")
    assert sorted(zip(t.runs, t.steps, strict=True)) == [("r0", 100), ("r0", 200), ("r1", 100), ("r2", 100),
                                                         ("r2", 200)]
    assert said == ["logs: eval losses logged as inf (a diverged run?): 'r1' eval/pile at step(s) 200; those rows "
                    "are left out"]
    runs = _wandb_runs()
    runs[2]._history[1]["eval/pile/loss"] = float("-inf")
    runs[1]._history[0]["eval/pile/loss"] = float("nan")
    with _left_out() as said:
        runs_from_wandb("ent/proj", api=_Api(runs), columns="w:*=mixture/*, loss:*=eval/*/loss")
    assert len(said) == 1 and said[0].startswith("wandb:ent/proj: eval losses logged as NaN or inf (a diverged run?)")


@pytest.mark.filterwarnings("ignore:.*renormalised:mixlaw.errors.DataWarning")
def test_rows_left_out_are_said_when_they_held_losses(tmp_path):
    # Evals logged at different steps (pile every 100 steps, code at 150 and 250): each row has one of the two, so
    # no row has both, and a run whose evals never meet loses every row. The import warned "left out N rows
    # without every eval loss" for these and for the training-loss steps alike; now it says what was lost, why.
    for r, (w, c) in MIX.items():
        d = tmp_path / "logs" / r
        d.mkdir(parents=True)
        ev = [_event(0, "mixture/web", w), _event(0, "mixture/code", c)]
        ev += [_event(s, "train/loss", 4.0 - s / 1000) for s in range(10, 300, 10)]  # training loss, every 10 steps
        ev += [_event(s, "eval/pile", 3.0 - w - s / 1000) for s in (100, 200)]
        code = (100, 200) if r == "r0" else (150, 250) if r == "r1" else (100, 250)
        ev += [_event(s, "eval/code", 2.0 + w) for s in code]
        _write_events(d / "events.out.tfevents.1.h.1.0", ev)
    (tmp_path / "logs" / "r3").mkdir()  # a run whose tags the map does not match: it logs no eval loss
    _write_events(tmp_path / "logs" / "r3" / "events.out.tfevents.1.h.1.0",
                  [_event(0, "mixture/web", 0.5), _event(0, "mixture/code", 0.5), _event(100, "val/pile", 2.5)])
    with _left_out(tmp_path) as said:
        t = runs_from_tensorboard(tmp_path / "logs", columns="w:*=mixture/*, loss:*=eval/*")
    assert sorted(zip(t.runs, t.steps, strict=True)) == [("r0", 100), ("r0", 200), ("r2", 100)]
    assert said == ["logs: left out 6 (run, step) rows that log some eval losses but not all (run 'r1' step 100 "
                    "logs eval/pile, not eval/code; run 'r1' step 150 logs eval/code, not eval/pile; run 'r1' step "
                    "200 logs eval/pile, not eval/code ...): a row of a run table needs every eval's loss at one step, "
                    "and these evals were logged at different steps; log them at the same steps, or import the evals "
                    "logged together (--columns); run 'r1' loses every row; run 'r3' logs none of the eval losses "
                    "(eval/pile, eval/code) and is left out: does the --columns map match their tags?"]
    # One row per run (a W&B summary): a run that misses an eval is said as a run, not a (run, step) row.
    runs = _wandb_runs()
    for r in runs:
        r.summary = {"eval/pile/loss": 2.5, "eval/code/loss": 2.0}
    del runs[1].summary["eval/code/loss"]
    with _left_out() as said:
        t = runs_from_wandb("ent/proj", api=_Api(runs), history=False, columns="w:*=mixture/*, loss:*=eval/*/loss")
    assert sorted(t.runs) == ["r0", "r2"]
    assert said == ["wandb:ent/proj: left out 1 run that logs some eval losses but not all (run 'r1' logs "
                    "eval/pile/loss, not eval/code/loss): a run table needs every eval's loss; import the evals every "
                    "run logged (--columns)"]
    # When no row has them all, the error says why.
    with pytest.raises(DataError, match=r"no row has every eval loss \(eval/pile, eval/code\); rows log some of "
                                        r"them, never all at one step: log the evals at the same steps"):
        runs_from_tensorboard(tmp_path / "logs" / "r1", columns="w:*=mixture/*, loss:*=eval/*")


def test_olmix_pair_errors_name_the_file_line_and_column_of_the_cell(tmp_path):
    # The metrics file lists the runs in another order: an inf metric on its line 3 was reported as
    # 'ratios.csv+metrics.csv:4: column loss:arc_easy_bpb', the line of its run in ratios.csv.
    ratios, metrics = tmp_path / "ratios.csv", tmp_path / "metrics.csv"
    pd.DataFrame({"run": list(MIX), "dclm": [w for w, _ in MIX.values()], "arxiv": [c for _, c in MIX.values()]}
                 ).to_csv(ratios, index=False)
    pd.DataFrame({"run": ["r1", "r2", "r0"], "arc_easy_bpb": [1.3, float("inf"), 1.2]}).to_csv(metrics, index=False)
    with pytest.raises(DataError, match=r"metrics\.csv:3: column 'arc_easy_bpb': run 'r2': loss is inf"):
        read_olmix_pair(ratios, metrics)
    pd.DataFrame({"run": ["r1", "r2", "r0"], "arc_easy_bpb": [1.3, 1.1, 1.2]}).to_csv(metrics, index=False)
    pd.DataFrame({"run": list(MIX), "dclm": [0.7, 0.2, 0.5], "arxiv": [0.3, 0.8, 0.4]}).to_csv(ratios, index=False)
    with pytest.raises(DataError, match=r"ratios\.csv:4: column 'dclm': run 'r2': weights sum to 0\.9"):
        read_olmix_pair(ratios, metrics)


def test_a_jsonl_training_log_is_read_as_the_wandb_and_tensorboard_importers_read_theirs(tmp_path):
    # One record per logging call: the mixture once in a config record at step 0, training loss and each eval on
    # records of their own. The import stopped at "log.jsonl:2: column 'config/mixture/web': weight is nan".
    p = tmp_path / "log.jsonl"
    recs = []
    for r, (w, c) in MIX.items():
        recs.append({"run": r, "step": 0, "config": {"mixture": {"web": w, "code": c}}})
        for s in (100, 200):
            recs += [{"run": r, "step": s, "train/loss": 4 - s / 1000}, {"run": r, "step": s, "eval/pile/loss": 3 - w}]
            recs.append({"run": r, "step": s, "eval/code/loss": 2 + w})
    p.write_text("".join(json.dumps(x) + "\n" for x in recs))
    cols = "w:*=config/mixture/*, loss:*=eval/*/loss"
    with _left_out() as said:  # the config and training-loss records log no eval: left out without a word
        t = read_runs_mapped(p, cols)
    assert said == []
    assert len(t) == 6 and sorted(set(t.steps)) == [100.0, 200.0] and t.evals == ["pile", "code"]
    np.testing.assert_allclose(t.weights, [MIX[r] for r in t.runs])
    np.testing.assert_allclose(t.losses("code"), [2 + MIX[r][0] for r in t.runs])
    # Two values for one run and step are not merged: both records are named.
    recs.append({"run": "r1", "step": 100, "eval/pile/loss": 9.0})
    p.write_text("".join(json.dumps(x) + "\n" for x in recs))
    with pytest.raises(DataError, match=r"log\.jsonl:22: column 'eval/pile/loss': two values for one run and step "
                                        r"\(run r1, step 100\): 2\.8 on line 10, 9\.0 on line 22"):
        read_runs_mapped(p, cols)


def test_a_model_size_in_the_config_record_is_the_runs_on_every_record(tmp_path):
    # {"config": {"mixture": {...}, "n_params": 56640}} once per run, mapped params=config/n_params: the mixture was
    # spread over the run's records, the size not, and the import stopped at "log.jsonl:2: column 'config/n_params':
    # params is nan" (the training-loss record), hunt34 on the v4 trainer runs written as such a log.
    p = tmp_path / "log.jsonl"
    recs = []
    for r, (w, c) in MIX.items():
        recs.append({"run": r, "config": {"mixture": {"web": w, "code": c}, "n_params": "70M"}})
        for s in (100, 200):
            recs += [{"run": r, "step": s, "train/loss": 4 - s / 1000},
                     {"run": r, "step": s, "eval": {"pile": {"loss": 3 - w}, "code": {"loss": 2 + w}}}]
    p.write_text("".join(json.dumps(x) + "\n" for x in recs))
    t = read_runs_mapped(p, "params=config/n_params, w:*=config/mixture/*, loss:*=eval/*/loss")
    assert len(t) == 6 and sorted(set(t.steps)) == [100.0, 200.0]
    np.testing.assert_array_equal(t.model_params, 7e7)
    np.testing.assert_allclose(t.weights, [MIX[r] for r in t.runs])


def test_a_run_logged_at_two_sizes_takes_each_config_records_size_on_the_records_after_it(tmp_path):
    # review34c of 3a65436: one run name trained at two sizes in one log (a config record opening each part, as
    # Ye's mixtures are trained at several sizes) stopped at "params is nan" on the first training-loss line; and a
    # size written twice in two spellings ('70M', then 7e7 when the run resumed) counted as two sizes.
    p = tmp_path / "log.jsonl"
    recs = []
    for r, (w, c) in MIX.items():
        for n, shift in (("70M", 0.0), (1.6e8, 0.2)):
            recs.append({"run": r, "config": {"mixture": {"web": w, "code": c}, "n_params": n}})
            for s in (100, 200):
                recs += [{"run": r, "step": s, "train/loss": 4 - s / 1000},
                         {"run": r, "step": s, "eval": {"pile": {"loss": 3 - w - shift}, "code": {"loss": 2 + w}}}]
    p.write_text("".join(json.dumps(x) + "\n" for x in recs))
    t = read_runs_mapped(p, "params=config/n_params, w:*=config/mixture/*, loss:*=eval/*/loss")
    assert len(t) == 12 and sorted(set(t.model_params)) == [7e7, 1.6e8]
    big = t.model_params == 1.6e8
    pile = t.losses(["pile"])[:, 0]
    np.testing.assert_allclose(pile[big] + 0.2, pile[~big])
    recs[0]["config"]["n_params"] = 7e7  # the first run resumed: its config written again, the size as a number
    recs.insert(3, {"run": "r0", "config": {"n_params": "70M"}})
    p.write_text("".join(json.dumps(x) + "\n" for x in recs))
    assert len(read_runs_mapped(p, "params=config/n_params, w:*=config/mixture/*, loss:*=eval/*/loss")) == 12


def test_two_values_at_a_missing_step_are_named_not_a_crash(tmp_path):
    # review34c: two eval records of one run without a step (NaN in the merge's key) matched no row when the error
    # looked for them (NaN == NaN is False): "ValueError: not enough values to unpack".
    p = tmp_path / "log.jsonl"
    recs = []
    for r, (w, c) in MIX.items():
        recs.append({"run": r, "config": {"mixture": {"web": w, "code": c}}})
        recs += [{"run": r, "step": 100, "eval": {"pile": {"loss": 3 - w}}},
                 {"run": r, "eval": {"pile": {"loss": 2.5}}}, {"run": r, "eval": {"pile": {"loss": 2.6}}}]
    p.write_text("".join(json.dumps(x) + "\n" for x in recs))
    with pytest.raises(DataError, match=r"two values for one run and step \(run r0, step nan\): 2.5 on line 3, 2.6 on "
                                        r"line 4"):
        read_runs_mapped(p, "w:*=config/mixture/*, loss:*=eval/*/loss")


def test_a_table_that_is_not_a_run_table_gets_a_hint_that_fits_it(tmp_path):
    # `fit --runs` on a table with other column names suggested a W&B map ('run=Name,w:*=mixture/*,...') whatever
    # the table: on Olmix's ratios.csv alone (its losses are in metrics.csv) it named none of the file's columns.
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), 6)
    ratios = pd.DataFrame({"run": [f"r{i}" for i in range(6)], "name": "swarm", "s2:a": W[:, 0], "s2:b": W[:, 1],
                           "existing": W[:, 2]})
    ratios.to_csv(p := tmp_path / "ratios.csv")  # with pandas' unnamed index column, as Olmix's file has
    with pytest.raises(DataError) as e:
        read_runs(p)
    assert f"--runs {p}+LOSSES.csv" in str(e.value) and "mixture/*" not in str(e.value)
    # ... and the Python spelling: mixlaw.read_runs(path) stops here too.
    assert f"(mixlaw.read_runs('{p}+LOSSES.csv') in Python)" in str(e.value)
    import mixlaw

    for half in (f"{p}+", f"+{p}"):  # said ".: unknown table format ''"
        with pytest.raises(InputError, match=r"a pair of files is 'mixtures\+losses', both named"):
            mixlaw.read_runs(half)
    # Dai & Zheng's names: the map that fits them
    dz = pd.DataFrame({"weight_a": W[:, 0], "weight_b": 1 - W[:, 0], "model_size": 1e8, "a_loss": 3.0, "b_loss": 3.1})
    dz.to_csv(p := tmp_path / "dz.csv", index=False)
    with pytest.raises(DataError, match=r"--columns 'w:\*=weight_\*,loss:\*=\*_loss,params=model_size'"):
        read_runs(p)
    # a W&B export: read_runs takes 'Name' as the run, the importer only when mapped, so the map says so
    wb = pd.DataFrame({"Name": ["x", "y"], "mixture/a": [0.5, 0.2], "mixture/b": [0.5, 0.8], "eval/pile/loss": 3.0,
                       "eval/c4/loss": 3.2})
    wb.to_csv(p := tmp_path / "wb.csv", index=False)
    with pytest.raises(DataError, match=r"--columns 'w:\*=mixture/\*,loss:\*=eval/\*/loss,run=Name'") as e:
        read_runs(p)
    cmd = str(e.value).split("map them with mixlaw runs import ", 1)[1].split(" --out")[0]
    t = read_runs_mapped(p, cmd.split("--columns ")[1].strip("'"))
    assert list(t.runs) == ["x", "y"]


def test_a_table_of_losses_alone_is_told_to_come_after_its_mixtures(tmp_path):
    # RegMix's loss.csv alone (its columns read as loss:<eval>) got the W&B map; the mixtures' file alone was
    # already told of the pair form.
    loss = pd.DataFrame({"index": [1, 2], "metric/the_pile_arxiv_val_loss": [4.1, 4.2],
                         "metric/the_pile_github_val_loss": [3.1, 3.0]})
    loss.to_csv(p := tmp_path / "loss.csv", index=False)
    with pytest.raises(DataError) as e:
        read_runs(p)
    assert f"--runs MIXTURES.csv+{p}" in str(e.value) and "mixture/*" not in str(e.value)


def test_drop_incomplete_help_says_what_happens_without_it(tmp_path, capsys):
    # Since missing losses became NaN cells of the table (4010d2c), an import without --drop-incomplete keeps a row
    # that misses a loss; only an infinite one stops it. The help still said every such row stopped the import.
    from mixlaw.cli.runs import DropOpt

    rows = pd.DataFrame({"run": ["a", "b", "c"], "w:x": [0.2, 0.5, 0.8], "w:y": [0.8, 0.5, 0.2],
                         "loss:p": [3.0, 2.9, 2.8], "loss:q": [2.5, np.nan, 2.4]})
    rows.to_csv(gap := tmp_path / "gap.csv", index=False)
    code, _, err = _cli(capsys, "runs", "import", str(gap), "--out", str(tmp_path / "o.csv"))
    assert code == 0 and "rows without a loss: loss:q 1" in err
    assert len(read_runs(tmp_path / "o.csv")) == 3
    rows.assign(**{"loss:q": [2.5, np.inf, 2.4]}).to_csv(inf := tmp_path / "inf.csv", index=False)
    code, _, err = _cli(capsys, "runs", "import", str(inf), "--out", str(tmp_path / "o2.csv"))
    assert code == 2 and "infinite loss" in err
    help_ = " ".join(DropOpt.help.split())
    assert "kept without it" in help_ and "diverged run: without it, an error" in help_
    assert "instead of stopping with an error" not in help_


def test_a_dataframe_in_its_own_column_names_is_mapped_as_a_file_is() -> None:
    # A notebook's frame had no way in but renaming every column by hand: the column map read files only.
    df = pd.DataFrame({"name": list("abcd"), "n_params": 1e8, "mix_web": [0.3, 0.8, 0.5, 0.1],
                       "mix_code": [0.7, 0.2, 0.5, 0.9], "val_web": [3.1, 2.9, 3.0, 3.05], "notes": "x"})
    t = read_runs_mapped(df, "run=name, params=n_params, w:*=mix_*, loss:*=val_*")
    assert t.domains == ["web", "code"] and t.evals == ["web"] and list(t.runs) == list("abcd")
    np.testing.assert_array_equal(t.model_params, 1e8)
    grouped = read_runs_mapped(df, {"run": "name", "weights": "mix_*", "evals": {"web": "val_web"}})
    np.testing.assert_array_equal(grouped.weights, t.weights)
    bad = df.assign(val_web=[3.1, 2.9, np.inf, 3.0])
    # The hint is the same call with drop_incomplete, not a 'mixlaw runs import DataFrame' command.
    with pytest.raises(DataError, match=r"DataFrame: row 2 \(0-based\): column 'val_web': loss is inf") as err:
        read_runs_mapped(bad, "run=name, w:*=mix_*, loss:*=val_*")
    assert "mixlaw runs import" not in str(err.value)
    with pytest.warns(DataWarning, match="left out 1 of 4 rows"):
        assert len(read_runs_mapped(bad, "run=name, w:*=mix_*, loss:*=val_*", drop_incomplete=True)) == 3
    with pytest.raises(InputError, match="merge the mixtures into it first"):
        read_runs_mapped(df, "run=name", mixtures="m.csv")


@pytest.mark.filterwarnings("ignore:.*renormalised:mixlaw.errors.DataWarning")  # float32 scalars
def test_a_tensorboard_run_that_ends_before_the_others_of_its_size_is_warned_of(tmp_path):
    # Event files hold no run state: a run killed at step 100 of 200 had its step-100 losses imported as its final
    # ones without a word, where a W&B export's 'State: crashed' is warned of. Runs of another size that are
    # shorter (as a sweep trains them) are compared among themselves only.
    ends = {"r0": (1e6, 200), "r1": (1e6, 100), "r2": (2e6, 100), "r3": (2e6, 100), "r4": (1e6, 200)}
    for r, (n, end) in ends.items():
        d = tmp_path / "logs" / r
        d.mkdir(parents=True)
        ev = [_event(0, "mixture/web", 0.5), _event(0, "mixture/code", 0.5)]
        for s in range(100, end + 1, 100):  # the size beside each loss: the importer carries mixtures alone forward
            ev += [_event(s, "eval/pile", 3.0 - s / 1000), _event(s, "model/n_params", n)]
        _write_events(d / "events.out.tfevents.1.h.1.0", ev)
    with pytest.warns(DataWarning) as rec:
        t = runs_from_tensorboard(tmp_path / "logs", columns="params=model/n_params, w:*=mixture/*, loss:*=eval/*")
    assert len(t) == 7  # warned of, not left out
    said = [str(w.message).replace(f"{tmp_path}/", "") for w in rec if "before" in str(w.message)]
    assert said == ["logs: run 'r1' (last step 100) ends before the other runs of their model size (last step 200): "
                    "if it stopped early (killed, crashed, still training), a run that did not finish logged the "
                    "losses of an earlier checkpoint, not its final ones; leave those runs out, or check that their "
                    "losses are final (runs trained shorter on purpose need no change)"]
    # without the size, every run is compared with every other
    with pytest.warns(DataWarning) as rec:
        runs_from_tensorboard(tmp_path / "logs", columns="w:*=mixture/*, loss:*=eval/*")
    said = [str(w.message) for w in rec if "before" in str(w.message)]
    assert len(said) == 1 and "runs 'r1' (last step 100), 'r2' (last step 100), 'r3' (last step 100) end before " \
        "the other runs (last step 200): if they stopped early" in said[0]
    # all runs of equal length: no word
    for r in ("r1", "r2", "r3"):
        (tmp_path / "logs" / r / "events.out.tfevents.1.h.1.0").unlink()
        (tmp_path / "logs" / r).rmdir()
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        runs_from_tensorboard(tmp_path / "logs", columns="w:*=mixture/*, loss:*=eval/*")
    assert not [w for w in rec if "before" in str(w.message)]


def test_a_wandb_run_whose_state_says_it_did_not_finish_is_warned_of():
    # The W&B API's run.state was not read: a crashed run's last losses were imported as final ones without a
    # word, where the same project's CSV export warns of its 'State' column.
    runs = _wandb_runs()
    runs[0].state, runs[1].state, runs[2].state = "finished", "crashed", "running"
    with pytest.warns(DataWarning) as rec:
        t = runs_from_wandb("ent/proj", api=_Api(runs), columns="w:*=mixture/*, loss:*=eval/*/loss")
    assert sorted(set(t.runs)) == ["r0", "r1", "r2"]  # warned of, not left out
    said = [str(w.message) for w in rec if "did not finish" in str(w.message)]
    assert said == ["wandb:ent/proj: W&B says 1 'crashed', 1 'running' (runs 'r1', 'r2'): a run that did not finish "
                    "logged the losses of an earlier checkpoint, not its final ones; leave those runs out, or check "
                    "that their losses are final"]
    for r in runs:
        r.state = "finished"
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        runs_from_wandb("ent/proj", api=_Api(runs), history=False, columns="w:*=mixture/*, loss:*=eval/*/loss")
    assert not [w for w in rec if "did not finish" in str(w.message)]


def test_mixlaw_read_runs_keeps_its_path_keyword(tmp_path):
    # mixlaw.read_runs was data.read_runs(path, *, losses, weight_tol); cbe5e1f made it importers.read_any_runs,
    # whose first argument was named spec: read_runs(path="runs.csv") raised TypeError.
    import inspect

    from mixlaw import read_runs
    from mixlaw.data import read_runs as read_one_table

    p = tmp_path / "runs.csv"
    W = np.random.default_rng(0).dirichlet(np.ones(3), size=6)
    pd.DataFrame({"run": [f"r{i}" for i in range(6)], **{f"w:{d}": W[:, j] for j, d in enumerate("abc")},
                  "loss:x": 2 + W[:, 0]}).to_csv(p, index=False)
    assert len(read_runs(path=p)) == 6
    assert list(inspect.signature(read_runs).parameters) == list(inspect.signature(read_one_table).parameters)


def test_an_olmix_pair_given_metrics_first_is_said_to_be_swapped(tmp_path):
    # read_runs('metrics.csv+ratios.csv') said "weights sum to 253.629" on the first metric's column.
    from mixlaw import read_runs

    ratios, metrics, _ = _olmix_pair_with_index(tmp_path)
    with pytest.raises(DataError, match=r"the files look swapped; give the mixtures first: ratios\.csv\+metrics\.csv"):
        read_runs(f"{metrics}+{ratios}")
    assert len(read_runs(f"{ratios}+{metrics}")) == 12


def test_a_pair_names_the_losses_file_lines_of_the_rows_missing_a_loss(tmp_path):
    # The rows left out for want of a loss were named by their runs' lines in ratios.csv ('lines 3, 4' on a DCLM
    # subset whose metrics.csv holds the empty cells on lines 2 and 3): the cells are in the losses' file.
    from mixlaw.data import read_regmix_pair

    ratios, metrics = tmp_path / "ratios.csv", tmp_path / "metrics.csv"
    pd.DataFrame({"run": list(MIX), "dclm": [w for w, _ in MIX.values()], "arxiv": [c for _, c in MIX.values()]}
                 ).to_csv(ratios, index=False)
    pd.DataFrame({"run": ["r2", "r0", "r1"], "a": [1.3, 1.2, 1.1], "b": [float("nan"), 1.0, 1.4]}
                 ).to_csv(metrics, index=False)
    t = read_olmix_pair(ratios, metrics)
    _, line = t.complete_line(["a", "b"])
    assert line is not None and line.endswith("left out 1 row with no value (loss:b 1; line 2); fit an eval alone "
                                              "(--target EVAL) to use every row it has")
    mix, loss = tmp_path / "mixture.csv", tmp_path / "loss.csv"
    pd.DataFrame({"index": [0, 1, 2], "train_web": [0.5, 0.2, 0.9], "train_code": [0.5, 0.8, 0.1]}
                 ).to_csv(mix, index=False)
    pd.DataFrame({"index": [2, 0, 1], "metric/web_val_loss": [float("nan"), 3.1, 3.0]}).to_csv(loss, index=False)
    _, line = read_regmix_pair(mix, loss).complete_line("web")
    assert line is not None and "(loss:web 1; line 2)" in line
