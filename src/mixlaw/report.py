"""Fit reports (lmfit style) and their text / dict rendering.

A report reads top to bottom like lmfit's ``fit_report``: the law and data, the method, statistics, the
parameters with bounds and standard errors, warnings (parameters on a bound, starts that did not
converge) and the strongest parameter correlations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .laws.base import MixingLaw

#: Correlations below this |rho| are not shown (lmfit's default min_correl is 0.1; 0.3 keeps reports short).
MIN_CORREL = 0.3


def _fmt(v: float | None, width: int = 0) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "inf" if v is not None and v > 0 else ("-inf" if v is not None else "")
    return f"{v:.4g}"


@dataclass
class FitReport:
    """A fitted law's report. ``str(report)`` for people, ``report.to_dict()`` for ``--json``."""

    law: str
    targets: list[str]
    data: str
    n_runs: int
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

    @classmethod
    def from_law(cls, law: MixingLaw, data: str = "") -> FitReport:
        results = getattr(law, "results_", {}) or {}
        n_starts = sum(r.n_starts for r in results.values())
        n_conv = sum(r.n_converged for r in results.values())
        method = next(iter(results.values())).method if results else "closed form / external solver"
        warns: list[str] = []
        corr: list[tuple[str, str, float]] = []
        for key, r in results.items():
            prefix = "" if len(results) == 1 else f"[{key}] "
            warns += [prefix + w for w in r.warnings]
            if r.correl is not None:
                names = [p.name for p in r.params.values() if p.vary]
                c = r.correl
                for a in range(len(names)):
                    for b in range(a + 1, len(names)):
                        if np.isfinite(c[a, b]) and abs(c[a, b]) >= MIN_CORREL:
                            corr.append((names[a], names[b], float(c[a, b])))
        corr.sort(key=lambda t: -abs(t[2]))
        stats = dict(getattr(law, "train_metrics_", {}))
        stats["nfev"] = float(sum(r.nfev for r in results.values()))
        stats["fit_seconds"] = float(getattr(law, "fit_seconds_", sum(r.wall_time for r in results.values())))
        return cls(law=type(law).__name__, targets=list(law.targets_), data=data, n_runs=int(law.n_runs_),
                   n_domains=len(law.domains_), seed=law.get_params().get("random_state"), method=method,
                   n_starts=n_starts, n_converged=n_conv, stats=stats, params=law.params_.to_dict(),
                   warnings=warns, correlations=corr[:15], sections=law.extra_report_sections())

    def __str__(self) -> str:
        tg = self.targets[0] if len(self.targets) == 1 else f"{len(self.targets)} targets"
        lines = [f"[[{self.law}]] target={tg}  data={self.data or '-'} ({self.n_runs} runs, {self.n_domains} "
                 f"domains)  seed={self.seed}"]
        starts = f"; {self.n_starts} starts ({self.n_converged} converged)" if self.n_starts else ""
        lines.append(f"    method = {self.method}{starts}")
        s = self.stats
        n_vary = sum(1 for p in self.params.values() if p["vary"])
        parts = [f"n_obs={int(s.get('n_obs', 0))}", f"n_vary={n_vary}"]
        if "n_obs" in s:
            parts.append(f"dof={int(s['n_obs']) - n_vary}")
        parts.append(f"nfev={int(s.get('nfev', 0))}")
        head = "  ".join(parts)
        tail = "  ".join(f"{k}={_stat(k, s[k])}" for k in ("RMSE", "MAPE", "R2", "AIC", "BIC") if k in s)
        lines.append(f"    {head} | {tail}  fit={s.get('fit_seconds', 0):.2f}s")
        lines.append("[[Params]]  (stderr: Gauss-Newton on log residuals)")
        width = max((len(n) for n in self.params), default=4)
        for name, p in self.params.items():
            v = p["value"]
            if not p["vary"]:
                lines.append(f"    {name:<{width}}  {v:>10.4g}  (fixed)")
                continue
            se = p.get("stderr")
            sep = f" ± {se:.3g} ({abs(se / v) * 100:.1f}%)" if se is not None and v != 0 else ""
            lines.append(f"    {name:<{width}}  {v:>10.4g}{sep:<22}  init={_fmt(p['init'])}  "
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

    def to_dict(self) -> dict[str, Any]:
        return {"law": self.law, "targets": self.targets, "data": self.data, "n_runs": self.n_runs,
                "n_domains": self.n_domains, "seed": self.seed, "method": self.method, "n_starts": self.n_starts,
                "n_converged": self.n_converged, "stats": self.stats, "params": self.params,
                "warnings": self.warnings,
                "correlations": [{"a": a, "b": b, "rho": c} for a, b, c in self.correlations],
                "sections": {t: x for t, x in self.sections}}


def _f(x: Any) -> float:
    return float(x) if not isinstance(x, str) else float(x.replace("inf", "inf"))


def _stat(k: str, v: float) -> str:
    if k == "MAPE":
        return f"{v * 100:.2f}%"
    if k in ("AIC", "BIC"):
        return f"{v:.1f}"
    return f"{v:.4g}"




# ---------------------------------------------------------------------- HTML report (DESIGN.md §11)
def _svg(fig: Any) -> str:
    import io

    import matplotlib.pyplot as plt

    buf = io.StringIO()
    # No metadata block: no date (reports are reproducible) and no namespace URLs beyond SVG's own.
    fig.savefig(buf, format="svg", bbox_inches="tight",
                metadata={"Creator": None, "Date": None, "Format": None, "Type": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]  # drop the XML prolog: the SVG is inlined in HTML


def build_html_report(train: Any, tests: dict[str, Any], *, targets: Any = "all", laws: list[str] | None = None,
                      objective: str = "mean", random_state: int = 0, title: str = "mixlaw report") -> str:
    """One self-contained HTML page: leaderboard, predicted-vs-true per law, Ye interactions, optimal mixture.

    Parameters
    ----------
    train : RunTable
        Fitting runs.
    tests : dict of str to RunTable
        Held-out splits; the first is used for the scatter plots.
    targets, laws, random_state
        As in :func:`mixlaw.compare.compare`.
    objective : str, default="mean"
        Objective of the optimal mixture (see :func:`mixlaw.optimize.optimize_mixture`), found with the law
        that ranks the first held-out split best.

    Returns
    -------
    str
        HTML with inline SVG figures (matplotlib): viewing it needs no network.
    """
    import html
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import __version__, metrics
    from .compare import default_laws
    from .errors import ExtrapolationWarning, MixlawError
    from .laws import get_law
    from .optimize import optimize_mixture

    names = train.resolve_targets(targets)
    keys = laws if laws is not None else default_laws()
    split0 = next(iter(tests))
    fitted, rows = {}, []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        for key in keys:
            try:
                law = get_law(key, random_state=random_state).fit(train, targets=names)
            except MixlawError as err:
                rows.append((key, None, str(err)))
                continue
            scores = {s: metrics.all_metrics(t.losses(names), np.asarray(law.predict(t)).reshape(len(t), -1))
                      for s, t in tests.items()}
            fitted[key] = law
            rows.append((key, scores, f"{law.fit_seconds_:.2f}"))
    parts = [f"<h1>{html.escape(title)}</h1>",
             f"<p>Fitted on <code>{html.escape(train.path or 'runs')}</code> ({len(train)} runs, "
             f"{len(train.domains)} domains); targets: {html.escape(', '.join(names))}; seed {random_state}; "
             f"mixlaw {__version__}.</p>", "<h2>Leaderboard</h2><table><tr><th>law</th>"]
    parts.append("".join(f"<th>Spearman {html.escape(s)}</th>" for s in tests)
                 + f"<th>MRE {html.escape(split0)}</th><th>RMSE {html.escape(split0)}</th><th>fit s</th></tr>")
    for key, scores, extra in rows:
        if scores is None:
            parts.append(f"<tr><td>{key}</td><td colspan='{len(tests) + 3}'>failed: {html.escape(extra)}</td></tr>")
            continue
        cells = "".join(f"<td>{scores[s]['spearman']:.4f}</td>" for s in tests)
        parts.append(f"<tr><td>{key}</td>{cells}<td>{scores[split0]['mre']:.4f}</td>"
                     f"<td>{scores[split0]['rmse']:.4f}</td><td>{extra}</td></tr>")
    parts.append("</table>")
    if fitted:
        n = len(fitted)
        cols = min(4, n)
        # constrained layout keeps each panel's title clear of the x-labels of the row above
        fig, axes = plt.subplots((n + cols - 1) // cols, cols, figsize=(3.2 * cols, 3.0 * ((n + cols - 1) // cols)),
                                 squeeze=False, layout="constrained")
        y = tests[split0].losses(names)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExtrapolationWarning)
            for ax, (key, law) in zip(axes.ravel(), fitted.items(), strict=False):
                p = np.asarray(law.predict(tests[split0])).reshape(y.shape)
                ax.scatter(y.ravel(), p.ravel(), s=6, alpha=0.6)
                lim = [min(y.min(), p.min()), max(y.max(), p.max())]
                ax.plot(lim, lim, color="grey", lw=0.8)
                ax.set_title(f"{key}  ρ={metrics.spearman(y, p):.3f}", fontsize=9)
                ax.set_xlabel("true loss", fontsize=8)
                ax.set_ylabel("predicted", fontsize=8)
        for ax in axes.ravel()[n:]:
            ax.axis("off")
        parts.append(f"<h2>Predicted vs true on {html.escape(split0)}</h2>" + _svg(fig))
    if "ye-exp" in fitted:
        T = fitted["ye-exp"].interactions()
        fig, ax = plt.subplots(figsize=(0.45 * T.shape[1] + 2, 0.35 * T.shape[0] + 1.5))
        vmax = float(np.abs(T).max()) or 1.0
        im = ax.imshow(T, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        ax.set_xticks(range(T.shape[1]), train.domains, rotation=90, fontsize=7)
        ax.set_yticks(range(T.shape[0]), names, fontsize=7)
        fig.colorbar(im, ax=ax, shrink=0.8)
        ref = fitted["ye-exp"].domains_[int(np.argmin(np.abs(T).sum(axis=0)))]
        parts.append("<h2>Ye interactions t<sub>ij</sub></h2><p>Relative to the reference domain "
                     f"<code>{html.escape(ref)}</code> (t = 0): blue, training domain j lowers eval set i's loss "
                     "more than the reference does (facilitation); red, less (conflict).</p>" + _svg(fig))
    if fitted:
        best = max((r for r in rows if r[1] is not None), key=lambda r: np.nan_to_num(r[1][split0]["spearman"]))[0]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ExtrapolationWarning)
                opt = optimize_mixture(fitted[best], objective=objective if len(names) > 1 else names[0],
                                       natural=train.weights.mean(axis=0), within_fitted_range=True)
        except MixlawError as err:
            parts.append(f"<h2>Optimal mixture</h2><p>not available: {html.escape(str(err))}</p>")
        else:
            doms = list(opt.weights)
            fig, ax = plt.subplots(figsize=(max(5, 0.45 * len(doms)), 3))
            x = np.arange(len(doms))
            ax.bar(x - 0.2, [opt.natural_weights[d] for d in doms], 0.4, label="mean training mixture")
            ax.bar(x + 0.2, [opt.weights[d] for d in doms], 0.4, label=f"optimum ({best})")
            ax.set_xticks(x, doms, rotation=90, fontsize=7)
            ax.legend(fontsize=8)
            parts.append(f"<h2>Optimal mixture ({html.escape(best)}, objective {html.escape(opt.objective_name)}, "
                         f"within the fitted range)</h2><p>predicted {opt.objective:.4f} vs "
                         f"{opt.natural_objective:.4f} for the mean training mixture.</p>" + _svg(fig)
                         + "<pre>" + html.escape(str(opt)) + "</pre>")
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child{text-align:left}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body>" + "\n".join(parts) + "</body></html>")


__all__ = ["FitReport", "MIN_CORREL", "build_html_report"]
