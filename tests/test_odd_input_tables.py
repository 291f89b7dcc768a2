"""A new user's own run table, in the shapes other tools export it: each case was a silent wrong answer, a traceback
or an error that did not say what to do (found by building the variants of a RegMix-style table and of the bundled
multi-scale table and running the CLI on each)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from cli_runner import run_cli


def _table(n: int = 24, sizes: tuple[float, ...] = (), seed: int = 0) -> pd.DataFrame:
    """Runs over three domains, one row per run; with ``sizes``, each mixture at each size (loss falling with N)."""
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.ones(3), size=n)
    rows = []
    for N in sizes or (None,):
        y = 2.5 + np.exp(W @ [0.0, -0.8, 0.4]) * (1.0 if N is None else (1e8 / N) ** 0.2)
        for i in range(n):
            rows.append({"run": f"m{i}" + ("" if N is None else f"-{N:g}"), "w:web": W[i, 0], "w:code": W[i, 1],
                         "w:books": W[i, 2], "loss:val": y[i] * np.exp(0.003 * rng.standard_normal()),
                         **({} if N is None else {"params": N})})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ scale columns under other names
@pytest.mark.parametrize("name", ["model_size", "n_params", "embedding_free_params", "N"])
def test_several_model_sizes_under_another_name_stop_the_fit(tmp_path, capsys, name) -> None:  # type: ignore[no-untyped-def]
    # Ignored, the rows of 3 sizes were fitted as one loss surface without a word (exit 0), where the same table
    # with 'params' warns that it spans 3 model sizes.
    path = tmp_path / "runs.csv"
    _table(sizes=(2e7, 6e7, 1.5e8)).rename(columns={"params": name}).to_csv(path, index=False)
    code, _, err = run_cli(capsys, "fit", "--runs", str(path), "--law", "linear")
    assert code == 2
    assert err.strip().splitlines() == [
        f"error: {path}: column '{name}': values 2e+07, 6e+07, 1.5e+08 in a column named like the model size, which is "
        "read from a column named 'params' alone: rename it 'params' (or drop it if it is not the model size); left "
        "as it is, the rows of every model size would be fitted as one"]
    _table(sizes=(2e7, 6e7, 1.5e8)).to_csv(path, index=False)
    code, _, err = run_cli(capsys, "fit", "--runs", str(path), "--law", "linear")
    assert code == 0 and "the fitting runs span 3 model sizes" in err


def test_a_look_alike_of_one_value_or_beside_its_column_is_let_be(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    one = _table().assign(model_size="60M", global_step=5000)  # one size, one step: nothing is pooled
    both = _table(sizes=(2e7, 6e7)).assign(model_size=lambda d: d["params"].map(lambda n: f"{n / 1e6:g}M"))
    for name, frame in (("one.csv", one), ("both.csv", both)):
        frame.to_csv(tmp_path / name, index=False)
        code, out, err = run_cli(capsys, "fit", "--runs", str(tmp_path / name), "--law", "linear")
        assert code == 0, err
        assert f"({len(frame)} runs, 3 domains)" in out


# ------------------------------------------------------------------ headers as spreadsheets write them
def test_headers_in_other_case_or_padded_with_spaces_read_as_the_run_table_s(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # ' Run ', 'W:web' and 'Loss:val' stopped at "missing 'run', at least two 'w:<domain>' weight columns" with a W&B
    # map for a hint; 'loss:val ' (a trailing space) made the eval 'val ', which --target val did not find.
    frame = _table().assign(run=[f"{i:03d}" for i in range(24)])
    plain, odd = tmp_path / "plain.csv", tmp_path / "odd.csv"
    frame.to_csv(plain, index=False)
    frame.set_axis([" Run ", "W:web", "w: code", "w:books ", "Loss:val "], axis=1).to_csv(odd, index=False)
    outs = []
    for path in (plain, odd):
        code, out, err = run_cli(capsys, "fit", "--runs", str(path), "--law", "linear", "--target", "val", "--json")
        assert code == 0, err
        report = json.loads(out)["report"]
        outs.append((report["n_runs"], report["params"]))
    assert outs[0] == outs[1] and outs[0][0] == 24
    from mixlaw.data import read_runs
    table = read_runs(odd)
    assert (table.domains, table.evals, list(table.runs[:2])) == (["web", "code", "books"], ["val"], ["000", "001"])


def test_two_headers_that_differ_in_case_or_spaces_alone_are_an_error(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "runs.csv"
    _table().assign(**{"w:code ": lambda d: d["w:code"]}).to_csv(path, index=False)
    code, _, err = run_cli(capsys, "fit", "--runs", str(path), "--law", "linear")
    assert code == 2
    assert err.strip() == (f"error: {path}: column 'w:code ': columns 'w:code' and 'w:code ' are one name, 'w:code' "
                           "(they differ in case or spaces alone): drop or rename one")


# ------------------------------------------------------------------ file formats and cells as spreadsheets save them

def _fit_linear(tmp_path, capsys, frame: pd.DataFrame, name: str) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """``frame`` written to ``tmp_path / name`` and fitted there by ``mixlaw fit --law linear``: (exit code, stderr)."""
    frame.to_csv(tmp_path / name, index=False)
    code, _, err = run_cli(capsys, "fit", "--runs", str(tmp_path / name), "--law", "linear")
    return code, err

def _fit_params(capsys, path) -> dict:  # type: ignore[no-untyped-def]
    code, out, err = run_cli(capsys, "fit", "--runs", str(path), "--law", "linear", "--json")
    assert code == 0, err
    return json.loads(out)["report"]["params"]


def test_tab_separated_text_under_csv_or_txt_reads_as_the_csv(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # Read with ',' it was one column 'run\tw:web\t...', listed as the table's columns ("missing 'run', ..."); a
    # .txt was "unknown table format".
    frame = _table()
    frame.to_csv(tmp_path / "runs.csv", index=False)
    want = _fit_params(capsys, tmp_path / "runs.csv")
    for name in ("tabs.csv", "tabs.txt"):
        frame.to_csv(tmp_path / name, sep="\t", index=False)
        assert _fit_params(capsys, tmp_path / name) == want


@pytest.mark.parametrize("name, sep", [("runs.tsv", "\t"), ("tabs.csv", "\t"), ("tabs.txt", "\t"),
                                       ("semi.csv", ";")])
def test_decimal_commas_between_tabs_or_semicolons_are_read_with_one_warning(tmp_path, capsys, name, sep) -> None:  # type: ignore[no-untyped-def]
    # A European-locale spreadsheet's tab-separated export ('0,25') stopped at "value '0,25' is not a number (a
    # decimal comma? ... save the table with ';')"; a ';' file was read without a word of the mark it assumed.
    frame = _table(sizes=(2e7,))
    path = tmp_path / name
    frame.loc[0, "w:code"] = 0.0  # a whole 0 and 1 (no mark at all) beside the decimal commas
    frame.loc[0, "w:web"] = 1.0 - frame.loc[0, "w:books"]
    frame.to_csv(path, sep=sep, decimal=",", index=False)
    assert "0," in path.read_text() and "." not in path.read_text()
    code, out, err = run_cli(capsys, "fit", "--runs", str(path), "--law", "linear", "--json")
    assert code == 0, err
    between = "';'" if sep == ";" else "tabs"
    cell = repr(float(frame.loc[0, "w:web"])).replace(".", ",")
    assert [line for line in err.splitlines() if "decimal" in line] == [
        f"warning: {path}: read ',' as the decimal mark (cells separated by {between}, every number written with a "
        f"decimal comma or whole, e.g. '{cell}' in line 2, column 'w:web')"]
    got = json.loads(out)["report"]["params"]
    frame.to_csv(tmp_path / "points.csv", index=False)
    assert got == _fit_params(capsys, tmp_path / "points.csv")  # the same numbers as written with points


@pytest.mark.parametrize("sep", [";", "\t"])
def test_decimal_commas_beside_decimal_points_are_refused_naming_both(tmp_path, capsys, sep) -> None:  # type: ignore[no-untyped-def]
    # Which mark is the decimal one is not to be guessed: '1,300' is a thousand and three hundred in a file of '0.25'.
    path = tmp_path / "runs.csv"
    path.write_text(sep.join(["run", "w:web", "w:code", "loss:val"]) + "\n"
                    + sep.join(["a", "0,25", "0,75", "3.1"]) + "\n" + sep.join(["b", "1", "0", "3"]) + "\n")
    code, _, err = run_cli(capsys, "fit", "--runs", str(path), "--law", "linear")
    assert code == 2 and err.strip() == (
        f"error: {path}:2: column 'w:web': the numbers are written with decimal commas ('0,25') and decimal points "
        "('3.1' in line 2, column 'loss:val'): write every number one way (a spreadsheet's locale sets it)")
    # a ','-separated file of quoted decimal commas keeps its refusal: the ',' there may separate cells
    path.write_text('run,w:web,w:code,loss:val\na,"0,25","0,75",3.1\nb,1,0,3\n')
    code, _, err = run_cli(capsys, "fit", "--runs", str(path), "--law", "linear")
    assert code == 2 and "value '0,25' is not a number (a decimal comma? write 0.25, or save the table with ';' or " \
        "tabs between cells" in err


def test_an_excel_workbook_is_read_from_its_first_sheet(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # Refused before ("save its sheet as 'CSV UTF-8'"): the book is read as its CSV export would be, the run ids as
    # text, Excel's error cells missing, blank formatted rows left out, each run keeping its sheet row as its line.
    pytest.importorskip("openpyxl")
    frame = _table()
    frame["run"] = [f"{i:03d}" for i in range(len(frame))]
    frame["loss:val"] = frame["loss:val"].astype(object)
    frame.loc[3, "loss:val"] = "#N/A"
    frame.loc[5, "w:web"] = -0.1
    book = tmp_path / "runs.xlsx"
    with pd.ExcelWriter(book) as writer:
        frame.to_excel(writer, sheet_name="sweep", index=False)
        pd.DataFrame({"note": ["not runs"]}).to_excel(writer, sheet_name="notes", index=False)
    code, _, err = run_cli(capsys, "fit", "--runs", str(book), "--law", "linear")
    assert code == 2  # the bad weight is named by its sheet row (row 7: header + 5 rows above it + 1)
    assert err.strip() == f"error: {book}:7: column 'w:web': weight is -0.1, expected >= 0"
    frame.loc[5, "w:web"] = 1 - frame.loc[5, ["w:code", "w:books"]].sum()
    with pd.ExcelWriter(book) as writer:
        frame.to_excel(writer, sheet_name="sweep", index=False)
        pd.DataFrame({"note": ["not runs"]}).to_excel(writer, sheet_name="notes", index=False)
    from mixlaw import read_runs
    from mixlaw.errors import DataWarning

    with pytest.warns(DataWarning, match=r"read the workbook's first sheet, 'sweep', of 2 \('notes'\)"):
        table = read_runs(book)
    csv = tmp_path / "runs.csv"
    frame.to_csv(csv, index=False)
    same = read_runs(csv)
    assert list(table.runs[:3]) == ["000", "001", "002"] and list(table.runs) == list(same.runs)
    np.testing.assert_allclose(table.weights, same.weights)
    np.testing.assert_allclose(table.losses(allow_missing=True), same.losses(allow_missing=True))
    assert np.isnan(table.losses(allow_missing=True)[3, 0])


def test_an_excel_workbook_without_openpyxl_says_how_to_install_it(tmp_path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import sys

    monkeypatch.setitem(sys.modules, "openpyxl", None)  # import openpyxl raises ImportError
    path = tmp_path / "runs.xlsx"
    path.write_bytes(b"PK\x03\x04")
    code, _, err = run_cli(capsys, "fit", "--runs", str(path))
    assert code == 2
    assert err.strip() == (f"error: {path}: reading an Excel workbook needs openpyxl: pip install 'mixlaw[excel]' "
                           "(or save its sheet as 'CSV UTF-8' and give that file)")
    legacy = tmp_path / "runs.xls"
    legacy.write_bytes(b"\xd0\xcf\x11\xe0")
    code, _, err = run_cli(capsys, "fit", "--runs", str(legacy))
    assert code == 2 and err.strip() == (
        f"error: {legacy}: unknown table format '.xls'; use .csv, .tsv, .xlsx, .parquet, .json or .jsonl (a legacy "
        "Excel or OpenDocument sheet: save it as .xlsx or as 'CSV UTF-8' and give that file)")


def test_weights_written_as_percentages_read_as_shares(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # A spreadsheet's percent format ('33.3%') stopped at "value '33.3%' is not a number", where --mixture and --fixed
    # take 30% as 0.3. A bare number beside them stays a share, so a row of '30%' and 70 fails its sum.
    frame = _table()
    frame.to_csv(tmp_path / "runs.csv", index=False)
    W = ["w:web", "w:code", "w:books"]
    frame.assign(**{c: frame[c].map(lambda v: f"{100 * v!r}%") for c in W}).to_csv(tmp_path / "pct.csv", index=False)
    got, want = _fit_params(capsys, tmp_path / "pct.csv"), _fit_params(capsys, tmp_path / "runs.csv")
    assert got.keys() == want.keys()
    for k in want:
        assert got[k]["value"] == pytest.approx(want[k]["value"], rel=1e-9)
    mixed = frame.assign(**{"w:web": "30%", "w:code": 70, "w:books": "0%"})
    code, err = _fit_linear(tmp_path, capsys, mixed, "mixed.csv")
    assert code == 2 and f"{tmp_path / 'mixed.csv'}:2: column 'w:web': weights sum to 70.3, expected 1" in err


@pytest.mark.parametrize(("cell", "hint"), [
    ("3,12", "value '3,12' is not a number (a decimal comma? write 3.12, or save the table with ';' or tabs between "
             "cells, which mixlaw reads with decimal commas)"),
    ("-", "value '-' is not a number (a missing loss? leave the cell empty: the fits then use the rows that have "
          "this eval)"),
    ("#DIV/0!", "value '#DIV/0!' is not a number (a missing loss? leave the cell empty"),
    # a count's thousands separators are no decimal comma: '28.368' would be a size 1000 times too small
    (("params", "28,368"), "value '28,368' is not a number (thousands separators? write 28368, or a suffix as in "
                           "1.3M)"),
])
def test_a_cell_that_is_not_a_number_says_the_likely_fix(tmp_path, capsys, cell, hint) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "runs.csv"
    column, cell = cell if isinstance(cell, tuple) else ("loss:val", cell)
    frame = _table() if column != "params" else _table(sizes=(2e7,))
    frame[column] = frame[column].astype(object)
    frame.loc[3, column] = cell
    frame.to_csv(path, index=False)
    code, _, err = run_cli(capsys, "fit", "--runs", str(path), "--law", "linear")
    assert code == 2 and err.startswith(f"error: {path}:5: column '{column}': {hint}")


# ------------------------------------------------------------------ a loss column that is no loss
def test_perplexities_in_a_loss_column_are_warned_once(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # exp of the losses (24-90, a tracker's 'ppl' logged under loss:) was fitted and optimised as losses without a word.
    frame = _table()
    ppl = frame.assign(**{"loss:val": np.exp(frame["loss:val"] + 0.2)})
    ppl.to_csv(tmp_path / "ppl.csv", index=False)
    lo, hi = ppl["loss:val"].min(), ppl["loss:val"].max()
    code, _, err = run_cli(capsys, "optimize", "--runs", str(tmp_path / "ppl.csv"), "--law", "linear")
    assert code == 0, err
    assert [line for line in err.splitlines() if "per-token" in line] == [
        f"warning: {tmp_path / 'ppl.csv'}: the values of loss:val ({lo:.3g} to {hi:.3g}) lie above any per-token loss "
        "(ln of a 256k vocabulary is 12.5 nats): if they are perplexities, store their log, the loss the laws are made "
        "for (a law fitted to perplexities extrapolates and averages them as losses); ignore this if they are losses "
        "summed over a sequence"]
    # Named so, a perplexity is told from a smaller value too; losses of a loss's size are not.
    frame.assign(**{"loss:val_ppl": np.exp(frame["loss:val"] - 0.5)}).to_csv(tmp_path / "named.csv", index=False)
    frame.to_csv(tmp_path / "loss.csv", index=False)
    for name, warned in (("named.csv", "the values of loss:val_ppl ("), ("loss.csv", None)):
        code, _, err = run_cli(capsys, "fit", "--runs", str(tmp_path / name), "--law", "linear")
        assert code == 0, err
        assert ("per-token" in err) == (warned is not None) and (warned is None or warned in err)


# ------------------------------------------------------------------ domains no law can tell apart, runs not finished
def test_a_domain_under_two_names_is_warned(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # 'web' split over two equal columns: optimize gave 0.06 to one and 0.45 to the other without a word.
    frame = _table()
    split = frame.assign(**{"w:web": frame["w:web"] / 2, "w:web2": frame["w:web"] / 2})
    code, err = _fit_linear(tmp_path, capsys, split, "split.csv")
    assert code == 0, err
    assert (f"warning: {tmp_path / 'split.csv'}: weight columns w:web and w:web2 are proportional in every run: no law "
            "can tell their effects apart, and an optimum splits their share between them at random; merge them into "
            "one column (their sum), or add runs that vary them apart") in err.splitlines()
    frame.to_csv(tmp_path / "runs.csv", index=False)  # a design's own columns are not
    code, _, err = run_cli(capsys, "fit", "--runs", str(tmp_path / "runs.csv"), "--law", "linear")
    assert code == 0 and "proportional" not in err


def test_rows_of_runs_that_did_not_finish_are_warned(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # A W&B export lists every run with its State; crashed and running ones were fitted as final losses.
    frame = _table().assign(State=["finished"] * 20 + ["crashed", "running", "crashed", "finished"])
    code, err = _fit_linear(tmp_path, capsys, frame, "wandb.csv")
    assert code == 0, err
    said = (f"warning: {tmp_path / 'wandb.csv'}: column 'State' says 2 'crashed', 1 'running' (lines 22, 23, 24): a "
            "run that did not finish logged the losses of an earlier checkpoint, not its final ones; leave those rows "
            "out, or check that their losses are final")
    assert said in err.splitlines()
    # runs import leaves the column out of the table it writes: it says so on the file's lines
    code, _, err = run_cli(capsys, "runs", "import", str(tmp_path / "wandb.csv"), "--out", str(tmp_path / "r.csv"))
    assert code == 0 and said in err.splitlines()


def test_runs_import_reads_such_headers_and_stops_at_a_size_it_would_drop(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # The import kept the mapped and run-table columns alone: 'model_size' was dropped and the table written pooled
    # 3 sizes (fit on it: exit 0, no word); ' Run '/'W:web' headers stopped at "map them with --columns".
    path, out = tmp_path / "sweep.csv", tmp_path / "runs.parquet"
    _table(sizes=(2e7, 6e7, 1.5e8)).rename(columns={"params": "model_size"}).to_csv(path, index=False)
    code, _, err = run_cli(capsys, "runs", "import", str(path), "--out", str(out))
    assert code == 2 and not out.exists()
    assert err.strip() == (f"error: {path}: column 'model_size': values 2e+07, 6e+07, 1.5e+08 in a column named like "
                           "the model size, which is read from a column named 'params' alone: map it, --columns "
                           "'params=model_size' (added to any other entries), or drop it if it is not that; left out, "
                           "the rows of every value would be imported as one")
    code, _, err = run_cli(capsys, "runs", "import", str(path), "--columns", "params=model_size", "--out", str(out))
    assert code == 0, err
    assert sorted(pd.read_parquet(out)["params"].unique()) == [2e7, 6e7, 1.5e8]
    frame = _table()
    frame.set_axis([" Run ", "W:web", "W:code", "W:books", "Loss:val"], axis=1).to_csv(path, index=False)
    code, _, err = run_cli(capsys, "runs", "import", str(path), "--out", str(out))
    assert code == 0, err
    assert list(pd.read_parquet(out).columns) == list(frame.columns)


def test_seeds_under_one_run_name_are_named_by_their_seed_column(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # The error guessed "a repeated seed?" with the seed column in the table.
    frame = _table()
    two = pd.concat([frame.assign(seed=0), frame.assign(seed=1, **{"loss:val": frame["loss:val"] + 0.01})])
    code, err = _fit_linear(tmp_path, capsys, two, "seeds.csv")
    assert code == 2
    assert err.strip() == (f"error: {tmp_path / 'seeds.csv'}:26: column 'run': duplicate run 'm0' (same run as line 2; "
                           "the rows differ in 'seed', repeated seeds: give each its own run name (e.g. 'm0-s1'), and "
                           "they count as repeated measurements of one mixture)")


@pytest.mark.parametrize(("extra", "column", "hint"), [
    # 'weight_decay' taken in by a 'w:*=weight_*' map: "no row sums to 1 ... divide each row by its sum" led the
    # user to renormalise, a hyperparameter then a domain of every mixture.
    ({"w:decay": 0.1}, "w:decay", "without 'w:decay' every row sums to 1: is it a domain? drop it (or leave it out of "
                                  "the --columns map)"),
    ({"w:web_copy": "w:web"}, "w:web_copy", "'w:web' and 'w:web_copy' hold the same shares in every row, and without "
                                            "one every row sums to 1: one domain given twice? drop one"),
])
def test_a_weight_column_that_is_no_domain_is_named_by_the_sum_error(tmp_path, capsys, extra, column, hint) -> None:  # type: ignore[no-untyped-def]
    frame = _table()
    for k, v in extra.items():
        frame[k] = frame[v] if isinstance(v, str) else v
    code, err = _fit_linear(tmp_path, capsys, frame, "runs.csv")
    assert code == 2
    assert err.startswith(f"error: {tmp_path / 'runs.csv'}:2: column '{column}': weights sum to ")
    assert err.strip().endswith(f"({hint})")


def test_an_accuracy_in_percent_is_not_called_a_perplexity(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # Its name says what it is, and optimize warns that it is minimised; 'perplexities?' would mislead.
    frame = _table()
    frame.assign(**{"loss:hellaswag_acc": 100 - 10 * frame["loss:val"]}).to_csv(tmp_path / "acc.csv", index=False)
    code, _, err = run_cli(capsys, "optimize", "--runs", str(tmp_path / "acc.csv"), "--law", "linear",
                           "--target", "hellaswag_acc")
    assert code == 0, err
    assert "per-token" not in err and "read as higher-is-better metrics" in err


@pytest.mark.parametrize("command", [["optimize", "--law", "linear"],
                                     ["compare", "--holdout", "0.3", "--laws", "linear"],
                                     ["design", "--method", "active", "--n", "3", "--law", "linear"]])
def test_scores_given_with_maximize_are_not_called_perplexities(tmp_path, capsys, command) -> None:  # type: ignore[no-untyped-def]
    # An accuracy in percent (30-70) under an eval's own name ('hellaswag'), with --maximize, which says these are
    # scores: "the values of loss:hellaswag (30 to 70) lie above any per-token loss ... perplexities? store their
    # log" would mislead. Without --maximize the warning stays (the values may be perplexities).
    frame = _table()
    score = 30 + 40 * (frame["loss:val"] - frame["loss:val"].min()) / np.ptp(frame["loss:val"])
    frame.drop(columns="loss:val").assign(**{"loss:hellaswag": score}).to_csv(tmp_path / "acc.csv", index=False)
    code, _, err = run_cli(capsys, command[0], "--runs", str(tmp_path / "acc.csv"), "--maximize", *command[1:])
    assert code == 0, err
    assert "per-token" not in err
    if command[0] == "optimize":
        code, _, err = run_cli(capsys, *command, "--runs", str(tmp_path / "acc.csv"))
        assert code == 0 and "loss:hellaswag (30 to 70) lie above any per-token loss" in err


def test_an_empty_share_says_to_write_it_and_what_the_row_makes_it(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # A spreadsheet leaves shares of 0 blank: "weight is nan, expected a finite number" said neither.
    frame = _table()
    frame.loc[[2, 5], "w:code"] = np.nan
    frame["w:web"] = 1 - frame["w:books"] - frame["w:code"].fillna(0)  # the rows sum to 1 without the empty cells
    code, err = _fit_linear(tmp_path, capsys, frame, "runs.csv")
    assert code == 2
    assert err.strip() == (f"error: {tmp_path / 'runs.csv'}:4: column 'w:code': weight is nan, expected a finite "
                           "number (2 empty cells: write every share, 0 included; the row's other shares sum to 1, so "
                           "this one is 0)")


def test_an_eval_column_left_empty_is_named_with_the_targets_that_remain(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # With every eval targeted (the default), "fit each eval alone (--target EVAL)" did not say which column was empty.
    frame = _table().assign(**{"loss:new": np.nan, "loss:old": lambda d: d["loss:val"] + 0.1})
    frame.to_csv(tmp_path / "runs.csv", index=False)
    code, _, err = run_cli(capsys, "optimize", "--runs", str(tmp_path / "runs.csv"), "--law", "linear")
    assert code == 2
    assert err.strip().endswith("(loss:new 24 of 24 rows miss one): new has no value in any row: leave it out "
                                "(--target val,old) or drop its column")
    code, _, err = run_cli(capsys, "optimize", "--runs", str(tmp_path / "runs.csv"), "--law", "linear",
                           "--target", "val,old")
    assert code == 0, err


def test_domains_that_differ_in_case_alone_are_said_so(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # "missing ['web', ...], unexpected ['Web', ...] (give every domain a column; ...)": the hint did not fit.
    frame = _table()
    frame.to_csv(tmp_path / "runs.csv", index=False)
    frame.rename(columns={"w:web": "w:Web", "w:code": "w:CODE"}).to_csv(tmp_path / "test.csv", index=False)
    code, _, err = run_cli(capsys, "compare", "--runs", str(tmp_path / "runs.csv"), "--test",
                           str(tmp_path / "test.csv"), "--laws", "linear")
    assert code == 2
    assert err.strip().endswith("(the names differ in case alone: 'CODE' for 'code', 'Web' for 'web'; name the "
                                "columns as the fitted table does)")
    code, _, err = run_cli(capsys, "fit", "--runs", str(tmp_path / "runs.csv"), "--law", "linear", "--out",
                           str(tmp_path / "law.json"))
    assert code == 0, err
    code, _, err = run_cli(capsys, "predict", "--law", str(tmp_path / "law.json"), "--mixtures",
                           str(tmp_path / "test.csv"))
    assert code == 2 and "(the names differ in case alone: 'Web' for 'web', 'CODE' for 'code';" in err


def test_a_step_look_alike_beside_tokens_is_named_when_a_step_target_is_given() -> None:
    # W&B's '_step' beside 'tokens': --target-steps said only "the table has 'tokens': give target_tokens instead".
    from test_pipeline import N_STAR, NESTED, S_STAR, world

    from mixlaw.data import RunTable
    from mixlaw.errors import InputError
    from mixlaw.pipeline import fit_pipeline

    frame = world(n_mix=4).frame.rename(columns={"step": "_step"})
    frame["tokens"] = frame["_step"] * 4096
    with pytest.raises(InputError, match=r"\(the table has 'tokens': give target_tokens instead, --target-tokens on "
                                         r"the command line; it also has '_step': name one 'step', e\.g\. "
                                         r"RunTable\(df\.rename\(columns=\{'_step': 'step'\}\)\)\)$"):
        fit_pipeline(RunTable(frame), target_params=N_STAR, target_steps=S_STAR, **NESTED)


def test_rows_with_no_cell_filled_are_left_out_and_lines_kept(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # Blank lines at the end, or a spreadsheet's ',,,,' rows, stopped at "the run name is empty (2 of 26 rows ...)".
    frame = _table()
    frame.to_csv(tmp_path / "runs.csv", index=False)
    want = _fit_params(capsys, tmp_path / "runs.csv")
    lines = (tmp_path / "runs.csv").read_text().splitlines()
    padded = [*lines[:3], "", ",,,,", *lines[3:], ",,,,", ""]
    (tmp_path / "padded.csv").write_text("\n".join(padded) + "\n")
    assert _fit_params(capsys, tmp_path / "padded.csv") == want
    # a row after them keeps its own line in an error
    frame.loc[2, "loss:val"] = -1.0
    lines = frame.to_csv(index=False).splitlines()
    (tmp_path / "bad.csv").write_text("\n".join([*lines[:2], "", ",,,,", *lines[2:]]) + "\n")
    code, _, err = run_cli(capsys, "fit", "--runs", str(tmp_path / "bad.csv"), "--law", "linear")
    assert code == 2 and err.startswith(f"error: {tmp_path / 'bad.csv'}:6: column 'loss:val': loss is -1")


def test_a_comment_line_before_the_header_is_named(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # It was read as the header: "missing 'run', ...; found columns ['# exported from sheet']" and a W&B map.
    path = tmp_path / "runs.csv"
    path.write_text("# exported from sheet 'sweep'\n" + _table().to_csv(index=False))
    code, _, err = run_cli(capsys, "fit", "--runs", str(path), "--law", "linear")
    assert code == 2
    assert err.strip() == (f"error: {path}:1: the first line is a comment (\"# exported from sheet 'sweep'\"), not the "
                           "header: remove the lines before the header (run,w:<domain>,...,loss:<eval>,...)")


def test_a_workbook_s_blank_header_cells_or_empty_first_row_are_said_so(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # Both read "column '': the name is given to two columns (1 and 2)"; a blank row among the runs keeps the lines.
    openpyxl = pytest.importorskip("openpyxl")

    def book(rows, name):  # type: ignore[no-untyped-def]
        wb = openpyxl.Workbook()
        for r in rows:
            wb.active.append(r)
        wb.save(tmp_path / name)
        return tmp_path / name

    head = ["run", "w:a", "w:b", "loss:x"]
    gaps = book([["run", "w:a", None, "w:b", None, "loss:x"], ["r1", 0.5, None, 0.5, None, 3.0]], "gaps.xlsx")
    code, _, err = run_cli(capsys, "fit", "--runs", str(gaps), "--law", "linear")
    assert code == 2 and err.strip() == (f"error: {gaps}:1: columns 3 and 5 have no name in the header: name them, "
                                         "or delete them if they are empty")
    low = book([[None] * 4, head, ["r1", 0.5, 0.5, 3.0]], "low.xlsx")
    code, _, err = run_cli(capsys, "fit", "--runs", str(low), "--law", "linear")
    assert code == 2 and err.strip() == (f"error: {low}:1: the first row, read as the header, is empty: put the "
                                         "column names (run, w:<domain>, ..., loss:<eval>, ...) in row 1")
    mid = book([head, ["r1", 0.5, 0.5, 3.0], [None] * 4, ["r2", 0.5, 0.5, 3.1], ["r3", 0.7, 0.5, 3.2]], "mid.xlsx")
    code, _, err = run_cli(capsys, "fit", "--runs", str(mid), "--law", "linear")
    assert code == 2 and err.startswith(f"error: {mid}:5: ") and "weights sum to 1.2" in err


def test_a_csv_under_the_name_of_a_workbook_is_said_so(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # It read "cannot read the file: BadZipFile: File is not a zip file".
    pytest.importorskip("openpyxl")
    fake = tmp_path / "runs.xlsx"
    _table().to_csv(fake, index=False)
    code, _, err = run_cli(capsys, "fit", "--runs", str(fake), "--law", "linear")
    assert code == 2 and err.strip() == (
        f"error: {fake}: not an Excel workbook: a .xlsx file is a zip archive and this one is not (a CSV, or a legacy "
        ".xls, under that name?); give it the suffix of what it is (.csv, or save the sheet as .xlsx)")


def test_a_model_name_in_params_says_its_size_is_what_is_read(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # ADMIRE-BayesOpt's IFT runs label each row with its model ('Qwen2.5-0.5B'); mapped to params the import stopped
    # at "value 'Qwen2.5-0.5B' is not a number", while '0.5B' alone is read.
    import pandas as pd
    import pytest

    from mixlaw.data import RunTable
    from mixlaw.errors import DataError

    frame = pd.DataFrame({"run": ["a", "b"], "params": ["Qwen2.5-0.5B", "pythia-160m"], "w:x": [0.5, 0.2],
                          "w:y": [0.5, 0.8], "loss:x": [2.0, 2.1]})
    with pytest.raises(DataError, match=r"value 'Qwen2\.5-0\.5B' is not a number \(a model's name\? its size alone, "
                                        r"'0\.5B' or 5e\+08, is read"):
        RunTable(frame)
    assert RunTable(frame.assign(params=["0.5B", "160m"])).model_params.tolist() == [5e8, 1.6e8]
    with pytest.raises(DataError) as err:  # a name with no size at its end: no such hint
        RunTable(frame.assign(params=["Qwen-base", "x"]))
    assert "model's name" not in str(err.value)


def test_an_eval_at_0_stops_the_import_naming_the_evals_that_import_without_it(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # ADMIRE-BayesOpt's IFT accuracies: bigcodebench_hard is 0 in some runs, and 'runs import' stopped on it with no
    # word that the 16 other benchmarks import without it (--evals).
    p = tmp_path / "acc.csv"
    pd.DataFrame({"ratio_a": [0.5, 0.2, 0.7], "ratio_b": [0.5, 0.8, 0.3], "metric_gsm8k": [0.3, 0.4, 0.5],
                  "metric_bigcode": [0.0, 0.1, 0.05], "metric_ifeval": [0.6, 0.5, 0.4]}).to_csv(p, index=False)
    out = tmp_path / "runs.csv"
    code, _, err = run_cli(capsys, "runs", "import", str(p), "--columns", "w:*=ratio_*,loss:*=metric_*",
                           "--out", str(out))
    assert code != 0 and "loss is 0, expected > 0" in err
    assert ("; or import the other evals without it: --evals gsm8k,ifeval (evals=['gsm8k', 'ifeval'])"
            in " ".join(err.split()))  # the flag and the keyword (read_runs_mapped(path, ..., evals=)), as STYLE asks
    code, _, err = run_cli(capsys, "runs", "import", str(p), "--columns", "w:*=ratio_*,loss:*=metric_*",
                           "--evals", "gsm8k,ifeval", "--out", str(out))
    assert code == 0, err


# ------------------------------------------------------------------ names that print alike
# U+200E (a left-to-right mark, which text pasted from a right-to-left page carries) and U+00AD (a soft hyphen)
# print as nothing too, as every format character (Unicode category Cf) does
@pytest.mark.parametrize("twin", ["w:cafe\u0301", "w:caf\u00e9\u200b", "w:\ufeffcaf\u00e9", "w:caf\u00e9\u200e",
                                  "w:caf\u00ad\u00e9"])
def test_unicode_twins_of_a_name_are_refused_naming_both(tmp_path, capsys, twin) -> None:  # type: ignore[no-untyped-def]
    # 'w:café' typed (composed é) beside the same name pasted (e + combining accent, or with a zero-width space) read
    # as two domains that print alike; the readers refuse names that differ in case or spaces alone, and these too.
    from mixlaw import RunTable
    from mixlaw.errors import DataError

    frame = _table().rename(columns={"w:web": "w:caf\u00e9", "w:books": twin})
    with pytest.raises(DataError, match="are one name") as err:
        RunTable(frame)
    assert f"columns 'w:caf\\xe9' and {ascii(twin)} are one name" in str(err.value)
    path = tmp_path / "runs.csv"
    frame.to_csv(path, index=False)
    code, _, text = run_cli(capsys, "fit", "--runs", str(path), "--law", "linear")
    assert code == 2 and f"{ascii(twin)} are one name" in text


def test_a_lone_decomposed_or_zero_width_name_is_read_as_written() -> None:
    from mixlaw import RunTable

    frame = _table().rename(columns={"w:web": "w:cafe\u0301", "w:books": "w:bo\u200boks"})
    assert RunTable(frame).domains == ["cafe\u0301", "code", "bo\u200boks"]
