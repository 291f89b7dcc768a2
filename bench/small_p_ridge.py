"""Ridge laws fitted with fewer runs than coefficients (alpha="cv"), against loglinear / linear.

Marin Delphi (39 domains) subsampled to 30 and 40 runs, RegMix train_1m (17 domains) to 12 and 15 runs, seeded;
every law fitted on the subsample and scored on the rest of the table (held-out Spearman and RMSE per eval),
one JSON line per (dataset, runs, seed, law, eval) to stdout (a failure: its error). ye-pow / ye-exp / additive
have 80 / 40 / 79 coefficients per eval set on Marin Delphi and 36 / 18 / 35 on RegMix; additive runs with
gamma_pooling=1 (its exponents unpooled are 39 unpenalised parameters, more than the runs).

    PYTHONPATH=src python bench/small_p_ridge.py [seeds] > out.jsonl
"""

from __future__ import annotations

import json
import sys
import time
import warnings

import numpy as np

from mixlaw import metrics
from mixlaw.datasets import load_marin_delphi, load_regmix
from mixlaw.laws import get_law

LAWS = {"ye-pow": {"alpha": "cv"}, "ye-exp": {"alpha": "cv"}, "additive": {"alpha": "cv", "gamma_pooling": 1.0},
        "loglinear": {}, "linear": {}}


def tables():
    t = load_marin_delphi()
    yield "marin", t, ["uncheatable_obj", "table9_obj"], (30, 40)
    r = load_regmix("train_1m")
    yield "regmix", r, ["pile_cc", "github", "arxiv", "wikipedia_en"], (12, 15)


def main(seeds: int = 3) -> None:
    for name, t, evals, sizes in tables():
        W, Y = np.asarray(t.weights), np.asarray(t.losses(evals))
        for n in sizes:
            for seed in range(seeds):
                idx = np.random.default_rng(seed).permutation(len(W))
                tr, te = idx[:n], idx[n:]
                for key, opts in LAWS.items():
                    t0 = time.process_time()
                    try:
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            law = get_law(key, **opts).fit(W[tr], Y[tr], domains=list(t.domains), targets=evals)
                            P = np.asarray(law.predict(W[te])).reshape(len(te), len(evals))
                    except Exception as err:  # noqa: BLE001  (a bench records every failure and goes on)
                        print(json.dumps({"data": name, "n": n, "seed": seed, "law": key,
                                          "error": f"{type(err).__name__}: {err}"[:200]}), flush=True)
                        continue
                    cpu = time.process_time() - t0
                    for j, e in enumerate(evals):
                        print(json.dumps({
                            "data": name, "n": n, "seed": seed, "law": key, "eval": e, "cpu_s": round(cpu, 2),
                            "spearman": metrics.spearman(Y[te, j], P[:, j]), "rmse": metrics.rmse(Y[te, j], P[:, j]),
                            "finite": bool(np.isfinite(P[:, j]).all()), "n_par": int(law.n_params_),
                            "n_eff": law._n_effective(),
                            "alpha": (getattr(law, "alpha_", None) or {}).get(e)}), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
