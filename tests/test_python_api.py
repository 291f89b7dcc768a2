"""What a user who works from Python (a notebook, never the CLI) reaches from ``import mixlaw``."""

from __future__ import annotations

import re

import numpy as np
import pytest

import mixlaw


def test_save_and_load_of_laws_and_pipelines_are_at_the_top_level(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # They were only in mixlaw.api (save_law, load_law) and mixlaw.pipeline (save_pipeline, load_pipeline,
    # optimize_pipeline, beside the top level's fit_pipeline).
    for name in ("save_law", "load_law", "save_pipeline", "load_pipeline", "optimize_pipeline"):
        assert name in mixlaw.__all__ and callable(getattr(mixlaw, name))
    train = mixlaw.load_regmix("train_1m").subset(np.arange(60))
    law = mixlaw.get_law("linear").fit(train, targets=["pile_cc", "github"])
    mixlaw.save_law(law, tmp_path / "law.json")
    again = mixlaw.load_law(tmp_path / "law.json")
    np.testing.assert_array_equal(again.predict(train), law.predict(train))


def test_get_law_names_the_options_and_the_near_miss() -> None:
    # get_law("ye-exp", n_restart=3) said "YeExponential.__init__() got an unexpected keyword argument 'n_restart'";
    # get_law("ye_exp") listed the keys without pointing at the one meant.
    import pytest

    from mixlaw import InputError

    with pytest.raises(InputError, match=r"unknown law 'ye_exp' \(did you mean 'ye-exp'\?\); available: "):
        mixlaw.get_law("ye_exp")
    with pytest.raises(InputError, match=r"law 'ye-exp' has no option 'n_restart' \(did you mean 'n_restarts'\?\); "
                                         r"its options: loss, huber_delta, n_restarts"):
        mixlaw.get_law("ye-exp", n_restart=3)
    with pytest.raises(InputError, match=r"law 'auto' has no option 'zzz'; its options: candidates"):
        mixlaw.get_law("auto", zzz=1)
    assert mixlaw.get_law("ye-exp", n_restarts=3).n_restarts == 3


def _small():  # type: ignore[no-untyped-def]
    return mixlaw.load_regmix("train_1m").subset(np.arange(80))


def test_score_reads_the_losses_of_a_run_table() -> None:
    # law.score(test_table) raised TypeError "missing 1 required positional argument: 'losses'".
    import pandas as pd
    import pytest

    train = _small()
    law = mixlaw.get_law("linear").fit(train, targets=["pile_cc", "github"])
    assert law.score(train) == law.score(train, train.losses(["pile_cc", "github"]))
    one = mixlaw.get_law("linear").fit(train, targets="pile_cc")  # 1-D losses
    assert one.score(train) == one.score(train, train.losses("pile_cc"))
    gap = mixlaw.RunTable(train.frame.assign(**{"loss:github": np.where(np.arange(80) == 3, np.nan,
                                                                        train.losses("github"))}))
    with pytest.warns(mixlaw.DataWarning, match="scoring"):  # the row without its loss is left out, and said
        s = law.score(gap)
    keep = np.arange(80) != 3
    assert s == law.score(train.weights[keep], train.losses(["pile_cc", "github"])[keep])
    with pytest.raises(mixlaw.InputError, match="needs the measured losses"):
        law.score(train.weights)
    with pytest.raises(mixlaw.InputError, match=r"no loss column for \['github'\]"):
        law.score(pd.DataFrame(train.frame.drop(columns=["loss:github"])))


def test_nan_losses_of_an_array_name_their_rows() -> None:
    import pytest

    train = _small()
    y = train.losses("pile_cc").copy()
    y[[5, 9]] = np.nan
    with pytest.raises(mixlaw.InputError, match=r"2 of 80 rows are NaN or infinite \(0-based row\(s\) 5, 9\)"):
        mixlaw.get_law("linear").fit(train.weights, y)


def test_the_optimum_exports_as_is_and_percent_bounds_say_the_python_form() -> None:
    import pytest

    law = mixlaw.get_law("linear").fit(_small(), targets="pile_cc")
    opt = mixlaw.optimize_mixture(law)
    # export_mixture(opt, ...) said "the mixture must be a non-empty mapping {domain: weight}".
    assert mixlaw.export_mixture(opt, "json") == mixlaw.export_mixture(opt.weights, "json")
    with pytest.raises(mixlaw.InputError, match=r"give 0.05, not '5%'"):
        mixlaw.optimize_mixture(law, bounds={"github": ("5%", "30%")})


def test_cross_validation_of_a_run_table_frame_needs_no_separate_losses() -> None:
    # cross_val_score(law, frame) (the frame in the run table's columns, y None) scored every fold NaN: sklearn
    # caught score(X, None)'s error and gave nan with a warning. Now the same scores as the arrays give.
    from sklearn.model_selection import GridSearchCV, KFold, cross_val_score

    t = mixlaw.load_regmix("train_1m").subset(np.arange(120))
    frame = t.frame[["run", *[f"w:{d}" for d in t.domains], "loss:pile_cc"]]
    cv = KFold(3, shuffle=True, random_state=0)
    by_frame = cross_val_score(mixlaw.get_law("linear"), frame, cv=cv, error_score="raise")
    np.testing.assert_allclose(by_frame, cross_val_score(mixlaw.get_law("linear"), t.weights, t.losses("pile_cc"),
                                                         cv=cv), rtol=1e-12)  # the frame's shares renormalised
    assert np.all(np.isfinite(by_frame))
    grid = GridSearchCV(mixlaw.get_law("ye-exp", n_restarts=1), {"alpha": [0.0, 1.0]}, cv=cv, error_score="raise")
    assert np.all(np.isfinite(grid.fit(frame).cv_results_["mean_test_score"]))


def test_odd_arrays_to_fit_and_predict_are_input_errors() -> None:
    """Each of these stopped on a bare numpy ValueError ('zero-size array to reduction operation minimum', 'could not
    convert string to float'), not an InputError saying what to pass."""
    import numpy as np
    import pytest

    from mixlaw.errors import InputError
    from mixlaw.laws import get_law

    W = np.random.default_rng(0).dirichlet(np.ones(3), size=20)
    law = get_law("linear").fit(W, 2.0 + W[:, 0], domains=["web", "code", "books"])
    with pytest.raises(InputError, match="weights has no rows"):
        law.predict(np.zeros((0, 3)))
    with pytest.raises(InputError, match=r"got the text 'web=0.5,code=0.5' \(mixlaw.export.parse_mixture"):
        law.predict("web=0.5,code=0.5")
    with pytest.raises(InputError, match="weights has no rows"):
        get_law("linear").fit(np.ones((0, 2)), np.ones(0))
    with pytest.raises(InputError, match="losses must be numbers"):
        get_law("linear").fit(W, np.array(["a"] * 20))
    with pytest.raises(InputError, match="weights must be numbers"):
        get_law("linear").fit([["a", "b"]] * 5, np.ones(5))


def test_read_runs_and_runtable_say_what_they_take() -> None:
    """read_runs(df) stopped on "expected str, bytes or os.PathLike object, not DataFrame" and RunTable(dict) on
    "'dict' object has no attribute 'reset_index'"."""
    import pandas as pd
    import pytest

    from mixlaw import RunTable, read_runs
    from mixlaw.errors import InputError

    cols = {"run": ["a", "b"], "w:x": [1.0, 0.0], "w:y": [0.0, 1.0], "loss:z": [2.0, 3.0]}
    with pytest.raises(InputError, match=r"read_runs reads a file: give its path, got DataFrame; .*RunTable\(df"):
        read_runs(pd.DataFrame(cols))
    with pytest.raises(InputError, match="read_runs reads a file: give its path, got NoneType$"):
        read_runs(None)  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"RunTable takes a pandas DataFrame, got dict: RunTable\(pd.DataFrame"):
        RunTable(cols)  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"got str: mixlaw.read_runs\(path\) reads a file"):
        RunTable("runs.csv")  # type: ignore[arg-type]


def test_a_mistyped_optimiser_keyword_is_an_input_error_before_the_fit() -> None:
    # optimize_runs(..., trust_radious=0.3) fitted the law, then stopped on "TypeError: optimize_mixture() got an
    # unexpected keyword argument 'trust_radious'" (a function the user never called); so did optimize_saved_law,
    # optimize_pipeline and bootstrap_law(optimize=...). Now an InputError naming the caller and the near miss.
    import pytest

    from mixlaw.api import optimize_runs, optimize_saved_law

    train = _small()
    law = mixlaw.get_law("linear").fit(train, targets="pile_cc")
    near = r"takes no keyword 'trust_radious'; the keywords it passes to optimize_mixture are \[.*\(did you mean " \
           r"'trust_radius'\?\)$"
    with pytest.raises(mixlaw.InputError, match="optimize_runs " + near):
        optimize_runs(train, law="linear", targets="pile_cc", trust_radious=0.3)
    with pytest.raises(mixlaw.InputError, match="optimize_saved_law " + near):
        optimize_saved_law(law, train, trust_radious=0.3)
    with pytest.raises(mixlaw.InputError, match=r"bootstrap_law\(optimize=\) " + near):
        mixlaw.bootstrap_law(law, train, n_boot=2, n_jobs=1, optimize={"trust_radious": 0.3})
    from pathlib import Path

    runs = mixlaw.read_runs(Path(__file__).resolve().parents[1] / "bench" / "data" / "crossscale_runs_v3.csv")
    res = mixlaw.fit_pipeline(runs, target_params=934720, target_steps=2929, route="nested", law="linear")
    with pytest.raises(mixlaw.InputError, match="optimize_pipeline " + near):
        mixlaw.optimize_pipeline(res, trust_radious=0.3)
    # The keywords they pass on still work, and the optimum is that of optimize_mixture.
    assert optimize_runs(train, law="linear", targets="pile_cc", trust_radius=0.3).trust_region.endswith("0.3 of "
                                                                                                          "the runs")


def test_optimize_pipeline_keeps_the_commands_trust_region(capsys) -> None:  # type: ignore[no-untyped-def]
    # The README's optimize_pipeline(res, bounds=..., runs=runs, trust_radius=0.3) left each weight's fitted range
    # (legal 0.611, fitted 0.024-0.494) where 'mixlaw pipeline --optimize' with the same flags stays in it (0.494):
    # optimize_mixture's default (no range) was the pipeline's. Now the same optimum; extrapolate=True lifts it.
    import json
    import warnings
    from pathlib import Path

    from cli_runner import run_cli

    path = Path(__file__).resolve().parents[1] / "bench" / "data" / "crossscale_runs_v3.csv"
    code, out, err = run_cli(capsys, "pipeline", "--runs", str(path), "--target-params", "934720", "--target-steps",
                             "2929", "--route", "nested", "--law", "linear", "--optimize", "--bounds", "code=0.2:0.5",
                             "--trust-radius", "0.3", "--json")
    assert code == 0, err
    cli = json.loads(out)["optimum"]
    runs = mixlaw.read_runs(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mixlaw.fit_pipeline(runs, target_params=934720, target_steps=2929, route="nested", law="linear")
        opt = mixlaw.optimize_pipeline(res, bounds={"code": (0.2, 0.5)}, runs=runs, trust_radius=0.3)
        wide = mixlaw.optimize_pipeline(res, bounds={"code": (0.2, 0.5)}, runs=runs, trust_radius=0.3,
                                        extrapolate=True)
    np.testing.assert_allclose([opt.weights[d] for d in res.domains], [cli["weights"][d] for d in res.domains],
                               atol=1e-9)
    assert opt.trust_region == cli["trust_region"] == "fitted range and L1 radius 0.3 of the runs"
    assert wide.trust_region == "L1 radius 0.3 of the runs" and wide.objective < opt.objective


def test_save_law_and_save_pipeline_refuse_each_other_s_objects(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # save_law(pipeline_result) and save_law(optimum) wrote files neither loader read back; save_pipeline(law) and
    # save_law(dict) stopped on a bare AttributeError.
    import warnings
    from pathlib import Path

    import pytest

    law = mixlaw.get_law("linear").fit(_small(), targets="pile_cc")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runs = mixlaw.read_runs(Path(__file__).resolve().parents[1] / "bench" / "data" / "crossscale_runs_v3.csv")
        res = mixlaw.fit_pipeline(runs, target_params=934720, target_steps=2929, route="nested", law="linear")
    with pytest.raises(mixlaw.InputError, match=r"got PipelineResult: save a pipeline with save_pipeline"):
        mixlaw.save_law(res, tmp_path / "a.json")
    with pytest.raises(mixlaw.InputError, match=r"got OptimumResult: write an optimum with export_mixture"):
        mixlaw.save_law(mixlaw.optimize_mixture(law), tmp_path / "a.json")
    with pytest.raises(mixlaw.InputError, match=r"save_law writes a fitted law .*; got dict$"):
        mixlaw.save_law({"a": 1}, tmp_path / "a.json")
    with pytest.raises(mixlaw.InputError, match=r"got Linear: save a law with save_law"):
        mixlaw.save_pipeline(law, tmp_path / "a.json")
    assert not (tmp_path / "a.json").exists()
    mixlaw.save_pipeline(res, tmp_path / "p.json")
    with pytest.raises(mixlaw.InputError, match=r"pass it as --pipeline \(load_pipeline in Python\)"):
        mixlaw.load_law(tmp_path / "p.json")


def test_an_empty_target_list_says_so() -> None:
    # fit(table, targets=[]) said "127 run(s) x 0 eval set(s) = 0 losses are too few to fit 0 parameters".
    import pytest

    from mixlaw.api import optimize_runs

    train = _small()
    for call in (lambda: mixlaw.get_law("linear").fit(train, targets=[]),
                 lambda: optimize_runs(train, law="linear", targets=[])):
        with pytest.raises(mixlaw.InputError, match=r"no target given \(targets=\[\]\); name eval sets, or 'all'"):
            call()


def test_a_mixture_written_as_a_mapping_must_sum_to_one(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # law.predict({"arxiv": 0.5}) predicted a half mixture without a word, where 'mixlaw predict --mixtures
    # arxiv=0.5' says "weights sum to 0.5, expected 1 ± 0.01"; predict({}) gave a loss of 0.
    import pytest

    law = mixlaw.get_law("linear").fit(_small(), targets="pile_cc")
    for bad, total in (({"arxiv": 0.5}, "0.5"), ({}, "0")):
        with pytest.raises(mixlaw.InputError, match=rf"the mixture: weights sum to {total}, expected 1 ± 0.01 "
                                                     r"\(domains it leaves out have share 0; fix the shares, or raise "
                                                     r"the weight_tol= of fit"):
            law.predict(bad)
    with pytest.raises(mixlaw.InputError, match=r"mixture 1 \(0-based\): weights sum to 0.9"):
        law.predict([{"arxiv": 1.0}, {"arxiv": 0.9}])
    np.testing.assert_array_equal(law.predict({"arxiv": 0.5, "github": 0.5}),
                                  law.predict({"arxiv": 0.5, "github": 0.5, "pile_cc": 0.0}))
    one = np.zeros((1, len(law.domains_)))
    one[0, law.domains_.index("arxiv")] = one[0, law.domains_.index("github")] = 0.5
    np.testing.assert_array_equal(law.predict({"arxiv": 0.5, "github": 0.5}), law.predict(one))


def test_subset_says_what_it_takes() -> None:
    # table.subset(["run_a"]) and subset([500]) of 80 rows stopped on numpy's bare IndexError.
    import pytest

    t = _small()
    for bad in (["1"], [500], [1.5], np.ones(3, dtype=bool)):
        with pytest.raises(mixlaw.InputError, match=r"subset takes a boolean mask of its 80 rows or 0-based row "
                                                     r"positions .*table\.subset\(np\.isin\(table\.runs, names\)\)"):
            t.subset(bad)
    named = t.subset(np.isin(t.runs, ["1", "3"]))  # the hint works
    assert sorted(named.runs) == ["1", "3"]


def test_run_table_filter_takes_params() -> None:
    # RunTable.filter took model_params= only, where every other call names a model size params=.
    import pytest

    t = mixlaw.RunTable(pd_frame_at_sizes())
    assert len(t.filter(params=7e7)) == len(t.filter(model_params=7e7)) == 2
    assert len(t.filter(params=7e7, step=100)) == 1
    with pytest.raises(mixlaw.InputError, match="params= and model_params= are the same argument"):
        t.filter(params=7e7, model_params=7e7)


def pd_frame_at_sizes():  # type: ignore[no-untyped-def]
    import pandas as pd

    return pd.DataFrame({"run": ["a", "a", "b", "b"], "params": [7e7, 7e7, 1.6e8, 1.6e8], "step": [100, 200] * 2,
                         "w:x": [0.3, 0.3, 0.6, 0.6], "w:y": [0.7, 0.7, 0.4, 0.4], "loss:l": [3.0, 2.8, 2.9, 2.7]})


def test_the_commands_own_calls_are_at_the_top_level() -> None:
    # What 'mixlaw fit' / 'mixlaw optimize' / 'optimize --law law.json' run (fit_table, optimize_runs,
    # optimize_saved_law, which the README names) were in mixlaw.api only: mixlaw.optimize_runs was an AttributeError.
    from mixlaw import api

    for name in ("fit_table", "optimize_runs", "optimize_saved_law"):
        assert name in mixlaw.__all__ and getattr(mixlaw, name) is getattr(api, name)


def test_fit_table_refuses_options_it_would_drop() -> None:
    # fit_table(t, law=get_law("linear"), alpha=5.0) fitted the instance's alpha='cv' and dropped alpha=5.0 silently
    # (predictions 0.77 apart from law='linear', alpha=5.0 on 60 RegMix runs).
    import pytest

    t = _small()
    with pytest.raises(mixlaw.InputError, match=r"options \['alpha'\] configure a law given by key .* Linear"):
        mixlaw.fit_table(t, law=mixlaw.get_law("linear"), targets="pile_cc", alpha=5.0)
    assert mixlaw.fit_table(t, law="linear", targets="pile_cc", alpha=5.0).alpha == 5.0


def test_bootstrap_law_refuses_options_it_would_drop() -> None:
    import pytest

    t = _small()
    law = mixlaw.get_law("linear").fit(t, targets="pile_cc")
    with pytest.raises(mixlaw.InputError, match=r"law_options \['alpha'\] configure a law given by key"):
        mixlaw.bootstrap_law(law, t, n_boot=2, n_jobs=1, law_options={"alpha": 5.0})


def test_a_pipeline_prediction_far_from_its_target_scale_warns() -> None:
    # res.predict(W, params=70) (70 for 70M) returned losses of 25-101 for a table of 1.2-1.6 without a word (and so
    # did 'mixlaw predict --pipeline p.json --params 70'); fit_pipeline warns of such a target, predict did not.
    import warnings
    from pathlib import Path

    import pytest

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runs = mixlaw.read_runs(Path(__file__).resolve().parents[1] / "bench" / "data" / "crossscale_runs_v3.csv")
        res = mixlaw.fit_pipeline(runs, target_params=934720, target_steps=2929, route="nested", law="linear")
    W = res.mixtures[:1]
    with pytest.warns(mixlaw.ExtrapolationWarning, match=r"params=70 \(--params\) is 1/1.34e\+04 the pipeline's "
                                                         r"target 934720: is it in the same unit"):
        res.predict(W, params=70, steps=5000)
    with pytest.warns(mixlaw.ExtrapolationWarning, match=r"steps=1e\+09 \(--steps\) is 3.41e\+05x"):
        res.predict(W, steps=1e9)
    with warnings.catch_warnings():
        warnings.simplefilter("error", mixlaw.ExtrapolationWarning)
        res.predict(W, params=2e6, steps=5000)  # 2x the target: no such warning


def test_compare_dataset_takes_maximize() -> None:
    # 'mixlaw compare --dataset regmix --maximize' had no Python twin: compare_dataset took no maximize=.
    from mixlaw.api import compare_dataset

    board = compare_dataset("regmix", targets="pile_cc", laws=["linear"], maximize=True)
    assert board.maximize is True and board.to_dict()["maximize"] is True


def test_odd_constraint_values_are_input_errors() -> None:
    # Each stopped on a bare ValueError / TypeError inside the optimiser (constraints.py, search.py, budget.py).
    import pytest

    law = mixlaw.get_law("linear").fit(_small(), targets="pile_cc")
    cases = [({"fixed": {"github": "5%"}}, r"fixed \(--fixed\) weight of 'github' must be a number, a share "
                                           r"in \[0, 1\]; got '5%' \(percentages are the command line's form: "
                                           r"give 0.05, not '5%'\)"),
             ({"fixed": {"github": None}}, r"fixed \(--fixed\) weight of 'github' must be a number, a share "
                                           r"in \[0, 1\]; got None"),
             ({"fixed": {"github": float("nan")}}, r"must be a finite share in \[0, 1\]; got nan"),
             ({"runs": _small(), "trust_radius": "0.3"}, r"trust_radius \(--trust-radius\) is an L1 distance in "
                                                          r"\(0, 2\]; got '0.3'"),
             ({"tokens_available": {d: "1B" for d in law.domains_}, "target_tokens": 1e10},
              r"tokens_available \(--tokens-available\): the value of 'arxiv' must be a number; got '1B' .*give 2e9")]
    for kw, match in cases:
        with pytest.raises(mixlaw.InputError, match=match):
            mixlaw.optimize_mixture(law, **kw)


def test_optimize_runs_reads_a_path_as_fit_table_does(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # hunt26: optimize_runs("runs.csv", law="ye-exp") stopped on "'str' object has no attribute 'resolve_targets'";
    # fit_table and --runs read the path.
    import pandas as pd

    W = np.random.default_rng(3).dirichlet(np.ones(3), size=20)
    frame = pd.DataFrame({"run": [f"r{i}" for i in range(20)], "w:a": W[:, 0], "w:b": W[:, 1], "w:c": W[:, 2],
                          "loss:a": 2 + np.exp(W @ [-1.0, 0.3, 0.2])})
    path = tmp_path / "runs.csv"
    frame.to_csv(path, index=False)
    by_path = mixlaw.optimize_runs(str(path), law="ye-exp")
    by_table = mixlaw.optimize_runs(mixlaw.read_runs(path), law="ye-exp")
    assert by_path.weights == by_table.weights and by_path.nearest_run_name == by_table.nearest_run_name
    import pytest

    with pytest.raises(mixlaw.InputError, match="no such file"):
        mixlaw.optimize_runs(str(tmp_path / "missing.csv"), law="ye-exp")


@pytest.mark.parametrize("key", [3, ["linear"], None])
def test_get_law_of_a_key_that_is_not_a_string_is_an_input_error(key) -> None:
    # hunt30b: get_law(3) stopped on AttributeError "'int' object has no attribute 'replace'", get_law(['linear'])
    # on TypeError "unhashable type: 'list'".
    with pytest.raises(mixlaw.InputError, match=r"^key: a law key is a string such as 'ye-exp'; got .*\(available: "
                                                r"additive, "):
        mixlaw.get_law(key)


@pytest.mark.parametrize("call", ["fit_table", "optimize_runs", "bootstrap_law", "active_design"])
@pytest.mark.parametrize("law", [3, None, ["linear"]])
def test_a_law_that_is_neither_a_key_nor_a_law_is_an_input_error(call: str, law) -> None:
    # hunt30b: fit_table(t, law=3) stopped on AttributeError "'int' object has no attribute 'fit'" (optimize_runs
    # and bootstrap_law likewise, law=['linear'] on "unhashable type"), where active_design said what it takes.
    import pandas as pd

    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(2), size=8)
    table = mixlaw.RunTable(pd.DataFrame({"run": [f"r{i}" for i in range(8)], "w:a": W[:, 0], "w:b": W[:, 1],
                                          "loss:a": 2 + W[:, 0]}))
    calls = {"fit_table": lambda: mixlaw.fit_table(table, law=law),
             "optimize_runs": lambda: mixlaw.optimize_runs(table, law=law),
             "bootstrap_law": lambda: mixlaw.bootstrap_law(law, table, n_boot=3),
             "active_design": lambda: mixlaw.active_design(table, 2, law=law)}
    with pytest.raises(mixlaw.InputError, match=rf"^{call}: law must be a law key \(e\.g\. 'ye-exp'\) or a MixingLaw; "
                                                rf"got {type(law).__name__} "):
        calls[call]()


@pytest.mark.parametrize("targets", [3, [0], ["a", None]])
def test_targets_that_are_not_names_are_an_input_error(targets) -> None:
    # hunt30b: law.fit(table, targets=3) stopped on TypeError "'int' object is not iterable", targets=[0] on
    # AttributeError "'int' object has no attribute 'startswith'".
    import pandas as pd

    table = mixlaw.RunTable(pd.DataFrame({"run": ["r0", "r1", "r2"], "w:a": [0.2, 0.5, 0.8], "w:b": [0.8, 0.5, 0.2],
                                          "loss:a": [2.5, 2.3, 2.1]}))
    with pytest.raises(mixlaw.InputError, match=r"^targets: expected an eval name, a list of them, or 'all' \(the "
                                                r"table's evals: \['a'\]\); got "):
        mixlaw.get_law("linear").fit(table, targets=targets)
    assert mixlaw.get_law("linear").fit(table, targets=("a",)).predict([[0.5, 0.5]]).shape == (1, 1)


@pytest.mark.parametrize("targets", [np.array("a"), np.array(["a"]), (t for t in ["a"]), iter(["a"])],
                         ids=["0-d array", "array", "generator", "iterator"])
def test_targets_as_an_array_or_a_generator_are_read_once(targets) -> None:  # type: ignore[no-untyped-def]
    # review30c: a generator reached the table used up ("no target given (targets=[])") and a 0-d array of a name
    # stopped on numpy's TypeError "iteration over a 0-d array".
    import pandas as pd

    table = mixlaw.RunTable(pd.DataFrame({"run": ["r0", "r1", "r2"], "w:a": [0.2, 0.5, 0.8], "w:b": [0.8, 0.5, 0.2],
                                          "loss:a": [2.5, 2.3, 2.1], "loss:b": [3.0, 3.1, 3.3]}))
    assert mixlaw.get_law("linear").fit(table, targets=targets).targets_ == ["a"]


@pytest.mark.parametrize(("given", "hint"), [(mixlaw.get_law("linear"), ": optimise a law with optimize_mixture"),
                                             (None, ""), ({"route": "nested"}, "")])
def test_optimize_pipeline_of_what_is_not_a_pipeline_is_an_input_error(given, hint: str) -> None:
    # hunt30b: optimize_pipeline(law) stopped on AttributeError "'Linear' object has no attribute 'route'" (None:
    # "'NoneType' object ..."), where save_pipeline(law) says what it takes.
    with pytest.raises(mixlaw.InputError, match=r"^result: optimize_pipeline optimises a fit_pipeline result \(a "
                                                rf"PipelineResult\); got {type(given).__name__}{re.escape(hint)}"):
        mixlaw.optimize_pipeline(given)


@pytest.mark.parametrize(("given", "hint"), [("linear", ": a key is fitted by optimize_runs(table, law=key)"),
                                             (None, "")])
def test_optimize_mixture_of_what_is_not_a_law_says_what_it_takes(given, hint: str) -> None:
    # hunt30b: optimize_mixture("linear") said "This str instance is not fitted yet. Call 'fit' with appropriate
    # arguments first." (a NotFittedError, as if a str could be fitted).
    with pytest.raises(mixlaw.InputError, match=r"^law: optimize_mixture optimises a fitted law \(a MixingLaw, as "
                                                rf"get_law\(...\)\.fit\(...\) returns\); got {type(given).__name__}"
                                                rf"{re.escape(hint)}$"):
        mixlaw.optimize_mixture(given)


def test_bootstrap_law_of_an_unfitted_fitted_law_is_not_fitted_error() -> None:
    # hunt30b: bootstrap_law(..., fitted=get_law("linear")) stopped on AttributeError "'Linear' object has no
    # attribute 'params_'".
    import pandas as pd

    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(2), size=8)
    table = mixlaw.RunTable(pd.DataFrame({"run": [f"r{i}" for i in range(8)], "w:a": W[:, 0], "w:b": W[:, 1],
                                          "loss:a": 2 + W[:, 0]}))
    with pytest.raises(mixlaw.NotFittedError, match="This Linear instance is not fitted yet"):
        mixlaw.bootstrap_law("linear", table, n_boot=3, fitted=mixlaw.get_law("linear"))


def test_export_mixture_reads_a_series_labelled_by_domain() -> None:
    # hunt30b: export_mixture(pd.Series({"web": 0.5, "code": 0.5}), "json") said "the mixture must be a non-empty
    # mapping {domain: weight}", though law.predict reads such a Series by its labels; a list is still refused.
    import pandas as pd

    assert mixlaw.export_mixture(pd.Series({"web": 0.5, "code": 0.5}), "json") == \
        mixlaw.export_mixture({"web": 0.5, "code": 0.5}, "json")
    said = r"^weights: the mixture must be a non-empty mapping \{domain: weight\} \(or a Series labelled by domain\); "
    with pytest.raises(mixlaw.InputError, match=said + r"got list \[0\.5, 0\.5\]"):
        mixlaw.export_mixture([0.5, 0.5], "json")


def test_fit_table_refuses_a_seed_it_would_drop() -> None:
    # fit_table(t, law=YePower(), random_state=5) fitted the instance's own random_state, 0, without a word (the
    # seed reaches only a law given by key).
    import pytest

    t = _small()
    with pytest.raises(mixlaw.InputError, match=r"random_state=5 seeds a law given by key; .* YePower, fitted with "
                                                r"its own \(random_state=0\)"):
        mixlaw.fit_table(t, law=mixlaw.get_law("ye-pow"), targets="pile_cc", random_state=5)
    # the instance's own seed, or the default, is no conflict
    assert mixlaw.fit_table(t, law=mixlaw.get_law("ye-pow", random_state=5), targets="pile_cc",
                            random_state=5).random_state == 5
    assert mixlaw.fit_table(t, law=mixlaw.get_law("ye-pow", random_state=5), targets="pile_cc").random_state == 5
