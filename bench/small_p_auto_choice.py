"""Would auto's CV pick ye-exp(alpha="cv") over loglinear at n <= p, and would that help on held-out runs?

The subsamples of bench/small_p_ridge.py; per eval set, auto's score S = (1 - Spearman) + (1 - R2) / 2 on
5-fold out-of-fold predictions of the fitting runs (auto's folds, fold_ids), the lower law picked, and both scored
on the rest of the table. One JSON line per (dataset, runs, seed, eval).

    PYTHONPATH=src python bench/small_p_auto_choice.py > out.jsonl
"""

from __future__ import annotations

import json
import warnings

import numpy as np

from mixlaw import metrics
from mixlaw.datasets import load_marin_delphi, load_regmix
from mixlaw.laws import get_law
from mixlaw.laws.selection import fold_ids

LAWS = {"ye-exp": {"alpha": "cv"}, "loglinear": {}}
TABLES = [("marin", load_marin_delphi, ["uncheatable_obj", "table9_obj"], (30, 40)),
          ("regmix", lambda: load_regmix("train_1m"), ["pile_cc", "github", "arxiv", "wikipedia_en"], (12, 15))]


def fit_predict(key: str, W: np.ndarray, y: np.ndarray, Wt: np.ndarray, domains: list[str]) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(get_law(key, **LAWS[key]).fit(W, y, domains=domains).predict(Wt)).ravel()


def main() -> None:
    for name, load, evals, sizes in TABLES:
        t = load()
        W, doms = np.asarray(t.weights), list(t.domains)
        for n in sizes:
            for seed in range(5):
                idx = np.random.default_rng(seed).permutation(len(W))
                tr, te = idx[:n], idx[n:]
                for e in evals:
                    y = np.asarray(t.losses([e]))[:, 0]
                    folds = fold_ids(n, 5, 0, W[tr])
                    score, held = {}, {}
                    for key in LAWS:
                        oof = np.empty(n)
                        for k in np.unique(folds):
                            m = folds == k
                            oof[m] = fit_predict(key, W[tr][~m], y[tr][~m], W[tr][m], doms)
                        score[key] = (1 - metrics.spearman(y[tr], oof)) + (1 - metrics.r2(y[tr], oof)) / 2
                        held[key] = metrics.spearman(y[te], fit_predict(key, W[tr], y[tr], W[te], doms))
                    pick = min(score, key=score.get)
                    print(json.dumps({"data": name, "n": n, "seed": seed, "eval": e, "S": score, "held": held,
                                      "pick": pick}), flush=True)


if __name__ == "__main__":
    main()
