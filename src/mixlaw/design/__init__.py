"""Design of experiments: which proxy mixtures to train (DESIGN.md §8).

Four tools, each returning or consuming a *design*: a :class:`pandas.DataFrame` with a ``run`` column and one
``w:<domain>`` column per training domain, rows on the simplex, ready for ``mixlaw sweep``.

* :func:`double_diminishing` -- Ye et al.'s double-diminishing proportions: per domain the candidate shares
  halve from the maximum available share (``m, m/2, m/4, ...``, plus 0); candidate mixtures are combinations
  of those levels renormalised to the simplex and deduplicated; ``n`` of them are drawn (seeded).
* :func:`dirichlet_design` -- RegMix's sampler: Dirichlet draws around a prior (the natural token distribution,
  tempered), with a concentration ("strength") drawn per sample from a log-spaced grid, rejection of mixtures
  that would repeat a domain more than ``max_epochs`` times at the target token budget, deduplication.
* :func:`select_subset` / :func:`select_runs` -- Ye et al.'s subset selection: after training ``n`` candidates
  at the smallest scale, keep the ``k`` whose mixing-law fit predicts the other pilot runs best.
* :func:`active_design` -- the next ``k`` mixtures after some runs: query-by-committee near the predicted
  optimum, the committee being the law refitted on bootstrap resamples of the runs (mixlaw's own method).

Modules: :mod:`.sampling` (double-diminishing, Dirichlet, :func:`make_design`), :mod:`.select` (subset
selection), :mod:`.active` (active design); token budgets (:func:`max_shares`, :func:`read_tokens_available`)
are :mod:`mixlaw.budget`, in the bottom layer, because the optimiser's constraints use them too.

References
----------
Ye et al., "Data Mixing Laws: Optimizing Data Mixtures by Predicting Language Modeling Performance",
ICLR 2025, arXiv:2403.16952 (double-diminishing proportions; 40 candidates at 70M, 20 selected).
Liu et al., "RegMix: Data Mixture as Regression for Language Model Pre-training", ICLR 2025,
github.com/sail-sg/regmix, ``mixture_config/synthesize_mixture.py`` (Dirichlet scheme and its constants).
Seung, Opper & Sompolinsky, "Query by committee", COLT 1992 (the idea behind :func:`active_design`).
"""


from ..budget import max_shares, read_tokens_available
from .active import ACTIVE_MIN_DISTANCE, ACTIVE_N_BOOTSTRAP, ACTIVE_N_CANDIDATES, ACTIVE_RADIUS, active_design
from .sampling import (
    design_frame,
    dirichlet_design,
    double_diminishing,
    double_diminishing_candidates,
    halving_levels,
    make_design,
)
from .select import SubsetSelection, select_runs, select_subset

__all__ = ["halving_levels", "double_diminishing_candidates", "double_diminishing", "dirichlet_design",
           "max_shares", "select_subset", "select_runs", "SubsetSelection", "active_design", "design_frame",
           "make_design", "read_tokens_available", "ACTIVE_N_BOOTSTRAP", "ACTIVE_N_CANDIDATES", "ACTIVE_RADIUS",
           "ACTIVE_MIN_DISTANCE"]
