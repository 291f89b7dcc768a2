"""``auto``: the law chosen by K-fold cross-validation on the runs it is fitted to (per eval set, or for the
objective), then refitted on all of them.

The candidates, the folds and the score :math:`S = (1 - \\rho) + \\tfrac12 (1 - R^2)` are those of
:mod:`mixlaw.laws.selection`. Without an objective each eval set gets its own law (no law wins everywhere:
issue 10, Marin Delphi); with one, the candidates are every law fitted ``per-eval`` and aggregated, or
``direct`` on the objective column, and the predictions are the objective. :class:`MetaLaw` holds what
``auto`` and ``stack`` share: fitted member laws, the CV table, saving and loading, and the fit of eval sets
measured on different runs (a loss missing in some rows): without an objective each group of eval sets with the
same rows is cross-validated and its members fitted on those rows, so an eval missing in 30 % of the runs costs
the other evals none of theirs.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import replace
from numbers import Integral
from typing import Any, ClassVar

import numpy as np
from scipy.spatial.distance import cdist

from .._validation import Interval, check_is_fitted
from ..errors import (
    ChanceWarning,
    DataWarning,
    FitError,
    InputError,
    LossRangeWarning,
    ScaleWarning,
    TooFewObservationsError,
    WeightRangeWarning,
    user_stacklevel,
)
from ..fit import Param, Params
from ..fit_report import FitReport, method_of
from ..metrics import chance_spearman, within_chance
from ._fit_input import FitInput
from .base import FitContext, MixingLaw, available_laws, get_law, law_from_dict, register
from .cv_table import SUMMARY_PARAMS
from .selection import (
    MIN_CV_RUNS,
    OBJECTIVE,
    SUMMARY_EVALS,
    CVResult,
    CVTable,
    _one_line,
    cross_validate,
    default_candidates,
    fit_law,
    member_name,
    objective_evals,
    objective_weights,
)

#: Runs whose every share lies within this of the others' train on one mixture (shares written to 6 decimals and
#: renormalised differ by about 1e-6).
ONE_MIXTURE_TOL = 1e-5


class MetaLaw(MixingLaw):
    """Base of laws built from other fitted laws (members): CV on fit, members saved inside ``to_dict``.

    A member is ``(key, fit_on, targets, law)``: ``fit_on`` is ``"per-eval"`` (the law predicts ``targets``,
    a subset of the eval sets) or ``"direct"`` (it predicts the objective).
    """

    stderr_method: ClassVar[str | None] = "each member law's own, where shown"
    uses_model_params: ClassVar[bool | str] = "optional"
    uses_tokens: ClassVar[bool | str] = "optional"
    members_checked: ClassVar[bool] = True
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "candidates": [list, tuple, None],
        "n_folds": [Interval(Integral, 2, None, closed="left"), None],
        "objective": [str, dict, None],
        "fit_on": [list, tuple],
        # As every other law's (check_random_state): None is 0; a numpy Generator, refused before, gives one int
        # per fit (:meth:`_remember_fit_input`), which seeds the folds, the members and the fit cache key.
        "random_state": ["random_state"],
        "screen": [bool],
    }

    @property
    def _seed(self) -> int:
        """``random_state`` as the int the folds and members are seeded with (None: 0; a Generator: the int this
        fit drew from it)."""
        drawn = vars(self).get("_drawn_seed")
        if drawn is not None:
            return int(drawn)
        return 0 if self.random_state is None else int(self.random_state)

    def _remember_fit_input(self, inp: FitInput, ctx: FitContext) -> None:
        """As every law's, and a Generator ``random_state`` drawn from once: ``integers(2**31)``, the int that seeds
        this fit's folds, members and fit cache key (the CV table's ``random_state``). Two Generators from the same
        seed give the same fit; a second fit with the same Generator draws the next int (scikit-learn's rule for a
        RandomState)."""
        super()._remember_fit_input(inp, ctx)
        self._drawn_seed = (int(self.random_state.integers(2**31))
                            if isinstance(self.random_state, np.random.Generator) else None)

    # ------------------------------------------------------------------ shared fitting steps
    def _fits_ragged(self) -> bool:
        """Per eval set without an objective: each eval on its own rows. An objective sums its evals' losses of a
        run, so it is fitted on the runs that have every one it weighs (:meth:`_spare_targets`), as
        ``per_target=False``'s one law for every eval on the runs that have all of them."""
        return self.objective is None and bool(getattr(self, "per_target", True))

    def _spare_targets(self, targets: Sequence[str]) -> list[str]:
        """The evals its objective weighs 0: not fitted for it, so not needed in a row (a missing loss there is
        NaN in ``_fit``'s losses)."""
        if not isinstance(self.objective, (str, Mapping)):
            return []
        try:
            s = objective_weights(self.objective, targets)
        except InputError:  # said by the fit itself (_cv), where it was said before
            return []
        return [] if s is None else [t for t, w in zip(targets, s, strict=True) if w == 0]

    def _fit(self, W: np.ndarray, Y: np.ndarray, ctx: FitContext) -> None:
        self._kept = None
        self.unfitted_: list[str] = []
        if self.objective is not None and np.isnan(Y).any():
            # An objective's evals of weight 0 that miss a loss in some of the rows (the fit took the rows that have
            # every eval it weighs, MixingLaw._spare_targets): fitted without them, for the same objective over the
            # rest (their weights as given), so a run that lacks only such an eval keeps its place.
            keep = ~np.isnan(Y).any(axis=0)
            s = objective_weights(self.objective, ctx.targets)
            assert s is not None and not s[~keep].any()
            self._kept = np.flatnonzero(keep)
            self.unfitted_ = [t for t, k in zip(ctx.targets, keep, strict=True) if not k]
            tg = [ctx.targets[i] for i in self._kept]
            self._fit_rows(W, Y[:, keep], FitContext(ctx.domains, tg, ctx.model_params, ctx.tokens, dict(ctx.extra)),
                           objective={t: float(s[i]) for t, i in zip(tg, self._kept, strict=True)})
            return
        if not np.isnan(Y).any():
            self._fit_rows(W, Y, ctx)
            return
        # A loss missing in some runs (NaN; only a fit that _fits_ragged passes them): the eval sets measured on
        # the same runs form a group, cross-validated and fitted on those runs as if they were the table (what
        # `--target EVAL` alone does for one eval); the groups' members, CV rows and choices are merged. One CV of
        # all the evals on the runs that have every one of them threw away, for every eval, the runs one eval lacks.
        have = ~np.isnan(Y)
        groups: dict[bytes, list[int]] = {}
        for i in range(Y.shape[1]):
            groups.setdefault(have[:, i].tobytes(), []).append(i)
        parts: list[tuple[int, MetaLaw]] = []
        for cols in groups.values():
            rows = have[:, cols[0]]
            sub = self.clone()
            sub._part = True  # type: ignore[attr-defined]  # what it says of the whole fit is said once, merged
            sub._drawn_seed = self._drawn_seed  # type: ignore[attr-defined]  # a Generator's int, drawn once a fit
            sub_ctx = FitContext(ctx.domains, [ctx.targets[i] for i in cols],
                                 None if ctx.model_params is None else ctx.model_params[rows],
                                 None if ctx.tokens is None else ctx.tokens[rows], dict(ctx.extra))
            try:
                sub._fit_rows(W[rows], Y[np.ix_(rows, cols)], sub_ctx)
            except (InputError, FitError) as err:
                if err.args and isinstance(err.args[0], str):
                    who = ", ".join(sub_ctx.targets)
                    err.args = (f"{err.args[0]} (fitting {who} on the {int(rows.sum())} of {len(W)} runs that have "
                                f"{'its' if len(cols) == 1 else 'their'} loss{'' if len(cols) == 1 else 'es'})",
                                *err.args[1:])
                raise
            parts.append((int(rows.sum()), sub))
        self._merge_parts(parts, W, ctx)

    def _fit_rows(self, W: np.ndarray, Y: np.ndarray, ctx: FitContext,
                  objective: str | Mapping[str, float] | None = None) -> None:
        """Fit on runs that have every eval's loss (the subclass's CV, choice and member fits). ``objective``: the
        one to fit for in place of ``self.objective`` (:meth:`_cv`)."""
        raise NotImplementedError

    def _merge_parts(self, parts: Sequence[tuple[int, MetaLaw]], W: np.ndarray, ctx: FitContext) -> None:
        """The fitted state of a ragged fit from its groups' laws ``(runs, law)``: members and CV rows
        in the eval sets' order (a member's targets name the columns it predicts)."""
        self._s = None
        self.evals_ = list(ctx.targets)
        self.members_ = [m for _, sub in parts for m in sub.members_]
        self.cv_ = CVTable.merge([(sub.cv_, n) for n, sub in parts], ctx.targets, len(W))
        self._set_params_from_members()

    def _cv(self, W: np.ndarray, Y: np.ndarray, ctx: FitContext,
            objective: str | Mapping[str, float] | None = None) -> CVResult:
        """Cross-validate the candidates on these runs for ``objective``, default ``self.objective``: :meth:`_fit`
        passes the objective over the evals it fits when it leaves out those of weight 0 that miss a loss."""
        objective = self.objective if objective is None else objective
        self._s = objective_weights(objective, ctx.targets)
        self.evals_ = list(ctx.targets)
        one_mixture = len(W) >= MIN_CV_RUNS and np.ptp(W, axis=0).max() <= ONE_MIXTURE_TOL
        varies = _scales_that_vary(ctx)  # once: the candidates' check and the message's 'rows' read it
        if one_mixture and not self._takes_a_varying_scale(varies, len(W)):
            # Runs of one mixture (seeds, or one mixture's checkpoints and model sizes) leave a mixing law nothing to
            # learn: every candidate was cross-validated, and the error listed their out-of-fold Spearman (-0.59 on
            # 10 Marin runs whose only other domain was 0 in every one), or a stack was fitted across the scales.
            # A candidate that takes a size or token count that differs between the rows still learns L(N, D) of
            # that mixture (auto chose dz-eq1 on one mixture at 3 sizes; `mixlaw pipeline --law stack` fits one
            # mixture's final checkpoints so): those are cross-validated as before.
            scale = any(varies.values())
            raise InputError(f"law {self.key!r}: the {len(W)} {'rows' if scale else 'runs'} all train on one mixture, "
                             "so no mixing law can tell mixtures apart: add runs at other mixtures"
                             + ("; their model sizes or tokens differ: a candidate that takes them (candidates=, "
                                "--candidates: dz-eq1, dz-eq3-safe) learns that mixture's loss across them, and "
                                "`mixlaw pipeline` extrapolates a mixture across scales" if scale else ""))
        if self._s is not None or getattr(self, "per_target", True):
            # A column with one loss in every run ranks nothing: every candidate's out-of-fold Spearman is 0, and
            # after fitting all of them on every fold the choice failed with "none ranks them better than chance".
            cols = {OBJECTIVE: Y @ self._s} if self._s is not None else dict(zip(ctx.targets, Y.T, strict=True))
            # Runs too few to cross-validate are said as such first: a fork's pair with losses for 1 of its 512
            # mixtures read "'dfm_sent' is 3.8308 in every one of the 1 runs: a constant loss ...".
            flat = {t: float(y[0]) for t, y in cols.items() if np.ptp(y) == 0} if len(Y) >= MIN_CV_RUNS else {}
            if flat:
                what = ", ".join(f"{t!r} is {v:g}" for t, v in flat.items())
                raise InputError(f"law {self.key!r}: {what} in every one of the {len(Y)} runs: a constant loss leaves "
                                 "nothing for cross-validation to rank (the mixture does not change it, or it was "
                                 "logged wrong); leave it out of the targets")
        cv = cross_validate(W, Y, domains=ctx.domains, targets=ctx.targets, candidates=self.candidates,
                            objective=objective, fit_on=self.fit_on, n_folds=self.n_folds,
                            model_params=ctx.model_params, tokens=ctx.tokens, random_state=self._seed,
                            screen=bool(getattr(self, "screen", True)))
        self.cv_ = cv.table
        if self._s is not None:
            self.targets_ = [OBJECTIVE]
            # Kept for the error of the objective far from the runs (mixlaw.api_optimize's _law_error, optimize's
            # report): each candidate's out-of-fold objective, and each run's L1 distance to the runs its fold was
            # fitted on.
            # Not saved with the law.
            self.cv_objective_oof_ = {member_name(k, m): cv.objective_oof((k, m)) for k, m in cv.oof}
            self.cv_objective_ = cv.objective
            self.cv_distance_ = _distance_to_other_folds(W, cv.folds)
        return cv

    def _takes_a_varying_scale(self, varies: Mapping[str, bool], n_runs: int) -> bool:
        """Whether a candidate takes the model size or the token count and it differs between the rows
        (``varies``: :func:`_scales_that_vary`)."""
        keys = list(self.candidates) if self.candidates is not None else default_candidates(n_runs)
        return any((varies["model_params"] and get_law(k).uses_model_params)
                   or (varies["tokens"] and get_law(k).uses_tokens) for k in keys if k in available_laws())

    def _fit_member(self, key: str, mode: str, W: np.ndarray, Y: np.ndarray, ctx: FitContext,
                    cols: Sequence[int] | None = None) -> tuple[str, str, list[str], MixingLaw]:
        kw = {"domains": ctx.domains, "model_params": ctx.model_params, "tokens": ctx.tokens,
              "random_state": self._seed}
        if mode == "direct":
            assert self._s is not None
            return key, mode, [OBJECTIVE], fit_law(key, W, (Y @ self._s)[:, None], targets=[OBJECTIVE], **kw)
        # Without cols: every eval, or the one eval of an objective of one eval set (the rest weigh 0).
        idx = objective_evals(self._s, Y.shape[1]) if cols is None else list(cols)
        tg = [ctx.targets[i] for i in idx]
        return key, mode, tg, fit_law(key, W, Y[:, idx], targets=tg, **kw)

    def _refit_or_drop(self, key: str, mode: str, W: np.ndarray, Y: np.ndarray, ctx: FitContext,
                       cols: Sequence[int] | None, table: Any) -> tuple[str, str, list[str], MixingLaw] | None:
        """:meth:`_fit_member`, or None after marking the candidate's CV rows on those columns excluded, when it
        fitted every fold but is too big for all the runs.

        Why: a leave-one-out ridge counts its effective degrees of freedom, which grow with the runs (``grows`` of
        :class:`~mixlaw.errors.TooFewObservationsError`): gp-residual on a ridge-fitted loglinear-sat base fitted
        5 folds of 24 of 30 runs, was chosen, and its refit on the 30 raised out of ``auto.fit``."""
        try:
            return self._fit_member(key, mode, W, Y, ctx, cols)
        except TooFewObservationsError as err:
            idx = range(len(ctx.targets)) if cols is None else cols
            columns = [OBJECTIVE] if self._s is not None else [ctx.targets[i] for i in idx]
            why = f"fitted every fold but not all {len(W)} runs: {_one_line(err)}"
            for r in table.rows:
                if r.law == key and r.fit_on == mode and r.target in columns:
                    r.error = why
            warnings.warn(f"law {self.key!r}: {key} was chosen on {', '.join(columns)} but {why}; the next best "
                          "candidate is used", DataWarning, stacklevel=user_stacklevel(4))
            return None

    def _member_predict(self, m: tuple[str, str, list[str], MixingLaw], W: np.ndarray, ctx: FitContext) -> np.ndarray:
        """(n, len(targets)) per-eval predictions, or (n, 1) of the objective for a direct member."""
        law = m[3]
        kw = {}
        if law.uses_model_params and ctx.model_params is not None:
            kw["model_params"] = ctx.model_params
        if law.uses_tokens and ctx.tokens is not None:
            kw["tokens"] = ctx.tokens
        with warnings.catch_warnings():
            # The meta-law checked W against the same fitted runs' ranges, and checks its own predictions against
            # the fitted losses; a member repeating either under its own name ("AutoLaw: ... outside the fitted
            # range", then "YePower: ...") only doubled the message; so did a member fitted without model sizes
            # repeating the meta-law's own "params= is ignored" (MixingLaw._warn_unused_scale).
            warnings.simplefilter("ignore", (WeightRangeWarning, LossRangeWarning, ScaleWarning))
            return np.asarray(law.predict(W, **kw), dtype=np.float64).reshape(len(W), -1)

    def _member_objective(self, m: tuple[str, str, list[str], MixingLaw], W: np.ndarray, ctx: FitContext) -> np.ndarray:
        P = self._member_predict(m, W, ctx)
        assert self._s is not None
        # A per-eval member predicts its own evals (all, or an objective's one eval): their weights.
        return P[:, 0] if m[1] == "direct" else P @ self._s[[self.evals_.index(t) for t in m[2]]]

    def _set_params_from_members(self) -> None:
        """``params_`` and ``results_`` from the members', prefixed by their law, in the order of the eval sets
        (``evals_``): a parameter named by its eval set (``<eval>.<name>``, a per-target member's) is listed with
        that eval, one shared by the member's evals (dz-eq1's skills, a direct member's) with its first. Member by
        member they came per chosen law, and a ragged fit's per group of evals measured on the same rows: a, c, b
        for b measured on fewer rows."""
        order = {t: i for i, t in enumerate(self.evals_)}
        plist: list[tuple[int, Param]] = []
        results: list[tuple[int, str, Any]] = []
        seen: set[str] = set()
        for key, mode, targets, law in self.members_:
            tag = member_name(key, mode)
            res = getattr(law, "results_", {}) or {}
            if any(f"{tag}:{n}" in seen for n in [*law.params_, *res]):
                # The same law fitted again on other runs (a ragged fit's groups) whose parameters are not named by
                # eval set (dz-eq1's shared skills, its one 'joint' problem): its evals tell the two apart.
                tag = f"{tag}({','.join(targets)})"
            seen.update(f"{tag}:{n}" for n in [*law.params_, *res])
            first = min((order.get(t, len(order)) for t in targets), default=len(order))
            # Named by eval set: a per-target law's, and a law's whose every parameter carries one of its evals'
            # prefix (linear / loglinear's '<eval>.b_<domain>', one least-squares problem for all evals): listed
            # with their evals too, not all with the first (a stack's linear member of a and c put c's before b's).
            per_eval = law.per_target_params or all(
                any(n.startswith(f"{t}.") for t in targets) for n in [*law.params_, *res])

            def place(name: str, targets: list[str] = targets, first: int = first, per_eval: bool = per_eval) -> int:
                # the longest eval name that prefixes it (an eval's name may hold a '.': 'arc.easy')
                own = [t for t in targets if name == t or (per_eval and name.startswith(f"{t}."))]
                return order.get(max(own, key=len), first) if own else first

            plist += [(place(p.name), replace(p, name=f"{tag}:{p.name}")) for p in law.params_.values()]
            results += [(place(k), f"{tag}:{k}", r) for k, r in res.items()]
        # sorted() is stable: a member's parameters of one eval stay in their order, and the members in theirs
        self.params_ = Params([p for _, p in sorted(plist, key=lambda x: x[0])])
        self.results_ = {k: r for _, k, r in sorted(results, key=lambda x: x[0])}

    def _output_losses(self, Y: np.ndarray) -> np.ndarray:
        kept = getattr(self, "_kept", None)  # without the evals of weight 0 that were not fitted (_fit)
        return Y if self._s is None else ((Y if kept is None else Y[:, kept]) @ self._s)[:, None]

    @property
    def differentiable(self) -> bool:  # type: ignore[override]
        return all(getattr(m[3], "differentiable", True) for m in self.members_)

    # ------------------------------------------------------------------ io
    def _get_state(self) -> dict[str, Any]:
        return {"members": [{"key": k, "fit_on": mode, "targets": tg, "law": law.to_dict()}
                            for k, mode, tg, law in self.members_],
                "evals": self.evals_, "objective_weights": None if self._s is None else self._s.tolist(),
                "cv": self.cv_.to_dict(), "unfitted": list(getattr(self, "unfitted_", []))}

    def _set_state(self, state: dict[str, Any]) -> None:
        self.members_ = [(str(m["key"]), str(m["fit_on"]), [str(t) for t in m["targets"]], law_from_dict(m["law"]))
                         for m in state["members"]]
        self.evals_ = [str(t) for t in state["evals"]]
        # A hand-edited file: a member of another key than its law, an unknown fit mode or no member at all
        # predicted 0 or another law's numbers with exit 0 (an empty list printed NaN from optimize).
        if not self.members_:
            raise InputError("saved state field 'members' is empty: a fitted meta-law has at least one member")
        for key, mode, tg, law in self.members_:
            if law.key != key or mode not in ("per-eval", "direct"):
                raise InputError(f"saved member {key!r} ({mode}) holds a {law.key!r} law or an unknown fit mode "
                                 "(expected 'per-eval' or 'direct')")
            if mode == "per-eval" and not set(tg) <= set(self.evals_):
                raise InputError(f"saved member {key!r} names eval sets {sorted(set(tg) - set(self.evals_))} that "
                                 f"are not the law's {self.evals_}")
        s = state.get("objective_weights")
        self._s = None if s is None else np.asarray(s, dtype=np.float64)
        if self._s is not None and (self._s.shape != (len(self.evals_),) or not np.all(np.isfinite(self._s))
                                    or np.any(self._s < 0)):
            raise InputError(f"saved state field 'objective_weights' must be {len(self.evals_)} finite numbers >= 0, "
                             f"one per eval set {self.evals_}; got {s!r}")
        self.cv_ = CVTable.from_dict(state["cv"])
        unfitted = state.get("unfitted", [])  # absent in laws saved before it existed
        if not (isinstance(unfitted, list) and all(isinstance(t, str) for t in unfitted)):
            raise InputError(f"saved state field 'unfitted' must be a list of eval names; got {unfitted!r}")
        self.unfitted_ = list(unfitted)

    def _pooled_scales_note(self) -> str:
        """A line under the CV table when the runs span several model sizes or token counts: its out-of-fold
        Spearman ranks runs of every scale together. On ADMIRE-BayesOpt's IFT runs (Qwen2.5 0.5B / 3B / 7B in one
        table) auto chose dz-eq3-safe for bbh at a CV Spearman of 0.82, which ranks the runs of each size at 0.14 /
        0.07 / -0.00 (in-sample): the sizes' order, read as skill at ranking mixtures."""
        at = getattr(self, "_fit_scale", None) or {}
        spans = [f"{what} {at[key][0]:.3g} to {at[key][1]:.3g}"
                 for key, what in (("params_range", "model sizes"), ("tokens_range", "tokens")) if at.get(key)]
        if not spans:
            return ""
        return (f"\n    note: the runs span {' and '.join(spans)}: the out-of-fold Spearman ranks runs of every scale "
                "together, their scales' order included (compare scores a held-out split within each scale: "
                "'ρ within')")

    def _extra_report_sections(self) -> list[tuple[str, str]]:
        return [("Cross-validation", str(self.cv_) + self._pooled_scales_note())]

    #: What the report's method line calls the meta-law, '{}' where "per eval set" / "for the objective" goes, before
    #: each member law's method.
    method_what: ClassVar[str] = "laws chosen by CV{}"

    def report(self, data: str = "") -> FitReport:
        """The law's report, whose method line says what the meta-law is and each member law's method: it gave
        the first member's alone ('method = Levenberg-Marquardt (bounded), ...' of an auto that chose additive
        for one eval set and the closed-form linear for the other; hunt31)."""
        with self._as_fitted():
            return self._report(data)

    def _report(self, data: str) -> FitReport:
        rep = super().report(data)
        if not getattr(self, "_loaded", False):  # a loaded law's line says so, as any law's
            per: dict[str, tuple[int, str]] = {}
            for key, mode, targets, law in self.members_:
                tag = member_name(key, mode)
                n, method = per.get(tag, (0, method_of(law)))
                per[tag] = (n + (0 if mode == "direct" else len(targets)), method)
            what = self.method_what.format(" per eval set" if self.objective is None else " for the objective")
            rep.method = f"{what}: " + "; ".join(
                f"{tag} ({'the objective' if not n else f'{n} eval set' + ('s' if n > 1 else '')}): {method}"
                for tag, (n, method) in per.items())
        return rep

    def summary_report_sections(self) -> list[tuple[str, str]]:
        """On more than :data:`~mixlaw.laws.selection.SUMMARY_EVALS` eval sets, or more than
        :data:`~mixlaw.laws.cv_table.SUMMARY_PARAMS` free parameters: the report's sections with the CV table's text
        (its summary on many eval sets: :meth:`CVTable.summary`), which the default text shows instead of every
        parameter."""
        n_free = sum(1 for p in self.params_.values() if p.vary)
        if len(self.evals_) <= SUMMARY_EVALS and n_free <= SUMMARY_PARAMS:
            return []
        return [(title, self.cv_.text() + self._pooled_scales_note() if title == "Cross-validation" else text)
                for title, text in self.extra_report_sections()]


@register("auto")
class AutoLaw(MetaLaw):
    """The candidate law with the best K-fold CV score, per eval set (or for the objective), refitted on all runs.

    The score is ``S = (1 - Spearman) + (1 - R^2) / 2`` of the out-of-fold predictions (lower is better;
    :mod:`mixlaw.laws.selection`); ``cv_`` holds every candidate's row (``cv_.to_frame()``), ``choice_`` the
    law chosen per column.

    Parameters
    ----------
    candidates : list of str, optional
        Law keys to choose from; default :func:`mixlaw.laws.selection.default_candidates`.
    n_folds : int, optional
        Folds (shuffled with ``random_state``). Default (None): 5, or, when 5 leave a candidate too few training
        runs per fold to fit, the fewest folds (at most 20) that fit it (:func:`~mixlaw.laws.selection.cross_validate`;
        ``cv_.folds_note`` says so). A given count is used as given.
    objective : "mean", "total", eval name or {eval: weight}, optional
        Predict this objective :math:`\\sum_i s_i L_i` (one output column, ``"objective"``) and choose for it,
        among laws fitted per eval and aggregated, and laws fitted on the objective directly.
    fit_on : tuple of str, default=("per-eval", "direct")
        The ways of fitting an objective the CV may choose from.
    per_target : bool, default=True
        Without an objective: choose a law per eval set (True) or one law for all (lowest mean score, ties to
        9 decimals to the fewer parameters, only among laws scored on every eval: ``CVTable.best_for_all``). Per eval
        set, a loss missing in some runs (NaN; a run table's empty cell) costs only that eval its runs: the eval
        sets measured on the same runs are cross-validated and fitted on those (``cv_.n_runs_of`` names the eval
        sets with fewer runs); one law for all takes the runs that have every eval's loss, an objective those
        that have the loss of every eval it weighs (one of weight 0 that misses some is not fitted).
    random_state : int, numpy Generator or None, default=0
        Seeds the folds and every fit (None: 0, as for every law). A Generator gives one int per fit,
        ``random_state.integers(2**31)``, which seeds them (``cv_.random_state``): two Generators from the same seed
        give the same fit, and each fit with one Generator draws the next int.
    screen : bool, default=True
        Skip the remaining folds of a candidate that is far slower than the others and clearly worse on the
        first fold (:mod:`mixlaw.laws.screening`); its CV table row says so.

    Attributes
    ----------
    choice_ : dict of str to str
        Chosen law per eval set (or ``{"objective": law}``).
    cv_ : CVTable
        The cross-validation table (text: ``str(cv_)``; JSON: ``cv_.to_dict()``).
    members_ : list
        ``(key, fit_on, targets, fitted law)`` of the refitted chosen laws.
    params_ : Params
        The members' parameters, prefixed ``<key>:`` (``<key>[direct]:`` for a law fitted on the objective), in
        the eval sets' order.
    evals_ : list of str
        The eval sets fitted (``targets_`` is ``["objective"]`` when an objective is given).
    unfitted_ : list of str
        The evals the objective weighs 0 that miss a loss in some fitted row: not fitted (their missing cells are
        in ``rows_left_out_``); empty without such an eval.

    Notes
    -----
    Each candidate's out-of-fold predictions are scored per column by

    .. math:: S = (1 - \\rho) + \\tfrac12 (1 - R^2)

    (Spearman :math:`\\rho` for ranking, :math:`R^2` for calibration; :mod:`mixlaw.laws.selection`), and the
    lowest score is chosen.

    References
    ----------
    Stone, "Cross-validatory choice and assessment of statistical predictions", JRSS B 36 (1974).

    Examples
    --------
    >>> import numpy as np
    >>> W = np.random.default_rng(0).dirichlet(np.ones(3), size=40)
    >>> y = 2.0 + np.exp(W @ [-1.0, 0.5, 0.2])
    >>> law = AutoLaw(candidates=["ye-exp", "linear"]).fit(W, y)
    >>> law.choice_
    {'y0': 'ye-exp'}
    """

    method_what: ClassVar[str] = "best law by CV{}"

    def __init__(self, *, candidates: Sequence[str] | None = None, n_folds: int | None = None,
                 objective: str | Mapping[str, float] | None = None,
                 fit_on: Sequence[str] = ("per-eval", "direct"), per_target: bool = True,
                 random_state: int | np.random.Generator | None = 0, screen: bool = True) -> None:
        self.candidates, self.n_folds, self.objective = candidates, n_folds, objective
        self.fit_on, self.per_target, self.random_state, self.screen = fit_on, per_target, random_state, screen

    def _fit_rows(self, W: np.ndarray, Y: np.ndarray, ctx: FitContext,
                  objective: str | Mapping[str, float] | None = None) -> None:
        cv = self._cv(W, Y, ctx, objective)
        table = cv.table
        members = []
        # A chosen candidate too big for all the runs (_refit_or_drop) gives way to the next best.
        if self._s is not None:
            while (m := self._refit_or_drop((best := table.best(OBJECTIVE)).law, best.fit_on, W, Y, ctx, None,
                                            table)) is None:
                pass
            choice = {OBJECTIVE: best.name}
            members.append(m)
        elif self.per_target:
            choice = {t: table.best(t).law for t in ctx.targets}
            pending = dict(choice)
            while pending:
                key = next(iter(pending.values()))
                ts = [t for t in ctx.targets if pending.get(t) == key]
                m = self._refit_or_drop(key, "per-eval", W, Y, ctx, [ctx.targets.index(t) for t in ts], table)
                for t in ts:
                    del pending[t]
                    if m is None:
                        choice[t] = pending[t] = table.best(t).law
                if m is not None:
                    members.append(m)
        else:
            # One law for all: the lowest mean score, ties and unscored evals as best() treats them per eval.
            while (m := self._refit_or_drop(key := table.best_for_all(ctx.targets), "per-eval", W, Y, ctx, None,
                                            table)) is None:
                pass
            choice = {t: key for t in ctx.targets}
            members.append(m)
        table.chosen = dict(choice)
        self.choice_ = dict(choice)
        self.members_ = members
        self._set_params_from_members()
        if not getattr(self, "_part", False):  # a ragged fit's group: said once for all, by _merge_parts
            self._warn_within_chance(table)

    def _warn_within_chance(self, table: Any) -> None:
        """Say when a law was chosen at an out-of-fold Spearman above 0 (auto's bar) but below what chance reaches
        at its runs (optimize's, :func:`~mixlaw.metrics.chance_spearman`): on 15 of AutoScale's runs, whose
        mixtures barely move the loss, auto chose ye-exp[direct] at Spearman 0.065 and R² -19 (its predictions
        far worse than the runs' mean) without a word, where optimize's note calls that no better than chance."""
        weak = table.within_chance()
        if not weak:
            return
        said, ranked = [], False
        for t, r in list(weak.items())[:3]:
            n = table.n_runs_of.get(t, table.n_runs)
            r2 = r.metrics.get("r2", np.nan)
            worse = (f", R² {r2:.3g}: further off than the runs' mean loss" if np.isfinite(r2) and r2 < 0 else "")
            # S weighs R² too: a candidate above chance with a worse R² may stand beside the choice; named, as the
            # text said that no candidate ranks the mixtures better than chance.
            above = max((o for o in table.rows if o.target == t and o.error is None
                         and np.isfinite(o.metrics["spearman"]) and not within_chance(o.metrics["spearman"], n)),
                        key=lambda o: o.metrics["spearman"], default=None)
            ranked |= above is not None
            also = (f"; {above.name} ranks them at {above.metrics['spearman']:.3f}, above chance, with a worse score"
                    if above is not None else "")
            said.append(f"{r.name} for {t!r} at an out-of-fold Spearman of {r.metrics['spearman']:.3f} (chance "
                        f"reaches {chance_spearman(n):.2f} at {n} runs{worse}{also})")
        more = f" and {len(weak) - 3} more" if len(weak) > 3 else ""
        who = "the law chosen" if ranked else "any candidate"
        warnings.warn(f"law {self.key!r} chose {'; '.join(said)}{more}: a Spearman within 2 standard errors of "
                      f"chance does not show that {who} ranks these mixtures better than chance, so its optimum may "
                      "be no better than any run; add runs, or try another eval set",
                      ChanceWarning, stacklevel=user_stacklevel(4))

    def _merge_parts(self, parts: Sequence[tuple[int, MetaLaw]], W: np.ndarray, ctx: FitContext) -> None:
        super()._merge_parts(parts, W, ctx)
        chosen = {t: c for _, sub in parts for t, c in sub.choice_.items()}  # type: ignore[attr-defined]
        self.choice_ = {t: chosen[t] for t in ctx.targets}
        self.cv_.chosen = dict(self.choice_)
        # One warning for the fit: each group of eval sets measured on the same runs warned on its own.
        self._warn_within_chance(self.cv_)

    def _predict(self, W: np.ndarray, ctx: FitContext) -> np.ndarray:
        if self._s is not None:
            return self._member_objective(self.members_[0], W, ctx)[:, None]
        out = np.empty((len(W), len(self.evals_)))
        for m in self.members_:
            P = self._member_predict(m, W, ctx)
            for j, t in enumerate(m[2]):
                out[:, self.evals_.index(t)] = P[:, j]
        return out

    def _get_state(self) -> dict[str, Any]:
        return {**super()._get_state(), "choice": self.choice_}

    def _set_state(self, state: dict[str, Any]) -> None:
        super()._set_state(state)
        self.choice_ = {str(k): str(v) for k, v in state["choice"].items()}

    @property
    def estimator_(self) -> MixingLaw | None:
        """The single chosen law when there is one (e.g. for analytic gradients), else None."""
        check_is_fitted(self)
        if len(self.members_) == 1 and self.members_[0][1] == "per-eval" and self._s is None:
            return self.members_[0][3]
        return None


def _scales_that_vary(ctx: FitContext) -> dict[str, bool]:
    """Whether the model size and the token count of ``ctx`` differ between the rows (False where not given)."""
    return {name: x is not None and bool(np.ptp(x) > 0)
            for name, x in (("model_params", ctx.model_params), ("tokens", ctx.tokens))}


def _distance_to_other_folds(W: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """Each run's L1 distance to the nearest run outside its fold (the runs its out-of-fold prediction was fitted
    on), fold by fold so that memory stays (fold runs x other runs)."""
    d = np.empty(len(W))
    for f in np.unique(folds):
        te = folds == f
        d[te] = cdist(W[te], W[~te], metric="cityblock").min(axis=1) if (~te).any() else np.nan
    return d


__all__ = ["AutoLaw", "MetaLaw"]

