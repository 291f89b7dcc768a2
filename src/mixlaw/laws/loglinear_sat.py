"""Robust log-linear law with a saturating term per domain (Olmix's log-linear law plus log shares).

.. math:: \\log L_i(r) = \\sum_j a_{ij} r_j + \\sum_j c_{ij} \\log(r_j + \\varepsilon)
          \\; \\Big[ + \\sum_g d_{ig} \\log\\big(\\textstyle\\sum_{j \\in g} r_j + \\varepsilon\\big) \\Big]

fitted per eval set by Huber regression with a concomitant scale (Owen 2007; scikit-learn's ``HuberRegressor``
objective, solved exactly by :mod:`mixlaw.laws._huber`) and an L2 penalty, averaged over a fixed set of penalty
strengths. The intercept is absorbed into the :math:`a_{ij}` (:math:`\\sum_j r_j = 1`).

Why this form (issue 10, Marin Delphi table9_obj): Ye et al.'s power-share law (ye-pow) fitted there sits on
its bounds (log k = 29.8, every t_j near -29.5, every gamma_j near 1), which to first order in gamma - 1 is
the log-linear law in :math:`[r_j, r_j \\log r_j]`: its sensible fit is a limit the parametrisation reaches only
at infinity. This law is that limit written as a convex problem, with :math:`\\log(r_j + \\varepsilon)` for a
saturation that starts at shares of about :math:`\\varepsilon`, and a robust loss (the squared loss on log L
ranks table9_obj at 0.87, Huber at 0.89: a few runs are far off any smooth law).

References
----------
Chen et al., "Olmix: A Framework for Data Mixing Throughout LM Development", 2026, arXiv:2602.12237
(Allen Institute for AI; code github.com/allenai/olmix): log-linear regression of losses on the mixture.
Ye et al., "Data Mixing Laws: Optimizing Data Mixtures by Predicting Language Modeling Performance", ICLR 2025,
arXiv:2403.16952 (the multi-domain exponential law of domain losses, which it linearises).
Owen, "A robust hybrid of lasso and ridge regression", Contemporary Mathematics 443 (2007) (Huber loss with a
concomitant scale, as in scikit-learn's ``HuberRegressor``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from numbers import Real
from typing import Any

import numpy as np
from scipy import stats

from .._validation import Interval, Options, check_is_fitted
from ..errors import ConvergenceWarning, InputError, TooFewObservationsError, user_stacklevel
from ..fit import Param, Params
from . import _huber
from ._folds import deal_folds
from .base import FitContext, MixingLaw, register, state_bool
from .linear import LOO_GRID, MIN_LOO_RUNS, RANK_RCOND, loo_scan, mixture_groups
from .saved import state_number

#: Penalty strengths averaged by default (scikit-learn's ``HuberRegressor`` units: ``alpha * |beta|^2`` against
#: the summed Huber loss of the runs, on standardised features). Averaging the fits instead of choosing one
#: strength by inner 5-fold CV: on Marin Delphi table9_obj (outer 5-fold CV, seed 0) choosing (eps, alpha)
#: from a grid by inner CV scored 0.882-0.884 whatever the criterion, the average over (10, 30, 100) 0.8915.
ALPHAS = (10.0, 30.0, 100.0)
#: Offsets of the log share tried by ``eps="cv"``: saturation starts near shares of eps.
EPS_GRID = (0.01, 0.02, 0.05)
#: Inner folds of ``eps="cv"`` / ``groups="cv"`` (shuffled by ``random_state``).
N_FOLDS = 5
#: ``config_choice="cv3"``: inner splits (shuffles) whose scores are averaged before the pair is chosen.
N_REPEATS = 3
#: ``config_choice="top3"``: pairs averaged, the best by inner CV.
TOP_K = 3
#: scikit-learn's Huber threshold in units of the fitted scale (95 % efficiency under normal errors).
HUBER_EPSILON = 1.35


class _PositiveFloats:
    """Constraint: a positive number, or a non-empty list/tuple of them."""

    def is_satisfied_by(self, value: Any) -> bool:
        vals = value if isinstance(value, (list, tuple)) else [value]
        return len(vals) > 0 and all(isinstance(v, Real) and not isinstance(v, bool) and v > 0 for v in vals)

    def __str__(self) -> str:
        return "a float in the range (0, inf) or a non-empty list of them"


def name_groups(domains: Sequence[str]) -> dict[str, str]:
    """Groups of domains whose names differ only in their last ``_suffix`` (two or more members each).

    ``dolma3_cc/health_high`` and ``dolma3_cc/health_low`` form the group ``dolma3_cc/health``; a stem shared by
    no other domain makes no group.
    """
    stems = [d.rsplit("_", 1)[0] if "_" in d else d for d in domains]
    return {d: s for d, s in zip(domains, stems, strict=True) if stems.count(s) >= 2}


@register("loglinear-sat")
class LogLinearSat(MixingLaw):
    """Robust log-linear law in the shares and their logs, one eval set at a time (convex; no bounds).

    On Marin Delphi (5-fold CV, shuffled, seed 0; mean Spearman over folds; 2026-12-03): table9_obj 0.8934
    with the defaults, 0.8915 at eps 0.02 without groups, against ye-pow's 0.884 in the same folds; the other 8
    metrics 0.944-0.975 except unch_github_python 0.897 and unch_wikipedia_en 0.900 (ye-pow 0.930 / 0.882).
    The defaults solve 33 Huber problems per eval set (inner CV: 6 (eps, groups) pairs x 5 folds at one strength,
    then the 3 strengths), batched (:mod:`mixlaw.laws._huber`: one Newton solve per pair): a fit on 224 Marin runs
    takes 0.8 CPU s, all 13 RegMix evals on 512 runs 0.9 s (LightGBM 6.9 s); one ``HuberRegressor`` per problem
    took 4.6 s and 17 s, for the same optimum (predictions within 5e-5, Marin table9_obj CV unchanged to 5 digits).

    Parameters
    ----------
    eps : float or "cv", default="cv"
        Offset of :math:`\\log(r_j + \\varepsilon)`: the share at which a domain's returns start to diminish.
        ``"cv"``: chosen per eval set from :data:`EPS_GRID` by inner 5-fold CV on the fitting runs (the
        Spearman of the out-of-fold predictions).
    alpha : float or list of float, default=(10, 30, 100)
        L2 penalty strength(s) on the standardised coefficients (scikit-learn ``HuberRegressor`` units). With
        several, the law is the average of the fits (their log predictions, i.e. their coefficients).
    groups : dict of str to str, "names", "cv" or None, default="cv"
        Domains pooled into groups, each adding the term :math:`d_g \\log(\\sum_{j \\in g} r_j + \\varepsilon)`:
        a saturation shared by variants of one source (e.g. two quality tiers of one topic). ``"names"``:
        domains whose names differ only in their last ``_suffix`` (:func:`name_groups`); ``"cv"``: the name
        groups or none, chosen per eval set by the same inner CV as ``eps`` (none when no names pair up).
    huber_epsilon : float, default=1.35
        Huber threshold in units of the fitted residual scale.
    random_state : int, Generator or None, default=0
        Shuffles the inner-CV folds of ``eps="cv"`` / ``groups="cv"`` (so it can change the pair chosen); the
        Huber fits themselves are deterministic.
    config_choice : {"cv", "cv3", "top3", "average"}, default="cv"
        How the (eps, groups) pairs make the law of an eval set. ``"cv"``: the pair with the best inner-CV
        Spearman. ``"cv3"``: the same, its scores averaged over :data:`N_REPEATS` inner splits (shuffles drawn from
        ``random_state``). ``"top3"``: the :data:`TOP_K` best pairs by inner CV, their log predictions averaged with
        equal weights. ``"average"``: every pair, averaged likewise (no inner CV). An average of pairs is one law
        in the union of their features (coefficients ``c1_``, ``c2_``, ... per eps). On few runs (the
        ridge path, below) the pair is chosen by leave-one-out whatever this says. Compared by
        ``bench/llsat_config_choice.py`` (rule pre-registered; 2026-12-06, mean held-out Spearman over Marin
        Delphi, RegMix, Olmix DCLM and update-5, inner seeds 0-3): cv 0.8439, average 0.8460, top3 0.8464, cv3
        0.8459, each under the +0.003 the rule asks, and average / top3 lose 0.007 / 0.002 on RegMix: ``"cv"``
        stays. ``"average"`` does not depend on ``random_state`` (no inner CV) and costs half as much.

    Attributes
    ----------
    params_ : Params
        ``<target>.a_<domain>``, ``<target>.c_<domain>`` and ``<target>.d_<group>`` (coefficients of the
        unstandardised features; the intercept is in the ``a``); with several eps (an average of pairs),
        ``c1_`` / ``d1_``, ``c2_`` / ``d2_``, ... per eps in increasing order.
    groups_ : dict of str to list of str
        Group name -> member domains used.
    scale_ : dict of str to float
        Fitted Huber scale of the log residuals per eval set (mean over the penalty strengths); on the ridge path
        (no more runs than features: :meth:`_fit_ridge`), the leave-one-out RMSE of log L.
    config_ : dict of str to dict
        Per eval set, the ``eps`` and whether the groups are used (for an average of pairs, the list of the eps
        used and, per eps, whether its groups are).
    pairs_ : dict of str to list of str
        Per eval set, the pairs whose fits make the law (one, except with ``config_choice`` "top3" / "average").
    cv_scores_ : dict of str to dict of str to float
        Per eval set, the inner-CV Spearman of every (eps, groups) pair tried (``"cv3"``: its mean over the
        splits; -1 where the out-of-fold predictions were not finite or the Spearman NaN, such a pair ranked below
        every pair scored; 0 where they or the losses are constant);
        empty when nothing was chosen (``"average"``) and on the ridge path, which chooses the pair by
        leave-one-out.
    dof_ : dict of str to float
        On the ridge path, per eval set, its effective degrees of freedom :math:`\\operatorname{tr} H` (the
        intercept's 1 included; what the size check and the report count); empty for the Huber fit.
    ridge_ : dict of str to dict of str to float
        On the ridge path, per eval set, ``alpha`` (relative to the largest eigenvalue of the standardised
        features) and ``loo_rmse``; empty for the Huber fit.

    Notes
    -----
    .. math:: \\log L_i(r) = \\sum_j a_{ij} r_j + \\sum_j c_{ij} \\log(r_j + \\varepsilon)
              \\; \\Big[ + \\sum_g d_{ig} \\log\\big(\\textstyle\\sum_{j \\in g} r_j + \\varepsilon\\big) \\Big]

    Symbols: r -> ``weights``, a_ij -> ``a_<domain j>``, c_ij -> ``c_<domain j>``, d_ig -> ``d_<group g>``,
    :math:`\\varepsilon` -> ``eps``. ``c_ij < 0``: domain j helps eval set i, with diminishing returns. A domain
    absent from every fitting run has a constant log share and gets ``c = 0``.

    References
    ----------
    Chen et al., "Olmix: A Framework for Data Mixing Throughout LM Development", 2026, arXiv:2602.12237;
    Ye et al., "Data Mixing Laws: Optimizing Data Mixtures by Predicting Language Modeling Performance",
    ICLR 2025, arXiv:2403.16952 (the multi-domain exponential law of domain losses); Owen, "A robust hybrid of
    lasso and ridge regression", Contemporary Mathematics 443 (2007).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> W = rng.dirichlet(np.ones(3), size=60)
    >>> y = np.exp(W @ np.array([0.3, 0.2, 0.4]) - 0.05 * np.log(W[:, 1] + 0.02))
    >>> law = LogLinearSat(eps=0.02, alpha=1e-6).fit(W, y)
    >>> bool(np.allclose(law.predict(W), y, rtol=1e-3))
    True
    """

    #: Parameters are ``<target>.<name>`` (the saved-law loader checks them against ``_local_names``).
    per_target_params = True
    stderr_method = None  # a Huber ridge over a CV-chosen configuration: no closed-form errors
    _parameter_constraints = {"eps": [Interval(Real, 0, None, closed="neither"), Options({"cv"})],
                              "alpha": [_PositiveFloats()],
                              "groups": [dict, Options({"names", "cv"}), None],
                              "huber_epsilon": [Interval(Real, 1, None, closed="left")],
                              "config_choice": [Options({"cv", "cv3", "top3", "average"})],
                              "random_state": ["random_state"]}

    def __init__(self, *, eps: float | str = "cv", alpha: float | Sequence[float] = ALPHAS,
                 groups: Mapping[str, str] | str | None = "cv", huber_epsilon: float = HUBER_EPSILON,
                 random_state: int | np.random.Generator | None = 0, config_choice: str = "cv") -> None:
        self.eps, self.alpha, self.groups = eps, alpha, groups
        self.huber_epsilon, self.random_state, self.config_choice = huber_epsilon, random_state, config_choice

    # ------------------------------------------------------------------ fit / predict
    def _resolve_groups(self, domains: list[str]) -> dict[str, list[str]]:
        if self.groups is None:
            return {}
        mapping = name_groups(domains) if isinstance(self.groups, str) else dict(self.groups)
        unknown = sorted(set(mapping) - set(domains))
        if unknown:
            raise InputError(f"law 'loglinear-sat': groups name unknown domain(s) {unknown} (domains: {domains})")
        out: dict[str, list[str]] = {}
        for d in domains:
            if d in mapping:
                out.setdefault(str(mapping[d]), []).append(d)
        return out

    def _configs(self) -> list[tuple[float, bool]]:
        """(eps, with groups) pairs the inner CV chooses from (one pair: nothing to choose)."""
        eps = list(EPS_GRID) if self.eps == "cv" else [float(self.eps)]
        if not self.groups_:
            use = [False]
        else:
            use = [False, True] if self.groups == "cv" else [True]
        return [(e, u) for e in eps for u in use]

    def _alphas(self) -> list[float]:
        return [float(a) for a in (self.alpha if isinstance(self.alpha, (list, tuple)) else [self.alpha])]

    def _fit(self, W: np.ndarray, Y: np.ndarray, ctx: FitContext) -> None:
        # The intercept is folded into the a_j below, which is exact only for rows summing to 1: on weights in
        # percent the law predicted its own 40 fitting runs at 1e36 for losses of 1.6-2.5. MixingLaw.fit now holds
        # an array to the run table's rule (rows sum to 1 within weight_tol, renormalised), so rows reach here on
        # the simplex; a law saved before that and fitted on percentages has row_shares set, and predict reads its
        # rows as shares r / sum(r).
        self._row_shares = False
        self.groups_ = self._resolve_groups(ctx.domains)
        G = _group_matrix(ctx.domains, self.groups_)
        configs = self._configs()
        Z = np.log(Y)
        self.dof_: dict[str, float] = {}
        self.ridge_: dict[str, dict[str, float]] = {}
        # No more runs than the features of a pair tried ([r_j, log(r_j + eps)], and the groups' terms): the Huber
        # fit would interpolate. Counted without the groups (2M), 23 runs of 10 name-paired domains (25 features
        # with the groups) were refused, and auto, whose 18-run folds had scored this ridge, raised on its refit.
        if len(W) <= 2 * W.shape[1] + (G.shape[1] if any(use for _, use in configs) else 0):
            self._fit_ridge(W, Z, G, configs, ctx)
            return
        K = Y.shape[1]
        # Inner-CV Spearman of every pair per eval set (-inf where nothing was scored: ties and fallbacks keep the
        # earlier pair, the smallest eps without groups).
        scores = np.full((len(configs), K), -np.inf)
        # A pair whose out-of-fold predictions were not finite, or whose Spearman was NaN, in some split: it ranks
        # below every pair scored (its -1 tied a real -1 and, first in order, was chosen).
        failed = np.zeros((len(configs), K), dtype=bool)
        self.cv_scores_: dict[str, dict[str, float]] = {}
        n = len(W)
        mode = self.config_choice
        if mode != "average" and len(configs) > 1 and n >= 2 * N_FOLDS:  # fewer runs: the first pair
            # cv3: the score is the mean over N_REPEATS shuffles of the inner folds (the rng advances between them).
            splits = [deal_folds(N_FOLDS, self._rng, W) for _ in range(N_REPEATS if mode == "cv3" else 1)]
            tests = [fold == f for fold in splits for f in range(int(fold.max()) + 1)]
            # The refits that choose score one strength, the median of ``alpha``: a third of the cost of the
            # average, and the strengths' average moves every pair alike.
            cv_alpha = [float(np.median(self._alphas()))]
            self.cv_scores_ = {t: {} for t in ctx.targets}
            scores[:] = 0.0
            for c, (eps, use) in enumerate(configs):
                # Every (split, fold, eval set) problem of this pair in one batched solve.
                F = _features(W, eps, G if use else None)
                coef, icpt, _, _ = _huber_average(F, Z, cv_alpha, float(self.huber_epsilon), [~te for te in tests])
                for r, fold in enumerate(splits):
                    P = np.empty((n, K))
                    for f in range(int(fold.max()) + 1):
                        k, te = r * (int(splits[0].max()) + 1) + f, fold == f
                        P[te] = F[te] @ coef[k].T + icpt[k]
                    for i in range(K):
                        # Non-finite predictions are checked first: np.ptp of a NaN is NaN, so they read as
                        # constant and scored 0, above every real negative Spearman.
                        finite = bool(np.isfinite(P[:, i]).all())
                        # Constant predictions or losses rank nothing: 0, not scipy's NaN (and its warning).
                        rank = finite and np.ptp(P[:, i]) > 0 and np.ptp(Z[:, i]) > 0
                        rho = float(stats.spearmanr(Z[:, i], P[:, i]).statistic) if rank else 0.0
                        if not (finite and np.isfinite(rho)):
                            # Reported as the worst ranking, -1, so a mean over cv3's splits stays a number;
                            # ranked by ``failed`` below every pair scored.
                            failed[c, i], rho = True, -1.0
                        scores[c, i] += rho / len(splits)
                for i, t in enumerate(ctx.targets):
                    self.cv_scores_[t][_config_name(eps, use)] = float(scores[c, i])
        # Per eval set, the pairs whose fits are averaged (equal weights, in the log predictions).
        members: list[list[int]] = []
        for i in range(K):
            # Failed pairs last, then by score; stable: ties keep the earlier pair.
            order = sorted(range(len(configs)), key=lambda c: (failed[c, i], -scores[c, i]))
            if mode == "average":
                members.append(list(range(len(configs))))
            elif mode == "top3" and np.isfinite(scores[order[0], i]):
                # Not a failed pair beside scored ones (one alone, all failed, is the pair the rule falls back to).
                members.append(sorted([c for c in order[:TOP_K] if not failed[c, i]] or order[:1]))
            else:
                members.append([order[0]])
        M = W.shape[1]
        fits: dict[int, dict[int, tuple[np.ndarray, float, float, bool]]] = {}
        for c in sorted({c for ms in members for c in ms}):  # the eval sets using one pair: one batched solve
            eps, use = configs[c]
            cols = [i for i in range(K) if c in members[i]]
            coef, icpt, scale, ok = _huber_average(_features(W, eps, G if use else None), Z[:, cols], self._alphas(),
                                                   float(self.huber_epsilon))
            fits[c] = {i: (coef[0, k], float(icpt[0, k]), float(scale[0, k]), bool(ok[0, k]))
                       for k, i in enumerate(cols)}
        by_col: dict[int, list[Param]] = {}
        self.scale_, self.config_, self._local_names, self.pairs_ = {}, {}, {}, {}
        ng = G.shape[1]
        for i, t in enumerate(ctx.targets):
            ms = members[i]
            eps_list = sorted({configs[c][0] for c in ms})
            use_list = [any(configs[c][1] for c in ms if configs[c][0] == e) for e in eps_list]
            names = _names(ctx.domains, list(self.groups_), use_list)
            # The average of the members' log predictions is one law in the union of their features:
            # [r, log(r + eps_k) for each eps, log(G r + eps_k) for each eps with groups], each member's
            # coefficients (intercept folded into the a_j: sum_j r_j = 1) placed at its features, then averaged.
            b = np.zeros(len(names))
            for c in ms:
                coef, icpt, _, ok = fits[c][i]
                if not ok:
                    warnings.warn(f"{self.key}[{t}]: a Huber fit did not converge in "
                                  f"{_huber.MAX_ITER + _huber.LINE_ITER} Newton steps",
                                  ConvergenceWarning, stacklevel=user_stacklevel(3))
                eps, use = configs[c]
                k = eps_list.index(eps)
                b[:M] += coef[:M] + icpt
                b[M * (1 + k):M * (2 + k)] += coef[M:2 * M]
                if use:
                    d0 = M * (1 + len(eps_list)) + ng * sum(use_list[:k])
                    b[d0:d0 + ng] += coef[2 * M:]
            b /= len(ms)
            self.scale_[t] = float(np.mean([fits[c][i][2] for c in ms]))
            self._local_names[t] = names
            self.config_[t] = ({"eps": eps_list[0], "groups": use_list[0]} if len(eps_list) == 1
                               else {"eps": eps_list, "groups": use_list})
            self.pairs_[t] = [_config_name(*configs[c]) for c in ms]
            by_col[i] = [Param(f"{t}.{nm}", float(v), float(v)) for nm, v in zip(names, b, strict=True)]
        plist = [p for i in sorted(by_col) for p in by_col[i]]
        self.scale_ = {t: self.scale_[t] for t in ctx.targets}
        self.config_ = {t: self.config_[t] for t in ctx.targets}
        self.params_ = Params(plist)
        self.results_ = {}  # one batched Newton solve (laws/_huber.py): no per-problem optimiser results

    def _fit_ridge(self, W: np.ndarray, Z: np.ndarray, G: np.ndarray, configs: list[tuple[float, bool]],
                   ctx: FitContext) -> None:
        """No more runs than features: ridge least squares on the log losses, its strength and (eps, groups)
        chosen per eval set by closed-form leave-one-out (:func:`_ridge_loo`).

        Why not the Huber fit: with as many coefficients as runs it interpolates, its concomitant scale goes to 0
        and nothing tells inliers from outliers (the size check refused such tables, so ``auto`` had no law with
        saturating returns on a table of more domains than runs). ``python bench/wide_tables.py --boundary``
        (2026-12-06; held-out Spearman over 300 new mixtures, mean of 6 seeds): on worlds with saturating returns
        this path ranks 0.864 / 0.897 / 0.819 / 0.584 at 20 domains x 30 runs / 24 x 40 / 30 x 40 / 50 x 30, the
        log-linear ridge 0.573 / 0.508 / 0.604 / 0.523; on Ye-exponential worlds it is below the log-linear ridge
        (0.963 against 0.985 at 20 x 30), and auto's CV picks between them. Just above 2M runs (2M plus the groups'
        terms where groups are tried) the Huber fit takes over (where it fitted before); a CV whose folds fall below
        that then scores this path while the whole table gets the Huber fit, and the two rank alike there (20
        domains, no groups, both forced): at 1.1 / 1.25 / 1.5 / 2 x 2M runs, Huber 0.979 / 0.983 / 0.988 / 0.992,
        this path 0.975 / 0.985 / 0.991 / 0.993."""
        n = len(W)
        if n < MIN_LOO_RUNS:
            raise TooFewObservationsError(f"law {self.key!r}: {n} run(s) are too few for its leave-one-out ridge "
                                          f"(no more runs than features); need at least {MIN_LOO_RUNS}",
                                          n_obs=n, n_params=MIN_LOO_RUNS - 1)
        M = W.shape[1]
        plist: list[Param] = []
        self.scale_, self.config_, self._local_names, self.cv_scores_ = {}, {}, {}, {}
        self.pairs_ = {}
        feats = [_features(W, eps, G if use else None) for eps, use in configs]
        for i, t in enumerate(ctx.targets):
            fits = [_ridge_loo(F, Z[:, i]) for F in feats]
            c = min(range(len(fits)), key=lambda k: fits[k][4])  # ties keep the earlier pair
            b, icpt, rel, dof, score = fits[c]
            if not np.isfinite(score):
                raise TooFewObservationsError(f"law {self.key!r}: no ridge leaves the {n} runs of {t!r} a residual "
                                              "degree of freedom", n_obs=n, n_params=n)
            eps, use = configs[c]
            b = b.copy()
            b[:M] += icpt  # sum_j r_j = 1: the intercept is a common shift of the a_j
            names = ([f"a_{d}" for d in ctx.domains] + [f"c_{d}" for d in ctx.domains]
                     + ([f"d_{g}" for g in self.groups_] if use else []))
            self.scale_[t], self._local_names[t] = float(np.sqrt(score)), names
            self.config_[t] = {"eps": eps, "groups": use}
            self.pairs_[t] = [_config_name(eps, use)]
            self.dof_[t], self.ridge_[t] = dof, {"alpha": rel, "loo_rmse": float(np.sqrt(score))}
            plist += [Param(f"{t}.{nm}", float(v), float(v)) for nm, v in zip(names, b, strict=True)]
        self.params_ = Params(plist)
        self.results_ = {}

    def _extra_report_sections(self) -> list[tuple[str, str]]:
        if not getattr(self, "ridge_", None):
            return []
        w = max(len(t) for t in self.ridge_)
        return [("Ridge least squares by leave-one-out (no more runs than features: the Huber scale is not "
                 "identified; alpha relative to the largest eigenvalue of the standardised features)",
                 "\n".join(f"    {t:<{w}}  {_config_name(**self.config_[t])}  alpha {r['alpha']:.3g}  "
                           f"dof {self.dof_[t]:.1f}  leave-one-out RMSE of log L {r['loo_rmse']:.3g}"
                           for t, r in self.ridge_.items()))]

    def coef(self, target: str | None = None) -> np.ndarray:
        """Fitted coefficients of one eval set (default: the first): a, then c, then d (its groups, if used)."""
        check_is_fitted(self)
        t = self.targets_[0] if target is None else target
        return np.array([self.params_[f"{t}.{nm}"].value for nm in self._local_names[t]])

    def _n_free_checked(self) -> int:
        """An average of pairs (``config_choice`` "top3" / "average") counts, per eval set, one pair's
        coefficients (the largest: 2M, plus the groups' terms where a pair uses them), not the union of the pairs'
        features it is written in: each pair is fitted on its own (under this count) and averaging their
        predictions adds no coefficient fitted to the runs. Counted as the union, 8 eval sets of Olmix's 22-domain
        update-5 swarm on 51 runs read 728 parameters for 408 losses (one pair each: at most 360)."""
        pairs = getattr(self, "pairs_", {})
        if getattr(self, "dof_", None) or all(len(p) <= 1 for p in pairs.values()):
            return super()._n_free_checked()
        M, ng = len(self.domains_), len(self.groups_)
        return sum(2 * M + (ng if any(_config_lists(self.config_[t])[1]) else 0) for t in self.targets_)

    def _predict(self, W: np.ndarray, ctx: FitContext) -> np.ndarray:
        if getattr(self, "_row_shares", False):
            W = _row_shares(W)
        G = _group_matrix(self.domains_, self.groups_)
        out = []
        for t in self.targets_:
            eps, use = _config_lists(self.config_[t])
            out.append(_union_features(W, eps, use, G) @ self.coef(t))
        return np.exp(np.column_stack(out))

    def _get_state(self) -> dict[str, Any]:
        return {"groups": self.groups_, "scale": self.scale_, "config": self.config_, "cv_scores": self.cv_scores_,
                "pairs": getattr(self, "pairs_", {}),
                "row_shares": bool(getattr(self, "_row_shares", False)), "dof": getattr(self, "dof_", {}),
                "ridge": getattr(self, "ridge_", {})}

    def _set_state(self, state: dict[str, Any]) -> None:
        self.groups_ = {str(g): [str(d) for d in ms] for g, ms in dict(state.get("groups", {})).items()}
        self._row_shares = state_bool(state, "row_shares")
        unknown = sorted({d for ms in self.groups_.values() for d in ms} - set(self.domains_))
        if unknown:
            raise InputError(f"groups name unknown domain(s) {unknown}")
        self.scale_ = {str(k): float(v) for k, v in dict(state.get("scale", {})).items()}
        self.config_ = {str(t): _read_config(c) for t, c in dict(state["config"]).items()}
        # An eps <= 0 (or NaN) passes the loader's check at the centre of the fitted range but makes log(r + eps)
        # -inf or NaN wherever a domain's share is 0: such a file would predict a loss of 0 or NaN there.
        bad = {t: c["eps"] for t, c in self.config_.items()
               if not all(np.isfinite(e) and e > 0 for e in _config_lists(c)[0])}
        if bad:
            raise InputError(f"config eps must be a finite number > 0; got {bad}")
        self.cv_scores_ = {str(t): {str(k): float(v) for k, v in dict(c).items()}
                           for t, c in dict(state.get("cv_scores", {})).items()}
        # The ridge path's (saved since 2026-12-06; older files have none: Huber fits).
        self.dof_ = {str(t): float(v) for t, v in dict(state.get("dof") or {}).items()}
        self.ridge_ = {str(t): {str(k): float(v) for k, v in dict(r).items()}
                       for t, r in dict(state.get("ridge") or {}).items()}
        self._local_names = {t: _names(self.domains_, list(self.groups_), _config_lists(self.config_[t])[1])
                             for t in self.targets_}
        # Saved before config_choice (2026-12-06): one pair per eval set.
        self.pairs_ = {str(t): [str(m) for m in ms] for t, ms in dict(state.get("pairs") or {}).items()}
        for t in self.targets_:
            if t not in self.pairs_:
                eps, use = _config_lists(self.config_[t])
                self.pairs_[t] = [_config_name(e, u) for e, u in zip(eps, use, strict=True)]


def _row_shares(W: np.ndarray) -> np.ndarray:
    """Each row divided by its sum (a row of zeros stays 0)."""
    s = W.sum(axis=1, keepdims=True)
    return W / np.where(s > 0, s, 1.0)


def _config_name(eps: float, groups: bool) -> str:
    return f"eps={eps:g}{',groups' if groups else ''}"


def _read_config(c: Mapping[str, Any]) -> dict[str, Any]:
    """A saved ``config`` entry: one pair (floats) or, for an average of pairs, lists (one entry per eps)."""
    if isinstance(c["eps"], (list, tuple)):
        use = c["groups"]
        if not isinstance(use, (list, tuple)) or len(use) != len(c["eps"]) or not c["eps"]:
            raise InputError(f"config with a list of eps needs a list of groups flags of the same length; got {c}")
        return {"eps": [state_number(e, "'config.eps'") for e in c["eps"]],
                "groups": [state_bool({"g": u}, "g") for u in use]}
    return {"eps": state_number(c["eps"], "'config.eps'"), "groups": state_bool(c, "groups")}


def _config_lists(cfg: Mapping[str, Any]) -> tuple[list[float], list[bool]]:
    """An eval set's eps values and, per eps, whether its group terms are used (one of each for one pair)."""
    if isinstance(cfg["eps"], list):
        return [float(e) for e in cfg["eps"]], [bool(u) for u in cfg["groups"]]
    return [float(cfg["eps"])], [bool(cfg["groups"])]


def _names(domains: Sequence[str], groups: Sequence[str], use: Sequence[bool]) -> list[str]:
    """Coefficient names of an eval set: ``a_<domain>``, then per eps ``c_<domain>`` and (where its groups are used)
    ``d_<group>``; with several eps (an average of pairs) numbered ``c1_``, ``c2_``, ... in eps order."""
    tag = [""] if len(use) == 1 else [str(k + 1) for k in range(len(use))]
    return ([f"a_{d}" for d in domains] + [f"c{k}_{d}" for k in tag for d in domains]
            + [f"d{k}_{g}" for k, u in zip(tag, use, strict=True) if u for g in groups])


def _union_features(W: np.ndarray, eps: Sequence[float], use: Sequence[bool], G: np.ndarray) -> np.ndarray:
    """[r_j, log(r_j + eps_k) for each eps, log(G r + eps_k) for each eps whose groups are used] (the order of
    :func:`_names`; for one eps, :func:`_features`)."""
    F = [W] + [np.log(W + e) for e in eps]
    F += [np.log(W @ G + e) for e, u in zip(eps, use, strict=True) if u and G.shape[1]]
    return np.hstack(F)


def _group_matrix(domains: list[str], groups: Mapping[str, list[str]]) -> np.ndarray:
    G = np.zeros((len(domains), len(groups)))
    for g, members in enumerate(groups.values()):
        for d in members:
            G[domains.index(d), g] = 1.0
    return G


def _features(W: np.ndarray, eps: float, G: np.ndarray | None) -> np.ndarray:
    """[r_j, log(r_j + eps)] and, with a group matrix, log(sum of the group's shares + eps)."""
    F = [W, np.log(W + eps)]
    if G is not None and G.shape[1]:
        F.append(np.log(W @ G + eps))
    return np.hstack(F)


def _ridge_loo(F: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, float, float, float, float]:
    r"""Ridge least squares of ``z`` on the standardised columns of ``F`` with an unpenalised intercept, its
    strength the one of :data:`~mixlaw.laws.linear.LOO_GRID` (times the largest eigenvalue of the standardised
    :math:`X^T X`) with the lowest leave-one-out error: with the thin SVD :math:`X = U S V^T` of the centred,
    standardised features, :math:`H = 11^T / n + U \operatorname{diag}(s^2 / (s^2 + \lambda)) U^T` and run i's
    leave-one-out residual is :math:`(z_i - \hat z_i) / (1 - H_{ii})` (the runs of a repeated mixture are left out
    together: :func:`~mixlaw.laws.linear.loo_residuals`). A strength counts where every run keeps a
    residual and the fit a degree of freedom (:math:`\operatorname{tr} H \le n - 1`).

    Returns the coefficients of the unstandardised columns (0 for a column no run varies), the intercept, the
    relative strength, :math:`\operatorname{tr} H` and the mean squared leave-one-out residual (inf where no
    strength counts)."""
    n, p = F.shape
    m, sd = F.mean(axis=0), F.std(axis=0)
    live = sd > 1e-12
    X = (F[:, live] - m[live]) / sd[live]
    zc = z - z.mean()
    U, sv, Vt = np.linalg.svd(X, full_matrices=False)
    keep = sv > sv.max() * RANK_RCOND if sv.size else np.zeros(0, dtype=bool)
    U, sv, Vt = U[:, keep], sv[keep], Vt[keep]
    s2 = sv ** 2
    if not s2.size:  # no column varies (every run one mixture): nothing to shrink, and no run can be left out
        return np.zeros(p), float(z.mean()), float("nan"), 1.0, float("inf")  # tr H of the intercept alone
    scan = loo_scan(U, s2, zc, mixture_groups(F), [g * float(s2.max()) for g in LOO_GRID], base=1.0 / n,
                    fixed_dof=1.0)
    k = min(range(len(scan)), key=lambda i: scan[i][0])  # ties keep the weaker ridge, the earlier strength
    score, dof = scan[k]
    b = np.zeros(p)
    if not np.isfinite(score):
        return b, float(z.mean()), 0.0, float("nan"), score
    b[live] = (Vt.T @ (sv / (s2 + LOO_GRID[k] * float(s2.max())) * (U.T @ zc))) / sd[live]
    return b, float(z.mean() - m @ b), float(LOO_GRID[k]), dof, score


def _huber_average(F: np.ndarray, Z: np.ndarray, alphas: list[float], huber_epsilon: float,
                   rows: list[np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Huber fits of every column of Z on standardised F, one per strength, averaged; one batched solve.

    ``rows``: boolean masks of the fitting rows of each fold (default: one fold of all rows); each fold is
    standardised on its own rows. Returns, per fold and column of Z, the coefficients of (unstandardised) F
    (folds, K, p), the intercept (folds, K), the scale (folds, K; mean over the strengths) and whether every
    strength's fit converged (folds, K).
    """
    rows = [np.ones(len(F), dtype=bool)] if rows is None else rows
    nf, K, A, p = len(rows), Z.shape[1], len(alphas), F.shape[1]
    m, s = np.empty((nf, p)), np.empty((nf, p))
    for f, r in enumerate(rows):
        m[f], s[f] = F[r].mean(axis=0), F[r].std(axis=0)
    live = s > 1e-12  # a feature no fitting run varies (a domain absent everywhere): its coefficient stays 0
    s = np.where(live, s, 1.0)
    X = np.where(live[:, None, :], (F[None] - m[:, None, :]) / s[:, None, :], 0.0)
    # Problems ordered (fold, strength, column).
    Xb = np.broadcast_to(X[:, None, None], (nf, A, K, *F.shape)).reshape(-1, *F.shape)
    zb = np.broadcast_to(Z.T[None, None], (nf, A, K, len(F))).reshape(-1, len(F))
    wb = np.broadcast_to(np.asarray(rows, dtype=np.float64)[:, None, None], (nf, A, K, len(F))).reshape(-1, len(F))
    ab = np.broadcast_to(np.asarray(alphas, dtype=np.float64)[None, :, None], (nf, A, K)).reshape(-1)
    c, i0, sc, ok = _huber.huber_batch(Xb, zb, wb, ab, huber_epsilon)
    c = np.where(live[:, None, None, :], c.reshape(nf, A, K, p), 0.0) / s[:, None, None, :]
    icpt = i0.reshape(nf, A, K) - np.einsum("fakp,fp->fak", c, m)
    return (c.mean(axis=1), icpt.mean(axis=1), sc.reshape(nf, A, K).mean(axis=1),
            ok.reshape(nf, A, K).all(axis=1))

__all__ = ["LogLinearSat", "name_groups"]
