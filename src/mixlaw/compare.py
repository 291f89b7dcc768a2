"""Fit several laws on one split and score them on held-out splits: the leaderboard (DESIGN.md §5)."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import metrics
from .data import RunTable, scale_mismatch
from .errors import ExtrapolationWarning, FitError, InputError, ScaleWarning
from .laws import available_laws, get_law
from .laws.base import MixingLaw

#: Laws fitted by default: all registered ones whose optional dependency is importable.
SPLIT_METRICS = ("spearman", "pearson", "mre", "rmse", "r2", "regret_at_1")


@dataclass
class LawScore:
    """One leaderboard row."""

    law: str
    fit_seconds: float
    n_params: int
    splits: dict[str, dict[str, float]]
    error: str | None = None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"law": self.law, "fit_seconds": self.fit_seconds, "n_params": self.n_params,
                             "splits": self.splits}
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

    def to_dict(self) -> dict[str, Any]:
        return {"targets": self.targets, "train": self.train, "n_train": self.n_train,
                "laws": [r.to_dict() for r in self.rows]}

    def best(self, split: str, metric: str = "spearman") -> LawScore:
        ok = [r for r in self.rows if r.error is None and split in r.splits]
        sign = -1 if metric in ("mre", "rmse", "regret_at_1") else 1
        return max(ok, key=lambda r: sign * np.nan_to_num(r.splits[split][metric], nan=-np.inf * sign))

    def __str__(self) -> str:
        splits = list(dict.fromkeys(s for r in self.rows for s in r.splits))
        head = f"{'law':<14}{'fit s':>7}{'n_par':>7}" + "".join(f"{'ρ ' + s:>14}{'MRE ' + s:>14}" for s in splits)
        lines = [head]
        for r in self.rows:
            if r.error:
                lines.append(f"{r.law:<14}  failed: {r.error}")
                continue
            cells = "".join(f"{r.splits[s]['spearman']:>14.4f}{r.splits[s]['mre']:>14.4f}" for s in splits)
            lines.append(f"{r.law:<14}{r.fit_seconds:>7.2f}{r.n_params:>7d}{cells}")
        return "\n".join(lines)


#: Leaderboard order: the paper laws first, then the baselines; laws registered later follow.
PREFERRED_ORDER = ("ye-exp", "ye-total", "ye-implicit", "ye-pow", "dz-eq1", "dz-eq3", "dz-eq3-safe", "additive",
                   "additive-ens", "bimix", "autoscale", "linear", "loglinear", "lightgbm")


def default_laws() -> list[str]:
    """Every registered law whose optional dependencies import (lightgbm is an extra), in a stable order."""
    out = []
    keys = available_laws()
    for key in [k for k in PREFERRED_ORDER if k in keys] + sorted(k for k in keys if k not in PREFERRED_ORDER):
        if key == "lightgbm":
            try:
                import lightgbm  # noqa: F401
            except ImportError:
                continue
        out.append(key)
    return out


def left_out_laws() -> dict[str, str]:
    """Registered laws that :func:`default_laws` leaves out, with the reason and the fix."""
    return {k: "its package is not installed (pip install 'mixlaw[lightgbm]')" for k in available_laws()
            if k not in default_laws()}


def compare(train: RunTable, tests: Mapping[str, RunTable], *, targets: str | Sequence[str] | None = "all",
            laws: Sequence[str | MixingLaw] | None = None, random_state: int = 0,
            on_progress: Callable[[str], None] | None = None) -> Leaderboard:
    """Fit each law on ``train`` and score it on each held-out table.

    Parameters
    ----------
    train : RunTable
        Fitting runs.
    tests : dict of str to RunTable
        Held-out splits by name; their training domains must match ``train``'s.
    targets : str or list of str, default="all"
        Eval sets. Several targets are fitted at once and scored pooled over all (run, eval) entries
        (Dai & Zheng's MRE); Spearman/Pearson are averaged over eval sets.
    laws : list of str or MixingLaw, optional
        Law keys (``"ye-exp"``) or configured laws; default :func:`default_laws`.
    on_progress : callable, optional
        Called with each law's key before it is fitted (progress bars).

    Returns
    -------
    Leaderboard
        Laws that fail are kept with their ``error`` so one bad law does not hide the others.
    """
    names = train.resolve_targets(targets)
    for name, t in tests.items():
        train.check_compatible(t)
        missing = [n for n in names if n not in t.evals]
        if missing:
            raise InputError(f"{t.path or name}: held-out split {name!r} has no loss column for {missing}")
    fitted_at = train.scale_summary()
    for name, t in tests.items():
        why = scale_mismatch(fitted_at, t, f"held-out split {name!r}")
        if why:
            warnings.warn(why, ScaleWarning, stacklevel=2)
    law_objs = [get_law(k, random_state=random_state) if isinstance(k, str) else k
                for k in (laws if laws is not None else default_laws())]
    rows = []
    for law in law_objs:
        if on_progress is not None:
            on_progress(law.key)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                t0 = time.perf_counter()
                law.fit(train, targets=names)
                fit_s = time.perf_counter() - t0
            except (FitError, InputError) as err:
                rows.append(LawScore(law.key, float("nan"), 0, {}, error=str(err)))
                continue
            splits = {}
            for split, t in tests.items():
                y = t.losses(names)
                pred = np.asarray(law.predict(t))
                splits[split] = metrics.all_metrics(y, pred.reshape(y.shape))
        msgs = sorted({str(w.message) for w in caught if not issubclass(w.category, ExtrapolationWarning)})
        rows.append(LawScore(law.key, fit_s, law.n_params_, splits, warnings=msgs))
    return Leaderboard(rows, names, train.path or "", len(train))


__all__ = ["compare", "Leaderboard", "LawScore", "default_laws", "SPLIT_METRICS"]
