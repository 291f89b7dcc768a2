"""``law.fit(W, y)`` on an array holds its rows to the run table's rule (rows sum to 1 within weight_tol): rows
summing to 1.3 were fitted as given, while the same rows in a CSV were refused."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from mixlaw.data import RunTable
from mixlaw.errors import DataError, DataWarning, InputError
from mixlaw.laws.base import get_law


def _world(n: int = 30) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), size=n)
    return W, 2.0 + W @ np.array([0.5, -0.3, 0.1])


def test_a_row_beyond_the_tolerance_is_refused_by_its_index_as_a_table_refuses_it():
    W, y = _world()
    W[4] *= 1.3
    with pytest.raises(InputError, match=r"law 'linear': weights row 4 \(0-based\) of 30: weights sum to 1\.3, "
                                         r"expected 1 ± 0\.01 \(fix the row, or raise weight_tol=\)"):
        get_law("linear").fit(W, y)
    frame = {"run": [f"r{i}" for i in range(len(W))], **{f"w:{d}": W[:, j] for j, d in enumerate("abc")},
             "loss:x": y}
    import pandas as pd

    with pytest.raises(DataError, match=r"weights sum to 1\.3, expected 1 ± 0\.01"):
        RunTable(pd.DataFrame(frame))
    # the option widens it, as --weight-tol does for a table
    law = get_law("linear")
    with pytest.warns(DataWarning, match=r"renormalised the weights of 1 of 30 rows that summed to 1 within 0\.5 "
                                         r"\(largest deviation 0\.3\)"):
        law.fit(W, y, weight_tol=0.5)
    W[4] /= 1.3
    np.testing.assert_allclose(law.predict(W), get_law("linear").fit(W, y).predict(W), rtol=1e-12)


@pytest.mark.parametrize(("scale", "hint"), [
    (100.0, r"every row sums to 100: the weights look like percentages; divide them by 100"),
    (4e9, r"no row sums to 1 \(sums 4e\+09 to 4e\+09\): if the weights are token counts"),
])
def test_percentages_and_token_counts_are_named(scale, hint):
    W, y = _world()
    with pytest.raises(InputError, match=hint):
        get_law("ye-exp", n_restarts=1).fit(W * scale, y)


def test_rounded_rows_are_renormalised_with_one_warning_and_exact_ones_silently():
    W, y = _world()
    rounded = np.round(W, 2)  # two decimals: rows off by up to 0.015
    off = np.abs(rounded.sum(axis=1) - 1)
    keep = off <= 0.01
    with pytest.warns(DataWarning) as caught:
        law = get_law("linear").fit(rounded[keep], y[keep])
    assert len([w for w in caught if issubclass(w.category, DataWarning)]) == 1
    assert f"of {int(keep.sum())} rows" in str(caught[0].message)
    shares = rounded[keep] / rounded[keep].sum(axis=1, keepdims=True)
    np.testing.assert_allclose(law.predict(shares), get_law("linear").fit(shares, y[keep]).predict(shares),
                               rtol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        get_law("linear").fit(W, y)


@pytest.mark.parametrize("tol", [-0.1, 1.0, float("nan"), "wide"])
def test_a_tolerance_outside_0_1_is_refused(tol):
    W, y = _world()
    with pytest.raises(InputError, match=r"weight_tol must be a number in \[0, 1\)"):
        get_law("linear").fit(W, y, weight_tol=tol)


def test_a_frame_in_the_run_table_columns_is_read_with_fit_weight_tol():
    # fit(df, weight_tol=0.05) read a frame of w:/loss: columns at the default 0.01 and refused a row summing to
    # 1.013, while the same rows as an array were renormalised.
    import pandas as pd

    W, y = _world()
    W[:, 0] *= 1.02
    frame = pd.DataFrame({"run": [f"r{i}" for i in range(len(W))],
                          **{f"w:{d}": W[:, j] for j, d in enumerate("abc")}, "loss:x": y})
    with pytest.raises(DataError, match=r"expected 1 ± 0\.01"):
        get_law("linear").fit(frame)
    with pytest.warns(DataWarning, match=r"within 0\.05"):
        from_frame = get_law("linear").fit(frame, weight_tol=0.05)
    with pytest.warns(DataWarning, match=r"within 0\.05"):
        from_array = get_law("linear").fit(W, y, weight_tol=0.05)
    shares = W / W.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(np.ravel(from_frame.predict(shares)), from_array.predict(shares), rtol=1e-12)
    with pytest.raises(InputError, match=r"weight_tol must be a number in \[0, 1\)"):
        get_law("linear").fit(frame, weight_tol=1.5)


def test_cross_validation_holds_the_runs_to_the_rule_once_by_their_own_row_index():
    # Each fold's fit checked its own rows: a row summing to 1.3 excluded every candidate as "row 2 (of 26)" (its
    # index in the fold, not row 4 of 40) with a weight_tol= that cross_validate does not take; rows off by rounding
    # were fitted renormalised and predicted as given (linear: CV R2 0.886 on noise-free runs instead of 1).
    from mixlaw.laws.selection import cross_val_predict, cross_validate, fold_ids

    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), size=40)
    y = (2.0 + W @ np.array([0.1, 0.2, 0.3]))[:, None]
    bad = W.copy()
    bad[4] *= 1.3
    kw = {"domains": list("abc"), "targets": ["x"]}
    with pytest.raises(InputError, match=r"cross_validate: weights row 4 \(0-based\) of 40: weights sum to 1\.3, "
                                         r"expected 1 ± 0\.01 \(fix the row\)$"):
        cross_validate(bad, y, candidates=["linear"], n_folds=3, **kw)
    folds = fold_ids(40, 3, 0)
    with pytest.raises(InputError, match=r"cross_val_predict: weights row 4 \(0-based\) of 40"):
        cross_val_predict("linear", bad, y, folds, **kw)
    with pytest.warns(DataWarning, match="renormalised the weights of 40 of 40 rows"):
        oof, _ = cross_val_predict("linear", W * 1.005, y, folds, **kw)
    np.testing.assert_allclose(oof, cross_val_predict("linear", W, y, folds, **kw)[0], rtol=1e-12)
    np.testing.assert_allclose(oof, y, rtol=1e-9)


def test_predict_reads_rows_within_the_fit_tolerance_as_fit_does():
    # fit(W, y) fitted rows summing to 1.005 as shares and predict(W) used them as given: linear on noise-free runs
    # scored R2 0.886 on its own fitting rows instead of 1.
    W, y = _world(40)
    with pytest.warns(DataWarning):
        law = get_law("linear").fit(W * 1.005, y)
    assert law.score(W * 1.005, y) == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(law.predict(W * 1.005), law.predict(W), rtol=1e-12)
    # a row 1e-6 off (an optimiser's finite-difference probe) reaches the law as given: a linear law moves with it
    probe = W[:1] + np.array([[1e-6, 0.0, 0.0]])
    assert law.predict(probe)[0] != law.predict(probe / probe.sum())[0]
    # a row beyond the tolerance is used as given (fit refused such a row; predict extrapolates it, with a warning)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert not np.allclose(law.predict(W[:3] * 1.3), law.predict(W[:3]))
    # the fit's tolerance, and a table's own
    with pytest.warns(DataWarning):
        wide = get_law("linear").fit(W * 1.03, y, weight_tol=0.05)
    np.testing.assert_allclose(wide.predict(W * 1.03), wide.predict(W), rtol=1e-12)
    import pandas as pd

    frame = pd.DataFrame({"run": [f"r{i}" for i in range(len(W))],
                          **{f"w:{d}": 1.03 * W[:, j] for j, d in enumerate("abc")}, "loss:x": y})
    with pytest.warns(DataWarning):
        table = RunTable(frame, weight_tol=0.05)
    np.testing.assert_allclose(get_law("linear").fit(table).predict(W * 1.03).ravel(), y, rtol=1e-9)


def test_predict_and_score_read_a_frame_of_runs_at_the_fit_tolerance():
    # law.fit(df, weight_tol=0.05) read the frame's rows summing to 1.03, and law.predict(df) / law.score(df) read
    # the same frame at the default 0.01 and refused them, naming a --weight-tol that predict does not take.
    import pandas as pd

    W, y = _world()
    frame = pd.DataFrame({"run": [f"r{i}" for i in range(len(W))],
                          **{f"w:{d}": 1.03 * W[:, j] for j, d in enumerate("abc")}, "loss:x": y})
    with pytest.warns(DataWarning, match=r"within 0\.05"):
        law = get_law("linear").fit(frame, weight_tol=0.05)
    with pytest.warns(DataWarning, match=r"within 0\.05"):
        np.testing.assert_allclose(np.ravel(law.predict(frame)), y, rtol=1e-9)
    with pytest.warns(DataWarning, match=r"within 0\.05"):
        assert law.score(frame) == pytest.approx(1.0, abs=1e-9)
    # a row beyond the fit's tolerance is refused, naming the keyword that set it (predict has none)
    far = frame.assign(**{"w:a": frame["w:a"] + np.r_[0.2, np.zeros(len(W) - 1)]})
    with pytest.raises(DataError, match=r"row 0 \(0-based\): column 'w:a': weights sum to 1\.2\d*, expected "
                                        r"1 ± 0\.05 \(fix the row, or raise the weight_tol= of fit "
                                        r"\(this law's: 0\.05\)\)"):
        law.predict(far)


def test_a_frame_of_weights_names_the_refused_row_by_its_label():
    # law.fit(frame_of_weights, y) said "weights row 4 (of 30)": a position, not said to be 0-based, for a frame
    # whose rows have labels (review31a). Now as the run table names a frame's rows.
    import pandas as pd

    W, y = _world()
    W[4] *= 1.3
    frame = pd.DataFrame(W, columns=list("abc"), index=[f"r{10 * i}" for i in range(len(W))])
    with pytest.raises(InputError, match=r"law 'linear': weights row 'r40' \(0-based position 4\) of 30: weights sum "):
        get_law("linear").fit(frame, y)
