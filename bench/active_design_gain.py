"""Does active design pay? Runs proposed by ``active_design`` vs as many random runs, on known Ye worlds.

Per world: a two-eval Ye law whose evals pull toward different domains (so the mean loss has an interior
optimum), ``--pilots`` Dirichlet(1) pilot runs with ``--noise`` log-normal noise, and ``--k`` new runs chosen
three ways:

- active: :func:`mixlaw.design.active_design` (bootstrap committee near the predicted optimum);
- dirichlet: Dirichlet(1) draws over the whole simplex (``--reps`` draws, each with its own noise);
- local: random draws in the same neighbourhood of the predicted optimum that active design searches.

The law is refitted on pilots + new runs and scored against the noiseless truth: ``e_opt`` = |predicted -
true| mean loss at the refitted optimum, ``e_near`` = mean |predicted - true| over 200 mixtures within L1
0.25 of the true optimum, ``regret`` = true loss at the refitted optimum minus the true optimum. Each world
averages ``--reps`` noise draws (one draw per world is too noisy to compare). Printed: means, the ratio
active / other, the share of worlds where active wins, and a paired t statistic.

    python bench/active_design_gain.py [--domains 3] [--pilots 10] [--k 4] [--worlds 20] [--reps 4] [--radius 0.25]
        [--within-fitted-range]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from mixlaw.data import RunTable
from mixlaw.design import ACTIVE_RADIUS, active_design
from mixlaw.errors import MixlawWarning
from mixlaw.laws import YeExponential
from mixlaw.optimize import optimize_mixture


def world(seed: int, m: int):
    rng = np.random.default_rng(200 + seed)
    T = rng.uniform(-1.5, 1.5, size=(2, m))
    T[:, 0] = 0.0
    T[0, 1], T[0, 2], T[1, 1], T[1, 2] = -2.5, 1.0, 1.0, -2.5
    c, k = rng.uniform(1.5, 2.5, 2), rng.uniform(0.5, 1.5, 2)
    return rng, (lambda W: c + k * np.exp(np.atleast_2d(W) @ T.T))


def table(W: np.ndarray, L: np.ndarray) -> RunTable:
    frame = pd.DataFrame({"run": [f"p{i}" for i in range(len(W))]})
    for j in range(W.shape[1]):
        frame[f"w:d{j}"] = W[:, j]
    frame["loss:x"], frame["loss:y"] = L[:, 0], L[:, 1]
    return RunTable(frame)


def near(r: np.ndarray, n: int, radius: float, rng: np.random.Generator) -> np.ndarray:
    """n mixtures at L1 distance ~U(0, radius) from r toward Dirichlet(1) points (as active_design draws)."""
    U = rng.dirichlet(np.ones(r.size), n)
    lam = np.minimum(1.0, radius * rng.random(n) / np.abs(U - r).sum(axis=1))
    return r + lam[:, None] * (U - r)


def law() -> YeExponential:
    return YeExponential(n_restarts=2)  # the data-driven start finds these fits; 2 starts keep it fast


def score(W, L, truth, r_true, rng) -> tuple[float, float, float]:
    fitted = law().fit(table(W, L))
    opt = optimize_mixture(fitted)
    r = opt.weight_array()
    e_opt = abs(opt.objective - float(truth(r).mean()))
    P = near(r_true, 200, 0.25, rng)
    e_near = float(np.mean(np.abs(fitted.predict(P).mean(axis=1) - truth(P).mean(axis=1))))
    return e_opt, e_near, float(truth(r).mean() - truth(r_true).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--domains", type=int, default=3)
    ap.add_argument("--pilots", type=int, default=10)
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--worlds", type=int, default=20)
    ap.add_argument("--reps", type=int, default=4)
    ap.add_argument("--noise", type=float, default=0.01)
    ap.add_argument("--radius", type=float, default=ACTIVE_RADIUS, help="active_design's search radius (L1)")
    ap.add_argument("--within-fitted-range", action="store_true",
                    help="active_design(within_fitted_range=True): the optimum stays in the pilots' weight ranges")
    args = ap.parse_args()
    warnings.simplefilter("ignore", MixlawWarning)
    m, t0 = args.domains, time.perf_counter()
    res: dict[str, list[np.ndarray]] = {"active": [], "dirichlet": [], "local": []}
    for seed in range(args.worlds):
        rng, truth = world(seed, m)
        W = rng.dirichlet(np.ones(m), args.pilots)
        L = truth(W) * np.exp(args.noise * rng.standard_normal((args.pilots, 2)))
        dense = np.random.default_rng(0).dirichlet(np.ones(m), 400)
        r_true = optimize_mixture(law().fit(dense, truth(dense))).weight_array()
        design = active_design(table(W, L), args.k, law=law(), n_candidates=1000, n_jobs=1, random_state=seed,
                               radius=args.radius, within_fitted_range=args.within_fitted_range)
        Wa = design[[f"w:d{j}" for j in range(m)]].to_numpy()
        r_hat = np.array(list(design.attrs["optimum"]["weights"].values()))
        per: dict[str, list[tuple[float, float, float]]] = {name: [] for name in res}
        for _ in range(args.reps):
            eps = args.noise * rng.standard_normal((args.k, 2))  # the same noise for every method in a draw
            for name, Wn in (("active", Wa), ("dirichlet", rng.dirichlet(np.ones(m), args.k)),
                             ("local", near(r_hat, args.k, args.radius, rng))):
                per[name].append(score(np.vstack([W, Wn]), np.vstack([L, truth(Wn) * np.exp(eps)]), truth, r_true,
                                       np.random.default_rng(seed)))
        for name in res:
            res[name].append(np.mean(per[name], axis=0))
    arr = {name: np.array(v) for name, v in res.items()}
    print(f"{m} domains, {args.pilots} pilots, k={args.k}, {args.worlds} worlds x {args.reps} draws, noise "
          f"{args.noise:g}, radius {args.radius:g}: {time.perf_counter() - t0:.0f} s")
    print(f"{'metric':<8} {'active':>9} {'dirichlet':>9} {'ratio':>6} {'wins':>5} {'t':>6}   "
          f"{'local':>9} {'ratio':>6} {'wins':>5} {'t':>6}")
    for j, metric in enumerate(("e_opt", "e_near", "regret")):
        a = arr["active"][:, j]
        line = f"{metric:<8} {a.mean():>9.5f}"
        for other in ("dirichlet", "local"):
            x = arr[other][:, j]
            d = a - x
            t = d.mean() / (d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 and d.std() > 0 else float("nan")
            line += f" {x.mean():>9.5f} {a.mean() / x.mean():>6.3f} {np.mean(d < 0):>5.2f} {t:>6.2f}  "
        print(line)


if __name__ == "__main__":
    main()
