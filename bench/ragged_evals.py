"""``auto`` on a run table where one eval misses some of its losses: held-out Spearman per eval set.

RegMix's ``train_1m`` (512 runs, 13 evals) with ``--frac`` of one eval's cells blanked (seeded), ``auto`` fitted with
``--target all`` and scored per eval on ``test_1m``. Run it with the tree to measure on ``PYTHONPATH``: before auto
fitted each eval on the rows that have its loss, every eval lost the blanked eval's rows.

    PYTHONPATH=src python bench/ragged_evals.py [--blank arxiv] [--frac 0.3] [--seed 0] [--no-blank]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
from scipy import stats

from mixlaw.data import RunTable
from mixlaw.datasets import load_regmix
from mixlaw.laws.auto import AutoLaw


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blank", default="arxiv", help="eval whose cells are blanked")
    ap.add_argument("--frac", type=float, default=0.3, help="share of its cells blanked")
    ap.add_argument("--seed", type=int, default=0, help="numpy default_rng seed of the blanked rows")
    ap.add_argument("--no-blank", action="store_true", help="the table as published (the reference)")
    args = ap.parse_args()
    train, test = load_regmix("train_1m"), load_regmix("test_1m")
    frame = train.frame.copy()
    if not args.no_blank:
        rows = np.random.default_rng(args.seed).choice(len(frame), int(round(args.frac * len(frame))), replace=False)
        frame.loc[frame.index[rows], f"loss:{args.blank}"] = np.nan
    table = RunTable(frame)
    t0 = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        law = AutoLaw().fit(table)
        cpu = time.process_time() - t0
        P = np.asarray(law.predict(test)).reshape(len(test), -1)
    Y = test.losses(law.targets_).reshape(len(test), -1)
    rho = {t: round(float(stats.spearmanr(Y[:, i], P[:, i]).statistic), 4) for i, t in enumerate(law.targets_)}
    runs = {t: int(getattr(m[3], "n_runs_", law.n_runs_)) for m in law.members_ for t in m[2]}
    others = [t for t in law.targets_ if t != args.blank]
    print(json.dumps({"n_runs": int(law.n_runs_), "rows_left_out": getattr(law, "rows_left_out_", {}),
                      "runs_per_eval": runs, "choice": law.choice_, "spearman": rho,
                      "mean_spearman_others": round(float(np.mean([rho[t] for t in others])), 5),
                      "cpu_s": round(cpu, 1)}, indent=1))


if __name__ == "__main__":
    main()
