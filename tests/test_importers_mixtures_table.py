"""``runs import LOSSES --mixtures-table RECIPES --on recipe``: losses per (recipe, size, step) joined to a table of
each recipe's domain shares (a DataDecide-style sweep).

Found by a new user's pass on multi-scale tables: a sweep whose runs are named by recipe keeps its shares in a
table of their own, and no import joined them from CSV (``import-tensorboard --mixtures`` joins on the run of
event files only; Olmix's pair joins one row per run, with no steps or sizes).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_runner import run_cli

from mixlaw.data import read_runs
from mixlaw.errors import DataError, DataWarning
from mixlaw.importers import read_runs_mapped

SHARES = {"web": [0.6, 0.2, 0.1], "code": [0.3, 0.5, 0.1], "math": [0.1, 0.3, 0.8]}
RECIPES = ["dolma", "c4-code", "math-heavy"]


def _sweep(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(losses.csv, recipes.csv, wide.csv): the same sweep as two tables and as one written by hand."""
    rng = np.random.default_rng(0)
    rows = [{"recipe": r, "params": n, "step": s, "loss:pile": 3 + 1e7 / n / s ** 0.3 + 0.01 * rng.random(),
             "loss:arc": 2 + 5e6 / n / s ** 0.3 + 0.01 * rng.random()}
            for r in RECIPES for n in (1e7, 2e7, 4e7) for s in (100, 200, 400, 800)]
    losses = pd.DataFrame(rows)
    recipes = pd.DataFrame({"recipe": RECIPES, **{f"w:{d}": v for d, v in SHARES.items()}})
    wide = losses.merge(recipes, on="recipe").rename(columns={"recipe": "run"})
    paths = tmp_path / "losses.csv", tmp_path / "recipes.csv", tmp_path / "wide.csv"
    for frame, p in zip((losses, recipes, wide), paths, strict=True):
        frame.to_csv(p, index=False)
    return paths


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a[sorted(a.columns)], b[sorted(b.columns)], check_dtype=False)


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_join_gives_the_hand_written_wide_table(tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
                                                ) -> None:
    losses, recipes, wide = _sweep(tmp_path)
    if fmt != "csv":
        frame, recipes = pd.read_csv(recipes), tmp_path / f"recipes.{fmt}"
        frame.to_parquet(recipes) if fmt == "parquet" else frame.to_json(recipes, orient="records", lines=True)
    want = read_runs(wide)
    got = read_runs_mapped(losses, None, mixtures=recipes, on="recipe")
    assert got.domains == want.domains and got.evals == want.evals
    _same(got.frame, want.frame)
    out = tmp_path / "runs.csv"
    code, _, err = run_cli(capsys, "runs", "import", str(losses), "--mixtures-table", str(recipes), "--on", "recipe",
                           "--out", str(out))
    assert code == 0, err
    _same(read_runs(out).frame, want.frame)


def test_a_recipe_without_a_mixture_is_named_with_its_line(tmp_path: Path) -> None:
    losses, recipes, _ = _sweep(tmp_path)
    pd.read_csv(recipes).iloc[:2].to_csv(recipes, index=False)
    # math-heavy's first row: 2 recipes x 12 rows before it, after the header.
    with pytest.raises(DataError, match=r"losses\.csv:26: column 'recipe': recipe 'math-heavy' has no row in "
                                        r".*recipes\.csv; its recipes are \['dolma', 'c4-code'\]"):
        read_runs_mapped(losses, None, mixtures=recipes, on="recipe")


def test_a_recipe_given_twice_is_named_with_both_lines(tmp_path: Path) -> None:
    losses, recipes, _ = _sweep(tmp_path)
    frame = pd.read_csv(recipes)
    pd.concat([frame, frame.iloc[[1]]]).to_csv(recipes, index=False)
    with pytest.raises(DataError, match=r"recipes\.csv:5: column 'recipe': key 'c4-code' appears again \(first on "
                                        r"line 3\): one row per recipe"):
        read_runs_mapped(losses, None, mixtures=recipes, on="recipe")


@pytest.mark.parametrize(("value", "message"), [(0.7, r"weights sum to 1\.2, expected 1 ± 0\.01"),
                                                (-0.1, r"weight is -0\.1, expected >= 0"),
                                                ("abc", r"value 'abc' is not a number")])
def test_bad_shares_are_refused_as_a_run_tables_weights_are(tmp_path: Path, value: object, message: str) -> None:
    losses, recipes, _ = _sweep(tmp_path)
    frame = pd.read_csv(recipes).astype({"w:code": object})
    frame.loc[1, "w:code"] = value
    frame.to_csv(recipes, index=False)
    with pytest.raises(DataError, match=r"recipes\.csv:3: column 'w:(web|code)': " + message):
        read_runs_mapped(losses, None, mixtures=recipes, on="recipe")


def test_missing_key_column_own_shares_and_unused_recipes(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    losses, recipes, wide = _sweep(tmp_path)
    with pytest.raises(DataError, match=r"recipes\.csv: no key column 'name' to join the mixtures on \(--on\); "
                                        r"columns: recipe, w:web"):
        pd.read_csv(losses).assign(name="x").to_csv(tmp_path / "named.csv", index=False)
        read_runs_mapped(tmp_path / "named.csv", None, mixtures=recipes, on="name")
    with pytest.raises(DataError, match=r"wide\.csv: column 'w:web': the table has mixture columns of its own"):
        read_runs_mapped(wide, None, mixtures=recipes, on="run")
    frame = pd.read_csv(recipes)
    pd.concat([frame, frame.iloc[[0]].assign(recipe="unrun")]).to_csv(recipes, index=False)
    with pytest.warns(DataWarning, match=r"recipes\.csv:5: 1 of 4 mixture\(s\) have no losses in .*losses\.csv and "
                                         r"are left out \(first: recipe 'unrun'\)"):
        assert read_runs_mapped(losses, None, mixtures=recipes, on="recipe").frame["run"].nunique() == 3
    code, _, err = run_cli(capsys, "runs", "import", str(losses), "--on", "recipe", "--out", str(tmp_path / "o.csv"))
    assert code == 2 and "--on names the key column of --mixtures-table" in err


def test_seeds_of_a_recipe_without_a_run_column_are_said_to_share_the_run(tmp_path: Path) -> None:
    # A DataDecide-style sweep has seeds of each recipe and size. Without a run column the recipe is the run, and
    # its seeds' rows at one step conflict: the error named "run dolma", a run the file does not have, and stopped.
    losses, recipes, _ = _sweep(tmp_path)
    frame = pd.read_csv(losses)
    seeds = pd.concat([frame.assign(seed=0), frame.assign(seed=1, **{"loss:pile": frame["loss:pile"] + 0.01})])
    seeds.to_csv(losses, index=False)
    with pytest.raises(DataError, match=r"losses\.csv:38: column 'loss:pile': two values for one run and step \(run "
                                        r"dolma, .*; the losses have no run column, so their recipe is the run: if "
                                        r"such rows are seeds or repeats, give the losses a run column"):
        read_runs_mapped(losses, None, mixtures=recipes, on="recipe")
    # With a run column per seed the sweep imports: 3 recipes x 2 seeds x 3 sizes.
    seeds.assign(run=seeds["recipe"] + "-s" + seeds["seed"].astype(str)).to_csv(losses, index=False)
    table = read_runs_mapped(losses, None, mixtures=recipes, on="recipe")
    assert table.frame["run"].nunique() == 6 and len(table) == 72


def test_a_run_column_mapped_by_columns_is_the_key_of_the_join(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                               ) -> None:
    # Found importing Meiqwq's eval.jsonl (pivoted: 'index' and one loss column per eval) against the run table of
    # RegMix's 1B pair: with --columns run=index the join still looked for a column 'run' in the losses, "no key
    # column 'run' to join the mixtures on (--on); columns: index, ...", though the map names the losses' run.
    losses, recipes, wide = _sweep(tmp_path)
    frame = pd.read_csv(losses).rename(columns={"recipe": "name"})
    frame.to_csv(losses, index=False)
    pd.read_csv(recipes).rename(columns={"recipe": "run"}).to_csv(recipes, index=False)
    want = read_runs(wide)
    got = read_runs_mapped(losses, "run=name, params=params, step=step, loss:*=loss:*", mixtures=recipes)
    _same(got.frame, want.frame)
    out = tmp_path / "runs.csv"
    code, _, err = run_cli(capsys, "runs", "import", str(losses), "--mixtures-table", str(recipes),
                           "--columns", "run=name,params=params,step=step,loss:*=loss:*", "--out", str(out))
    assert code == 0, err
    _same(read_runs(out).frame, want.frame)


def test_the_map_names_the_key_of_the_join_beside_a_column_of_that_name(tmp_path: Path) -> None:
    # review33d: with --columns run=name the table's runs are its 'name' column, a column 'run' there or not (as
    # without --mixtures-table); the join still keyed on the losses' own 'run' when they had one: "run 'xdolma' has
    # no row in recipes.csv", a key the map leaves out. The error written for that case could not be reached.
    losses, recipes, wide = _sweep(tmp_path)
    frame = pd.read_csv(losses).rename(columns={"recipe": "name"})
    frame["run"] = "x" + frame["name"]  # a column the map leaves out
    frame.to_csv(losses, index=False)
    pd.read_csv(recipes).rename(columns={"recipe": "run"}).to_csv(recipes, index=False)
    got = read_runs_mapped(losses, "run=name, params=params, step=step, loss:*=loss:*", mixtures=recipes)
    _same(got.frame, read_runs(wide).frame)


def test_a_key_mapped_by_columns_is_named_by_the_files_own_column(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    # hunt (left33b): with --columns run=index, a losses key with no mixture was located at "column 'run'", a
    # column the losses file does not have; its own is 'index'.
    losses, mixtures = tmp_path / "losses.csv", tmp_path / "mixtures.csv"
    losses.write_text("index,step,val\na,100,3.1\nb,100,3.2\nzz,100,3.3\n")
    mixtures.write_text("run,w:web,w:code\na,0.5,0.5\nb,0.3,0.7\n")
    code, _, err = run_cli(capsys, "runs", "import", str(losses), "--mixtures-table", str(mixtures), "--columns",
                           "run=index,step=step,loss:pile=val", "--out", str(tmp_path / "runs.csv"))
    assert code == 2 and f"{losses}:4: column 'index': run 'zz' has no row in {mixtures}" in err, err
    assert "(mapped to run)" in err and "column 'run'" not in err, err


def test_a_recipes_table_of_bare_domain_columns_is_told_to_name_them(tmp_path: Path) -> None:
    # recipes.csv with columns recipe, web, code, math (no w: prefix) got "found 0 among recipe, web, code, math" and
    # nothing more; --columns 'w:*=*' is refused beside --mixtures-table ("give one"): the way out was a guess (hunt34).
    losses, recipes, _ = _sweep(tmp_path)
    pd.read_csv(recipes).rename(columns=lambda c: c.removeprefix("w:")).to_csv(recipes, index=False)
    with pytest.raises(DataError, match=r"its columns web, code, math hold numbers; if they are the shares, name them "
                                        r"w:<domain> in recipes.csv \('web' -> 'w:web'\)"):
        read_runs_mapped(losses, None, mixtures=recipes, on="recipe")
