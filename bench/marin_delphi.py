"""Laws on Marin's Delphi swarm (280 runs, 39 buckets, 9 metrics none of which is a training bucket).

Two protocols (issue 10):

1. 5-fold CV, shuffled with seed 0, on all 280 runs: per law and metric the mean held-out Spearman (± std over
   folds) and MRE. Laws that match eval sets to domains (dz-eq1, dz-eq3-safe, bimix) run through implicit
   aggregation, one fit per metric on that metric alone (as ``mixlaw fit --target <metric>`` fits it; bimix is
   per metric anyway); ``--laws dz-eq3-safe@joint`` fits a DZ law once on all 9 metrics, sharing the domain
   parameters, as this bench did before dz-eq3-safe could fit one metric (234 -> 158 parameters, data_term).
   ``best_law`` is the single law with the best mean CV Spearman. ``auto`` and ``stack`` are
   ``--law auto`` and ``--law stack`` themselves, nested: on each outer fold the meta-law is fitted to the
   other four folds (its own inner K-fold CV over ``--candidates`` included) and predicts the held-out fold.
2. Marin's own split (column ``split_regmix``): ``--law stack`` (``--marin-law`` to change) fitted on the 187
   ``train`` runs, RMSE and Spearman on the 93 ``early_stop`` runs. Its members and weights come from its inner
   CV on the 187 runs; nothing looks at the 93.

Every fit goes through :func:`mixlaw.laws.selection.fit_law` with a disk cache of fitted laws
(``--cache``, keyed by law, options and data, under a fingerprint of the fitting code): a meta-law's refit of
a member on an outer training fold is the outer CV's own fit, and a rerun only fits what changed.
``--jobs N`` first fits everything the run needs in N processes (into the cache), then assembles the tables.

Goals: CV Spearman >= 0.965 on uncheatable_obj and >= 0.90 on table9_obj, and auto or stack within 0.01 of
the best single law on every metric; Marin split RMSE <= 0.0065 and Spearman >= 0.965 on uncheatable_obj,
RMSE <= 0.024 and >= 0.90 on table9_obj (Marin's LightGBM replay: 0.0140 / 0.857 and 0.0284 / 0.816).

Usage: python bench/marin_delphi.py [--laws a,b] [--meta auto,stack] [--candidates a,b] [--cv-folds 5]
       [--metrics m1,m2] [--folds 5] [--jobs 2] [--cache DIR | --no-cache] [--json]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import sys
import tempfile
import time
import warnings
from collections import OrderedDict
from collections.abc import Iterator, MutableMapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import Progress
from scipy.optimize import nnls

import mixlaw
from mixlaw import metrics
from mixlaw.datasets import load_marin_delphi
from mixlaw.errors import InputError
from mixlaw.laws import available_laws, get_law, law_from_dict
from mixlaw.laws.selection import (
    CV_FAILURES,
    DEFAULT_FOLDS,
    FIT_CACHE,
    OBJECTIVE,
    cross_val_predict,
    fit_key,
    fit_law,
    fold_ids,
)

#: Single laws scored by the outer CV (those that match evals to domains through implicit aggregation).
DEFAULT_LAWS = ["ye-pow", "ye-exp", "additive-ens", "linear", "loglinear", "loglinear-sat", "gp-residual", "lightgbm",
                "dz-eq1", "dz-eq3-safe", "bimix"]
#: The DZ laws per metric vs jointly on the 9 (2026-12-04; --laws dz-eq1,dz-eq3-safe,bimix --meta '', then
#: --laws dz-eq3-safe@joint,dz-eq1@joint; 1 start each; mean CV Spearman in table order: uncheatable_obj,
#: table9_obj, ao3_english, arxiv_cs, arxiv_physics, bbc_news, github_cpp, github_python, wikipedia_en):
#: dz-eq3-safe per metric 0.8869 / 0.7705 / 0.9419 / 0.8436 / 0.8261 / 0.8746 / 0.9509 / 0.8641 / 0.8373 (1526 s
#: for 45 fits at ~50 % of a core: data term shared, 158 parameters per fit, no fit converged: module docstring of
#: laws/dz_eq3.py); jointly (546 parameters, per-domain data term) 0.8870 / 0.7628 / 0.9349 / 0.8658 / 0.8685 / 0.8845
#: / 0.9556 / 0.8146 / 0.8434 (1169 s for 5 fits): mean over the 9 metrics 0.8662 per metric vs 0.8686 jointly,
#: better per metric on table9_obj, ao3_english and github_python (+0.050), worse on the arxiv sets (-0.022, -0.042);
#: dz-eq1 per metric 0.8002 / 0.6968 / 0.9022 / 0.7157 / 0.7426 / 0.8184 / 0.8928 / 0.7672 / 0.7000 (580 s; 117
#: parameters; mean 0.7818) vs jointly 0.7466 / 0.7159 / 0.8596 / 0.6875 / 0.7883 / 0.7465 / 0.8630 / 0.7540 / 0.7066
#: (247 s; mean 0.7631);
#: bimix (per metric either way) 0.9279 / 0.7871 / 0.9469 / 0.9167 / 0.9313 / 0.9111 / 0.9548 / 0.8245 / 0.8703.
#: Marin's split, dz-eq3-safe per metric: RMSE / Spearman uncheatable_obj 0.0136 / 0.8447, table9_obj 0.0330 /
#: 0.6611 (jointly: 0.0117 / 0.8860, 0.0294 / 0.7516).
#: What auto / stack choose from here: the laws that fit the 9 metrics at 39 domains in under half a minute
#: (ye-pow 23 s, lightgbm 15 s, ye-exp 6 s, linear 0.4 s on 224 runs), and loglinear-sat (its own inner CV of
#: eps and name groups, batched Huber solves: 6 CPU s; about a minute with one HuberRegressor per problem), the
#: best single law on table9_obj.
#: additive-ens (41 s) would double the nested cost; dz-eq1, dz-eq3-safe and bimix take minutes per fit and
#: trail on every metric.
#: gp-residual (loglinear-sat + a GP on its residuals; 2026-12-04): auto's table9_obj 0.8934 -> 0.8990, the other
#: metrics within 0.001 but unch_bbc_news 0.9470 -> 0.9440; its fits cost 8 s here (loglinear-sat's are cached).
DEFAULT_CANDIDATES = ["ye-pow", "ye-exp", "linear", "loglinear-sat", "gp-residual", "lightgbm"]
#: Options of the laws outside the candidates: one optimiser start (the data-driven one) for the implicit-
#: aggregation laws, which have 80-430 parameters per fit here and take minutes per start (bimix on
#: uncheatable_obj: the data-driven start reaches 4.75, the random one 7.62 in objective units).
LAW_OPTIONS = {k: {"n_restarts": 1} for k in ("bimix", "dz-eq1", "dz-eq3-safe")}
META = ("auto", "stack")
#: Suffix of a law key fitted jointly on every metric (``dz-eq3-safe@joint``); the plain key of a law whose eval
#: sets share parameters fits each metric alone (:func:`quiet_fit`).
JOINT = "@joint"
# The inner CV defaults to the library's 5 folds, not 3 (issue 10, table9_obj only, 2026-12-03): with 3
# inner folds ye-pow (80 parameters per metric) is scored on 149 of an outer fold's 224 runs, where it is much
# worse than refitted on all 224, so the selection leaves it for lightgbm/linear: outer-CV Spearman auto 0.823,
# stack 0.865 against ye-pow's 0.885 (Marin split 0.900). With 5 inner folds (179 runs): auto 0.876, stack
# 0.874 (Marin split 0.906); unch_wikipedia_en auto 0.879 -> 0.882, stack 0.895 -> 0.900. The bench measures
# ``--law auto`` as users run it, not a cheaper variant.
# table9_obj's 0.90 CV goal is beyond choosing or stacking these laws: convex weights fitted with hindsight on
# the outer folds' own held-out predictions of ye-pow, additive-ens (0.864), lightgbm, linear and ye-exp reach
# 0.887; the near-proportional controls bound the noise (sd <= 0.0103) to a ceiling >= 0.947 for a perfect law.
# Single laws plateau near 0.89 too (bench/table9_probe.py, 2026-12-03): ye-pow's table9 fit sits on its bounds
# (c 0, log k 29.8, t near -29.5, gamma near 1), i.e. a log-linear law in [r_j, r_j log r_j]; Huber log-linear
# laws in [r_j, log(r_j + eps)] reach 0.890, and kernel ridge / quadratic ridge / LightGBM on their out-of-fold
# residuals add nothing. No law tried here clears 0.90.
# With loglinear-sat (2026-12-03, second session; laws ye-pow,ye-exp,additive-ens,linear,loglinear,loglinear-sat,
# lightgbm; cached fits, 2 processes): table9_obj best loglinear-sat 0.8934, auto 0.8934 (was 0.8839), stack
# 0.8798 (was 0.8729); every metric's auto or stack within 0.01 of its best; uncheatable_obj auto 0.9741, stack
# 0.9758. Marin split (stack): uncheatable_obj RMSE 0.0056 / 0.9762, table9_obj 0.0232 / 0.9037 (both met).
# Issue 10's further ideas (bench/table9_probe.py, 2026-12-04): multi-task reduced rank across the 9 metrics,
# name-prefix smoothing of coefficients, other losses/targets: no gain beyond the seeds' noise; a Gaussian process
# on loglinear-sat's log residuals gains on every outer seed (0.8934 -> 0.8990, seeds 1/2 0.9035 -> 0.9097,
# 0.8968 -> 0.8988) but stays below 0.90 at seed 0, so it is not an auto/stack candidate. Its variants with
# every hyperparameter chosen on the fitting runs (second session, 2026-12-04: ARD per bucket or per bucket group,
# principal directions, inner-CV length and noise, additive kernels, on auto or stack; numbers in
# bench/table9_probe.py) either stay below 0.90 at seed 0 (best: shares + the base's log prediction, 0.8998 /
# 0.9111 / 0.8995) or cross it only where seeds 2-4 lose (top-10 principal directions 0.9023 / 0.9108 / 0.8902).
# As a law, gp-residual (third session, 2026-12-04; laws loglinear-sat,gp-residual, meta auto, candidates with and
# without it, cached fits): single law 0.9598 / 0.8990 / 0.9750 / 0.9690 / 0.9665 / 0.9456 / 0.9708 / 0.8979 /
# 0.9021 on the 9 metrics in table order (loglinear-sat 0.9588 / 0.8934 / 0.9752 / 0.9688 / 0.9665 / 0.9463 /
# 0.9717 / 0.8968 / 0.9025); auto 0.9741 / 0.8934 / 0.9795 / 0.9688 / 0.9654 / 0.9470 / 0.9792 / 0.9014 / 0.8813
# without it, 0.9741 / 0.8990 / 0.9795 / 0.9690 / 0.9655 / 0.9440 / 0.9792 / 0.9018 / 0.8817 with it: a candidate.
# stack 0.9759 / 0.8798 / 0.9762 / 0.9699 / 0.9675 / 0.9459 / 0.9860 / 0.9313 / 0.9044 without it, 0.9746 / 0.8878
# / 0.9760 / 0.9699 / 0.9675 / 0.9475 / 0.9849 / 0.9315 / 0.9027 with it; Marin split (stack) uncheatable_obj
# 0.0055 / 0.9766 both, table9_obj 0.0233 / 0.9022 -> 0.0235 / 0.9015 (goals met either way). Every metric's auto
# or stack within 0.01 of its best single law (of loglinear-sat, gp-residual) with it; table9_obj's 0.90 not reached.
# Folds dealt by the runs' content (2026-12-06, twenty-first session; this bench's own outer split unchanged, the
# laws' inner CVs and auto/stack's folds now independent of row order; `--jobs 2 --cache`, 9 metrics, defaults):
# loglinear-sat 0.9544 / 0.8933 and gp-residual 0.9551 / 0.9002 on uncheatable_obj / table9_obj (were 0.9588 /
# 0.8934 and 0.9598 / 0.8990: other inner folds, the same laws); auto 0.9703 / 0.9002, stack 0.9725 / 0.8894;
# every metric's auto or stack within 0.01 of its best; Marin split (stack) uncheatable_obj 0.0058 / 0.9739,
# table9_obj 0.0236 / 0.9007. table9_obj's goals are met here by 0.0002-0.0007, inside the outer fold seeds' spread
# (about +-0.008): a change of folds, not a better law.
GOALS = {"uncheatable_obj": {"cv": 0.965, "rmse": 0.0065, "rho": 0.965},
         "table9_obj": {"cv": 0.90, "rmse": 0.024, "rho": 0.90}}
#: Source files a fitted law depends on; the cache lives under a hash of them (selection/auto/stack choose and
#: combine fitted laws but do not change them).
FINGERPRINT_FILES = ("fit.py", "fit_report.py", "_solver.py", "_validation.py", "data/*.py", "metrics.py",
                     "errors.py", "laws/*.py")
NOT_FITTING = {"selection.py", "auto.py", "stack.py", "options.py", "inline.py"}


class DirCache(MutableMapping):
    """A mapping of fit keys to saved laws, one gzipped JSON file per key (written atomically; parallel-safe;
    gzip: a LightGBM fit of the 9 metrics is 9 MB of tree text). Reads return the rebuilt fitted law, and the
    last :data:`MEMORY` of them stay in memory: nested meta-laws ask for the same inner-fold fits many times,
    and rebuilding a LightGBM law of 9 x 1000 trees takes seconds."""

    MEMORY = 48

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self._laws: OrderedDict[str, Any] = OrderedDict()

    def _file(self, key: str) -> Path:
        if not key.isalnum():
            raise KeyError(key)
        return self.path / f"{key}.json.gz"

    def __getitem__(self, key: str) -> Any:
        if key in self._laws:
            self._laws.move_to_end(key)
            return self._laws[key]
        try:
            law = law_from_dict(json.loads(gzip.decompress(self._file(key).read_bytes())))
        except (OSError, ValueError, EOFError, InputError):
            raise KeyError(key) from None
        self._laws[key] = law
        if len(self._laws) > self.MEMORY:
            self._laws.popitem(last=False)
        return law

    def __setitem__(self, key: str, value: Any) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.path, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(gzip.compress(json.dumps(value).encode(), compresslevel=3))
        os.replace(tmp, self._file(key))

    def __delitem__(self, key: str) -> None:
        self._file(key).unlink(missing_ok=True)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.isalnum() and self._file(key).exists()

    def __iter__(self) -> Iterator[str]:
        return (p.name.split(".", 1)[0] for p in self.path.glob("*.json.gz"))

    def __len__(self) -> int:
        return sum(1 for _ in self.path.glob("*.json.gz"))


def fingerprint() -> str:
    root = Path(mixlaw.__file__).parent
    h = hashlib.sha256()
    for pattern in FINGERPRINT_FILES:
        for p in sorted(root.glob(pattern)):
            if p.name not in NOT_FITTING:
                h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()[:16]


def folds(n: int, k: int, seed: int = 0) -> np.ndarray:
    """Fold id of every run: a seeded shuffle cut into k near-equal folds."""
    f = np.empty(n, dtype=int)
    f[np.random.default_rng(seed).permutation(n)] = np.arange(n) % k
    return f


class PerMetric:
    """One fit of a law per metric (each on its own losses alone), predicting the metrics side by side."""

    def __init__(self, laws: list[Any]) -> None:
        self.laws = laws

    def predict(self, W: np.ndarray) -> np.ndarray:
        return np.column_stack([np.asarray(law.predict(W), dtype=np.float64).reshape(len(W)) for law in self.laws])


def quiet_fit(key: str, W: np.ndarray, Y: np.ndarray, domains: list[str], evals: list[str]) -> Any:
    """Law ``key`` fitted on the metrics: a law whose eval sets share parameters (the DZ laws) once per metric,
    on that metric alone, as a user fitting one metric gets it; ``<key>@joint`` fits it once on all of them."""
    law_key, joint = key.removesuffix(JOINT), key.endswith(JOINT)
    opts = LAW_OPTIONS.get(law_key, {})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if joint or not get_law(law_key).coupled_targets or len(evals) == 1:
            return fit_law(law_key, W, Y, domains=domains, targets=evals, random_state=0, **opts)
        return PerMetric([fit_law(law_key, W, Y[:, [j]], domains=domains, targets=[e], random_state=0, **opts)
                          for j, e in enumerate(evals)])


def composites(Y: np.ndarray, evals: list[str], tol: float = 1e-4) -> dict[str, dict[str, float]]:
    """Metrics that are a fixed weighted sum of the others on these runs, ``{metric: {other: weight}}``.

    uncheatable_obj is by definition a weighted mean of the seven unch_* sets (README): non-negative least
    squares recovers its weights from the fitting runs, to a residual below ``tol`` times its spread.
    """
    out: dict[str, dict[str, float]] = {}
    if len(evals) < 2:  # nothing to be a sum of (and scipy's nnls aborts the process on a 0-column matrix)
        return out
    for j, e in enumerate(evals):
        others = [i for i in range(len(evals)) if i != j]
        s, _ = nnls(Y[:, others], Y[:, j])
        resid = Y[:, others] @ s - Y[:, j]
        if np.sqrt(np.mean(resid ** 2)) < tol * np.std(Y[:, j]):
            out[e] = {evals[i]: float(w) for i, w in zip(others, s, strict=True) if w > 0}
    return out


def meta_fit(key: str, W: np.ndarray, Y: np.ndarray, domains: list[str], evals: list[str], candidates: list[str],
             cv_folds: int, objective: dict[str, float] | None = None) -> Any:
    """``--law auto`` / ``--law stack`` fitted as the CLI does (inner CV, refit), fits served by the cache."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return get_law(key, candidates=candidates, n_folds=cv_folds, objective=objective, random_state=0).fit(
            W, Y, domains=domains, targets=evals)


def meta_predict(key: str, W: np.ndarray, Y: np.ndarray, train: np.ndarray, test: np.ndarray, domains: list[str],
                 evals: list[str], candidates: list[str], cv_folds: int) -> tuple[np.ndarray, dict[str, Any]]:
    """The meta-law's predictions of every metric on ``test`` and what it chose, fitted on ``train``.

    A composite metric (:func:`composites`) is predicted by the meta-law asked for that objective of the other
    metrics (``--objective weights=...``): its CV chooses between laws fitted on the metric itself (``direct``)
    and laws fitted per set and aggregated.
    """
    law = meta_fit(key, W[train], Y[train], domains, evals, candidates, cv_folds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        P = np.asarray(law.predict(W[test]), dtype=np.float64).reshape(len(test), len(evals))
    chosen = dict(getattr(law, "choice_", None) or law.weights_)
    for e, s in composites(Y[train], evals).items():
        obj = meta_fit(key, W[train], Y[train], domains, evals, candidates, cv_folds, objective=s)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            P[:, evals.index(e)] = np.asarray(obj.predict(W[test]), dtype=np.float64).ravel()
        chosen[e] = {"objective": s, "chose": dict(getattr(obj, "choice_", None) or obj.weights_)}
    return P, chosen


def fit_jobs(Y: np.ndarray, evals: list[str], laws: list[str], candidates: list[str], cv_folds: int,
             meta: list[str], outer: list[np.ndarray], marin: np.ndarray | None) -> list[tuple[str, str, Any, Any]]:
    """Every fit the run will ask for, as (kind, law, training rows, None: all metrics | objective column):
    ``fit`` the outer folds and the meta-laws' refits, ``cv`` the meta-laws' inner CV of a candidate (run by
    :func:`~mixlaw.laws.selection.cross_val_predict` itself, whose later folds start from the first fold's fit),
    per metric and direct on each composite metric, whose column is computed as the meta-law computes it so
    that the cache keys match."""
    jobs: list[tuple[str, str, Any, Any]] = [("fit", k, tr, None) for tr in outer for k in laws]
    if meta:
        for tr in [*outer, *([] if marin is None else [marin])]:
            sets = [(tr, None)]
            for s in composites(Y[tr], evals).values():
                sets.append((tr, Y[tr] @ np.array([s.get(e, 0.0) for e in evals])))
            jobs += [(kind, k, rows, y) for rows, y in sets for k in candidates for kind in ("fit", "cv")]
    seen, out = set(), []
    for kind, k, rows, y in jobs:
        tag = (kind, k, rows.tobytes(), None if y is None else y.tobytes())
        if tag not in seen:
            seen.add(tag)
            out.append((kind, k, rows, y))
    return out


def _init_worker(cache_dir: str | None) -> None:
    if cache_dir is not None:
        FIT_CACHE.set(DirCache(Path(cache_dir)))


def _run_job(kind: str, key: str, rows: np.ndarray, y: np.ndarray | None, evals: list[str],
             cv_folds: int) -> str | None:
    table = load_marin_delphi()
    W = table.weights[rows]
    Yf, tg = (table.losses(evals)[rows], evals) if y is None else (y[:, None], [OBJECTIVE])
    cache = FIT_CACHE.get()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if kind == "cv":
                cross_val_predict(key, W, Yf, fold_ids(len(rows), cv_folds, 0), domains=table.domains, targets=tg)
                return None
            law = get_law(key.removesuffix(JOINT), random_state=0, **LAW_OPTIONS.get(key.removesuffix(JOINT), {}))
            if (cache is not None and (key.endswith(JOINT) or not law.coupled_targets)
                    and fit_key(law, W, Yf, domains=table.domains, targets=tg) in cache):
                return None  # fitted by an earlier run: not even loaded
            quiet_fit(key, W, Yf, table.domains, tg)
    except (*CV_FAILURES, ImportError) as err:
        return f"{type(err).__name__}: {err}"[:100]
    return None


def prefit(jobs: list[tuple[str, str, Any, Any]], evals: list[str], cv_folds: int, n_jobs: int,
           cache_dir: str | None, bar: Progress) -> None:
    task = bar.add_task(f"fits ({n_jobs} processes)", total=len(jobs))
    # Longest first (an inner CV, then a fit of every metric, then a fit of one column), so that no process idles
    # at the end.
    order = sorted(jobs, key=lambda j: (j[3] is not None, j[0] != "cv", -len(j[2])))
    with ProcessPoolExecutor(n_jobs, initializer=_init_worker, initargs=(cache_dir,)) as pool:
        futs = [pool.submit(_run_job, *job, evals, cv_folds) for job in order]
        for _ in as_completed(futs):
            bar.advance(task)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--laws", default=",".join(DEFAULT_LAWS), help="single laws for the outer CV")
    ap.add_argument("--meta", default="auto,stack", help="meta-laws nested in the outer CV ('' for none)")
    ap.add_argument("--candidates", default=",".join(DEFAULT_CANDIDATES), help="what auto / stack choose from")
    ap.add_argument("--cv-folds", type=int, default=DEFAULT_FOLDS,
                    help="inner folds of auto / stack (default: the library's, as `--law auto` fits; 3 is cheaper "
                         "but scores many-parameter laws fitted on 2/3 of the runs)")
    ap.add_argument("--metrics", default="all")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--marin-law", default="stack", help="law fitted on Marin's 187 train runs")
    ap.add_argument("--jobs", type=int, default=1, help="processes for the fits (1: fit as needed, in order)")
    ap.add_argument("--cache", default=str(Path.home() / ".cache" / "mixlaw" / "bench_marin_delphi"),
                    help="directory of cached fitted laws")
    ap.add_argument("--no-cache", action="store_true")
    ap.add_argument("--json", action="store_true", help="write one JSON document to stdout (tables to stderr)")
    args = ap.parse_args()

    def say(*a: object) -> None:
        print(*a, file=sys.stderr if args.json else sys.stdout, flush=True)

    cache_dir = None if args.no_cache else str(Path(args.cache) / fingerprint())
    if cache_dir is not None:
        FIT_CACHE.set(DirCache(Path(cache_dir)))
    table = load_marin_delphi()
    evals = table.evals if args.metrics == "all" else args.metrics.split(",")
    laws = [k for k in args.laws.split(",") if k.removesuffix(JOINT) in available_laws()]
    meta = [k for k in args.meta.split(",") if k in META]
    cands = args.candidates.split(",")
    W, Y, doms = table.weights, table.losses(evals), table.domains
    fid = folds(len(table), args.folds)
    split = table.frame["split_regmix"].to_numpy()
    tr_m, te_m = np.flatnonzero(split == "train"), np.flatnonzero(split == "early_stop")
    outer = [np.flatnonzero(fid != f) for f in range(args.folds)]
    keys = laws + meta
    rho = {k: np.full((args.folds, len(evals)), np.nan) for k in keys}
    mre = {k: np.full((args.folds, len(evals)), np.nan) for k in keys}
    secs: dict[str, float] = {}
    errors: dict[str, str] = {}
    choices: dict[str, list[dict[str, Any]]] = {k: [] for k in meta}
    marin_key = args.marin_law
    say(f"Marin Delphi: {len(table)} runs, {len(doms)} buckets; {args.folds}-fold CV (shuffled, seed 0); "
        f"Spearman mean ± std over folds / MRE %; auto/stack: {args.cv_folds}-fold inner CV over {','.join(cands)}")
    say(f"{'law':<14}{'s':>7}" + "".join(f"{e[:16]:>22}" for e in evals))
    with Progress(transient=True, console=Console(stderr=True)) as bar:
        if args.jobs > 1:
            t0 = time.perf_counter()
            prefit(fit_jobs(Y, evals, laws, cands, args.cv_folds, meta, outer,
                            tr_m if marin_key in META else None), evals, args.cv_folds, args.jobs, cache_dir, bar)
            say(f"(fitted into the cache in {time.perf_counter() - t0:.0f} s with {args.jobs} processes)")
        task = bar.add_task("CV", total=len(keys) * args.folds)
        for key in keys:
            t0 = time.perf_counter()
            for f in range(args.folds):
                bar.update(task, description=f"{key} fold {f + 1}/{args.folds}")
                te = fid == f
                try:
                    if key in META:
                        P, chosen = meta_predict(key, W, Y, np.flatnonzero(~te), np.flatnonzero(te), doms, evals,
                                                 cands, args.cv_folds)
                        choices[key].append(chosen)
                    else:
                        law = quiet_fit(key, W[~te], Y[~te], doms, evals)
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            P = np.asarray(law.predict(W[te]), dtype=np.float64).reshape(int(te.sum()), len(evals))
                except (*CV_FAILURES, ImportError) as err:
                    errors[key] = f"{type(err).__name__}: {err}"[:100]
                    bar.advance(task, args.folds - f)
                    break
                for j in range(len(evals)):
                    rho[key][f, j] = metrics.spearman(Y[te, j], P[:, j])
                    mre[key][f, j] = metrics.mre(Y[te, j], P[:, j])
                bar.advance(task)
            secs[key] = time.perf_counter() - t0
            r, m = rho[key], mre[key]
            if key in errors:
                say(f"{key:<14}  failed: {errors[key]}")
            else:
                say(f"{key:<14}{secs[key]:>7.0f}" + "".join(
                    f"{np.mean(r[:, j]):>9.4f}±{np.std(r[:, j]):.3f} {100 * np.mean(m[:, j]):>5.2f}%"
                    for j in range(len(evals))))
    ok = [k for k in laws if k not in errors]
    cv: dict[str, dict[str, Any]] = {}
    for j, e in enumerate(evals):
        means = {k: float(np.mean(rho[k][:, j])) for k in ok}
        best = max(means, key=means.__getitem__)
        cv[e] = {"best_law": best, "spearman": means[best]}
        for k in meta:
            cv[e][k] = None if k in errors else float(np.mean(rho[k][:, j]))
        reached = [cv[e][k] for k in meta if cv[e][k] is not None]
        cv[e]["within_0.01"] = bool(reached) and max(reached) >= means[best] - 0.01
    split_doc: dict[str, dict[str, Any]] = {}
    say(f"\nMarin's split: {marin_key} fitted on the {len(tr_m)} train runs, scored on the {len(te_m)} early_stop runs")
    say(f"{'metric':<22}{'RMSE':>9}{'Spearman':>10}   goal")
    if marin_key in META:
        P, chosen = meta_predict(marin_key, W, Y, tr_m, te_m, doms, evals, cands, args.cv_folds)
    else:
        law = quiet_fit(marin_key, W[tr_m], Y[tr_m], doms, evals)
        chosen = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            P = np.asarray(law.predict(W[te_m]), dtype=np.float64).reshape(len(te_m), len(evals))
    for j, e in enumerate(evals):
        y, p = Y[te_m, j], P[:, j]
        split_doc[e] = {"law": marin_key, "rmse": metrics.rmse(y, p), "spearman": metrics.spearman(y, p)}
        g = GOALS.get(e)
        goal = ""
        if g:
            hit = split_doc[e]["rmse"] <= g["rmse"] and split_doc[e]["spearman"] >= g["rho"]
            goal = f"RMSE <= {g['rmse']}, ρ >= {g['rho']}: {'met' if hit else 'MISSED'}"
        say(f"{e:<22}{split_doc[e]['rmse']:>9.4f}{split_doc[e]['spearman']:>10.4f}   {goal}")
    say("  chosen on the train runs' inner CV: " + "; ".join(f"{e}: {v}" for e, v in chosen.items()))
    say("\nCV summary per metric (mean Spearman over the outer folds)")
    say(f"{'metric':<22}{'best law':<14}{'ρ best':>8}" + "".join(f"{'ρ ' + k:>9}" for k in meta) + "   goals")
    for e, c in cv.items():
        g = GOALS.get(e)
        top = max([c["spearman"]] + [c[k] for k in meta if c[k] is not None])
        goal = f"within 0.01: {'met' if c['within_0.01'] else 'MISSED'}"
        if g:
            goal += f"; CV ρ >= {g['cv']}: {'met' if top >= g['cv'] else 'MISSED'}"
        say(f"{e:<22}{c['best_law']:<14}{c['spearman']:>8.4f}"
            + "".join(f"{c[k]:>9.4f}" if c[k] is not None else f"{'-':>9}" for k in meta) + f"   {goal}")
    if args.json:
        doc = {"cv": cv, "marin_split": split_doc,
               "laws": {k: {"spearman": {e: float(np.mean(rho[k][:, j])) for j, e in enumerate(evals)},
                            "spearman_std": {e: float(np.std(rho[k][:, j])) for j, e in enumerate(evals)},
                            "mre": {e: float(np.mean(mre[k][:, j])) for j, e in enumerate(evals)},
                            "seconds": secs[k]} for k in keys if k not in errors},
               "meta_choices": choices, "marin_choice": chosen, "candidates": cands, "cv_folds": args.cv_folds,
               "errors": errors, "folds": args.folds, "seed": 0}
        print(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
