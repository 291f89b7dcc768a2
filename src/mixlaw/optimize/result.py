"""What an optimisation returns: the optimal mixture, its predicted losses, the natural mixture it is
compared against and the constraints that bind (:class:`OptimumResult`, :class:`ActiveConstraint`). The
text and JSON renderings live here too, so every entry point (CLI, pipeline, bootstrap) prints the same
report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._console import label_column, pad, repr_as_text
from ..laws.selection import CVTable
from ..metrics import chance_spearman, within_chance
from .objective import loss_decimals, objective_text
from .steps import StepsToMatch


@dataclass
class ActiveConstraint:
    """One constraint that binds at the optimum.

    ``kind`` is ``"zero"`` (r_j = 0), ``"lower bound"``, ``"upper bound"``, ``"availability"`` (the
    max_epochs x tokens / target_tokens cap), ``"fitted range"`` (the domain's range of shares in the runs),
    ``"no run trains on it"`` (a domain at 0 in every fitting run, held there) or ``"fixed"``.
    """

    domain: str
    kind: str
    value: float

    def to_dict(self) -> dict[str, Any]:
        return {"domain": self.domain, "kind": self.kind, "value": self.value}


def _line_words(line: int | None, unit: str = "line") -> str:
    """', line N' of a run's line in its table's file (', row N' of a Parquet file's row: ``unit``, as
    :func:`mixlaw.errors.row_unit` names it), or nothing where the table has no file."""
    return "" if line is None else f", {unit} {line}"


@dataclass
class OptimumResult:
    """The optimal mixture and what it is predicted to achieve.

    Attributes
    ----------
    weights : dict of str to float
        The optimal mixture (domain order of the law), on the simplex and inside every bound.
    objective : float
        Predicted objective at ``weights`` (loss units, nats; the metric's own units when ``maximize``).
    losses : dict of str to float
        Predicted loss of every eval set at ``weights``.
    objective_name : str
        ``"mean"``, ``"total"``, ``"max"``, ``"loss of <eval>"``, ``"weights=a:0.5,b:0.5"`` (a mapping, as
        given) or ``"callable"``.
    active : list of ActiveConstraint
        Constraints binding at the optimum.
    lower, upper : dict of str to float
        Effective bounds (user bounds, fixed values and availability caps combined).
    natural_weights, natural_losses : dict of str to float
        The default mixture and its predicted losses.
    natural_objective : float
    natural_source : str
        ``"given"``, ``"token shares"`` or ``"uniform"``.
    natural_feasible : bool
        Whether the natural mixture satisfies the bounds (it is reported either way).
    convex : bool
        True when the problem is provably convex: a minimised objective convex (Ye, linear or loglinear law;
        non-negative combination or max), a maximised one (``maximize``: its negation minimised) concave (the linear
        law, affine; non-negative combination; the method line then says "concave"), and
        the search solved the whole feasible set (under a trust radius: every run's L1 ball whose lower bound could
        beat the best found, by branch and bound, each SLSQP converged or its ball's lower bound unable to beat the
        best): the optimum is then global. Ye's law only where no eval's exponent can pass its cap by
        :data:`~mixlaw.optimize.objective.Z_CONVEX` (0.44 nats) on the feasible set, or under a trust radius on any
        ball in reach: beyond it the capped loss is concave. False of the simulate search (a mean of sampled
        mixtures).
    method : str
    n_starts, n_converged : int
    start_objectives : list of float
    search : str
        ``"gradient"`` or ``"simulate"``.
    trust_region : str
        What kept the optimum near the data (``"fitted range"``, an L1 radius) or ``"none ..."``.
    nearest_run_l1 : float, optional
        L1 distance from the optimum to the nearest fitting run (when the runs were given); 0 is a run, 2 is
        disjoint support.
    nearest_run : int, optional
        Row of that run in the fitting table (0-based); None for a pipeline's optimum among its own mixtures
        (``nearest_run_name`` names the run: a saved pipeline has no table rows).
    nearest_run_name : str, optional
        That run's ``run`` (set by :func:`mixlaw.api.optimize_runs`, which has the table): the report names it.
    nearest_run_line : int, optional
        That run's line in the run table's file (header = line 1), as the table's errors name it; None without a
        file. The report names this, not the 0-based row, which is no line of the file (and of a subset of it, such
        as --at-params or a held-out split, no row of the file at all).
    runs_spacing_l1 : float, optional
        The scale to read ``nearest_run_l1`` against: the median L1 distance of a run's mixture to the nearest
        other one (:func:`~mixlaw.optimize.simulate.run_spacing_l1`).
    selection : dict, optional
        For ``auto`` / ``stack``: the chosen law(s) (``choice``), stack ``weights`` and the CV table (``cv``).
    maximize : bool
        Whether the objective was maximised (a higher-is-better metric) rather than minimised.
    intervals : dict, optional
        Bootstrap percentile intervals, attached by :func:`mixlaw.bootstrap.bootstrap_law`.
    steps : StepsToMatch, optional
        Ye's steps-to-match figures, when a step law of the default mixture was given.
    best_run : dict, optional
        The fitting run with the best measured objective, ``{"run", "row", "objective"}`` (set by
        :func:`mixlaw.api.optimize_runs`): the mixture a user can pick without any law, which the optimum's
        prediction should be read against.
    improvement_interval : dict, optional
        ``{"level", "lower", "upper", "source"}``: an interval of :attr:`improvement` from refits of the law (set by
        :func:`mixlaw.pipeline.optimize_pipeline` from the pipeline's jackknife over mixtures). When it reaches 0
        the report says the optimum may be no better than the natural mixture; when it lies wholly below 0, that
        the optimum is predicted worse.
    refine_with : str, optional
        The command that takes the notes' ``--trust-radius`` and ``--bootstrap`` for this optimum, when the one
        that printed it does not (``mixlaw report``'s page: ``mixlaw optimize --dataset regmix --law ye-exp ...``);
        None: the notes name the options alone, as ``mixlaw optimize`` takes them.
    """

    weights: dict[str, float]
    objective: float
    losses: dict[str, float]
    objective_name: str
    active: list[ActiveConstraint]
    lower: dict[str, float]
    upper: dict[str, float]
    natural_weights: dict[str, float]
    natural_objective: float
    natural_losses: dict[str, float]
    natural_source: str
    natural_feasible: bool
    convex: bool
    method: str
    n_starts: int
    n_converged: int
    start_objectives: list[float] = field(default_factory=list)
    law: str = ""
    search: str = "gradient"
    trust_region: str = "none (extrapolation allowed)"
    nearest_run_l1: float | None = None
    nearest_run: int | None = None
    nearest_run_name: str | None = None
    nearest_run_line: int | None = None
    #: Where a scale was asked (``params`` / ``tokens``), which runs the nearest run is of: "of the runs at 1e+08
    #: tokens" (and ``runs_spacing_l1`` is theirs), or "no run was measured at ...: the nearest of every scale".
    nearest_run_scale: str | None = None
    runs_spacing_l1: float | None = None
    selection: dict[str, Any] | None = None
    intervals: dict[str, Any] | None = None
    steps: StepsToMatch | None = None
    #: Why :attr:`steps` is None where the figures were asked for (a pipeline's optimum, whose curves give them):
    #: the report and the JSON (``steps_to_match_reason``) say so, instead of leaving the section out unsaid.
    steps_missing: str | None = None
    #: The law's error on the objective over the runs, the scale against which the improvement is read:
    #: ``{"rmse": x, "source": "..."}`` (the chosen law's CV RMSE for auto, else the fit's in-sample RMSE).
    law_error: dict[str, Any] | None = None
    maximize: bool = False
    best_run: dict[str, Any] | None = None
    refine_with: str | None = None
    improvement_interval: dict[str, Any] | None = None
    #: Per eval, the table's rows left out of the fit for want of its loss (set by :func:`mixlaw.api.optimize_runs`).
    rows_left_out: dict[str, int] = field(default_factory=dict)
    #: What ``nearest_run_line`` and ``best_run["line"]`` count (:func:`mixlaw.errors.row_unit` of the table's file):
    #: "row" for a Parquet file, which has no lines ('line 58' read there, where the table's errors say 'row 58').
    line_unit: str = "line"
    #: The scale the optimum was read at, for a law fitted across model sizes or token counts (``{"params": N}``,
    #: ``{"tokens": D}``; set by :func:`~mixlaw.optimize.optimize_mixture` from the ``params=`` / ``tokens=`` it is
    #: given, the command line's ``--params`` / ``--tokens``, where they enter the law's prediction); None
    #: otherwise. Its optimum differs from one scale to the next, and neither the report nor the JSON said at which
    #: it was.
    scale: dict[str, float] | None = None
    #: A scale given that does not enter the prediction, and why: ``{"tokens": {"value": 1e8, "why": "law 'auto'
    #: chose ye-exp (for web), which takes no token counts"}}`` (:func:`~mixlaw.laws.scale_inputs.scale_used`); the
    #: optimum is then the same at every value of it. None where there is none.
    scale_unused: dict[str, dict[str, Any]] | None = None

    @property
    def improvement(self) -> float:
        """How much better the optimum's predicted objective is than the natural mixture's (> 0: the optimum is
        better): natural minus optimum when minimising, optimum minus natural when maximising."""
        gain = self.natural_objective - self.objective
        return -gain if self.maximize else gain

    def weight_array(self) -> np.ndarray:
        """The optimal weights as an array, in the law's domain order (``weights`` is the same as a dict)."""
        return np.array(list(self.weights.values()))

    def to_frame(self) -> Any:
        """The weights table as a pandas DataFrame, one row per domain (the index): ``optimum``, ``natural``, the
        effective bounds ``lower`` / ``upper``, ``active`` (the binding constraints' kinds, "" when none) and, after
        :func:`~mixlaw.bootstrap.bootstrap_law` with ``optimize=``, the interval ``lo`` / ``hi`` of each weight.
        ``dict(opt.weights)`` is the optimum alone; :func:`~mixlaw.export.export_mixture` takes it for a trainer."""
        import pandas as pd

        kinds: dict[str, list[str]] = {}
        for a in self.active:
            kinds.setdefault(a.domain, []).append(a.kind)
        df = pd.DataFrame({"optimum": self.weights, "natural": self.natural_weights, "lower": self.lower,
                           "upper": self.upper}, index=list(self.weights))
        df["active"] = [", ".join(kinds.get(d, [])) for d in df.index]
        ivs = (self.intervals or {}).get("weights")
        if ivs:
            df["lo"] = [ivs[d][0] if d in ivs else np.nan for d in df.index]
            df["hi"] = [ivs[d][1] if d in ivs else np.nan for d in df.index]
        df.index.name = "domain"
        return df

    def to_dict(self) -> dict[str, Any]:
        return {"law": self.law, "objective_name": self.objective_name, "maximize": self.maximize,
                "objective": self.objective,
                "weights": dict(self.weights), "losses": dict(self.losses),
                "active": [a.to_dict() for a in self.active], "lower": dict(self.lower), "upper": dict(self.upper),
                "natural": {"source": self.natural_source, "feasible": self.natural_feasible,
                            "weights": dict(self.natural_weights), "objective": self.natural_objective,
                            "losses": dict(self.natural_losses)},
                "improvement": self.improvement, "convex": self.convex, "method": self.method,
                "n_starts": self.n_starts, "n_converged": self.n_converged,
                "start_objectives": list(self.start_objectives), "search": self.search,
                "trust_region": self.trust_region, "nearest_run_l1": self.nearest_run_l1,
                "nearest_run": self.nearest_run, "nearest_run_name": self.nearest_run_name,
                "nearest_run_line": self.nearest_run_line, "nearest_run_scale": self.nearest_run_scale,
                "runs_spacing_l1": self.runs_spacing_l1, "improvement_interval": self.improvement_interval,
                "selection": self.selection, "intervals": self.intervals,
                "steps_to_match": None if self.steps is None else self.steps.to_dict(),
                **({"steps_to_match_reason": self.steps_missing} if self.steps is None and self.steps_missing else {}),
                "law_error": self.law_error,
                "best_run": None if self.best_run is None else dict(self.best_run),
                "rows_left_out": dict(self.rows_left_out),
                **({"scale": dict(self.scale)} if self.scale else {}),
                **({"scale_unused": {k: dict(v) for k, v in self.scale_unused.items()}} if self.scale_unused else {})}

    def _option(self, option: str, does: str, what: str) -> str:
        """A note's advice: the ``option`` and what it ``does``, or ``what`` and the command that takes the option
        (``refine_with``): the report's page said '--trust-radius 0.58 to stay near the runs', which 'mixlaw report'
        refuses ("No such option")."""
        return f"{option} {does}" if self.refine_with is None else f"{what}: {self.refine_with} {option}"

    _repr_pretty_ = repr_as_text  # a notebook shows the report

    def __str__(self) -> str:
        iv = self.intervals or {}
        lines = self._header_lines(iv) + self._baseline_lines() + self._law_error_lines(iv)
        lines += self._weights_lines(iv.get("weights", {})) + self._losses_lines(iv.get("losses", {}))
        lines += self._selection_lines()
        return "\n".join(lines)

    def _decimals(self) -> int:
        """One number of decimals for every loss of the report, its tables' included: 4, or more for small losses
        (:func:`~mixlaw.optimize.objective.loss_decimals`)."""
        iv = self.intervals or {}
        return loss_decimals(self.objective, self.natural_objective, list(self.losses.values()),
                             list(self.natural_losses.values()), (self.best_run or {}).get("objective", 0.0),
                             list(iv.get("objective", ())), [list(v) for v in iv.get("losses", {}).values()])

    def _header_lines(self, iv: dict[str, Any]) -> list[str]:
        """The header, the distance to the runs and the predicted objective (with its interval)."""
        level = iv.get("level")
        sense = "  (maximised: higher is better)" if self.maximize else ""
        at = "".join(f"  {k}={v:g}" for k, v in (self.scale or {}).items())
        lines = [f"[[Optimal mixture]]  law={self.law}{at}  objective={self.objective_name}{sense}"]
        for k, v in (self.scale_unused or {}).items():
            what = "model size" if k == "params" else "token count"
            lines.append(f"    note: {k}={v['value']:g} does not enter this optimum: {v['why']}, so it is the same at "
                         f"every {what}")
        lines += [f"    method = {self.method}", f"    trust region = {self.trust_region}"]
        if self.nearest_run_l1 is not None:
            spacing = ("" if self.runs_spacing_l1 is None else
                       f"; the runs lie {self.runs_spacing_l1:.3g} from their nearest other run, median")
            # The run's name and its line in the file: 'row 6' was the 0-based row (line 8 of the CSV), and of a
            # held-out or one-size subset no row of the file at all (hunt30).
            which = (f"run row {self.nearest_run}" if self.nearest_run_name is None else
                     f"run {self.nearest_run_name!r}" + _line_words(self.nearest_run_line, self.line_unit))
            if self.nearest_run_scale:
                which += f", {self.nearest_run_scale}"
            lines.append(f"    L1 distance to the nearest run = {self.nearest_run_l1:.4f} ({which}{spacing})")
            if self.runs_spacing_l1 is not None and self.nearest_run_l1 > self.runs_spacing_l1:
                # Said in words: on Marin's swarm the optimum lay 1.05 from every run, runs 0.58 apart, and the
                # two numbers alone did not tell a reader that the predicted gain is an extrapolation.
                lines.append("    note: the optimum lies farther from every run than the runs lie from one another: "
                             "its predicted objective is an extrapolation of the law (train a run near it, or "
                             + self._option(f"--trust-radius {self.runs_spacing_l1:.2g}", "to stay near the runs",
                                            "to stay near the runs") + ")")
        dec = self._decimals()
        obj = f"    predicted objective = {objective_text(self.objective, dec)}"
        if "objective" in iv:
            lo, hi = iv["objective"]
            obj += (f"  [{objective_text(lo, dec)}, {objective_text(hi, dec)}] ({level:.0%} bootstrap, "
                    f"{iv.get('n_boot')} refits)")
        lines.append(obj)
        if "objective" in iv and not iv["objective"][0] <= self.objective <= iv["objective"][1]:
            # Said because the figures contradict each other otherwise: lightgbm on Dai & Zheng's 122M runs printed
            # 2.4163 [2.42, 2.441]. The interval is the refits' predictions at this mixture (bootstrap_law), not their
            # own optima: the full-data law chose the mixture where it predicts best, which refits seldom share.
            above = self.objective < iv["objective"][0]
            why = ("the full-data law chose this mixture where it predicts best, which the refits do not share"
                   if above != self.maximize else "a bias under resampling")
            lines.append(f"    note: the predicted objective lies outside its bootstrap interval: most refits predict "
                         f"this mixture {'above' if above else 'below'} it ({why}), so read the interval as their "
                         f"spread, not as bounds around this value")
        lines += self._impossible_loss_lines(dec)
        return lines

    def _impossible_loss_lines(self, dec: int) -> list[str]:
        """A note when a predicted loss at the optimum is 0 or below, which no fitted loss was (a fit refuses a loss
        <= 0): 'optimize --law linear --extrapolate' on Marin's Delphi swarm printed 'predicted objective = -0.3094
        ... improvement = 1.174 (135.81%)' (unch_github_python, 187 runs), read as a gain with only a range warning.
        Read off the losses, not the objective: a callable objective (a difference of losses) may be 0 or below
        where every loss is above it, and an eval the objective leaves out does not make its gain no finding."""
        bad = {e: v for e, v in self.losses.items() if v <= 0}
        if not bad:
            return []
        what, whats = ("metric", "metrics") if self.maximize else ("loss", "losses")
        read = self._objective_evals()
        in_obj = {e: v for e, v in bad.items() if e in read}
        named = ", ".join(f"{e!r} {objective_text(v, dec)}" for e, v in list((in_obj or bad).items())[:3])
        near = self._option("--trust-radius", "", "a trust radius").rstrip()
        falls = "its form falls without bound off the runs, so"
        pred = "prediction" if len(bad) == 1 else "predictions"
        why = (f"{falls} the predicted objective and the gains are no finding" if in_obj else
               f"{falls} its {pred} there (an eval the objective leaves out) are no finding, and the objective's, "
               f"as far off the runs, as doubtful")
        return [f"    note: the law predicts a {what} of 0 or below at the optimum ({named}), which no {what} can be "
                f"(the fitted runs' are all above 0): {why}; keep the optimum near the runs (within their range of "
                f"each weight, or {near}), or use a law whose {whats} stay above 0 (loglinear)"]

    def _objective_evals(self) -> set[str]:
        """The eval sets the objective reads, from its name: one eval ('loss of X', or 'X' maximised), a mapping's
        positively weighted ones ('weights=a:0.5,b:0'); every eval for mean, total, max and a callable."""
        name = self.objective_name
        one = name.removeprefix("loss of ")
        if one in self.losses:
            return {one}
        if name.startswith("weights="):
            out = set()
            for part in name.removeprefix("weights=").split(","):
                e, _, w = part.rpartition(":")
                try:
                    if e in self.losses and float(w) > 0:
                        out.add(e)
                except ValueError:
                    return set(self.losses)
            if out:
                return out
        return set(self.losses)

    def _baseline_lines(self) -> list[str]:
        """The natural mixture and the best measured run, against which the optimum's gain is read."""
        lines: list[str] = []
        rel = self.improvement / self.natural_objective if self.natural_objective else float("nan")
        src = self.natural_source + ("" if self.natural_feasible else ", violates bounds")
        lines.append(f"    natural mixture ({src}) = {objective_text(self.natural_objective, self._decimals())}   "
                     f"improvement = {self.improvement:.4g} ({rel:.2%})")
        if self.improvement_interval is not None:
            ii = self.improvement_interval
            lines.append(f"    improvement's {ii['level']:.0%} interval = [{ii['lower']:.4g}, {ii['upper']:.4g}] "
                         f"({ii['source']})")
            if ii["upper"] < 0:
                # The whole interval below 0 (pipeline.json --fixed legal=0 --extrapolate: [-0.2262, -0.05279]) was
                # said to "reach 0" and "may be no better": it is worse, by every refit (hunt26).
                lines.append("    note: the improvement's interval lies below 0: the optimum is predicted worse than "
                             "the natural mixture (the bounds or fixed weights cost more than the law finds)"
                             + (", and the steps-to-match figures are no gain" if self.steps is not None else ""))
            elif ii["lower"] <= 0:
                # Said because a 0.21 % gain with a jackknife spread as large (Dai & Zheng's SlimPajama at 2.718B:
                # 0.0038 +- 0.0041) was printed as "reaches the default's loss at 92 % of the tokens, worth +11.6 %
                # training of the default", with nothing to say that it could be noise.
                lines.append("    note: the improvement's interval reaches 0: the optimum may be no better than the "
                             "natural mixture" + (", nor are the steps-to-match figures a gain"
                                                  if self.steps is not None else ""))
        if self.rows_left_out:
            lines.append("    runs left out for want of a loss: "
                         + ", ".join(f"loss:{e} {n}" for e, n in self.rows_left_out.items()))
        if self.best_run is not None:
            # The baseline that needs no law: on Olmix's DCLM swarm (mean bits-per-byte of 110 evals) the optimum's
            # 1.3685 was read against the runs' mean mixture's 1.81 (a 24 % gain), while the best run had measured
            # 1.7551; the report did not say so.
            b = self.best_run
            gain = (b["objective"] - self.objective) * (-1 if self.maximize else 1)
            brel = gain / b["objective"] if b["objective"] else float("nan")
            where = f"run {b['run']!r}{_line_words(b.get('line'), self.line_unit)}"
            lines.append(f"    best run (measured) = {objective_text(b['objective'], self._decimals())} ({where})   "
                         f"predicted gain over it = {gain:.4g} ({brel:.2%})")
            err = (self.law_error or {}).get("rmse", float("nan"))
            if gain < 0 and np.isfinite(err) and -gain < err:
                # Ye et al.'s 3Mix at 410M (32 runs, ye-pow): the optimum was predicted 6.9e-06 above the best run,
                # 0.07 from its mixture, under a CV RMSE of 0.073, and the note said the law "does not reproduce
                # your best runs": it does, to within its error; it finds nothing it can tell from that run.
                lines.append(f"    note: the optimum is predicted no better than this run measured, short by less than "
                             f"the law's error ({-gain:.2g} < RMSE {err:.2g}): the law finds no mixture it can tell "
                             "from your best run; train this run's mixture, or add runs around it")
            elif gain < 0:
                # lightgbm on Olmix DCLM's arc_challenge: optimum 1.5001 predicted, a run measured 1.3738.
                lines.append("    note: the optimum is predicted worse than this run measured: the law does not "
                             "reproduce your best runs; compare laws (mixlaw compare), or train this run's mixture")
        return lines

    def ranks_within_chance(self) -> bool:
        """Whether the law's out-of-fold Spearman on the objective (:attr:`law_error`) is below what chance
        reaches at its runs, which the report's note says (and optimize then does not repeat auto's fit warning)."""
        err = self.law_error or {}
        rho, n = err.get("spearman"), err.get("n_runs")
        return bool(np.isfinite(err.get("rmse", np.nan)) and rho is not None and n is not None
                    and within_chance(rho, n))

    def _law_error_lines(self, iv: dict[str, Any]) -> list[str]:
        """The law's own error on the objective, and what it says of the optimum's gain."""
        lines: list[str] = []
        if self.law_error is None or not np.isfinite(self.law_error["rmse"]):
            return lines
        err, rho, n = self.law_error["rmse"], self.law_error.get("spearman"), self.law_error.get("n_runs")
        ranks = "" if rho is None else f", Spearman {rho:.3f}"
        lines.append(f"    the law's error on the objective: RMSE {err:.4g}{ranks} ({self.law_error['source']})")
        far = self.law_error.get("far")
        if far is not None:
            # The error grows with the distance from the runs, and an optimum lies far (api_optimize._far_error).
            at = ("" if self.nearest_run_l1 is None else
                  f"; the optimum lies {self.nearest_run_l1:.2f} from the nearest run")
            lines.append(f"    on the {far['n']} held-out runs farthest from their fold's runs (L1 "
                         f"{far['l1'][0]:.2f}-{far['l1'][1]:.2f}{at}): RMSE {far['rmse']:.4g}")
            if self.nearest_run_l1 is not None and self.nearest_run_l1 > far["l1"][1]:
                # No held-out run lay as far out as the optimum, and no model of error against distance held
                # up beyond them (bench/far_error.py: with optima 3.6x beyond the farthest held-out run, the CV
                # RMSE, this figure and a fitted error(distance) read 0.16-0.43 of the real error).
                lines.append("    note: the optimum lies beyond every held-out run: read that RMSE as a floor "
                             "on its error, not an estimate; train the optimum's mixture (or one between it and "
                             "your runs) to measure it")
        if self.ranks_within_chance():
            # Said because auto chose lightgbm for Olmix's update-5 swarm's arc_challenge at an out-of-fold
            # Spearman of 0.07 (64 runs; chance spreads it by 1/sqrt(63) = 0.13) and printed a 2.07 % improvement
            # with no word that its ranking of mixtures is indistinguishable from chance.
            lines.append(f"    note: a Spearman below {chance_spearman(n):.2f} (2 standard errors of chance at {n} "
                         "runs) does not show that the law ranks mixtures better than chance: its optimum may "
                         "be no better than any run; try another eval set, or add runs")
        if "objective" not in iv and self.improvement < err:
            # Said because a user read a 0.2 % improvement as a finding (issue 10's new-user trial): it is a
            # difference of two predictions, each off by about this much on the runs themselves.
            lines.append("    note: the improvement is smaller than the law's error on the runs, so it may not be "
                         "real; " + self._option("--bootstrap 50", "gives the optimum's interval",
                                        "the optimum's interval"))
        return lines

    def _weights_lines(self, wiv: dict[str, Any]) -> list[str]:
        """[[Weights]]: each domain's optimal and natural share, bounds, interval and active constraint."""
        active = {a.domain: a for a in self.active}
        lines = ["[[Weights]]"]
        # Names up to 40 characters in full; longer ones cut so that two never read the same (Marin's
        # 'dolma3_cc/art_and_design_high' and '..._low' both printed as 'dolma3_cc/art_and_de').
        dw, dlab = label_column(list(self.weights))
        head = f"    {pad('domain', dw)} {'optimum':>9} {'natural':>9}  {'bounds':<17} active"
        if wiv:
            head = f"    {pad('domain', dw)} {'optimum':>9} {'interval':>19} {'natural':>9}  {'bounds':<17} active"
        lines.append(head)
        for d, w in self.weights.items():
            b = f"[{self.lower[d]:.4g}, {self.upper[d]:.4g}]"
            a = active[d].kind if d in active else ""
            if wiv:
                lo, hi = wiv[d]
                lines.append(f"    {pad(dlab[d], dw)} {w:>9.4f} [{lo:>7.4f}, {hi:>7.4f}] "
                             f"{self.natural_weights[d]:>9.4f}  {b:<17} {a}")
            else:
                lines.append(f"    {pad(dlab[d], dw)} {w:>9.4f} {self.natural_weights[d]:>9.4f}  {b:<17} {a}")
        # (NaN bounds, every refit failed, are no interval to lie outside of)
        out = [d for d, w in self.weights.items() if d in wiv and np.all(np.isfinite(wiv[d]))
               and not wiv[d][0] - 1e-9 <= w <= wiv[d][1] + 1e-9]
        if out:
            # Said because the table alone shows it only to a careful reader: on Olmix's update-5 swarm (bimix,
            # hellaswag, 20 refits) the optimum put 0.2323 on s2pdfv1:art_design, its interval [0, 0.2158].
            named = ", ".join(f"{d} {self.weights[d]:.4g} outside [{wiv[d][0]:.4g}, {wiv[d][1]:.4g}]" for d in out[:3])
            lines.append(f"    note: {len(out)} of the optimum's shares lie outside their bootstrap intervals ({named}"
                         f"{', ...' if len(out) > 3 else ''}): the refits' optima seldom give a domain such a share, "
                         "so it rests on this one fit")
        return lines

    def _losses_lines(self, liv: dict[str, Any]) -> list[str]:
        """[[Predicted losses]] (values, when maximised) at the optimum, its interval beside it (as [[Weights]] has
        them: the interval was printed after the natural mixture's value, the weights' after the optimum's) and the
        natural mixture."""
        lines: list[str] = []
        lines.append("[[Predicted values]]" if self.maximize else "[[Predicted losses]]")
        ew, elab = label_column(list(self.losses))
        dec = self._decimals()
        vw, iw = max(9, dec + 4), dec + 3  # 9 and 7 characters at 4 decimals, wider for more
        cell = 2 * iw + 4  # '[lo, hi]'
        lines.append(f"    {pad('eval', ew)} {'optimum':>{vw}}" + (f" {'interval':>{cell}}" if liv else "")
                     + f" {'natural':>{vw}}")
        for t, v in self.losses.items():
            row = f"    {pad(elab[t], ew)} {v:>{vw}.{dec}f}"
            if liv:
                row += (f" [{liv[t][0]:>{iw}.{dec}f}, {liv[t][1]:>{iw}.{dec}f}]" if t in liv else f" {'':>{cell}}")
            lines.append(row + f" {self.natural_losses[t]:>{vw}.{dec}f}")
        return lines

    def _selection_lines(self) -> list[str]:
        """[[Law selection]] and [[Steps to match]], where there are such."""
        lines: list[str] = []
        if self.selection is not None:
            lines.append("[[Law selection]]")
            if "choice" in self.selection:
                lines.append("    chosen: " + ", ".join(f"{c}: {v}" for c, v in self.selection["choice"].items()))
            for c, ws in self.selection.get("weights", {}).items():
                lines.append(f"    stack weights for {c}: " + ", ".join(f"{m} {v:.3f}" for m, v in ws.items()))
            if "cv" in self.selection:
                lines.extend("    " + ln for ln in str(CVTable.from_dict(self.selection["cv"])).splitlines())
        if self.steps is not None:
            lines.append("[[Steps to match (Ye et al. 2025)]]")
            lines.append(str(self.steps))
        elif self.steps_missing:
            lines.append("[[Steps to match (Ye et al. 2025)]]")
            lines.append(f"    not given: {self.steps_missing}")
        return lines
