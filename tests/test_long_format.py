"""A long table (one row per run, checkpoint and eval set, as DataDecide's results and many trackers' exports are)
is told that it is long and how to pivot it, and the pivot it gives reads as the run table.

Found exporting mixlaw's trainer runs long (issue 9): the error said "A column 'loss' is one eval set: name it
loss:<eval>", and the table so renamed stopped at "duplicate run" instead; ``runs import`` offered a --columns map,
which renames columns and cannot turn rows into them."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from mixlaw.data import read_runs
from mixlaw.errors import DataError
from mixlaw.importers import read_runs_mapped


def _wide() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(2), size=3)
    rows = [{"run": f"r{i}", "params": 7e7, "step": s, "w:web": W[i, 0], "w:code": W[i, 1],
             "loss:web": 3.0 - W[i, 0] - s / 1e4, "loss:code": 2.5 - W[i, 1] - s / 1e4}
            for i in range(3) for s in (1000, 2000)]
    return pd.DataFrame(rows)


def _long(wide: pd.DataFrame) -> pd.DataFrame:
    ids = ["run", "params", "step", "w:web", "w:code"]
    out = wide.melt(id_vars=ids, var_name="task", value_name="loss")
    return out.assign(task=out["task"].str.removeprefix("loss:"))


def test_a_long_table_is_named_and_its_pivot_reads_back(tmp_path):
    wide = _wide()
    p = tmp_path / "long.csv"
    _long(wide).to_csv(p, index=False)
    with pytest.raises(DataError) as exc:
        read_runs(p)
    msg = str(exc.value)
    assert "The table is long: one row per run, checkpoint and eval set, column 'task' naming the set (web, code)" \
        in msg and "name it loss:<eval>" not in msg and "--columns" not in msg
    recipe = re.search(r"e\.g\. in pandas (df\.pivot\(.*\))\.$", msg)
    assert recipe is not None, msg
    df = pd.read_csv(p)
    back = _read_frame(eval(recipe.group(1), {"df": df}), tmp_path)  # noqa: S307 (the message's own code)
    want = _read_frame(wide, tmp_path)
    key = ["run", "step"]
    got = back.frame.sort_values(key).reset_index(drop=True)
    exp = want.frame.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(got[exp.columns], exp, check_dtype=False)


def _read_frame(frame: pd.DataFrame, tmp_path):  # type: ignore[no-untyped-def]
    p = tmp_path / "table.csv"
    frame.to_csv(p, index=False)
    return read_runs(p)


def test_runs_import_names_a_long_table_by_the_file_s_own_columns(tmp_path):
    p = tmp_path / "export.csv"
    _long(_wide()).rename(columns={"run": "Name", "loss": "value"}).to_csv(p, index=False)
    with pytest.raises(DataError, match=r"with this --columns map the table has no 'loss:<eval>' column .*\. The "
                                        r"table is long: .*column 'task' naming the set \(web, code\).*"
                                        r"index=\['Name', 'params', 'step', 'w:web', 'w:code'\], columns='task', "
                                        r"values='value'\)"):
        read_runs_mapped(p, "run=Name")


def test_a_wide_table_without_losses_keeps_its_hint(tmp_path):
    p = tmp_path / "wide.csv"
    _wide().drop(columns=["loss:code"]).rename(columns={"loss:web": "loss"}).to_csv(p, index=False)
    with pytest.raises(DataError, match=r"A column 'loss' is one eval set: name it loss:<eval>"):
        read_runs(p)


def test_the_pivot_keeps_rows_with_an_empty_cell(tmp_path):
    # A note given for one run only (empty for the others): the hint's df.pivot_table(...) left out the rows with
    # the empty note, without a word (2 runs of 3 gone from the table it gave).
    wide = _wide().assign(note=lambda d: np.where(d["run"] == "r0", "rerun", None))
    p = tmp_path / "long.csv"
    _long_with(wide, ["note"]).to_csv(p, index=False)
    with pytest.raises(DataError) as exc:
        read_runs(p)
    recipe = re.search(r"e\.g\. in pandas (df\.\w+\(.*\))\.$", str(exc.value))
    assert recipe is not None and "'note'" in recipe.group(1), str(exc.value)
    back = eval(recipe.group(1), {"df": pd.read_csv(p)})  # noqa: S307 (the message's own code)
    assert sorted(back["run"]) == sorted(wide["run"]) and back["loss:web"].notna().all()


def _long_with(wide: pd.DataFrame, extra: list[str]) -> pd.DataFrame:
    ids = ["run", "params", "step", *extra, "w:web", "w:code"]
    out = wide.melt(id_vars=ids, var_name="task", value_name="loss")
    return out.assign(task=out["task"].str.removeprefix("loss:"))


@pytest.mark.parametrize("eval_col", ["eval", "suite"])
def test_a_long_table_with_its_own_key_names_is_named(tmp_path, eval_col):
    # A user's long table keyed by its own names (mixture, model, step, eval, loss; newuser3): the hint keyed only
    # on run/params/step/tokens, found none, and the error offered a --columns map for a W&B export. Both text
    # columns name a row with the rest; the eval is picked by its name, else ('suite') by the loss it explains.
    rng = np.random.default_rng(0)
    base = {"c4": 3.2, "github": 1.1, "arxiv": 2.4}
    rows = [{"mixture": f"mix{m}", "model": n, "step": s, eval_col: e, "loss": b - 0.1 * s / 3000 + 0.02 * rng.random()}
            for m in range(6) for n in (2e7, 6e7) for s in (1000, 2000, 3000) for e, b in base.items()]
    p = tmp_path / "long.csv"
    pd.DataFrame(rows).to_csv(p, index=False)
    with pytest.raises(DataError) as exc:
        read_runs_mapped(p, None)
    msg = str(exc.value)
    assert f"The table is long: one row per run, checkpoint and eval set, column {eval_col!r} naming the set " \
           "(c4, github, arxiv)" in msg and "--columns 'run=Name" not in msg, msg
    recipe = re.search(r"e\.g\. in pandas (df\.pivot\(.*\))\.$", msg)
    assert recipe is not None, msg
    back = eval(recipe.group(1), {"df": pd.read_csv(p)})  # noqa: S307 (the message's own code)
    assert len(back) == 36 and {"loss:c4", "loss:github", "loss:arxiv"} <= set(back.columns)


@pytest.mark.parametrize("importer", [read_runs, lambda p: read_runs_mapped(p, None)])
def test_a_jsonl_log_with_list_cells_gets_the_error_not_a_traceback(tmp_path, importer):
    # A JSONL log whose records carry a list ("tags": ["sweep", "v2"]; newuser4): the long-table hint counted and
    # keyed rows by every column, and pandas raised "TypeError: unhashable type: 'list'" from `mixlaw fit --runs`
    # and `mixlaw runs import`, a traceback in place of the table's error. A long log is still named as long.
    rows = _long(_wide()).assign(tags=[["sweep", "v2"]] * 12).to_dict("records")
    p = tmp_path / "log.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(DataError, match=r"The table is long: .*column 'task' naming the set \(web, code\)"):
        importer(p)
    flat = [{"name": f"r{i}", "mix_a": i / 5, "mix_b": 1 - i / 5, "loss": 3 - i / 10, "tags": ["x"]} for i in range(6)]
    p.write_text("".join(json.dumps(r) + "\n" for r in flat))
    with pytest.raises(DataError, match=r"weight column"):
        importer(p)


def test_a_long_table_with_rows_given_twice_is_still_named_long(tmp_path):
    # Ye et al.'s RedPajama logs, one line per (checkpoint, eval), list some checkpoints' evals twice (86 of 15288
    # lines at 70M and 160M, the same loss): the hint gave up on any repeated (run, step, eval), and the error offered
    # a --columns map for a W&B export. The recipe now drops the repeats first, and reads back as the wide table.
    wide = _wide()
    long = _long(wide)
    p = tmp_path / "long.csv"
    pd.concat([long, long.iloc[:3]]).to_csv(p, index=False)
    with pytest.raises(DataError) as exc:
        read_runs_mapped(p, None)
    msg = str(exc.value)
    assert "column 'task' naming the set (web, code) (3 row(s) repeat another whole, the same loss twice: the " \
           "recipe drops them)" in msg and "--columns 'run=Name" not in msg, msg
    recipe = re.search(r"e\.g\. in pandas (df\.drop_duplicates\(\)\.pivot\(.*\))\.$", msg)
    assert recipe is not None, msg
    back = _read_frame(eval(recipe.group(1), {"df": pd.read_csv(p)}), tmp_path)  # noqa: S307 (the message's code)
    got = back.frame.sort_values(["run", "step"]).reset_index(drop=True)
    exp = _read_frame(wide, tmp_path).frame.sort_values(["run", "step"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got[exp.columns], exp, check_dtype=False)
    # Other losses for the same run, step and eval (seeds under one name) are not a long table's repeats.
    pd.concat([long, long.iloc[:1].assign(loss=9.0)]).to_csv(p, index=False)
    with pytest.raises(DataError) as exc:
        read_runs_mapped(p, None)
    assert "The table is long" not in str(exc.value)
