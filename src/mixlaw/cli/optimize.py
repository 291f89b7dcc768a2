"""The mixture-choosing commands: ``optimize`` (fit a law, then the optimal mixture under bounds, fixed
weights, token budgets and repetition limits, with bootstrap intervals and an optional trainer export) and
``continual`` (the critical proportion of a new domain in continual pretraining that keeps the original
domain's loss within a tolerance).
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import typer

from .. import api
from .._atomic import TABLE_SUFFIXES
from .._json import dumps as strict_dumps
from .._workers import AUTO, parse_workers
from ..continual import critical_proportion
from ..data import WEIGHT_TOL
from ..errors import ExtrapolationWarning, InputError, MixlawWarning
from ..evals import linear_objective, warn_minimised_metrics
from ..export import TokenBudget, check_export_request, export_mixture, parse_export_options, read_paths
from ..laws.selection import META_LAWS, cv_workers
from ..optimize.simulate import DEFAULT_SAMPLES, DEFAULT_TOP_K
from ..pipeline import load_pipeline, optimum_interval_line
from ..pipeline.result import exact_number
from ._common import (
    COUNT,
    EXPORT_OPTION_HELP,
    AtParamsOpt,
    BoundsOpt,
    CandidatesOpt,
    CvFoldsOpt,
    EvalGroupOpt,
    FinalStepOpt,
    FitTotalOpt,
    JsonOpt,
    LawOptionOpt,
    OptimizeWorkersOpt,
    SeedOpt,
    TargetOpt,
    WeightTolOpt,
    WorkersOpt,
    check_not_an_input,
    emit_json,
    err,
    fit_on_total,
    fit_total_label,
    fit_total_name,
    group_targets,
    interval_doc,
    out,
    parse_bounds,
    parse_default,
    parse_eval_groups,
    parse_named_numbers,
    parse_objective,
    refuse_given,
    show_warnings,
    split_names,
    tokens_available_for,
)
from ._law_entries import law_with_options, parse_laws
from ._progress import cv_progress, progress
from ._tables import DatasetOpt, fitted_at, fitting_table


def optimize_cmd(ctx: typer.Context,
                 runs: str | None = typer.Option(None, "--runs", help="Run table to fit."),
                 dataset: str | None = DatasetOpt,
                 pipeline: Path | None = typer.Option(None, "--pipeline",
                                                      help="Or: a pipeline saved by 'mixlaw pipeline --save': the "
                                                      "optimum of its law at its target scale (model size and "
                                                      "steps or tokens), as 'mixlaw pipeline --optimize' gives it, "
                                                      "without refitting; with --export, the trainer's config."),
                 default: str | None = typer.Option(None, "--default",
                                                    help="With --pipeline: the mixture the optimum (its improvement "
                                                    "and steps-to-match figures) is compared with, as 'mixlaw "
                                                    "pipeline --default' takes it: mean (of the pipeline's "
                                                    "mixtures) | uniform | a=0.5,b=0.5 or a mixture file (default: "
                                                    "mean, or the token shares with --tokens-available)."),
                 law: str = typer.Option("auto", "--law", help="Law key (see 'mixlaw laws'); auto (default): chosen "
                                         "by K-fold CV on the runs (--cv-folds), for the objective; stack: "
                                         "CV-weighted ensemble."),
                 target: list[str] | None = TargetOpt,
                 candidates: str | None = CandidatesOpt,
                 cv_folds: int | None = CvFoldsOpt,
                 objective: str = typer.Option("mean", "--objective",
                                               help="mean | total | max | <eval> | weights=a:0.5,b:0.5 (a saved "
                                               "--law law.json fitted for an objective: that one)."),
                 maximize: bool = typer.Option(False, "--maximize",
                                               help="Maximise the objective: the eval columns hold higher-is-better "
                                               "metrics (accuracy, exact match, pass@1, a score), not losses."),
                 bounds: list[str] | None = BoundsOpt,
                 fixed: list[str] | None = typer.Option(None, "--fixed", metavar="DOMAIN=W",
                                                              help="Fix a domain's weight; repeatable."),
                 tokens_available: str | None = typer.Option(None, "--tokens-available",
                                                                help="CSV domain,tokens, JSON or YAML file, or inline "
                                                                     "web=1.2B,code=500M."),
                 target_tokens: float | None = typer.Option(None, "--target-tokens", **COUNT,
                                                            help="Target run tokens (1e11, 100B)."),
                 scale_params: float | None = typer.Option(None, "--params", **COUNT,
                                                           help="For a law fitted across model sizes (dz-eq1, "
                                                           "dz-eq3): the size to optimise at (1e9 or 1B)."),
                 scale_tokens: float | None = typer.Option(None, "--tokens", **COUNT,
                                                           help="For a law fitted across token counts (bimix, "
                                                           "autoscale, dz-eq3): the run tokens to optimise at "
                                                           "(1.2e9 or 1.2B)."),
                 max_epochs: float | None = typer.Option(None, "--max-epochs",
                                                            help="Max repetitions of a domain (default 4)."),
                 within_range: bool = typer.Option(False, "--within-fitted-range",
                                                   help="Keep each weight within its range in the runs (the "
                                                   "default; kept for old scripts)."),
                 extrapolate: bool = typer.Option(False, "--extrapolate",
                                                  help="Let the optimum leave the fitted range of the weights."),
                 trust_radius: float | None = typer.Option(None, "--trust-radius",
                                                           help="Also keep the optimum within this L1 distance "
                                                           "of some run (0-2)."),
                 search: str = typer.Option("auto", "--search",
                                            help="auto | gradient (SLSQP) | simulate (RegMix: sample Dirichlet "
                                            "mixtures around the natural one, average the top k). auto: "
                                            "simulate for laws without a gradient (lightgbm)."),
                 samples: int = typer.Option(DEFAULT_SAMPLES, "--samples",
                                             help="Mixtures simulated (--search simulate)."),
                 top_k: int = typer.Option(DEFAULT_TOP_K, "--top-k", help="Best simulated mixtures averaged."),
                 bootstrap: int = typer.Option(0, "--bootstrap", help="Bootstrap refits for intervals (0: none)."),
                 step_law: str | None = typer.Option(None, "--step-law",
                                                        help="Default mixture's step law E,B,beta (steps-to-match)."),
                 target_steps: float | None = typer.Option(None, "--target-steps", help="Target run steps."),
                 export: str | None = typer.Option(None, "--export", help="megatron | olmo | hf | mosaic | json."),
                 paths: str | None = typer.Option(None, "--paths",
                                                help="JSON {domain: path} (a file, or inline) or a CSV file "
                                                     "domain,path."),
                 export_option: list[str] | None = typer.Option(None, "--export-option", metavar="KEY=VALUE",
                                                                help=EXPORT_OPTION_HELP),
                 out_path: Path | None = typer.Option(None, "--out", help="Write the export here; without "
                                                      "--export the optimum: JSON, or one row (run, w:<domain>, "
                                                      "pred:<eval>) for a .csv, .parquet or .jsonl name."),
                 weight_tol: float = WeightTolOpt,
                 at_params: str | None = AtParamsOpt, final_step: bool = FinalStepOpt,
                 eval_group: list[str] | None = EvalGroupOpt, law_option: list[str] | None = LawOptionOpt,
                 fit_total: bool = FitTotalOpt, workers: str | None = OptimizeWorkersOpt,
                 seed: int = SeedOpt, as_json: bool = JsonOpt) -> None:
    """Fit LAW to the runs and print the optimal mixture under the constraints (with --bootstrap intervals), or
    take a law saved by 'mixlaw fit --out' (--law law.json: no refit) or a saved pipeline's law at its target scale
    (--pipeline)."""
    check_not_an_input([runs, law, pipeline, tokens_available, paths], out=out_path)
    # Given on the command line, not compared with the default: '--samples 100000' is a choice too.
    sim_given = {"--samples": _given(ctx, "samples"), "--top-k": _given(ctx, "top_k")}
    saved_law = law.lower().endswith(".json") or Path(law).is_file()
    if saved_law:
        # A saved law is optimised as it was fitted: what shaped that fit is refused, not ignored.
        refuse_given({"--target": bool(target), "--candidates": candidates is not None,
                      "--cv-folds": cv_folds is not None, "--bootstrap": bootstrap != 0,
                      "--eval-group": bool(eval_group), "--law-option": bool(law_option), "--fit-total": fit_total,
                      "--workers": workers is not None, "--at-params": at_params is not None,
                      "--final-step": final_step, "--pipeline": pipeline is not None},
                      f"--law {law} optimises the saved law as it was fitted; ",
                      "to a law fitted here (--law KEY with --runs): refit for another")
    if pipeline is not None:
        refuse_given({"--params": scale_params is not None, "--tokens": scale_tokens is not None},
                     "--pipeline optimises the saved pipeline's law at its target scale; ",
                     "to a law fitted across scales (--runs, or a saved --law law.json); for another target, refit: "
                     "mixlaw pipeline --target-params / --target-tokens ... --optimize")
        # Each of these shapes a fit that the saved pipeline has already made (--maximize: optimize_pipeline refuses
        # it, the step and size laws model falling losses): said, not ignored.
        refuse_given({"--runs": runs is not None, "--dataset": dataset is not None, "--law": law != "auto",
                      "--target": bool(target), "--candidates": candidates is not None,
                      "--cv-folds": cv_folds is not None, "--maximize": maximize, "--search": search != "auto",
                      **sim_given,
                      "--bootstrap": bootstrap != 0,
                      "--step-law": step_law is not None, "--target-steps": target_steps is not None,
                      "--weight-tol": weight_tol != WEIGHT_TOL, "--at-params": at_params is not None,
                      "--final-step": final_step, "--eval-group": bool(eval_group),
                      "--law-option": bool(law_option), "--fit-total": fit_total, "--workers": workers is not None},
                      "--pipeline optimises the saved pipeline's law at its target scale; ",
                      "to a law fitted here, on --runs or --dataset (for another law, refit: mixlaw pipeline "
                      "--optimize; for one eval set or a weighted sum: --objective)")
    if pipeline is None and default is not None:
        # The natural mixture of a law fitted here is the runs' mean (or the token shares): 'pipeline --default'
        # has its counterpart for a saved pipeline only.
        raise InputError("--default applies to --pipeline (the saved pipeline's optimum is compared with it, as "
                         "'mixlaw pipeline --optimize --default'); with --runs or --law the reference is the runs' "
                         "mean, or the token shares of --tokens-available")
    sl, fx = _parse_step_law(step_law), _parse_fixed(fixed)
    if export is None:
        refuse_given({"--paths": paths is not None, "--export-option": bool(export_option)}, "", "to --export only")
    if search == "gradient":
        # SLSQP simulates nothing: '--search gradient --samples 500' printed SLSQP's optimum as if they were used.
        refuse_given(sim_given, "",
                     "to --search simulate (and to auto's search of a law without a gradient), not to --search "
                     "gradient")
    if within_range and extrapolate:
        raise InputError("--within-fitted-range and --extrapolate contradict each other; give one")
    export_paths, export_opts = None if paths is None else read_paths(paths), parse_export_options(export_option)
    if export is not None:  # before the fit, which can take a minute: a typo should not cost that
        check_export_request(export, export_paths, export_opts)
    asked = _Asked(objective=objective, objective_given=_given(ctx, "objective"), maximize=maximize, bounds=bounds,
                   fixed=fx, tokens_available=tokens_available, target_tokens=target_tokens, max_epochs=max_epochs,
                   extrapolate=extrapolate, trust_radius=trust_radius, search=search, samples=samples, top_k=top_k,
                   step_law=sl, target_steps=target_steps, seed=seed, params=scale_params, tokens=scale_tokens,
                   default=default)
    saved, opt_interval, at = None, None, None
    if pipeline is not None:
        saved, result, opt_interval, tok = _optimum_of_pipeline(pipeline, asked)
    elif saved_law:
        result, tok = _optimum_of_saved_law(law, runs, dataset, weight_tol, asked)
    else:
        result, tok, at = _optimum_of_runs(runs, dataset, law, target, candidates, cv_folds, bootstrap, weight_tol,
                                       at_params, final_step, eval_group, law_option, fit_total, workers, asked)
    _note_unused_simulate_options(result, sim_given)
    text = None
    if export is not None:
        # The export carries the constraints the optimum was chosen under: the token budget sets each source's
        # repetition (OLMo-core) and the sample count (Megatron).
        with show_warnings(maximize):
            budget = None if target_tokens is None else TokenBudget(target_tokens, tok, max_epochs)
            text = export_mixture(result.weights, export, export_paths, budget=budget, **export_opts)
    as_row = _write_out(result, text, out_path, _loss_interval(result, saved, opt_interval))
    if as_json:
        doc = {"optimum": result.to_dict(), "seed": seed, "export": text,
               "saved": None if out_path is None else str(out_path)}
        if pipeline is not None:
            doc["pipeline"] = str(pipeline)
            doc["optimum_interval"] = interval_doc(saved, opt_interval)
        if at is not None:
            doc["fitted_at"] = at
        emit_json(doc)
        return
    _print_optimum(result, pipeline, saved, opt_interval, export, text, out_path, as_row)


def _given(ctx: typer.Context, name: str) -> bool:
    """Whether option ``name`` (its parameter name) was given on the command line or by its environment variable.
    By the source's name: typer 0.29 carries its own copy of click, whose ParameterSource is not click's."""
    return getattr(ctx.get_parameter_source(name), "name", None) in ("COMMANDLINE", "ENVIRONMENT")


def _note_unused_simulate_options(result: Any, sim_given: dict[str, bool]) -> None:
    """One stderr line when --samples/--top-k were given and the search that ran was not simulate: --search auto
    (the default) takes the gradient search for a law with a gradient, and with --law auto the user cannot tell
    which law (so which search) that is; 'optimize --law ye-exp --samples 500' ran SLSQP without a word."""
    given = [k for k, v in sim_given.items() if v]
    if given and result.search != "simulate":
        choice = (result.selection or {}).get("choice") or {}  # auto's pick, per eval set (or one for the objective)
        law = result.law + (f": {', '.join(dict.fromkeys(map(str, choice.values())))} chosen" if choice else "")
        err.print(f"note: {', '.join(given)} unused: the {result.search} search ran (law {law}; --search auto takes "
                  "it for a law with a gradient); --search simulate uses them", highlight=False, markup=False)


def _print_optimum(result: Any, pipeline: Path | None, saved: Any, opt_interval: Any, export: str | None,
                   text: str | None, out_path: Path | None, as_row: bool) -> None:
    """The text output: the scale (--pipeline), the optimum, its interval, then the export or where it was written."""
    if pipeline is not None:  # at what scale: the optimum is the saved law's there
        out.print(f"{pipeline}: {saved.headline()}", "", sep="\n", highlight=False, markup=False)
    out.print(str(result), highlight=False, markup=False)
    if opt_interval is not None:
        out.print(optimum_interval_line(saved, result, opt_interval), highlight=False, markup=False)
    if text is not None and out_path is None:
        out.print(f"[[Export: {export}]]", highlight=False, markup=False)
        sys.stdout.write(text)
    elif out_path is not None:
        what = "the optimum (one row: w:<domain>, pred:<eval>)" if as_row else "the optimum (JSON)"
        err.print(f"wrote {'the ' + export + ' export' if export else what} to {out_path}",
                  highlight=False, markup=False)


def _parse_step_law(step_law: str | None) -> tuple[float, ...] | None:
    """--step-law E,B,beta as three numbers (None when not given)."""
    if step_law is None:
        return None
    try:
        sl = tuple(float(v) for v in step_law.split(","))
    except ValueError:
        raise InputError(f"--step-law: expected E,B,beta; got {step_law!r}") from None
    if len(sl) != 3:
        raise InputError(f"--step-law: expected E,B,beta; got {step_law!r}")
    return sl


def _parse_fixed(fixed: list[str] | None) -> dict[str, float] | None:
    """--fixed domain=weight (repeatable, comma-separated) as a mapping; one that names no domain is refused."""
    if not fixed:
        return None
    fx = parse_named_numbers((x for spec in fixed for x in split_names(spec)), "=", "--fixed", "domain=weight")
    if not fx:
        raise InputError(f"--fixed {' '.join(map(repr, fixed))} names no domain; expected domain=weight")
    return fx


@dataclass(frozen=True)
class _Asked:
    """The optimiser's options as given (each way to the optimum parses them where it did), to pass them as one."""

    objective: str
    objective_given: bool  # on the command line: a saved law fitted for another objective refuses it
    maximize: bool
    bounds: list[str] | None
    fixed: dict[str, float] | None
    tokens_available: str | None
    target_tokens: float | None
    max_epochs: float | None
    extrapolate: bool
    trust_radius: float | None
    search: str
    samples: int
    top_k: int
    step_law: tuple[float, ...] | None
    target_steps: float | None
    seed: int
    params: float | None = None  # --params / --tokens: the scale a law fitted across several is optimised at
    tokens: float | None = None
    default: str | None = None  # --pipeline's --default: the mixture the optimum is compared with


def _optimum_of_pipeline(pipeline: Path, a: _Asked) -> tuple[Any, Any, Any, Any]:
    """--pipeline: the saved pipeline's law optimised at its own target scale, as 'pipeline --optimize' gives it."""
    with show_warnings(a.maximize):
        saved = load_pipeline(pipeline)
        # The saved fit's target below its smallest fitted size or step: said at the fit and by 'predict --pipeline'
        # at the target, and the optimum is read there too.
        below = saved.target_below_line()
        if below is not None:
            warnings.warn(below, ExtrapolationWarning, stacklevel=1)
        if a.target_tokens is not None and saved.target_tokens is not None \
                and abs(a.target_tokens / saved.target_tokens - 1) > 0.01:
            # --target-tokens is the token budget here (repetition, export), not the scale of the optimum.
            asked = exact_number(a.target_tokens)
            warnings.warn(f"--target-tokens {asked} is the run's token budget (data repetition, the "
                          f"export); the optimum is the saved law's at its own target, D* = "
                          f"{saved.target_tokens:.4g} tokens: for another scale, refit (mixlaw pipeline "
                          f"--target-tokens {asked} --save ...)", MixlawWarning, stacklevel=1)
        tok = tokens_available_for(a.tokens_available, saved.domains, "the pipeline")
        # As 'mixlaw pipeline --optimize' gives it (one call: the same optimum), the reference mixture the
        # mean of the pipeline's mixtures unless the token shares are known, or --default names it as the pipeline's
        # --default does (hunt34b: the saved file's figures were against the mean only).
        if a.default is not None:
            natural = parse_default(a.default, saved.domains, saved.mixtures)
            source = {"mean": "mean of the runs", "uniform": "uniform"}.get(a.default, "--default")
        else:
            natural, source = None, None if tok is not None else "mean of the runs"
        result, opt_interval = api.optimize_at_target(
            saved, objective=parse_objective(a.objective), extrapolate=a.extrapolate, bounds=parse_bounds(a.bounds),
            natural=natural, natural_source=source, fixed=a.fixed, tokens_available=tok,
            target_tokens=a.target_tokens, max_epochs=a.max_epochs, trust_radius=a.trust_radius,
            random_state=a.seed)
        name = fit_total_name(saved)
        if name is not None:  # saved by 'pipeline --fit-total': it read "objective=loss of objective"
            result.objective_name = name
    return saved, result, opt_interval, tok


def _optimum_of_saved_law(law: str, runs: str | None, dataset: str | None, weight_tol: float,
                          a: _Asked) -> tuple[Any, Any]:
    """--law law.json: the saved law optimised as it was fitted (the runs, when given, only for its ranges)."""
    with show_warnings(a.maximize):
        fitted = api.load_law(law)
        table = None if runs is None and dataset is None else fitting_table(runs, dataset, weight_tol, None, None,
                                                                           False)
        tok = tokens_available_for(a.tokens_available, fitted.domains_, "the law")
        result = api.optimize_saved_law(fitted, table,
                                        objective=parse_objective(a.objective) if a.objective_given else None,
                                        extrapolate=a.extrapolate, maximize=a.maximize, bounds=parse_bounds(a.bounds),
                                        fixed=a.fixed, tokens_available=tok, target_tokens=a.target_tokens,
                                        max_epochs=a.max_epochs, trust_radius=a.trust_radius, search=a.search,
                                        n_samples=a.samples, top_k=a.top_k, step_law=a.step_law,
                                        target_steps=a.target_steps, random_state=a.seed, params=a.params,
                                        tokens=a.tokens)
    return result, tok


def _optimum_of_runs(runs: str | None, dataset: str | None, law: str, target: list[str] | None,
                     candidates: str | None, cv_folds: int | None, bootstrap: int, weight_tol: float,
                     at_params: str | None, final_step: bool, eval_group: list[str] | None,
                     law_option: list[str] | None, fit_total: bool, workers: str | None,
                     a: _Asked) -> tuple[Any, Any, dict[str, float] | None]:
    """--runs/--dataset: fit the law here (with progress, workers, --fit-total) and optimise it (api.optimize_runs)."""
    desc = f"{law}: bootstrap refits" if bootstrap else f"fitting {law}"
    if bootstrap and law in META_LAWS:
        # Said from the first line: a meta-law's refit re-runs its cross-validated choice (on Dai & Zheng's 122M
        # runs, 48 x 8 evals, auto took 14 s a refit and additive-ens 0.3 s: --bootstrap 200, ~45 min vs 1 min).
        desc += f" (each re-runs the {law} choice by cross-validation; --law KEY refits one law)"
    # --workers: the bootstrap's refits in parallel, or else the CV of auto/stack (never both: no pool in a pool;
    # a bootstrap worker's CV runs in that worker). Both default to auto (the usable CPUs: mixlaw._workers).
    n_workers = parse_workers(workers)
    with show_warnings(a.maximize), progress(desc, total=bootstrap or None) as advance, cv_progress(advance), \
            cv_workers(None if bootstrap else (n_workers or AUTO)):
        table = fitting_table(runs, dataset, weight_tol, eval_group, at_params, final_step)
        at = fitted_at(table, at_params, final_step)
        targets, obj = group_targets(target, eval_group), parse_objective(a.objective)
        if fit_total:
            if not a.maximize:  # the one law's column is named 'objective': warn on the evals it sums
                warn_minimised_metrics(list(linear_objective(obj, table.resolve_targets(targets))))
            table, targets, obj = fit_on_total(table, targets, obj)
        tok = tokens_available_for(a.tokens_available, table.domains, "the law")
        result = api.optimize_runs(table, law=law_with_options(law, law_option, a.seed), targets=targets,
                                   objective=obj, n_boot=bootstrap, bounds=parse_bounds(a.bounds), fixed=a.fixed,
                                   tokens_available=tok, target_tokens=a.target_tokens, max_epochs=a.max_epochs,
                                   extrapolate=a.extrapolate, trust_radius=a.trust_radius, search=a.search,
                                   n_samples=a.samples, top_k=a.top_k, step_law=a.step_law,
                                   candidates=parse_laws(candidates, "--candidates"),
                                   n_folds=cv_folds, target_steps=a.target_steps, maximize=a.maximize,
                                   random_state=a.seed, n_jobs=n_workers, params=a.params, tokens=a.tokens,
                                   on_progress=lambda k: advance(None, k))
        if fit_total:  # the law's one column is named 'objective': say which (it read 'loss of objective')
            result.objective_name = fit_total_label(a.objective)
    return result, tok, at


def _loss_interval(result: Any, saved: Any, opt_interval: Any) -> tuple[int, dict[str, tuple[float, float]]] | None:
    """The optimum's predicted losses' interval as (level in %, {eval: (lower, upper)}): a saved pipeline's
    (``opt_interval``) or --bootstrap's; None when there is none."""
    if opt_interval is not None and saved is not None and saved.intervals is not None:
        return round(100 * saved.intervals.level), {t: (float(opt_interval[0][0, k]), float(opt_interval[1][0, k]))
                                                     for k, t in enumerate(saved.targets)}
    iv = result.intervals or {}
    if iv.get("losses") and iv.get("level") is not None:
        return round(100 * iv["level"]), {t: (float(lo), float(hi)) for t, (lo, hi) in iv["losses"].items()}
    return None


def _write_out(result: Any, text: str | None, out_path: Path | None,
               interval: tuple[int, dict[str, tuple[float, float]]] | None = None) -> bool:
    """--out: the export, or the optimum as one row for a table's name, else as JSON; True when written as a row.
    The row has each predicted loss's interval (``lo80:<eval>`` / ``hi80:<eval>`` after ``pred:<eval>``, as
    ``predict --out`` writes them) when there is one: the JSON had it, the row (found by a hunt) did not."""
    # A table's name, as every --out that writes a table reads it (TABLE_SUFFIXES): opt.jsonl got the optimum's
    # pretty-printed JSON document, which no JSON-records reader (pandas' read_json(lines=True)) reads.
    as_row = out_path is not None and text is None and out_path.suffix.lower() in TABLE_SUFFIXES
    if as_row:
        # A table by its name: the optimum as one row (what `export --mixture` and `predict --mixtures` read, as
        # the docs said it was); optimize --out opt.csv wrote JSON into it, and `export --mixture opt.csv` then
        # said "not a readable CSV".
        row: dict[str, Any] = {"run": "optimum", **{f"w:{d}": float(w) for d, w in result.weights.items()}}
        for e, v in result.losses.items():
            row[f"pred:{e}"] = float(v)
            if interval is not None and e in interval[1]:
                row[f"lo{interval[0]}:{e}"], row[f"hi{interval[0]}:{e}"] = interval[1][e]
        api.write_frame_atomic(pd.DataFrame([row]), out_path, "--out")
    elif out_path is not None:
        api.write_text_atomic(text if text is not None else strict_dumps(result.to_dict(), indent=2), out_path)
    return as_row


def continual_cmd(runs: str = typer.Option(..., "--runs", help="Continual-pretraining run table."),
                  original: str = typer.Option(..., "--original", help="The domain pretrained on."),
                  new: str = typer.Option(..., "--new", help="The domain added in continual pretraining."),
                  tolerance: float = typer.Option(0.0, "--tolerance", help="Allowed loss increase (nats)."),
                  pre_loss: float | None = typer.Option(None, "--pre-loss",
                                                           help="Original-domain loss before (default: the base "
                                                           "model's row, which has no mixture, or the step-0 rows)."),
                  law: str = typer.Option("ye-exp", "--law", help="Law key."),
                  bootstrap: int = typer.Option(200, "--bootstrap", help="Bootstrap refits for the interval."),
                  weight_tol: float = WeightTolOpt,
                  law_option: list[str] | None = LawOptionOpt, workers: str = WorkersOpt,
                  eval_group: list[str] | None = typer.Option(
                      None, "--eval-group", metavar="NAME=EVAL:W,...",
                      help="Add the loss column NAME, the weighted mean of those eval sets (shares normalised to "
                           "1): name it as --original (or --new) to measure that domain by them; repeatable."),
                  seed: int = SeedOpt, as_json: bool = JsonOpt) -> None:
    """Critical proportion of the NEW domain: the largest share that keeps ORIGINAL's loss within tolerance.

    --eval-group builds ORIGINAL's (or NEW's) loss from the eval sets that measure it, e.g. the Pile's parts."""
    groups, n_jobs = parse_eval_groups(eval_group), parse_workers(workers)
    with show_warnings(), progress("fitting + bootstrap"):
        # The path, not a loaded table: the base model's row has no mixture, which a run table refuses.
        res = critical_proportion(runs, original=original, new=new, pre_loss=pre_loss, tolerance=tolerance,
                                  law=law_with_options(law, law_option, seed), n_boot=bootstrap, random_state=seed,
                                  weight_tol=weight_tol, n_jobs=n_jobs, eval_groups=groups or None)
    if as_json:
        emit_json({"continual": res.to_dict(), "seed": seed})
    else:
        out.print(str(res), highlight=False, markup=False)
