"""The ``pipeline`` command: extrapolate small proxy runs to a target model size and training length
(nested: step law -> size law -> mixing law, after Ye et al.; or direct: a law with model size as an input;
by default the route and law a leave-scale-out backtest prefers, with prediction intervals), optionally with
the optimal mixture at the target scale (``--optimize``) and a backtest within the data (``--backtest``), and
saved for ``mixlaw predict --pipeline`` (``--save``). One model size is enough to extrapolate in steps alone
at that size (``--target-params`` optional then; ``--steps-only`` at a fitted size of a larger sweep), and runs
recorded at one step (each run's final loss) extrapolate in model size alone at that step (``--target-steps``
optional then; ``--sizes-only`` at a recorded step of a longer sweep).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from .. import api
from .._atomic import check_table_suffix
from ..errors import InputError
from ..evals import add_weighted_total, linear_objective
from ..laws.options import parse_law_options
from ..laws.selection import cv_workers
from ..pipeline import backtest_pipeline, fit_pipeline, keep_fit_sizes, optimum_interval_line, save_pipeline
from ..pipeline.auto import warn_extrapolated_metrics
from ..pipeline.check import check_of, held_out_rows
from ..pipeline.fitting import read_as_one_size
from ..pipeline.grouping import merge_near_sizes
from ..report_pipeline import build_pipeline_report
from ._common import (
    COUNT,
    BoundsOpt,
    EvalGroupOpt,
    FitTotalOpt,
    JsonOpt,
    LawOptionOpt,
    PipelineCvWorkersOpt,
    SeedOpt,
    TargetOpt,
    WeightTolOpt,
    check_outputs,
    emit_json,
    err,
    fit_on_total,
    fit_total_name,
    group_targets,
    interval_doc,
    out,
    parse_bounds,
    parse_counts,
    parse_default,
    parse_objective,
    refuse_given,
    show_warnings,
)
from ._progress import progress
from ._tables import load_table


def pipeline_cmd(runs: str = typer.Option(..., "--runs", help="Run table: 'params' and 'step' (or 'tokens')."),
                 target_params: float | None = typer.Option(None, "--target-params", **COUNT,
                                                            help="Target model size N* (default: the table's one "
                                                            "size). In a table of 1-2 sizes a fitted one "
                                                            "extrapolates in steps alone (3+: --steps-only)."),
                 target_steps: float | None = typer.Option(None, "--target-steps", **COUNT,
                                                           help="Target training steps S* (default: the table's one "
                                                           "step). In a table of 1-2 steps a recorded one "
                                                           "extrapolates in model size alone (3+: --sizes-only)."),
                 target_tokens: float | None = typer.Option(None, "--target-tokens", **COUNT,
                                                            help="Or: target training tokens D* (step law over the "
                                                            "'tokens' column)."),
                 fit_sizes: str | None = typer.Option(None, "--fit-sizes", metavar="SIZES",
                                                      help="Fit only these model sizes of the table, e.g. "
                                                      "70M,160M,410M, each the table's nearest size within 5 % "
                                                      "(to check an extrapolation: hold out the largest and target "
                                                      "it)."),
                 fit_up_to: float | None = typer.Option(None, "--fit-up-to", **COUNT,
                                                        help="Or: fit every model size up to this one, e.g. 410M."),
                 route: str = typer.Option("auto", "--route",
                                           help="auto (chosen by a leave-scale-out backtest) | nested (Ye) | direct "
                                           "(law with N as input)."),
                 law: str = typer.Option("auto", "--law",
                                         help="auto (nested: ye-exp, ye-pow, additive-ens; direct: the joint law "
                                         "with ye-exp's mixture term; compared by the backtest) | a mixing law "
                                         "key (direct: ye-exp or ye-pow as the joint law's mixture term, or a "
                                         "law that takes the model size: dz-eq1, dz-eq3, dz-eq3-safe)."),
                 target: list[str] | None = TargetOpt,
                 shared: str = typer.Option("yes", "--shared-exponents",
                                            help="yes | auto | no: one step/size exponent per eval shared by all "
                                            "mixtures (what the backtest can score; 'no': each curve its own, as "
                                            "Ye; 'auto': own where 4+ checkpoints/sizes allow)."),
                 steps_only: bool = typer.Option(False, "--steps-only",
                                                 help="Extrapolate in steps alone at --target-params, a fitted size, "
                                                 "on that size's curves (the default with 1-2 sizes in the table; "
                                                 "with 3+ the size law is read at that size)."),
                 sizes_only: bool = typer.Option(False, "--sizes-only",
                                                 help="Extrapolate in model size alone at --target-steps (or "
                                                 "--target-tokens), a recorded one, on the runs at that step (the "
                                                 "default with 1-2 steps in the table; with 3+ the step laws are "
                                                 "read at that step)."),
                 fit_from: float = typer.Option(0.0, "--fit-from",
                                                help="Leave out each curve's (mixture at one size) checkpoints "
                                                "before this fraction of its last step (the early transient bends "
                                                "step-law fits), e.g. 0.4."),
                 optimize: bool = typer.Option(False, "--optimize",
                                               help="Also: the optimal mixture at the target scale, with Ye's "
                                               "steps-to-match figures against --default."),
                 objective: str = typer.Option("mean", "--objective",
                                               help="With --optimize: mean | total | max | <eval> | "
                                               "weights=a:0.5,b:0.5. With auto, a weighted sum other than mean is "
                                               "what the backtest scores, and one law on that total is a candidate."),
                 bounds: list[str] | None = BoundsOpt,
                 within_range: bool = typer.Option(False, "--within-fitted-range",
                                                   help="Keep each weight within its range in the runs (the "
                                                   "default, as in 'mixlaw optimize'; kept for old scripts)."),
                 extrapolate: bool = typer.Option(False, "--extrapolate",
                                                  help="With --optimize: let the optimum leave the fitted range of "
                                                  "the weights."),
                 trust_radius: float | None = typer.Option(None, "--trust-radius",
                                                           help="With --optimize: also keep the optimum within this "
                                                           "L1 distance of some mixture of the runs (0-2), as in "
                                                           "'mixlaw optimize'."),
                 backtest: bool = typer.Option(False, "--backtest",
                                               help="Also: extrapolate within the data (each part alone, as auto's "
                                               "split holds it out: curves cut nearest the target's ratio, the "
                                               "largest size held out) and print the errors, an empirical error "
                                               "bar."),
                 default: str = typer.Option("mean", "--default",
                                             help="Mixture to compare with: mean (of the runs) | uniform | "
                                             "a=0.5,b=0.5 (or a=50%,..., \"a, b\"=0.5 for a name with ',', "
                                             "or a JSON/CSV mixture file)"),
                 weight_tol: float = WeightTolOpt,
                 eval_group: list[str] | None = EvalGroupOpt, law_option: list[str] | None = LawOptionOpt,
                 fit_total: bool = FitTotalOpt,
                 save: Path | None = typer.Option(None, "--save", help="Save the fitted pipeline as JSON, for "
                                                  "'mixlaw predict --pipeline' at any model size and step."),
                 out_path: Path | None = typer.Option(None, "--out", help="Write the predicted target-scale losses "
                                                      "of the runs' mixtures (with their intervals) here, as the "
                                                      "suffix says: .csv, .parquet or .jsonl; the report then "
                                                      "names the file instead of printing that table."),
                 report: Path | None = typer.Option(None, "--report", help="Also write a self-contained HTML page: "
                                                    "the fitted curves carried to the target, every mixture's "
                                                    "prediction with its interval (and any measured loss at the "
                                                    "target in --runs beside it), the auto choice, the stages."),
                 workers: str = PipelineCvWorkersOpt, seed: int = SeedOpt, as_json: bool = JsonOpt) -> None:
    """Extrapolate small runs to the target scale (nested: step law -> size law -> mixing law; direct: one law with
    N and S as inputs; auto, the default: chosen by a leave-scale-out backtest) and print each stage."""
    modes: dict[str, bool | str] = {"auto": "auto", "yes": True, "no": False}
    if shared not in modes:
        raise InputError(f"--shared-exponents must be auto, yes or no; got {shared!r}")
    if not optimize:
        refuse_given({"--bounds": bool(bounds), "--within-fitted-range": within_range,
                      "--extrapolate": extrapolate, "--trust-radius": trust_radius is not None,
                      "--objective": objective != "mean", "--default": default != "mean"},
                     "", "to the optimal mixture only: add --optimize")
    if within_range and extrapolate:
        raise InputError("--within-fitted-range and --extrapolate contradict each other; give one")
    # --default may name a mixture file: an input too (read before --out and --report are written).
    check_outputs([runs, default if default not in ("mean", "uniform") and Path(default).is_file() else None],
                  save=save, out=out_path, report=report)
    if out_path is not None:
        check_table_suffix(out_path, "--out")
    # --workers reaches a mixing law that cross-validates (--law stack), in the fit and in --backtest's refits.
    with show_warnings(), progress(f"{route} pipeline"), cv_workers(workers):
        table = load_table(runs, weight_tol, eval_group)
        sizes = parse_counts(fit_sizes, "--fit-sizes")
        targets, obj = group_targets(target, eval_group), parse_objective(objective)
        total = None
        if fit_total:
            # The one column fitted is named 'objective': say it of the evals it sums, as fit_pipeline does of its own.
            total = {"name": objective, "weights": linear_objective(obj, table.resolve_targets(targets))}
            warn_extrapolated_metrics(list(total["weights"]))
            table, targets, obj = fit_on_total(table, targets, obj)
        options = parse_law_options(law, law_option) if law_option else None
        # What auto's backtest scores; a fixed route and law have nothing to score it on (fit_pipeline would say so).
        scored = (obj if optimize and objective != "mean" and obj != "max" and not fit_total
                  and "auto" in (route, law) else None)
        result = fit_pipeline(table, target_params=target_params, target_steps=target_steps,
                              target_tokens=target_tokens, route=route, law=law, targets=targets, objective=scored,
                              random_state=seed, shared_exponents=modes[shared], fit_from=fit_from,
                              law_options=options, steps_only=True if steps_only else None,
                              sizes_only=True if sizes_only else None, fit_sizes=sizes, fit_up_to=fit_up_to)
        result.fit_total = total  # saved: 'optimize --pipeline' names the objective by it
        if save is not None:
            save_pipeline(result, save)
        opt = opt_interval = None
        if optimize:
            opt, opt_interval = _optimum(result, obj, default, extrapolate, bounds, trust_radius, seed)
        tests = None
        if backtest:
            tests = _backtest(result, table, sizes, fit_up_to, seed, modes[shared], fit_from, options)
    if save is not None:
        err.print(f"saved the pipeline to {save}", highlight=False, markup=False)
    fitted = _fitted_sizes(table, target_params, sizes, fit_up_to)
    # The table's rows at the target read once, for the check line and the page (each new mixture predicted once);
    # inside show_warnings: a new mixture at the target outside the fitted range warns as the fit does.
    with show_warnings():
        held = held_out_rows(result, table, fitted)
        check = check_of(result, held)
    if report is not None:
        with show_warnings(), progress("pipeline report"):
            page = build_pipeline_report(result, table, fitted_sizes=fitted, optimum=opt,
                                         optimum_interval=opt_interval, rows=held)
        api.write_text_atomic(page, report)
        err.print(f"wrote the pipeline report to {report}", highlight=False, markup=False)
    if out_path is not None:
        api.write_frame_atomic(result.frame(), out_path, "--out")
        err.print(f"wrote the predicted target-scale losses to {out_path}", highlight=False, markup=False)
    if as_json:
        emit_json({"pipeline": result.to_dict(), "optimum": None if opt is None else opt.to_dict(),
                   "optimum_interval": interval_doc(result, opt_interval),
                   "backtest": None if tests is None else [b.to_dict() for b in tests], "seed": seed,
                   "saved": None if save is None else str(save),
                   "predictions_file": None if out_path is None else str(out_path),
                   "report_file": None if report is None else str(report),
                   "target_check": None if check is None else check.to_dict()})
        return
    _print_pipeline(result, out_path, check, tests, opt, opt_interval)


def _optimum(result: Any, obj: Any, default: str, extrapolate: bool, bounds: list[str] | None,
             trust_radius: float | None, seed: int) -> tuple[Any, Any]:
    """--optimize: the optimal mixture at the target scale and its interval, as 'optimize --pipeline' gives it."""
    # The same defaults as 'mixlaw optimize' (issue 10): the trust region is the fitted range of each
    # weight unless --extrapolate, and the runs' mixtures give the optimum's distance to the nearest run;
    # a law fitted on the weighted total minimises that one column (api.optimize_at_target, which
    # 'mixlaw optimize --pipeline' calls too).
    opt, opt_interval = api.optimize_at_target(
        result, objective=obj, natural=parse_default(default, result.domains, result.mixtures),
        natural_source={"mean": "mean of the runs", "uniform": "uniform"}.get(default, "--default"),
        extrapolate=extrapolate, bounds=parse_bounds(bounds), trust_radius=trust_radius, random_state=seed)
    name = fit_total_name(result)
    if name is not None:
        # As optimize names it: the header read "objective=loss of objective", the user's weights lost.
        opt.objective_name = name
    return opt, opt_interval


def _backtest(result: Any, table: Any, sizes: Any, fit_up_to: float | None, seed: int, shared: bool | str,
              fit_from: float, options: dict[str, Any] | None) -> Any:
    """--backtest: the backtest of the route and law used (the chosen ones, with auto), on the sizes fitted. The
    evals that rise with training were checked by the fit, on the evals it read: not again here (check_rising)."""
    total = None if result.selection is None else result.selection.total
    data = table if all(t in table.evals for t in result.targets) else add_weighted_total(table, total or {})
    # The sizes the pipeline fitted, not the held-out ones. need=1: fit_pipeline already checked the count
    # against the target and the law (2 kept sizes fit a target at one of them, or a law that takes N);
    # the default count (3) refused those here, after the fit.
    # Sizes written two ways merged first, as fit_pipeline does (it said so): else --fit-up-to dropped the
    # rows of the other spelling here, which the fit had kept.
    data = keep_fit_sizes(merge_near_sizes(data)[0], sizes, fit_up_to, need=1)[0]
    return backtest_pipeline(data, route=result.route, law=result.law.removeprefix("joint+"),
                             targets=result.targets, random_state=seed, shared_exponents=shared,
                             fit_from=fit_from, law_options=options, axis=result.time_axis,
                             target_params=result.target_params, steps_only=result.steps_only,
                             target_time=result.target_steps if result.time_axis == "step"
                             else result.target_tokens, sizes_only=result.sizes_only, check_rising=False)


def _fitted_sizes(table: Any, target_params: float | None, sizes: Any, fit_up_to: float | None) -> list[float]:
    """The model sizes the fit used, so that rows at other sizes (the target's) check its predictions."""
    # The sizes fitted, as the backtest above finds them: rows at other sizes were left out of the fit, and those at
    # the target scale check its predictions (the line below, the report's crosses).
    # A table of one model's checkpoints (no params column) as the fit read it, at one size.
    sized = read_as_one_size(table, target_params)[0]
    return sorted(set(map(float, keep_fit_sizes(merge_near_sizes(sized)[0], sizes, fit_up_to, need=1)[0]
                          .model_params)))


def _print_pipeline(result: Any, out_path: Path | None, check: Any, tests: Any, opt: Any, opt_interval: Any) -> None:
    """The text output: the stages and predictions, the target check, the backtest, the optimum and its interval."""
    out.print(result.text(predictions_to=None if out_path is None else str(out_path)), highlight=False, markup=False)
    if check is not None:
        out.print("", str(check), sep="\n", highlight=False, markup=False)
    if tests is not None:
        lines = [str(b) for b in tests] or ["    (too few checkpoints or sizes to backtest)"]
        out.print("", "[[Backtest: the same extrapolation within the data]]", *lines, sep="\n", highlight=False,
                  markup=False)
    if opt is not None:
        out.print("", str(opt), sep="\n", highlight=False, markup=False)
    if opt is not None and opt_interval is not None:
        out.print(optimum_interval_line(result, opt, opt_interval), highlight=False, markup=False)
