"""Optimiser search and trust region on the bundled RegMix runs (issue 10, items 4 and 5).

Prints three tables:

1. LightGBM, mean of the 13 evals, fitted on train_1m: the natural mixture, SLSQP (``--search gradient``:
   a zero gradient on trees) and RegMix's simulate-and-average-top-k (``--search simulate``, the default for
   laws without a gradient): predicted objective, and the L1 distance of the optimum to the nearest run.
2. RegMix's own recipe (LightGBM on Pile-CC, 100k Dirichlet(prior) mixtures, mean of the top 128) against the
   mixture RegMix published for its 1B run (mixture_config/config_1b/regmix.yaml, github.com/sail-sg/regmix).
3. A smooth law (``--law``, default additive-ens) with the mean objective, with and without the trust region:
   the largest share leaving its fitted range, and the distance to the nearest run.

Usage: python bench/optimizer_search.py [--samples 100000] [--law additive-ens] [--json]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np

from mixlaw.datasets import load_regmix
from mixlaw.laws import get_law
from mixlaw.optimize import optimize_mixture

#: The Pile's token distribution, RegMix's prior (regression.ipynb), in the bundled domain order.
PILE_PRIOR = [0.11328527, 0.07960865, 0.00391349, 0.1853759, 0.05108136, 0.01596293, 0.10175077, 0.00370752,
              0.06652935, 0.00175077, 0.02708548, 0.23686921, 0.01184346, 0.00792997, 0.00803296, 0.03882595,
              0.04644696]
#: RegMix's published 1B mixture (regmix.yaml), same order.
PUBLISHED = [0.0012, 0.0015, 0.0012, 0.0031, 0.0159, 0.0003, 0.0002, 0.0, 0.0003, 0.0017, 0.0016, 0.8701, 0.0642,
             0.0, 0.0119, 0.0242, 0.0025]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=100_000)
    ap.add_argument("--law", default="additive-ens")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    train = load_regmix("train_1m")
    W = train.weights
    nat = W.mean(axis=0)
    out: dict = {}

    t0 = time.perf_counter()
    lgb = get_law("lightgbm").fit(train, targets="all")
    rows = {}
    for search in ("gradient", "simulate"):
        r = optimize_mixture(lgb, objective="mean", natural=nat, runs=W, within_fitted_range=True, search=search,
                             n_samples=args.samples, n_starts=4)
        rows[search] = {"objective": r.objective, "natural": r.natural_objective, "improvement": r.improvement,
                        "nearest_run_l1": r.nearest_run_l1}
    out["lightgbm_mean"] = rows
    lgb_s = time.perf_counter() - t0

    cc = get_law("lightgbm").fit(train, targets="pile_cc")
    r = optimize_mixture(cc, objective="mean", natural=np.array(PILE_PRIOR), strength=(1.0, 1.0),
                         n_samples=100_000, top_k=128)
    pub = np.array(PUBLISHED)
    out["regmix_recipe"] = {"pile_cc": r.weights["pile_cc"], "ubuntu_irc": r.weights["ubuntu_irc"],
                            "l1_to_published": float(np.abs(r.weight_array() - pub).sum()),
                            "predicted_pile_cc": r.objective,
                            "predicted_pile_cc_of_published": float(cc.predict(pub[None, :])[0]),
                            "predicted_pile_cc_of_prior": r.natural_objective}

    smooth = get_law(args.law).fit(train, targets="all")
    tr = {}
    for name, inside in (("trust region (default)", True), ("--extrapolate", False)):
        r = optimize_mixture(smooth, objective="mean", natural=nat, runs=W, within_fitted_range=inside)
        w = r.weight_array()
        over = w - W.max(axis=0)
        j = int(np.argmax(over))
        tr[name] = {"objective": r.objective, "nearest_run_l1": r.nearest_run_l1, "worst_domain": train.domains[j],
                    "share": float(w[j]), "max_share_in_runs": float(W.max(axis=0)[j])}
    out["trust_region"] = {args.law: tr}

    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"1. LightGBM, mean of 13 evals (train_1m, {args.samples} samples; fit+search {lgb_s:.0f} s)")
    print(f"   {'search':<10}{'predicted':>11}{'natural':>10}{'gain':>9}{'L1 to run':>11}")
    for k, v in rows.items():
        print(f"   {k:<10}{v['objective']:>11.4f}{v['natural']:>10.4f}{v['improvement']:>9.4f}"
              f"{v['nearest_run_l1']:>11.3f}")
    rr = out["regmix_recipe"]
    print("2. RegMix recipe (LightGBM on Pile-CC, 100k Dirichlet(prior), top 128) vs RegMix's published mixture")
    print(f"   pile_cc {rr['pile_cc']:.3f} (published 0.870), ubuntu_irc {rr['ubuntu_irc']:.3f} (0.064); "
          f"L1 to published {rr['l1_to_published']:.3f}")
    print(f"   predicted Pile-CC loss {rr['predicted_pile_cc']:.4f} (published mixture "
          f"{rr['predicted_pile_cc_of_published']:.4f}, prior {rr['predicted_pile_cc_of_prior']:.4f})")
    print(f"3. {args.law}, mean objective: trust region")
    print(f"   {'':<24}{'predicted':>11}{'L1 to run':>11}  largest excess share")
    for k, v in tr.items():
        print(f"   {k:<24}{v['objective']:>11.4f}{v['nearest_run_l1']:>11.3f}  {v['worst_domain']} {v['share']:.3f} "
              f"(max in runs {v['max_share_in_runs']:.3f})")


if __name__ == "__main__":
    main()
