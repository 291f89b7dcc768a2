"""The optimal mixture: minimise a fitted law's predicted objective over the simplex (DESIGN.md §7).

.. math::

    r^\\star = \\arg\\min_{r} \\; F\\big(L_1(r), \\dots, L_K(r)\\big)
    \\quad\\text{s.t.}\\quad \\sum_j r_j = 1,\\;\\; \\ell_j \\le r_j \\le u_j,\\;\\;
    r_j D \\le E_{\\max} T_j,\\;\\; r_j = f_j \\;(j \\in \\text{fixed})

with :math:`F` the mean, the sum, a non-negative weighted sum or the maximum of the per-eval predicted
losses (or a user callable), :math:`D` the target run's training tokens, :math:`T_j` the tokens available in
domain j and :math:`E_{\\max}` the repetitions allowed. The availability constraint is an upper bound
:math:`u_j \\leftarrow \\min(u_j, E_{\\max} T_j / D)`.

Also here: Ye et al.'s *steps-to-match* figures (:func:`steps_to_match`).

Modules: :mod:`.objective` (law evaluation and the scalar objective), :mod:`.constraints` (the feasible
set and its projection), :mod:`.search` (the searches), :mod:`.slsqp` (one SLSQP run), :mod:`.balls` (the
trust radius's branch and bound over the runs' L1 balls), :mod:`.result` (what is returned), :mod:`.runs` (enough
runs for the law's parameters) and :mod:`.steps` (Ye's steps-to-match). From a run table to an
optimum with bootstrap intervals, as ``mixlaw optimize`` does: :func:`mixlaw.api.optimize_runs`.

References
----------
Ye et al., "Data Mixing Laws: Optimizing Data Mixtures by Predicting Language Modeling Performance",
ICLR 2025, arXiv:2403.16952, §4 (optimised RedPajama mixture; 73 % of the steps, +48 % equivalent training).
"""

from __future__ import annotations

from .constraints import ACTIVE_TOL, DEFAULT_MAX_EPOCHS, FEAS_TOL, project_box_simplex
from .objective import FD_STEP, Objective, _LawEval, _make_scalar, _objective_weights
from .result import ActiveConstraint, OptimumResult
from .runs import check_enough_runs
from .search import DEFAULT_N_STARTS, optimize_mixture
from .steps import StepsToMatch, steps_to_match

__all__ = ["optimize_mixture", "check_enough_runs", "OptimumResult", "ActiveConstraint",
           "project_box_simplex", "steps_to_match", "StepsToMatch", "Objective", "ACTIVE_TOL", "FEAS_TOL",
           "DEFAULT_MAX_EPOCHS", "DEFAULT_N_STARTS", "FD_STEP", "_LawEval", "_make_scalar", "_objective_weights"]
