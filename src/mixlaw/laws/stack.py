"""``stack``: a convex combination of the best cross-validated laws, weights fitted on out-of-fold predictions.

.. math:: \\hat L_i(r) = \\sum_m w_{im} \\hat L^{(m)}_i(r), \\qquad w_{im} \\ge 0,\\; \\sum_m w_{im} = 1

For each eval set i (or the objective), the ``n_members`` candidates with the best CV score
:math:`S = (1 - \\rho) + \\tfrac12 (1 - R^2)` enter; :math:`w_i` minimises the squared error of the combined
out-of-fold predictions (Breiman, "Stacked regressions", Machine Learning 24, 1996; Wolpert, "Stacked
generalization", 1992); members with zero weight are dropped and the rest refitted on all runs. No single
law wins on every eval of the Marin Delphi swarm (issue 10), which is why the weights are per eval set.

The table gains a ``stack`` row per column scored honestly: the weights used to predict fold f are fitted
on the other folds' out-of-fold predictions only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from numbers import Integral
from typing import Any, ClassVar

import numpy as np

from .._console import column_width, pad
from .._validation import Interval
from ..errors import InputError
from ..fit import Param, Params
from .auto import MetaLaw
from .base import FitContext, register
from .cv_table import n_par_of, rank_key
from .saved import state_number
from .selection import OBJECTIVE, CVResult, CVRow, member_name, nonneg_weights, score_columns

#: Members kept per column before weighting (the best by CV score).
DEFAULT_MEMBERS = 4


def _last_note(column: str) -> str:
    """Why a column's last stack weight is not fitted: the column's weights sum to 1 (a bare "(fixed)" read as a
    weight held by hand)."""
    return f"1 - the other w:{column} weights"


@register("stack")
class StackLaw(MetaLaw):
    """Convex stack of the best cross-validated laws, per eval set (or for the objective).

    ``L_i(r) = sum_m w_im L_i^(m)(r)`` with ``w_im >= 0`` summing to 1, fitted on the members' out-of-fold
    predictions (stacked regression: Breiman, Machine Learning 24, 1996; Wolpert 1992); the module docstring
    (:mod:`mixlaw.laws.stack`) says how the members are chosen and the stack scored.

    Parameters
    ----------
    candidates : list of str, optional
        Law keys; default :func:`mixlaw.laws.selection.default_candidates`.
    n_members : int, default=4
        Best candidates (by CV score) combined per column.
    n_folds : int, optional
        Folds (shuffled with ``random_state``). Default (None): 5, or, when 5 leave a candidate too few training
        runs per fold to fit, the fewest folds (at most 20) that fit it (:func:`~mixlaw.laws.selection.cross_validate`;
        ``cv_.folds_note`` says so). A given count is used as given.
    objective : "mean", "total", eval name or {eval: weight}, optional
        Stack for this objective (one output column, ``"objective"``); members are laws fitted per eval and
        aggregated or fitted on the objective directly.
    fit_on : tuple of str, default=("per-eval", "direct")
    random_state : int, numpy Generator or None, default=0
    screen : bool, default=True
        As in :class:`~mixlaw.laws.auto.AutoLaw`: a screened candidate is never a member.

    Without an objective, eval sets measured on different runs (a loss missing in some rows) are stacked each on
    the runs that have it, as :class:`~mixlaw.laws.auto.AutoLaw` chooses (its ``per_target``); with one, on the
    runs that have every eval's loss.

    Attributes
    ----------
    weights_ : dict of str to dict of str to float
        ``{column: {member: weight}}``, members named ``law`` or ``law[direct]``.
    cv_ : CVTable
        The CV table, with the cross-fitted ``stack`` rows.
    members_ : list
        ``(key, fit_on, targets, fitted law)``.
    params_ : Params
        The members' parameters, prefixed and ordered as in :class:`~mixlaw.laws.auto.AutoLaw`, then the stack weights
        ``w:<column>:<member>``.
    evals_ : list of str
        The eval sets fitted (``targets_`` is ``["objective"]`` when an objective is given).

    Notes
    -----
    .. math:: \\hat L_i(r) = \\sum_m w_{im} \\hat L^{(m)}_i(r), \\qquad w_{im} \\ge 0,\\; \\sum_m w_{im} = 1

    The ``n_members`` candidates with the best CV score enter per column; :math:`w_i` minimises the squared
    error of their combined out-of-fold predictions.

    References
    ----------
    Breiman, "Stacked regressions", Machine Learning 24 (1996); Wolpert, "Stacked generalization", Neural
    Networks 5 (1992).

    Examples
    --------
    >>> import numpy as np
    >>> W = np.random.default_rng(0).dirichlet(np.ones(3), size=40)
    >>> y = 2.0 + np.exp(W @ [-1.0, 0.5, 0.2])
    >>> law = StackLaw(candidates=["ye-exp", "linear"]).fit(W, y)
    >>> w = law.weights_["y0"]
    >>> round(sum(w.values()), 12), w["ye-exp"] > 0.5
    (1.0, True)
    """

    method_what: ClassVar[str] = ("stack of the best laws by CV{} (convex weights fitted on their out-of-fold "
                                  "predictions)")

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **MetaLaw._parameter_constraints, "n_members": [Interval(Integral, 1, None, closed="left")]}

    def __init__(self, *, candidates: Sequence[str] | None = None, n_members: int = DEFAULT_MEMBERS,
                 n_folds: int | None = None, objective: str | Mapping[str, float] | None = None,
                 fit_on: Sequence[str] = ("per-eval", "direct"),
                 random_state: int | np.random.Generator | None = 0,
                 screen: bool = True) -> None:
        self.candidates, self.n_members, self.n_folds = candidates, n_members, n_folds
        self.objective, self.fit_on, self.random_state, self.screen = objective, fit_on, random_state, screen

    def _column(self, cv: CVResult, column: str) -> tuple[list[CVRow], np.ndarray, np.ndarray]:
        """Best rows on ``column``, their OOF predictions (n, m) and the truth (n,)."""
        rows = sorted(cv.table.ok(column), key=rank_key)[: int(self.n_members)]
        if not rows:
            cv.table.best(column)  # raises FitError naming every candidate's failure
        if column == OBJECTIVE:
            P = np.column_stack([cv.objective_oof((r.law, r.fit_on)) for r in rows])
            y = cv.objective
        else:
            i = cv.targets.index(column)
            P = np.column_stack([cv.oof[(r.law, r.fit_on)][:, i] for r in rows])
            y = cv.truth[:, i]
        assert y is not None
        return rows, P, y

    def _fit_rows(self, W: np.ndarray, Y: np.ndarray, ctx: FitContext,
                  objective: str | Mapping[str, float] | None = None) -> None:
        cv = self._cv(W, Y, ctx, objective)
        columns = [OBJECTIVE] if self._s is not None else list(ctx.targets)
        scored = list(cv.table.rows)
        # A member too big for all the runs (MetaLaw._refit_or_drop) is marked excluded and the stack re-weighed;
        # the members refitted before it are kept for the next try.
        done: dict[tuple[str, str, tuple[int, ...] | None], Any] = {}
        while (fitted := self._weigh_and_refit(cv, scored, columns, W, Y, ctx, done)) is None:
            pass
        self.members_, self.weights_ = fitted
        self._set_params_from_members()
        self._add_weight_params()
        self._count_stack_rows(cv.table)

    def _weigh_and_refit(self, cv: CVResult, scored: list[CVRow], columns: list[str], W: np.ndarray, Y: np.ndarray,
                         ctx: FitContext, done: dict[tuple[str, str, tuple[int, ...] | None], Any]
                         ) -> tuple[list[Any], dict[str, dict[str, float]]] | None:
        """The members' weights per column and the members refitted on all the runs (``done``: those refitted by an
        earlier try, reused); None when a member could not be (its rows are then excluded)."""
        cv.table.rows = list(scored)  # without the stack rows of an earlier try
        weights: dict[str, dict[str, float]] = {}
        need: dict[tuple[str, str], list[int]] = {}
        for c in columns:
            rows, P, y = self._column(cv, c)
            w = nonneg_weights(P, y)
            # Honest score of the stack: fold f predicted with weights fitted on the other folds' OOF rows.
            pred = np.empty_like(y)
            for f in np.unique(cv.folds):
                te = cv.folds == f
                pred[te] = P[te] @ nonneg_weights(P[~te], y[~te])
            cv.table.rows.append(CVRow("stack", "stack", c, score_columns(y, pred),
                                       sum(r.n_params for r, wi in zip(rows, w, strict=True) if wi > 0)))
            if c == OBJECTIVE and getattr(self, "cv_objective_oof_", None) is not None:
                self.cv_objective_oof_["stack"] = pred  # its error far from the runs (mixlaw.api_optimize._far_error)
            weights[c] = {r.name: float(wi) for r, wi in zip(rows, w, strict=True) if wi > 0}
            for r, wi in zip(rows, w, strict=True):
                if wi > 0:
                    need.setdefault((r.law, r.fit_on), [])
                    if c != OBJECTIVE:
                        need[(r.law, r.fit_on)].append(ctx.targets.index(c))
        cv.table.chosen = {c: "stack" for c in columns}
        members = []
        for (key, mode), cols in need.items():
            at = (key, mode, tuple(sorted(cols)) if cols else None)
            if at not in done:
                m = self._refit_or_drop(key, mode, W, Y, ctx, list(at[2]) if at[2] else None, cv.table)
                if m is None:
                    return None
                done[at] = m
            members.append(done[at])
        return members, weights

    def _add_weight_params(self) -> None:
        # A column's weights sum to 1: its last is 1 minus the others (one member: 1), not a free parameter. All
        # counted free, a stack of 2 members on 3 eval sets read n_vary 6 weights where 3 were fitted.
        wp = [Param(f"w:{c}:{m}", v, v, 0.0, 1.0, i < len(ws) - 1, note="" if i < len(ws) - 1 else _last_note(c))
              for c, ws in self.weights_.items() for i, (m, v) in enumerate(ws.items())]
        self.params_ = Params(list(self.params_.values()) + wp)

    def _count_stack_rows(self, table: Any) -> None:
        """The CV table's stack rows count the stack's own free parameters (:func:`n_par_of`: the report's
        n_vary, or its effective count rounded up): they summed each column's members as fitted on every eval
        set, without the weights, and read n_par 135 beside the report's 'n_vary=162 (effective 144.9)'."""
        n = n_par_of(self)
        for r in table.rows:
            if r.law == "stack":
                r.n_params = n

    def _merge_parts(self, parts: Sequence[tuple[int, MetaLaw]], W: np.ndarray, ctx: FitContext) -> None:
        super()._merge_parts(parts, W, ctx)
        weights = {c: ws for _, sub in parts for c, ws in sub.weights_.items()}  # type: ignore[attr-defined]
        self.weights_ = {c: weights[c] for c in ctx.targets}
        self.cv_.chosen = {c: "stack" for c in ctx.targets}
        self._add_weight_params()

    def _predict(self, W: np.ndarray, ctx: FitContext) -> np.ndarray:
        cols = [OBJECTIVE] if self._s is not None else self.evals_
        out = np.zeros((len(W), len(cols)))
        for m in self.members_:
            name = member_name(m[0], m[1])
            if self._s is not None:
                out[:, 0] += self.weights_[OBJECTIVE].get(name, 0.0) * self._member_objective(m, W, ctx)
                continue
            P = self._member_predict(m, W, ctx)
            for j, t in enumerate(m[2]):
                out[:, cols.index(t)] += self.weights_[t].get(name, 0.0) * P[:, j]
        return out

    def _get_state(self) -> dict[str, Any]:
        return {**super()._get_state(), "weights": self.weights_}

    def _set_state(self, state: dict[str, Any]) -> None:
        super()._set_state(state)
        self.weights_ = {str(c): {str(m): state_number(v, f"'weights.{c}.{m}'") for m, v in ws.items()}
                         for c, ws in state["weights"].items()}
        # A hand-edited file: a negative, unknown or missing weight predicted -2.6 or 0 with exit 0.
        cols = [OBJECTIVE] if self._s is not None else self.evals_
        if sorted(self.weights_) != sorted(cols):
            raise InputError(f"saved state field 'weights' must have one entry per output {cols}; got "
                             f"{sorted(self.weights_)}")
        names: dict[str, set[str]] = {}  # a ragged fit has one member of a name per group of evals
        for m in self.members_:
            names.setdefault(member_name(m[0], m[1]), set()).update(m[2])
        for c, ws in self.weights_.items():
            bad = [m for m, v in ws.items() if m not in names or not (np.isfinite(v) and v >= 0)
                   or (self._s is None and c not in names[m])]
            # The prediction is sum_m w_m pred_m, not normalised: weights that do not sum to 1 (a member's weight
            # deleted: predictions moved 24-79 %, hunt25) scale every prediction.
            if bad or not ws or abs(sum(ws.values()) - 1.0) > 1e-6:
                raise InputError(f"saved stack weights of {c!r} must be finite, >= 0, sum to 1 and name members "
                                 f"fitted to it ({sorted(names)}); got {ws}")
        # Each column's last weight is not free (_add_weight_params), in a file saved before that too: a stack
        # saved so loaded with n_vary (and n_par) one more per column than the same stack fitted now.
        last = {f"w:{c}:{m}": c for c, ws in self.weights_.items() for m in list(ws)[-1:]}
        self.params_ = Params([replace(p, vary=False, note=_last_note(last[p.name])) if p.name in last else p
                               for p in self.params_.values()])

    def _extra_report_sections(self) -> list[tuple[str, str]]:
        w = column_width(self.weights_)  # full names: two evals cut to one prefix read the same
        rows = [pad(c, w) + " " + ", ".join(f"{m} {v:.3f}" for m, v in ws.items()) for c, ws in self.weights_.items()]
        return [("Stack weights", "\n".join(rows)), *super()._extra_report_sections()]


__all__ = ["StackLaw"]
