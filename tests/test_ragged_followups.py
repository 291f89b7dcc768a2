"""Follow-ups of the ragged auto / stack fits (a loss missing in some rows): what a saved law keeps of them, the
order of their parameters, and the one sentence for an eval the objective weighs 0."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from test_missing_losses import continual_frame
from test_review17 import _ragged  # n runs, evals a, b, c; b misses k losses

from mixlaw.data import RunTable
from mixlaw.errors import DataWarning, InputError
from mixlaw.laws.auto import AutoLaw
from mixlaw.laws.base import law_from_dict
from mixlaw.laws.stack import StackLaw

CANDS = ["ye-exp", "linear"]


def _fit(law, df, **kw):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return law.fit(RunTable(df), **kw)


def _round_trip(d):  # type: ignore[no-untyped-def]
    return law_from_dict(json.loads(json.dumps(d)))


@pytest.fixture(scope="module")
def ragged_auto() -> AutoLaw:
    return _fit(AutoLaw(candidates=CANDS), _ragged())


# ---------------------------------------------------------------------- 2. a saved law keeps rows_left_out_
@pytest.mark.parametrize("cls", [AutoLaw, StackLaw])
def test_a_saved_ragged_law_keeps_its_rows_left_out(cls, ragged_auto):  # type: ignore[no-untyped-def]
    law = ragged_auto if cls is AutoLaw else _fit(StackLaw(candidates=CANDS), _ragged())
    assert law.rows_left_out_ == {"b": 12} and law.n_runs_ == 40
    back = _round_trip(law.to_dict())
    assert back.rows_left_out_ == {"b": 12} and back.n_runs_ == 40
    # the report's header names the rows each eval lost, as the fitted law's does
    assert "left out rows without a loss: loss:b 12" in back.report().text(verbose=True)
    assert back.report().to_dict()["rows_left_out"] == {"b": 12}


def test_a_saved_objective_law_names_the_unfitted_eval_it_counts() -> None:
    # b weighs 0 and misses 12 losses: not fitted (not in evals_), yet its missing cells are counted
    law = _fit(AutoLaw(candidates=CANDS, objective="c"), _ragged())
    assert law.evals_ == ["a", "c"] and law.unfitted_ == ["b"] and law.rows_left_out_ == {"b": 12}
    back = _round_trip(law.to_dict())
    assert back.rows_left_out_ == {"b": 12} and back.unfitted_ == ["b"]


def test_a_law_saved_before_rows_left_out_existed_loads_with_none(ragged_auto) -> None:  # type: ignore[no-untyped-def]
    d = ragged_auto.to_dict()
    del d["rows_left_out"]
    del d["state"]["unfitted"]
    back = _round_trip(d)
    assert back.rows_left_out_ == {} and back.unfitted_ == []
    assert "left out rows" not in back.report().text(verbose=True)


@pytest.mark.parametrize(("value", "match"), [
    ({"b": -1}, "non-negative integers"),
    ({"b": 1.5}, "non-negative integers"),
    ({"b": True}, "non-negative integers"),
    ({"b": "12"}, "non-negative integers"),
    ([["b", 12]], "must be null or an object"),
    ("b", "must be null or an object"),
    ({"": 3}, "eval names"),
    ({"zz": 3}, r"names \['zz'\], not an eval set of the law \(a, b, c\)"),
])
def test_a_saved_rows_left_out_is_checked(ragged_auto, value, match) -> None:  # type: ignore[no-untyped-def]
    d = ragged_auto.to_dict()
    d["rows_left_out"] = value
    with pytest.raises(InputError, match=match):
        _round_trip(d)


def test_a_saved_unfitted_list_is_checked(ragged_auto) -> None:  # type: ignore[no-untyped-def]
    d = ragged_auto.to_dict()
    d["state"]["unfitted"] = "b"
    with pytest.raises(InputError, match="'unfitted' must be a list of eval names"):
        _round_trip(d)


# ---------------------------------------------------------------------- 3. parameters in the eval sets' order
def _evals_in_order(names: list[str]) -> list[str]:
    """The eval set of each per-eval member parameter ('ye-exp:b.c' -> 'b'), in the order listed."""
    return [n.split(":", 1)[1].split(".", 1)[0] for n in names if not n.startswith("w:")]


@pytest.mark.parametrize("cls", [AutoLaw, StackLaw])
def test_a_ragged_fit_lists_its_parameters_in_the_eval_sets_order(cls, ragged_auto):  # type: ignore[no-untyped-def]
    # b is measured on fewer rows: its group is fitted after a and c's, and its parameters came last
    law = ragged_auto if cls is AutoLaw else _fit(StackLaw(candidates=CANDS), _ragged())
    assert [m[2] for m in law.members_][:1] == [["a", "c"]]
    names = list(law.params_)
    seen = _evals_in_order(names)
    assert seen == sorted(seen) and set(seen) == {"a", "b", "c"}
    assert [r.split(":", 1)[1] for r in law.results_] == ["a", "b", "c"]
    assert list(law.parameters) == names and list(law.to_dict()["params"]) == names
    report = law.report().text(verbose=True)
    assert [report.index(f"{n} ") for n in names] == sorted(report.index(f"{n} ") for n in names)
    assert list(_round_trip(law.to_dict()).params_) == names
    if cls is StackLaw:  # the stack weights after the members', per eval set in its order
        weights = [n.split(":")[1] for n in names if n.startswith("w:")]
        assert weights == sorted(weights) and names[-len(weights):] == [n for n in names if n.startswith("w:")]

def test_a_shared_parameter_is_listed_with_its_members_first_eval() -> None:
    # dz-eq1's parameters are shared by the evals it was fitted on (a and c), not named by one: listed with a
    # 2 folds: the names come from the refits on all rows, and the CV of the one candidate (5 folds: 49 s of 58 in
    # the profile) chooses nothing
    df = _ragged()
    law = _fit(AutoLaw(candidates=["dz-eq1"], n_folds=2), df)
    names = list(law.params_)
    first_b = min(i for i, n in enumerate(names) if n.startswith("dz-eq1(b):"))
    assert all(n.startswith("dz-eq1:") for n in names[:first_b])
    assert all(n.startswith("dz-eq1(b):") for n in names[first_b:])


# ---------------------------------------------------------------------- 4. one sentence for an eval weighed 0
def test_an_eval_weighed_0_is_said_in_one_sentence_by_a_command_and_by_a_law_s_fit() -> None:
    from mixlaw.evals import objective_weights, unweighted_gaps

    df = _ragged()
    objective = {"a": 1.0, "b": 0.0, "c": 1.0}
    said = []
    with pytest.warns(DataWarning) as rec:  # a command's table (optimize, compare, design, bootstrap)
        unweighted_gaps(RunTable(df), ["a", "b", "c"], objective, objective_weights(objective, ["a", "b", "c"]))
    said.append(str(rec[0].message))
    with pytest.warns(DataWarning) as rec:  # the law's own fit of a table
        AutoLaw(candidates=["linear"], objective=objective).fit(RunTable(df))
    said.append(next(str(w.message) for w in rec if "weighs" in str(w.message)))
    with pytest.warns(DataWarning) as rec:  # of an array with NaN losses
        AutoLaw(candidates=["linear"], objective=objective).fit(df[["w:x", "w:y", "w:z"]].to_numpy(),
                                                                 df[["loss:a", "loss:b", "loss:c"]].to_numpy(),
                                                                 targets=["a", "b", "c"])
    said.append(next(str(w.message) for w in rec if "weighs" in str(w.message)))
    assert said[0].startswith("run table: ") and said[1].startswith("law 'auto': ")
    assert said[2].startswith("law 'auto': ")
    sentence = ("the objective weighs b 0: not fitted, so the rows that miss its loss are kept (loss:b 12 of 40 rows "
                "that have a, c); give it a weight to fit and predict it")
    assert [s.split(": ", 1)[1] for s in said] == [sentence] * 3


# ---------------------------------------------------------------------- 5. the reduced objective as an argument
@pytest.mark.parametrize("cls", [AutoLaw, StackLaw])
def test_the_objective_over_the_fitted_evals_is_passed_to_the_cv_not_kept_on_the_law(cls) -> None:  # type: ignore[no-untyped-def]
    # b weighs 0 and misses losses: the CV is of the objective over a and c, handed down as an argument; it was a
    # law attribute set and reset around the fit (a refit or a clone copied mid-fit would have read it)
    import inspect

    assert "objective" in inspect.signature(cls._fit_rows).parameters
    assert "objective" in inspect.signature(cls._cv).parameters
    law = _fit(cls(candidates=["linear"], objective={"a": 1.0, "b": 0.0, "c": 2.0}), _ragged())
    assert "_objective_fit" not in vars(law)
    assert law.evals_ == ["a", "c"] and law._s.tolist() == [1.0, 2.0]
    full = _ragged(k=0)
    ref = _fit(cls(candidates=["linear"], objective={"a": 1.0, "c": 2.0}), full, targets=["a", "c"])
    W = full[["w:x", "w:y", "w:z"]].to_numpy()
    np.testing.assert_allclose(law.predict(W), ref.predict(W), rtol=1e-10)


# ---------------------------------------------------------------------- 1. continual: each eval on its own rows
def test_continual_with_auto_fits_each_eval_on_the_rows_that_have_it() -> None:
    # continual fits one law per eval (original, new), each on the rows with that loss, whatever the law: auto too
    # (a guard: it did so before this session; the pipeline is the command that still takes the common rows)
    from mixlaw.continual import critical_proportion

    df = continual_frame()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        res = critical_proportion(RunTable(df), law=AutoLaw(candidates=CANDS), pre_loss=2 + 0.4 * np.exp(0.45),
                                  n_boot=0)
        web = critical_proportion(RunTable(df.drop(index=3).drop(columns="loss:code")),
                                  law=AutoLaw(candidates=CANDS), pre_loss=2 + 0.4 * np.exp(0.45), n_boot=0)
    assert res.n_runs == 19 and res.law.n_runs_ == 19
    assert res.proportion == pytest.approx(web.proportion, abs=1e-12)
    assert res.new_loss_at_critical == pytest.approx(1.5 + np.exp(-2.0 * res.proportion), rel=1e-4)
