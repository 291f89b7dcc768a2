"""Cross-scale check of the pipeline (issue 4): predict the largest model's final losses from smaller runs.

Protocol: the run table holds the same mixtures trained at four model sizes with several checkpoints each
(bench/data/crossscale_runs.csv, written by ``python bench/make_crossscale_runs.py`` with mixlaw's trainer).
The pipeline is fitted on the three smallest sizes using only checkpoints up to a third of each run's steps,
and predicts every mixture's per-domain loss at the largest size's final step. Printed side by side, as MRE
(mean |pred / true - 1| over mixtures and eval sets, and per eval set):

- nested: Ye's step -> size pipeline, each mixture's own stage-2 extrapolation;
- nested (law): the same through the fitted mixing law (what the optimiser sees);
- direct: the joint law E + A/N^alpha + B/S^beta + k exp(t.r) on all checkpoints (or dz-eq1 with --direct-law);
- naive: the next-smaller size's loss at its final step (it saw all its steps; the pipeline saw a third);
- naive (1/3 steps): the next-smaller size's loss at the last checkpoint the pipeline saw.

Goal (issue 4): MRE <= 1 %, both routes better than naive.

Usage::

    python bench/pipeline_crossscale.py [--runs bench/data/crossscale_runs.csv] [--synthetic]

``--synthetic`` runs the same protocol on a synthetic world (tests/test_pipeline.py's joint law, 0.3 % noise)
when the real runs are not there yet.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from mixlaw.data import RunTable, read_runs
from mixlaw.errors import MixlawWarning
from mixlaw.pipeline import fit_pipeline

DEFAULT = Path(__file__).resolve().parent / "data" / "crossscale_runs.csv"


def synthetic_world(noise: float = 3e-3, n_mix: int = 16, seed: int = 0) -> RunTable:
    """The joint law of tests/test_pipeline.py at 4 sizes x 12 checkpoints, with relative noise."""
    E, A, alpha = np.array([1.9, 1.2, 1.5]), np.array([300.0, 200.0, 250.0]), 0.32
    B, beta, K = np.array([30.0, 20.0, 25.0]), 0.45, np.array([0.5, 0.4, 0.45])
    T = np.array([[-1.5, 0.3, 0.2], [0.4, -2.0, 0.1], [0.3, -0.2, -1.8]])
    doms = ["web", "code", "math"]
    rng = np.random.default_rng(seed)
    rows = []
    for m, w in enumerate(rng.dirichlet(np.ones(3), size=n_mix)):
        for N in (2e6, 4e6, 8e6, 1.6e7):
            for S in np.linspace(250, 3000, 12):
                y = (E + A / N ** alpha + B / S ** beta + K * np.exp(T @ w)) * (1 + noise * rng.standard_normal(3))
                rows.append({"run": f"m{m}-N{N:g}", "params": N, "step": S,
                             **{f"w:{d}": w[j] for j, d in enumerate(doms)},
                             **{f"loss:{d}": y[j] for j, d in enumerate(doms)}})
    return RunTable(pd.DataFrame(rows))


def _key(W: np.ndarray) -> list[tuple[float, ...]]:
    return [tuple(r) for r in np.round(W, 9)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", default=str(DEFAULT))
    ap.add_argument("--synthetic", action="store_true", help="use a synthetic world instead of --runs")
    ap.add_argument("--law", default="ye-exp", help="mixing law of the nested route")
    ap.add_argument("--direct-law", default="ye-exp", help="ye-exp: joint law; dz-eq1: DZ's law with N as input")
    ap.add_argument("--fraction", type=float, default=1 / 3, help="fraction of each run's steps the fit may see")
    args = ap.parse_args(argv)
    if args.synthetic:
        table, source = synthetic_world(), "synthetic world (0.3 % noise)"
    else:
        if not Path(args.runs).exists():
            print(f"{args.runs} not found. Make it with the built-in trainer (four tiny sizes, several checkpoints "
                  "per run):\n    python bench/make_crossscale_runs.py\nor run this bench with --synthetic.")
            return 1
        table, source = read_runs(args.runs), args.runs
    N, S = table.model_params, table.steps
    if N is None or S is None:
        print(f"{source}: needs 'params' and 'step' columns")
        return 1
    sizes = np.unique(N)
    if sizes.size < 4:
        print(f"{source}: needs 4 model sizes, has {sizes.size}")
        return 1
    small, large, prev = sizes[-4:-1], sizes[-1], sizes[-2]
    runs = table.runs
    final_step = {r: S[runs == r].max() for r in np.unique(runs)}
    run_final = np.array([final_step[r] for r in runs])
    fit_rows = np.isin(N, small) & (S <= args.fraction * run_final + 1e-9)
    fit_table = table.subset(fit_rows)
    # Truth: the largest size's final checkpoint of each mixture.
    big = np.flatnonzero((N == large) & (S == run_final))
    target_steps = float(S[big].max())
    Wt, Yt = table.weights[big], table.losses("all")[big]
    evals = table.evals
    print(f"source: {source}")
    print(f"sizes: fit on {', '.join(f'{v:g}' for v in small)} (steps <= {args.fraction:.3g} of each run: "
          f"{fit_rows.sum()} rows); predict N = {large:g} at step {target_steps:g} ({len(big)} mixtures, "
          f"{len(evals)} evals)\n")

    preds: dict[str, np.ndarray] = {}
    timing: dict[str, float] = {}
    notes: list[str] = []
    for route, law in (("nested", args.law), ("direct", args.direct_law)):
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", MixlawWarning)
            try:
                res = fit_pipeline(fit_table, target_params=large, target_steps=target_steps, route=route, law=law)
            except Exception as err:  # report the failure in the table, keep the other rows
                notes.append(f"{route}: failed: {type(err).__name__}: {err}")
                continue
            timing[route] = time.perf_counter() - t0
            own = dict(zip(_key(res.mixtures), res.target_losses, strict=True))
            by_law = res.predict(Wt)
        notes += [f"{route}: {m}" for m in dict.fromkeys(str(w.message) for w in caught)][:3]
        idx = [res.targets.index(e) for e in evals]
        preds[route] = np.array([own.get(k, by_law[i]) for i, k in enumerate(_key(Wt))])[:, idx]
        if route == "nested":
            preds["nested (law)"] = by_law[:, idx]
            timing["nested (law)"] = timing[route]
        print(res.stages and "\n".join(f"  {route:<7} stage {s.name:<8} fits {s.n_fits:>5}  median |res| "
                                       f"{s.median_rel_residual:.3%}  max |res| {s.max_rel_residual:.3%}"
                                       for s in res.stages.values()))
    # Naive: the next-smaller size, same mixture.
    Y = table.losses("all")
    prev_final = {k: Y[i] for k, i in zip(_key(table.weights), range(len(table)), strict=True)
                  if N[i] == prev and S[i] == run_final[i]}
    seen = {}
    for i in np.flatnonzero(fit_rows & (N == prev)):
        k = _key(table.weights[i:i + 1])[0]
        if k not in seen or S[i] > seen[k][0]:
            seen[k] = (S[i], Y[i])
    keys = _key(Wt)
    if all(k in prev_final for k in keys):
        preds["naive"] = np.array([prev_final[k] for k in keys])
        preds["naive (1/3 steps)"] = np.array([seen[k][1] for k in keys])
    else:
        notes.append("naive: some mixtures of the largest size are missing at the next-smaller size")

    print()
    head = f"{'method':<18} {'MRE':>8} " + " ".join(f"{e[:10]:>10}" for e in evals) + f" {'time':>7}"
    print(head)
    print("-" * len(head))
    for name, P in preds.items():
        rel = np.abs(P / Yt - 1)
        t = f"{timing[name]:>6.1f}s" if name in timing else f"{'-':>7}"
        print(f"{name:<18} {rel.mean():>8.3%} " + " ".join(f"{v:>10.3%}" for v in rel.mean(axis=0)) + f" {t}")
    if notes:
        print("\nnotes:")
        for n in notes:
            print(f"  {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
