"""Leaderboard of every registered law on the bundled RegMix runs (issue 3 acceptance).

Fit on train_1m (512 runs, 1M parameters); score on the held-out test_1m, test_60m (same mixtures, 60M
models) and test_1B (64 runs, 1B models). Prints one table for target Pile-CC and one pooled over all
13 eval sets, side by side with RegMix's own LightGBM numbers as published in its repository notebook and
measured here (Spearman 0.990 / 0.986 / 0.962, MRE 0.0068, 7.9 s).

Usage: python bench/compare_laws.py [--laws a,b,...] [--seed 0]
"""

from __future__ import annotations

import argparse
import time
import warnings

from mixlaw.api import compare_regmix
from mixlaw.errors import MixlawWarning

TARGETS = {"pile_cc": "Pile-CC (RegMix's target)", "all": "all 13 eval sets, pooled"}
GOAL = "goal for our best law: Spearman >= 0.99 / 0.985 / 0.985, MRE(test_1m) <= 0.006, fit < 2 s"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--laws", default=None, help="comma-separated law keys (default: all registered)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--targets", default="pile_cc,all")
    args = ap.parse_args()
    laws = args.laws.split(",") if args.laws else None
    for target in args.targets.split(","):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MixlawWarning)
            board = compare_regmix(targets=target, laws=laws, random_state=args.seed)
        print(f"\n== target: {TARGETS.get(target, target)}   (fit on train_1m; {time.perf_counter() - t0:.1f} s total)")
        print(f"{'law':<16}{'ρ test_1m':>11}{'ρ test_60m':>12}{'ρ test_1B':>11}{'MRE 1m':>9}{'RMSE 1m':>9}"
              f"{'n_par':>7}{'fit s':>8}")
        for r in board.rows:
            if r.error:
                print(f"{r.law:<16}  failed: {r.error}")
                continue
            s = r.splits
            print(f"{r.law:<16}{s['test_1m']['spearman']:>11.4f}{s['test_60m']['spearman']:>12.4f}"
                  f"{s['test_1B']['spearman']:>11.4f}{s['test_1m']['mre']:>9.4f}{s['test_1m']['rmse']:>9.4f}"
                  f"{r.n_params:>7d}{r.fit_seconds:>8.2f}")
        print(f"{'RegMix LightGBM':<16}{0.990:>11.3f}{0.986:>12.3f}{0.962:>11.3f}{0.0068:>9.4f}{'':>9}{'':>7}"
              f"{7.9:>8.1f}   (reference, pile_cc)")
        if target == "pile_cc":
            print(GOAL)


if __name__ == "__main__":
    main()
