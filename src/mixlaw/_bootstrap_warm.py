"""Bootstrap replicates of Ye's laws (``ye-exp``, ``ye-pow``) whose warm-start solves share one batched solve.

A replicate of these laws is refitted by the law's own ``fit`` from the point estimate (one start,
:func:`~mixlaw.laws.base.warm_clone`): its bounds (``|t| <= 30 / smallest share``), loss unit and penalty come from
its resample, its reference domain from the point estimate (:func:`mixlaw._bootstrap_replicate._keep_reference`).
Solved alone, each replicate's warm start is one row per eval set of its own
:func:`~mixlaw._solver.solve_batch` call, ~22 iterations of ~150 small numpy calls whatever the row count. Here a chunk
of replicates runs in three steps: each fit runs on a thread of its own up to its warm solve, which records the
solver's arguments (``fit_models(warm_solver=)``) and pauses it; one solve per observation count takes every recorded
row (replicate x eval set; the rows are independent problems); each paused fit is then handed its rows' outcome in
place of its own solve and goes on to its end. Only one thread runs at a time (each waits while another runs), so a
fit runs once, in the order and with the process state (warning filters, BLAS threads) and context variables it
would have inline. Before, each fit stopped at its warm solve by an exception and ran again from its start to be
handed the outcome: that first run was 13-15 % of the CPU time of a RegMix pile_cc bootstrap. Everything the fit
does around the solve is the replicate's own: a warm start that does not converge gets the law's seeded multistart
for that eval set alone, a replicate whose fit raises fails alone with its reason, and the flat and unseen-domain
rules run on its own result.

The batched rows reach the same optima as one-by-one solves to the solver's rounding: the per-row arithmetic is the
same, and a stacked product's row may round differently with the batch's size (BLAS blocking, the exact phase's
zero-padded gathers). Measured against one-by-one solves (random_state 0): RegMix train_1m pile_cc, 200 replicates,
parameters within 2.3e-12 relative, predictions 9e-16, interval ends 3e-14 of their width, CPU 2.27 s against 4.03 s
(0.56x); all 13 evals, 150 replicates: 9.7e-10, 2.0e-10 and 6.3e-10 of the width, CPU 0.97x (13 rows a replicate
were already a batch whose products, not the fixed per-iteration work, dominate). Chunks are fixed by ``n`` and the law
(``bootstrap._chunks``), never by the workers, so results do not depend on ``n_jobs``.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._solver import solve_batch
from .fit import BATCH_BYTES, _run, _stack_jac
from .laws.base import MixingLaw
from .laws.ye import YeExponential
from .laws.ye_pow import YePower


@dataclass
class WarmBatch:
    """A law whose replicates refit by the law's own ``fit``, their warm-start solves batched (:func:`warm_plan`)."""

    rows: int  # solver rows per replicate (its eval sets)
    p: int  # parameters per row


def warm_plan(nominal: MixingLaw, targets: Sequence[str]) -> WarmBatch | None:
    """Ye's laws (``ye-exp``, ``ye-pow``) with a fixed ridge: each replicate's warm start is solved as one row per eval
    set of a solve shared by a chunk of replicates; everything else (its bounds, reference domain, units, penalty,
    the law's multistart where the warm start does not converge, the flat and unseen settling) is the replicate's
    own fit, so a replicate fails, or falls back, alone and as it would on its own. A CV-chosen ridge (``"cv"``)
    refits its inner folds, which are not batched: None."""
    if type(nominal) not in (YeExponential, YePower) or getattr(nominal, "alpha", None) == "cv":
        return None
    local = getattr(nominal, "_local_names", None)
    if not local or any(t not in local for t in targets):
        return None
    return WarmBatch(len(targets), max(len(v) for v in local.values()))


class _Abandoned(BaseException):
    """Raised in a paused fit whose chunk stopped before handing it an outcome (another replicate raised): its thread
    unwinds through the fit (which forgets its state, as on any error) and ends. Not an Exception, so that no
    ``except Exception`` on the way counts it as the fit's own failure."""


class _PausedFit:
    """One replicate's fit on a thread of its own, paused at its warm-start solve until the chunk hands it its rows'
    outcome (:func:`warm_batched_chunk`). Why a thread: the solve sits six frames deep in the law's ``fit``
    (``_replicate``, ``fit``, the law's ``_fit`` and its mixins', ``fit_models``), and a thread keeps those frames
    for the resume where a generator would have to run through every one of them. The caller and the thread hand
    control to each other (two semaphores): only one of them runs at a time, so the fit runs as it would inline;
    it runs in a copy of the caller's context (NumPy's error state, mixlaw's context variables)."""

    def __init__(self, replicate: Callable[..., dict[str, Any]], task: dict[str, Any], b: int) -> None:
        self.call: tuple[Any, ...] | None = None  # the warm solve's arguments, once paused there
        self._outcome: Any = None
        self._result: dict[str, Any] | None = None
        self._error: BaseException | None = None
        self._go, self._back = threading.Semaphore(0), threading.Semaphore(0)
        self._thread = threading.Thread(target=contextvars.copy_context().run, args=(self._main, replicate, task, b),
                                        name=f"mixlaw-replicate-{b}", daemon=True)

    def start(self) -> None:
        """Run the fit until it pauses at its warm solve, or ends without one."""
        self._thread.start()
        self._back.acquire()

    def _main(self, replicate: Callable[..., dict[str, Any]], task: dict[str, Any], b: int) -> None:
        try:
            self._result = replicate(task, b, self._solve)
        except BaseException as err:  # handed to the caller (result), or the chunk's own abandonment
            self._error = err
        finally:
            self._back.release()

    def _solve(self, *args: Any) -> Any:
        if self.call is not None:  # a second solve of the same fit (another parameter count): its own
            return _run(*args)
        self.call = args
        self._back.release()
        self._go.acquire()
        if self._outcome is None:
            raise _Abandoned
        return self._outcome

    def resume(self, outcome: Any) -> None:
        """Hand the paused fit its warm solve's outcome (None: abandon it) and wait until it ends."""
        self._outcome = outcome
        self._go.release()
        self._back.acquire()
        self._thread.join()

    def abandon(self) -> None:
        """End the fit wherever it is (the chunk stopped: an error, or Ctrl-C while the fit ran): its pause, now or
        to come, does not wait but unwinds (:meth:`join` waits for its end). A Ctrl-C lands in the main thread's
        wait (start, resume) while the fit runs on: left so, it reached its pause alone and waited there for ever."""
        self._outcome = None
        self._go.release()

    def join(self) -> None:
        """Wait until the fit's thread ends (at once when it has, or was never started)."""
        if self._thread.is_alive():
            self._thread.join()

    def result(self) -> dict[str, Any]:
        """The ended fit's replicate record; what it raised (not a failed fit: a bug) is raised here."""
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result


def warm_batched_chunk(task: dict[str, Any], ids: Sequence[int], replicate: Callable[..., dict[str, Any]]
                       ) -> list[tuple[int, dict[str, Any]]]:
    """Refit replicates ``ids`` with their warm-start solves batched: each replicate's fit runs up to its warm
    solve, which is recorded (the solver's arguments, ``fit._run``'s) and pauses the fit (:class:`_PausedFit`); one
    :func:`~mixlaw._solver.solve_batch` per observation count solves every recorded row (replicate x eval set; rows
    are independent); then each paused fit is handed its rows' outcome in place of its own solve and finishes. A fit
    that raises before its solve fails as it would alone, and one that ends without a warm solve keeps its result."""
    out: list[tuple[int, dict[str, Any]]] = []
    paused: dict[int, _PausedFit] = {}
    started: list[_PausedFit] = []
    try:
        for b in ids:
            fit = _PausedFit(replicate, task, b)
            started.append(fit)  # before it runs: an interrupt while it runs still ends it (finally)
            fit.start()
            if fit.call is None:  # failed (or finished) before any warm solve: its own result
                out.append((b, fit.result()))
            else:
                paused[b] = fit
        outcomes = _solve_recorded({b: fit.call for b, fit in paused.items()})  # type: ignore[misc]
        for b, got in outcomes.items():
            fit = paused.pop(b)
            fit.resume(got)
            out.append((b, fit.result()))
    finally:
        # An error or interrupt above: the fits not ended unwind, and their threads end. All are let go before any
        # is waited for: a second Ctrl-C during the waits left the fits not yet let go waiting for ever. Unwinding,
        # a fit runs its error path alone (no warning filters, no shared state), so they may run at once.
        for fit in started:
            fit.abandon()
        for fit in started:
            fit.join()
    return sorted(out, key=lambda r: r[0])


def _solve_recorded(calls: dict[int, tuple[Any, ...]]) -> dict[int, dict[int, tuple[Any, ...]]]:
    """Solve the recorded warm-start problems, grouped by shape and solver settings, as ``fit._run`` would each
    replicate's: per replicate, per problem, (thetas, objectives, nfev, converged count, objectives, flags)."""
    groups: dict[tuple[Any, ...], list[int]] = {}
    for b, (wx, _, _, _, _, _, logy, _, _, loss, delta, max_iter) in calls.items():
        groups.setdefault((logy.shape[1], next(iter(wx.values()))[0].size, loss, float(delta), max_iter),
                          []).append(b)
    result: dict[int, dict[int, tuple[Any, ...]]] = {}
    for (n, p, loss, delta, max_iter), reps in groups.items():
        owner, prob, th0, lo, hi, free, logy, sw, pens = [], [], [], [], [], [], [], [], []
        for j, b in enumerate(reps):
            wx, _, _, lo_b, hi_b, free_b, logy_b, sw_b, pens_b, *_ = calls[b]
            for i, xs in wx.items():
                for x in xs:
                    owner.append(j)
                    prob.append(i)
                    th0.append(x)
                    lo.append(lo_b[i])
                    hi.append(hi_b[i])
                    free.append(free_b[i])
                    logy.append(logy_b[i])
                    sw.append(sw_b[i])
                    pens.append(pens_b[i])
        own, pr = np.array(owner), np.array(prob)
        R = own.size
        theta, f = np.empty((R, p)), np.empty(R)
        conv, nfev = np.empty(R, dtype=bool), np.empty(R, dtype=np.int64)
        step = max(1, min(R, int(BATCH_BYTES // max(1, 8 * n * p))))  # as fit._run bounds a solve's Jacobians
        for a in range(0, R, step):
            sl = slice(a, a + step)
            part_own, part_prob = own[sl], pr[sl]

            def model(th: np.ndarray, rows: np.ndarray, part_own: np.ndarray = part_own,
                      part_prob: np.ndarray = part_prob, reps: list[int] = reps) -> tuple[np.ndarray, Any]:
                # Each replicate's own batch model on its rows (contiguous in the batch).
                who = part_own[rows]
                # Each replicate's slice, cut by plain slicing: np.split's per-piece overhead (25 replicates a chunk,
                # every iteration) was ~2 % of a RegMix pile_cc bootstrap.
                cuts = [0, *(np.flatnonzero(np.diff(who)) + 1).tolist(), rows.size]
                preds, jacs = [], []
                for a, z in zip(cuts[:-1], cuts[1:], strict=True):
                    r_, t_ = rows[a:z], th[a:z]
                    _, models, bm, *_ = calls[reps[int(who[a])]]
                    if bm is not None:
                        pr_, jc = bm(t_, part_prob[r_])
                    else:
                        o = [models[int(i)](t) for i, t in zip(part_prob[r_], t_, strict=True)]
                        pr_, jc = np.array([q[0] for q in o]), _stack_jac([q[1] for q in o])
                    preds.append(pr_)
                    jacs.append(jc)
                if len(preds) == 1:
                    return preds[0], jacs[0]
                return np.concatenate(preds), (_stack_jac(jacs) if not isinstance(jacs[0], np.ndarray)
                                               else np.concatenate(jacs))

            theta[sl], f[sl], conv[sl], nfev[sl] = solve_batch(
                model, np.array(th0[sl]), np.array(lo[sl]), np.array(hi[sl]), np.array(free[sl]),
                np.array(logy[sl]), np.array(sw[sl]), loss=loss, delta=delta, penalties=pens[sl],
                max_iter=max_iter)
        for j, b in enumerate(reps):
            mine = np.flatnonzero(own == j)
            per: dict[int, tuple[Any, ...]] = {}
            for i in calls[b][0]:  # each problem's rows, in the recorded order (as fit._run returns them)
                m = mine[pr[mine] == i]
                fs = np.where(np.isfinite(f[m]) & (f[m] < 1e29), f[m], np.inf)
                per[i] = (list(theta[m]), fs, nfev[m].sum(), int(conv[m].sum()), f[m].tolist(), conv[m].copy())
            result[b] = per
    return result


__all__ = ["WarmBatch", "warm_plan", "warm_batched_chunk"]
