"""The ``design`` command: propose proxy-run mixtures before training (Ye's double-diminishing grid, RegMix's
Dirichlet), pick a subset of pilot runs (``--select``), or ask for the next small batch where a bootstrap
committee of the fitted law disagrees most near its optimum (``--method active``). Writes a CSV (or JSON).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import typer

from .. import api, design
from .._atomic import check_table_suffix
from .._validation import split_names
from ..data import WEIGHT_TOL
from ..data.json_records import json_records
from ..data.schema import whole_counts
from ..errors import InputError, MixlawWarning
from ..export import parse_mixture
from ._common import (
    COUNT,
    AtParamsOpt,
    FinalStepOpt,
    JsonOpt,
    LawOptionOpt,
    SeedOpt,
    WeightTolOpt,
    check_outputs,
    emit_json,
    err,
    out,
    parse_bounds,
    parse_objective,
    parse_targets,
    show_warnings,
    tokens_available_for,
)
from ._law_entries import law_with_options
from ._progress import progress
from ._tables import DatasetOpt, fitting_table


def design_cmd(domains: str | None = typer.Option(None, "--domains", help="Comma-separated training domains (a name "
                                                 "with ',' in double quotes)."),
               method: str = typer.Option("double-diminishing", "--method",
                                          help="double-diminishing | dirichlet | active (needs --runs)."),
               n: int | None = typer.Option(None, "--n", help="Number of mixtures to propose (default 40; 4 with "
                                            "--method active: a small batch, then retrain and ask again)."),
               select: int | None = typer.Option(None, "--select", help="Keep this many of the --runs (or "
                                                                "--dataset) pilots."),
               runs: str | None = typer.Option(None, "--runs", help="Pilot run table (--select, --method active)."),
               dataset: str | None = DatasetOpt,
               target: list[str] | None = typer.Option(None, "--target", metavar="EVAL",
                                                                help="Eval set(s) for --select/active (default: all); "
                                                                "repeatable."),
               prior: str | None = typer.Option(None, "--prior", help="Dirichlet prior: a=0.5,b=0.3,..."),
               tokens_available: str | None = typer.Option(None, "--tokens-available",
                                                              help="CSV domain,tokens, JSON or YAML file, or inline "
                                                                   "web=1.2B,code=500M."),
               target_tokens: float | None = typer.Option(None, "--target-tokens", **COUNT,
                                                          help="Target run tokens (1e11, 100B)."),
               max_epochs: float | None = typer.Option(None, "--max-epochs",
                                                       help="Max repetitions of a domain (default 4; with "
                                                            "--tokens-available and --target-tokens)."),
               levels: int | None = typer.Option(None, "--levels", min=1,
                                                 help="Double-diminishing: non-zero shares per domain, m, m/2, ..., "
                                                      "m/2^(levels-1) (default 5; more levels, more candidates)."),
               law: str | None = typer.Option(None, "--law", help="Active: law key (default ye-exp)."),
               objective: str | None = typer.Option(None, "--objective",
                                                    help="Active: mean (default) | total | max | <eval> | "
                                                         "weights=a:0.5,b:0.5"),
               maximize: bool = typer.Option(False, "--maximize",
                                             help="Active: maximise the objective (higher-is-better metrics: "
                                             "accuracy, pass@1, a score)."),
               bounds: list[str] | None = typer.Option(None, "--bounds", metavar="DOMAIN=LO:HI",
                                                                help="Active: bounds on a domain's weight; "
                                                                     "repeatable."),
               bootstrap: int | None = typer.Option(None, "--bootstrap", help="Active: committee size (default 32)."),
               radius: float | None = typer.Option(None, "--radius",
                                                   help="Active: L1 radius around the optimum (default 0.25)."),
               within_range: bool = typer.Option(False, "--within-fitted-range",
                                                 help="Active: keep the optimum and the proposals within each "
                                                 "domain's weight range in --runs (default: they may leave it, "
                                                 "to test the law's extrapolation)."),
               law_option: list[str] | None = LawOptionOpt,
               at_params: str | None = AtParamsOpt, final_step: bool = FinalStepOpt,
               weight_tol: float = WeightTolOpt,
               out_path: Path | None = typer.Option(None, "--out", help="Write the design here, as the suffix says: "
                                                   ".csv, .parquet or .jsonl."),
               seed: int = SeedOpt, as_json: bool = JsonOpt) -> None:
    """Propose proxy mixtures (Ye's double-diminishing, RegMix Dirichlet, or active: where a bootstrap committee
    of the law fitted on --runs disagrees most near its optimum), or select --select of the --runs pilots."""
    # As pipeline and report: a folder, a symlink or a path through a file is refused before --method active's
    # bootstrap refits, not after them (a missing folder is made by the write, as in every command).
    check_outputs([runs, tokens_available], out=out_path)
    if out_path is not None:
        check_table_suffix(out_path, "--out")
    # split_names: a name holding a comma in double quotes, as --prior, --bounds and export's --mixture read it;
    # a plain split made '"a,b",c' the domains '"a' and 'b"' without a word.
    doms = None if domains is None else [d.strip() for d in split_names(domains)]
    if doms is not None and not all(doms):
        # 'web,,code' (a name left out?) was read as web,code without a word.
        raise InputError(f"--domains {domains!r}: an empty name (position {doms.index('') + 1}); give the names "
                         "separated by single commas")
    active_opts = {"--law": law, "--objective": objective, "--bounds": bounds, "--bootstrap": bootstrap,
                   "--radius": radius, "--law-option": law_option,
                   "--within-fitted-range": within_range or None, "--maximize": maximize or None,
                   "--at-params": at_params, "--final-step": final_step or None}
    # --dataset NAME is a pilot table as --runs PATH is (fit and optimize read it the same way).
    pilots = runs is not None or dataset is not None
    with show_warnings(maximize):
        if runs is None and weight_tol != WEIGHT_TOL:
            # It applies to the pilot table only: a design's own mixtures sum to 1 by construction.
            raise InputError("--weight-tol applies to --runs (with --select or --method active) only")
        if method == "active":
            if not pilots:
                raise InputError("--method active needs --runs PILOTS (the runs so far, with their losses) or "
                                 "--dataset NAME")
            other = [k for k, v in {"--select": select, "--prior": prior, "--tokens-available": tokens_available,
                                    "--target-tokens": target_tokens, "--max-epochs": max_epochs,
                                    "--levels": levels}.items() if v is not None]
            if other:
                raise InputError(f"{', '.join(other)} do{'es' if len(other) == 1 else ''} not apply to --method active")
            table = fitting_table(runs, dataset, weight_tol, None, at_params, final_step)
            if doms is not None and set(doms) != set(table.domains):
                raise InputError(f"--domains {doms} differ from the pilot table's domains {table.domains}")
            kw: dict[str, Any] = {}
            if bootstrap is not None:
                kw["n_boot"] = bootstrap
            if radius is not None:
                kw["radius"] = radius
            with progress(f"active design: fitting {law or 'ye-exp'} + "
                          f"{bootstrap or design.ACTIVE_N_BOOTSTRAP} bootstrap refits"):
                frame = design.active_design(table, 4 if n is None else n,
                                             law=law_with_options(law or "ye-exp", law_option, seed),
                                             targets=parse_targets(target),
                                             objective=parse_objective(objective or "mean"),
                                             bounds=parse_bounds(bounds), within_fitted_range=within_range,
                                             maximize=maximize, random_state=seed, **kw)
        else:
            # --at-params / --final-step cut the pilot table of --select as they cut active's
            scale_opts = ("--at-params", "--final-step") if select is not None else ()
            given = [k for k, v in active_opts.items() if v is not None and v != [] and k not in scale_opts]
            if target and not pilots:
                raise InputError("--target applies to --select and --method active (with --runs or --dataset) only")
            if given:
                raise InputError(f"{', '.join(given)} appl{'ies' if len(given) == 1 else 'y'} to --method active only"
                                 + (" (--at-params and --final-step also to --select)"
                                    if {"--at-params", "--final-step"} & set(given) else ""))
            if levels is not None and (method != "double-diminishing" or select is not None or pilots):
                raise InputError("--levels applies to --method double-diminishing only")
            if select is not None or pilots:
                if select is None or not pilots:
                    raise InputError("--select K and --runs PILOTS (or --dataset NAME) go together (or use --runs or "
                                     "--dataset with --method active)")
                # These shape a proposed design, not a selection of the pilots: --select 5 with --n 8, --method
                # dirichlet (or an unknown method), --prior or a token budget printed the same 5 pilots without a word.
                unused = [k for k, v in {"--method": None if method == "double-diminishing" else method, "--n": n,
                                         "--prior": prior, "--tokens-available": tokens_available,
                                         "--target-tokens": target_tokens, "--max-epochs": max_epochs}.items()
                          if v is not None]
                if unused:
                    raise InputError(f"{', '.join(unused)} do{'es' if len(unused) == 1 else ''} not apply to --select "
                                     "(it keeps --select of the --runs pilots as they are)")
                table = fitting_table(runs, dataset, weight_tol, None, at_params, final_step)
                if doms is not None and set(doms) != set(table.domains):
                    raise InputError(f"--domains {doms} differ from the pilot table's domains {table.domains}")
                sizes = table.model_params
                if sizes is not None and len(np.unique(sizes)) > 1:
                    # A sweep's table: each (mixture, size) was a pilot of its own, their final losses one surface
                    # across the sizes (the other commands warn of that; --at-params was refused here).
                    warnings.warn(f"{table.path or 'pilot table'}: the pilots span {len(np.unique(sizes))} model "
                                  f"sizes ({np.min(sizes):.3g} to {np.max(sizes):.3g}); selection compares their "
                                  "final losses as one surface, each mixture at each size a pilot of its own: keep "
                                  "one size with --at-params largest (or smallest, or a size)", MixlawWarning,
                                  stacklevel=2)
                with progress(f"selecting {select} of the pilot runs (restarts of the swap search)",
                              total=8) as advance:
                    frame = design.select_runs(table, select, targets=parse_targets(target), random_state=seed,
                                               progress=advance)
            else:
                if doms is None:
                    raise InputError("--domains is required (comma-separated training domains)")
                if max_epochs is not None and tokens_available is None and target_tokens is None:
                    # As optimize: the epoch cap is a cap on tokens, and without a budget it capped nothing.
                    raise InputError("--max-epochs needs --tokens-available and --target-tokens (it caps each "
                                     "domain's share by the tokens it has)")
                tok = tokens_available_for(tokens_available, doms, "the design")
                frame = design.make_design(doms, method=method, n=40 if n is None else n,
                                           prior=None if prior is None else parse_mixture(prior),
                                           tokens_available=tok, target_tokens=target_tokens,
                                           max_epochs=4.0 if max_epochs is None else max_epochs,
                                           n_levels=levels, random_state=seed)
    # Whole model sizes, steps and token counts as integers in every output (the chosen pilots' params 1e8 read
    # 100000000.0), as the table writers give them.
    frame = whole_counts(frame)
    if out_path is not None:
        api.write_frame_atomic(frame, out_path, "--out")
    if as_json:
        emit_json({"design": dict(frame.attrs), "seed": seed, "runs": json_records(frame),
                   "saved": None if out_path is None else str(out_path)})
    elif out_path is None:
        out.print(frame.to_csv(index=False), end="", highlight=False, markup=False)
    else:
        # --select writes trained pilot runs with their losses (a run table to fit on), not mixtures to train
        what = "pilot runs (every column)" if select is not None else "mixtures"
        err.print(f"wrote {len(frame)} {what} to {out_path}", highlight=False, markup=False)
