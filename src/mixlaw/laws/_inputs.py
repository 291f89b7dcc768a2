"""How a law reads what it is given: mixtures as arrays, DataFrames (``w:<domain>`` columns as a run table, or
plain columns named by domain, scikit-learn's ``feature_names_in_`` rule), a ``{domain: share}`` mapping or a
:class:`~mixlaw.data.RunTable`; losses as arrays or named pandas objects; the model size and tokens of each run.

:class:`~.base.MixingLaw`'s ``fit`` / ``predict`` / ``score`` call these; :func:`weights_in_order` is what the
pipeline and the bootstrap read a caller's mixtures with, so that every entry point reads them by name alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..data import (
    LOSS_PREFIX,
    META_COLUMNS,
    WEIGHT_PREFIX,
    WEIGHT_TOL,
    RunTable,
    flat_columns,
    missing_law_domains,
    weight_sum_error,
)
from ..errors import InputError


def _as_weights(weights: Any, name: str) -> np.ndarray:
    if isinstance(weights, str):
        # 'web=0.5,code=0.5' as the command line writes a mixture: numpy's "could not convert string to float".
        raise InputError(f"{name} must be numbers, shape (n_runs, n_domains), or a mapping {{domain: share}}; got "
                         f"the text {weights!r} (mixlaw.export.parse_mixture reads a mixture written as text)")
    try:
        W = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InputError(f"{name} must be numbers, shape (n_runs, n_domains): {err}") from None
    if W.ndim == 1:
        W = W[None, :]
    if W.ndim != 2 or W.shape[1] < 2:
        raise InputError(f"{name} must have shape (n_runs, n_domains) with n_domains >= 2; got {np.shape(weights)}")
    if W.shape[0] == 0:
        # numpy's "zero-size array to reduction operation minimum which has no identity", from the fit or predict
        raise InputError(f"{name} has no rows: give at least one mixture")
    if not np.all(np.isfinite(W)) or np.any(W < 0):
        raise InputError(f"{name} must be finite and >= 0")
    return W


def _opt_1d(v: Any, n: int, name: str) -> np.ndarray | None:
    if v is None:
        return None
    a = np.asarray(v, dtype=np.float64).ravel()
    if a.size == 1:
        a = np.full(n, a[0])
    if a.size != n or not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise InputError(f"{name} must be {n} finite positive numbers")
    return a


def _broadcast(v: Any, n: int, rng: tuple[float, float] | None, name: str) -> np.ndarray | None:
    if v is None:
        if rng is None:
            return None
        if rng[0] != rng[1]:
            raise InputError(f"{name} is required: the law was fitted over a range of {name} ({rng[0]:.4g} to "
                             f"{rng[1]:.4g}); pass {name}=, or give the table of mixtures a '{name}' column (mixlaw "
                             f"predict: --{name})")
        return np.full(n, rng[0])
    return _opt_1d(v, n, name)


def _frame_as_table(X: Any, *, for_fit: bool, domains: Sequence[str] | None = None,
                    fitted_columns: Sequence[str] | None = None, weight_tol: float = WEIGHT_TOL,
                    tol_option: str | None = None) -> tuple[Any, list[str] | None, dict[str, np.ndarray]]:
    """A pandas DataFrame in the run table's columns (``w:<domain>``, ``loss:<eval>``, ...) as a RunTable, so
    that ``law.fit(pd.read_csv("runs.csv"))`` and ``law.predict(candidates_frame)`` read it by name; anything else
    (arrays, frames of plain numeric columns as scikit-learn passes them) unchanged, except that a frame of
    mixtures whose columns are distinct strings names the domains in ``fit`` and is put in the fitted ``domains``'
    order in ``predict`` (scikit-learn's ``feature_names_in_`` rule).

    ``get_law("linear").fit(df, targets="c4")`` on Dai & Zheng's 122M table raised numpy's "could not convert string
    to float: 'm1_122M'" (its run column). Returns the input (or the table) and, for a frame of weights alone
    passed to ``fit`` with separate losses, its domain names (the weights then as an array) and its ``params`` /
    ``tokens`` columns (a frame of w: and params columns had its model sizes dropped without a word).
    ``weight_tol``: the row-sum tolerance of the table it becomes (``fit(df, weight_tol=0.05)``'s, which a frame in
    the run table's columns ignored: read at the default 0.01, it was refused for a row summing to 1.013);
    ``tol_option``: what its row-sum error names as the way to widen it (every caller is Python: ``fit``'s
    ``weight_tol=``; None, "fix the row", for a caller that takes no tolerance, such as :func:`weights_in_order`).
    """
    if isinstance(X, pd.Series) and not for_fit:
        # One mixture as a Series (df.iloc[0], pd.Series({"code": 0.3, "web": 0.7})) is read by its labels, as a
        # one-row frame and as a {domain: share} mapping are: it was read by position, its labels dropped (the
        # shares of another mixture, without a word, when they were not in the domains' order), and a whole
        # run-table row said "could not convert string to float: 'r0'".
        X = _unique_labels(X).to_frame().T.infer_objects()
    if (isinstance(X, (list, tuple)) and X and all(isinstance(m, pd.Series) for m in X) and not for_fit
            and domains is not None):
        # Several mixtures as Series ([df.iloc[0], df.iloc[3]]) are the rows of a frame, read by their labels as
        # one is: numpy read them by position, labels dropped ('c', 'b', 'a' predicted as 'a', 'b', 'c').
        X = pd.DataFrame([_unique_labels(m) for m in X]).infer_objects()
    if not isinstance(X, pd.DataFrame):  # predict's hot path (the optimiser's many calls): arrays return here
        if isinstance(X, Mapping) and not for_fit and domains is not None:
            return _summing_to_one(_mapping_row(X, domains), weight_tol, tol_option), None, {}
        if (isinstance(X, (list, tuple)) and X and all(isinstance(m, Mapping) for m in X) and not for_fit
                and domains is not None):
            # Several mixtures as {domain: share} rows ([opt.weights, natural]): numpy's "float() argument must
            # be a string or a real number, not 'dict'" before.
            return _summing_to_one(np.vstack([_mapping_row(m, domains) for m in X]), weight_tol, tol_option), None, {}
        return X, None, {}
    flat_columns(X, "fit" if for_fit else "the mixtures")
    cols = [str(c) for c in X.columns]
    wcols = [c for c in cols if c.startswith(WEIGHT_PREFIX)]
    if len(wcols) < 2:
        return _named_columns(X, for_fit=for_fit, domains=domains, fitted_columns=fitted_columns)
    df = X.set_axis(cols, axis=1)
    has_losses = any(c.startswith(LOSS_PREFIX) for c in cols)
    if for_fit and not has_losses:
        scale = {c: df[c].to_numpy(dtype=np.float64) for c in ("params", "tokens") if c in cols}
        return df[wcols].to_numpy(dtype=np.float64), [c[len(WEIGHT_PREFIX):] for c in wcols], scale
    if "run" not in cols:
        df = df.assign(run=[str(i + 1) for i in range(len(df))])
    if not has_losses:
        # Mixtures to predict need no loss; the table's check wants one column.
        df = df.assign(**{LOSS_PREFIX + "_": 1.0})
    missing = [d for d in (domains or ()) if WEIGHT_PREFIX + d not in wcols]
    if missing and not for_fit:
        # Refused below (RunTable.weights_for) in any case; said first, since the row sums, short of the missing
        # share, were refused before it: "row 2: column 'w:web': weights sum to 0.41" for a frame without w:wiki.
        raise missing_law_domains(missing)
    return RunTable(df, weight_tol=weight_tol, tol_option=tol_option), None, {}


def _unique_labels(s: pd.Series) -> pd.Series:
    """A mixture given as a Series, refused when a label repeats: read by position, as it was, the labels ['w:c',
    'w:c', 'w:a'] predicted the mixture a, b, c without a word; which of two shares is the domain's is not known."""
    if not s.index.is_unique:
        repeated = list(dict.fromkeys(s.index[s.index.duplicated()]))
        raise InputError(f"the mixture's label(s) {repeated} appear more than once: give each domain one share")
    return s


def check_rows_paired(weights: Any, losses: Any, who: str) -> None:
    """Refuse pandas losses whose index is not the pandas mixtures' (same length, other labels or order): they are
    paired by position, as scikit-learn pairs X and y, and ``fit(df, df["loss:web"].sample(frac=1))`` fitted the
    shuffled losses without a word (R2 0.004 against 1.0 aligned; review29b). Subsets taken alike
    (``cross_val_score``'s ``X.iloc[train]``, ``y.iloc[train]``) keep one index and pass."""
    if not (isinstance(weights, (pd.DataFrame, pd.Series)) and isinstance(losses, (pd.DataFrame, pd.Series))):
        return
    if len(weights) != len(losses) or losses.index.equals(weights.index):
        return
    i = int(np.flatnonzero(np.asarray(losses.index != weights.index))[0])
    raise InputError(f"{who}: the losses' index is not the mixtures' (at 0-based position {i}: "
                     f"{losses.index[i]!r} beside {weights.index[i]!r}); they are paired by position, so align them "
                     "first (losses.loc[frame.index]) or pass arrays")


def _loss_names(losses: Any) -> list[str] | None:
    """The eval names of losses given as a pandas Series (its name) or DataFrame (its columns), ``loss:`` prefix
    dropped; None for arrays, unnamed or repeated names.

    ``fit(X, df[["loss:web", "loss:code"]])`` named the evals y0, y1: a law that matches each eval set to the
    training domain of the same name (BiMix, AutoScale, the DZ laws) fitted them by implicit aggregation instead,
    another model than the same runs read as a table gave.
    """
    if isinstance(losses, pd.Series):
        names = [losses.name]
    elif isinstance(losses, pd.DataFrame):
        names = list(losses.columns)
    else:
        return None
    if not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
        return None
    names = [n[len(LOSS_PREFIX):] if n.startswith(LOSS_PREFIX) else n for n in names]
    # An empty name ('' or 'loss:') names nothing, as None does: it became the target '', whose saved law then
    # did not load.
    return names if all(names) else None


def weights_in_order(weights: Any, domains: Sequence[str]) -> np.ndarray:
    """Mixtures as an array whose columns are ``domains`` in order: a DataFrame (``w:<domain>`` columns, or plain
    columns named by domain), a :class:`~mixlaw.data.RunTable` or a mapping ``{domain: share}`` (one mixture,
    shares left out are 0) read by name, as :meth:`MixingLaw.predict` reads them; an array or a list as it is
    (columns in ``domains``' order). A frame's ``params`` / ``tokens`` columns are not read here: the caller takes
    the scale as its own argument."""
    X = _frame_as_table(weights, for_fit=False, domains=domains)[0]
    if isinstance(X, RunTable):
        X = table_weights_for(X, domains)
    return np.asarray(X, dtype=np.float64)


def table_weights_for(table: RunTable, domains: Sequence[str]) -> np.ndarray:
    """The table's weights in ``domains``' order, refusing a weight column that is not a domain and has a share in
    some row. Dropped, it left rows that no longer sum to 1: a frame of 4 domains at 0.9 and 'w:zzz' at 0.1 predicted
    3.41 for linear's 3.79, 0.9 times the loss, without a word; a mapping or a plain-named frame names such a domain
    (and ``mixlaw predict --mixtures``). A column that is 0 in every row trains on nothing and is left out."""
    extra = [WEIGHT_PREFIX + d for d in table.domains if d not in domains]
    share = table.frame[extra].to_numpy(dtype=np.float64) != 0
    used = [c for j, c in enumerate(extra) if share[:, j].any()]
    if used:
        rows = np.flatnonzero(share.any(axis=1))
        raise InputError(f"{table.path or 'the mixtures'}: weight column(s) {used} are "
                         f"not among the law's domains {list(domains)} and have a share in {rows.size} of "
                         f"{len(table)} rows ({table._rows_named(rows[:1])} first): the law cannot predict a mixture "
                         "of domains it was not fitted on (drop the column and renormalise the rows, or refit on "
                         "runs that train on it)")
    return table.weights_for(list(domains))


def _summing_to_one(W: np.ndarray, weight_tol: float, tol_option: str | None) -> np.ndarray:
    """Mixtures written as ``{domain: share}`` must sum to 1 within ``weight_tol``, as ``mixlaw predict --mixtures
    web=0.6`` holds them (an array's rows farther off are used as given; a mapping names only some domains, the
    others 0). ``law.predict({"arxiv": 0.5})`` predicted a half mixture without a word where the command said
    "weights sum to 0.5, expected 1 ± 0.01"."""
    hint = f"domains it leaves out have share 0; fix the shares{', or raise ' + tol_option if tol_option else ''}"
    refused = weight_sum_error(W.sum(axis=1), weight_tol, hint=hint)  # the run table's rule and sentence
    if refused is not None:
        i, why = refused
        raise InputError(f"{'the mixture' if len(W) == 1 else f'mixture {i} (0-based)'}: {why}")
    return W


def _mapping_row(mix: Mapping[Any, Any], domains: Sequence[str]) -> np.ndarray:
    """One mixture given as ``{domain: share}`` (an :class:`~mixlaw.optimize.OptimumResult`'s ``weights``), as a
    (1, n_domains) row in ``domains``' order; a domain it leaves out has share 0, as in the command line's inline
    mixtures. ``law.predict(opt.weights)`` raised numpy's "float() argument must be ... not 'dict'". A key may carry
    the run table's ``w:`` prefix, as a frame's columns may."""
    named = {str(k)[len(WEIGHT_PREFIX):] if str(k).startswith(WEIGHT_PREFIX) else str(k): v for k, v in mix.items()}
    if len(named) != len(mix):
        raise InputError(f"the mixture names a domain twice, with and without {WEIGHT_PREFIX!r}: {list(map(str, mix))}")
    # A domain the law was not fitted on at share 0 trains on nothing and is left out, as a run table's all-zero
    # weight column is (table_weights_for): law.predict({"a": 0.5, "b": 0.5, "c": 0, "d": 0}) was refused where
    # the same mixture as a run-table frame with w:d all 0 was predicted.
    unknown = [k for k in named if k not in domains and not _is_zero(named[k])]
    if unknown:
        raise InputError(f"the mixture names domain(s) {unknown} that are not among the law's domains {list(domains)}")
    return np.array([[named.get(d, 0.0) for d in domains]], dtype=np.float64)


def _is_zero(share: Any) -> bool:
    """Whether a mapping's share reads as the number 0 (``0``, ``0.0``, the text ``'0'``, as the law's own domains'
    text shares are read); NaN, None or other text is not, and the caller names such a domain."""
    try:
        return float(share) == 0.0
    except (TypeError, ValueError):
        return False


def _numbers(col: pd.Series) -> bool:
    """Whether a column that pandas does not type as numeric (object dtype) still holds numbers only."""
    try:
        pd.to_numeric(col)
    except (TypeError, ValueError):
        return False
    return True


def _named_columns(X: pd.DataFrame, *, for_fit: bool, domains: Sequence[str] | None,
                   fitted_columns: Sequence[str] | None = None) -> tuple[Any, list[str] | None, dict[str, np.ndarray]]:
    """A frame of mixtures in plain columns: its names are the domains (fit), or are matched to them (predict).

    ``law.fit(pd.DataFrame(W, columns=["web", "code", "books", "wiki"]), y)`` named the domains d0..d3, and
    ``predict`` of the same frame with its columns in another order gave the losses of other mixtures without a
    word (2.29 for 3.22 on the first of three rows). Frames with non-string or repeated column names
    (``pd.DataFrame(W)``) and laws fitted without names stay positional, as arrays are.
    """
    cols = list(X.columns)
    if not all(isinstance(c, str) for c in cols) or len(set(cols)) != len(cols):
        return X, None, {}
    # The run table's own column names are not domains: a 'params' column was fitted as a domain with shares of
    # 3e7-3e8 (dz-eq1 R^2 -0.07 on its own runs, without a word). params/tokens are the runs' scale, as beside w:
    # columns; run/step have no place among the shares.
    other = [c for c in cols if c in META_COLUMNS and c not in ("params", "tokens")]
    if other:
        raise InputError(f"a frame of mixtures with column(s) {other}: name its weight columns 'w:<domain>' to read "
                         f"it as a run table, or leave {other} out")
    text = [c for c in cols if not pd.api.types.is_numeric_dtype(X[c]) and not _numbers(X[c])]
    if text:
        # fit(df, targets="my_loss") on a frame with a run-name column raised numpy's "could not convert string to
        # float: 'r0'", naming neither the column nor what the frame is read as.
        raise InputError(f"a frame of mixtures with column(s) {text} that are not numbers: a frame without "
                         f"'{WEIGHT_PREFIX}<domain>' columns is read as mixtures alone, one column per domain; pass "
                         "its domain columns (and the losses as a second argument, e.g. "
                         "fit(df[domains], df['my_loss'])), or name the columns 'w:<domain>' / 'loss:<eval>' "
                         "(mixlaw.importers.read_runs_mapped reads a table under other names)")
    scale = {c: X[c].to_numpy(dtype=np.float64) for c in ("params", "tokens") if c in cols}
    if scale:
        X = X.drop(columns=list(scale))
        cols = list(X.columns)
    if for_fit:
        return X, cols, scale
    if (domains is None or list(domains) == [f"d{j}" for j in range(len(domains))] or cols == list(domains)
            or (fitted_columns is not None and cols == list(fitted_columns))):
        return X, None, scale
    missing = [d for d in domains if d not in cols]
    # A column that is not a domain and is 0 in every row is left out, as a run table's is (table_weights_for):
    # a plain frame with an all-zero 'd' was refused where the same frame with w: columns was predicted.
    unknown = [c for c in cols if c not in domains
               and pd.to_numeric(X[c], errors="coerce").fillna(1).astype(bool).any()]
    if missing or unknown:
        raise InputError(f"the frame's columns {cols} are not the law's domains {list(domains)}"
                         + (f"; missing: {missing}" if missing else "")
                         + (f"; not a domain: {unknown}" if unknown else "")
                         + " (name the columns by domain, or pass an array in the domains' order)")
    return X[list(domains)], None, scale


__all__ = ["weights_in_order"]
