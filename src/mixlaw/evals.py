"""Eval groups and weighted totals: new loss columns built from a run table's eval sets (data layer).

A user often cares about a *group* of eval sets (all code benchmarks, all of Paloma's web slices) or about one
weighted *total*, not about each set. This module owns the arithmetic that turns eval-set losses into such
columns, so that every command that takes a run table (compare, fit, optimize, pipeline) can use them:

* an **eval group** ``name=a:0.3,b:0.7`` adds ``loss:name`` = the weighted *mean*
  :math:`\\sum_i s_i L_i / \\sum_i s_i` (the weights are shares, normalised to sum to 1, so a group of
  losses stays on the scale of a loss);
* a **weighted total** adds :math:`\\sum_i s_i L_i` with the weights *as given*: the same scalar that
  :func:`mixlaw.optimize.optimize_mixture` minimises for ``objective={eval: s_i}``, so that one law fitted on
  this column predicts the objective itself (Ye et al. 2025 fit per-domain laws and sum them, Eq. 3; fitting
  the sum directly has one law's error instead of K errors added up).

The new column is computed row by row from the table's own loss columns and is validated like any loss
(finite, > 0).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .data import HIGHER_IS_BETTER, LOSS_PREFIX, RunTable, known_names
from .errors import DataWarning, HigherIsBetterWarning, InputError, user_stacklevel

#: Name of the column :func:`add_weighted_total` adds by default.
TOTAL_NAME = "objective"


def parse_eval_group(spec: str, option: str = "--eval-group") -> tuple[str, dict[str, float]]:
    """Parse ``name=a:0.3,b:0.7`` into ``("name", {"a": 0.3, "b": 0.7})``.

    A member without a weight (``name=a,b``) gets weight 1 (an unweighted mean).
    The weight is what follows a member's last colon when that is a number; otherwise the whole member is the
    eval name (``arc=arc_challenge:rc::olmes,arc_easy:rc::olmes``: two members, weight 1 each).

    Raises
    ------
    InputError
        A missing name or ``=``, a weight that is not a number, or a member named twice.
    """
    name, sep, rest = str(spec).partition("=")
    name = name.strip()
    if not sep or not name or not rest.strip():
        raise InputError(f"{option}: expected name=eval:weight,eval:weight,...; got {spec!r}")
    members: dict[str, float] = {}
    for item in (x.strip() for x in rest.split(",")):
        if not item:
            continue
        ev, colon, val = item.rpartition(":") if ":" in item else (item, "", "1")
        ev = ev.strip()
        try:
            weight = float(val)
        except ValueError:
            # Eval names may hold colons (OLMES tasks: 'arc_challenge:rc::olmes', 'mt_mbpp_v2fix:python'):
            # when what follows the last colon is no number, the whole item is the name, with weight 1. A
            # mistyped weight then fails as an unknown eval set, which lists the known ones.
            ev, weight = item, 1.0
        if not ev:
            raise InputError(f"{option} {name}: empty eval name in {item!r}")
        if ev in members:
            raise InputError(f"{option} {name}: eval set {ev!r} named twice")
        members[ev] = weight
    return name, members


def _check_weights(name: str, members: Mapping[str, float], table: RunTable, what: str) -> np.ndarray:
    if not members:
        raise InputError(f"{what} {name!r} has no members")
    unknown = [e for e in members if e not in table.evals]
    if unknown:
        raise InputError(f"{what} {name!r} names unknown eval set(s) {unknown}; the table has loss columns for "
                         f"{known_names(unknown, table.evals)}")
    s = np.array([float(members[e]) for e in members], dtype=np.float64)
    if not np.all(np.isfinite(s)) or np.any(s < 0) or s.sum() <= 0 or not np.isfinite(s.sum()):
        raise InputError(f"{what} {name!r}: weights must be finite, >= 0 and not all 0; got {dict(members)}"
                         + (" (their sum is inf: scale them down)" if np.all(np.isfinite(s)) and np.isinf(s.sum())
                            else ""))
    return s


def _with_column(table: RunTable, name: str, values: np.ndarray, members: list[str]) -> RunTable:
    """A copy of ``table`` with one more loss column (no re-validation of the rows it already passed), computed
    from the evals ``members`` (those weighed > 0: named when a row misses it)."""
    col = LOSS_PREFIX + name
    if col in table.frame.columns:
        raise InputError(f"{table.path or 'run table'}: a loss column {col!r} exists already; choose another "
                         "group name")
    # NaN only where a member's loss is missing; inf or <= 0 cannot happen for losses > 0 and weights >= 0.
    if not np.all(np.isnan(values) | (np.isfinite(values) & (values > 0))):
        raise InputError(f"{name!r}: computed losses are not all finite and positive")
    out = table.subset(np.arange(len(table)))
    out.frame = out.frame.assign(**{col: values})
    out._members[name] = members
    return out


def add_eval_groups(table: RunTable, groups: Mapping[str, Mapping[str, float]]) -> RunTable:
    """Add one loss column per group: the weighted mean of its members' losses.

    Parameters
    ----------
    table : RunTable
    groups : mapping of str to mapping of str to float
        ``{group: {eval: share}}``; shares >= 0, normalised to sum to 1 within each group.

    Returns
    -------
    RunTable
        A new table with ``loss:<group>`` columns after the existing ones (the member columns stay).

    Raises
    ------
    InputError
        An unknown member eval set, a group named like an existing eval set, or bad weights.

    Examples
    --------
    >>> import pandas as pd
    >>> t = RunTable(pd.DataFrame({"run": ["a"], "w:x": [0.5], "w:y": [0.5], "loss:p": [2.0], "loss:q": [3.0]}))
    >>> add_eval_groups(t, {"pq": {"p": 0.25, "q": 0.75}}).losses("pq")
    array([2.75])
    """
    out = table
    for name, members in groups.items():
        s = _check_weights(name, members, table, "eval group")
        out = _with_column(out, name, _weighted(table, list(members), s / s.sum()),
                           [m for m, v in zip(members, s, strict=True) if v > 0])
    return out


def _weighted(table: RunTable, names: list[str], s: np.ndarray) -> np.ndarray:
    """sum_i s_i L_i per row, missing (NaN) in the rows that miss a loss weighed above 0: the combined eval is
    then fitted on the rows that have every eval in it, as :meth:`RunTable.complete` takes them."""
    Y = table.frame[[LOSS_PREFIX + n for n in names]].to_numpy(dtype=np.float64)
    used = s > 0
    out = Y[:, used] @ s[used]  # NaN where a used member is NaN (a missing loss), never from a 0-weight one
    return out


def add_weighted_total(table: RunTable, weights: Mapping[str, float], name: str = TOTAL_NAME) -> RunTable:
    """Add the column ``loss:<name>`` = :math:`\\sum_i s_i L_i` with the weights as given (not normalised).

    This is the scalar that :func:`mixlaw.optimize.optimize_mixture` minimises for ``objective=weights``; fit
    one law on it (``targets=[name]``) to model the objective directly.

    Examples
    --------
    >>> import pandas as pd
    >>> t = RunTable(pd.DataFrame({"run": ["a"], "w:x": [0.5], "w:y": [0.5], "loss:p": [2.0], "loss:q": [3.0]}))
    >>> add_weighted_total(t, {"p": 1.0, "q": 1.0}).losses("objective")
    array([5.])
    """
    s = _check_weights(name, weights, table, "weighted total")
    if name == TOTAL_NAME and name in table.evals:
        # The group's message ('choose another group name') named an option the caller never used.
        raise InputError(f"{table.path or 'run table'}: the table has an eval set named {name!r}, the name of the "
                         "column a law on the weighted objective is fitted to (--fit-total, add_weighted_total; "
                         "fit_pipeline's candidates for objective=, --objective): rename that column (e.g. "
                         "'loss:objective_eval')")
    return _with_column(table, name, _weighted(table, list(weights), s),
                        [m for m, v in zip(weights, s, strict=True) if v > 0])


def warn_keyword_named_eval(keyword: str, targets: Sequence[str], reads: str, stacklevel: int = 2) -> None:
    """A DataWarning when an eval set is named like the objective keyword given (``mean``, ``total``, ``max``) and
    there are other eval sets: the keyword wins (``reads``: what it computes), and ``weights=<name>:1`` is that
    eval set alone."""
    if keyword in targets and len(targets) > 1:
        warnings.warn(f"objective {keyword!r} is read as {reads} of every eval set ({list(targets)}), the eval set "
                      f"{keyword!r} among them; for that eval set alone give weights={keyword}:1 "
                      f"(objective={{{keyword!r}: 1}})", DataWarning, stacklevel=user_stacklevel(stacklevel + 1))


def prefixed_eval_hint(names: Sequence[str], targets: Sequence[str]) -> str:
    """'; <eval> is an eval set whose own name starts with 'loss:' ...' where a name given to an objective is such an
    eval's without that start: the command line drops a 'loss:' prefix from --objective (``loss:c4`` is ``c4``), so
    ``--objective loss:x`` of an eval named 'loss:x' (a column 'loss:loss:x') arrives as 'x'; '' otherwise."""
    hit = next((LOSS_PREFIX + n for n in names if n not in targets and LOSS_PREFIX + n in targets), None)
    return ("" if hit is None else f"; {hit!r} is an eval set whose own name starts with {LOSS_PREFIX!r}: "
            f"objective={hit!r}, on the command line --objective {LOSS_PREFIX}{hit} (which drops one {LOSS_PREFIX!r})")


def among_targets(verb: str) -> str:
    """The clause every unknown-objective error ends with: the objective reads the fitted eval sets only, so an eval
    the table has but ``--target`` left out is 'unknown' to it ('pipeline --target pile --objective c4' said "unknown
    objective 'c4'" of an eval the table has)."""
    return f"an eval the objective {verb} must be among the targets: --target, targets="


def objective_weights(objective: str | Mapping[str, float] | None, targets: Sequence[str]) -> np.ndarray | None:
    """Linear weights s (one per target) of an objective over ``targets``: ``"mean"`` (1/K each), ``"total"``
    (1 each), an eval set's name (1 for it, 0 for the rest) or ``{eval: s_i >= 0}`` (0 for targets it leaves
    out); None for None.

    The one parser of linear objectives: :func:`mixlaw.laws.selection.objective_weights` (re-exported there),
    :func:`mixlaw.optimize.optimize_mixture`'s objectives and :func:`linear_objective` all use it.

    Raises
    ------
    InputError
        An unknown string, a mapping that names an eval set not among ``targets``, weights that are not
        finite, negative or all 0, or anything else.
    """
    if objective is None:
        return None
    K = len(targets)
    if isinstance(objective, str):
        if objective in ("mean", "total"):
            # An eval set named 'total' (a summed validation loss) or 'mean': the keyword wins, as documented, but
            # an objective meant for that column alone would silently be the sum of every eval set, it included.
            warn_keyword_named_eval(objective, targets, "the sum" if objective == "total" else "the mean",
                                    stacklevel=2)
        if objective == "mean":
            return np.full(K, 1.0 / K)
        if objective == "total":
            return np.ones(K)
        if objective in targets:
            return np.eye(K)[list(targets).index(objective)]
        raise InputError(f"unknown objective {objective!r}; expected 'mean', 'total', an eval set ({list(targets)}) "
                         f"or {{eval: weight}} ({among_targets('names')})" + prefixed_eval_hint([objective], targets))
    if isinstance(objective, Mapping):
        unknown = sorted(set(map(str, objective)) - set(targets))
        if unknown:
            # 'the evals are ['a']' of a table that has 'b' too read as if 'b' were missing: it is not a target.
            raise InputError(f"objective weights name unknown eval set(s) {unknown}; the evals are {list(targets)} "
                             f"({among_targets('weighs')})" + prefixed_eval_hint(unknown, targets))
        try:
            s = np.array([float(objective.get(t, 0.0)) for t in targets])
        except (TypeError, ValueError):
            raise InputError(f"objective weights must be numbers; got {dict(objective)}") from None
        if not np.all(np.isfinite(s)) or np.any(s < 0) or s.sum() <= 0 or not np.isfinite(s.sum()):
            # A negative weight is how one would try to maximise an accuracy: say what does that. Finite weights
            # whose sum overflows made the objective inf at every mixture (the natural one returned, gain NaN).
            hint = (" (to maximise a higher-is-better metric such as an accuracy, give it a positive weight and "
                    "maximize=True, --maximize on the command line)") if np.any(s < 0) else \
                (" (their sum is inf: scale them down)" if np.all(np.isfinite(s)) and np.isinf(s.sum()) else "")
            raise InputError(f"objective weights must be finite, >= 0 and not all 0; got {dict(objective)}{hint}")
        return s
    raise InputError(f"objective must be 'mean', 'total', an eval name or a mapping; got {objective!r}")


def linear_objective(objective: Any, targets: Sequence[str]) -> dict[str, float]:
    """The eval weights ``{eval: s_i}`` (the nonzero ones) of a linear objective over ``targets``: what
    :func:`add_weighted_total` takes. Parsed and checked by :func:`objective_weights`.

    Raises
    ------
    InputError
        ``"max"``, a callable or None (not a weighted sum of eval losses), or what :func:`objective_weights`
        refuses.
    """
    names = list(targets)
    if objective is None or callable(objective) or objective == "max" or not isinstance(objective, str | Mapping):
        raise InputError(f"a law on the weighted total needs a linear objective (mean, total, an eval set or "
                         f"weights=eval:w,...); got {objective!r}")
    s = objective_weights(objective, names)
    assert s is not None
    return {t: float(v) for t, v in zip(names, s, strict=True) if v != 0}




def reads_higher_is_better(name: str) -> bool:
    """Whether an eval set's name reads as a higher-is-better metric (accuracy, exact match, F1, pass@k, a score,
    a win rate) rather than a loss.

    Examples
    --------
    >>> [reads_higher_is_better(n) for n in ("hellaswag_acc", "pass@1", "squad_f1", "pile_cc", "loss_bpb")]
    [True, True, True, False, False]
    """
    return HIGHER_IS_BETTER.search(str(name)) is not None


def warn_minimised_metrics(names: Sequence[str], stacklevel: int = 2, *, what: str = "minimised as losses",
                           fix: str = "pass maximize=True (--maximize) to maximise them") -> None:
    """Warn (:class:`~mixlaw.errors.HigherIsBetterWarning`, one line) when eval sets an objective minimises (or a
    step of ``what``) have names that read as higher-is-better metrics: minimising an accuracy returns the worst
    mixture, silently. ``fix`` says what to do instead."""
    hits = [n for n in names if reads_higher_is_better(n)]
    losses = [n for n in names if not reads_higher_is_better(n)]
    if hits and losses and what == "minimised as losses":
        # One objective of a loss and an accuracy (--objective mean over a table of 'gsm8k' and 'acc_gsm8k', as
        # Chen et al.'s BO sweep logs each run): --maximize, the advice for an accuracy alone, would then maximise
        # the loss too. The objective has to be split, not flipped.
        fix = (f"they are averaged with the loss(es) {losses} in one objective, which --maximize would maximise "
               f"too: optimise them apart, --objective {losses[0]} (objective='{losses[0]}') or --objective "
               f"{hits[0]} --maximize (maximize=True)")
    if hits:
        warnings.warn(f"eval set(s) {hits} read as higher-is-better metrics (accuracy, score) but are being {what}: "
                      f"{fix}, or ignore this if they are losses", HigherIsBetterWarning,
                      stacklevel=user_stacklevel(stacklevel + 1))


def unweighted_gaps_line(where: str, gaps: Mapping[str, int], n_rows: int, weighed: Sequence[str]) -> str:
    """The one sentence for evals a linear objective weighs 0 that miss a loss in some of the ``n_rows`` rows that
    have every eval it weighs (``weighed``): not fitted, so those rows are kept. ``gaps``: each such eval's missing
    cells; ``where``: who says it (the table's file, a law). Said by :func:`unweighted_gaps` for a command's table
    and by a meta-law's own fit (``AutoLaw(objective=...).fit``) for a table or an array with NaN losses: they had
    two wordings, one without the advice."""
    one = len(gaps) == 1
    return (f"{where}: the objective weighs {', '.join(gaps)} 0: not fitted, so the rows that miss "
            f"{'its' if one else 'their'} loss are kept (" + ", ".join(f"loss:{n} {k}" for n, k in gaps.items())
            + f" of {n_rows} rows that have {', '.join(weighed)}); give {'it' if one else 'them'} a weight to fit and "
            f"predict {'it' if one else 'them'}")


def unweighted_gaps(table: RunTable, names: Sequence[str], objective: Any, s: np.ndarray | None,
                    stacklevel: int = 3) -> tuple[list[str], Any]:
    """``names`` and ``objective`` without the evals a linear objective (weights ``s`` over ``names``) weighs 0
    that miss a loss in some of the rows that have every eval it weighs: not fitted, so those rows are kept (a fit
    on every target took only the rows that had each one, the zero-weight evals' too). A mapping objective loses
    their entries. One :class:`DataWarning` names them and their missing cells; unchanged when none misses one."""
    if s is None or s.all():
        return list(names), objective
    weighed = [n for n, w in zip(names, s, strict=True) if w]
    sub = table.subset(table.complete_rows(weighed))
    gaps = sub.rows_left_out([n for n, w in zip(names, s, strict=True) if not w])
    if not gaps:
        return list(names), objective
    warnings.warn(unweighted_gaps_line(table.path or "run table", gaps, len(sub), weighed), DataWarning,
                  stacklevel=user_stacklevel(stacklevel))
    if isinstance(objective, Mapping):
        objective = {k: v for k, v in objective.items() if k not in gaps}
    return [n for n in names if n not in gaps], objective


__all__ = ["among_targets", "unweighted_gaps", "unweighted_gaps_line", "parse_eval_group", "add_eval_groups",
           "add_weighted_total", "linear_objective", "objective_weights", "reads_higher_is_better",
           "warn_minimised_metrics", "TOTAL_NAME", "HIGHER_IS_BETTER"]
