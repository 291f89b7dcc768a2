"""A saved law keeps its fit's ``train_metrics`` (n_obs, RMSE, MAPE, R2, AIC, BIC, n_effective) and a loaded law's
report prints them as the fit's: the file is untrusted, so each is checked by name and range on load."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from mixlaw import get_law, load_law, save_law
from mixlaw.errors import InputError


def _saved(tmp_path):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), 24)
    y = 2.0 + 0.5 * np.exp(W @ np.array([1.5, -2.0, 0.4]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        law = get_law("ye-exp", random_state=0).fit(W, y)
    path = tmp_path / "law.json"
    save_law(law, path)
    return path, json.loads(path.read_text())


def _load_with(path, doc, tm):  # type: ignore[no-untyped-def]
    path.write_text(json.dumps({**doc, "train_metrics": tm}))
    return load_law(path)


@pytest.mark.parametrize("edit, field", [
    ({"RMSE": -0.5}, "train_metrics.RMSE"),            # before: loaded, its report read 'RMSE=-0.5'
    ({"n_obs": 2.5}, "train_metrics.n_obs"),           # before: 'n_obs=2'
    ({"MAPE": -1}, "train_metrics.MAPE"),
    ({"R2": 7}, "train_metrics.R2"),
    ({"RMSE": "0.1"}, "train_metrics.RMSE"),
    ({"rmse_typo": 0.1}, "train_metrics': unknown name 'rmse_typo'"),  # before: kept without a word
])
def test_an_edited_train_metric_is_refused_by_name(tmp_path, edit, field) -> None:  # type: ignore[no-untyped-def]
    path, doc = _saved(tmp_path)
    with pytest.raises(InputError, match=field.replace(".", r"\.")):
        _load_with(path, doc, {**doc["train_metrics"], **edit})


def test_a_huge_train_metrics_field_is_quoted_short(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Before: the error quoted the whole field, here 100 000 numbers (about 700 000 characters on one line).
    path, doc = _saved(tmp_path)
    with pytest.raises(InputError, match="train_metrics") as err:
        _load_with(path, doc, list(range(100_000)))
    assert len(str(err.value)) < 400


def test_saved_metrics_load_and_a_file_without_them_loads(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path, doc = _saved(tmp_path)
    tm = doc["train_metrics"]
    assert set(tm) >= {"n_obs", "RMSE", "MAPE", "R2", "AIC", "BIC"}
    law = _load_with(path, doc, {**tm, "R2": None})  # a null (not finite when saved) is left out
    assert law.train_metrics_ == pytest.approx({k: v for k, v in tm.items() if k != "R2"})
    old = {k: v for k, v in doc.items() if k != "train_metrics"}
    path.write_text(json.dumps(old))
    assert "training metrics: not saved with the law" in str(load_law(path).report())


def _held(report) -> list[str]:  # type: ignore[no-untyped-def]
    return [line.strip() for line in str(report).splitlines() if "(fixed" in line]


@pytest.mark.parametrize("key, options", [("ye-exp", {}), ("ye-exp", {"fixed": {"b.c": 1.0}}), ("stack", {}),
                                          ("auto", {})])
def test_a_loaded_law_says_why_a_parameter_is_held(tmp_path, key, options) -> None:  # type: ignore[no-untyped-def]
    # Before: the notes were not saved, so the loaded law's report read "(fixed)" where the fitted one's read
    # "(fixed: reference domain)" or "(fixed by user)" (stack's last weights alone were rebuilt).
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), 24)
    Y = np.column_stack([2.0 + 0.5 * np.exp(W @ np.array([1.5, -2.0, 0.4])), 3.0 + np.exp(-W[:, 1])])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        law = get_law(key, random_state=0, **options).fit(W, Y, targets=["a", "b"])
    fitted = _held(law.report())
    assert fitted and all(line.endswith(")") and "(fixed)" not in line for line in fitted), fitted
    path = tmp_path / "law.json"
    save_law(law, path)
    assert _held(load_law(path).report()) == fitted
    if options:
        assert any(line.endswith("(fixed by user)") for line in fitted)


def test_a_saved_note_must_be_short_text(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path, doc = _saved(tmp_path)
    name = next(n for n, p in doc["params"].items() if not p["vary"])
    doc["params"][name]["note"] = ["x"] * 100_000
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=f"parameter '{name}' must be .*note: null or one line of text") as err:
        load_law(path)
    assert len(str(err.value)) < 600


def test_a_saved_note_as_long_as_a_long_eval_name_makes_it_loads(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # A stack fitted on an eval of 420 characters saved its last weight's note "1 - the other w:<eval> weights" (444
    # characters) and its load refused it: the limit counts the name, which holds the eval's name too.
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), 30)
    y = 1.5 + np.exp(W @ np.array([0.3, -0.5, 0.2])) + 0.01 * rng.standard_normal(30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        law = get_law("stack", candidates=["linear", "loglinear"]).fit(W, y[:, None], domains=list("abc"),
                                                                       targets=["e" * 420])
    path = tmp_path / "law.json"
    save_law(law, path)
    assert _held(load_law(path).report()) == _held(law.report())
    assert np.allclose(load_law(path).predict(W), law.predict(W))


def test_a_saved_note_of_several_lines_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # The report prints it after the parameter's value: its second line read as a line of the report.
    path, doc = _saved(tmp_path)
    name = next(n for n, p in doc["params"].items() if not p["vary"])
    doc["params"][name]["note"] = "reference domain)\n    RMSE=0.000001  (fit by hand"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=f"parameter '{name}' must be .*note: null or one line of text"):
        load_law(path)


def test_a_loaded_laws_report_dict_leaves_out_the_evaluations_and_timing_it_does_not_know(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Its text leaves them out ("not saved"), but report().to_dict()["stats"] read nfev 0.0 and fit_seconds 0.0, as if
    # the fit had taken no evaluation and no time (hunt34c); the saved metrics are as fitted.
    path, doc = _saved(tmp_path)
    stats = load_law(path).report().to_dict()["stats"]
    assert "nfev" not in stats and "fit_seconds" not in stats
    assert stats == pytest.approx(doc["train_metrics"])
