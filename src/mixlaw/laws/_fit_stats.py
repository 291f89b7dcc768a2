"""The fit's parameter count and in-sample statistics, a mixin of :class:`~mixlaw.laws.base.MixingLaw`.

After ``fit`` solves, :class:`FitStatistics` refuses more free parameters than fitted losses (and warns when
repeated runs of too few distinct mixtures leave them unidentified), and sets ``train_metrics_`` (RMSE, MAPE, R2,
AIC / BIC counted on the residuals the parameters were fitted to). How many parameters count is one question
with several answers: all free ones, a tied group once, a leave-one-out ridge's effective degrees of freedom, a
meta-law's members by their own count; laws override :meth:`~FitStatistics._n_free_checked` and its siblings.
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import metrics
from .._validation import check_is_fitted
from ..data import distinct_rows
from ..errors import DataWarning, TooFewObservationsError, user_stacklevel
from ..metrics import aic_bic
from ._fit_input import FitContext
from .cv_table import OBJECTIVE


class FitStatistics:
    """The parameter counts and ``train_metrics_`` of a fitted law (mixed into :class:`MixingLaw`)."""

    def _check_identified(self, W: np.ndarray, Y: np.ndarray, ctx: FitContext) -> None:
        """After the fit, refuse more parameters than losses, and warn when repeated runs of too few distinct
        mixtures leave them unidentified (counted on the losses the parameters were fitted to: a meta-law for an
        objective outputs one column but its members were fitted to every eval set)."""
        n_need = self._n_size_checked()
        if Y.size <= n_need and not self.members_checked:
            # Iterative fits refuse this before starting (fit_model); closed-form laws (linear, loglinear) would
            # otherwise interpolate the runs exactly and report dof <= 0 with R2 = 1.
            grows = self._count_grows_with_runs()
            self._forget_fit()
            raise TooFewObservationsError(
                f"law {self.key!r}: {W.shape[0]} run(s) x {Y.shape[1]} eval set(s) = {Y.size} losses are too few to "
                f"fit {n_need} parameters; need at least {n_need + 1} (more runs, or a law with fewer parameters)"
                + ("; the count is a leave-one-out ridge's effective degrees of freedom, which grow with the runs"
                   if grows else ""), n_obs=Y.size, n_params=n_need, grows=grows)
        # A bootstrap replicate (values alone kept, _bootstrap_replicate) skips this warning's count: its resample
        # repeats runs by design, and the bootstrap ignores its warnings; np.unique over the rows was 5-7 % of a
        # RegMix pile_cc bootstrap of ye-exp / ye-pow.
        if not self.members_checked and not self._count_grows_with_runs() and not getattr(self, "_values_only", False):
            # Rows of one mixture (and scale) are repeats of one point, seeds apart: the row count above passes
            # 8 seeds of one mixture, where ye-exp's 4 parameters per eval set are not identified (its report read
            # 'dof=4' with t_books = -79.7). A leave-one-out ridge counts its effective dof: it is regularised.
            n_pts = len(distinct_rows(W, ctx.model_params, ctx.tokens)[0])
            scales = ctx.model_params is not None or ctx.tokens is not None
            # A ridge fitted below its coefficients counts what it leaves unpenalised (its effective dof is near the
            # rows by construction, and would call every such fit with repeated mixtures unidentified).
            if n_pts < W.shape[0] and n_pts * Y.shape[1] <= n_need:
                warnings.warn(f"law {self.key!r}: the {W.shape[0]} runs hold {n_pts} distinct "
                              f"mixture{'s' if n_pts > 1 else ''}{' and scales' if scales else ''}, and "
                              f"{n_pts} x {Y.shape[1]} eval set(s) = {n_pts * Y.shape[1]} distinct losses are too few "
                              f"for its {n_need} parameters: runs repeated at one mixture (seeds) count once, so the "
                              "parameters are not identified (the report's dof counts rows); add runs at other "
                              "mixtures, or fit a law with fewer parameters (linear)", DataWarning,
                              stacklevel=user_stacklevel(3))

    def _set_train_metrics(self, W: np.ndarray, Y: np.ndarray, pred: np.ndarray) -> None:
        """``train_metrics_``: RMSE, MAPE, R2 on the fitted losses, and AIC / BIC where the parameter count is
        that of those residuals; warns of an eval set that is constant (nothing to fit, R2 undefined)."""
        n_vary = self._n_free_checked()
        tg = self.targets_
        n_fitted = Y.size
        if self.members_checked and getattr(self, "members_", None):
            # each member was fitted to its own targets: per eval set, or the objective column itself ('direct')
            # (on its own rows: those that have its evals' losses, in a ragged fit). Each loss counts once: a
            # stack's members are fitted to the same eval sets (it read 'n_obs=762' for 127 runs x 3 evals, two
            # members), and a direct member's objective column is made of the per-eval members' losses.
            per: dict[str, int] = {}
            for m in self.members_:
                for t in m[2]:
                    per[t] = max(per.get(t, 0), int(getattr(m[3], "n_runs_", None) or W.shape[0]))
            if getattr(self, "_s", None) is not None and len(per) > 1:
                per.pop(OBJECTIVE, None)
            n_fitted = sum(per.values())
        Y = self._output_losses(Y)
        # The fitted losses only: a ragged fit's missing ones (NaN) are no residual, nor in the fitted range.
        have = ~np.isnan(Y)
        self._y_range = (np.nanmin(Y, axis=0), np.nanmax(Y, axis=0))
        resid = (np.log(np.clip(pred, 1e-300, None)) - np.log(Y))[have]
        Yh, Ph = Y[have], np.asarray(pred)[have]
        self.train_metrics_ = {"n_obs": float(n_fitted), "RMSE": metrics.rmse(Yh, Ph), "MAPE": metrics.mre(Yh, Ph),
                               "R2": metrics.r2(Y, np.asarray(pred, dtype=np.float64).reshape(Y.shape))}
        eff = self._n_effective()
        if eff is not None and self.members_checked:
            # A meta-law whose member is a leave-one-out ridge counts that member's effective degrees of freedom,
            # as the member's own report does: its header read "n_vary=50  dof=-20" (auto on 50 domains x 30 runs,
            # loglinear chosen at 28.3), and its AIC counted the 50.
            n_vary = int(np.ceil(eff))
        if not self.members_checked and Y.shape[1] == len(tg):
            # auto / stack refuse a constant eval set before their CV; a single law fitted it and printed 'R2=nan'
            # without a word (R² of a constant is undefined: 0 / 0).
            flat = {t: float(Y[have[:, j], j][0]) for j, t in enumerate(tg)
                    if have[:, j].sum() > 1 and np.ptp(Y[have[:, j], j]) == 0}
            if flat:
                what = ", ".join(f"{t!r} is {v:g}" for t, v in flat.items())
                warnings.warn(f"law {self.key!r}: {what} in every one of its {int(have[:, 0].sum())} runs: the mixture "
                              "does not change it (or it was logged wrong), so there is nothing to fit and its R2 is "
                              "undefined; leave it out of the targets", DataWarning, stacklevel=user_stacklevel(3))
        if Yh.size == n_fitted and self._counts_its_parameters():
            # A law without named coefficients (lightgbm's trees) has no parameter count to charge: its AIC read as
            # that of a 0-parameter model (-796.5 beside ye-exp's -993.4 on 60 runs x 2 evals, 2000 trees unpenalised).
            # AIC/BIC count the parameters against the residuals they were fitted to. A meta-law for an objective
            # is scored on one column (48 runs of Dai & Zheng's 122M sweep) by members fitted per eval set (128
            # parameters on 384 losses): its report read 'n_obs=48 n_vary=128 dof=-80' with an AIC of that.
            self.train_metrics_["AIC"], self.train_metrics_["BIC"] = aic_bic(resid.ravel(), n_vary)
        if eff is not None:
            self.train_metrics_["n_effective"] = eff

    def _n_effective(self) -> float | None:
        """The degrees of freedom the report counts when they are fewer than the coefficients, else None: a ridge
        chosen by leave-one-out (``dof_``: linear / loglinear ``alpha="cv"``, loglinear-sat on few runs) spends tr H
        (not the rounded-up count of the size check: "effective 29.0" read beside "dof 28.3"; 50 coefficients on 30
        runs read "dof=-20"); a meta-law, its coefficients less what its members save by their own count (a
        gp-residual member on a ridge base saves its base's: auto choosing one read "n_vary=63  dof=-3" where the
        member's own report read "n_vary=63 (effective 31.0)")."""
        check_is_fitted(self)
        if getattr(self, "dof_", None):
            tr_h = float(sum(self.dof_.values()))
            return tr_h if int(np.ceil(tr_h)) < self.n_params_ else None  # as the size check counts, then exactly
        if self.members_checked and getattr(self, "members_", None):
            own = [(m[3].n_params_, m[3]._n_effective()) for m in self.members_]
            spare = sum(n - e for n, e in own if e is not None)
            return float(self.n_params_ - spare) if spare > 0 else None
        return None

    def _n_size_checked(self) -> int:
        """Parameters the fitted losses must outnumber: :meth:`_n_free_checked`, but for a law whose ridge
        (``alpha > 0``) lets an eval set be fitted with fewer runs than coefficients, where it counts what the
        ridge leaves unpenalised, as the engine does (:func:`mixlaw.fit.ridge_counted_params`)."""
        return self._n_free_checked()

    def _counts_its_parameters(self) -> bool:
        """Whether ``params_`` holds every fitted parameter, so that a count (n_vary, dof, AIC/BIC) can be given:
        not for lightgbm's trees (no named coefficients), nor for a law built on them (gp-residual on a lightgbm
        base read "n_vary=6  dof=154  AIC=-1475.5", its GP's 6 hyperparameters against 2000 unpenalised trees)."""
        members = getattr(self, "members_", None) if self.members_checked else None
        if members:
            return all(m[3]._counts_its_parameters() for m in members)
        return bool(len(self.params_))

    def _count_grows_with_runs(self) -> bool:
        """Whether :meth:`_n_free_checked` counts a leave-one-out ridge's effective degrees of freedom (``dof_``),
        which grow with the runs: then no number of CV folds is sure to fit the law (:class:`TooFewObservationsError`
        ``grows``)."""
        return bool(getattr(self, "dof_", None))

    def _n_free_checked(self) -> int:
        """Free parameters the fitted losses must outnumber (and AIC/BIC count): all of ``params_``; a law whose
        penalty ties a group of them into one value counts that group once; a leave-one-out ridge (``dof_`` per
        eval set: linear / loglinear ``alpha="cv"``, loglinear-sat on few runs) its effective degrees of freedom,
        tr H summed and rounded up, not its coefficients."""
        if getattr(self, "dof_", None):
            return int(np.ceil(sum(self.dof_.values())))
        return int(sum(p.vary for p in self.params_.values()))
