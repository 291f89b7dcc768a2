"""Cross-validation folds dealt by the runs' content, not by their position in the table.

Every K-fold split in mixlaw (``auto`` / ``stack``'s outer CV, the ridge laws' inner choice of strength,
loglinear-sat's choice of features, LightGBM's early-stopping split) is a seeded permutation dealt round-robin,
as scikit-learn's shuffled ``KFold``, but dealt over the runs sorted by their rows (the mixture, and the model
size and tokens where a law takes them) rather than in the order the table lists them. Why: the same runs in
another order (a CSV sorted by name, a store read back, runs appended in another order) got other folds, and
with them other CV scores, ridge strengths and ``auto`` choices: shuffling Marin's 280 rows moved
loglinear-sat's predictions by up to 2.2 %. Dealt by content, a fit depends on the set of runs alone (up to
floating-point summation order).

Runs whose rows are equal (one mixture at several seeds) go to one fold together (:func:`deal_folds`): a fold
that holds out one seed of a mixture while fitting on its other seeds scores how well a law reproduces a
mixture it has seen, not a new one.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

import numpy as np

from ..data import distinct_rows

#: The fewest distinct rows (mixtures) whose runs are dealt into folds as groups; with fewer, runs are dealt one
#: by one (three mixtures at many seeds cannot make five folds of new mixtures).
MIN_GROUPS = 4


#: True while a cross-validation fits a law on a fold's training runs (:func:`mixlaw.laws.selection._fold_predict`):
#: the law then only predicts the fold's held-out runs and is dropped, so a law may skip work that only a law kept
#: (saved, reloaded, reported) needs, where its predictions stay the same (LightGBM's text round-trip).
FOLD_FIT: ContextVar[bool] = ContextVar("mixlaw_fold_fit", default=False)


def canonical_order(*blocks: Any) -> np.ndarray:
    """Indices that sort the runs by their rows' content: ``blocks`` side by side (a 1-D block is a column, None
    is left out), rows equal to :data:`~mixlaw.data.ROW_DECIMALS` decimals being one, compared column by column
    from the first: the order of :func:`mixlaw.data.distinct_rows`' groups. Equal rows keep their relative order
    (a stable sort), which is immaterial: they are equal."""
    return np.argsort(distinct_rows(*blocks)[1], kind="stable")


def deal_folds(n_folds: int, rng: np.random.Generator, *blocks: Any) -> np.ndarray:
    """Fold (0 .. k-1) of each run: one ``rng.permutation`` dealt round-robin over the runs' distinct rows of
    ``blocks`` in their content order (:func:`mixlaw.data.distinct_rows`), every run of a row in its row's fold;
    ``k = min(n_folds, distinct rows)``. With fewer than :data:`MIN_GROUPS` distinct rows, runs are dealt one by
    one in :func:`canonical_order` (``k = min(n_folds, runs)``). A table without repeated rows gets the same
    folds either way."""
    first, group = distinct_rows(*blocks)
    g = len(first)
    if g >= MIN_GROUPS:
        return (rng.permutation(g) % int(min(n_folds, g)))[group]
    n = len(group)
    fold = np.empty(n, dtype=int)
    fold[np.argsort(group, kind="stable")] = rng.permutation(n) % int(min(n_folds, n))  # canonical_order
    return fold


__all__ = ["FOLD_FIT", "MIN_GROUPS", "canonical_order", "deal_folds"]
