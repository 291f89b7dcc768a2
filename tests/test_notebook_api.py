"""A notebook user's walk through the Python API: what survives save / load, and how results name their laws."""

from __future__ import annotations

import re

import numpy as np
import pytest

import mixlaw


@pytest.mark.parametrize("key, options", [("loglinear-sat", {}),
                                          ("auto", {"candidates": ["linear", "loglinear"], "n_folds": 3})])
def test_a_loaded_law_has_the_saved_law_s_tuple_options(tmp_path, key, options) -> None:  # type: ignore[no-untyped-def]
    # JSON has no tuple: loglinear-sat's default alpha=(10.0, 30.0, 100.0) and auto's fit_on=("per-eval", "direct")
    # came back lists, so get_params() differed after the round trip and the repr named the default as given:
    # "AutoLaw(candidates=[...], n_folds=3, fit_on=['per-eval', 'direct'])".
    train = mixlaw.load_regmix("train_1m").subset(np.arange(60))
    law = mixlaw.get_law(key, **options).fit(train, targets="pile_cc")
    mixlaw.save_law(law, tmp_path / "law.json")
    again = mixlaw.load_law(tmp_path / "law.json")
    assert repr(again) == repr(law)
    assert {k: (type(v), v) for k, v in again.get_params().items()} == \
        {k: (type(v), v) for k, v in law.get_params().items()}
    np.testing.assert_array_equal(again.predict(train), law.predict(train))


def test_compare_names_a_configured_law_by_its_options() -> None:
    # laws=["ye-pow", YePower(gamma_pooling=10)] gave two rows both named 'ye-pow' (in the text, to_frame() and
    # best()): which of the two ranked the held-out runs better could not be told from the leaderboard.
    from mixlaw.laws import YePower

    t = mixlaw.load_regmix("train_1m")
    train, test = t.subset(np.arange(80)), t.subset(np.arange(80, 110))
    board = mixlaw.compare(train, {"test": test}, targets="pile_cc",
                           laws=["ye-pow", YePower(gamma_pooling=10.0), YePower(), "linear"])
    assert [r.law for r in board.rows] == ["ye-pow", "ye-pow(gamma_pooling=10.0)", "ye-pow", "linear"]
    assert list(board.to_frame()["law"]) == ["ye-pow", "ye-pow(gamma_pooling=10.0)", "ye-pow", "linear"]
    assert "ye-pow(gamma_pooling=10.0)" in str(board)


def test_the_leaderboard_text_keeps_its_columns_apart() -> None:
    # At a fixed 14 cells a column, Marin's bundled held-out split printed 'ρ early_stopMRE early_stop', and a name
    # longer than 14 cells ('ye-pow(gamma_pooling=10.0)', 'dz-eq3-safe[direct]') pushed its row's numbers right of
    # their headers.
    from mixlaw.compare import LawScore, Leaderboard

    m = {"spearman": 0.9, "mre": 0.01}
    board = Leaderboard([LawScore("ye-pow", 1.0, 160, {"early_stop": m}),
                         LawScore("ye-pow(gamma_pooling=10.0)", 1.0, 160, {"early_stop": m})],
                        ["uncheatable_obj"], "marin-delphi:train", 187)
    head, *rows = str(board).splitlines()
    assert re.search(r"ρ early_stop +MRE early_stop$", head), head
    assert {len(line) for line in rows} == {len(head)}


def test_the_optimum_names_its_nearest_run_from_a_frame_of_runs() -> None:
    # optimize_mixture(law, runs=table.frame) reported "L1 distance to the nearest run = ... (run row 7)" where
    # runs=table named the same run by its id.
    t = mixlaw.load_regmix("train_1m").subset(np.arange(60))
    law = mixlaw.get_law("linear").fit(t, targets="pile_cc")
    by_table = mixlaw.optimize_mixture(law, runs=t, trust_radius=0.3)
    by_frame = mixlaw.optimize_mixture(law, runs=t.frame, trust_radius=0.3)
    assert by_frame.nearest_run == by_table.nearest_run
    assert by_frame.nearest_run_name == by_table.nearest_run_name == str(t.runs[by_table.nearest_run])
    assert f"(run {by_table.nearest_run_name!r})" in str(by_frame)
    assert mixlaw.optimize_mixture(law, runs=t.weights, trust_radius=0.3).nearest_run_name is None


def test_domains_given_beside_a_run_table_order_its_columns_by_name() -> None:
    # fit(table, domains=reversed(table.domains)) relabelled the table's columns by position: the law's R2 on its
    # own runs was -0.74 for 0.79, the same for a frame of 'w:' columns with the losses beside it. A table's columns
    # name its domains; domains= now orders them, and names that are not its domains are refused.
    from mixlaw.errors import InputError

    t = mixlaw.load_regmix("train_1m").subset(np.arange(150))
    ref = mixlaw.get_law("linear").fit(t, targets="pile_cc")
    back = list(reversed(t.domains))
    weights = t.frame[[f"w:{d}" for d in t.domains]]
    for law in (mixlaw.get_law("linear").fit(t, targets="pile_cc", domains=back),
                mixlaw.get_law("linear").fit(t.frame, targets="pile_cc", domains=back),
                mixlaw.get_law("linear").fit(weights, t.frame["loss:pile_cc"], domains=back)):
        assert law.domains_ == back
        assert law.score(t) == pytest.approx(ref.score(t), abs=1e-12)
        np.testing.assert_allclose(law.predict(t), ref.predict(t), rtol=1e-12)
    with pytest.raises(InputError, match=r"are not the domains .* that regmix:train_1m's 'w:' columns name"):
        mixlaw.get_law("linear").fit(t, targets="pile_cc", domains=[f"d{j}" for j in range(len(t.domains))])
    with pytest.raises(InputError, match="that the frame's 'w:' columns name"):
        mixlaw.get_law("linear").fit(weights, t.frame["loss:pile_cc"], domains=back[:-1] + ["other"])


def test_the_total_of_ye_total_is_its_composition_s_total() -> None:
    # YeTotal's docstring: predict_total "is what the optimiser minimises with objective='total'"; the optimiser
    # minimised the plain sum of the losses, so composition= changed nothing: {pile_cc: 0.95, github: 0.05} and the
    # default gave the same optimum (objective 9.2593, predict_total 5.1506 there).
    from mixlaw.laws import YeTotal

    t = mixlaw.load_regmix("train_1m").subset(np.arange(200))
    law = YeTotal(composition={"pile_cc": 0.95, "github": 0.05}).fit(t, targets=["pile_cc", "github"])
    opt = mixlaw.optimize_mixture(law, objective="total", runs=t, trust_radius=0.5)
    assert opt.objective_name == "total"
    assert opt.objective == pytest.approx(float(law.predict_total(opt.weight_array()[None, :])[0]), rel=1e-12)
    same = mixlaw.optimize_mixture(law, objective={"pile_cc": 0.95, "github": 0.05}, runs=t, trust_radius=0.5)
    np.testing.assert_allclose(opt.weight_array(), same.weight_array(), atol=1e-9)
    # optimize_runs' error line measures the same objective: the weighted total of the runs' losses
    res = mixlaw.optimize_runs(t, law=law, targets=["pile_cc", "github"], objective="total", trust_radius=0.5)
    assert res.objective == pytest.approx(float(law.predict_total(res.weight_array()[None, :])[0]), rel=1e-12)
    truth = t.losses(["pile_cc", "github"]) @ law.composition_
    rmse = float(np.sqrt(np.mean((law.predict_total(t) - truth) ** 2)))
    assert res.law_error["rmse"] == pytest.approx(rmse, rel=1e-9)


def test_an_array_or_series_objective_is_refused_in_one_line() -> None:
    # 9d6ec99 compared the objective to 'total' before checking its type: an array or a pandas Series stopped on
    # "ValueError: The truth value of an array with more than one element is ambiguous" (a Series: "of a Series").
    import pandas as pd

    t = mixlaw.load_regmix("train_1m").subset(np.arange(100))
    law = mixlaw.get_law("linear").fit(t, targets=["pile_cc", "github"])
    for objective in (np.array([0.5, 0.5]), pd.Series({"pile_cc": 0.5, "github": 0.5})):
        with pytest.raises(mixlaw.InputError, match="objective must be 'mean', 'total', 'max', a mapping"):
            mixlaw.optimize_mixture(law, objective=objective, runs=t)


def test_the_best_run_of_ye_total_s_total_is_its_composition_s_total() -> None:
    # The best measured run was scored by the plain sum of the losses beside an optimum scored by ye-total's
    # weighted total: "predicted objective = 4.6394 ... best run (measured) = 9.3890 (run '130'), predicted gain
    # over it = 4.75 (50.59%)" (RegMix train_1m's first 200 runs, default composition).
    t = mixlaw.load_regmix("train_1m").subset(np.arange(200))
    names = ["pile_cc", "github"]
    truth = t.losses(names) @ np.array([0.95, 0.05])
    for law in ("ye-total", mixlaw.get_law("ye-total", composition={"pile_cc": 0.95, "github": 0.05})):
        res = mixlaw.optimize_runs(t, law=law, targets=names, objective="total", trust_radius=0.5)
        s = np.full(2, 0.5) if law == "ye-total" else np.array([0.95, 0.05])
        measured = t.losses(names) @ s
        assert res.best_run["objective"] == pytest.approx(float(measured.min()), rel=1e-12)
        assert res.best_run["row"] == int(np.argmin(measured))
    fitted = mixlaw.get_law("ye-total", composition={"pile_cc": 0.95, "github": 0.05}).fit(t, targets=names)
    saved = mixlaw.optimize_saved_law(fitted, t, objective="total")
    assert saved.best_run["objective"] == pytest.approx(float(truth.min()), rel=1e-12)


def test_an_unknown_fixed_name_of_additive_ens_names_the_ensemble() -> None:
    # The member's check said "The 'fixed' parameter of ShukorAdditive names unknown parameter(s)
    # ['free:pile_cc.E']": another class than the one built, for a name copied from the ensemble's own params_.
    from mixlaw.errors import InvalidParameterError

    t = mixlaw.load_regmix("train_1m").subset(np.arange(60))
    law = mixlaw.get_law("additive-ens").fit(t, targets="pile_cc")
    name = next(iter(law.params_))
    assert name == "free:pile_cc.E"
    with pytest.raises(InvalidParameterError, match=r"^The 'fixed' parameter of ShukorAdditiveEnsemble names unknown "
                                                    r"parameter\(s\) \['free:pile_cc.E'\].*without params_'s 'free:'"):
        mixlaw.get_law("additive-ens", fixed={name: 4.0}).fit(t, targets="pile_cc")
    fixed = mixlaw.get_law("additive-ens", fixed={"E": 4.0}).fit(t, targets="pile_cc")
    assert fixed.params_["free:pile_cc.E"].value == fixed.params_["shared:pile_cc.E"].value == 4.0


def test_a_natural_mixture_given_as_a_series_is_read_by_its_labels() -> None:
    # natural=pd.Series(shares, index=domains) in another order than the law's domains was read by position: each
    # domain got another's share in the report's natural column and in the improvement over it.
    t = mixlaw.load_regmix("train_1m").subset(np.arange(150))
    law = mixlaw.get_law("linear").fit(t, targets="pile_cc")
    mean = t.frame[[f"w:{d}" for d in t.domains]].mean()  # labelled w:<domain>, as a notebook gets it
    ref = mixlaw.optimize_mixture(law, natural=dict(zip(t.domains, t.weights.mean(axis=0), strict=True)))
    for natural in (mean, mean.iloc[::-1], mean.rename(lambda c: c[2:]).iloc[::-1]):
        opt = mixlaw.optimize_mixture(law, natural=natural)
        assert opt.natural_weights == pytest.approx(ref.natural_weights, rel=1e-12)
        assert opt.natural_objective == pytest.approx(ref.natural_objective, rel=1e-12)


def test_compare_leaves_a_law_given_as_an_instance_as_it_was() -> None:
    # compare refitted the instance itself: a law fitted on all 512 runs for pile_cc was, after
    # compare(train, tests, targets=["pile_cc", "github"], laws=[law]), fitted on the 256 fitting runs for both evals,
    # and law.predict(W) returned shape (n, 2) for (n,). laws=[3] stopped on an AttributeError.
    full = mixlaw.load_regmix("train_1m")
    law = mixlaw.get_law("linear").fit(full, targets="pile_cc")
    before = law.predict(full.weights[:5])
    train, tests = mixlaw.compare.holdout_split(full, 0.5, random_state=0)
    board = mixlaw.compare(train, tests, targets=["pile_cc", "github"], laws=[law])
    assert board.rows[0].law == "linear" and board.rows[0].error is None
    assert law.n_runs_ == 512 and law.targets_ == ["pile_cc"]
    np.testing.assert_array_equal(law.predict(full.weights[:5]), before)
    with pytest.raises(mixlaw.InputError, match="compare: law must be a law key"):
        mixlaw.compare(train, tests, targets="pile_cc", laws=[3])
