"""Fitting at one scale and testing or predicting at another is called out, pointing to the pipeline."""

from __future__ import annotations

import json
import warnings

import pandas as pd
import pytest

from mixlaw import load_regmix
from mixlaw.compare import compare
from mixlaw.data import RunTable
from mixlaw.errors import ScaleWarning
from mixlaw.laws.base import get_law

pytestmark = pytest.mark.filterwarnings("ignore:.*mixture weights outside the fitted range")


@pytest.fixture(scope="module")
def regmix():
    return {s: load_regmix(s) for s in ("train_1m", "test_1m", "test_1B")}


def test_compare_warns_on_the_1b_split_only(regmix):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        board = compare(regmix["train_1m"], {"test_1m": regmix["test_1m"], "test_1B": regmix["test_1B"]},
                        targets="pile_cc", laws=["linear"])
    scale = [str(w.message) for w in caught if issubclass(w.category, ScaleWarning)]
    assert len(scale) == 1 and "held-out split 'test_1B'" in scale[0]
    assert "model size 1e+09 vs 1e+06" in scale[0] and "mixlaw pipeline" in scale[0]
    assert board.rows[0].splits["test_1B"]["mre"] > 0.3  # the error the warning explains


def test_law_predict_on_a_table_of_another_scale(regmix):
    law = get_law("linear").fit(regmix["train_1m"], targets="pile_cc")
    with pytest.warns(ScaleWarning, match="model size 1e\\+09 vs 1e\\+06"):
        law.predict(regmix["test_1B"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ScaleWarning)
        law.predict(regmix["test_1m"])  # same scale: silent
        law.predict(regmix["test_1B"].weights)  # bare weights carry no scale to compare


def test_loss_level_mismatch_without_size_columns(regmix):
    t = regmix["train_1m"]
    frame = pd.DataFrame({"run": t.runs, **{f"w:{d}": t.weights[:, j] for j, d in enumerate(t.domains)},
                          "loss:pile_cc": t.losses("pile_cc")})
    from mixlaw.data import RunTable

    train = RunTable(frame.iloc[:300])
    same = RunTable(frame.iloc[300:])
    other = RunTable(frame.iloc[300:].assign(**{"loss:pile_cc": frame["loss:pile_cc"].iloc[300:] / 2}))
    law = get_law("linear").fit(train, targets="pile_cc")
    with pytest.warns(ScaleWarning, match="median loss .* outside the fitted runs' range"):
        law.predict(other)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ScaleWarning)
        law.predict(same)


def test_cli_compare_and_predict_warn_on_stderr(capsys, tmp_path, regmix):
    from mixlaw.cli import main

    def run(*argv):
        with pytest.raises(SystemExit) as exc:
            main(list(argv))
        cap = capsys.readouterr()
        return exc.value.code, cap.out, cap.err

    t1, tb = regmix["train_1m"], regmix["test_1B"]
    for name, t in (("train", t1), ("test", tb)):
        pd.DataFrame({"run": t.runs, **{f"w:{d}": t.weights[:, j] for j, d in enumerate(t.domains)},
                      "loss:pile_cc": t.losses("pile_cc"), "params": t.model_params}).to_csv(tmp_path / f"{name}.csv",
                                                                                             index=False)
    code, out, err = run("compare", "--runs", str(tmp_path / "train.csv"), "--test", str(tmp_path / "test.csv"),
                         "--laws", "linear", "--target", "pile_cc", "--json")
    assert code == 0 and "warning: held-out split 'test'" in err and "mixlaw pipeline" in err
    json.loads(out)
    law = tmp_path / "law.json"
    assert run("fit", "--runs", str(tmp_path / "train.csv"), "--law", "linear", "--target", "pile_cc",
               "--out", str(law))[0] == 0
    code, out, err = run("predict", "--law", str(law), "--mixtures", str(tmp_path / "test.csv"))
    assert code == 0 and "model size 1e+09 vs 1e+06" in err


def test_no_loss_level_warning_when_both_tables_state_their_scale(regmix):
    # Dai & Zheng's 122M runs split 14/6 (every row at params 1.22e8, tokens 2e10): a held-out median above the 14
    # fitted losses warned "outside the fitted runs' range ... fit across scales with mixlaw pipeline".
    from mixlaw.data import RunTable

    t = regmix["train_1m"]
    frame = pd.DataFrame({"run": t.runs, **{f"w:{d}": t.weights[:, j] for j, d in enumerate(t.domains)},
                          "loss:pile_cc": t.losses("pile_cc"), "params": 1.22e8, "tokens": 2e10})
    train = RunTable(frame.iloc[:300])
    higher = frame.iloc[300:].assign(**{"loss:pile_cc": frame["loss:pile_cc"].iloc[300:] * 1.5})
    law = get_law("linear").fit(train, targets="pile_cc")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ScaleWarning)
        law.predict(RunTable(higher))
    with pytest.warns(ScaleWarning, match="median loss .* outside the fitted runs' range"):
        law.predict(RunTable(higher.drop(columns="tokens")))  # tokens unknown: the loss level still speaks
    with pytest.warns(ScaleWarning, match="model size 1e\\+09 vs 1.22e\\+08"):
        law.predict(RunTable(higher.assign(params=1e9)))


def _mix_table(w_a: list[float], loss_of_a) -> RunTable:
    return RunTable(pd.DataFrame({"run": [f"r{i}" for i in range(len(w_a))], "w:a": w_a,
                                  "w:b": [1 - x for x in w_a], "loss:x": [loss_of_a(x) for x in w_a]}))


def _compare_scale_notes(train: RunTable, name: str, other: RunTable) -> list[str]:
    """The ScaleWarning messages of compare(train, {name: other}) with linear on eval x."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compare(train, {name: other}, targets="x", laws=["linear"])
    return [str(w.message) for w in caught if issubclass(w.category, ScaleWarning)]


def test_loss_level_note_names_mixtures_beyond_the_fitted_shares():
    # Marin's 13 measured optimiser proposals at its Delphi swarm's scale (all below the swarm's best loss; 9 with a
    # share beyond the swarm's, stack_edu_fim 0.24 against at most 0.15) were only pointed to the pipeline.
    train = _mix_table([i / 100 for i in range(0, 31)], lambda a: 3.0 - a)
    proposals = _mix_table([0.6, 0.7, 0.8, 0.9, 0.2], lambda a: 3.0 - a)
    msgs = _compare_scale_notes(train, "proposals", proposals)
    assert len(msgs) == 1 and "median loss" in msgs[0] and "mixlaw pipeline" in msgs[0]
    assert "leave the fitted runs' shares (4 of 5 runs; farthest: w:a 0.9, fitted 0 to 0.3)" in msgs[0]
    assert "extrapolation in the weights" in msgs[0]
    # the fitted law says the same when it predicts them
    law = get_law("linear").fit(train, targets="x")
    with pytest.warns(ScaleWarning, match="leave the fitted runs' shares"):
        law.predict(proposals)


def test_loss_level_note_absent_when_the_mixtures_are_the_fitted_ones():
    # A loss level the fitted runs never reached, at mixtures inside their shares: another scale or setup, as before.
    train = _mix_table([i / 100 for i in range(0, 31)], lambda a: 3.0 - a)
    other = _mix_table([0.05, 0.1, 0.2, 0.25, 0.9], lambda a: 1.5 - a)
    msgs = _compare_scale_notes(train, "other", other)
    assert len(msgs) == 1 and "median loss" in msgs[0] and "shares" not in msgs[0]


def test_a_fitted_domain_the_other_table_lacks_counts_as_share_zero():
    # The held-out table names only a and b; the fitted runs always trained on c (0.2-0.4). Its runs are all at c = 0,
    # outside c's fitted range: they were not counted (the note named 0 of them and said nothing).
    from mixlaw.data.scales import _beyond_weight_ranges

    other = _mix_table([0.5, 0.6, 0.4], lambda a: 2.0)
    ranges = {"a": (0.0, 1.0), "b": (0.0, 1.0), "c": (0.2, 0.4)}
    assert _beyond_weight_ranges(other, ranges) == "3 of 3 runs; farthest: w:c 0, fitted 0.2 to 0.4"


def test_the_loss_level_line_names_an_eval_the_user_asked_for(regmix):
    # compare --target pile_cc of RegMix's 1M runs (imported, no size column) against its 60M split named 'arxiv',
    # the table's first eval, though pile_cc's median (4.69) lies as far outside its fitted range (hunt34).
    def plain(t: RunTable) -> RunTable:
        return RunTable(pd.DataFrame({"run": t.runs, **{f"w:{d}": t.weights[:, j] for j, d in enumerate(t.domains)},
                                      **{f"loss:{e}": t.losses(e) for e in t.evals}}))

    train, test = plain(regmix["train_1m"]), plain(load_regmix("test_60m"))
    for target in ("pile_cc", "github"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            compare(train, {"test60": test}, targets=target, laws=["linear"])
        scale = [str(w.message) for w in caught if issubclass(w.category, ScaleWarning)]
        assert len(scale) == 1 and "median loss" in scale[0] and f"on {target!r}" in scale[0], scale
