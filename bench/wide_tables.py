"""Tables of many domains and few runs: the leave-one-out ridges of linear / loglinear and of loglinear-sat.

Before 2026-12-06 a table with no more runs than a law's coefficients per eval set was refused by every law but
lightgbm ("too few to fit"), and ``mixlaw fit`` stopped with "no candidate law can be cross-validated" on 50
domains x 30 runs. Now ``linear`` / ``loglinear`` choose a ridge by closed-form leave-one-out (``alpha="cv"``,
the default) and ``loglinear-sat`` fits ridge least squares on its features where it has no more runs than 2M
features. This bench prints, on seeded synthetic worlds (Dirichlet(0.5) mixtures, 1 % noise; "exp": Ye's
exponential law ``2 + exp(0.5 t.r)``, "sat": saturating returns ``2 + exp(-0.05 sum_j |t_j| log(r_j + 0.01))``),
the held-out Spearman over 300 new mixtures of:

- ``loglinear`` with ``alpha=0`` (the plain baseline; "-" where it cannot fit) and with ``alpha="cv"``;
- ``loglinear-sat`` by its Huber fit and by its ridge path, each forced (``--boundary``: around n = 2M, where the
  law switches from one to the other), and as the law chooses.

Usage: python bench/wide_tables.py [--seeds 6] [--boundary]

Measured 2026-12-06 (``--boundary``, 38 s on 2 busy cores), mean over 6 seeds::

    world     M    n   loglinear a=0    a=cv   loglinear-sat
    exp      20   30     0.986         0.985     0.963
    exp      24   40     0.983         0.983     0.963
    exp      30   40     0.979         0.979     0.958
    exp      50   30         -         0.736     0.633
    exp     100   40         -         0.641     0.594
    sat      20   30     0.480         0.573     0.864
    sat      24   40     0.528         0.508     0.897
    sat      30   40     0.517         0.604     0.819
    sat      50   30         -         0.523     0.584
    sat     100   40         -         0.464     0.497

    loglinear-sat at the switch (M = 20; half the seeds exp, half sat): Huber / ridge forced
      n =  1.1 x 2M =  44   Huber 0.979   ridge 0.975
      n = 1.25 x 2M =  50   Huber 0.983   ridge 0.985
      n =  1.5 x 2M =  60   Huber 0.988   ridge 0.991
      n =  2.0 x 2M =  80   Huber 0.992   ridge 0.993
      n =  3.0 x 2M = 120   Huber 0.994   ridge 0.994

Where no law of the two fitted before ("-", and loglinear-sat everywhere here: n <= 2M), both now rank the new
mixtures well above chance; with saturating returns loglinear-sat's ridge is far ahead, with exponential ones the
log-linear ridge, and a CV (``--law auto`` / ``stack``) tells them apart on the user's runs.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from scipy.stats import spearmanr

from mixlaw.errors import TooFewObservationsError
from mixlaw.laws import get_law
from mixlaw.laws import loglinear_sat as ls

SHAPES = [(20, 30), (24, 40), (30, 40), (50, 30), (100, 40)]
N_TEST = 300


def world(n_domains: int, n_runs: int, kind: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.full(n_domains, 0.5), size=n_runs + N_TEST)
    t = rng.normal(0.0, 1.0, n_domains)
    noise = 1 + rng.normal(0.0, 0.01, len(W))
    if kind == "exp":
        return W, 2.0 + np.exp(0.5 * W @ t) * noise
    return W, 2.0 + np.exp(-0.05 * np.log(W + 0.01) @ np.abs(t)) * noise


def held_out(law_key: str, W: np.ndarray, y: np.ndarray, n: int, path: str | None = None, **opts) -> float:
    """Held-out Spearman of ``law_key`` fitted on the first n runs; nan where it cannot fit. ``path``: force
    loglinear-sat's "huber" or "ridge" fit."""
    law = get_law(law_key, **opts)
    if path is not None:
        def fit(self, W_, Y_, ctx, _orig=ls.LogLinearSat._fit):
            if path == "huber":  # the law's own fit: Huber above 2M runs, the only place --boundary forces it
                return _orig(self, W_, Y_, ctx)
            self._row_shares = False
            self.groups_ = self._resolve_groups(ctx.domains)
            self.dof_, self.ridge_ = {}, {}
            return self._fit_ridge(W_, np.log(Y_), ls._group_matrix(ctx.domains, self.groups_), self._configs(),
                                   ctx)
        law._fit = fit.__get__(law)  # type: ignore[method-assign]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            law.fit(W[:n], y[:n])
            return float(spearmanr(np.ravel(law.predict(W[n:])), y[n:]).statistic)
    except TooFewObservationsError:
        return float("nan")


def cell(x: float) -> str:
    return "      -" if not np.isfinite(x) else f"{x:7.3f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--boundary", action="store_true", help="also 20 domains at n = 1.1-3 x 2M, both paths forced")
    args = ap.parse_args()
    print(f"held-out Spearman over {N_TEST} new mixtures, mean over {args.seeds} seeds ('-': cannot fit)")
    print(f"{'world':<6}{'M':>5}{'n':>5}   loglinear a=0    a=cv   loglinear-sat")
    for kind in ("exp", "sat"):
        for M, n in SHAPES:
            r = np.array([[held_out("loglinear", *world(M, n, kind, s), n, alpha=0.0),
                           held_out("loglinear", *world(M, n, kind, s), n),
                           held_out("loglinear-sat", *world(M, n, kind, s), n)] for s in range(args.seeds)])
            m = [float(np.mean(c)) if np.all(np.isfinite(c)) else float("nan") for c in r.T]
            print(f"{kind:<6}{M:>5}{n:>5}   {cell(m[0])}       {cell(m[1])}   {cell(m[2])}")
    if args.boundary:
        M = 20
        print(f"\nloglinear-sat at the switch (M = {M}; half the seeds exp, half sat): Huber / ridge forced")
        for ratio in (1.1, 1.25, 1.5, 2.0, 3.0):
            n = int(ratio * 2 * M)
            r = np.array([[held_out("loglinear-sat", *world(M, n, ("exp", "sat")[s % 2], 100 + s), n, path=p)
                           for p in ("huber", "ridge")] for s in range(args.seeds)])
            print(f"  n = {ratio:4} x 2M = {n:3}   Huber {np.mean(r[:, 0]):.3f}   ridge {np.mean(r[:, 1]):.3f}")


if __name__ == "__main__":
    main()
