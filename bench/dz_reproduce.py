"""Dai & Zheng's protocol on RegMix 1B: held-out MRE of the DZ laws beside the other laws.

RegMix test_1B (64 runs of 1B-parameter models, 17 training domains, 13 eval sets); runs "4" and "12" are
dropped (as DZ do: 62 runs, sorted by integer id), ``perm = default_rng(42).permutation(62)``, the first 43
fit and the last 19 are held out. MRE = mean |pred - L| / L pooled over the 19 x 13 held-out entries, and
over the entries whose eval set's own domain has weight h_i > 0 (where plain Eq. 3 is finite; DZ score Eq. 3
there). Targets: dz-eq1 <= 1.8 % (all), dz-eq3 <= 1.3 % (h > 0), dz-eq3-safe <= 1.5 % (all), each fit < 10 s.
An independent reimplementation measured ye-exp 3.7 %, dz-eq1 1.7 %, dz-eq3 1.2 % (h > 0).

With ``--seeds 0,1,2,3,4`` the split's permutation seed is varied instead of 42 (issue 10: ye-exp pooled MRE
< 5 % on every seed; zero shares and shares far beyond the 43 fitting runs' range used to blow it up).

Usage: python bench/dz_reproduce.py [--laws a,b,...] [--seeds 42]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from mixlaw.datasets import load_regmix
from mixlaw.errors import MixlawWarning
from mixlaw.laws import available_laws, get_law

DEFAULT_LAWS = ["dz-eq1", "dz-eq3", "dz-eq3-safe", "ye-exp", "additive", "bimix", "linear", "lightgbm"]
TARGETS = {"dz-eq1": ("all", 1.8), "dz-eq3": ("h>0", 1.3), "dz-eq3-safe": ("all", 1.5)}


def split(seed: int = 42) -> tuple[object, object]:
    table = load_regmix("test_1B")
    order = sorted((i for i, r in enumerate(table.runs) if str(r) not in ("4", "12")), key=lambda i: int(table.runs[i]))
    table = table.subset(order)
    perm = np.random.default_rng(seed).permutation(len(order))
    return table.subset(perm[:43]), table.subset(perm[43:])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--laws", default=",".join(DEFAULT_LAWS))
    ap.add_argument("--seeds", default="42", help="comma-separated permutation seeds of the split")
    args = ap.parse_args()
    for seed in (int(x) for x in args.seeds.split(",")):
        run(args.laws.split(","), seed)


def run(laws: list[str], seed: int) -> None:
    train, test = split(seed)
    evals = train.evals
    Y = test.losses(evals)
    own = test.weights_for(train.domains)[:, [train.domains.index(e) for e in evals]] > 0
    print(f"\nRegMix test_1B, DZ split (seed {seed}): {train.weights.shape[0]} fit / {Y.shape[0]} held out, "
          f"{len(evals)} evals, {int(own.sum())}/{own.size} held-out entries with h_i > 0")
    # fit s is wall time (the target); cpu s is this process's CPU time, which shared machines inflate less.
    print(f"{'law':<14}{'MRE all %':>11}{'MRE h>0 %':>11}{'fit s':>8}{'cpu s':>8}{'n_par':>7}  target")
    for key in laws:
        if key not in available_laws():
            print(f"{key:<14}  (not registered; skipped)")
            continue
        law = get_law(key)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", MixlawWarning)
                t0, c0 = time.perf_counter(), time.process_time()
                law.fit(train, targets=evals)
                fit_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
                P = np.asarray(law.predict(test), dtype=np.float64).reshape(Y.shape)
        except Exception as err:  # a baseline that cannot run here (missing extra, unmatched targets) is reported
            print(f"{key:<14}  error: {type(err).__name__}: {str(err)[:80]}")
            continue
        rel = np.abs(P - Y) / Y
        mre_all, mre_pos = 100 * float(np.mean(rel)), 100 * float(np.mean(rel[own]))
        goal = ""
        if key in TARGETS:
            which, lim = TARGETS[key]
            got = mre_all if which == "all" else mre_pos
            ok = got <= lim and fit_s < 10
            goal = f"MRE {which} <= {lim} %, fit < 10 s: {'met' if ok else 'MISSED'}"
        print(f"{key:<14}{mre_all:>11.3f}{mre_pos:>11.3f}{fit_s:>8.1f}{cpu_s:>8.1f}{law.n_params_:>7}  {goal}")


if __name__ == "__main__":
    main()
