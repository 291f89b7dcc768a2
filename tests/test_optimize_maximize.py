"""Higher-is-better metrics (issue 10, benchmark-style evals): an accuracy column stored where a loss goes was
minimised, silently returning the worst mixture. ``maximize=True`` (``--maximize``) maximises it; a name that
reads as such a metric warns when it is minimised."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from cli_runner import run_cli

from mixlaw.api import optimize_runs
from mixlaw.data import RunTable
from mixlaw.errors import HigherIsBetterWarning, InputError
from mixlaw.evals import reads_higher_is_better
from mixlaw.laws import get_law
from mixlaw.optimize import optimize_mixture

#: The mixture at which the synthetic accuracy peaks: sum_j p_j log(r_j + 0.01) is largest at r ~ p.
PEAK = np.array([0.5, 0.3, 0.2])


def _accuracy_table(name: str = "hellaswag_acc", n: int = 60, seed: int = 0) -> RunTable:
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.ones(3), size=n)
    score = np.log(W + 0.01) @ PEAK - np.log(PEAK + 0.01) @ PEAK  # <= 0, 0 at the peak
    acc = 0.8 * np.exp(score) * (1 + 0.002 * rng.standard_normal(n))  # in (0.1, 0.8]
    return RunTable(pd.DataFrame({"run": [f"r{i}" for i in range(n)],
                                  **{f"w:{d}": W[:, j] for j, d in enumerate("abc")}, f"loss:{name}": acc}))


def _l1(weights: dict[str, float]) -> float:
    return float(np.abs(np.array([weights[d] for d in "abc"]) - PEAK).sum())


@pytest.mark.parametrize("search", ["gradient", "simulate"])
def test_maximize_finds_the_accuracy_peak_and_minimising_finds_the_other_end(search: str) -> None:
    table = _accuracy_table()
    law = get_law("ye-pow").fit(table, targets="hellaswag_acc")
    kw = {"search": search, "natural": table.weights.mean(axis=0), "n_samples": 20_000, "within_fitted_range": True}
    best = optimize_mixture(law, maximize=True, **kw)
    assert _l1(best.weights) < 0.03
    assert best.maximize and best.objective > best.natural_objective
    assert best.improvement == pytest.approx(best.objective - best.natural_objective) and best.improvement > 0
    assert best.objective == pytest.approx(best.losses["hellaswag_acc"])  # the metric itself, not its negation
    assert best.objective == pytest.approx(0.8, abs=0.01)
    assert max(best.start_objectives) == pytest.approx(best.objective) or search == "simulate"
    with pytest.warns(HigherIsBetterWarning, match=r"'hellaswag_acc'.*--maximize"):
        worst = optimize_mixture(law, **kw)
    assert _l1(worst.weights) > 0.8 and worst.objective < best.objective
    assert worst.objective < worst.natural_objective and not worst.maximize


def test_maximize_with_a_trust_radius_keeps_the_best_run_as_its_floor() -> None:
    # The L1-ball search starts from the best-predicted runs: with maximize, those of highest accuracy.
    table = _accuracy_table()
    law = get_law("ye-pow").fit(table, targets="hellaswag_acc")
    pred = law.predict(table.weights).ravel()
    opt = optimize_mixture(law, maximize=True, runs=table.weights, trust_radius=0.05)
    assert opt.nearest_run_l1 <= 0.05 + 1e-6
    assert opt.objective >= pred.max() - 1e-9


def test_maximize_through_the_api_with_auto_and_the_bootstrap() -> None:
    table = _accuracy_table()
    res = optimize_runs(table, law="auto", candidates=["ye-pow", "linear"], cv_folds=3, maximize=True, n_boot=4,
                        n_jobs=1)
    assert res.maximize and _l1(res.weights) < 0.05 and res.improvement > 0
    lo, hi = res.intervals["objective"]
    assert lo <= res.objective <= hi and hi < 0.85
    assert json.loads(json.dumps(res.to_dict()))["maximize"] is True
    assert "(maximised: higher is better)" in str(res) and "[[Predicted values]]" in str(res)


def test_auto_warns_on_the_eval_it_minimises_not_on_its_objective_column() -> None:
    with pytest.warns(HigherIsBetterWarning, match="'hellaswag_acc'"):
        optimize_runs(_accuracy_table(), law="auto", candidates=["linear"], cv_folds=3)


def test_the_warning_fires_for_metric_names_only() -> None:
    assert reads_higher_is_better("hellaswag_acc") and reads_higher_is_better("pass@1")
    assert reads_higher_is_better("squad_f1") and reads_higher_is_better("alpaca_win_rate")
    for loss in ("pile_cc", "loss_bpb", "enron_emails", "accel", "c4"):
        assert not reads_higher_is_better(loss), loss
    law = get_law("linear").fit(_accuracy_table("pile_cc"), targets="pile_cc")
    with warnings.catch_warnings():
        warnings.simplefilter("error", HigherIsBetterWarning)
        optimize_mixture(law, within_fitted_range=True)  # a loss: no warning
    acc = get_law("linear").fit(_accuracy_table(), targets="hellaswag_acc")
    with warnings.catch_warnings():
        warnings.simplefilter("error", HigherIsBetterWarning)
        optimize_mixture(acc, maximize=True, within_fitted_range=True)  # maximised: no warning


def test_what_maximize_cannot_mean_is_refused_with_the_alternative() -> None:
    law = get_law("linear").fit(_accuracy_table(), targets="hellaswag_acc")
    with pytest.raises(InputError, match="'max'.*cannot be maximised"):
        optimize_mixture(law, objective="max", maximize=True)
    with pytest.raises(InputError, match="maximize=True"):
        optimize_mixture(law, objective={"hellaswag_acc": -1.0})
    with pytest.raises(InputError, match="steps-to-match.*maximised"):
        optimize_runs(_accuracy_table(), law="linear", maximize=True, step_law=(2.0, 5.0, 0.3), target_steps=1e4)


def test_max_with_maximize_is_refused_before_the_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    # optimize_runs fails fast on bad objectives; 'max' with maximize was refused only after the (auto: CV) fit.
    from mixlaw.laws.base import MixingLaw

    def no_fit(*a, **k):
        raise AssertionError("fitted before refusing")

    monkeypatch.setattr(MixingLaw, "fit", no_fit)
    for law in ("linear", "auto"):
        with pytest.raises(InputError, match="'max'.*cannot be maximised"):
            optimize_runs(_accuracy_table(), law=law, objective="max", maximize=True)


def test_cli_maximize_says_it_maximised(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    path = tmp_path / "runs.csv"
    _accuracy_table().frame.to_csv(path, index=False)
    code, out, err = run_cli(capsys, "optimize", "--runs", str(path), "--law", "ye-pow", "--maximize")
    assert code == 0, err
    # the one eval's name, not the default 'mean' of it
    assert "objective=hellaswag_acc  (maximised: higher is better)" in out and "[[Predicted values]]" in out
    assert "HigherIsBetter" not in err and "--maximize" not in err
    code, out, err = run_cli(capsys, "optimize", "--runs", str(path), "--law", "ye-pow", "--maximize", "--json")
    assert code == 0, err
    opt = json.loads(out)["optimum"]
    assert opt["maximize"] is True and _l1(opt["weights"]) < 0.03 and opt["improvement"] > 0
    code, out, err = run_cli(capsys, "optimize", "--runs", str(path), "--law", "ye-pow")
    assert code == 0, err
    assert "'hellaswag_acc'" in err and "--maximize" in err and "maximised" not in out
    # An objective of one eval set is named 'loss of X' when minimised; maximised, by the metric's own name (also
    # through auto, which fits the objective column).
    for law in (["--law", "ye-pow"], ["--law", "auto", "--candidates", "ye-pow,linear"]):
        code, out, err = run_cli(capsys, "optimize", "--runs", str(path), *law, "--objective", "hellaswag_acc",
                                 "--maximize")
        assert code == 0, err
        assert "objective=hellaswag_acc  (maximised: higher is better)" in out and "loss of" not in out
    # --fit-total fits one law on a column named 'objective': the warning names the evals it sums.
    code, out, err = run_cli(capsys, "optimize", "--runs", str(path), "--law", "ye-pow", "--fit-total")
    assert code == 0, err
    assert "['hellaswag_acc']" in err and "--maximize" in err


def test_a_metric_at_zero_or_below_is_refused_with_what_to_store_instead(tmp_path) -> None:
    # An exact-match score of 0 (a tiny proxy) or a score difference below 0: refused, not loosened (laws fit log L).
    table = _accuracy_table("mmlu_em").frame
    table.loc[3, "loss:mmlu_em"] = 0.0
    path = tmp_path / "runs.csv"
    table.to_csv(path, index=False)
    with pytest.raises(InputError, match=r"runs\.csv:5: column 'loss:mmlu_em': loss is 0, expected > 0 \(the laws "
                       r"fit positive losses: .*1 - accuracy.*--maximize if higher is better\)"):
        RunTable(pd.read_csv(path), path=str(path))
    W = table[["w:a", "w:b", "w:c"]].to_numpy()
    with pytest.raises(InputError, match=r"got -0\.5 \(the laws fit positive losses.*--maximize"):
        get_law("linear").fit(W, table["loss:mmlu_em"].to_numpy() - 0.5)


def test_the_pipeline_says_its_laws_cannot_extrapolate_a_rising_metric_once() -> None:
    # Its step and size laws (B, A > 0) fall with steps and size, and it has no maximize: the fit says so and
    # points to optimize --maximize; its optimum does not repeat the optimiser's '--maximize' advice.
    from test_pipeline import N_STAR, NESTED, S_STAR, world

    from mixlaw.pipeline import fit_pipeline, optimize_pipeline

    table = RunTable(world(n_mix=8).frame.rename(columns={"loss:code": "loss:humaneval_pass@1"}))
    with pytest.warns(HigherIsBetterWarning, match=r"\['humaneval_pass@1'\].*extrapolated.*'mixlaw optimize "
                      r"--maximize'"):
        res = fit_pipeline(table, target_params=N_STAR, target_steps=S_STAR, **NESTED)
    with warnings.catch_warnings():
        warnings.simplefilter("error", HigherIsBetterWarning)
        optimize_pipeline(res, steps_to_match=False)
    # Nor does its optimum take maximize as a constraint: it was passed on to the optimiser, and steps-to-match
    # then read the falling curve of a maximised metric.
    with pytest.raises(InputError, match="does not maximise.*--maximize"):
        optimize_pipeline(res, maximize=True)


def test_pipeline_fit_total_warns_of_the_metrics_it_sums(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    # With --fit-total the pipeline fits one column named 'objective', so fit_pipeline's warning saw no metric name.
    from test_pipeline import world

    path = tmp_path / "sweep.csv"
    world(n_mix=8).frame.rename(columns={"loss:code": "loss:humaneval_pass@1"}).to_csv(path, index=False)
    code, _, err = run_cli(capsys, "pipeline", "--runs", str(path), "--target-params", "1e9", "--target-steps", "1e5",
                           "--route", "nested", "--law", "ye-exp", "--fit-total")
    assert code == 0, err
    assert "['humaneval_pass@1'] read as higher-is-better" in err and "mixlaw optimize --maximize" in err


def test_report_maximizes_too(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    # mixlaw report's optimal mixture minimised, and its HigherIsBetterWarning said '--maximize', which report
    # did not take.
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    _accuracy_table().frame.to_csv(train, index=False)
    _accuracy_table(n=20, seed=1).frame.to_csv(test, index=False)
    out = tmp_path / "r.html"
    args = ["report", "--runs", str(train), "--test", str(test), "--laws", "ye-pow", "--out", str(out)]
    code, _, err = run_cli(capsys, *args, "--maximize")
    assert code == 0, err
    page = out.read_text()
    assert "objective hellaswag_acc, maximised, within the fitted range)" in page
    assert "(maximised: higher is better)" in page
    assert "HigherIsBetter" not in err and "read as higher-is-better" not in err
    code, _, err = run_cli(capsys, *args)
    assert code == 0 and "read as higher-is-better" in err and "maximised" not in out.read_text()


def test_active_design_gathers_its_proposals_around_the_maximum(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    from mixlaw.design import active_design

    table = _accuracy_table()
    d = active_design(table, 3, law="ye-pow", objective="hellaswag_acc", maximize=True, n_bootstrap=8,
                      n_candidates=300, n_jobs=1)
    assert d.attrs["maximize"] is True and _l1(d.attrs["optimum"]["weights"]) < 0.05
    assert d.attrs["objective"] == "hellaswag_acc"  # not 'loss of hellaswag_acc', as optimize names it
    assert np.all(d["l1_to_optimum"] <= 0.25 + 1e-9)  # the default radius, around the peak
    path = tmp_path / "runs.csv"
    table.frame.to_csv(path, index=False)
    code, out, err = run_cli(capsys, "design", "--method", "active", "--runs", str(path), "--law", "ye-pow",
                             "--maximize", "--n", "2", "--bootstrap", "8", "--json")
    assert code == 0, err
    doc = json.loads(out)["design"]
    assert doc["maximize"] is True and _l1(doc["optimum"]["weights"]) < 0.05
    code, _, err = run_cli(capsys, "design", "--domains", "a,b", "--maximize")
    assert code == 2 and "--maximize applies to --method active only" in err


def test_optimize_mixture_warnings_name_the_callers_line() -> None:
    # optimize_mixture runs inside blas_on_one_thread's wrapper: its warnings named fit.py's
    # 'return fn(*args, **kwargs)' as where they came from, not the line that called it.
    W = np.random.default_rng(0).dirichlet(np.ones(3), 30)
    law = get_law("ye-exp").fit(W, 2 + np.exp(-2 * W[:, 0]), targets="hellaswag_acc")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        optimize_mixture(law)
    kinds = {type(w.message).__name__: w.filename for w in caught}
    assert set(kinds) >= {"HigherIsBetterWarning", "ExtrapolationWarning"}
    assert set(kinds.values()) == {__file__}


def test_a_mean_of_a_loss_and_an_accuracy_is_told_to_be_split_not_maximised() -> None:
    # mixlaw optimize --objective mean on Chen et al.'s BO sweep (loss:gsm8k beside loss:acc_gsm8k) advised
    # --maximize, which would have maximised the loss as well.
    from mixlaw.evals import warn_minimised_metrics

    with pytest.warns(HigherIsBetterWarning, match=r"\['acc_gsm8k'\].*averaged with the loss\(es\) \['gsm8k'\].*"
                                                   r"--objective gsm8k .*--objective acc_gsm8k --maximize"):
        warn_minimised_metrics(["gsm8k", "acc_gsm8k"])
    with pytest.warns(HigherIsBetterWarning, match="pass maximize=True") as rec:  # an accuracy alone: as before
        warn_minimised_metrics(["acc_gsm8k"])
    assert "averaged" not in str(rec[0].message)


def test_regret_of_an_accuracy_is_that_of_the_run_predicted_highest() -> None:
    from mixlaw.metrics import regret_at_k

    y = np.array([0.30, 0.50, 0.40, 0.20])
    p = np.array([0.31, 0.45, 0.47, 0.10])  # the law ranks run 2 highest, run 3 lowest
    assert regret_at_k(y, p, maximize=True) == pytest.approx(0.10)  # best 0.50 - run 2's 0.40
    assert regret_at_k(y, p, k=2, maximize=True) == pytest.approx(0.0)  # runs 2 and 1
    assert regret_at_k(y, p) == pytest.approx(0.0)  # minimised: run 3, the lowest, is the best loss


def test_compare_maximize_scores_the_regret_of_an_accuracy(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # ADMIRE-BayesOpt's IFT accuracies: 'compare --json' gave regret_at_1 0.0022 for linear on avg_id+ood, the
    # accuracy of the run it predicted LOWEST minus the lowest; compare had no --maximize.
    train, test = _accuracy_table(seed=0), _accuracy_table(n=30, seed=1)
    p_train, p_test = tmp_path / "train.csv", tmp_path / "test.csv"
    train.frame.to_csv(p_train, index=False)
    test.frame.to_csv(p_test, index=False)
    regret = {}
    for flag in ([], ["--maximize"]):
        code, out, err = run_cli(capsys, "compare", "--runs", str(p_train), "--test", f"t={p_test}", "--laws",
                                 "loglinear-sat", "--json", *flag)
        assert code == 0, err
        doc = json.loads(out)
        regret[bool(flag)] = doc["laws"][0]["splits"]["t"]["regret_at_1"]
        # Recorded: a regret of 0.01 means another run for an accuracy than for a loss (it was not in the JSON).
        assert doc["maximize"] is bool(flag)
    law = get_law("loglinear-sat").fit(train)
    y, pred = test.losses(["hellaswag_acc"])[:, 0], np.asarray(law.predict(test)).ravel()
    assert regret[True] == pytest.approx(y.max() - y[np.argmax(pred)])
    assert regret[False] == pytest.approx(y[np.argmin(pred)] - y.min())
    assert np.argmax(pred) != np.argmin(pred)  # the two regrets are of different runs


def test_maximize_is_a_bool() -> None:
    # maximize="no" (a string from a config file) is truthy: optimize_mixture maximised without a word.
    W = np.random.default_rng(0).dirichlet(np.ones(3), 30)
    law = get_law("linear").fit(W, 2 + W[:, 0], domains=["a", "b", "c"], targets="loss")
    for bad in ("no", "False", 1, None):
        with pytest.raises(InputError, match=r"maximize must be True or False \(--maximize\); got "):
            optimize_mixture(law, maximize=bad)
    with pytest.raises(InputError, match="maximize must be True or False"):
        optimize_runs(_accuracy_table(), law="linear", targets="hellaswag_acc", maximize="no")
    assert optimize_mixture(law, maximize=np.bool_(True)).maximize is True


def test_a_maximised_linear_law_is_concave_and_its_optimum_global() -> None:
    # 'optimize --law linear --maximize' said "not known to be convex: best of the starts" (16 starts): an affine
    # prediction is concave too, and maximising a concave objective (minimising its convex negation) is the
    # well-posed case. A convex law maximised (loglinear, ye-exp) is not: "not known to be concave".
    table = _accuracy_table()
    W = table.weights
    lin = get_law("linear").fit(table, targets="hellaswag_acc")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = optimize_mixture(lin, maximize=True)
        assert r.convex and r.n_starts == 1 and "concave: the optimum is global" in r.method
        assert "convex" not in r.method
        # The branch and bound over the trust radius's balls holds for it too: no sample within the radius beats it.
        near = optimize_mixture(lin, maximize=True, runs=W, trust_radius=0.15)
        assert near.convex and "concave: the optimum is global" in near.method
        rng = np.random.default_rng(1)
        draws = W[rng.integers(len(W), size=20000)] + 0.15 * (rng.dirichlet(np.ones(3), 20000) - 1 / 3)
        inside = draws[(np.abs(draws[:, None, :] - W[None]).sum(-1).min(1) <= 0.15) & (draws.min(1) >= 0)]
        hi = np.array([near.upper[d] for d in "abc"])
        inside = inside[np.all(inside >= np.array([near.lower[d] for d in "abc"]) - 1e-12, axis=1)
                        & np.all(inside <= hi + 1e-12, axis=1)]
        assert len(inside) > 100 and lin.predict(inside).max() <= near.objective + 1e-9
        for key in ("loglinear", "ye-exp"):
            other = optimize_mixture(get_law(key).fit(table, targets="hellaswag_acc"), maximize=True)
            assert not other.convex and "not known to be concave: best of the starts" in other.method, key
