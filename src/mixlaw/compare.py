"""Fit several laws on one split and score them on held-out splits: the leaderboard (DESIGN.md §5).

Each row reports ranking (Spearman, Pearson, regret) beside calibration (RMSE, and the mean signed error
``bias`` = mean(pred - true): a law can rank well and still predict the wrong level). With an
``objective`` (``"mean"``, ``"total"``, an eval or ``{eval: weight}``) the scores are those of the objective
:math:`\\sum_i s_i L_i` itself, not averages of per-eval scores, and every law is tried two ways: fitted per
eval and aggregated (``law``), and fitted on the objective column directly (``law[direct]``). The meta-laws
``auto`` and ``stack`` add their cross-validation table to their row (``cv``).
"""

from __future__ import annotations

import inspect
import sys
import time
import types
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import metrics
from ._console import cell_len, column_width, pad, repr_as_text
from ._validation import check_flag, renamed
from .data import SCALE_RATIO, RunTable, frame_as_table, scale_mismatch
from .errors import DataWarning, ExtrapolationWarning, FitError, InputError, ScaleWarning, user_stacklevel
from .evals import unweighted_gaps
from .laws import available_laws, get_law
from .laws.base import MixingLaw, check_law_arg, check_seed_reaches
from .laws.registry import missing_extra
from .laws.scale_inputs import SCALE_BLIND_MARK, scale_blind_message
from .laws.selection import (
    META_LAWS,
    OBJECTIVE,
    ONE_LAW_WAY,
    fit_modes,
    member_name,
    n_par_of,
    n_par_text,
    objective_evals,
    objective_weights,
)

#: The notes under a leaderboard for its undefined cells (:func:`score_cell`): ``mixlaw compare``'s table and
#: ``mixlaw report``'s page word them alike.
SCORE_NOTES = {"inf": "inf*: some prediction overflowed or was not positive (the law diverges on a held-out mixture)",
               "nan": "n/a*: undefined (constant predictions or a single held-out run have no rank correlation)"}


def score_cell(v: float, fmt: str = ".4f", seen: set[str] | None = None) -> str:
    """A leaderboard cell: the score, or 'inf*' / 'n/a*' (footnoted by :data:`SCORE_NOTES`; the kind is added to
    ``seen``)."""
    v = float(v)
    if np.isfinite(v):
        return format(v, fmt)
    kind = "inf" if np.isinf(v) else "nan"
    if seen is not None:
        seen.add(kind)
    return "inf*" if kind == "inf" else "n/a*"


#: Laws fitted by default: all registered ones whose optional dependency is importable.
SPLIT_METRICS = ("spearman", "pearson", "mre", "rmse", "bias", "r2", "regret_at_1", "spearman_within_scale")
#: A scale group (held-out runs of one model size, token count and step) needs this many runs to rank.
MIN_SCALE_GROUP = 3


def spearman_within_scale(test: RunTable, y: np.ndarray, pred: np.ndarray) -> float | None:
    """The Spearman of ``pred`` against ``y`` among the held-out runs of each scale (model size, tokens, step) of
    ``test``, averaged over the scales weighted by their runs (groups under :data:`MIN_SCALE_GROUP` runs left out);
    None when ``test`` is at one scale, NaN when no group ranks.

    Why: across scales the pooled Spearman also ranks the sizes. On ADMIRE-BayesOpt's IFT runs (Qwen2.5 0.5B / 3B /
    7B as one table) dz-eq3-safe ranked bbh's runs at 0.83 pooled and 0.14 / 0.07 / -0.00 within each size, so a
    law that only orders the model sizes read as one that ranks the mixtures."""
    spread = test.scale_spread()
    if not spread:
        return None
    cols = [_scale_levels(v) for v in (test.model_params, test.tokens, test.steps) if v is not None]
    keys = np.unique(np.column_stack(cols), axis=0, return_inverse=True)[1].ravel()
    vals, sizes = [], []
    for g in np.unique(keys):
        m = keys == g
        if m.sum() >= MIN_SCALE_GROUP:
            vals.append(metrics.spearman(y[m], pred[m]))
            sizes.append(int(m.sum()))
    ok = [(v, n) for v, n in zip(vals, sizes, strict=True) if np.isfinite(v)]
    if not ok:
        return float("nan")
    return float(np.average([v for v, _ in ok], weights=[n for _, n in ok]))


def _scale_levels(v: np.ndarray) -> np.ndarray:
    """Each run's scale level in one scale column: the sorted values cut where one exceeds its level's first by
    more than :data:`~mixlaw.data.SCALE_RATIO` (the ratio :meth:`~mixlaw.data.RunTable.scale_spread` calls
    several scales). Why not the exact values: token counts logged per run differ in their last digits (2e9 and
    2.00002e9), and grouped exactly every run was a scale of its own, under :data:`MIN_SCALE_GROUP`, so
    ``spearman_within_scale`` read NaN ("n/a") on a split at two sizes."""
    v = np.asarray(v, dtype=np.float64)
    level = np.zeros(len(v), dtype=np.intp)
    start, k = None, -1
    for i in np.argsort(v, kind="stable"):
        x = v[i]
        if start is None or not (x <= start * SCALE_RATIO if start > 0 else x == start):
            start, k = x, k + 1
        level[i] = k
    return level


@dataclass
class LawScore:
    """One leaderboard row."""

    law: str
    fit_seconds: float
    n_params: int
    splits: dict[str, dict[str, float]]
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    fit_on: str = "per-eval"
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"law": self.law, "fit_on": self.fit_on, "fit_seconds": self.fit_seconds,
                             "n_params": self.n_params, "splits": self.splits, **self.details}
        if self.error:
            d["error"] = self.error
        if self.warnings:
            d["warnings"] = self.warnings
        return d


@dataclass
class Leaderboard:
    """Scores of every law on every held-out split, in the order the laws were given."""

    rows: list[LawScore]
    targets: list[str]
    train: str
    n_train: int
    objective: dict[str, float] | None = None
    #: Whether the evals are higher-is-better metrics (``maximize=``, ``--maximize``): which run ``regret_at_1``
    #: is of (the one predicted highest) and against which best (the highest) depend on it.
    maximize: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"targets": self.targets, "objective": self.objective, "maximize": self.maximize, "train": self.train,
                "n_train": self.n_train, "laws": [r.to_dict() for r in self.rows]}

    def to_frame(self) -> Any:
        """The leaderboard as a pandas DataFrame, one row per law and held-out split: ``law`` (as printed,
        ``law[direct]`` for a law fitted on the objective), ``fit_on``, ``split``, ``fit_seconds``, ``n_params``,
        the split's metrics (:data:`SPLIT_METRICS`; NaN where not computed) and ``error``; a law that failed to
        fit has one row, its ``split`` None."""
        import pandas as pd

        rows = []
        for r in self.rows:
            for split, m in (r.splits.items() if r.splits else [(None, {})]):
                rows.append({"law": r.law, "fit_on": r.fit_on, "split": split, "fit_seconds": r.fit_seconds,
                             "n_params": r.n_params, **{k: m.get(k, float("nan")) for k in SPLIT_METRICS},
                             "error": r.error})
        return pd.DataFrame(rows, columns=["law", "fit_on", "split", "fit_seconds", "n_params", *SPLIT_METRICS,
                                           "error"])

    def best(self, split: str, metric: str = "spearman") -> LawScore:
        """The law that scored best on ``split`` by ``metric``: the highest spearman, pearson, r2 or
        spearman_within_scale, the lowest mre, rmse or regret_at_1, the smallest ``|bias|`` (either sign); NaN
        ranks last. InputError for an unknown metric, or a split no law was scored on."""
        if metric not in SPLIT_METRICS:
            raise InputError(f"unknown metric {metric!r}; one of {', '.join(SPLIT_METRICS)}")
        ok = [r for r in self.rows if r.error is None and split in r.splits]
        if not ok:
            # max() of nothing: a bare "ValueError: max() arg is an empty sequence" for a typo in the split's name
            splits = list(dict.fromkeys(s for r in self.rows for s in r.splits))
            raise InputError(f"no law was scored on split {split!r}; the splits: {', '.join(splits) or 'none'}")
        sign = -1 if metric in ("mre", "rmse", "regret_at_1", "bias") else 1
        # bias is best nearest 0: maximised as it was, the law with the largest mean signed error won (hunt34c).
        size = abs if metric == "bias" else (lambda v: v)
        # .get: spearman_within_scale is computed only for a split at several scales (KeyError on one at one scale)
        return max(ok, key=lambda r: sign * np.nan_to_num(size(r.splits[split].get(metric, np.nan)),
                                                          nan=-np.inf * sign))

    _repr_pretty_ = repr_as_text  # a notebook shows the report

    def __str__(self) -> str:
        splits = list(dict.fromkeys(s for r in self.rows for s in r.splits))
        # Each column at least 2 cells wider than its name: 'ρ early_stopMRE early_stop' (Marin's bundled split) and
        # 'dz-eq3-safe[direct]' ran into their neighbours at the fixed width of 14.
        name_w = column_width([r.law for r in self.rows], 12) + 2
        width = {s: max(14, cell_len(f"MRE {s}") + 2) for s in splits}
        head = pad("law", name_w) + f"{'fit s':>7}{'n_par':>7}" + "".join(
            pad("ρ " + s, width[s], ">") + pad("MRE " + s, width[s], ">") for s in splits)
        lines = [head]
        for r in self.rows:
            if r.error:
                lines.append(f"{pad(r.law, name_w)}  failed: {r.error}")
                continue
            cells = "".join(f"{r.splits[s]['spearman']:>{width[s]}.4f}{r.splits[s]['mre']:>{width[s]}.4f}"
                            for s in splits)
            lines.append(f"{pad(r.law, name_w)}{r.fit_seconds:>7.2f}{n_par_text(r.n_params):>7}{cells}")
        return "\n".join(lines)


#: Leaderboard order: the paper laws first, then the baselines; laws registered later follow.
PREFERRED_ORDER = ("ye-exp", "ye-total", "ye-implicit", "ye-pow", "dz-eq1", "dz-eq3", "dz-eq3-safe", "additive",
                   "additive-ens", "bimix", "autoscale", "linear", "loglinear", "lightgbm")


def default_laws() -> list[str]:
    """Every registered law whose optional dependencies import (lightgbm is an extra), in a stable order."""
    out = []
    keys = [k for k in available_laws() if k not in META_LAWS]  # auto / stack re-fit every law K times: opt-in
    for key in [k for k in PREFERRED_ORDER if k in keys] + sorted(k for k in keys if k not in PREFERRED_ORDER):
        if missing_extra(key) is None:
            out.append(key)
    return out


def left_out_laws() -> dict[str, str]:
    """Registered laws that :func:`default_laws` leaves out, with the reason and the fix."""
    return {k: f"its package is not installed (pip install 'mixlaw[{missing_extra(k)}]')" for k in available_laws()
            if k not in META_LAWS and missing_extra(k) is not None}  # auto / stack are opt-in, not left out


def compare(train: RunTable, tests: Mapping[str, RunTable], *, targets: str | Sequence[str] | None = "all",
            laws: Sequence[str | MixingLaw] | None = None, random_state: int = 0,
            objective: str | Mapping[str, float] | None = None, fit_on: Sequence[str] = ("per-eval", "direct"),
            on_progress: Callable[[str], None] | None = None, n_folds: int | None = None,
            on_done: Callable[[str], None] | None = None, cv_folds: int | None = None,
            maximize: bool = False) -> Leaderboard:
    """Fit each law on ``train`` and score it on each held-out table.

    Parameters
    ----------
    train : RunTable
        Fitting runs (a DataFrame in the run table's columns is read as ``RunTable(df)``, here and in ``tests``).
    tests : dict of str to RunTable
        Held-out splits by name; their training domains must match ``train``'s.
    targets : str or list of str, default="all"
        Eval sets. Several targets are fitted at once and scored pooled over all (run, eval) entries
        (Dai & Zheng's MRE); Spearman/Pearson are averaged over eval sets. A loss missing in some fitting runs:
        a law is fitted on the runs that have every target's, ``auto`` / ``stack`` without an objective each eval
        on the runs that have it (their row's ``n_runs`` and ``rows_left_out`` say so).
    laws : list of str or MixingLaw, optional
        Law keys (``"ye-exp"``, also ``"auto"`` and ``"stack"``) or configured laws, whose rows are named by their
        key and the options that differ from the defaults (``ye-pow(gamma_pooling=10)``); each is fitted as a copy
        (the instance given is left as it was). Default: :func:`default_laws`.
    random_state : int, default=0
        Seed of the laws given by key; a law given as an instance is fitted with its own, and a different
        ``random_state`` beside it is an InputError (set it on the law: ``law.set_params(random_state=...)``).
    objective : "mean", "total", eval name or {eval: weight}, optional
        Score the objective :math:`\\sum_i s_i L_i` of ``targets`` (one column) instead of each eval set.
    fit_on : tuple of str, default=("per-eval", "direct")
        With an objective: fit each law per eval and aggregate (``"per-eval"``), on the objective column
        (``"direct"``), or both (two rows per law). ``auto`` and ``stack`` choose among those given by CV.
    on_progress : callable, optional
        Called with each law's key before it is fitted (progress bars); ``on_done`` after it is scored.
    n_folds : int, optional
        Folds of the cross-validation inside ``auto`` / ``stack`` given by key (default theirs: 5, or the fewest
        up to 20 that fit a candidate 5 leave too few training runs); more folds
        fit each candidate on more of the runs, which lets a law with many parameters be scored, at the cost
        of more fits. The laws' own ``n_folds=``; ``--cv-folds`` on the command line.
    cv_folds : int, optional
        The older name of ``n_folds`` (a silent alias; giving both is an InputError).
    maximize : bool, default=False
        The eval columns hold higher-is-better metrics (accuracy): ``regret_at_1`` is then the best held-out value
        minus that of the run the law predicts highest (:func:`mixlaw.metrics.regret_at_k`). The other metrics
        do not depend on the direction.

    Returns
    -------
    Leaderboard
        Laws that fail are kept with their ``error`` so one bad law does not hide the others.
    """
    n_folds = renamed("n_folds", n_folds, "cv_folds", cv_folds)
    # A notebook's natural slips, each a bare AttributeError or a wrong answer before: compare(train, test) ("'RunTable'
    # object has no attribute 'items'"), laws="linear" (read letter by letter: "unknown law 'l'"), maximize="no"
    # (truthy: regret_at_1 of the run predicted highest).
    # A DataFrame in the run table's columns is read as one (as law.fit, fit_table and fit_pipeline read it).
    train = frame_as_table(train)
    if not isinstance(train, RunTable):
        raise InputError(f"compare's train must be a RunTable (mixlaw.read_runs(path), or a DataFrame in its "
                         f"columns); got {type(train).__name__}")
    if isinstance(tests, Mapping):
        tests = {k: frame_as_table(t) for k, t in tests.items()}
    if not isinstance(tests, Mapping) or not all(isinstance(t, RunTable) for t in tests.values()):
        raise InputError(f"compare's tests must be a mapping {{name: RunTable}} of held-out splits, e.g. "
                         f"{{'test': table}} (train, tests = holdout_split(table) gives one); "
                         f"got {type(tests).__name__}")
    if isinstance(laws, str | MixingLaw):
        laws = [laws]
    check_flag(maximize, "maximize", "--maximize")
    names = train.resolve_targets(targets)
    s = objective_weights(objective, names)
    # An eval the objective weighs 0 is neither fitted nor scored: its missing losses cost no row (evals.py).
    names, objective = unweighted_gaps(train, names, objective, s)
    s = objective_weights(objective, names)
    # A held-out split is scored on the evals the objective weighs (all targets without an objective), by their
    # weights: a split may lack the evals weighed by 0.
    scored, scored_s = names, None
    if s is not None:
        nz = np.flatnonzero(s)
        scored, scored_s = [names[i] for i in nz], s[nz]
    for name, t in tests.items():
        train.check_compatible(t)
        missing = [n for n in scored if n not in t.evals]
        if missing:
            # A held-out table often lacks an eval the fitting runs have (Dai & Zheng's test runs without
            # openhermes under --target all): say which targets it can score.
            have = [n for n in scored if n in t.evals]
            hint = (f" (targets={have!r}, --target {','.join(have)} on the command line, scores the evals it has)"
                    if have else "")
            raise InputError(f"{t.path or name}: held-out split {name!r} has no loss column for {missing}{hint}")
    given = list(laws if laws is not None else default_laws())
    for k in given:
        check_law_arg(k, "compare")  # laws=[3] stopped on "AttributeError: 'int' object has no attribute ..."
        # laws=[YePower()], random_state=5 fitted the instance's own seed, 0, without a word (as fit_table did).
        check_seed_reaches(k, random_state, "compare")
    # A law given as an instance is fitted as a copy (scikit-learn's clone): compare refitted the instance itself, so a
    # law fitted on every run before the call was, after it, the law of the fitting split and of compare's targets.
    law_objs = [_make_law(k, random_state, objective, n_folds, fit_on) if isinstance(k, str) else k.clone()
                for k in given]
    # A configured law is named with the options it was given: laws=["ye-pow", YePower(gamma_pooling=10)] gave two
    # rows both named 'ye-pow', and the leaderboard (and best()) could not say which was which.
    law_names = [law.key if isinstance(k, str) else _law_name(law) for k, law in zip(given, law_objs, strict=True)]
    # An eval missing in some runs: a law is fitted on the rows that have all targets, or (auto / stack per eval
    # set: MixingLaw._fits_ragged) each eval on the rows that have it, and scored on the held-out rows that have the
    # scored ones (each says how many it left out).
    ragged = [law._fits_ragged() for law in law_objs]
    full = train
    if all(ragged):
        train = train.rows_with_any(names, who=" / ".join(dict.fromkeys(law._label for law in law_objs)))
    else:
        train = train.complete(names)
    tests = {name: t.complete(scored, doing="scoring") for name, t in tests.items()}
    for name, t in tests.items():
        why = held_out_overlap(full, t, scored, name)
        if why:
            warnings.warn(why, DataWarning, stacklevel=user_stacklevel(2))
    fitted_at, fitted_w = train.scale_summary(), train.weight_ranges()
    for name, t in tests.items():
        why = scale_mismatch(fitted_at, t, f"held-out split {name!r}", fitted_w, evals=scored)
        if why:
            warnings.warn(why, ScaleWarning, stacklevel=user_stacklevel(2))
    # Rows per law: per-eval first, then direct.
    law_modes = [m for m in ("per-eval", "direct") if m in fit_modes(fit_on, s)]
    # A single law fits and scores the evals the objective needs (its one eval, for an objective of one eval set);
    # a meta-law gets every target and narrows them itself.
    idx = objective_evals(s, len(names))
    fit_names, fit_s = [names[i] for i in idx], None if s is None else s[idx]
    # Once for the table (each law's own fit warning is an ExtrapolationWarning, left out of its row).
    why = scale_blind_message(train.path, train.scale_spread(), law_objs, at_params=True,
                              checkpoints=train.has_checkpoints())
    if why:
        warnings.warn(why, ScaleWarning, stacklevel=user_stacklevel(2))
    rows = []
    for law, label in zip(law_objs, law_names, strict=True):
        if on_progress is not None:
            on_progress(law.key)
        meta = law.key in META_LAWS
        own = full if law._fits_ragged() else train  # the law's fit takes the rows it uses
        evals, weights = (names, s) if meta else (fit_names, fit_s)  # a meta-law narrows the targets itself
        for mode in ["per-eval"] if meta else law_modes:
            est = law if mode == "per-eval" else law.clone()
            rows.append(_score_one(est, mode, own, tests, evals, weights, scored, scored_s, maximize, label))
        if on_done is not None:
            on_done(law.key)
    return Leaderboard(rows, names, train.path or "", len(train),
                       None if s is None else dict(zip(names, map(float, s), strict=True)), bool(maximize))


def holdout_split(table: RunTable, fraction: float = 0.2, random_state: int | np.random.Generator = 0,
                  ) -> tuple[RunTable, dict[str, RunTable]]:
    """Hold out a seeded share of a table's runs: what ``mixlaw compare --holdout FRACTION --seed N`` (and ``report``)
    fits and scores, so that :func:`compare` on the result gives the command's leaderboard.

    Parameters
    ----------
    table : RunTable (or a DataFrame in its columns)
    fraction : float, default=0.2
        Share of the runs held out, in (0, 1): ``round(fraction x runs)`` of them (at least 1), every row
        (checkpoint) of a run on one side.
    random_state : int or Generator, default=0
        The draw (``--seed``): a permutation of the sorted run names.

    Returns
    -------
    train : RunTable
        The fitting rows.
    tests : dict
        ``{"holdout": held-out rows}``, as :func:`compare` takes its held-out tables.

    Examples
    --------
    >>> from mixlaw import load_regmix
    >>> train, tests = holdout_split(load_regmix("train_1m"), 0.2, random_state=0)
    >>> len(train), len(tests["holdout"])
    (410, 102)
    """
    # Why: a sweep is one table, and comparing laws on held-out runs meant writing the split by hand (pandas, two
    # files) before --test took it; on Chen et al.'s six BO tables that was a script of its own. It lived in the
    # CLI, so a notebook could not draw the split the command scored.
    table = frame_as_table(table)
    if not isinstance(table, RunTable):
        raise InputError(f"holdout_split takes a RunTable (mixlaw.read_runs(path), or RunTable(df) for a frame in "
                         f"its columns); got {type(table).__name__}")
    if isinstance(fraction, bool) or not (isinstance(fraction, float | int) and 0 < fraction < 1):
        raise InputError(f"--holdout must be a fraction of the runs in (0, 1), e.g. 0.2 (fraction= of holdout_split); "
                         f"got {fraction!r}")
    runs = np.asarray(table.runs, dtype=object)
    names = np.array(sorted(set(runs)), dtype=object)
    n_out = max(1, round(fraction * len(names)))
    if n_out >= len(names):
        raise InputError(f"--holdout {fraction:g} (fraction=) holds out {n_out} of {table.path or 'the table'}'s "
                         f"{len(names)} runs, leaving none to fit")
    out = set(np.random.default_rng(random_state).permutation(names)[:n_out])
    held = np.array([r in out for r in runs])
    return table.subset(~held), {"holdout": table.subset(held)}


def held_out_overlap(train: RunTable, test: RunTable, scored: list[str], name: str) -> str | None:
    """A warning when rows of the held-out ``test`` are fitting rows too: the same mixture, scale and losses of the
    scored evals (``--test runs.csv`` given the ``--runs`` file, or a split cut from it). Their scores read as
    held-out and are in-sample: ``compare --runs runs.csv --test runs.csv`` ranked linear at Spearman 0.996."""
    def keys(t: RunTable) -> list[tuple[float, ...]]:
        # In the fitting table's domain order: a held-out file may order its w: columns otherwise.
        cols = [t.weights_for(train.domains)] + [v[:, None] for v in (t.model_params, t.steps, t.tokens)
                                                 if v is not None]
        cols.append(t.losses(scored, allow_missing=True))
        return [tuple(r) for r in np.round(np.column_stack(cols), 12).tolist()]

    if not scored or len(test) == 0:
        return None
    seen = set(keys(train))
    hits = [i for i, k in enumerate(keys(test)) if k in seen]
    if not hits:
        return None
    return (f"{test.path or name}: {len(hits)} of the {len(test)} runs of held-out split {name!r} are fitting runs "
            f"too (the same mixture and losses, e.g. run {str(test.runs[hits[0]])!r}): their scores are in-sample, "
            "not held out; hold out runs the fit does not see (--holdout, or a --test table of other runs)")


def _law_name(law: MixingLaw) -> str:
    """A configured law's name in a leaderboard: its key, with the options that differ from the defaults
    (``ye-pow(gamma_pooling=10)``); the key alone for a law as registered."""
    options = law._options_text()
    return f"{law.key}({options})" if options else law.key


def _make_law(key: str, random_state: int, objective: str | Mapping[str, float] | None,
              n_folds: int | None = None, fit_on: Sequence[str] = ("per-eval", "direct")) -> MixingLaw:
    if key not in META_LAWS:
        return get_law(key, random_state=random_state)
    # The ways of fitting the objective that the single laws' rows show are the ones auto / stack choose from:
    # 'compare --objective mean --fit-on per-eval --laws auto' chose bimix[direct], a law fitted on the mean.
    kw: dict[str, Any] = {} if objective is None else {"objective": objective, "fit_on": tuple(fit_on)}
    if n_folds is not None:
        kw["n_folds"] = n_folds
    return get_law(key, random_state=random_state, **kw)


def _score_one(law: MixingLaw, mode: str, train: RunTable, tests: Mapping[str, RunTable], names: list[str],
               s: np.ndarray | None, scored: list[str], scored_s: np.ndarray | None,
               maximize: bool = False, name: str | None = None) -> LawScore:
    """Fit ``law`` on ``names`` (per eval, or ``direct`` on the objective column, weights ``s``) and score it on every
    split against the losses of ``scored`` (weighted by ``scored_s``: the objective's nonzero weights). ``name``:
    the law's name in the row (default its key)."""
    label = member_name(name or law.key, mode)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            t0 = time.perf_counter()
            if mode == "direct":
                assert s is not None
                law.fit(train.weights, (train.losses(names) @ s)[:, None], domains=train.domains,
                        targets=[OBJECTIVE], **law._scale_kw(train.model_params, train.tokens))
            else:
                law.fit(train, targets=names)
            fit_s = time.perf_counter() - t0
        except (FitError, InputError) as err:
            # A meta-law beside single laws: 'fit one law instead (--law, law=)' named an option compare and report
            # do not have, where leaving it out of theirs is the way on.
            msg = str(err).replace(ONE_LAW_WAY, f"leave {law.key} out of the laws (--laws, laws=): the single laws "
                                                "are scored without it")
            return LawScore(label, float("nan"), 0, {}, error=msg, fit_on=mode)
        splits = {}
        for split, t in tests.items():
            y = t.losses(scored) if scored_s is None else t.losses(scored) @ scored_s
            pred = np.asarray(law.predict(t), dtype=np.float64).reshape(len(y), -1)
            if s is not None:
                pred = pred[:, 0] if pred.shape[1] == 1 and (mode == "direct" or law.key in META_LAWS) else pred @ s
            splits[split] = metrics.all_metrics(y, pred.reshape(y.shape), maximize=maximize)
            within = spearman_within_scale(t, y, pred.reshape(y.shape))
            if within is not None:  # only for a split at several scales: the pooled Spearman ranks those too
                splits[split]["spearman_within_scale"] = within
    msgs = sorted({str(w.message) for w in caught if not issubclass(w.category, ExtrapolationWarning)})
    if law.members_checked:
        # A meta-law's own scale warning (the member it chose takes no model size / tokens input) is about this
        # law alone, which compare's one warning for the table does not name (meta-laws take both inputs).
        for m in dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, ScaleWarning)
                               and SCALE_BLIND_MARK in str(w.message)):
            warnings.warn(m, ScaleWarning, stacklevel=user_stacklevel(3))
    details: dict[str, Any] = {}
    if hasattr(law, "cv_"):
        details["cv"] = law.cv_.to_dict()
    if hasattr(law, "choice_"):
        details["choice"] = dict(law.choice_)
    if law._fits_ragged() and getattr(law, "rows_left_out_", None):
        # fitted on more rows than the table's complete ones (n_train): each eval on the rows that have it
        details["n_runs"], details["rows_left_out"] = int(law.n_runs_), dict(law.rows_left_out_)
    if hasattr(law, "weights_") and isinstance(law.weights_, dict):
        details["stack_weights"] = law.weights_
    # Counted as the CV table counts it: one compare printed 50 for loglinear in the leaderboard, 23 in auto's table.
    return LawScore(label, fit_s, n_par_of(law), splits, warnings=msgs, fit_on=mode, details=details)


__all__ = ["compare", "holdout_split", "Leaderboard", "LawScore", "default_laws", "SPLIT_METRICS",
           "spearman_within_scale"]


class _CallableModule(types.ModuleType):
    """This module, callable: ``mixlaw.compare(train, tests, ...)`` is :func:`compare`.

    Why: ``from mixlaw import compare`` (the package's docstring) gave the module, and ``mixlaw.compare(train,
    tests)`` raised "'module' object is not callable". Binding the function to the package's ``compare`` name would
    break what docs/laws.md documents (``mixlaw.compare.holdout_split``, ``mixlaw.compare.compare``) and
    ``import mixlaw.compare as m`` (which reads the package attribute: it would give the function); a module whose
    class defines ``__call__`` (the ``__class__`` assignment the Python reference gives for customising a module,
    3.5+) keeps every one of those and makes the call work. The call looks :func:`compare` up when it runs, so a
    test that patches ``mixlaw.compare.compare`` patches the call too."""

    def __call__(self, *args: Any, **kwargs: Any) -> Leaderboard:
        return compare(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
__signature__ = inspect.signature(compare)  # help()/inspect on mixlaw.compare show compare's arguments
