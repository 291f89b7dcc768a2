"""Choosing a law by K-fold cross-validation on the user's own runs (what ``--law auto`` and ``--law stack``
are built on): seeded folds, out-of-fold predictions of every candidate, and the CV table they fill
(:mod:`mixlaw.laws.cv_table`: its rows, the score and its text).

Every candidate is fitted K times, each time on all runs but one fold, and predicts the runs it did not
see. From these out-of-fold predictions :math:`\\hat y` and the truth :math:`y` (per eval set, or of the
objective :math:`\\sum_i s_i L_i`) the table reports Spearman :math:`\\rho`, RMSE, mean signed error
(bias, :math:`\\overline{\\hat y - y}`), MRE and :math:`R^2 = 1 - \\mathrm{MSE} / \\mathrm{Var}(y)`, and the
selection score (lower is better)

.. math:: S = (1 - \\rho) + \\tfrac12 (1 - R^2)

The first term is ranking, the second calibration: for a calibrated predictor with correlation r,
:math:`1 - R^2 = 1 - r^2 \\approx 2 (1 - r)`, so the halved term is on the scale of the ranking term, and
any bias or wrong scale adds to it. A law that ranks well but predicts the wrong level (issue 10: ye-exp
on table9_obj, RMSE 0.061 against linear's 0.026) is therefore not chosen over one that does both.

A law that counts its parameters before fitting (the DZ laws,
:meth:`~mixlaw.laws.base.MixingLaw.n_parameters_for`) is not cross-validated when one of its fitted problems
has more than half as many free parameters as there are runs (:data:`RUNS_PER_PARAM`: a cost guard), counted in
the form a fit on these runs takes (dz-eq3's ``data_term="auto"`` shares its data term where the fitted entries
are too few for one per domain); any other
law is a candidate whenever its folds can fit it (more losses than free parameters, as
:meth:`~mixlaw.laws.base.MixingLaw._n_free_checked` counts them: ``additive-ens``'s shared member's pinned
exponents once), and the CV scores what it predicts (a rule of 2 runs per
parameter after the first fold dropped ye-exp on 14 runs of 7 domains of Dai & Zheng's public runs, where it
was the best law on held-out mixtures); laws that cannot fit the data at all (e.g. laws matching evals to
same-named domains, on benchmark evals) are kept in the table with the reason and never chosen, nor is a law
whose out-of-fold Spearman is not above 0.

The folds are :data:`DEFAULT_FOLDS` unless the caller gave none and a candidate is then too big for a fold's
training runs (more free parameters than losses) though more runs would fit it: the whole CV is rerun with the
fewest folds, up to :data:`MAX_AUTO_FOLDS`, that fit it, and the table says so (5 folds of 40 of Olmix's 51
update-5 runs left out bimix; with 17 folds auto chose it on 7 of 8 evals and ranked the 13 held-out runs at
Spearman 0.677 against 0.494).

With an objective, each law is tried two ways (``fit_on``): ``per-eval`` (fit every eval, aggregate the
predictions with s) and ``direct`` (fit one law on the objective column itself); the CV picks.

References
----------
Stone, "Cross-validatory choice and assessment of statistical predictions", JRSS B 36 (1974);
Liu et al., "RegMix", ICLR 2025 (Spearman on held-out mixtures as the headline).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import numpy as np
from scipy.optimize import nnls

from .._validation import renamed
from .._workers import parse_workers, resolve_workers, threads_stopped
from ..data import WEIGHT_TOL
from ..errors import FitError, InputError, TooFewObservationsError
from ..evals import objective_weights
from ..fit import single_threaded_blas
from ._fit_input import _weights_on_simplex
from ._folds import FOLD_FIT, deal_folds
from .base import MixingLaw, _jsonable, available_laws, get_law, law_from_dict, warm_clone
from .cv_table import (  # noqa: F401  (re-exported: the table lived here until 2026-12-06)
    OBJECTIVE,
    SUMMARY_EVALS,
    CVResult,
    CVRow,
    CVTable,
    member_name,
    n_par_of,
    n_par_text,
    score_columns,
)
from .registry import missing_extra
from .screening import screen as _screen
from .units import loss_unit

#: Folds when none are given (shuffled, seeded), unless a candidate needs more (:data:`MAX_AUTO_FOLDS`).
DEFAULT_FOLDS = 5
#: When the user gave no fold count and 5 folds leave a candidate too few training runs to fit
#: (:class:`~mixlaw.errors.TooFewObservationsError`), the CV is rerun with the fewest folds that fit it, at most
#: this many (and one per run). Why 20: the CV fits every candidate K times (plus the final fit), so 20 folds
#: cost 21/6 = 3.5x the default's fits; and at 20 folds each fold fits 95 % of the runs, so a law that needs more
#: has, on the whole table, fewer than 1.06 losses per free parameter (+1): it all but interpolates the runs,
#: and its CV score would say little. Olmix's update-5 swarm (51 runs, bimix's 45 parameters per eval) needs 11.
MAX_AUTO_FOLDS = 20
#: Laws ``auto`` / ``stack`` choose from by default, when registered and importable. Left out: ye-total (needs
#: a known composition; otherwise ye-exp), ye-implicit (K latent laws: minutes per fit), dz-eq3 (dz-eq3-safe
#: is its zero-safe form), additive (inside additive-ens), autoscale (needs tokens per run).
AUTO_CANDIDATES = ("ye-exp", "ye-pow", "additive-ens", "dz-eq1", "dz-eq3-safe", "bimix", "linear", "loglinear",
                   "loglinear-sat", "gp-residual", "lightgbm")
#: Default candidates left out above this many runs (a cost guard, not a quality rule): gp-residual's
#: marginal-likelihood search does about 20 eigendecompositions of an (n_runs, n_runs) matrix for its first eval set
#: and 8 for each other (the length-scale grid's 11 are shared: residual_gp._max_marginal_likelihood), 0.7 CPU s of
#: 20 at RegMix's 512 runs and 3.8 s at 1000 (cubic), times the CV's K + 1 fits; a user may still name it.
MAX_RUNS = {"gp-residual": 600}
#: Laws that choose or combine other laws; never candidates themselves.
META_LAWS = ("auto", "stack")
#: A law that counts its parameters before fitting (the DZ laws) is not cross-validated with fewer than this many
#: runs per free parameter of a fitted problem: a cost guard (dz-eq1's 528 parameters on Olmix DCLM took 258 CPU s
#: for one fold). Laws that learn their size from a fit are left to the CV, which scores what they predict: the
#: same rule applied after their first fold dropped ye-exp (8 parameters, 14 runs) and ye-pow (16, 28 runs; 10,
#: 17 runs) on Dai & Zheng's public runs, where each was the best law on held-out mixtures and auto, choosing
#: among linear / loglinear / loglinear-sat, erred 1.3-5x as much (or found no law for the mean at 14 runs).
RUNS_PER_PARAM = 2.0
#: Errors a candidate's fit may raise without stopping the selection.
CV_FAILURES = (FitError, InputError, np.linalg.LinAlgError, FloatingPointError)
#: Progress callback ``(label, done, total)`` for cross-validations started inside a meta-law's fit (the CLI
#: sets it to drive a progress bar; estimator constructor arguments stay plain values).
CV_PROGRESS: ContextVar[Callable[[str, int, int], None] | None] = ContextVar("mixlaw_cv_progress", default=None)
#: Worker processes for the fold fits of cross-validations started inside a meta-law's fit (the CLI's
#: ``--workers``, default ``"auto"``: :func:`mixlaw._workers.resolve_workers`); None or 1: in this process (the
#: Python API's default: a library call does not fork unless asked). Results do not depend on it (every fit is
#: seeded; a test checks the tables and out-of-fold predictions are equal).
CV_JOBS: ContextVar[int | str | None] = ContextVar("mixlaw_cv_jobs", default=None)
#: Fitted laws reused across fits: ``{fit_key: law.to_dict()}``, read and written by :func:`fit_law` (every fold
#: fit of a CV and every refit of a meta-law's members). None (the default) caches nothing. Nested
#: cross-validation of ``auto``/``stack`` refits, on each outer training fold, exactly the laws the outer CV
#: fitted there; a bench sets a disk-backed mapping here so that no fit is done twice (a context variable, as
#: sklearn's ``Pipeline(memory=...)`` would be a constructor argument that is not a plain value).
FIT_CACHE: ContextVar[MutableMapping[str, Any] | None] = ContextVar("mixlaw_fit_cache", default=None)
#: CPU seconds of this process (what the screening compares candidates' fold-1 fits by; a test may replace it).
_clock = time.process_time


#: The fewest runs cross-validation splits (:func:`fold_ids`).
MIN_CV_RUNS = 4
#: The way on from too few runs to cross-validate, in fit, optimize and design (--law); compare and report, whose
#: option is --laws, say theirs in its place (:func:`mixlaw.compare._score_one`).
ONE_LAW_WAY = "fit one law instead of choosing one by cross-validation (--law, law=: ye-exp, linear, ...)"


def fold_ids(n: int, n_folds: int = DEFAULT_FOLDS, random_state: int = 0,
             same: np.ndarray | tuple[np.ndarray | None, ...] | None = None) -> np.ndarray:
    """Fold of each of ``n`` runs: a seeded permutation dealt round-robin into ``min(n_folds, n)`` folds.

    ``same`` (n rows, or a tuple of such blocks side by side, None left out: a run's mixture, and its model size
    and tokens where a law takes them): the permutation is dealt over the runs' distinct rows in their content
    order (:func:`mixlaw.laws._folds.deal_folds`), so the same runs in another order get the same folds, and runs
    whose rows are equal (one mixture run at several seeds) go to one fold together. Why together: a fold that
    holds out one seed of a mixture while fitting on its other seeds scores how well a law reproduces a mixture
    it has seen, not a new one (16 mixtures x 3 seeds: every held-out run sat at L1 0 from its fold's runs, and
    the CV rewarded flexible laws for it). Without ``same`` the runs are dealt in the order given."""
    if not isinstance(n_folds, (int, np.integer)) or n_folds < 2:
        raise InputError(f"n_folds must be an int >= 2; got {n_folds!r}")
    if n < MIN_CV_RUNS:
        # Said alone, it named neither the cause nor a way on ('mixlaw fit --at-params largest --final-step' on a
        # sweep whose largest size has 3 runs).
        raise InputError(f"cross-validation needs at least {MIN_CV_RUNS} runs; got {n}: add runs, or {ONE_LAW_WAY}")
    rng = np.random.default_rng(random_state)
    if same is not None:
        return deal_folds(int(n_folds), rng, *(same if isinstance(same, tuple) else (same,)))
    return rng.permutation(n) % int(min(n_folds, n))


def default_candidates(n_runs: int | None = None) -> list[str]:
    """:data:`AUTO_CANDIDATES` that are registered and whose optional dependency imports (and, given the number of
    runs, within :data:`MAX_RUNS`)."""
    out = []
    for key in AUTO_CANDIDATES:
        if key not in available_laws() or (n_runs is not None and n_runs > MAX_RUNS.get(key, n_runs)):
            continue
        if missing_extra(key) is None:
            out.append(key)
    return out



def fit_key(law: MixingLaw, W: np.ndarray, Y: np.ndarray, *, domains: Sequence[str], targets: Sequence[str],
            model_params: np.ndarray | None = None, tokens: np.ndarray | None = None) -> str:
    """SHA-256 (hex) of everything an unfitted ``law``'s fit depends on: its key and options, names and data."""
    head = {"law": law.key, "options": _jsonable(law.get_params()), "domains": [str(d) for d in domains],
            "targets": [str(t) for t in targets]}
    h = hashlib.sha256(json.dumps(head, sort_keys=True, default=repr).encode())
    for a in (W, Y, model_params, tokens):
        if a is None:
            h.update(b"|none")
            continue
        a = np.ascontiguousarray(a, dtype=np.float64)
        h.update(f"|{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def fit_law(key: str, W: np.ndarray, Y: np.ndarray, *, domains: Sequence[str], targets: Sequence[str],
            model_params: np.ndarray | None = None, tokens: np.ndarray | None = None,
            random_state: int = 0, warm: MixingLaw | None = None, **options: Any) -> MixingLaw:
    """``get_law(key, random_state=random_state, **options).fit(W, Y, ...)``, or the same fit from
    :data:`FIT_CACHE`. With ``warm`` (a fitted law made by the same call on other rows) the fit starts from its
    parameters with one start (:func:`~mixlaw.laws.base.warm_clone`), and the cache key holds them too.

    A cached law is rebuilt with :func:`~mixlaw.laws.base.law_from_dict` (its coefficients, not its optimiser
    diagnostics), or served as is when the cache holds the fitted law object (shared: callers only predict
    with it); an entry that does not load is refitted and replaced. Seeded fits only: the key holds the
    options, so an unseeded law is always refitted.
    """
    law = get_law(key, random_state=random_state, **options) if warm is None else warm_clone(warm)
    kw: dict[str, Any] = {"domains": list(domains), "targets": list(targets), "model_params": model_params,
                          "tokens": tokens}
    cache = FIT_CACHE.get()
    # The runs' sizes reach every candidate; a law without such a term is fitted without them (the cache key keeps
    # them, as before): given, its fit warned that they are ignored (ScaleWarning), once per candidate and fold.
    fit_kw = {**kw, **law._scale_kw(model_params, tokens)}
    if cache is None or not isinstance(random_state, (int, np.integer)):
        return law.fit(W, Y, **fit_kw)
    k = fit_key(law, W, Y, **kw)
    if warm is not None:
        k = hashlib.sha256(k.encode() + warm.params_.array("value").tobytes()).hexdigest()
    doc = cache.get(k)
    if isinstance(doc, MixingLaw):
        return doc  # a cache in memory may hold the fitted law itself (rebuilding a LightGBM law takes seconds)
    if doc is not None:
        try:
            return law_from_dict(doc)
        except InputError:
            pass  # written by another version of the law: refit below
    law.fit(W, Y, **fit_kw)
    if isinstance(cache, SharedFits):
        if key in SHARES_FIT.values():  # only what another candidate's fit reuses stays in memory
            cache[k] = law
    else:
        cache[k] = law.to_dict()
    return law


class SharedFits(dict):  # type: ignore[type-arg]
    """A :data:`FIT_CACHE` in memory for one cross-validation, holding the fitted law objects themselves, of the laws
    another candidate's fit reuses (:data:`SHARES_FIT`'s values; the rest are not kept, so memory stays as it was).

    Why: ``gp-residual`` fits its base law (``loglinear-sat``) through :func:`fit_law` on the same fold's runs that
    the ``loglinear-sat`` candidate was just fitted on; served from here, the base is the candidate's own fit (the
    same object: callers only predict with it), not a second identical fit. On Marin Delphi's train split (187
    runs, 39 domains, 9 evals) that second fit was 61 of gp-residual's 61 CPU s per fold, and the two were 123 of
    the 157 CPU s of a fold over all candidates (``bench/auto_many_evals.py`` measures the whole CV).
    """


def _check_size(n_vary: int | None, n_runs: int) -> None:
    """Raise InputError when ``n_vary`` free parameters per fitted problem need more than ``n_runs`` runs."""
    if n_vary is not None and n_vary * RUNS_PER_PARAM > n_runs:
        raise InputError(f"{n_vary} parameters per fitted problem need at least "
                         f"{int(np.ceil(n_vary * RUNS_PER_PARAM))} runs (have {n_runs})")


def _fold_predict(key: str, W: np.ndarray, Y: np.ndarray, folds: np.ndarray, f: int, *, domains: Sequence[str],
                  targets: Sequence[str], model_params: np.ndarray | None, tokens: np.ndarray | None,
                  random_state: int) -> tuple[np.ndarray, int]:
    """Law ``key`` fitted on every fold but ``f``: its predictions of fold ``f``'s runs and, on the probe fold
    (:func:`probe_fold`, fitted first), its free parameters (-1 on other folds; the size rule for laws that count
    them unfitted is checked there)."""
    test = folds == f
    kw = {k: (None if v is None else v[~test]) for k, v in (("model_params", model_params), ("tokens", tokens))}
    n_par = -1
    probe = f == probe_fold(folds)
    if probe:
        # The size rule before the fit where the law can count its parameters without fitting (the DZ laws: dz-eq1
        # has 528 on Olmix DCLM, and its first fold cost 258 CPU s before the rule dropped it).
        _check_size(get_law(key, random_state=random_state).n_parameters_for(domains, targets, W), len(W))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fold fits repeat the full fit's warnings; the final fit reports them
        fold_fit = FOLD_FIT.set(True)  # the law predicts this fold's runs and is dropped (FOLD_FIT)
        try:
            law = fit_law(key, W[~test], Y[~test], domains=domains, targets=targets, random_state=random_state, **kw)
        finally:
            FOLD_FIT.reset(fold_fit)
        if probe:
            # No size rule here: the fold's fit had more observations than parameters (the engine refuses less),
            # and the CV scores the law's held-out predictions (see RUNS_PER_PARAM).
            n_par = n_par_of(law)
        pkw = {k: (None if v is None else v[test]) for k, v in (("model_params", model_params), ("tokens", tokens))}
        P = np.asarray(law.predict(W[test], **pkw), dtype=np.float64).reshape(int(test.sum()), -1)
    return P, n_par


def probe_fold(folds: np.ndarray) -> int:
    """The fold a CV fits first: the one that holds out the most runs (the lowest of them; fold 0 when runs are
    dealt one by one), which fits the fewest. :func:`_fold_predict` runs the size rule and counts the free
    parameters there: counted on fold 0 while the CV probed another (a mixture's seeds dealt into one fold), every
    row read -1 parameters and a law the rule refuses was fitted on the probe fold first."""
    ids, counts = np.unique(folds, return_counts=True)
    return int(ids[np.argmax(counts)])


def _cv_weights(W: Any, label: str) -> np.ndarray:
    """The runs' mixtures held once to the row-sum rule of ``law.fit`` on an array (rows within 0.01 of 1
    renormalised, a row beyond it an InputError naming its index in ``W``). Each fold's fit checked its own rows:
    a bad row excluded every candidate with its index in the fold ("row 2 (of 26)" for row 4 of 40), and rows
    off by rounding were fitted renormalised but predicted as given (linear on 40 noise-free runs x 1.005: CV R2
    0.886 instead of 1). Rows on the simplex (every run table's) are returned as they are."""
    return _weights_on_simplex(np.asarray(W, dtype=np.float64), WEIGHT_TOL, label, option=None)


def cross_val_predict(key: str, W: np.ndarray, Y: np.ndarray, folds: np.ndarray, *, domains: Sequence[str],
                      targets: Sequence[str], params: np.ndarray | None = None,
                      tokens: np.ndarray | None = None, random_state: int = 0,
                      on_fold: Callable[[], None] | None = None,
                      model_params: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """Out-of-fold predictions (n, K) of law ``key`` and its free parameters per fitted problem. ``params`` /
    ``tokens``: each run's model size and tokens, for laws that take them (``model_params``: the older name of
    ``params``, a silent alias; both given is an InputError).

    Every fold is fitted cold, with the law's usual seeded starts. A warm start from another fold's optimum
    would be cheaper, but that optimum was fitted on this fold's test rows, and a local optimum pulled toward
    them flatters the CV score that ``auto`` and ``stack`` choose by.

    Raises one of :data:`CV_FAILURES` when the law cannot be fitted on a fold, or :class:`InputError` when
    it counts, before any fit, more than ``len(W) / RUNS_PER_PARAM`` parameters per fitted problem.
    """
    model_params = renamed("params", params, "model_params", model_params)
    W = _cv_weights(W, "cross_val_predict")
    P = np.full(Y.shape, np.nan)
    n_par = 0
    # The probe fold first: its size rule comes before any fit, as documented.
    probe = probe_fold(folds)
    for f in sorted(np.unique(folds), key=lambda f: f != probe):
        pred, n = _fold_predict(key, W, Y, folds, int(f), domains=domains, targets=targets, model_params=model_params,
                                tokens=tokens, random_state=random_state)
        P[folds == f] = pred
        n_par = n if n >= 0 else n_par
        if on_fold is not None:
            on_fold()
    return P, n_par


def objective_evals(s: np.ndarray | None, n_targets: int) -> list[int]:
    """Indices of the eval sets a law fitted per eval for the objective with weights ``s`` needs: the one eval of
    an objective of one eval set (``--target all --objective pile_cc``: the others' weights are 0, so their fits
    would only be multiplied by 0), else every target."""
    if s is None or np.count_nonzero(s) != 1:
        return list(range(n_targets))
    return [int(np.flatnonzero(s)[0])]


def fit_modes(fit_on: Sequence[str], s: np.ndarray | None) -> list[str]:
    """How a law is fitted for the objective with weights ``s``: per eval set and aggregated, and/or directly on
    the objective column (``fit_on``, in its order). Per eval alone without an objective, and for an objective of
    one eval set (:func:`objective_evals`): its objective column is that eval's own column, so "direct" would
    refit the same law on the same numbers for a copy of every row. InputError when ``fit_on`` names neither."""
    if s is None:
        return ["per-eval"]
    modes = [m for m in fit_on if m in ("per-eval", "direct")]
    if not modes:
        raise InputError(f"fit_on must name 'per-eval' and/or 'direct'; got {list(fit_on)}")
    return ["per-eval"] if np.count_nonzero(s) == 1 and len(modes) == 2 else modes


#: Candidates whose fold fit includes another candidate's, fitted in one task with it so that the shared fit
#: (:class:`SharedFits`) is made once: gp-residual's default base is loglinear-sat.
SHARES_FIT = {"gp-residual": "loglinear-sat"}
_TASK: dict[str, Any] = {}
#: One task: the fits of a sharing group, and the fold they leave out.
_Job = tuple[Sequence[tuple[str, str]], int]


def _share_groups(fits: Sequence[tuple[str, str]]) -> list[tuple[tuple[str, str], ...]]:
    """The (key, mode) fits in tasks: each alone, but a law of :data:`SHARES_FIT` with the fit it shares."""
    groups: list[list[tuple[str, str]]] = []
    for c in fits:
        base = (SHARES_FIT.get(c[0], ""), c[1])
        home = next((g for g in groups if base in g), None)
        if home is None:
            groups.append([c])
        else:
            home.append(c)
    return [tuple(g) for g in groups]


def _fold_task(task: Mapping[str, Any], group: Sequence[tuple[str, str]], f: int) -> list[tuple[Any, ...]]:
    """Fold ``f`` of every fit in ``group``: ``(fit, predictions, n_par, CPU s, error, runs needed)`` each (the
    last: training runs that would fit a law with too few, else None), sharing fits in
    :class:`SharedFits` (or the caller's cache)."""
    cache = task["cache"] if task["cache"] is not None else SharedFits()
    token = FIT_CACHE.set(cache)
    out: list[tuple[Any, ...]] = []
    # BLAS on one thread for the whole fold fit, not only inside the solvers: every multi-threaded call (a
    # prediction's product, a law's start) woke OpenBLAS's second thread, which then spun, so each candidate's fold
    # fit cost 10-30 % more CPU than wall time on 2 cores (Marin Delphi, 1 eval).
    try:
        with single_threaded_blas():
            for c in group:
                Yfit, tg = (task["Y"], task["targets"]) if c[1] == "per-eval" else (task["y_obj"][:, None], [OBJECTIVE])
                t0 = _clock()
                try:
                    pred, n = _fold_predict(c[0], task["W"], Yfit, task["folds"], f, domains=task["domains"],
                                            targets=tg, model_params=task["model_params"], tokens=task["tokens"],
                                            random_state=task["random_state"])
                except CV_FAILURES as err:
                    need = _runs_needed(err, task["folds"], f)
                    hint = _more_folds_hint(need, task["folds"], task["random_state"], task.get("same"))
                    out.append((c, None, 0, 0.0, _one_line(err) + hint, need))
                    continue
                out.append((c, pred, n, _clock() - t0, None, None))
    finally:
        FIT_CACHE.reset(token)
    return out


def _inherited_fold_task(job: _Job) -> list[tuple[Any, ...]]:
    return _fold_task(_TASK, *job)


def _run_fold_tasks(task: dict[str, Any], jobs: list[_Job],
                    n_jobs: int | str | None) -> Iterator[tuple[_Job, list[tuple[Any, ...]]]]:
    """Each job's results, in the jobs' order: in this process, or on ``n_jobs`` forked workers that inherit the
    task (every fit is seeded, so the numbers do not depend on where it ran; a test checks it)."""
    workers = min(resolve_workers(n_jobs if n_jobs is not None else CV_JOBS.get(), default=1), len(jobs))
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for job in jobs:
            yield job, _fold_task(task, *job)
        return
    _TASK.clear()
    _TASK.update(task)
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as ex:
            # map submits every job now, and the first submit forks all the workers: with the progress display's
            # thread stopped (a fork of a multi-threaded process may deadlock). map keeps the jobs' order, so
            # progress ticks and results are the same as in one process.
            with threads_stopped():
                done = ex.map(_inherited_fold_task, jobs)
            yield from zip(jobs, done, strict=True)
    finally:
        _TASK.clear()


@contextmanager
def cv_workers(n: int | str | None) -> Iterator[None]:
    """Run the cross-validations started inside (a meta-law's fit: ``auto`` / ``stack``, ``fit_table``'s default)
    on ``n`` worker processes, or ``"auto"`` (the usable CPUs, at most 8: :func:`mixlaw._workers.resolve_workers`),
    or None (one process, the Python default); InputError for anything else, before any work. The CLI's
    ``--workers`` (default ``auto``). ``with cv_workers("auto"): fit_table(table)`` gives the numbers one process
    gives."""
    # Named as fit reaches it: fit_table has no n_jobs (its options go to the law), so "(n_jobs=)" sent the reader of
    # `mixlaw fit --workers 0` to a keyword that is not there.
    token = CV_JOBS.set(parse_workers(n, "--workers (cv_workers(n))"))
    try:
        yield
    finally:
        CV_JOBS.reset(token)


def cross_validate(W: np.ndarray, Y: np.ndarray, *, domains: Sequence[str], targets: Sequence[str],
                   candidates: Sequence[str] | None = None, objective: str | Mapping[str, float] | None = None,
                   fit_on: Sequence[str] = ("per-eval", "direct"), n_folds: int | None = None,
                   params: np.ndarray | None = None, tokens: np.ndarray | None = None, random_state: int = 0,
                   on_progress: Callable[[str, int, int], None] | None = None, screen: bool = True,
                   n_jobs: int | str | None = None, model_params: np.ndarray | None = None) -> CVResult:
    """K-fold cross-validate candidate laws on ``(W, Y)``.

    Every candidate is fitted on the first fold before any is fitted on the others; with ``screen`` a
    candidate far slower and clearly worse there is not fitted on the rest (:mod:`mixlaw.laws.screening`: the
    rule, and why it leaves the choice alone) and its table row says why.

    Parameters
    ----------
    W : (n, M) array
    Y : (n, K) array
        Losses of the ``targets`` eval sets.
    candidates : list of str, optional
        Law keys; default :func:`default_candidates`.
    objective : "mean", "total", eval name or {eval: weight}, optional
        Score the objective :math:`\\sum_i s_i L_i` (one column ``"objective"``) instead of every eval, and try
        each law ``per-eval`` and ``direct`` (restricted by ``fit_on``).
    n_folds : int, optional
        Folds. Default (None): :data:`DEFAULT_FOLDS`, unless that leaves a candidate too few training runs per fold
        to fit (:class:`~mixlaw.errors.TooFewObservationsError`) while more folds would fit it: then the whole CV
        (every candidate, on the same folds) is rerun with the fewest folds that fit as many such candidates as
        :data:`MAX_AUTO_FOLDS` allows, and the table's ``folds_note`` says so. A given count is used as given.
    params, tokens : (n,) array, optional
        Each run's model size and training tokens, for the candidates that take them.
    random_state : int, default 0
        Seeds the folds, every fit and the screening's bootstrap.
    on_progress : callable, optional
        ``on_progress(label, done, total)`` after each fold fit (total = candidates x modes x folds); default
        the :data:`CV_PROGRESS` context variable.
    screen : bool, default True
        Screen slow candidates that lose clearly on the first fold out of the other folds.
    n_jobs : int or "auto", optional
        Worker processes for the fold fits (default :data:`CV_JOBS`, else 1: this process); ``"auto"``: the usable
        CPUs, at most 8 (:func:`mixlaw._workers.resolve_workers`). The results do not depend on it.
    model_params : (n,) array, optional
        The older name of ``params`` (a silent alias; giving both is an InputError).

    Returns
    -------
    CVResult
    """
    model_params = renamed("params", params, "model_params", model_params)
    # Fits shared within this CV (gp-residual's base is the loglinear-sat candidate's fold fit: SharedFits), unless
    # a caller set its own cache.
    token = FIT_CACHE.set(SharedFits()) if FIT_CACHE.get() is None else None
    try:
        return _cross_validate(W, Y, domains=domains, targets=targets, candidates=candidates, objective=objective,
                               fit_on=fit_on, n_folds=DEFAULT_FOLDS if n_folds is None else n_folds,
                               model_params=model_params, tokens=tokens, random_state=random_state,
                               on_progress=on_progress, screen=screen, n_jobs=n_jobs, grow=n_folds is None, left_out=[])
    finally:
        if token is not None:
            FIT_CACHE.reset(token)


def _cross_validate(W: np.ndarray, Y: np.ndarray, *, domains: Sequence[str], targets: Sequence[str],
                    candidates: Sequence[str] | None, objective: str | Mapping[str, float] | None,
                    fit_on: Sequence[str], n_folds: int, model_params: np.ndarray | None,
                    tokens: np.ndarray | None, random_state: int, on_progress: Callable[[str, int, int], None] | None,
                    screen: bool, n_jobs: int | str | None, grow: bool, left_out: list[str]) -> CVResult:
    """One cross-validation at ``n_folds``; with ``grow``, rerun at more folds when a candidate has too few training
    runs on the first fold (``left_out``: the candidates earlier passes left out so)."""
    W = _cv_weights(W, "cross_validate")
    Y = Y_in = np.asarray(Y, dtype=np.float64).reshape(len(W), -1)
    targets = targets_in = list(targets)
    on_progress = on_progress if on_progress is not None else CV_PROGRESS.get()
    keys = list(candidates) if candidates is not None else default_candidates(len(W))
    bad = [k for k in keys if k in META_LAWS or k not in available_laws()]
    if bad:
        raise InputError(f"not a candidate law: {bad}; candidates are single laws ({', '.join(default_candidates())})")
    if not keys:
        raise InputError("no candidate laws to cross-validate")
    s = objective_weights(objective, targets)
    modes = fit_modes(fit_on, s)
    idx = objective_evals(s, len(targets))  # an objective of one eval set: that eval alone is fitted and scored
    Y, targets, s = Y[:, idx], [targets[i] for i in idx], None if s is None else s[idx]
    # Runs of one mixture (seeds; at one size and length where the laws take those) are held out together.
    same = (W, model_params, tokens)
    folds = fold_ids(len(W), n_folds, random_state, same=same)
    # The fold that holds out the most runs first (fold 0 when runs are dealt one by one, round-robin): it fits
    # the fewest, so a law with too few training runs anywhere says so there, before the other folds run. Dealt by
    # mixture, a mixture's seeds make some fold larger: probed at fold 0, a law passed it and failed a later fold,
    # excluded where more folds would have scored it.
    probe = probe_fold(folds)
    uniq = [probe] + [int(f) for f in np.unique(folds) if f != probe]
    k = len(uniq)
    total, done = len(keys) * len(modes) * k, 0
    y_obj = None if s is None else Y @ s
    cols = targets if s is None else [OBJECTIVE]
    fits = [(key, mode) for key in keys for mode in modes]

    def label(c: tuple[str, str]) -> str:
        return member_name(*c)

    def tick(c: tuple[str, str], n: int = 1) -> None:
        nonlocal done
        done += n
        if on_progress is not None:
            on_progress(label(c), done, total)

    def data(c: tuple[str, str]) -> tuple[np.ndarray, list[str]]:
        return (Y, targets) if c[1] == "per-eval" else (y_obj[:, None], [OBJECTIVE])  # type: ignore[index]

    def scored(c: tuple[str, str], P: np.ndarray) -> np.ndarray:
        """(rows, columns) predictions of the scored columns (the objective aggregated for per-eval)."""
        return P if s is None else (P[:, :1] if c[1] == "direct" else (P @ s)[:, None])

    truth = Y if s is None else y_obj[:, None]  # type: ignore[index]
    P_all: dict[tuple[str, str], np.ndarray] = {}
    n_par: dict[tuple[str, str], int] = {}
    failed: dict[tuple[str, str], str] = {}
    cost: dict[tuple[str, str], float] = {}
    first = folds == uniq[0]
    groups = _share_groups(fits)
    task = {"W": W, "Y": Y, "y_obj": y_obj, "folds": folds, "domains": list(domains), "targets": targets,
            "model_params": model_params, "tokens": tokens, "random_state": random_state, "cache": FIT_CACHE.get(),
            "same": same}
    needs: dict[tuple[str, str], int] = {}
    # Fold 1 of every candidate first: the screening compares them there.
    for _, done_group in _run_fold_tasks(task, [(g, uniq[0]) for g in groups], n_jobs):
        for c, pred, n, secs, error, need in done_group:
            if error is not None:
                failed[c] = error
                if need is not None:
                    needs[c] = need
                tick(c, k)
                continue
            n_par[c], cost[c] = n, secs
            P_all[c] = np.full(data(c)[0].shape, np.nan)
            P_all[c][first] = pred
            tick(c)
    if grow and needs:
        # Fold uniq[0] (the one that holds out the most runs) fits the fewest runs of any
        # fold; a law with too few losses there is refitted with more folds, decided before the other folds run
        # (that first fold is all a pass left this way costs). Every candidate is rerun on the new folds so that
        # the scores the choice compares stay comparable. The rerun may grow again: a law's first refusal may not
        # be its last (on Olmix's update-5 swarm gp-residual's base, loglinear-sat, needed 9 folds, gp-residual
        # itself then 17), and each pass's K is larger, up to MAX_AUTO_FOLDS.
        more = {c: _fewest_folds(len(W), need, k, MAX_AUTO_FOLDS, random_state, same) for c, need in needs.items()}
        fit_more = [c for c, K in more.items() if K is not None]
        if fit_more:
            if on_progress is not None:  # this pass ends here: its bar completes, the rerun counts its own
                on_progress(label(fit_more[0]), total, total)
            return _cross_validate(W, Y_in, domains=domains, targets=targets_in, candidates=candidates,
                                   objective=objective, fit_on=fit_on, n_folds=max(more[c] for c in fit_more),
                                   model_params=model_params, tokens=tokens, random_state=random_state,
                                   on_progress=on_progress, screen=screen, n_jobs=n_jobs, grow=True,
                                   left_out=left_out + [label(c) for c in fit_more if label(c) not in left_out])
    screened: dict[tuple[str, str], str] = {}
    if screen and k > 1:
        f1 = {label(c): scored(c, P_all[c][first]) for c in P_all}
        f1_scores = {lab: [score_columns(truth[first, j], P[:, j])["score"] for j in range(len(cols))]
                     for lab, P in f1.items()}
        out = _screen({label(c): v for c, v in cost.items()}, f1, truth[first], cols, f1_scores, int(random_state))
        screened = {c: out[label(c)].message(k) for c in P_all if label(c) in out}
    for c in screened:
        tick(c, k - 1)
    # The other folds of the candidates left, each (sharing group, fold) one task.
    rest = [tuple(c for c in g if c in P_all and c not in screened) for g in groups]
    fold_err: dict[tuple[str, str], dict[int, str]] = {}
    tasks = [(g, f) for g in rest if g for f in uniq[1:]]
    for (_, f), done_group in _run_fold_tasks(task, tasks, n_jobs):
        for c, pred, _, _, error, _ in done_group:
            if error is not None:
                fold_err.setdefault(c, {})[f] = error
            else:
                P_all[c][folds == f] = pred
            tick(c)
    rows: list[CVRow] = []
    oof: dict[tuple[str, str], np.ndarray] = {}
    for c in fits:
        key, mode = c
        if c in failed or c in screened:
            err = failed.get(c) or screened[c]
            rows.extend(CVRow(key, mode, col, {"score": float("inf")}, n_par.get(c, 0), err, c in screened)
                        for col in cols)
            continue
        if c in fold_err:  # the first fold that failed says why
            err = fold_err[c][min(fold_err[c])]
            rows.extend(CVRow(key, mode, col, {"score": float("inf")}, 0, err) for col in cols)
            continue
        P = P_all[c]
        oof[c] = P
        if s is None:
            rows.extend(CVRow(key, mode, t, score_columns(Y[:, i], P[:, i]), n_par[c]) for i, t in enumerate(targets))
        else:
            pred = P[:, 0] if mode == "direct" else P @ s
            rows.append(CVRow(key, mode, OBJECTIVE, score_columns(y_obj, pred), n_par[c]))  # type: ignore[arg-type]
    table = CVTable(rows, len(W), k, int(random_state), folds_note=_folds_note(left_out, rows, folds))
    return CVResult(table, oof, Y, targets, s, folds)


def _folds_note(left_out: Sequence[str], rows: Sequence[CVRow], folds: np.ndarray) -> str:
    """The line saying why a CV left to choose its folds used ``k``: the candidates :data:`DEFAULT_FOLDS` folds left
    too few training runs (those still excluded at ``k`` said apart), else ''."""
    if not left_out:
        return ""
    still = [c for c in left_out if any(r.name == c and r.error for r in rows)]
    scored = [c for c in left_out if c not in still]
    n, k = len(folds), len(np.unique(folds))
    lo, hi = _training_runs(folds)
    note = (f"{DEFAULT_FOLDS} folds left out {', '.join(scored or still)} (too few training runs); cross-validated "
            f"with {k} folds: each fold fits {lo if lo == hi else f'{lo}-{hi}'} of the {n} runs")
    if still:
        note += f" ({', '.join(still)} still too few)" if scored else " (still too few)"
    return note


def nonneg_weights(P: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Convex stacking weights: argmin ||P w - y||^2 s.t. w >= 0, sum w = 1 (Breiman 1996, "Stacked regressions").

    Solved as non-negative least squares with the sum constraint as one heavily weighted extra row, then
    renormalised; the sum-to-one keeps the ensemble's level (calibration) that of its members. Losses far from
    order 1 are weighed in their :func:`~mixlaw.laws.units.loss_unit` (the weights have none): the extra row's
    weight is at least 1e3 sqrt(n), so losses x 1e-9 vanished beside it and the weights were rounding (a stack on
    losses x 1e-9 gave one eval set wholly to another member, its predictions 0.3 % off).
    """
    P, y = np.asarray(P, dtype=np.float64), np.asarray(y, dtype=np.float64)
    unit = loss_unit(y)
    if unit != 1.0:
        P, y = P / unit, y / unit
    scale = float(np.sqrt(len(y))) * max(float(np.abs(y).max()), 1.0) * 1e3
    A = np.vstack([P, np.full((1, P.shape[1]), scale)])
    b = np.append(y, scale)
    w, _ = nnls(A, b, maxiter=50 * P.shape[1])
    if w.sum() <= 0:
        w = np.zeros(P.shape[1])
        w[int(np.argmin(np.mean((P - y[:, None]) ** 2, axis=0)))] = 1.0
    return w / w.sum()



def _runs_needed(err: BaseException, folds: np.ndarray, f: int) -> int | None:
    """Training runs that would give a law enough losses, when ``err`` says fold ``f``'s training runs gave it too
    few (else None). Losses grow with runs at the fold's rate (runs x eval sets, or the fitted entries of a masked
    law)."""
    if not isinstance(err, TooFewObservationsError) or err.n_obs <= 0 or err.grows:
        return None
    n_fit = int(np.count_nonzero(folds != f))
    return int(np.ceil((err.n_params + 1) * n_fit / err.n_obs))


def _training_runs(folds: np.ndarray) -> tuple[int, int]:
    """The fewest and the most runs a fold's training set holds: the runs less the largest and the smallest fold."""
    counts = np.bincount(folds)
    counts = counts[counts > 0]
    return len(folds) - int(counts.max()), len(folds) - int(counts.min())


def _fewest_folds(n: int, need: int, k: int, cap: int | None = None, random_state: int = 0,
                  same: tuple[np.ndarray | None, ...] | None = None) -> int | None:
    """The fewest folds above ``k`` (at most ``cap`` and ``n``) whose every training set has ``need`` of the ``n``
    runs, or None: the folds themselves dealt (:func:`fold_ids` with this seed and ``same``), since a mixture's
    seeds dealt together make folds uneven (counted as ``n - ceil(n / K)``, a count the round-robin of single
    runs gives, a grown CV could still leave a fold too small)."""
    top = n if cap is None else min(n, cap)
    for K in range(k + 1, top + 1):
        if _training_runs(fold_ids(n, K, random_state, same=same))[0] >= need:
            return K
    return None


def _more_folds_hint(need: int | None, folds: np.ndarray, random_state: int = 0,
                     same: tuple[np.ndarray | None, ...] | None = None) -> str:
    """For a law with too few losses on a fold's ``need``-short training runs: the fewest folds whose every
    training set has enough, when there are such (else '').

    Why: 5-fold CV fits on 4/5 of the runs, so a law that fits the whole table can still be excluded from ``auto``
    (Olmix's update-5 swarm split 51/13: bimix, 45 parameters per eval, fitted 40 runs per fold and was excluded;
    fitted on all 51 it ranked the 13 held-out runs best, Spearman 0.83 against auto's 0.52 with lightgbm).
    With the fold count left to the CV (None), it already reran with the fewest folds up to
    :data:`MAX_AUTO_FOLDS`; a law still too big names the count that would fit it.
    """
    if need is None:
        return ""
    n = len(folds)
    more = _fewest_folds(n, need, len(np.unique(folds)), None, random_state, same)
    if more is None:
        return ""
    lo = _training_runs(fold_ids(n, more, random_state, same=same))[0]  # the smallest training set
    return (f"; with more folds it can be scored: --cv-folds {more} (n_folds={more}) fits each fold on "
            f"{lo} of the {n} runs")


def _one_line(err: BaseException, limit: int = 200) -> str:
    """``err`` on one line for a CV table's row, cut at a word with '...' past ``limit`` characters: cut at 200
    characters, gp-residual's reason ended 'the count is a leave-one-out ridge's effective degr'."""
    text = " ".join(str(err).split())
    if len(text) <= limit:
        return text
    head = text[:limit - 4]
    return (head.rsplit(" ", 1)[0] if " " in head else head) + " ..."


__all__ = ["cross_validate", "cross_val_predict", "fit_modes", "fit_law", "fit_key", "FIT_CACHE", "fold_ids",
           "objective_evals", "objective_weights", "score_columns", "nonneg_weights", "default_candidates", "CVTable",
           "CVRow", "CVResult", "AUTO_CANDIDATES", "MAX_RUNS", "META_LAWS", "DEFAULT_FOLDS", "OBJECTIVE", "CV_PROGRESS",
           "SUMMARY_EVALS", "MAX_AUTO_FOLDS", "SharedFits", "CV_JOBS"]
