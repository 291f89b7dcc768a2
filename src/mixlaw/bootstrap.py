"""Bootstrap over runs: percentile intervals on fitted parameters, predictions and the optimal mixture.

Each replicate resamples the *runs* of the table with replacement (all rows of a run travel together, so
checkpoints of one run are never split), refits the law and records its parameters, its predictions at
the requested mixtures and, when asked, its optimal mixture. The interval at level :math:`1 - \\alpha` is the
percentile interval :math:`[q_{\\alpha/2}, q_{1-\\alpha/2}]` of the replicate values (Efron & Tibshirani
1993, ch. 13).

Cheap refits: every replicate starts from the full-data optimum with one start
(:func:`~mixlaw.laws.base.warm_clone`; the law's seeded multistart runs only when that start does not
converge), its optimal mixture is searched from the point-estimate optimum with one SLSQP start (the seeded
starts only when that one does not converge), and replicates run on a process pool (``n_jobs``, default
``"auto"``: the usable CPUs, as for the CV's fold fits, :mod:`mixlaw._workers`). For the additive law and
``additive-ens`` the warm refits of a chunk of replicates are one vectorised solve (a replicate is the table with each
run weighted by how often it was drawn; :mod:`mixlaw._bootstrap_additive`); a replicate whose batched solve does not
converge gets the one-by-one refit above, and ``extra`` counts both (``batched_refits``, ``fallback_refits``). For
``ye-exp`` and ``ye-pow`` each replicate is its own fit whose warm-start solve is rows of one solve per chunk
(:mod:`mixlaw._bootstrap_warm`): the same optima to the solver's rounding (RegMix pile_cc, 200 replicates: parameters
within 2.3e-12 relative of one-by-one solves, 0.56x the CPU time). On RegMix Pile-CC, 200
replicates of additive-ens take 19x one fit
(bench/speed.py, 2 idle cores, 2026-12-04: 0.78 s against 0.041 s, 19.2x wall, 19.0x CPU, the point estimate given;
goal 20x; 24.1-24.9x wall before the solver's evaluation made fewer passes over the Jacobian).

How precisely a batched refit is solved (``REFIT_DECREMENT``), and what stopping there moves the intervals by:
:mod:`mixlaw._bootstrap_additive`.

Determinism: replicate b draws its runs from ``SeedSequence(random_state).spawn(n)[b]``, and the law is
refitted from the full-data optimum with its own fixed ``random_state``; batched chunks are fixed by ``n``
and the law, never by the workers, so results are identical whatever the number of workers.

Where the parts are: one replicate's resample and refit, its predictions and optimum in
:mod:`mixlaw._bootstrap_replicate`; the batched refits of the additive law in :mod:`mixlaw._bootstrap_additive` and
of Ye's laws in :mod:`mixlaw._bootstrap_warm`; here the result, the chunks and the worker pool, and the entry point.

References
----------
Efron & Tibshirani, "An Introduction to the Bootstrap", 1993. Besiroglu et al. 2024, "Chinchilla Scaling:
A replication attempt" (seeded bootstrap intervals on scaling-law fits).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import pickle
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._bootstrap_additive import _batch_plan, _batched_chunk, _Plan
from ._bootstrap_replicate import _replicate, run_rows
from ._bootstrap_warm import WarmBatch, warm_batched_chunk, warm_plan
from ._console import pad, repr_as_text
from ._validation import check_is_fitted, check_random_state, renamed
from ._workers import AUTO, resolve_workers, threads_stopped
from .data import RunTable, frame_as_table
from .errors import DataWarning, InputError, MixlawWarning, user_stacklevel
from .evals import objective_weights, unweighted_gaps
from .fit import BATCH_BYTES, single_threaded_blas
from .laws.base import MixingLaw, check_law_arg, get_law, weights_in_order
from .optimize import _make_scalar, _objective_weights, optimize_mixture
from .optimize.search import check_optimize_keywords

#: Below this many replicates a process pool costs more (start-up, pickling) than it saves.
MIN_PARALLEL = 8
#: Rows (replicate x member x eval set) of one batched refit solve: enough to share the solver's per-iteration
#: Python work, few enough that its (rows, runs, parameters) arrays stay small (see
#: ``_bootstrap_additive._batched_chunk``). Each solve ends in a tail of a few slow rows, iterations that cost
#: ~0.5 ms of fixed work whatever their row count, so fewer, larger solves pay fewer tails: additive-ens on RegMix
#: pile_cc, 200 replicates on 2 workers, 0.82 s with 32 (16 solves of 12-13 replicates) against 0.76 s with 64 (8 of
#: 25); all 13 evals 13.1 s against 12.2 s.
BATCH_ROWS = 64
#: Batched chunks come in multiples of this many (see ``bootstrap_law``).
CHUNK_GRAIN = 8


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
    extra : dict
        For laws refitted in batched solves (additive, additive-ens): ``batched_refits``, and
        ``fallback_refits``, the replicates refitted on their own (no converged batched solve, or too few runs).
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
        """Percentile intervals at :attr:`level` of the predicted losses at :attr:`points`.

        Returns
        -------
        ndarray of shape (n_points, n_targets, 2)
            ``[..., 0]`` the lower ends, ``[..., 1]`` the upper ends: ``lo, hi = res.prediction_intervals()[i, k]``
            for point i and target k (``law.targets_`` order). The lower and upper arrays of shape
            (n_points, n_targets), as :meth:`PipelineResult.interval <mixlaw.pipeline.PipelineResult.interval>`
            returns them, are ``lo, hi = np.moveaxis(res.prediction_intervals(), -1, 0)``.
        """
        if self.predictions is None:
            raise InputError("no points were predicted in this bootstrap (pass points=...)")
        q = self._q(self.predictions)
        return np.stack([q[0], q[1]], axis=-1)

    def to_frame(self) -> pd.DataFrame:
        """The parameters' intervals as a DataFrame, one row per parameter (the index): the point estimate
        ``value``, the replicates' percentile interval ``lo`` / ``hi`` at :attr:`level`, and ``vary`` (whether the
        point estimate fitted it; Ye's replicates hold the point estimate's reference domain, a ragged fit's
        replicates may hold another).
        Prediction intervals: :meth:`prediction_intervals`; the optimum's: ``optimum.to_frame()``."""
        pi = self.param_intervals()
        rows = [{"value": p.value, "lo": pi[n][0] if n in pi else np.nan, "hi": pi[n][1] if n in pi else np.nan,
                 "vary": p.vary} for n, p in self.law.params_.items()]
        return pd.DataFrame(rows, index=pd.Index(list(self.law.params_), name="name"),
                            columns=["value", "lo", "hi", "vary"])

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

    _repr_pretty_ = repr_as_text  # a notebook shows the report

    def __str__(self) -> str:
        lines = [f"[[Bootstrap]]  law={self.law.key}  {self.n_boot} refits over runs ({self.n_failed} failed), "
                 f"{self.level:.0%} percentile intervals, seed={self.random_state}, {self.n_jobs} worker(s), "
                 f"{self.seconds:.1f} s"]
        pi = self.param_intervals()
        for p in self.law.params_.values():
            if p.vary:
                lo, hi = pi[p.name]
                lines.append(f"    {pad(p.name, 32)} {p.value:>10.4g}  [{lo:.4g}, {hi:.4g}]")
        if self.optimum is not None:
            lines.append(str(self.optimum))
        return "\n".join(lines)


# ---------------------------------------------------------------------- workers
def _run_chunk(task: dict[str, Any], ids: Sequence[int]) -> list[tuple[int, dict[str, Any]]]:
    with single_threaded_blas(), warnings.catch_warnings():
        # Replicates refit on resampled data; their warnings (a parameter on a bound, extrapolation) are about
        # one resample, not the user's data, and would repeat n times.
        warnings.simplefilter("ignore", MixlawWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        if isinstance(task["plan"], WarmBatch):
            return warm_batched_chunk(task, ids, _replicate)
        if task["plan"] is not None:
            return _batched_chunk(task, ids)
        return [(b, _replicate(task, b)) for b in ids]


#: The task of the bootstrap in progress, inherited by forked workers (nothing large, and no user callable,
#: has to be pickled).
_TASK: dict[str, Any] = {}


def _run_chunk_inherited(ids: Sequence[int]) -> list[tuple[int, dict[str, Any]]]:
    return _run_chunk(_TASK, ids)


#: glibc's mallopt parameters (malloc.h) and the values a worker sets (see ``_keep_freed_memory``).
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
WORKER_TRIM_BYTES, WORKER_MMAP_BYTES = 256 << 20, 32 << 20


def _keep_freed_memory() -> None:
    """Worker initializer: glibc keeps freed memory for the next allocation instead of handing it back to the OS.

    Each solver iteration allocates and frees the same arrays of (rows, runs, parameters), MBs in a batched
    refit; returned to the OS, they page-fault in again every iteration (~5 us a page on 2 shared cores: a third
    of a batched refit). The caller's process is left as it is; nothing happens without glibc's ``mallopt``.
    """
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return
    mallopt(M_TRIM_THRESHOLD, WORKER_TRIM_BYTES)
    mallopt(M_MMAP_THRESHOLD, WORKER_MMAP_BYTES)


def _map_parallel(task: dict[str, Any], chunks: list[list[int]],
                  jobs: int) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    """Run the chunks on ``jobs`` processes, yielding each chunk's results as it is collected (in order):
    forked workers inherit the task; elsewhere it is pickled."""
    if "fork" in multiprocessing.get_all_start_methods():
        _TASK.clear()
        _TASK.update(task)
        try:
            with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork"),
                                     initializer=_keep_freed_memory) as ex:
                # map submits every chunk now, and the first submit forks all the workers: with the progress
                # display's thread stopped (a fork of a multi-threaded process may deadlock).
                with threads_stopped():
                    done = ex.map(_run_chunk_inherited, chunks)
                yield from done
        finally:
            _TASK.clear()
        return
    try:
        pickle.dumps(task)
    except (pickle.PicklingError, AttributeError, TypeError):
        for c in chunks:  # e.g. a lambda objective on a spawn-only platform
            yield _run_chunk(task, c)
        return
    with ProcessPoolExecutor(max_workers=jobs, initializer=_keep_freed_memory) as ex:
        yield from ex.map(_run_chunk, [task] * len(chunks), chunks)


# ---------------------------------------------------------------------- entry point
def resampled_rows(table: RunTable, names: Sequence[str], law: MixingLaw, stacklevel: int = 2) -> RunTable:
    """The rows a bootstrap of ``law`` on the ``names`` evals resamples: those that have every one of their losses
    (:meth:`RunTable.complete`), whose warning says so. A law that fits each eval on its own rows (``auto`` /
    ``stack`` per eval set) does not do so under a bootstrap, whose replicates draw whole runs: its line names the
    rows that costs and says where each eval keeps its own (a fit without the bootstrap), where the plain line's
    hint said that auto and stack already did."""
    if not law._fits_ragged():
        return table.complete(names, stacklevel=stacklevel + 1)
    out, line = table.complete_line(names, doing=f"{law._label} with a bootstrap (--bootstrap, n_boot=): fitting",
                                    hint="its replicates resample whole runs, so each row needs every eval's loss; "
                                         "without a bootstrap it fits each eval on every row that has it")
    if line is not None:
        warnings.warn(line, DataWarning, stacklevel=user_stacklevel(stacklevel))
    return out


def bootstrap_law(law: MixingLaw | str, table: Any, targets: str | Sequence[str] | None = None,
                  n_boot: int | None = None, *,
                  random_state: int | np.random.Generator | None = 0, n_jobs: int | str | None = None,
                  points: Any = None, optimize: Mapping[str, Any] | None = None, level: float = 0.9,
                  law_options: Mapping[str, Any] | None = None,
                  on_progress: Callable[[int], None] | None = None,
                  fitted: MixingLaw | None = None, n: int | None = None) -> BootstrapResult:
    """Bootstrap a law over the runs of a table.

    Parameters
    ----------
    law : MixingLaw or str
        A law (fitted or not; it is refitted on the full table as the point estimate) or a registry key.
    table : RunTable, or a DataFrame in its columns
        The runs. Rows sharing a ``run`` id are resampled together.
    targets : str or list of str, optional
        Eval sets to fit. Default: those of ``law`` when it is fitted (and the table has them), else all of the
        table's (``"all"``).
    n_boot : int, default=200
        Replicates (:attr:`BootstrapResult.n_boot`; ``--bootstrap`` on the command line).
    random_state : int or Generator, default=0
        Seeds the resampling (replicate b uses ``SeedSequence(random_state).spawn(n_boot)[b]``).
    n_jobs : int or "auto", default="auto"
        Worker processes (``concurrent.futures.ProcessPoolExecutor``; ``--workers`` on the command line). None or
        ``"auto"``: the CPUs this process may use (its affinity mask and a container's cgroup CPU quota, which
        ``os.cpu_count()`` does not see), at most 8; 1 inside a worker process; the environment variable
        ``MIXLAW_CV_WORKERS`` overrides it (:func:`mixlaw._workers.resolve_workers`). 1 runs in-process. Results
        do not depend on it.
    points : ndarray of shape (n_points, n_domains) or DataFrame, optional
        Mixtures whose predicted losses get intervals: an array's columns in the table's domain order, a frame's
        read by name (``w:<domain>`` or the domain).
    optimize : dict, optional
        Keyword arguments of :func:`mixlaw.optimize.optimize_mixture`; then every replicate also finds its
        optimal mixture and the point-estimate optimum gets intervals on each weight, on its predicted
        objective and on each eval's predicted loss. A ``trust_radius`` is measured from the table's runs unless
        ``runs`` is given.
    level : float, default=0.9
        Nominal coverage of the percentile intervals. 0.9, not the pipeline's 0.8
        (:func:`~mixlaw.pipeline.fit_pipeline`), on purpose: these are intervals on a fitted law's parameters, its
        predictions at the fitted scale and its optimum (``mixlaw optimize --bootstrap`` prints them at 90 %),
        the uncertainty of the fit alone; the pipeline's are prediction intervals of measured target-scale
        losses, whose nominal-80 % coverage its backtests were measured at. The command line gives each its
        default and has no flag to change it.
    law_options : dict, optional
        Constructor options when ``law`` is a key (refused with a law instance, which is refitted as configured).
    on_progress : callable, optional
        Called with the number of replicates just finished (for a progress bar whose total is ``n_boot``).
    fitted : MixingLaw, optional
        ``law`` already fitted to this table and ``targets`` (a caller that fitted it first, e.g. to check the
        run count): used as the point estimate instead of fitting it again.
    n : int, optional
        The older name of ``n_boot`` (a silent alias; giving both is an InputError).

    Returns
    -------
    BootstrapResult

    Raises
    ------
    InputError
        n_boot < 2, level outside (0, 1), n_jobs not a count >= 1 or "auto", fewer than 2 runs, or a bad law key.

    Notes
    -----
    Percentile intervals (not bias-corrected); replicates that fail to fit are dropped and counted in
    ``n_failed``. The interval on the optimum's predicted objective is taken over the replicate laws
    evaluated at the point-estimate optimum, i.e. the uncertainty of the loss of the mixture one would
    actually train; ``replicate_optimum_objective`` holds each replicate's own optimum value. That interval can
    exclude the point estimate: the optimum is chosen where the full-data law predicts lowest (highest, maximised),
    so its value carries that law's luck, which the refits do not share (the optimizer's curse); the optimum's report
    then says so in a note.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from mixlaw.data import RunTable
    >>> rng = np.random.default_rng(0)
    >>> W = rng.dirichlet(np.ones(2), size=20)
    >>> y = 2 + np.exp(-W[:, 1]) + rng.normal(0, 0.01, 20)
    >>> t = RunTable(pd.DataFrame({"run": [f"r{i}" for i in range(20)], "w:a": W[:, 0], "w:b": W[:, 1],
    ...                            "loss:a": y}))
    >>> res = bootstrap_law("ye-exp", t, n_boot=20, n_jobs=1, points=np.array([[0.5, 0.5]]))
    >>> res.prediction_intervals().shape          # (points, targets, lo/hi)
    (1, 1, 2)
    >>> lo, hi = res.prediction_intervals()[0, 0]
    >>> bool(lo < 2 + np.exp(-0.5) < hi)
    True
    """
    n = renamed("n_boot", n_boot, "n", n, default=200)
    table = frame_as_table(table)  # a DataFrame in the run table's columns, as law.fit reads one
    if not isinstance(table, RunTable):
        raise InputError(f"bootstrap_law needs a RunTable (or a DataFrame in its columns); got {type(table).__name__}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise InputError(f"n_boot (--bootstrap: bootstrap replicates) must be an int >= 2; got {n!r}")
    # Before any fit: -1 stopped the bootstrap with numpy's bare "expected non-negative integer", 'x' with int()'s
    # ValueError and a RandomState with a TypeError, and 1.5 was silently truncated to the seed 1 (_entropy).
    check_random_state(random_state)
    if not (0.0 < float(level) < 1.0):
        raise InputError(f"level must be in (0, 1); got {level!r}")
    if optimize is not None:
        check_optimize_keywords(optimize, "bootstrap_law(optimize=)")
    # Before any fit. Not os.cpu_count(): a 2-CPU container quota on a 64-core host started 64 processes.
    jobs = resolve_workers(n_jobs, default=AUTO)
    check_law_arg(law, "bootstrap_law")
    if law_options and not isinstance(law, str):
        # bootstrap_law(fitted_law, t, law_options={"alpha": 5.0}) refitted the law as it was, options dropped.
        raise InputError(f"bootstrap_law: law_options {sorted(law_options)} configure a law given by key; the law "
                         f"given is an instance, {type(law).__name__}: set them on it (law.set_params(...)) or give "
                         "its key")
    base = get_law(law, **dict(law_options or {})) if isinstance(law, str) else law.clone()
    if targets is None:
        # bootstrap_law(law fitted on pile_cc, table) refitted every eval of the table (13 on RegMix): the point
        # estimate was another law than the one given, and its intervals another law's.
        fitted_on = list(getattr(law, "targets_", []) or [])
        targets = fitted_on if fitted_on and all(t in table.evals for t in fitted_on) else "all"
    names = table.resolve_targets(targets)
    if base._spare_targets(names):
        # auto / stack for an objective that weighs some evals 0: those that miss a loss in the weighed evals' rows
        # are not fitted (as its fit on a table does), so the rows are resampled; the law's objective without them.
        names, obj = unweighted_gaps(table, names, base.objective, objective_weights(base.objective, names))
        if obj is not base.objective:
            base.set_params(objective=obj)
    table = resampled_rows(table, names, base)  # the rows that have every target's loss (a NaN cell: missing)
    W, Y = table.weights, table.losses(names)
    Y = Y.reshape(len(table), -1)
    t0 = time.perf_counter()
    if fitted is not None:
        # An unfitted one stopped on "AttributeError: 'YeExponential' object has no attribute 'params_'".
        check_is_fitted(fitted)
        nominal = fitted
    else:
        nominal = base.clone().fit(W, Y, domains=table.domains, targets=names,
                                   **base._scale_kw(table.model_params, table.tokens))
    run_ids = np.asarray(table.runs).astype(str)
    _, inverse = np.unique(run_ids, return_inverse=True)
    groups = [np.flatnonzero(inverse == g) for g in range(inverse.max() + 1)]
    if len(groups) < 2:
        raise InputError("bootstrap needs at least 2 runs")
    pts = None if points is None else np.atleast_2d(weights_in_order(points, table.domains))
    if pts is not None and pts.shape[1] != W.shape[1]:
        raise InputError(f"points have {pts.shape[1]} columns; the table has {W.shape[1]} domains")
    predict_kw: dict[str, Any] = {}
    if nominal.uses_model_params and table.model_params is not None:
        predict_kw["model_params"] = float(np.max(table.model_params))
    if nominal.uses_tokens and table.tokens is not None:
        predict_kw["tokens"] = float(np.max(table.tokens))
    opt_kw = None if optimize is None else dict(optimize)
    if opt_kw is not None and opt_kw.get("trust_radius") is not None and opt_kw.get("runs") is None:
        # The radius is measured from the runs, which are this table's (as optimize_runs takes them): optimize=
        # {"trust_radius": 0.3} stopped on "trust_radius needs the fitting runs' mixtures (runs=; ...)".
        opt_kw["runs"] = W
    nominal_opt = None if opt_kw is None else optimize_mixture(nominal, **opt_kw)
    # The refits' predictions at the optimum, at the scale it was optimised at (params= / tokens=, as --params /
    # --tokens give it): read at the table's largest, bimix's optimum at 1e8 tokens (3.0021) got the interval of
    # its loss at 4e8, [2.6099, 2.6464].
    opt_predict_kw = dict(predict_kw)
    for key, scale_key, uses in (("model_params", "params", nominal.uses_model_params),
                                 ("tokens", "tokens", nominal.uses_tokens)):
        asked = None if opt_kw is None else opt_kw.get(scale_key, opt_kw.get(key))
        if uses and asked is not None:
            opt_predict_kw[key] = float(asked)
    scalar = None
    if opt_kw is not None:
        oname, s = _objective_weights(opt_kw.get("objective", "mean"), list(nominal.targets_), nominal)
        scalar = _make_scalar(oname, s, opt_kw.get("objective", "mean"))
    names_p = list(nominal.params_)
    ss = np.random.SeedSequence(_entropy(random_state))
    task = {"law": base, "nominal": nominal, "W": W, "Y": Y, "domains": table.domains, "targets": names,
            "model_params": table.model_params if base.uses_model_params else None,
            "tokens": table.tokens if base.uses_tokens else None, "groups": groups, "run_rows": run_rows(groups),
            "seeds": ss.spawn(int(n)), "names": names_p, "points": pts, "predict_kw": predict_kw, "optimize": opt_kw,
            "opt_predict_kw": opt_predict_kw,
            "nominal_w": None if nominal_opt is None else nominal_opt.weight_array(), "scalar": scalar,
            "plan": _batch_plan(nominal, names) or warm_plan(nominal, names)}
    ids = list(range(int(n)))
    plan = task["plan"]
    chunks = _chunks(plan, ids, len(names), len(table), jobs)
    if jobs == 1 or n < MIN_PARALLEL:
        jobs = 1
        parts: Iterator[list[tuple[int, dict[str, Any]]]] = (_run_chunk(task, c) for c in chunks)
    else:
        parts = _map_parallel(task, chunks, jobs)
    results = {}
    for part in parts:
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
    if isinstance(plan, _Plan):
        res.extra["batched_refits"] = sum(bool(results[b].get("batched")) for b in ids)
        res.extra["fallback_refits"] = sum(bool(results[b].get("fallback")) for b in ids)
    if pts is not None:
        K = len(names)
        pred = np.full((n, pts.shape[0], K), np.nan)
        for b in ids:
            if results[b]["ok"]:
                pred[b] = results[b]["pred"]
        res.predictions = pred
    if nominal_opt is not None:
        _attach_optimum(res, nominal_opt, results, ids, float(level), W.shape[1], len(names))
    res.seconds = time.perf_counter() - t0
    return res


def _chunks(plan: Any, ids: list[int], n_targets: int, n_rows: int, jobs: int) -> list[list[int]]:
    """The replicates in the chunks the workers take: batched laws (``plan``) in fixed chunks of one solve each,
    others one by one (one process) or several chunks per worker."""
    n = len(ids)
    if plan is not None:
        # Fixed chunks of replicates, one solve each: the partition depends on n and the law, never on jobs.
        # Fewer replicates per solve on a large table: each row's Jacobian is (runs, parameters), and a solve's
        # Jacobians stay within the engine's BATCH_BYTES as a one-by-one fit's do. Solver rows and parameters per
        # replicate: a Ye law's own (one row per eval set, _bootstrap_warm), the additive members' otherwise.
        if isinstance(plan, WarmBatch):
            rows, p = plan.rows, plan.p
        else:
            rows = len(plan.members) * n_targets
            p = max(len(w) for ws in plan.warm for w in ws)
        size = max(1, min(BATCH_ROWS // rows, int(BATCH_BYTES // (8 * n_rows * p * rows))))
        # Chunks of equal size, and a multiple of CHUNK_GRAIN of them: every worker of a 1-, 2-, 4- or 8-core pool
        # gets the same share (17 chunks of 12 on 2 workers left one idle a twelfth; 7 of 29 an eighth).
        # At least CHUNK_GRAIN chunks: fewer, larger ones than the row cap asks for would leave workers idle.
        k = max(-(-len(ids) // size), CHUNK_GRAIN)
        k = min(-(-k // CHUNK_GRAIN) * CHUNK_GRAIN, len(ids))  # never more chunks than replicates (empty ones)
        return [c.tolist() for c in np.array_split(np.array(ids), k)]
    # Several chunks per worker balance uneven fit times (and move the progress bar); results are keyed
    # by replicate id, so the partition does not change them.
    return [[b] for b in ids] if jobs == 1 or n < MIN_PARALLEL else [ids[i::jobs * 8] for i in range(jobs * 8)]


def _attach_optimum(res: BootstrapResult, nominal_opt: Any, results: dict[int, dict[str, Any]], ids: list[int],
                    level: float, M: int, K: int) -> None:
    """The replicates' optima and their objective at the point estimate's optimum, as ``res`` and the optimum's
    ``intervals`` (percentile, at ``level``) hold them."""
    n = len(ids)
    ow, of, nf = np.full((n, M), np.nan), np.full(n, np.nan), np.full(n, np.nan)
    nl = np.full((n, K), np.nan)
    for b in ids:
        r = results[b]
        if r["ok"]:
            ow[b], of[b], nf[b], nl[b] = r["opt_w"], r["opt_f"], r["nominal_f"], r["nominal_L"]
    res.optimum_weights, res.replicate_optimum_objective, res.optimum_objective = ow, of, nf
    qw, qf, ql, qo = res._q(ow), res._q(nf), res._q(nl), res._q(of)
    nominal_opt.intervals = {
        "level": level, "n_boot": n, "n_failed": res.n_failed,
        "weights": {d: (float(qw[0, j]), float(qw[1, j])) for j, d in enumerate(res.law.domains_)},
        "objective": (float(qf[0]), float(qf[1])),
        "losses": {t: (float(ql[0, i]), float(ql[1, i])) for i, t in enumerate(res.law.targets_)},
        "replicate_optimum_objective": (float(qo[0]), float(qo[1]))}
    res.optimum = nominal_opt


def _entropy(random_state: int | np.random.Generator | None) -> int:
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**63))
    return int(check_random_state(random_state).integers(0, 2**63)) if random_state is None else int(random_state)


__all__ = ["bootstrap_law", "BootstrapResult"]
