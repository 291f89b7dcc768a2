"""From small proxy runs to target-scale losses: Ye's nested pipeline and a direct joint fit (DESIGN.md §6).

**Nested route** (Ye et al. 2025, §4). Rows with identical mixture weights form one *mixture* (weights that differ by
rounding only, e.g. renormalised at each size, are merged first, with a warning); rows of one mixture at one model
size form a training curve.

1. For each mixture, size and eval set, fit the step law :math:`L(S) = E + B/S^{\\beta}` over the curve's
   checkpoints and extrapolate to the target steps :math:`S^*`.
2. For each mixture and eval set, fit the size law :math:`L(N) = E + A/N^{\\alpha}` over the sizes'
   step-extrapolated losses and extrapolate to the target size :math:`N^*`.
3. Fit the mixing law (a registered key, default Ye's exponential law) on the predicted losses at
   :math:`(N^*, S^*)`; that law is what :func:`mixlaw.optimize.optimize_mixture` optimises.

**Direct route** (Dai & Zheng: a law that takes N as an input predicts the target size directly). When the
requested law takes model sizes (``uses_model_params``, e.g. ``dz-eq1``), it is fitted on every curve's final
checkpoint and predicts at :math:`N^*` (such laws have no step input, so the final checkpoints should be at
:math:`S^*`; a warning says when they are not). Otherwise mixlaw fits, per eval set, on *all* checkpoints of
all small runs the joint law

.. math::

    L_i(r, N, S) = E_i + \\frac{A_i}{N^{\\alpha_i}} + \\frac{B_i}{S^{\\beta_i}} + k_i e^{\\sum_j t_{ij} r_j}

(a Chinchilla-style scale part plus Ye's mixture term; the form of the synthetic world in the tests). At
fixed :math:`(N^*, S^*)` it *is* Ye's law with :math:`c_i = E_i + A_i/N^{*\\alpha_i} + B_i/S^{*\\beta_i}`,
which is returned as the mixing law. This is mixlaw's own choice, documented here: it assumes the mixture
effect does not change with scale, which Ye's nested route does not assume.

**Steps only** (:mod:`.fitting`): a target size equal to a fitted size, in a table of 1-2 sizes (too few for
the size law) or with ``steps_only=True``, is extrapolated in steps (or tokens) alone at that size, as Ye et al.
do at one size: the nested route without stage 2, the direct route's joint law without its size term. One
model size is then enough; ``target_params`` defaults to the table's one size.

**Sizes only**, the mirror image: a target step (or token count) equal to a recorded one, in a table of 1-2
step values (each run's final loss only, every size trained for the same steps) or with ``sizes_only=True``, is
extrapolated in model size alone at that step: the nested route without stage 1 (Ye's size law per mixture,
then the mixing law at N*), the direct route's joint law without its step term. ``target_steps`` defaults to
the table's one step.

References
----------
Ye et al., "Data Mixing Laws", ICLR 2025, arXiv:2403.16952, §4 (nested scaling laws).
Dai & Zheng, "Explaining Data Mixing Scaling Laws", ICML 2026, arXiv:2606.08167, Eq. (1) (model size as an
input).

Package layout: :mod:`.result` (result types, shared helpers), :mod:`.nested` and :mod:`.direct` (the routes; the direct
route's joint law and its fit in :mod:`.joint`, its fitted laws at any scale in :mod:`.direct_scales`),
:mod:`.fitting` (one fixed route and law), :mod:`.check` (predictions against held-out rows at the target),
:mod:`.auto` (:func:`fit_pipeline`: route and law chosen by a
leave-scale-out backtest, the default), :mod:`.intervals` (prediction intervals at the target; their backtest part
in :mod:`.conformal`, their no-backtest terms in :mod:`.law_spread`), :mod:`.backtest` (held-out checks of one
route), :mod:`.decide` (optimum, steps-to-match), :mod:`.io` (save and load, intervals included, checked by
:mod:`._schema`).
"""

from .auto import AUTO, AUTO_LAWS, Candidate, ScaleSplit, Selection, fit_pipeline, leave_scale_out_split
from .backtest import Backtest, backtest_pipeline
from .check import TargetCheck, TargetRows, check_at_target, measured_at_target, target_rows
from .decide import optimize_pipeline, optimum_interval_line, pipeline_steps_to_match
from .fitting import fit_route, keep_fit_sizes
from .intervals import PredictionIntervals
from .io import load_pipeline, save_pipeline, saved_intervals, saved_intervals_at
from .result import ROUTES, PipelineResult, StageQuality, mixture_label

__all__ = ["fit_pipeline", "fit_route", "keep_fit_sizes", "PipelineResult", "StageQuality", "ROUTES", "AUTO",
           "AUTO_LAWS", "optimize_pipeline", "optimum_interval_line", "pipeline_steps_to_match", "backtest_pipeline",
           "Backtest", "Selection",
           "Candidate", "ScaleSplit", "leave_scale_out_split", "PredictionIntervals", "save_pipeline", "load_pipeline",
           "saved_intervals", "saved_intervals_at", "mixture_label", "check_at_target", "measured_at_target",
           "TargetCheck", "TargetRows", "target_rows"]
