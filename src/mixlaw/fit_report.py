"""Fit reports (lmfit style) and their text / dict rendering, for the mixing laws and the step/size laws.

A report reads top to bottom like lmfit's ``fit_report``: the law and data, the method, statistics, the
parameters with bounds and standard errors, warnings (parameters on a bound, starts that did not
converge) and the strongest parameter correlations. It sits in the bottom layer, beside :mod:`mixlaw.fit`
whose :class:`~mixlaw.fit.FitResult` it summarises, so that every law can build one; the HTML report of
several laws is :mod:`mixlaw.report`, at the top.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._console import column_width, pad, repr_as_text
from ._validation import first_and_more

#: Correlations below this |rho| are not shown (lmfit's default min_correl is 0.1; 0.3 keeps reports short).
MIN_CORREL = 0.3
#: Eval sets named in one line of a grouped warning before "and N more".
GROUP_NAMES = 4
#: How a summary names its full text: the command's flag and the Python call (the report does not know which read it).
FULL_TEXT = "--verbose (report().text(verbose=True))"
_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.])")


def group_warnings(warnings: Sequence[str], evals: Sequence[str], domains: Sequence[str]) -> list[str]:
    """The same warning said of many eval sets and domains, once, with counts: one line per (law, message shape).

    ``[ye-exp:arc_easy] arc_easy.t_web at upper bound 120`` and ``[ye-exp:mmlu] mmlu.t_code at upper bound 80``
    have one shape, ``ye-exp: t_<domain> at upper bound #``: the line says it, how many times, on how many eval sets
    (the first :data:`GROUP_NAMES` named) and, where every instance has the same number, the number. Groups are
    ordered by count. On Olmix's DCLM swarm ``fit --law auto`` had hundreds of bound notes, of which the report
    showed the first 20, all from two eval sets.
    """
    ev = sorted({str(e) for e in evals}, key=len, reverse=True)
    dom = sorted({str(d) for d in domains}, key=len, reverse=True)
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for w in warnings:
        law, body = "", w
        m = re.match(r"\[([^\]]*)\] (.*)$", w, flags=re.S)
        if m:
            law, body = m.group(1).split(":", 1)[0], m.group(2)
        hit = next((e for e in ev if e in w), None)
        if hit is not None:
            body = body.replace(hit + ".", "").replace(hit, "<eval>")
        for d in dom:
            body = re.sub(rf"(?<![A-Za-z0-9]){re.escape(d)}(?![A-Za-z0-9])", "<domain>", body)
        nums = _NUMBER.findall(body)
        shape = _NUMBER.sub("#", body)
        g = groups.setdefault((law, shape), {"n": 0, "evals": {}, "nums": [set() for _ in nums]})
        g["n"] += 1
        if hit is not None:
            g["evals"][hit] = None
        for i, v in enumerate(nums[:len(g["nums"])]):
            g["nums"][i].add(v)
    lines = []
    for (law, shape), g in sorted(groups.items(), key=lambda kv: (-kv[1]["n"], kv[0])):
        parts = shape.split("#")
        text = parts[0] + "".join((next(iter(v)) if len(v) == 1 else "#") + p
                                  for v, p in zip(g["nums"], parts[1:], strict=False))
        names = list(g["evals"])
        where = ""
        if names:
            shown = first_and_more(names, GROUP_NAMES)
            where = f" on {len(names)} eval set{'s' if len(names) > 1 else ''} ({shown})"
        times = f", {g['n']} times" if g["n"] > max(len(names), 1) else ""
        lines.append(f"{law + ': ' if law else ''}{text}{where}{times}")
    return lines


def _fmt(v: float | None, width: int = 0) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "inf" if v is not None and v > 0 else ("-inf" if v is not None else "")
    return f"{v:.4g}"


#: A loaded law's method line: its fit's metrics are saved with it (the report's stats line), these are not.
LOADED_METHOD = "loaded from a saved file (its fit's starts, evaluations and timings are not saved)"


def method_of(law: Any) -> str:
    """A fitted law's method line: its fit results' (the first's: a law's targets share one method), a loaded law's
    origin, or a closed form's."""
    results = getattr(law, "results_", {}) or {}
    return (next(iter(results.values())).method if results else
            LOADED_METHOD if getattr(law, "_loaded", False) else "closed form / external solver")


def fit_warnings(law: Any) -> list[str]:
    """The warnings of a fitted law's fit, as its report lists them: each fit result's, prefixed ``[key]`` when there
    are several; a loaded law's as its file saved them (``fit_warnings``).

    Why: a loaded law has no fit results, and the report of a fit where no start converged said so before saving
    and nothing after loading."""
    results = getattr(law, "results_", {}) or {}
    if not results:
        return list(getattr(law, "_saved_fit_warnings", None) or [])
    return [("" if len(results) == 1 else f"[{key}] ") + w for key, r in results.items() for w in r.warnings]


@dataclass
class FitReport:
    """A fitted law's report. ``str(report)`` for people, ``report.to_dict()`` for ``--json``."""

    law: str
    targets: list[str]
    data: str
    #: None for a law loaded from a file saved before the count was kept.
    n_runs: int | None
    n_domains: int
    seed: Any
    method: str
    n_starts: int
    n_converged: int
    stats: dict[str, float]
    params: dict[str, dict[str, Any]]
    warnings: list[str] = field(default_factory=list)
    correlations: list[tuple[str, str, float]] = field(default_factory=list)
    sections: list[tuple[str, str]] = field(default_factory=list)
    #: A meta-law's summary sections (its CV across many eval sets, one line per eval set): when given, ``str``
    #: prints them instead of the parameters and full sections, and groups the warnings; ``text(verbose=True)``
    #: prints everything.
    summary: list[tuple[str, str]] = field(default_factory=list)
    evals: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)
    #: Per eval, the table's rows left out of the fit for want of its loss (NaN cells); not in ``n_runs``.
    rows_left_out: dict[str, int] = field(default_factory=dict)
    #: Distinct runs of the fitted rows when fewer than the rows (a run's checkpoints or sizes), else None.
    n_run_ids: int | None = None
    #: How the parameters' stderrs were computed (the law's ``stderr_method``); None: the law computes none.
    stderr_method: str | None = "Gauss-Newton on log residuals"
    #: Whether ``params`` holds every fitted parameter (not for lightgbm's trees, nor a law built on them): a count
    #: (n_vary, dof) is given only then.
    counted: bool = True

    @classmethod
    def from_law(cls, law: Any, data: str = "") -> FitReport:
        """The report of a fitted :class:`~mixlaw.laws.base.MixingLaw` (its ``results_``, ``params_``,
        ``train_metrics_`` and ``extra_report_sections()``)."""
        results = getattr(law, "results_", {}) or {}
        n_starts = sum(r.n_starts for r in results.values())
        n_conv = sum(r.n_converged for r in results.values())
        method = method_of(law)
        warns = fit_warnings(law)
        corr: list[tuple[str, str, float]] = []
        for r in results.values():
            if r.correl is not None:
                names = [p.name for p in r.params.values() if p.vary]
                c = r.correl
                for a in range(len(names)):
                    for b in range(a + 1, len(names)):
                        if np.isfinite(c[a, b]) and abs(c[a, b]) >= MIN_CORREL:
                            corr.append((names[a], names[b], float(c[a, b])))
        corr.sort(key=lambda t: -abs(t[2]))
        stats = dict(getattr(law, "train_metrics_", {}))
        if "n_effective" not in stats and getattr(law, "_loaded", False):
            # a loaded leave-one-out ridge (or a meta-law of one) keeps its dof_, not its fit statistics: its line
            # read "n_vary=50" alone
            eff = law._n_effective()
            if eff is not None:
                stats["n_effective"] = eff
        params = law.params_.to_dict(notes=True)  # why one is held, as STYLE.md's "(fixed: reference domain)"
        if not getattr(law, "_loaded", False):
            # A loaded law's evaluations and timing are not saved: its dict read nfev 0.0 and fit_seconds 0.0, as
            # if fitted with none in no time (its text already left them out; hunt34c).
            stats["nfev"] = float(sum(r.nfev for r in results.values()))
            stats["fit_seconds"] = float(getattr(law, "fit_seconds_", sum(r.wall_time for r in results.values())))
        return cls(law=type(law).__name__, targets=list(law.targets_), data=data,
                   n_runs=getattr(law, "n_runs_", None),
                   n_domains=len(law.domains_), seed=law.get_params().get("random_state"), method=method,
                   n_starts=n_starts, n_converged=n_conv, stats=stats, params=params,
                   warnings=warns, correlations=corr[:15], sections=law.extra_report_sections(),
                   summary=law.summary_report_sections(), evals=list(getattr(law, "evals_", law.targets_)),
                   domains=list(law.domains_), rows_left_out=dict(getattr(law, "rows_left_out_", {}) or {}),
                   n_run_ids=getattr(law, "_n_run_ids", None),
                   stderr_method=getattr(law, "stderr_method", "Gauss-Newton on log residuals"),
                   counted=law._counts_its_parameters())

    _repr_pretty_ = repr_as_text  # a notebook shows the report

    def __str__(self) -> str:
        return self.text()

    def text(self, verbose: bool = False) -> str:
        """The report as text: in full, or (a law with :attr:`summary`, unless ``verbose``) a summary."""
        if self.summary and not verbose:
            return self._summary_text()
        return self._full_text()

    def _head(self) -> list[str]:
        tg = self.targets[0] if len(self.targets) == 1 else f"{len(self.targets)} targets"
        runs = "?" if self.n_runs is None else self.n_runs  # a law loaded from an old file
        runs = f"{runs} runs" if self.n_run_ids is None else f"{runs} rows of {self.n_run_ids} runs"
        gone = ", ".join(f"loss:{e} {n}" for e, n in self.rows_left_out.items())
        gone = f"; left out rows without a loss: {gone}" if gone else ""
        lines = [f"[[{self.law}]] target={tg}  data={self.data or '-'} ({runs}, {self.n_domains} "
                 f"domains{gone})  seed={self.seed}"]
        starts = f"; {self.n_starts} starts ({self.n_converged} converged)" if self.n_starts else ""
        lines.append(f"    method = {self.method}{starts}")
        s = self.stats
        n_vary, dof = self._counts()
        # A loaded law keeps no fit statistics: its line read 'n_obs=0 ... nfev=0 | fit=0.00s', as if fitted on
        # nothing in no time; what is not known is left out.
        loaded = self.method.startswith("loaded")
        eff = s.get("n_effective")  # a leave-one-out ridge's effective degrees of freedom (laws/base.py)
        parts = ([f"n_obs={int(s['n_obs'])}"] if "n_obs" in s else []) + ([
            f"n_vary={n_vary}" + (f" (effective {eff:.1f})" if eff is not None else "")] if n_vary is not None else [])
        if dof is not None:
            # A count as a count: the ".4g" a ridge's effective count was given read 'dof=1.01e+04' for 10097.
            parts.append(f"dof={dof:.0f}" if float(dof).is_integer() else f"dof={dof:.1f}")
        if not loaded:
            parts.append(f"nfev={int(s.get('nfev', 0))}")
        head = "  ".join(parts)
        tail = "  ".join(f"{k}={_stat(k, s[k])}" for k in ("RMSE", "MAPE", "R2", "AIC", "BIC") if k in s)
        fit = "" if loaded else f"  fit={s.get('fit_seconds', 0):.2f}s"
        if loaded and not tail:
            # A law saved before its fit's metrics were kept: the line ended at n_vary without a word.
            tail = "training metrics: not saved with the law (refit to see them)"
        lines.append(f"    {head}" + (f" | {tail}" if tail else "") + fit)
        return lines

    def _counts(self) -> tuple[int | None, float | None]:
        """The header's n_vary (the free parameters; None where the law does not count them: lightgbm's trees
        read 'n_vary=0  dof=120') and dof (n_obs less n_vary, or less a ridge's effective count; None without
        n_obs)."""
        if not (self.params and self.counted):
            return None, None
        n_vary = sum(1 for p in self.params.values() if p["vary"])
        if "n_obs" not in self.stats:
            return n_vary, None
        eff = self.stats.get("n_effective")
        return n_vary, int(self.stats["n_obs"]) - (n_vary if eff is None else float(eff))

    def _summary_text(self) -> str:
        lines = self._head()
        for title, text in self.summary:
            lines.append(f"[[{title}]]")
            lines.extend("    " + ln for ln in text.splitlines())
        n_vary = sum(1 for p in self.params.values() if p["vary"])
        tags: dict[str, int] = {}
        for name, p in self.params.items():
            if p["vary"]:
                tag = name.split(":", 1)[0]
                tags[tag] = tags.get(tag, 0) + 1
        per = ", ".join(f"{t} {n}" for t, n in tags.items())
        # Read from Python, "--verbose lists them" named a flag a notebook has not: report().text(verbose=True) is it.
        lines.append(f"[[Params]]  {n_vary} free{f' ({per})' if per else ''}: {FULL_TEXT} lists them, --json and "
                     "the saved law hold them")
        if self.warnings:
            grouped = group_warnings(self.warnings, self.evals, self.domains)
            lines.append(f"[[Warnings]]  {len(self.warnings)} of the refitted laws, grouped ({len(grouped)}); "
                         f"{FULL_TEXT} lists each")
            lines.extend("    " + w for w in grouped[:20])
            if len(grouped) > 20:
                lines.append(f"    ... and {len(grouped) - 20} more kinds")
        return "\n".join(lines)

    def _full_text(self) -> str:
        lines = self._head()
        lines.append(f"[[Params]]  {self._stderr_note()}")
        width = column_width(self.params) if self.params else 4
        for name, p in self.params.items():
            v = p["value"]
            if not p["vary"]:
                note = p.get("note") or ""
                why = f"({note})" if note.startswith("fixed") else f"(fixed: {note})" if note else "(fixed)"
                lines.append(f"    {pad(name, width)}  {v:>10.4g}  {why}")
                continue
            se = p.get("stderr")
            sep = f" ± {se:.3g} ({abs(se / v) * 100:.1f}%)" if se is not None and v != 0 else ""
            lines.append(f"    {pad(name, width)}  {v:>10.4g}{sep:<22}  init={_fmt(p['init'])}  "
                         f"bounds=[{_fmt(_f(p['min']))}, {_fmt(_f(p['max']))}]")
        for title, text in self.sections:
            lines.append(f"[[{title}]]")
            lines.extend("    " + ln for ln in text.splitlines())
        if self.warnings:
            lines.append("[[Warnings]]")
            shown = self.warnings[:20]
            lines.extend("    " + w for w in shown)
            if len(self.warnings) > len(shown):
                lines.append(f"    ... and {len(self.warnings) - len(shown)} more")
        if self.correlations:
            lines.append(f"[[Correlations]]  (|ρ| < {MIN_CORREL:.2f} not shown)")
            lines.extend(f"    C({a}, {b}) = {c:+.3f}" for a, b, c in self.correlations[:10])
        return "\n".join(lines)

    def _stderr_note(self) -> str:
        """What the [[Params]] header says of the stderrs: it named Gauss-Newton for every law, above a ridge's
        sandwich errors (linear), above none at all (loglinear-sat) and above no parameters (lightgbm)."""
        if not self.params:
            return "(none: the law keeps no named coefficients)"
        shown = any(p.get("stderr") is not None for p in self.params.values() if p["vary"])
        if self.stderr_method is None or not shown:
            why = ("not computed by this law" if self.stderr_method is None
                   else f"none in this fit (method: {self.stderr_method})")
            return f"(stderr: {why}; mixlaw.bootstrap_law gives intervals)"
        return f"(stderr: {self.stderr_method})"

    def to_dict(self) -> dict[str, Any]:
        return {"law": self.law, "targets": self.targets, "data": self.data, "n_runs": self.n_runs,
                "n_run_ids": self.n_run_ids, "n_domains": self.n_domains, "seed": self.seed, "method": self.method,
                "n_starts": self.n_starts, "n_converged": self.n_converged, "stats": self.stats,
                # the header's counts, which a reader of 'params' had to redo (a stack's last weight per column is
                # not free): None where not known
                "n_vary": self._counts()[0], "dof": self._counts()[1], "params": self.params,
                "stderr_method": self.stderr_method,
                "warnings": self.warnings, "rows_left_out": self.rows_left_out,
                "correlations": [{"a": a, "b": b, "rho": c} for a, b, c in self.correlations],
                "sections": {t: x for t, x in self.sections}}


def _f(x: Any) -> float:
    return float(x) if not isinstance(x, str) else float(x.replace("inf", "inf"))


def _stat(k: str, v: float) -> str:
    if k == "R2" and v != v:
        return "n/a (constant losses)"  # 0 / 0: every fitted loss equal (the fit warns), not a number to read
    if k == "MAPE":
        return f"{v * 100:.2f}%"
    if k in ("AIC", "BIC"):
        return f"{v:.1f}"
    return f"{v:.4g}"


__all__ = ["FitReport", "MIN_CORREL", "GROUP_NAMES", "fit_warnings", "group_warnings"]
