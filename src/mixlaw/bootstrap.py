"""Bootstrap over runs: percentile intervals on fitted parameters, predictions and the optimal mixture.

Each replicate resamples the *runs* of the table with replacement (all rows of a run travel together, so
checkpoints of one run are never split), refits the law and records its parameters, its predictions at
the requested mixtures and, when asked, its optimal mixture. The interval at level :math:`1 - \\alpha` is the
percentile interval :math:`[q_{\\alpha/2}, q_{1-\\alpha/2}]` of the replicate values (Efron & Tibshirani
1993, ch. 13).

Cheap refits: every replicate starts from the full-data optimum with one start
(:func:`~mixlaw.laws.base.warm_clone`; the law's seeded multistart runs only when that start does not
converge), its optimal mixture is searched from the point-estimate optimum with one SLSQP start (the seeded
starts only when that one does not converge), and replicates run on a process pool (``n_jobs``, default all
cores).

Determinism: replicate b draws its runs from ``SeedSequence(random_state).spawn(n)[b]``, and the law is
refitted from the full-data optimum with its own fixed ``random_state``, so results are identical whatever
the number of workers.

References
----------
Efron & Tibshirani, "An Introduction to the Bootstrap", 1993. Besiroglu et al. 2024, "Chinchilla Scaling:
A replication attempt" (seeded bootstrap intervals on scaling-law fits).
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._validation import check_random_state
from .data import RunTable
from .errors import FitError, InputError, MixlawWarning
from .fit import single_threaded_blas
from .laws.base import MixingLaw, get_law, warm_clone
from .optimize import _make_scalar, _objective_weights, optimize_mixture

#: Below this many replicates a process pool costs more (start-up, pickling) than it saves.
MIN_PARALLEL = 8
#: What a refit on resampled or held-out data may raise and still count as a failed refit, not a crash: too
#: few distinct runs left for the law's parameter count, no start converging, a singular linear solve.
FIT_FAILURES = (FitError, InputError, np.linalg.LinAlgError, FloatingPointError)


@dataclass
class BootstrapResult:
    """Replicate values and percentile intervals.

    Attributes
    ----------
    law : MixingLaw
        The law fitted on all runs (the point estimate).
    n_boot, n_failed : int
        Replicates run, and how many failed to fit (left out of the intervals).
    level : float
        Nominal coverage of the intervals, e.g. 0.9.
    param_names : list of str
    params : ndarray of shape (n_boot, n_params)
        Replicate parameter values (NaN rows for failed replicates).
    points : ndarray of shape (n_points, n_domains) or None
        Mixtures predicted in every replicate.
    predictions : ndarray of shape (n_boot, n_points, n_targets) or None
    optimum : OptimumResult or None
        The optimum of the point-estimate law, with ``intervals`` filled in.
    optimum_weights : ndarray of shape (n_boot, n_domains) or None
        Each replicate's own optimal mixture.
    optimum_objective : ndarray of shape (n_boot,) or None
        Each replicate's predicted objective at *the point-estimate optimum* (the mixture one would train).
    seconds : float
    n_jobs : int
    """

    law: MixingLaw
    n_boot: int
    n_failed: int
    level: float
    random_state: Any
    param_names: list[str]
    params: np.ndarray
    points: np.ndarray | None = None
    predictions: np.ndarray | None = None
    optimum: Any = None
    optimum_weights: np.ndarray | None = None
    optimum_objective: np.ndarray | None = None
    replicate_optimum_objective: np.ndarray | None = None
    seconds: float = 0.0
    n_jobs: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    def _q(self, a: np.ndarray, axis: int = 0) -> np.ndarray:
        alpha = 1.0 - self.level
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN column: interval is NaN, said as such
            return np.nanpercentile(a, [100 * alpha / 2, 100 * (1 - alpha / 2)], axis=axis)

    def param_intervals(self) -> dict[str, tuple[float, float]]:
        """``{name: (lo, hi)}`` for every parameter."""
        q = self._q(self.params)
        return {n: (float(q[0, i]), float(q[1, i])) for i, n in enumerate(self.param_names)}

    def prediction_intervals(self) -> np.ndarray:
        """ndarray of shape (n_points, n_targets, 2): lower and upper ends for each point and target."""
        if self.predictions is None:
            raise InputError("no points were predicted in this bootstrap (pass points=...)")
        q = self._q(self.predictions)
        return np.stack([q[0], q[1]], axis=-1)

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"n_boot": self.n_boot, "n_failed": self.n_failed, "level": self.level,
                               "random_state": self.random_state if isinstance(self.random_state, int) else None,
                               "seconds": self.seconds, "n_jobs": self.n_jobs,
                               "params": {k: list(v) for k, v in self.param_intervals().items()}}
        if self.predictions is not None:
            doc["predictions"] = self.prediction_intervals().tolist()
        if self.optimum is not None:
            doc["optimum"] = self.optimum.to_dict()
        return doc

    def __str__(self) -> str:
        lines = [f"[[Bootstrap]]  law={self.law.key}  {self.n_boot} refits over runs ({self.n_failed} failed), "
                 f"{self.level:.0%} percentile intervals, seed={self.random_state}, {self.n_jobs} worker(s), "
                 f"{self.seconds:.1f} s"]
        pi = self.param_intervals()
        for p in self.law.params_.values():
            if p.vary:
                lo, hi = pi[p.name]
                lines.append(f"    {p.name:<32} {p.value:>10.4g}  [{lo:.4g}, {hi:.4g}]")
        if self.optimum is not None:
            lines.append(str(self.optimum))
        return "\n".join(lines)


# ---------------------------------------------------------------------- workers
def _replicate(task: dict[str, Any], b: int) -> dict[str, Any]:
    """Refit on bootstrap sample b; every random choice comes from the task's seed for b."""
    rng = np.random.default_rng(task["seeds"][b])
    groups = task["groups"]
    pick = rng.integers(0, len(groups), size=len(groups))
    rows = np.concatenate([groups[g] for g in pick])
    law: MixingLaw = warm_clone(task["nominal"])
    out: dict[str, Any] = {"ok": False}
    mp = None if task["model_params"] is None else task["model_params"][rows]
    tk = None if task["tokens"] is None else task["tokens"][rows]
    with warnings.catch_warnings():
        # Replicates refit on resampled data; their warnings (a parameter on a bound, extrapolation) are about
        # one resample, not the user's data, and would repeat n times.
        warnings.simplefilter("ignore", MixlawWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            law.fit(task["W"][rows], task["Y"][rows], domains=task["domains"], targets=task["targets"],
                    model_params=mp, tokens=tk)
        except FIT_FAILURES:
            return out
        out["params"] = np.array([law.params_[n].value if n in law.params_ else np.nan for n in task["names"]])
        if task["points"] is not None:
            P = np.asarray(law.predict(task["points"], **task["predict_kw"]), dtype=np.float64)
            out["pred"] = P.reshape(task["points"].shape[0], -1)
        if task["optimize"] is not None:
            try:
                opt = _replicate_optimum(law, task)
            except (FitError, InputError):  # the nominal passed the same checks: a failed or constant refit
                return out
            out["opt_w"] = opt.weight_array()
            out["opt_f"] = opt.objective
            L = np.asarray(law.predict(task["nominal_w"][None, :], **task["predict_kw"]), dtype=np.float64).ravel()
            out["nominal_L"] = L
            out["nominal_f"] = task["scalar"](L) if task["scalar"] is not None else np.nan
    out["ok"] = True
    return out


def _replicate_optimum(law: MixingLaw, task: dict[str, Any]) -> Any:
    """A replicate's optimal mixture: one SLSQP start at the point-estimate optimum (the replicate's optimum lies
    near it), and the usual seeded starts only when that start does not converge or the search is not a
    gradient one (a simulation search is centred on the natural mixture, which must not move)."""
    kw = task["optimize"]
    gradient = kw.get("search", "auto") == "gradient" or (kw.get("search", "auto") == "auto"
                                                          and getattr(law, "differentiable", True))
    if gradient and kw.get("n_starts") is None and task["nominal_w"] is not None:
        opt = optimize_mixture(law, **{**kw, "natural": task["nominal_w"], "n_starts": 1})
        if opt.n_converged:
            return opt
    return optimize_mixture(law, **kw)


def _run_chunk(task: dict[str, Any], ids: Sequence[int]) -> list[tuple[int, dict[str, Any]]]:
    with single_threaded_blas():
        return [(b, _replicate(task, b)) for b in ids]


#: The task of the bootstrap in progress, inherited by forked workers (nothing large, and no user callable,
#: has to be pickled).
_TASK: dict[str, Any] = {}


def _run_chunk_inherited(ids: Sequence[int]) -> list[tuple[int, dict[str, Any]]]:
    return _run_chunk(_TASK, ids)


def _map_parallel(task: dict[str, Any], chunks: list[list[int]],
                  jobs: int) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    """Run the chunks on ``jobs`` processes, yielding each chunk's results as it is collected (in order):
    forked workers inherit the task; elsewhere it is pickled."""
    if "fork" in multiprocessing.get_all_start_methods():
        _TASK.clear()
        _TASK.update(task)
        try:
            with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork")) as ex:
                yield from ex.map(_run_chunk_inherited, chunks)
        finally:
            _TASK.clear()
        return
    try:
        pickle.dumps(task)
    except (pickle.PicklingError, AttributeError, TypeError):
        for c in chunks:  # e.g. a lambda objective on a spawn-only platform
            yield _run_chunk(task, c)
        return
    with ProcessPoolExecutor(max_workers=jobs) as ex:
        yield from ex.map(_run_chunk, [task] * len(chunks), chunks)


# ---------------------------------------------------------------------- entry point
def bootstrap_law(law: MixingLaw | str, table: Any, targets: str | Sequence[str] = "all", n: int = 200, *,
                  random_state: int | np.random.Generator | None = 0, n_jobs: int | None = None,
                  points: Any = None, optimize: Mapping[str, Any] | None = None, level: float = 0.9,
                  law_options: Mapping[str, Any] | None = None,
                  on_progress: Callable[[int], None] | None = None,
                  fitted: MixingLaw | None = None) -> BootstrapResult:
    """Bootstrap a law over the runs of a table.

    Parameters
    ----------
    law : MixingLaw or str
        A law (fitted or not; it is refitted on the full table as the point estimate) or a registry key.
    table : RunTable
        The runs. Rows sharing a ``run`` id are resampled together.
    targets : str or list of str, default="all"
        Eval sets to fit.
    n : int, default=200
        Replicates.
    random_state : int or Generator, default=0
        Seeds the resampling (replicate b uses ``SeedSequence(random_state).spawn(n)[b]``).
    n_jobs : int, optional
        Worker processes (``concurrent.futures.ProcessPoolExecutor``); default all cores (``os.cpu_count()``).
        1 runs in-process. Results do not depend on it.
    points : ndarray of shape (n_points, n_domains), optional
        Mixtures whose predicted losses get intervals.
    optimize : dict, optional
        Keyword arguments of :func:`mixlaw.optimize.optimize_mixture`; then every replicate also finds its
        optimal mixture and the point-estimate optimum gets intervals on each weight, on its predicted
        objective and on each eval's predicted loss.
    level : float, default=0.9
        Nominal coverage of the percentile intervals.
    law_options : dict, optional
        Constructor options when ``law`` is a key.
    on_progress : callable, optional
        Called with the number of replicates just finished (for a progress bar whose total is ``n``).
    fitted : MixingLaw, optional
        ``law`` already fitted to this table and ``targets`` (a caller that fitted it first, e.g. to check the
        run count): used as the point estimate instead of fitting it again.

    Returns
    -------
    BootstrapResult

    Raises
    ------
    InputError
        n < 2, level outside (0, 1), fewer than 2 runs, or a bad law key.

    Notes
    -----
    Percentile intervals (not bias-corrected); replicates that fail to fit are dropped and counted in
    ``n_failed``. The interval on the optimum's predicted objective is taken over the replicate laws
    evaluated at the point-estimate optimum, i.e. the uncertainty of the loss of the mixture one would
    actually train; ``replicate_optimum_objective`` holds each replicate's own optimum value.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from mixlaw.data import RunTable
    >>> rng = np.random.default_rng(0)
    >>> W = rng.dirichlet(np.ones(2), size=20)
    >>> y = 2 + np.exp(-W[:, 1]) + rng.normal(0, 0.01, 20)
    >>> t = RunTable(pd.DataFrame({"run": [f"r{i}" for i in range(20)], "w:a": W[:, 0], "w:b": W[:, 1],
    ...                            "loss:a": y}))
    >>> res = bootstrap_law("ye-exp", t, n=20, n_jobs=1, points=np.array([[0.5, 0.5]]))
    >>> lo, hi = res.prediction_intervals()[0, 0]
    >>> bool(lo < 2 + np.exp(-0.5) < hi)
    True
    """
    if not isinstance(table, RunTable):
        raise InputError(f"bootstrap_law needs a RunTable; got {type(table).__name__}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise InputError(f"n (bootstrap replicates) must be an int >= 2; got {n!r}")
    if not (0.0 < float(level) < 1.0):
        raise InputError(f"level must be in (0, 1); got {level!r}")
    base = get_law(law, **dict(law_options or {})) if isinstance(law, str) else law.clone()
    names = table.resolve_targets(targets)
    W, Y = table.weights, table.losses(names)
    Y = Y.reshape(len(table), -1)
    t0 = time.perf_counter()
    if fitted is not None:
        nominal = fitted
    else:
        nominal = base.clone().fit(W, Y, domains=table.domains, targets=names, model_params=table.model_params,
                                   tokens=table.tokens)
    run_ids = np.asarray(table.runs).astype(str)
    _, inverse = np.unique(run_ids, return_inverse=True)
    groups = [np.flatnonzero(inverse == g) for g in range(inverse.max() + 1)]
    if len(groups) < 2:
        raise InputError("bootstrap needs at least 2 runs")
    pts = None if points is None else np.atleast_2d(np.asarray(points, dtype=np.float64))
    if pts is not None and pts.shape[1] != W.shape[1]:
        raise InputError(f"points have {pts.shape[1]} columns; the table has {W.shape[1]} domains")
    predict_kw: dict[str, Any] = {}
    if nominal.uses_model_params and table.model_params is not None:
        predict_kw["model_params"] = float(np.max(table.model_params))
    if nominal.uses_tokens and table.tokens is not None:
        predict_kw["tokens"] = float(np.max(table.tokens))
    opt_kw = None if optimize is None else dict(optimize)
    nominal_opt = None if opt_kw is None else optimize_mixture(nominal, **opt_kw)
    scalar = None
    if opt_kw is not None:
        oname, s = _objective_weights(opt_kw.get("objective", "mean"), list(nominal.targets_))
        scalar = _make_scalar(oname, s, opt_kw.get("objective", "mean"))
    names_p = list(nominal.params_)
    ss = np.random.SeedSequence(_entropy(random_state))
    task = {"law": base, "nominal": nominal, "W": W, "Y": Y, "domains": table.domains, "targets": names,
            "model_params": table.model_params if base.uses_model_params else None,
            "tokens": table.tokens if base.uses_tokens else None, "groups": groups, "seeds": ss.spawn(int(n)),
            "names": names_p, "points": pts, "predict_kw": predict_kw, "optimize": opt_kw,
            "nominal_w": None if nominal_opt is None else nominal_opt.weight_array(), "scalar": scalar}
    jobs = (os.cpu_count() or 1) if n_jobs is None else int(n_jobs)
    if jobs < 1:
        raise InputError(f"n_jobs must be >= 1; got {n_jobs!r}")
    ids = list(range(int(n)))
    if jobs == 1 or n < MIN_PARALLEL:
        jobs = 1
        results = {}
        for b in ids:
            results.update(_run_chunk(task, [b]))
            if on_progress is not None:
                on_progress(1)
    else:
        # Several chunks per worker balance uneven fit times (and move the progress bar); results are keyed
        # by replicate id, so the partition does not change them.
        chunks = [ids[i::jobs * 8] for i in range(jobs * 8)]
        results = {}
        for part in _map_parallel(task, chunks, jobs):
            results.update(part)
            if on_progress is not None:
                on_progress(len(part))
    ok = [results[b]["ok"] for b in ids]
    P = np.full((n, len(names_p)), np.nan)
    for b in ids:
        if "params" in results[b]:
            P[b] = results[b]["params"]
    res = BootstrapResult(law=nominal, n_boot=int(n), n_failed=int(n - sum(ok)), level=float(level),
                          random_state=random_state, param_names=names_p, params=P, points=pts, n_jobs=jobs)
    if pts is not None:
        K = len(names)
        pred = np.full((n, pts.shape[0], K), np.nan)
        for b in ids:
            if results[b]["ok"]:
                pred[b] = results[b]["pred"]
        res.predictions = pred
    if nominal_opt is not None:
        M = W.shape[1]
        ow, of, nf = np.full((n, M), np.nan), np.full(n, np.nan), np.full(n, np.nan)
        nl = np.full((n, len(names)), np.nan)
        for b in ids:
            r = results[b]
            if r["ok"]:
                ow[b], of[b], nf[b], nl[b] = r["opt_w"], r["opt_f"], r["nominal_f"], r["nominal_L"]
        res.optimum_weights, res.replicate_optimum_objective, res.optimum_objective = ow, of, nf
        qw, qf, ql, qo = res._q(ow), res._q(nf), res._q(nl), res._q(of)
        nominal_opt.intervals = {
            "level": float(level), "n_boot": int(n), "n_failed": res.n_failed,
            "weights": {d: (float(qw[0, j]), float(qw[1, j])) for j, d in enumerate(nominal.domains_)},
            "objective": (float(qf[0]), float(qf[1])),
            "losses": {t: (float(ql[0, i]), float(ql[1, i])) for i, t in enumerate(nominal.targets_)},
            "replicate_optimum_objective": (float(qo[0]), float(qo[1]))}
        res.optimum = nominal_opt
    res.seconds = time.perf_counter() - t0
    return res


def _entropy(random_state: int | np.random.Generator | None) -> int:
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**63))
    return int(check_random_state(random_state).integers(0, 2**63)) if random_state is None else int(random_state)


__all__ = ["bootstrap_law", "BootstrapResult"]
