"""Review of the twenty-third session's fixes and refactors (0924d04..f13ea38): defects found, each with its test."""

from __future__ import annotations

import inspect
import warnings
from pathlib import Path

import pytest

import mixlaw
from mixlaw.errors import ExtrapolationWarning, FitError

_V3 = Path(__file__).resolve().parents[1] / "bench" / "data" / "crossscale_runs_v3.csv"


def _v3_pipeline() -> mixlaw.PipelineResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mixlaw.fit_pipeline(mixlaw.read_runs(_V3), target_params=934720, target_steps=2929, route="nested",
                                   law="linear")


def test_optimize_pipeline_keeps_the_warnings_said_before_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # optimize_pipeline records its work's warnings to give each once; when the work raised after warning (here the
    # improvement interval, after the search's ExtrapolationWarning), the record was dropped with the error.
    import mixlaw.pipeline.decide as decide

    def fails(*_: object, **__: object) -> None:
        raise FitError("the interval's refits failed")

    res = _v3_pipeline()
    monkeypatch.setattr(decide, "improvement_interval", fails)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        line = inspect.currentframe().f_lineno + 2  # type: ignore[union-attr]
        with pytest.raises(FitError, match="interval's refits"):
            mixlaw.optimize_pipeline(res, extrapolate=True)
    said = [w for w in record if issubclass(w.category, ExtrapolationWarning)]
    assert said and {(w.filename, w.lineno) for w in said} == {(__file__, line)}
    assert len({str(w.message) for w in record}) == len(record)  # still once each


def test_an_eval_named_like_the_rising_check_key_is_fitted() -> None:
    # rising_evals put each eval in a column of its name beside its own key column '_t': an eval named '_t' was
    # overwritten, and fit_pipeline stopped on "zip() argument 2 is shorter than argument 1" (f3cafca).
    import pandas as pd

    from mixlaw.data import RunTable
    from mixlaw.pipeline.tails import rising_evals

    frame = pd.read_csv(_V3, dtype={"run": str}).rename(columns={"loss:code": "loss:_t"})
    table = RunTable(frame)
    assert rising_evals(table, "step", table.evals) == ([], "step")
    acc = frame.assign(**{"loss:_t": 1.0 / (1.0 + frame["loss:_t"])})
    assert rising_evals(RunTable(acc), "step", table.evals) == ([("_t", 24, 24)], "step")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mixlaw.fit_pipeline(table, target_params=233680, target_steps=2929, route="nested", law="linear")
    assert res.targets == table.evals


def _fitted_ye_exp() -> object:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), size=20)
    frame = pd.DataFrame({"run": [f"r{i}" for i in range(20)], "w:a": W[:, 0], "w:b": W[:, 1], "w:c": W[:, 2],
                          "loss:x": 2 + np.exp(W @ [0.0, -1.0, 1.0])})
    return mixlaw.get_law("ye-exp").fit(mixlaw.RunTable(frame))


@pytest.mark.filterwarnings("ignore::mixlaw.errors.MixlawWarning")
def test_bounds_of_any_iterable_are_read_and_a_non_pair_is_an_input_error() -> None:
    # 555f13d's string check read each bound's ends once before reading them again: map(float, ...) and generators
    # came back empty, and a bound that is not iterable (0.3, None) reached the message's own reading of the ends,
    # which raised a bare TypeError ("'float' object is not iterable") where 0924d04 raised this InputError.
    law = _fitted_ye_exp()
    for ends in (map(float, "0:0.3".split(":")), (v for v in (0.0, 0.3))):
        assert mixlaw.optimize_mixture(law, bounds={"b": ends}).weights["b"] <= 0.3 + 1e-9
    for bad in (0.3, None):
        with pytest.raises(mixlaw.InputError, match=r"bounds \(--bounds\) for 'b' must be a pair \(lo, hi\)"):
            mixlaw.optimize_mixture(law, bounds={"b": bad})
    with pytest.raises(mixlaw.InputError, match=r"give \(0, 0.3\), not strings"):
        mixlaw.optimize_mixture(law, bounds={"b": iter(["0", "0.3"])})


def test_take_refuses_a_mask_and_fractional_positions() -> None:
    # take() cast its argument to integers: a boolean mask came back as the rows 1, 0, 1, ... and 1.7 as row 1,
    # silently (14960ce). Positions, negative ones and none still work; a mask goes to subset / iloc.
    import numpy as np

    table = mixlaw.load_regmix("train_1m").subset(np.arange(6))
    mask = np.array([True, False, True, False, False, False])
    for bad in (mask, [1.7, 2.2], ["a"]):
        with pytest.raises(mixlaw.InputError, match=r"take selects rows by 0-based integer position"):
            table.take(bad)
    assert list(table.iloc[mask].runs) == list(table.runs[[0, 2]])
    assert list(table.take(np.array([2, -1])).runs) == [table.runs[2], table.runs[5]]
    assert len(table.take([])) == 0 and list(table.take(3).runs) == [table.runs[3]]


def test_optimize_pipeline_gives_another_librarys_warning_where_it_was_raised(monkeypatch: pytest.MonkeyPatch
                                                                                ) -> None:
    # Re-given at the user's line, a NumPy DeprecationWarning from inside the work would have shown in a script's
    # __main__, where Python's default filters show DeprecationWarnings; it keeps its own file and line.
    import mixlaw.pipeline.decide as decide

    real = decide.improvement_interval

    def deprecated(*args: object, **kwargs: object) -> object:
        warnings.warn("an old NumPy call", DeprecationWarning, stacklevel=1)
        return real(*args, **kwargs)

    res = _v3_pipeline()
    monkeypatch.setattr(decide, "improvement_interval", deprecated)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        mixlaw.optimize_pipeline(res, extrapolate=True)
    dep = [w for w in record if issubclass(w.category, DeprecationWarning)]
    assert len(dep) == 1 and dep[0].filename == __file__ and "an old NumPy call" in str(dep[0].message)
    assert dep[0].lineno == inspect.getsourcelines(deprecated)[1] + 1  # the warn line inside deprecated(), not ours
    mixlaw_said = [w for w in record if issubclass(w.category, mixlaw.errors.MixlawWarning)]
    assert mixlaw_said and all(w.filename == __file__ for w in mixlaw_said)
