"""What :meth:`~.base.MixingLaw.fit` is given, read and checked before any parameter is fitted.

``fit`` takes an array, a DataFrame or a :class:`~mixlaw.data.RunTable`, with losses beside it or inside it, some
of them missing; :func:`read_fit_input` turns all of these into one :class:`FitInput` (weights on the simplex,
a 2-D loss matrix, names, model sizes and tokens, and what was left out on the way), or an InputError that names
the row, column, flag and keyword. How single arrays and frames are read is :mod:`._inputs`. :class:`FitContext`
is what a law's ``_fit`` and ``_predict`` get besides the weights and losses (re-exported by :mod:`.base`).

Warnings here are given with the stack level of the line that called ``fit`` (``fit`` calls these directly): a
user reading ``base.py:412: DataWarning`` could not tell which of their fits it was about.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._validation import validate_params
from ..data import (
    LOSS_PREFIX,
    NONPOSITIVE_HINT,
    OWN_ROWS_HINT,
    ROUNDING_TOL,
    WEIGHT_PREFIX,
    RunTable,
    beyond_tol,
    known_names,
    weight_sum_error,
)
from ..errors import DataWarning, InputError, ScaleWarning, rows_named, user_stacklevel
from ..evals import unweighted_gaps_line
from ._inputs import _as_weights, _frame_as_table, _loss_names, _opt_1d, check_rows_paired
from .scale_inputs import scale_blind_message

#: ``fit`` -> read_fit_input -> warnings.warn: the caller of ``fit`` is three frames up.
_CALLER = 3


def _weight_tol(tol: Any) -> float:
    """``fit``'s ``weight_tol`` as a float in [0, 1), else an InputError (checked before any input is read)."""
    try:
        value = float(tol)
    except (TypeError, ValueError):
        value = float("nan")
    if not 0 <= value < 1:  # also refuses NaN, which would accept any row sum
        raise InputError(f"weight_tol must be a number in [0, 1), got {tol!r}")
    return value


def _weights_on_simplex(W: np.ndarray, tol: float, label: str, option: str | None = "weight_tol=",
                        index: Sequence[Any] | None = None) -> np.ndarray:
    """An array of mixtures held to the run table's row-sum rule (:func:`~mixlaw.data.weight_sum_error`): rows
    within ``tol`` of 1 renormalised, and said once when some row is off by more than rounding; a row beyond it
    refused. ``law.fit(W, y)`` fitted rows summing to 1.3 as given while the same rows in a CSV were refused.
    ``option``: the caller's keyword that widens ``tol`` (None: it has none); ``index``: the labels of the rows
    when they came from a DataFrame (a refused row is named by its label, as the run table names a frame's rows).
    Rows on the simplex (within 1e-9) come back as the same array."""
    sums = W.sum(axis=1)
    refused = weight_sum_error(sums, tol, option=option)
    if refused is not None:
        i, why = refused
        at = rows_named(None, [i], [i] if index is None else [index[i]])  # "row 4 (0-based)", "row 'r4' (...)"
        raise InputError(f"{label}: weights {at} of {len(W)}: {why}")
    off = np.abs(sums - 1.0)
    loud = beyond_tol(off, ROUNDING_TOL)  # inclusive, as the run table reads it
    if loud.any():
        warnings.warn(f"{label}: renormalised the weights of {int(loud.sum())} of {len(W)} rows "
                      f"that summed to 1 within {tol:g} (largest deviation {off.max():.3g})", DataWarning,
                      stacklevel=user_stacklevel(2))
    return W / sums[:, None] if (off > 1e-9).any() else W


@dataclass
class FitInput:
    """Everything ``fit`` goes on with, read from what it was given."""

    W: np.ndarray  # (n_runs, n_domains) on the simplex
    Y: np.ndarray  # (n_runs, n_targets); NaN only for a missing loss a fit may skip
    domains: list[str]
    targets: list[str]
    model_params: np.ndarray | None
    tokens: np.ndarray | None
    weight_tol: float  # the tolerance rows were read with (a run table's own)
    y_1d: bool  # losses were 1-D: predict returns 1-D
    frame_columns: list[str] | None  # a plain frame's column names (predict reads the same frame by position)
    left_out: dict[str, int] = field(default_factory=dict)  # per eval, rows without its loss (not fitted)
    n_table: int = 0  # rows of the run table before any was left out (0: not a table)
    n_ids: int | None = None  # distinct run ids of a table (checkpoints and sizes share one)
    fit_scale: dict[str, Any] | None = None  # the table's scale summary
    source: str | None = None  # the table's file (or bundled name)
    spread: dict[str, Any] = field(default_factory=dict)  # the table's scale spread
    checkpoints: bool = True  # some run has several rows at one size (RunTable.has_checkpoints)


@dataclass
class FitContext:
    """What a law may need besides weights and losses."""

    domains: list[str]
    targets: list[str]
    model_params: np.ndarray | None = None
    tokens: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def read_fit_input(law: Any, weights: Any, losses: Any, *, domains: Sequence[str] | None,
                   targets: Sequence[str] | str | None, model_params: Any, tokens: Any,
                   weight_tol: Any) -> FitInput:
    """Read ``fit``'s arguments (see its docstring) into a :class:`FitInput`, refusing bad input in one line.

    ``law`` is the :class:`~.base.MixingLaw` being fitted (not imported here: base imports this module); what is
    read of it: ``_fits_ragged()``, ``_spare_targets()``, ``_label`` and its parameters (validated here); what is
    set on it: ``_weight_tol``, before anything can refuse the input (as ``fit`` did before this module)."""
    if isinstance(targets, np.ndarray) or (targets is not None and not isinstance(targets, (str, Sequence))
                                           and hasattr(targets, "__next__")):
        # Read once, here: a generator reached the table used up ("no target given"), and a 0-d array of a name
        # stopped on numpy's "iteration over a 0-d array" (tolist: its name; 1-d: its names).
        targets = targets.tolist() if isinstance(targets, np.ndarray) else list(targets)
    check_rows_paired(weights, losses, "fit")
    _check_named_targets(losses, targets)
    weight_tol = _weight_tol(weight_tol)
    # Kept on the law as soon as it is known, even by a fit that is then refused (its *_ state is deleted, this
    # is not): score(table) reads a table at it before it checks that the law is fitted, and so after a refused
    # fit with weight_tol=0.2 said NotFittedError, not a row-sum error at a tolerance the law was never given.
    law._weight_tol = weight_tol
    ragged = law._fits_ragged()
    w_frame = isinstance(weights, pd.DataFrame) and sum(str(c).startswith(WEIGHT_PREFIX) for c in weights.columns) > 1
    weights, frame_domains, frame_scale = _frame_as_table(weights, for_fit=True, weight_tol=weight_tol,
                                                            tol_option="weight_tol=")
    if w_frame and frame_domains is not None and domains is not None:
        # A frame of 'w:<domain>' columns names its domains, as a run table does: domains= orders them by name.
        order = _domain_order(frame_domains, domains, "the frame's 'w:' columns")
        weights, frame_domains = np.asarray(weights)[:, order], [frame_domains[j] for j in order]
    domains = frame_domains if domains is None else domains
    model_params = frame_scale.get("params") if model_params is None else model_params
    tokens = frame_scale.get("tokens") if tokens is None else tokens
    out = FitInput(np.empty((0, 0)), np.empty((0, 0)), [], [], None, None, weight_tol, False, frame_domains)
    spare: list[str] = []
    from_table = isinstance(weights, RunTable)
    table_losses = from_table and losses is None  # the table's own: rows_with_any / complete say what they drop
    if from_table:
        table = weights
        out.weight_tol = law._weight_tol = table.weight_tol  # the tolerance its rows were read with
        if losses is None:
            # An eval missing in some runs (NaN cells): each fit uses the rows that have its targets, all of them
            # (the table's complete rows), or each its own for a law that fits them so (the rows with none of
            # the targets' losses dropped). An objective's evals of weight 0 are not needed in a row (auto's
            # --objective b kept only the rows that had a and c too).
            out.left_out = table.rows_left_out(targets)
            out.n_table = len(table)
            resolved = table.resolve_targets(targets)
            spare = [] if ragged else law._spare_targets(resolved)
            need = [t for t in resolved if t not in spare]
            table = (table.rows_with_any(targets, who=law._label) if ragged
                     else table.complete(need, hint=OWN_ROWS_HINT if len(need) > 1 else None))
        out.fit_scale, out.source, out.spread = table.scale_summary(), table.path, table.scale_spread()
        out.n_ids = len(set(map(str, table.runs)))
        out.checkpoints = table.has_checkpoints()
        # kept with the law (and saved): optimize's "give the scale" and a saved law's refit advice offer only
        # the cuts the table has (scale_inputs.fitted_scale_cut)
        out.fit_scale["checkpoints"] = out.checkpoints
        why = scale_blind_message(table.path, out.spread, [law], checkpoints=out.checkpoints)
        if why:
            warnings.warn(why, ScaleWarning, stacklevel=user_stacklevel(_CALLER))
        given = _loss_names(losses) if losses is not None and targets is None else None
        # Losses given beside a table name their evals as they do beside an array (a Series' name, a frame's
        # columns): fit(frame, frame["loss:web"]), scikit-learn's X, y, said "2 target names for 1 loss columns",
        # and frame[["loss:code", "loss:web"]] was fitted under the table's order, targets_ ['web', 'code'] with
        # the code losses predicted as web's.
        names = given if given is not None else table.resolve_targets(targets)
        shape = _shape(losses) if losses is not None and targets is None and given is None else ()
        if len(shape) in (1, 2):
            n_cols = 1 if len(shape) == 1 else shape[1]
            if n_cols != len(names):
                raise InputError(f"losses have {n_cols} column(s) and the table {len(names)} eval set(s) "
                                 f"{known_names([], names)}: say which with targets=, pass them as a pandas Series "
                                 "or DataFrame named by eval (df['loss:<eval>']), or leave losses out to fit the "
                                 "table's own")
        if losses is None:
            losses = table.losses(names if not (isinstance(targets, str) and targets != "all") else targets,
                                  allow_missing=ragged or bool(spare))
        targets = names
        model_params = table.model_params if model_params is None else model_params
        tokens = table.tokens if tokens is None else tokens
        weights = table.weights
        if domains is None:
            domains = table.domains
        else:
            # Read by name, as predict reads a table: fit(table, domains=reversed(table.domains)) relabelled the
            # columns by position, and the law's score on its own table was R2 -0.74 for 0.79 (RegMix, linear).
            order = _domain_order(table.domains, domains, f"{table.path or 'the table'}'s 'w:' columns")
            weights, domains = weights[:, order], [table.domains[j] for j in order]
    elif targets is None:
        targets = _loss_names(losses)
    validate_params(law)
    if losses is None and frame_domains is not None:
        # A frame in its own column names with targets= naming one of them: it was read as mixtures alone and
        # the error said "fit needs losses (or a RunTable)" (or numpy's, for a text column).
        named = [t for t in ([targets] if isinstance(targets, str) else list(targets or []))
                 if t in frame_domains]
        raise InputError("fit needs losses: a frame without 'w:<domain>' / 'loss:<eval>' columns is read as "
                         "mixtures alone"
                         + (f", and {named} would be a domain; pass fit(df.drop(columns={named}), df[{named}])"
                            if named else "; pass them as the second argument")
                         + ", or name the columns 'w:<domain>' / 'loss:<eval>' (a run table)")
    W = _as_weights(weights, "weights")
    if not from_table:
        W = _weights_on_simplex(W, weight_tol, law._label,
                                index=weights.index.tolist() if isinstance(weights, pd.DataFrame) else None)
    if losses is None:
        raise InputError("fit needs losses (or a RunTable)")
    try:
        Y = np.asarray(losses, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InputError(f"losses must be numbers, shape (n_runs,) or (n_runs, n_targets): {err}") from None
    out.y_1d = Y.ndim == 1
    Y = Y.reshape(-1, 1) if Y.ndim == 1 else Y
    if Y.ndim != 2 or Y.shape[0] != W.shape[0]:
        raise InputError(f"losses must have shape (n_runs,) or (n_runs, n_targets) with n_runs={W.shape[0]}; "
                         f"got {np.shape(losses)}")
    tg = _target_names(targets, Y.shape[1])
    W, Y, model_params, tokens, skipped = _missing_losses(law, W, Y, tg, model_params, tokens, ragged=ragged)
    out.domains = _domain_names(domains, W.shape[1])
    # Said only once the domain names are good: a fit refused for them skips no loss (and under -W error gave
    # the DataWarning instead of the InputError).
    _say_skipped(law, out, Y, tg, skipped, table_losses=table_losses)
    out.W, out.Y, out.targets = W, Y, tg
    out.model_params = _opt_1d(model_params, W.shape[0], "params")
    out.tokens = _opt_1d(tokens, W.shape[0], "tokens")
    return out


def _check_named_targets(losses: Any, targets: Sequence[str] | str | None) -> None:
    """Refuse ``targets=`` that names losses given with names of their own (a pandas Series or DataFrame) otherwise:
    fit(df, df["loss:web"], targets="code") fitted web's losses under code's name without a word (review29b)."""
    named = _loss_names(losses) if targets is not None else None
    if named is None or (isinstance(targets, str) and targets == "all"):
        return
    asked = [targets] if isinstance(targets, str) else [str(t) for t in targets]
    if [t.removeprefix(LOSS_PREFIX) for t in asked] != named:
        raise InputError(f"targets={asked} does not name the losses given, which are named {named} (a pandas "
                         "Series' name, a frame's columns): leave targets= out, or give the losses in its order")


def _shape(losses: Any) -> tuple[int, ...]:
    """``np.shape(losses)``, or () for a ragged list (refused below as "losses must be numbers")."""
    try:
        return np.shape(losses)
    except ValueError:
        return ()


def _names(given: Sequence[str] | str | None, n_cols: int, default: str, what: str, keyword: str,
           columns: str) -> list[str]:
    """One name per column (``default`` + index when none are given), each named once, else an InputError."""
    names = [f"{default}{i}" for i in range(n_cols)] if given is None else (
        [given] if isinstance(given, str) else [str(t) for t in given])
    if len(names) != n_cols:
        raise InputError(f"{len(names)} {what} names for {n_cols} {columns} columns")
    if "" in names:
        # A law fitted with one ran and saved, and its file then failed to load ("field 'targets' must be a list
        # of at least 1 distinct names, got ['']"): laws/saved.py reads a name as a non-empty string.
        raise InputError(f"{what} name {names.index('')} is empty ({keyword}=): give each {columns} column a name")
    twice = sorted({t for t in names if names.count(t) > 1})
    if twice:
        # Parameters are named per target and per domain: 'duplicate parameter name' ValueError from deep in the fit
        # before.
        raise InputError(f"{what} name(s) {twice} given twice ({keyword}=): name each {columns} column once")
    return names


def _domain_order(own: Sequence[str], domains: Any, where: str) -> list[int]:
    """The positions in ``own`` (the domains a table's or frame's ``w:`` columns name) of ``domains``, given to
    ``fit`` beside them: the same names in any order; other names are an InputError (a run table's domains are
    its columns' names, which ``domains=`` does not rename)."""
    given = [domains] if isinstance(domains, str) else list(domains)
    if sorted(map(str, given)) != sorted(own) or len(set(given)) != len(given):
        raise InputError(f"domains={given!r} are not the domains {list(own)} that {where} name: a run table's "
                         "domains are its columns' names, read by name; leave domains= out (or give those names "
                         "in the order wanted), or rename the columns")
    return [list(own).index(str(d)) for d in given]


def _target_names(targets: Sequence[str] | str | None, n_cols: int) -> list[str]:
    return _names(targets, n_cols, "y", "target", "targets", "loss")


def _domain_names(domains: Sequence[str] | None, n_cols: int) -> list[str]:
    return _names(domains, n_cols, "d", "domain", "domains", "weight")


def _missing_losses(law: Any, W: np.ndarray, Y: np.ndarray, tg: list[str], model_params: Any, tokens: Any, *,
                    ragged: bool) -> tuple[np.ndarray, np.ndarray, Any, Any, tuple[np.ndarray, Any, int]]:
    """Refuse a NaN, infinite or non-positive loss, except a missing one a fit may skip: every missing loss of
    a law that fits each eval on its own rows (the rows with none dropped), and an eval's that the objective
    weighs 0. Returns the rows kept and what was skipped, (spare columns, per-eval NaN counts of a ragged fit or
    None, rows given), which :func:`_say_skipped` says."""
    # Columns of evals the fit does not need (an objective's of weight 0): a missing loss there is no error.
    spare_cols = np.zeros(Y.shape[1], dtype=bool)
    if not ragged and np.isnan(Y).any():
        spare_cols = np.isin(tg, law._spare_targets(tg))
    per_col, n_given = None, len(Y)  # per_col: an array's rows without each eval's loss, in a ragged fit
    if ragged and np.isnan(Y).any() and not np.isinf(Y).any():
        # A missing loss (NaN) of a law that fits each eval on its own rows: rows with none are no row of the
        # fit (an array's; a table's were dropped before), and an eval needs a loss somewhere.
        per_col = np.isnan(Y).sum(axis=0)
        some = ~np.isnan(Y).all(axis=1)
        empty = [i for i in range(Y.shape[1]) if np.isnan(Y[:, i]).all()]
        if empty:
            raise InputError(f"losses column(s) {empty} (0-based) are NaN in every row: an eval set needs a loss "
                             "in some run; leave it out of the targets")
        if not some.all():
            W, Y = W[some], Y[some]
            # (one value for every run, or of another length, which _opt_1d refuses later, are kept as given)
            model_params, tokens = (np.asarray(v)[some] if v is not None and np.size(v) == len(some) else v
                                    for v in (model_params, tokens))
        check_losses(Y, finite=False)
    else:
        check_losses(Y, spare_cols=spare_cols)
    return W, Y, model_params, tokens, (spare_cols, per_col, n_given)


def check_losses(Y: np.ndarray, *, spare_cols: np.ndarray | None = None, finite: bool = True,
                 table_hint: str = "whose fits leave out the rows that miss a loss") -> None:
    """Refuse losses (a 2-D array, one column per eval) that a law cannot fit: a NaN or infinite one (unless
    ``finite`` is False: a ragged fit's missing losses; or in a ``spare_cols`` column, an eval the fit does not
    need), else a loss <= 0. The InputError names the rows, or the smallest loss and what to store instead.
    ``fit`` and ``score`` both check with it (``table_hint``: what a RunTable would do instead)."""
    if finite and (not np.all(np.isfinite(Y if spare_cols is None else Y[:, ~spare_cols])) or np.isinf(Y).any()):
        # Which rows: "losses must be finite and > 0" alone left a user to search 512 rows for one NaN.
        ok = np.isfinite(Y if spare_cols is None else np.where(spare_cols, 1.0, Y))
        bad = np.flatnonzero(~np.all(ok, axis=1))
        rows = ", ".join(map(str, bad[:5])) + (" ..." if len(bad) > 5 else "")
        raise InputError(f"losses must be finite and > 0; {len(bad)} of {len(Y)} rows are NaN or infinite "
                         f"(0-based row(s) {rows}): drop those rows, or pass a RunTable, {table_hint}")
    if np.any(Y <= 0):  # False at a NaN (a missing loss of a ragged fit, a spare eval's)
        raise InputError(f"losses must be finite and > 0; got {float(np.nanmin(Y)):g} ({NONPOSITIVE_HINT})")


def _say_skipped(law: Any, out: FitInput, Y: np.ndarray, tg: list[str], skipped: tuple[np.ndarray, Any, int], *,
                 table_losses: bool) -> None:
    """One warning for each kind of missing loss :func:`_missing_losses` let the fit skip (an array's, in a ragged
    fit: also its ``rows_left_out_``, kept in ``out.left_out``)."""
    spare_cols, per_col, n_given = skipped
    unused = {t: int(k) for t, k, sp in zip(tg, np.isnan(Y).sum(axis=0), spare_cols, strict=True) if sp and k}
    if unused:
        # No NaN dropped without a word: the objective weighs these evals 0, so their missing cells cost no row.
        # The sentence a command's table gets (evals.unweighted_gaps): the two had their own wordings.
        weighed = [t for t, sp in zip(tg, spare_cols, strict=True) if not sp]
        where = f"{out.source}: " if out.n_ids is not None and out.source else ""
        warnings.warn(unweighted_gaps_line(f"{where}{law._label}", unused, len(Y), weighed), DataWarning,
                      stacklevel=user_stacklevel(_CALLER + 1))
    if not table_losses and per_col is not None:
        out.left_out = {t: int(k) for t, k in zip(tg, per_col, strict=True) if k}
        # said as a table's missing cells are (RunTable.rows_with_any): no NaN is dropped without a word (losses
        # given beside a RunTable's weights were: fit(table, Y) neither warned nor kept rows_left_out_)
        warnings.warn(f"{law._label}: fitting each eval on the rows that have its loss; left out the NaN losses ("
                      + ", ".join(f"{t} {k}" for t, k in out.left_out.items()) + f" of {n_given} rows)",
                      DataWarning, stacklevel=user_stacklevel(_CALLER + 1))
