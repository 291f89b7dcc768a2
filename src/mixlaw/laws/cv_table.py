"""The cross-validation table of ``--law auto`` / ``--law stack`` (:mod:`mixlaw.laws.selection` computes it): each
candidate's out-of-fold metrics per scored column, the score S that chooses, and its text (full table, or a summary
per law over many eval sets).

For a column's out-of-fold predictions :math:`\\hat y` and truth :math:`y` (:func:`score_columns`): Spearman
:math:`\\rho`, RMSE, bias :math:`\\overline{\\hat y - y}`, MRE, :math:`R^2 = 1 - \\mathrm{MSE} / \\mathrm{Var}(y)` and

.. math:: S = (1 - \\rho) + \\tfrac12 (1 - R^2)

(lower is better; :mod:`mixlaw.laws.selection`'s docstring says why the two terms and the halving).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from .._console import column_width, label_column, pad, repr_as_text
from ..errors import InputError
from ..metrics import chance_spearman, within_chance

OBJECTIVE = "objective"
#: Above this many eval sets a CV table's text is :meth:`CVTable.summary` (per law across eval sets, one line per
#: eval set) and a meta-law's report a summary too; ``--verbose`` (``CVTable.text(verbose=True)``) gives every row.
#: The full table gives each eval set a header and a row per candidate (13 lines with the 11 default candidates).
SUMMARY_EVALS = 5
#: A meta-law's report is a summary above this many free parameters too, however few its eval sets: a stack on one
#: eval of Olmix's 64-domain swarm (512 runs) listed 452 parameters, 460 lines before its stack weights and CV.
SUMMARY_PARAMS = 200
#: CV scores equal to this many decimals are a tie, which goes to the law with fewer parameters (then to the first
#: candidate). Why: a law that nests another (ye-pow reduces to ye-exp) scores the same on data the smaller one
#: fits, and which of the two "won" by 1e-12 turned on the folds' floating-point rounding.
TIE_DECIMALS = 9


def rank_key(row: CVRow) -> tuple[float, int]:
    """Sort key of a scored row: its score S to :data:`TIE_DECIMALS` decimals, then its number of parameters."""
    return round(float(row.metrics["score"]), TIE_DECIMALS), int(row.n_params)


def score_columns(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """CV metrics of one column: spearman, rmse, bias (mean signed error), mre, r2 and the score S."""
    y, p = np.asarray(y, dtype=np.float64), np.asarray(p, dtype=np.float64)
    if not np.all(np.isfinite(p)):
        nan = float("nan")
        return {"spearman": nan, "rmse": nan, "bias": nan, "mre": nan, "r2": nan, "score": float("inf")}
    rho = float(stats.spearmanr(y, p).statistic) if np.ptp(y) > 0 and np.ptp(p) > 0 else 0.0
    mse = float(np.mean((p - y) ** 2))
    var = float(np.var(y))
    r2 = 1.0 - mse / var if var > 0 else float("nan")
    score = (1.0 - rho) + 0.5 * (1.0 - r2) if np.isfinite(r2) else (1.0 - rho)
    return {"spearman": rho, "rmse": float(np.sqrt(mse)), "bias": float(np.mean(p - y)),
            "mre": float(np.mean(np.abs(p - y) / np.abs(y))), "r2": float(r2), "score": float(score)}


#: Which fit a CV table's n_par counts (:func:`n_par_of` on the fold fitted first, :func:`~.selection.probe_fold`):
#: a leave-one-out ridge's effective count depends on the runs it fits, so ``linear`` read n_par 19 in the CV table
#: and 20 in compare's leaderboard (the fit on all 21 runs), with no word of why.
N_PAR_FOLD = ("counted on the CV fold that fits the fewest runs (a leave-one-out ridge's effective count varies "
              "with its runs)")


def n_par_text(n: int) -> str:
    """The n_par cell of a table: '-' for a law without a parametric form (LightGBM's trees), whose count of 0
    read as "no parameters" beside laws of 20-180 in the CV tables and leaderboards."""
    return str(n) if n > 0 else "-"


def member_name(law: str, fit_on: str) -> str:
    """A candidate's (or a meta-law's member's) name in CV tables, choices and stack weights: the law's key, or
    ``key[direct]`` for one fitted on the objective column itself (``fit_on``; the stack's own row is ``stack``)."""
    return law if fit_on in ("per-eval", "stack") else f"{law}[{fit_on}]"


def n_par_of(law: Any) -> int:
    """A fitted law's n_par in CV tables and leaderboards: its free parameters, or, where it spends fewer degrees of
    freedom (a leave-one-out ridge, a law built on one: ``MixingLaw._n_effective``), those rounded up (loglinear's
    row read n_par 50 on 30 runs, as if interpolating, where it spends 23)."""
    eff = law._n_effective()
    return int(law.n_params_) if eff is None else int(np.ceil(eff))


@dataclass
class CVRow:
    """One candidate scored on one column (an eval set, or the objective)."""

    law: str
    fit_on: str
    target: str
    metrics: dict[str, float]
    n_params: int = 0
    error: str | None = None
    #: Dropped after the first fold by :mod:`mixlaw.laws.screening` (``error`` says why).
    screened: bool = False

    @property
    def name(self) -> str:
        return member_name(self.law, self.fit_on)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"law": self.law, "fit_on": self.fit_on, "target": self.target, "n_params": self.n_params,
                             **{k: _finite_or_none(v) for k, v in self.metrics.items()}}
        if self.error:
            d["error"] = self.error
        if self.screened:
            d["screened"] = True
        return d


#: How :meth:`CVTable.best`'s error starts (:meth:`~mixlaw.laws.base.MixingLaw.fit` adds the runs' scales to it).
NO_CANDIDATE_MARK = "no candidate law can be cross-validated on "


@dataclass
class CVTable:
    """The cross-validation table: every candidate on every scored column, with the score S."""

    rows: list[CVRow]
    n_runs: int
    n_folds: int
    random_state: int
    chosen: dict[str, str] = field(default_factory=dict)
    score_formula: str = "S = (1 - spearman) + (1 - R2) / 2  (lower is better)"
    #: Why the CV used more folds than the default (:func:`cross_validate` with ``n_folds=None``), else "".
    folds_note: str = ""
    #: Eval sets cross-validated on fewer runs than ``n_runs`` (a ragged fit: the runs that have their loss), and
    #: with another fold count than ``n_folds``: ``{eval: runs}``, ``{eval: folds}`` (:meth:`merge`); else empty.
    n_runs_of: dict[str, int] = field(default_factory=dict)
    n_folds_of: dict[str, int] = field(default_factory=dict)

    @classmethod
    def merge(cls, parts: Sequence[tuple[CVTable, int]], targets: Sequence[str], n_runs: int) -> CVTable:
        """One table of the CVs of groups of eval sets, each ``(table, runs)`` on its own runs (``auto`` / ``stack``
        on eval sets measured on different runs): the rows in the order of ``targets``, ``n_runs`` the runs of all
        the groups, and the eval sets whose CV had fewer runs (or other folds than the largest group's) said so
        in :attr:`n_runs_of` / :attr:`n_folds_of`."""
        order = {t: i for i, t in enumerate(targets)}
        rows = sorted((r for t, _ in parts for r in t.rows), key=lambda r: order.get(r.target, len(order)))
        main = max(parts, key=lambda p: p[1])[0]
        runs_of = {t: n for tab, n in parts if n != n_runs for t in tab.targets()}
        folds_of = {t: tab.n_folds for tab, _ in parts if tab.n_folds != main.n_folds for t in tab.targets()}
        notes = list(dict.fromkeys(tab.folds_note for tab, _ in parts if tab.folds_note))
        chosen = {t: c for tab, _ in parts for t, c in tab.chosen.items()}
        return cls(rows, int(n_runs), main.n_folds, main.random_state, chosen, main.score_formula, "; ".join(notes),
                   {t: runs_of[t] for t in targets if t in runs_of}, {t: folds_of[t] for t in targets if t in folds_of})

    def targets(self) -> list[str]:
        return list(dict.fromkeys(r.target for r in self.rows))

    def ok(self, target: str) -> list[CVRow]:
        """Rows that may be chosen: fitted on every fold and ranking better than chance out of fold (a tree
        ensemble on too few runs predicts a constant: Spearman 0)."""
        return [r for r in self.rows if r.target == target and r.error is None and np.isfinite(r.metrics["score"])
                and r.metrics["spearman"] > 0]

    def within_chance(self) -> dict[str, CVRow]:
        """The chosen rows whose out-of-fold Spearman is above 0 (so eligible: :meth:`ok`) but below what chance
        reaches at their runs (:func:`~mixlaw.metrics.chance_spearman`), by eval set."""
        out = {}
        for t, name in self.chosen.items():
            row = next((r for r in self.rows if r.target == t and r.name == name and r.error is None), None)
            if row is not None and within_chance(row.metrics["spearman"], self.n_runs_of.get(t, self.n_runs)):
                out[t] = row
        return out

    def best(self, target: str) -> CVRow:
        """The lowest-score row on ``target`` (ties, to :data:`TIE_DECIMALS` decimals: the fewer parameters, then
        the first candidate)."""
        ok = self.ok(target)
        if not ok:
            errs = "; ".join(f"{r.name}: {r.error or _no_skill(r)}" for r in self.rows if r.target == target)
            # One eval without signal among several stopped the whole fit, and the error, a list of every
            # candidate's failure on that eval, never said that the other evals had laws (Olmix's update-5 swarm,
            # 20 runs x 5 evals: 4 of 5 fitted, 'mmlu_high_school_us_history' stopped all of them).
            every = self.targets()
            bad = [t for t in every if not self.ok(t)]
            good = len(every) - len(bad)
            hint = ("" if not good else
                    f"; {good} of the {len(every)} eval sets {'has' if good == 1 else 'have'} a law that does: leave "
                    + (repr(target) if len(bad) == 1 else f"these {len(bad)} ({', '.join(map(repr, bad))})")
                    + " out of the targets (--target, targets=)")
            raise InputError(f"{NO_CANDIDATE_MARK}{target!r} with these runs, or none "
                             f"ranks them better than chance{hint} ({errs})")
        return min(ok, key=rank_key)

    def best_for_all(self, targets: Sequence[str]) -> str:
        """The law (per-eval rows) with the lowest mean score over ``targets``, for one law for every eval
        (``auto``'s ``per_target=False``); ties, to :data:`TIE_DECIMALS` decimals, go to the fewer parameters,
        then the first candidate, as in :meth:`best`. A law is eligible when it was fitted on every fold and scored
        on every eval (finite S): one that :meth:`best` would never choose for some eval (no finite score) cannot be
        the law for all of them. A law ranking no better than chance on an eval stays eligible (its mean says how
        it does overall; the table marks its row chosen). Raises InputError naming each law's failure when none
        is eligible."""
        keys = list(dict.fromkeys(r.law for r in self.rows if r.fit_on == "per-eval"))
        mean: dict[str, tuple[float, int]] = {}
        why: dict[str, str] = {}
        for k in keys:
            rows = {r.target: r for r in self.rows if r.law == k and r.fit_on == "per-eval"}
            bad = [t for t in targets if t not in rows or rows[t].error is not None
                   or not np.isfinite(rows[t].metrics["score"])]
            if bad:
                err = next((rows[t].error for t in bad if t in rows and rows[t].error), None)
                why[k] = err or "not scored on " + ", ".join(repr(t) for t in bad)
                continue
            score = float(np.mean([rows[t].metrics["score"] for t in targets]))
            mean[k] = round(score, TIE_DECIMALS), max(int(rows[t].n_params) for t in targets)
        if not mean:
            raise InputError(f"{NO_CANDIDATE_MARK}every one of {', '.join(map(repr, targets))} with these runs, as "
                             "one law for all of them (fit per eval set instead: per_target=True (--law-option "
                             "per_target=true)) ("
                             + "; ".join(f"{k}: {why[k]}" for k in keys) + ")")
        return min(mean, key=mean.__getitem__)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"n_runs": self.n_runs, "n_folds": self.n_folds, "seed": self.random_state,
                             "score": self.score_formula, "chosen": dict(self.chosen),
                             "rows": [r.to_dict() for r in self.rows]}
        if self.folds_note:
            d["folds_note"] = self.folds_note
        if self.n_runs_of:
            d["n_runs_of"] = dict(self.n_runs_of)
        if self.n_folds_of:
            d["n_folds_of"] = dict(self.n_folds_of)
        return d

    def to_frame(self) -> Any:
        """The table as a pandas DataFrame, one row per candidate and scored column: ``law`` (``law[direct]`` for a
        law fitted on the objective), ``fit_on``, ``target``, the out-of-fold ``spearman``, ``rmse``, ``bias``,
        ``mre``, ``r2`` and ``score`` (S, lower is better; NaN / inf for a candidate that could not be scored),
        ``n_params``, ``error`` (why it was excluded or screened out, else None), ``screened`` and ``chosen``
        (whether this row is the law chosen for its target: :attr:`chosen`; False for every row of a bare CV)."""
        import pandas as pd

        metrics = ("spearman", "rmse", "bias", "mre", "r2", "score")
        rows = [{"law": r.name, "fit_on": r.fit_on, "target": r.target,
                 **{k: r.metrics.get(k, float("nan")) for k in metrics}, "n_params": r.n_params, "error": r.error,
                 "screened": r.screened, "chosen": self.chosen.get(r.target) == r.name and r.error is None}
                for r in self.rows]
        return pd.DataFrame(rows, columns=["law", "fit_on", "target", *metrics, "n_params", "error", "screened",
                                           "chosen"])

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CVTable:
        rows = [CVRow(r["law"], r["fit_on"], r["target"],
                      {k: float("nan") if r.get(k) is None else float(r[k])
                       for k in ("spearman", "rmse", "bias", "mre", "r2", "score")},
                      int(r.get("n_params", 0)), r.get("error"), bool(r.get("screened", False))) for r in d["rows"]]
        return cls(rows, int(d["n_runs"]), int(d["n_folds"]), int(d["seed"]), dict(d.get("chosen", {})),
                   folds_note=str(d.get("folds_note", "")),
                   n_runs_of={str(t): int(n) for t, n in (d.get("n_runs_of") or {}).items()},
                   n_folds_of={str(t): int(n) for t, n in (d.get("n_folds_of") or {}).items()})

    def summary(self) -> str:
        """The table for many eval sets: per law, how often it was chosen and its CV scores over the eval sets;
        then one line per eval set (the chosen law, its S and Spearman, the runner-up). ``str(table)`` is the
        full table (``--verbose``); on Olmix's DCLM swarm it was 1400 of the 8800 lines ``fit --law auto`` printed.
        """
        targets = self.targets()
        lines = self._header()
        laws = list(dict.fromkeys(r.name for r in self.rows))
        # A table of a bare cross_validate (compare, the API) records no choice: its columns say which law has the
        # lowest S per eval set ("best"), as every law read "chosen 0" and the per-eval lines named as "chosen" a
        # law nothing chose.
        picks = dict(self.chosen) if self.chosen else {
            t: min(self.ok(t), key=rank_key).name for t in targets if self.ok(t)}
        what = "chosen" if self.chosen else "best"
        counts = {n: sum(1 for c in picks.values() if c == n) for n in laws}
        # A ragged fit's eval sets were fitted in groups (those measured on the same runs): no law was fitted on
        # all at once, and the first row's n_par was that of whichever group its eval set fell in.
        ragged = bool(self.n_runs_of or self.n_folds_of)
        lines.append(f"  per law over {len(targets)} eval sets ({what}: how often{'' if self.chosen else ' lowest S'}; "
                     "S over those it was scored on; n_par: fitted on "
                     + ("the largest group of eval sets measured on the same runs at once, " if ragged else
                        "all at once, ") + f"{N_PAR_FOLD}):")
        w = column_width(laws, 24) + 1
        lines.append(f"    {pad('law', w)}{what:>7}{'mean S':>9}{'median S':>10}{'worst S':>9}{'mean ρ':>8}"
                     f"{'scored':>8}{'n_par':>7}")
        order = sorted(laws, key=lambda n: (-counts[n], self._mean_score(n), n))
        for n in order:
            rows = [r for r in self.rows if r.name == n]
            ok = [r for r in rows if r.error is None and np.isfinite(r.metrics["score"])]
            if not ok:
                errs = list(dict.fromkeys(r.error or "no finite score" for r in rows))
                more = f" (and {len(errs) - 1} other reasons)" if len(errs) > 1 else ""
                lines.append(f"    {pad(n, w)}{'-':>7}  {'' if rows[0].screened else 'excluded: '}{errs[0]}{more}")
                continue
            S = np.array([r.metrics["score"] for r in ok])
            rho = float(np.nanmean([r.metrics["spearman"] for r in ok]))
            lines.append(f"    {pad(n, w)}{counts[n]:>7}{S.mean():>9.4f}{np.median(S):>10.4f}{S.max():>9.4f}"
                         f"{rho:>8.3f}{f'{len(ok)}/{len(rows)}':>8}"
                         f"{n_par_text(max(r.n_params for r in ok) if ragged else ok[0].n_params):>7}")
        if targets == [OBJECTIVE]:
            return "\n".join(lines)
        ew, elab = label_column(targets)
        lines.append(f"  per eval set: the {what} law, its S and Spearman, and the runner-up:")
        lines.append(f"    {pad('eval', ew)} {pad(what, w)}{'S':>8}{'ρ':>8}  {pad('runner-up', w)}{'S':>8}")
        for t in targets:
            ok = sorted(self.ok(t), key=rank_key)
            # The law chosen for t, found among all of t's rows (not only those ranking better than chance).
            chosen = next((r for r in self.rows if r.target == t and r.name == picks.get(t) and r.error is None),
                          None)
            if chosen is None:
                lines.append(f"    {pad(elab[t], ew)} no law ranks it better than chance")
                continue
            rest = [r for r in ok if r is not chosen]
            second = (f"  {pad(rest[0].name, w)}{rest[0].metrics['score']:>8.4f}" if rest else "")
            lines.append(f"    {pad(elab[t], ew)} {pad(chosen.name, w)}{chosen.metrics['score']:>8.4f}"
                         f"{chosen.metrics['spearman']:>8.4f}{second}")
        return "\n".join(lines)

    def _header(self) -> list[str]:
        head = [f"{self.n_folds}-fold CV on {self.n_runs} runs (seed {self.random_state}); {self.score_formula}"]
        # Eval sets measured on fewer runs were cross-validated on those alone: grouped by their runs and folds.
        ragged: dict[tuple[int, int], list[str]] = {}
        for t in dict.fromkeys([*self.n_runs_of, *self.n_folds_of]):
            ragged.setdefault((self.n_runs_of.get(t, self.n_runs), self.n_folds_of.get(t, self.n_folds)), []).append(t)
        for (n, k), evals in ragged.items():
            names = ", ".join(evals[:6]) + (f" and {len(evals) - 6} more" if len(evals) > 6 else "")
            # several evals of one count may be measured on different runs (e1 on rows 11-50, e4 missing 21-30)
            head.append(f"  {names}: {k}-fold CV on the {n} runs that have its loss" if len(evals) == 1 else
                        f"  {names}: {k}-fold CV, each on the {n} runs that have its loss")
        return head + ([f"  {self.folds_note}"] if self.folds_note else [])

    def _mean_score(self, name: str) -> float:
        S = [r.metrics["score"] for r in self.rows if r.name == name and r.error is None
             and np.isfinite(r.metrics["score"])]
        return float(np.mean(S)) if S else float("inf")

    def text(self, verbose: bool = False) -> str:
        """``str(table)`` with ``verbose`` or up to :data:`SUMMARY_EVALS` eval sets, else :meth:`summary`."""
        return str(self) if verbose or len(self.targets()) <= SUMMARY_EVALS else self.summary()

    _repr_pretty_ = repr_as_text  # a notebook shows the report

    def __str__(self) -> str:
        lines = self._header()
        targets = self.targets()
        if len(targets) > 1 and OBJECTIVE not in targets:
            # On Olmix's DCLM swarm (110 evals) the per-eval tables said n_par 5390 for bimix, whose fit of one eval
            # has 49, and the choices were 110 '*' marks spread over 1400 lines: say both once, up front.
            counts: dict[str, int] = {}
            for name in self.chosen.values():
                counts[name] = counts.get(name, 0) + 1
            ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            lines.append((f"  n_par: free parameters of a law fitted on all {len(targets)} eval sets at once"
                          if not (self.n_runs_of or self.n_folds_of) else
                          "  n_par: free parameters of a law fitted at once on the eval sets cross-validated on the "
                          "same runs") + f", {N_PAR_FOLD}")
            if ranked:
                lines.append(f"  chosen (*) on {len(self.chosen)} eval sets: "
                             + ", ".join(f"{name} {n}" for name, n in ranked))
        else:
            lines.append(f"  n_par: free parameters, {N_PAR_FOLD}")
        for t in targets:
            lines.append(f"  {t}:")
            lines.append(f"    {'law':<24}{'spearman':>9}{'RMSE':>10}{'bias':>10}{'MRE':>9} {'R2':>8} {'S':>8}"
                         f"{'n_par':>7}")
            rows = sorted((r for r in self.rows if r.target == t),
                          key=lambda r: (r.error is not None, *rank_key(r)))
            eligible = {id(r) for r in self.ok(t)}
            for r in rows:
                mark = " *" if self.chosen.get(t) == r.name else ""
                n_t = self.n_runs_of.get(t, self.n_runs)
                if mark and r.error is None and within_chance(r.metrics["spearman"], n_t):
                    # Chosen above 0 but where chance reaches (optimize's rule): ye-exp at 0.065 on 15 runs read as
                    # a law that ranks the runs.
                    mark += f"  (within chance: below {chance_spearman(n_t):.2f} at {n_t} runs)"
                if not r.error and id(r) not in eligible and not mark:  # per_target=False chooses by mean score
                    # A row atop the table (lowest S) yet never chosen read as a wrong choice: on 6 trainer runs
                    # lightgbm's constant-ish out-of-fold predictions scored S 2.53 at spearman -0.75, bimix 17.4.
                    mark = "  (never chosen: ranks no better than chance)"
                if r.error:
                    lines.append(f"    {pad(r.name, 24)}{'' if r.screened else 'excluded: '}{r.error}")
                    continue
                m = r.metrics
                # MRE, R2 and S are fixed-point and unbounded: each after a space of its own, so that a candidate far
                # off stays readable (MRE 36151.9340 ran into the bias before it: '+0.00034136151.9340').
                lines.append(f"    {pad(r.name, 24)}{m['spearman']:>9.4f}{m['rmse']:>10.4g}{m['bias']:>+10.3g}"
                             f" {m['mre']:>8.4f} {m['r2']:>8.3f} {m['score']:>8.4f}{n_par_text(r.n_params):>7}{mark}")
        return "\n".join(lines)


@dataclass
class CVResult:
    """Out-of-fold predictions of every candidate that fitted, and the table scoring them.

    ``oof[(law, fit_on)]`` has shape (n, K) for ``per-eval`` (one column per eval) and (n, 1) for
    ``direct``; ``truth`` is (n, K) per eval, ``objective`` the (n,) objective or None.
    """

    table: CVTable
    oof: dict[tuple[str, str], np.ndarray]
    truth: np.ndarray
    targets: list[str]
    weights: np.ndarray | None
    folds: np.ndarray

    @property
    def objective(self) -> np.ndarray | None:
        return None if self.weights is None else self.truth @ self.weights

    def objective_oof(self, key: tuple[str, str]) -> np.ndarray:
        """Out-of-fold prediction of the objective by candidate ``key``."""
        assert self.weights is not None
        P = self.oof[key]
        return P[:, 0] if key[1] == "direct" else P @ self.weights


def _no_skill(r: CVRow) -> str:
    return f"out-of-fold spearman {r.metrics['spearman']:.3f}"


def _finite_or_none(v: float) -> float | None:
    return float(v) if np.isfinite(v) else None
