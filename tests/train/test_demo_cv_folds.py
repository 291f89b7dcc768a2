"""``cv_relative_errors`` deals its folds by the runs' content (laws/_folds.py), as every other K-fold in mixlaw:
the same runs in another row order score the same, and one mixture's repeated seeds are held out together."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from mixlaw.train import demo  # noqa: E402


def _runs(seed=3, g=12, reps=1):
    rng = np.random.default_rng(seed)
    W = np.repeat(rng.dirichlet(np.full(3, 2.0), size=g), reps, axis=0)
    Y = 2.0 + 0.5 * np.exp(W @ np.array([[-2.0, 0.4, 0.1], [0.3, -1.5, 0.2], [0.1, 0.5, -2.5]]).T)
    return W, Y * (1 + 0.01 * rng.standard_normal(Y.shape))


def test_shuffled_rows_give_the_same_cv_errors():
    W, Y = _runs()
    want = demo.cv_relative_errors("ye-exp", W, Y, ["a", "b", "c"], n_folds=4)
    p = np.random.default_rng(7).permutation(len(W))
    got = demo.cv_relative_errors("ye-exp", W[p], Y[p], ["a", "b", "c"], n_folds=4)
    assert np.all(np.isfinite(want))
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_seeds_of_one_mixture_are_held_out_together(monkeypatch):
    """Every fit sees none of the mixtures it is then asked to predict (3 seeds of each of 8 mixtures)."""
    W, Y = _runs(g=8, reps=3)
    seen: list[tuple[np.ndarray, np.ndarray]] = []

    class Mean:
        def fit(self, W_fit, Y_fit, **kw):
            self.W, self.m = W_fit, Y_fit.mean(axis=0)
            return self

        def predict(self, W_test):
            seen.append((self.W, W_test))
            return np.tile(self.m, (len(W_test), 1))

    monkeypatch.setattr(demo, "get_law", lambda key, **kw: Mean())
    err = demo.cv_relative_errors("mean", W, Y, ["a", "b", "c"], n_folds=4)
    assert np.all(np.isfinite(err)) and len(seen) == 4
    for W_fit, W_test in seen:
        assert not (W_test[:, None, :] == W_fit[None, :, :]).all(axis=2).any()


def test_the_choice_note_says_when_nothing_was_cross_validated():
    # 3 runs at the largest size (n_mixtures=3): cv_folds deals none (MIN_CV_RUNS = 4). The note read "chosen by
    # 0-fold cross-validation" and called every candidate too big for a fold.
    W, Y = _runs(g=3)
    fold = demo.cv_folds(W)
    law, cv = demo.select_law(W, Y, ["a", "b", "c"])
    note = demo._choice_note(law, cv, fold, 150_000)
    assert fold is None and law == "ye-exp" and "0-fold" not in note and "not cross-validated" in note
    W, Y = _runs(g=12)
    fold = demo.cv_folds(W, 4)
    assert demo._choice_note("ye-exp", {"ye-exp": 0.05}, fold, 150_000).startswith(
        "mixing law: ye-exp, chosen by 4-fold cross-validation at 150,000 parameters (MRE ye-exp 5.00%")


def test_runs_of_one_mixture_are_refused():
    # 6 seeds of one mixture were dealt seed by seed into 6 folds, each scoring the mixture it was fitted on (the
    # docstring's k = min(n_folds, distinct mixtures) read 1 fold); now one line says why and what to give.
    W, Y = _runs(g=1, reps=6)
    with pytest.raises(demo.InputError, match=r"^cv_folds: the 6 runs hold one mixture \(seeds of it\): .* give "
                                              r"runs at 2 or more mixtures \(the demo's n_mixtures=\)$"):
        demo.cv_folds(W)
    with pytest.raises(demo.InputError, match="hold one mixture"):
        demo.cv_relative_errors("ye-exp", W, Y, ["a", "b", "c"])
    assert demo.cv_folds(W[:3]) is None  # fewer than MIN_CV_RUNS: not cross-validated, as before
    assert len(set(demo.cv_folds(_runs(g=2, reps=3)[0]))) >= 2  # two mixtures still fold
