"""`compare --dataset X --test T` and `report --dataset X --test T` score T beside the dataset's own splits.

A new user who measured mixtures proposed from Marin's Delphi swarm (Marin's own optimiser proposals, 13 mixtures
at the swarm's scale) ran `mixlaw compare --dataset marin-delphi --test proposals.csv --target uncheatable_obj`:
the leaderboard scored `early_stop` only and said no word of the --test table it dropped."""
from __future__ import annotations

import json

from cli_runner import run_cli as _cli

from mixlaw.datasets import load_marin_delphi


def _held_out(tmp_path, n=12, name="mine.csv"):
    """``n`` Delphi early_stop runs written as the user's own held-out table (losses known, same scale)."""
    frame = load_marin_delphi("early_stop").frame.iloc[:n]
    path = tmp_path / name
    frame.drop(columns=[c for c in frame.columns if c == "split_regmix"]).to_csv(path, index=False)
    return path


def test_compare_dataset_scores_the_test_tables_too(capsys, tmp_path):
    path = _held_out(tmp_path)
    code, out, err = _cli(capsys, "compare", "--dataset", "marin-delphi", "--test", str(path), "--target",
                          "uncheatable_obj", "--laws", "linear", "--json")
    assert code == 0, err
    splits = json.loads(out)["laws"][0]["splits"]
    assert list(splits) == ["mine", "early_stop"]  # the user's table first: its MRE is the leaderboard's
    assert splits["mine"]["rmse"] > 0
    code, out, err = _cli(capsys, "compare", "--dataset", "marin-delphi", "--test", str(path), "--target",
                          "uncheatable_obj", "--laws", "linear")
    assert code == 0, err
    assert "MRE mine" in out and "ρ early_stop" in out


def test_compare_dataset_test_named_like_a_bundled_split_is_refused(capsys, tmp_path):
    path = _held_out(tmp_path, name="early_stop.csv")
    code, _, err = _cli(capsys, "compare", "--dataset", "marin-delphi", "--test", str(path), "--target",
                        "uncheatable_obj", "--laws", "linear")
    assert code == 2
    assert "early_stop" in err and "--test NAME=PATH" in err


def test_report_dataset_draws_the_test_tables_too(capsys, tmp_path):
    path = _held_out(tmp_path)
    page = tmp_path / "r.html"
    code, _, err = _cli(capsys, "report", "--dataset", "marin-delphi", "--test", str(path), "--target",
                        "uncheatable_obj", "--laws", "linear", "--out", str(page))
    assert code == 0, err
    html = page.read_text()
    assert "early_stop" in html and "mine" in html
