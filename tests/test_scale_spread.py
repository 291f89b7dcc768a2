"""Fitting runs at several scales: a law without that input says it fits one surface across them, and another
table is at the fitted scale when it lies inside the fitted range (not when its median matches theirs).

Found on Dai & Zheng's public SlimPajama sweep (6 model sizes x 11 checkpoints as one table, split 80/20 by
mixture): ye-exp/ye-pow/additive-ens scored Spearman 0.31-0.33 on the held-out mixtures with no word on why,
while the only warning said the held-out split's 'model size 6.8e+08 vs 3.1e+08 in the fitted runs' (two
medians of the same six sizes).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from mixlaw.api import compare_tables
from mixlaw.data import RunTable, scale_mismatch
from mixlaw.errors import InputError, ScaleWarning
from mixlaw.laws.base import get_law, law_from_dict


def _table(sizes: list[float], n: int = 30, seed: int = 0, tokens: float | None = None) -> RunTable:
    """n mixtures at each size; the loss falls with size far more than it moves with the mixture."""
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.ones(3), size=n)
    rows = []
    for N in sizes:
        for i, w in enumerate(W):
            row = {"run": f"m{i}_{N:g}", "params": N, "w:a": w[0], "w:b": w[1], "w:c": w[2],
                   "loss:a": 2.0 + 30.0 * N ** -0.2 + 0.3 * np.exp(-3.0 * w[0])}
            if tokens is not None:
                row["tokens"] = tokens
            rows.append(row)
    return RunTable(pd.DataFrame(rows))


def _scale_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, ScaleWarning)]


def test_a_law_without_size_input_warns_on_runs_at_several_sizes():
    multi = _table([1e8, 4e8])
    assert set(multi.scale_spread()) == {"params"} and multi.scale_spread()["params"][0] == 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        get_law("ye-exp").fit(multi)
    msgs = _scale_warnings(caught)
    assert len(msgs) == 1 and "2 model sizes (1e+08 to 4e+08)" in msgs[0] and "'ye-exp' takes no model size" in msgs[0]
    assert msgs[0].startswith("the fitting runs span ")  # no path: not 'the fitting runs: the fitting runs span'
    assert "dz-eq1" in msgs[0] and "mixlaw pipeline" in msgs[0]
    with warnings.catch_warnings(record=True) as caught:  # one size, or a law that takes the size: no warning
        warnings.simplefilter("always")
        get_law("ye-exp").fit(_table([1e8]))
        get_law("dz-eq1").fit(_table([1e8, 4e8], n=40))
    assert _scale_warnings(caught) == []


def test_compare_warns_once_naming_every_law():
    multi = _table([1e8, 4e8])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compare_tables(multi, {"test": _table([1e8, 4e8], seed=1)}, targets="a", laws=["ye-exp", "linear"])
    msgs = [m for m in _scale_warnings(caught) if "fitting runs span" in m]
    assert len(msgs) == 1 and "'ye-exp'" in msgs[0] and "'linear'" in msgs[0]
    # the held-out split has the same two sizes: it is at the fitted scale
    assert not [m for m in _scale_warnings(caught) if "held-out split" in m]


def test_scale_mismatch_against_a_fitted_range():
    fitted = _table([1e8, 1e9]).scale_summary()
    assert fitted["params_range"] == (1e8, 1e9)
    assert scale_mismatch(fitted, _table([5e8]), "t") is None
    why = scale_mismatch(fitted, _table([5e9]), "t")
    assert why is not None and "model size 5e+09, outside the fitted runs' 1e+08 to 1e+09" in why
    # one fitted size: medians are compared, as before
    assert "vs 1e+08" in scale_mismatch(_table([1e8]).scale_summary(), _table([5e8]), "t")


def test_saved_law_keeps_the_fitted_range():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScaleWarning)
        law = get_law("linear").fit(_table([1e8, 1e9]))
    doc = json.loads(json.dumps(law.to_dict()))
    assert law_from_dict(doc)._fit_scale["params_range"] == (1e8, 1e9)
    for bad in ([1e9, 1e8], [1e8], "x", [0, 1e9]):
        doc["fit_scale"]["params_range"] = bad
        with pytest.raises(InputError, match="fit_scale"):
            law_from_dict(doc)


def test_a_meta_law_says_when_its_choice_cannot_tell_the_scales_apart():
    # auto takes N and D itself, but on Dai & Zheng's six-size sweep it chose bimix (tokens only) for every eval.
    multi = _table([1e8, 4e8], n=40)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        get_law("auto", candidates=["linear"]).fit(multi)
    msgs = _scale_warnings(caught)
    assert len(msgs) == 1 and "auto chose 'linear', which takes no model size" in msgs[0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        get_law("auto", candidates=["dz-eq1"]).fit(multi)
    assert _scale_warnings(caught) == []


def test_compare_keeps_a_meta_laws_word_on_its_choice(monkeypatch):
    # compare left every ExtrapolationWarning of a law's fit out (its one warning for the table names the laws
    # that take no scale input), and so dropped auto's 'auto chose ..., which takes no model size' too.
    import mixlaw.compare as compare_module
    from mixlaw.compare import compare

    multi, test = _table([1e8, 4e8], n=40), {"test": _table([1e8, 4e8], n=40, seed=1)}
    blind_auto = get_law("auto", candidates=["linear"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compare(multi, test, targets="a", laws=[blind_auto, "ye-exp"])
    msgs = _scale_warnings(caught)
    assert len(msgs) == 2 and "law 'ye-exp' takes no model size" in msgs[0] and "auto" not in msgs[0]
    assert "auto chose 'linear', which takes no model size" in msgs[1]
    # compare_tables (mixlaw compare) calls compare once per law and silences its warning for the table; not this
    make = compare_module._make_law
    monkeypatch.setattr(compare_module, "_make_law", lambda key, *a: blind_auto if key == "auto" else make(key, *a))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compare_tables(multi, test, targets="a", laws=["auto", "ye-exp"])
    msgs = _scale_warnings(caught)
    assert len(msgs) == 2 and "auto chose 'linear'" in msgs[1]


def test_auto_error_on_runs_at_several_sizes_names_the_sizes():
    """Found on ADMIRE-BayesOpt's public IFT runs (github.com/xo28/ADMIRE-BayesOpt: 19 Tulu-3 domains, Qwen2.5
    0.5B / 3B / 7B in one table): `mixlaw fit --law auto` stopped with "no candidate law ... ranks them better than
    chance" (every out-of-fold Spearman -0.09 to -0.16 on bbh) and no word that the table held three model sizes,
    which every candidate fitted as one surface; at --at-params smallest the same eval ranked at 0.28. Here the
    loss moves with the size alone (3 at 1e8, 2 at 1e9, noise 0.01): size-blind laws rank the runs below chance."""
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), size=30)
    rows = [{"run": f"m{i}_{N:g}", "params": N, "w:a": w[0], "w:b": w[1], "w:c": w[2],
             "loss:x": (3.0 if N == 1e8 else 2.0) + 0.01 * rng.standard_normal()}
            for N in (1e8, 1e9) for i, w in enumerate(W)]
    with pytest.raises(InputError) as err, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        get_law("auto", candidates=["linear", "ye-exp"]).fit(RunTable(pd.DataFrame(rows)))
    msg = str(err.value)
    assert msg.startswith("no candidate law can be cross-validated on 'x'")
    assert "the fitting runs span 2 model sizes (1e+08 to 1e+09)" in msg
    assert "'linear', 'ye-exp' take no model size" in msg and "--at-params" in msg


def test_compare_scores_a_split_at_several_sizes_within_each_size_too(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """ADMIRE-BayesOpt's IFT runs (Qwen2.5 0.5B / 3B / 7B as one table): dz-eq3-safe ranked bbh's runs at 0.83
    pooled and at 0.14 / 0.07 / -0.00 within each size; the pooled Spearman alone read the size ordering as skill
    at ranking mixtures. The other way here: ye-exp, blind to the size, ranks the runs of each size at 0.94 and all
    of them at 0.57 (the size gap it cannot see pulls the pooled Spearman down)."""
    from cli_runner import run_cli

    from mixlaw.compare import compare

    train, test = _table([1e8, 4e8], n=40), _table([1e8, 4e8], n=12, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        board = compare(train, {"t": test, "one": _table([1e8], n=12, seed=2)}, targets="a", laws=["ye-exp"])
    m = board.rows[0].splits
    law = get_law("ye-exp").fit(train)
    y, p = test.losses(["a"])[:, 0], np.asarray(law.predict(test)).ravel()
    from scipy.stats import spearmanr
    small = test.model_params == 1e8
    want = np.mean([spearmanr(y[small], p[small]).statistic, spearmanr(y[~small], p[~small]).statistic])
    assert m["t"]["spearman_within_scale"] == pytest.approx(want)
    assert m["t"]["spearman"] < 0.7 < want
    assert "spearman_within_scale" not in m["one"]  # one size: the pooled Spearman is the within-size one
    assert np.isnan(board.to_frame().set_index("split").loc["one", "spearman_within_scale"])
    p_train, p_test = tmp_path / "train.csv", tmp_path / "test.csv"
    train.frame.to_csv(p_train, index=False)
    test.frame.to_csv(p_test, index=False)
    code, out, err = run_cli(capsys, "compare", "--runs", str(p_train), "--test", f"t={p_test}", "--laws", "ye-exp")
    assert code == 0, err
    assert "ρ within t" in out and "the Spearman among the held-out runs of one scale" in out


def test_auto_report_says_its_cv_spearman_ranks_runs_of_every_size_together() -> None:
    # ADMIRE-BayesOpt's IFT runs in one table: auto chose dz-eq3-safe for bbh at CV Spearman 0.82, 0.14 / 0.07 / -0.00
    # within each size; the report gave the 0.82 as the law's skill with no word on the sizes.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        law = get_law("auto", candidates=["linear", "ye-exp"]).fit(_table([1e8, 4e8], n=40))
        one = get_law("auto", candidates=["linear", "ye-exp"]).fit(_table([1e8], n=40))
    text = str(law.report())
    assert "note: the runs span model sizes 1e+08 to 4e+08: the out-of-fold Spearman ranks runs of every scale" in text
    assert "note: the runs span" not in str(one.report())


def test_within_scale_spearman_groups_token_counts_that_differ_in_their_last_digits() -> None:
    """Token counts logged per run (2e9, 2.00002e9, ...) grouped exactly made every run a scale of its own, under
    MIN_SCALE_GROUP: the within-scale Spearman of a split at two sizes read NaN. Grouped by SCALE_RATIO, the two
    sizes rank their runs (truth plus noise 0.01: 0.98)."""
    from mixlaw.compare import spearman_within_scale

    rng = np.random.default_rng(0)
    rows = []
    for N in (1e8, 4e8):
        for i in range(10):
            w = rng.dirichlet(np.ones(3))
            rows.append({"run": f"r{i}_{N:g}", "params": N, "tokens": 20 * N * (1 + 1e-5 * i), "w:a": w[0],
                         "w:b": w[1], "w:c": w[2], "loss:x": (3.0 if N == 1e8 else 2.0) + w[0]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = RunTable(pd.DataFrame(rows))
    y = t.losses(["x"])[:, 0]
    p = y + 0.01 * rng.standard_normal(len(y))
    small = t.model_params == 1e8
    from scipy.stats import spearmanr
    want = np.mean([spearmanr(y[small], p[small]).statistic, spearmanr(y[~small], p[~small]).statistic])
    assert spearman_within_scale(t, y, p) == pytest.approx(want)


def test_leaderboard_best_by_within_scale_spearman_on_a_split_at_one_scale() -> None:
    # spearman_within_scale is one of SPLIT_METRICS but absent on a split at one scale: best() raised KeyError.
    from mixlaw.compare import compare

    train, one = _table([1e8, 4e8], n=40), _table([1e8], n=12, seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        board = compare(train, {"one": one}, targets="a", laws=["linear", "ye-exp"])
    assert board.best("one", "spearman_within_scale").law in ("linear", "ye-exp")
    with pytest.raises(InputError, match="unknown metric 'spearmann'"):
        board.best("one", "spearmann")
