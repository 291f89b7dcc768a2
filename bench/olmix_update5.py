"""``--law auto`` on Olmix's update-5 swarm: 64 runs x 22 domains, 51 fitting / 13 held out, 8 evals.

A public sweep mixlaw does not ship (allenai/olmix at commit 218dbc7: ``full_reuse_update_5_seed_0_ratios.csv``
and ``..._metrics.csv``; ``git show 218dbc7:<file>`` from a clone, into ``--root``). The split is scikit-learn's
``train_test_split(test_size=0.2, random_state=0)`` over the 64 runs, as in docs/laws.md's paragraph on growing the
CV; the evals are lambada, hellaswag, codex_humaneval, mbpp, piqa, sciq, minerva_math_algebra and
mmlu_college_biology (bits per byte, lower is better). Each row's shares are renormalised to sum to 1. It prints
auto's choice per eval and the held-out Spearman. Skips, with a message, when the CSVs are absent.

Measured 2026-12-06 (about 150 s a run on 2 busy cores), this code against 2262650's (the tree before the
leave-one-out ridges of linear / loglinear and loglinear-sat, run with ``PYTHONPATH`` on ``git archive``)::

    2262650   mean 0.631   0.808 0.907 0.725 0.852 0.643 0.236 0.747 0.132
              bimix on 6 evals, loglinear-sat on sciq, lightgbm on mmlu_college_biology
    now       mean 0.712   0.901 0.918 0.731 0.868 0.604 0.236 0.747 0.687
              loglinear on lambada, hellaswag, mbpp, piqa; bimix on codex_humaneval, minerva_math_algebra;
              loglinear-sat on sciq; linear on mmlu_college_biology
    folds by content  mean 0.733   0.901 0.918 0.731 0.868 0.604 0.407 0.747 0.687   (twenty-first session, 120 s)
              the same choices but ye-pow on sciq (the laws' inner folds and auto's outer folds, no longer dealt by
              row position, changed sciq's CV ranking; 13 held-out runs: 0.236 -> 0.407 is within chance)

Usage: python bench/olmix_update5.py [--root /tmp/olmix] [--law auto]
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.model_selection import train_test_split

from mixlaw.data import RunTable
from mixlaw.laws import get_law

EVALS = ["lambada", "hellaswag", "codex_humaneval", "mbpp", "piqa", "sciq", "minerva_math_algebra",
         "mmlu_college_biology"]
STEM = "full_reuse_update_5_seed_0"


def table(root: Path) -> pd.DataFrame:
    """The 64 runs as a run table frame: ``w:`` shares (renormalised) and ``loss:`` for :data:`EVALS`."""
    R = pd.read_csv(root / f"{STEM}_ratios.csv")
    M = pd.read_csv(root / f"{STEM}_metrics.csv").set_index("run").loc[R["run"]]
    doms = [c for c in R.columns if c not in ("Unnamed: 0", "run", "name", "index")]
    W = R[doms].to_numpy(dtype=float)
    out = pd.DataFrame({"run": R["run"]})
    for j, d in enumerate(doms):
        out[f"w:{d.replace(':', '_')}"] = W[:, j] / W.sum(axis=1)
    for e in EVALS:
        out[f"loss:{e}"] = M[next(c for c in M.columns if c.split(":")[0] == e)].to_numpy()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=Path("/tmp/olmix"))
    ap.add_argument("--law", default="auto")
    a = ap.parse_args()
    if not (a.root / f"{STEM}_ratios.csv").is_file():
        print(f"skipped: {a.root} has no {STEM}_*.csv (see this file's docstring for where they come from)")
        return
    tr, te = train_test_split(table(a.root), test_size=0.2, random_state=0)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        law = get_law(a.law).fit(RunTable(tr.reset_index(drop=True)))
        P = np.asarray(law.predict(RunTable(te.reset_index(drop=True)))).reshape(len(te), -1)
    print(f"{a.law} fitted on {len(tr)} runs in {time.perf_counter() - t0:.0f} s; held-out Spearman on {len(te)}:")
    rhos = []
    for i, e in enumerate(law.targets_):
        rhos.append(float(spearmanr(P[:, i], te[f"loss:{e}"]).statistic))
        chose = (getattr(law, "choice_", None) or {}).get(e, "")
        print(f"  {e:<24}{rhos[-1]:7.3f}  {chose}")
    print(f"  {'mean':<24}{np.mean(rhos):7.3f}")
    note = getattr(getattr(law, "cv_", None), "folds_note", None)
    if note:
        print(f"  CV: {note}")


if __name__ == "__main__":
    main()
