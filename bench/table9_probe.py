"""Fast probe of one Marin Delphi metric: the outer 5-fold CV of bench/marin_delphi.py (shuffled, seed 0), for a
few laws and for cheap reference regressions, in seconds instead of the full bench's quarter hour.

Why (issue 10, table9_obj below its 0.90 CV goal): to try a law on table9_obj before paying for the full nested
bench. Reference regressions (``--probes``), all on log L with a Huber loss (sklearn's HuberRegressor, epsilon
1.35, standardised features; ``alpha`` its L2 strength):

- ``rlogr``: features [r_j, r_j log r_j]. ye-pow's fit on table9_obj reduces to this: on all 280 runs it sits
  on its bounds (c = 0, log k = 29.8, every t_j near -29.5, every gamma_j in 0.98-1.01), where
  exp(log k + sum_j t_j r_j^gamma_j) ~ exp(b + sum_j a_j r_j + sum_j b_j r_j log r_j) (first order in
  gamma - 1, sum_j r_j = 1). Same CV Spearman as ye-pow, as a convex fit.
- ``rlog``: features [r_j, log(r_j + eps)], a saturating term per domain.
- ``rlog+krr``: ``rlog`` plus RBF kernel ridge on its residuals (alpha, gamma by inner 5-fold grid search): is
  there structure across domains that a separable law misses?

Measured 2026-12-03 (table9_obj, mean Spearman over the 5 outer folds; ``--law`` rows fitted by mixlaw on the one
metric, so ye-pow reads 0.885 here against 0.887 fitted jointly with the other 8 in the full bench):
ye-pow 0.885 (gamma_pooling 0.1: 0.878, 10: 0.876, 1e4: 0.791; alpha="cv": 0.863; loss mse: 0.840; huber_delta
3e-4 / 3e-3 / 1e-2: 0.884 / 0.882 / 0.872; 10 bags of 80 % subsamples: 0.880), rlogr 0.885-0.888 (alpha
1e-4-10), rlog 0.890 (eps 0.02, alpha 10; eps 0.05-0.2 0.86-0.88), rlog+krr 0.891, ridge on [sqrt r, log(r +
1e-3)] 0.839, Gaussian process (ARD RBF + linear on sqrt r) 0.769. Every separable form plateaus near 0.89, and
kernel ridge, a quadratic ridge or LightGBM on the out-of-fold residuals add nothing (0.890 -> 0.891 / 0.890 /
0.878): the remaining error (residual MAD 0.016 against the near-proportional controls' 0.006) is not found by
these learners on 224 runs. The three largest misses (runs 171, 8, 87: true 1.25-1.31, predicted 1.41-1.49) are
the runs with the most dolmino_synth_instruction (0.135-0.148); leaving them out moves the CV by < 0.002.
Implicit aggregation does not help either: L = sum_k exp(u_k + a_k . [r, log(r + 0.02)]) fitted by soft-L1 least
squares on log L (not in this script) gives 0.887 with one component and 0.597 / 0.703 / 0.827 with two at ridge
1e-4 / 1e-2 / 1e-1 on the a_k (157 parameters on 224 runs: overfitting).

Added 2026-12-03 (second session): ``--law loglinear-sat``, the ``rlog`` probe as a law (mixlaw.laws.loglinear_sat:
Huber fits averaged over alpha 10/30/100 instead of one alpha, eps and name groups chosen per eval set by inner
5-fold CV): 0.8934 with its defaults, 0.8915 at eps 0.02 without groups. Choosing (eps, alpha) from a 4 x 6 grid
by inner CV (pooled or per-fold Spearman, MSE, mean |log error|, the selection score S) scored only 0.872-0.884,
and ridge (squared loss) on the same features 0.855-0.866: averaging strengths and a robust loss matter more
than the grid. Extra log-share terms: log of a group's total share (domains whose names differ only in the last
``_suffix``, e.g. a topic's high and low tiers) 0.896 at eps 0.02 (0.899 with eps by inner CV); [r, log(r+eps),
sqrt r] 0.879-0.887; hand-made groups of the 13 Common Crawl topics only, averaged over eps 0.01/0.02/0.05 and
the 3 strengths, 0.899 (seen on these folds, so not a candidate); three eps at once 0.858-0.889; pairwise
products of 6 source groups 0.863-0.888. Averaging ye-pow's and loglinear-sat's log predictions 0.889-0.900.
The true unch_* losses themselves, as regressors of table9_obj, give only 0.856.

Added 2026-12-03 (third session): ye-pow's exponent in Box-Cox form, so that the log-linear limit it runs to is an
interior point: L = c + exp(sum_j a_j r_j + sum_j b_j r_j (r_j^delta - 1) / delta) (delta -> 0: r_j log r_j;
t_j r_j^(1 + delta) is the case a_j = t_j, b_j = t_j delta), fitted by mixlaw's Huber Levenberg-Marquardt as ye-pow
is (a prototype law, not kept). One delta per eval set (2M + 2 parameters, as ye-pow): 0.844 with c free (c
moves to 0.76-1.15 across folds, near min L = 1.11: the excess loss then fits noise), 0.882 with c = 0 (delta
0.003-0.21), 0.8845 with c = 0 and delta = 0 (the ``rlogr`` limit as an interior fit), 0.879 with alpha="cv" on
the b; one delta per domain (3M + 1 = 118 parameters, more than auto's 2 runs per parameter allow on 224 runs):
0.850 with c = 0, 0.870 with c free; ye-pow 0.8850 in the same run. So ye-pow's bounds (c = 0 and log k 29.8,
t_dolma3_wikipedia at -30; every gamma 0.98-1.01) cost it nothing on table9_obj: the same limit fitted in the
interior ranks the same, and the extra freedom overfits. ye-pow is left as it is.

Added 2026-12-04 (issue 10, ideas from the multi-task / compositional / name-smoothing list; scratch prototypes
on the same folds, Huber fits of log L averaged over alpha 10/30/100 on standardised [r, log(r + 0.02)]: 0.8916
at seed 0, 0.9067 / 0.8989 at seeds 1 / 2 of the outer shuffle; loglinear-sat 0.8934 / 0.9035 / 0.8968):
- Multi-task reduced rank: the 9 metrics' coefficient matrix (Huber per metric, metrics scaled by their std)
  cut to rank k by the SVD of the fitted values (reduced-rank regression): k = 1-6: 0.748 / 0.851 / 0.850 /
  0.866 / 0.887 / 0.891, k = 9 (none) 0.8916. The metrics share too little of table9_obj's profile to denoise it
  (as the true unch_* losses, 0.856 as regressors, already said).
- Smoothing coefficients along the bucket names: every prefix of the name's '/'- and '_'-tokens shared by 2+
  buckets is a group (17: dolma3, dolma3_cc, dolma3_cc/<topic>, dolmino, dolmino_synth, ...); features
  tau * (sum of the group's standardised columns) added, i.e. a ridge prior b_j = b_j' + tau sum_g b_g:
  tau 0.25 / 0.5 / 1 / 2 / 4: 0.8925 / 0.8932 / 0.8944 / 0.8944 / 0.8939 (seed 0), tau 1 at seeds 1 / 2 0.9074
  / 0.8987 (+0.0007 / -0.0002); with the last token as a group too (high / low tiers) 0.8923-0.8940; with
  loglinear-sat's log group shares 0.889-0.893. Not robust (within the seeds' noise), and it costs
  unch_github_python about 0.02 (with the GP below, tau 1: 0.878 / 0.887 / 0.888 at seeds 0 / 1 / 2 against
  0.897 / 0.905 / 0.904 without the smoothing).
- Loss / target: Huber threshold 1.1 / 1.35 / 1.7 / 2.5: 0.8875 / 0.8916 / 0.8887 / 0.8781; log(L - c) with c =
  0.3 / 0.6 / 0.8 of the fold's min L: 0.8908 / 0.8899 / 0.8850; 1/L 0.8923; L itself 0.861.
- Gaussian process on the residuals (``--gp``; RBF on the shares + white noise, marginal likelihood): the one
  gain that holds on every seed, loglinear-sat+gp 0.8990 / 0.9097 / 0.8988 (+0.0056 / +0.0062 / +0.0020), rlog
  (alpha 10) 0.8902 -> 0.8964, 0.9062 -> 0.9135, 0.8933 -> 0.8976; uncheatable_obj unchanged (0.9588 -> 0.9598,
  0.9535 -> 0.9532, 0.9497 -> 0.9502), unch_github_python unchanged (0.8968 -> 0.8973). Inputs: the shares
  best; on loglinear-sat, Matern 1/2 / 5/2, rational quadratic 0.894-0.898, RBF on sqrt r 0.8974, on the clr
  of r + 0.01 0.8966; on the alpha-averaged Huber fit, clr of r + 0.02 / 0.1 / 0.3 / 1 0.8947 / 0.8970 / 0.8970
  / 0.8973 (the shares 0.8973 too); residuals cross-fitted by inner 5-fold CV instead of in-sample
  0.8984; on the average of ye-pow's and loglinear-sat's log predictions 0.8913 -> 0.8983, 0.9105 -> 0.9146,
  0.9003 -> 0.9011; one GP for everything (linear kernel on the standardised [r, log(r + 0.02)] + RBF + white,
  squared loss) 0.857 / 0.832 / 0.857; loglinear-sat with groups "names" always (not by inner CV) 0.8977 /
  0.8923 / 0.8908, +gp 0.9028 / 0.8997 / 0.8962 (seed 0's best is the other seeds' worst: noise).
  Still below 0.90 at seed 0, so not a law yet; the best lead for the next session (a loglinear-sat option,
  with the GP's state saved).
Commands: ``python bench/table9_probe.py --law loglinear-sat --probes rlog --gp --seeds 0,1,2`` (70 s).

Usage: python bench/table9_probe.py [--metric table9_obj] [--law ye-pow --law 'ye-pow:{"gamma_pooling": 10}']
       [--probes rlogr,rlog,rlog+krr] [--eps 0.02] [--alpha 10] [--gp] [--seeds 0,1,2]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from collections.abc import Callable

import numpy as np
from scipy import stats
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import HuberRegressor
from sklearn.model_selection import GridSearchCV

from mixlaw.datasets import load_marin_delphi
from mixlaw.laws import get_law

Fit = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def outer_folds(n: int, k: int = 5, seed: int = 0) -> np.ndarray:
    """The folds of bench/marin_delphi.py: a seeded shuffle dealt into k folds."""
    f = np.empty(n, dtype=int)
    f[np.random.default_rng(seed).permutation(n)] = np.arange(n) % k
    return f


def xlogx(W: np.ndarray) -> np.ndarray:
    return np.where(W > 0, W * np.log(np.where(W > 0, W, 1.0)), 0.0)


def huber_log(features: Callable[[np.ndarray], np.ndarray], alpha: float, krr: bool = False) -> Fit:
    """Huber regression of log L on standardised ``features(W)``; with ``krr``, RBF kernel ridge on its residuals."""

    def fit(Wt: np.ndarray, yt: np.ndarray, Wv: np.ndarray) -> np.ndarray:
        Ft, Fv = features(Wt), features(Wv)
        m, s = Ft.mean(axis=0), Ft.std(axis=0) + 1e-12
        h = HuberRegressor(epsilon=1.35, alpha=alpha, max_iter=5000).fit((Ft - m) / s, np.log(yt))
        z = h.predict((Fv - m) / s)
        if krr:
            res = np.log(yt) - h.predict((Ft - m) / s)
            grid = {"alpha": np.logspace(-3, 1, 5), "gamma": np.logspace(-1, 2, 4)}
            g = GridSearchCV(KernelRidge(kernel="rbf"), grid, cv=5).fit(np.sqrt(Wt), res)
            z = z + g.predict(np.sqrt(Wv))
        return np.exp(z)

    return fit


def gp_residual(base: Fit) -> Fit:
    """``base`` plus a Gaussian process on its in-sample log residuals.

    Kernel: constant x RBF (one length scale) on the shares + white noise, hyperparameters by marginal
    likelihood (3 starts); the shares are divided by their overall std so that the start length scale fits.
    """

    def fit(Wt: np.ndarray, yt: np.ndarray, Wv: np.ndarray) -> np.ndarray:
        P = np.log(base(Wt, yt, np.vstack([Wt, Wv])))
        res, sc = np.log(yt) - P[: len(Wt)], Wt.std()
        kernel = ConstantKernel(1e-4) * RBF(10.0) + WhiteKernel(1e-4)
        g = GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=2, random_state=0)
        return np.exp(P[len(Wt):] + g.fit(Wt / sc, res).predict(Wv / sc))

    return fit


def law_fit(key: str, options: dict, domains: list[str], metric: str) -> Fit:
    def fit(Wt: np.ndarray, yt: np.ndarray, Wv: np.ndarray) -> np.ndarray:
        law = get_law(key, random_state=0, **options).fit(Wt, yt[:, None], domains=domains, targets=[metric])
        return np.asarray(law.predict(Wv), dtype=np.float64).ravel()

    return fit


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--metric", default="table9_obj")
    ap.add_argument("--law", action="append", default=[], help="law key, or key:{json options}; repeatable")
    ap.add_argument("--probes", default="rlogr,rlog", help="reference regressions (rlogr, rlog, rlog+krr; '' none)")
    ap.add_argument("--eps", type=float, default=0.02, help="offset of log(r + eps) in rlog")
    ap.add_argument("--alpha", type=float, default=10.0, help="HuberRegressor's L2 strength")
    ap.add_argument("--gp", action="store_true", help="also every candidate plus a GP on its residuals ('+gp' rows)")
    ap.add_argument("--seeds", default="0", help="seeds of the outer shuffle, comma-separated (one row each)")
    args = ap.parse_args()
    table = load_marin_delphi()
    W, y = table.weights, table.losses([args.metric])[:, 0]
    cands: dict[str, Fit] = {}
    for spec in args.law:
        key, _, opts = spec.partition(":")
        cands[spec] = law_fit(key, json.loads(opts) if opts else {}, table.domains, args.metric)
    feats = {"rlogr": lambda A: np.hstack([A, xlogx(A)]),
             "rlog": lambda A: np.hstack([A, np.log(A + args.eps)])}
    for p in filter(None, args.probes.split(",")):
        base, krr = p.removesuffix("+krr"), p.endswith("+krr")
        cands[p] = huber_log(feats[base], args.alpha, krr)
    if args.gp:
        cands |= {f"{name}+gp": gp_residual(fit) for name, fit in cands.items()}
    seeds = [int(v) for v in args.seeds.split(",")]
    print(f"{args.metric}: 5-fold CV (shuffled, seed(s) {args.seeds}) on {len(y)} runs; mean ± std Spearman over "
          "folds, pooled RMSE")
    for name, fit in cands.items():
        for seed in seeds:
            fid = outer_folds(len(y), seed=seed)
            t0, P, rho = time.perf_counter(), np.empty_like(y), []
            for f in range(5):
                te = fid == f
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    P[te] = fit(W[~te], y[~te], W[te])
                rho.append(stats.spearmanr(y[te], P[te]).statistic)
            label = name if len(seeds) == 1 else f"{name} (seed {seed})"
            print(f"{label:<40}{np.mean(rho):>8.4f} ± {np.std(rho):.3f}  RMSE {np.sqrt(np.mean((P - y) ** 2)):.4f}"
                  f"  {time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
