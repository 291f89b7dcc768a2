"""The bundled datasets: RegMix and Marin's Delphi swarm load, validate, and work with --dataset."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mixlaw import InputError, load_marin_delphi
from mixlaw.cli import main
from mixlaw.datasets import bundled_splits


def test_marin_delphi_loads_and_validates():
    t = load_marin_delphi()
    assert len(t) == 280 and len(t.domains) == 39 and len(t.evals) == 9
    assert {"uncheatable_obj", "table9_obj", "unch_github_python"} <= set(t.evals)
    # No metric is a training bucket: this is the data implicit aggregation exists for.
    assert not set(t.evals) & set(t.domains)
    np.testing.assert_allclose(t.weights.sum(axis=1), 1.0, atol=1e-12)
    assert t.weights.min() >= 0
    y = t.losses("all")
    assert np.all(np.isfinite(y)) and y.min() > 0.3 and y.max() < 3.0  # bits per byte
    split = t.frame["split_regmix"].to_numpy()
    assert (split == "train").sum() == 187 and (split == "early_stop").sum() == 93
    # The 39 controls (proportional mixture minus one bucket) each leave exactly one bucket out.
    ctrl = t.frame["run"].str.contains("pctrl_del_").to_numpy()
    assert ctrl.sum() == 39
    assert np.all((t.weights[ctrl] == 0).sum(axis=1) >= 1)


def test_marin_delphi_splits():
    train, tests = bundled_splits("marin-delphi")
    assert len(train) == 187 and list(tests) == ["early_stop"] and len(tests["early_stop"]) == 93
    assert set(train.runs).isdisjoint(tests["early_stop"].runs)
    with pytest.raises(InputError, match="unknown Marin Delphi split 'test'"):
        load_marin_delphi("test")
    with pytest.raises(InputError, match="unknown dataset 'pile'; bundled: regmix, marin-delphi"):
        bundled_splits("pile")


def test_cli_compare_marin_delphi(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["compare", "--dataset", "marin-delphi", "--target", "uncheatable_obj", "--laws", "linear", "--json"])
    assert exc.value.code == 0
    doc = json.loads(capsys.readouterr().out)
    row = doc["laws"][0]
    assert doc["n_train"] == 187 and set(row["splits"]) == {"early_stop"}
    # A linear law already ranks Marin's held-out runs on the objective (measured 0.870).
    assert row["splits"]["early_stop"]["spearman"] > 0.8


def test_cli_unknown_dataset(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["compare", "--dataset", "pile", "--laws", "linear"])
    assert exc.value.code == 2
    assert "error: unknown dataset 'pile'" in capsys.readouterr().err


def test_unknown_names_suggest_across_case_and_dashes():
    # mixlaw compare --dataset regmix --target Pile-CC (the Pile's spelling of pile_cc) and --dataset marin_delphi
    # listed the known names without a suggestion.
    from mixlaw.data import known_names
    from mixlaw.datasets import bundled_splits

    assert known_names(["Pile-CC"], ["arxiv", "pile_cc", "github"]).endswith("(did you mean 'pile_cc'?)")
    for name, meant in (("marin_delphi", "marin-delphi"), ("RegMix", "regmix")):
        with pytest.raises(InputError, match=f"bundled: regmix, marin-delphi \\(did you mean '{meant}'\\?\\)"):
            bundled_splits(name)
