"""The ``mixlaw`` command line: a thin typer layer over the public API.

Each command parses its arguments, calls one API function and renders the result (a rich table or text
on stdout, or one JSON document with ``--json``). :func:`main` maps :class:`~mixlaw.errors.InputError` to
exit code 2 and :class:`~mixlaw.errors.FitError` to exit code 1, printing ``error: <message>`` on stderr.
"""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import __version__
from .errors import FitError, InputError, MixlawError, MixlawWarning

SCHEMA_VERSION = 1

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Fit data mixing laws to proxy runs and choose the pretraining mixture.")
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
_JSON_MODE = {"on": False}

JsonOpt = typer.Option(False, "--json", help="Write one JSON document to stdout (progress goes to stderr).")
SeedOpt = typer.Option(0, "--seed", help="Random seed for every random choice (multistart, bootstrap).")


# ---------------------------------------------------------------------- rendering helpers
def emit_json(doc: dict[str, Any]) -> None:
    """Print one JSON document carrying the schema and package versions."""
    payload = {"schema_version": SCHEMA_VERSION, "mixlaw_version": __version__, **doc}
    sys.stdout.write(json.dumps(payload, indent=2, default=_json_default) + "\n")


def _json_default(x: Any) -> Any:
    import numpy as np

    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    return str(x)


@contextmanager
def progress(description: str, total: int | None = None) -> Iterator[Any]:
    """A rich progress bar on stderr (never on stdout, which may carry JSON)."""
    with Progress(SpinnerColumn(), TextColumn("[progress.description]{task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(), console=err,
                  transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task(description, total=total)

        def advance(label: str | None = None, n: int = 1) -> None:
            if label is not None:
                bar.update(task, description=f"{description}: {label}")
            bar.advance(task, n)

        yield advance


@contextmanager
def _show_warnings() -> Iterator[None]:
    """Print mixlaw warnings once each on stderr as 'warning: ...' instead of Python's two-line format."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MixlawWarning)
        yield
    seen = set()
    for w in caught:
        msg = str(w.message)
        if issubclass(w.category, MixlawWarning) and msg not in seen:
            seen.add(msg)
            err.print(f"[yellow]warning:[/yellow] {msg}", highlight=False)


def _parse_targets(target: list[str] | None) -> list[str] | str:
    if not target or target == ["all"]:
        return "all"
    names: list[str] = []
    for t in target:
        names.extend(x for x in t.split(",") if x)
    return names


def _parse_laws(laws: str | None) -> list[str] | None:
    return None if not laws else [x.strip() for x in laws.split(",") if x.strip()]


def _load_table(path: str, weight_tol: float) -> Any:
    from .data import read_runs

    return read_runs(path, weight_tol=weight_tol)


def _leaderboard_table(board: Any, title: str) -> Table:
    splits = list(dict.fromkeys(s for r in board.rows for s in r.splits))
    short = {s: s.removeprefix("test_") for s in splits}
    tab = Table(title=title, title_justify="left")
    tab.add_column("law", no_wrap=True)
    for s in splits:
        tab.add_column(f"ρ {short[s]}", justify="right", no_wrap=True)
    first = short[splits[0]] if splits else ""
    tab.add_column(f"MRE {first}", justify="right", no_wrap=True)
    tab.add_column(f"RMSE {first}", justify="right", no_wrap=True)
    tab.add_column("n_par", justify="right", no_wrap=True)
    tab.add_column("fit s", justify="right", no_wrap=True)
    for r in board.rows:
        if r.error:
            tab.add_row(r.law, *(["-"] * len(splits)), "-", "-", "-", f"failed: {r.error}")
            continue
        tab.add_row(r.law, *(f"{r.splits[s]['spearman']:.4f}" for s in splits),
                    f"{r.splits[splits[0]]['mre']:.4f}", f"{r.splits[splits[0]]['rmse']:.4f}", str(r.n_params),
                    f"{r.fit_seconds:.2f}")
    return tab


# ---------------------------------------------------------------------- commands
@app.command()
def demo(as_json: bool = JsonOpt, seed: int = SeedOpt,
         laws: str | None = typer.Option(None, "--laws", help="Comma-separated law keys (default: all)."),
         target: str = typer.Option("pile_cc", "--target", help="Eval set to fit, or 'all'."),
         train: bool = typer.Option(False, "--train", help="Instead: the whole system on real text (corpus, "
                                    "proxy sweep, laws, optimum, larger runs; ~10-15 min on 2 cores; needs "
                                    "mixlaw[train,corpus])."),
         out_dir: Path = typer.Option(Path("mixlaw-demo"), "--out", help="Work folder of --train (resumable)."),
         workers: int = typer.Option(2, "--workers", help="Training processes for --train.")) -> None:
    """Fit every law on the bundled RegMix runs (train_1m) and print the leaderboard on the test splits."""
    from . import api

    if train:
        try:
            from .train.demo import run_train_demo
        except ImportError as e:
            raise InputError(f"mixlaw demo --train needs the training extras: pip install 'mixlaw[train,corpus]' "
                             f"({e})") from e
        result = run_train_demo(out_dir, workers=workers, seed=seed, progress=not as_json and err.is_terminal)
        if as_json:
            emit_json(result.to_dict())
        else:
            out.print(str(result), highlight=False, markup=False)
        return

    with _show_warnings(), progress("fitting laws") as advance:
        board = api.compare_regmix(targets=_parse_targets([target]), laws=_parse_laws(laws), random_state=seed,
                                   on_progress=lambda k: advance(k, 0), on_done=lambda k: advance(k))
    if as_json:
        emit_json(board.to_dict())
        return
    out.print(_leaderboard_table(board, f"RegMix: fitted on train_1m (512 runs, 1M params), target "
                                        f"{', '.join(board.targets) if len(board.targets) < 4 else 'all 13 evals'}; "
                                        "ρ = Spearman on held-out runs"))
    best = board.best("test_1B")
    out.print(f"best on test_1B (1B-parameter models): [bold]{best.law}[/bold] "
              f"(Spearman {best.splits['test_1B']['spearman']:.4f})")


@app.command()
def compare(runs: str | None = typer.Option(None, "--runs", help="Fitting run table (CSV/Parquet/JSONL, or "
                                                                     "RegMix 'mixture.csv+loss.csv')."),
            test: list[str] | None = typer.Option(None, "--test", help="Held-out run table; repeat for "
                                                                            "several (NAME=PATH names a split)."),
            dataset: str | None = typer.Option(None, "--dataset", help="Bundled data instead of --runs: regmix | marin-delphi."),
            target: list[str] | None = typer.Option(None, "--target", help="Eval set(s), or 'all'; repeatable."),
            laws: str | None = typer.Option(None, "--laws", help="Comma-separated law keys (default: all)."),
            weight_tol: float = typer.Option(0.01, "--weight-tol", help="Tolerance on weight row sums."),
            seed: int = SeedOpt, as_json: bool = JsonOpt) -> None:
    """Fit each law on the fitting runs and score it on the held-out runs (Spearman, MRE, RMSE, R², regret)."""
    from . import api

    if (runs is None) == (dataset is None):
        raise InputError("give exactly one of --runs PATH or --dataset regmix|marin-delphi")
    tgt = _parse_targets(target)
    with _show_warnings(), progress("fitting laws") as advance:
        cb = {"on_progress": lambda k: advance(k, 0), "on_done": lambda k: advance(k)}
        if dataset is not None:
            board = api.compare_dataset(dataset, targets=tgt, laws=_parse_laws(laws), random_state=seed, **cb)
        else:
            if not test:
                raise InputError("--runs needs at least one --test held-out table")
            tests = {}
            for spec in test:
                name, path = spec.split("=", 1) if "=" in spec and not Path(spec).exists() else (Path(spec).stem, spec)
                tests[name] = _load_table(path, weight_tol)
            board = api.compare_tables(_load_table(runs, weight_tol), tests, targets=tgt, laws=_parse_laws(laws),
                                       random_state=seed, **cb)
    if as_json:
        emit_json(board.to_dict())
    else:
        out.print(_leaderboard_table(board, f"fitted on {board.train} ({board.n_train} runs); target(s): "
                                            f"{', '.join(board.targets)}"))


@app.command()
def fit(runs: str = typer.Option(..., "--runs", help="Run table to fit."),
        law: str = typer.Option("ye-exp", "--law", help="Law key (see 'mixlaw laws')."),
        target: list[str] | None = typer.Option(None, "--target", help="Eval set(s), or 'all'; repeatable."),
        out_path: Path | None = typer.Option(None, "--out", help="Save the fitted law as JSON."),
        weight_tol: float = typer.Option(0.01, "--weight-tol"),
        seed: int = SeedOpt, as_json: bool = JsonOpt) -> None:
    """Fit LAW to the run table and print an lmfit-style report (and save it with --out)."""
    from . import api

    with _show_warnings():
        fitted = api.fit_table(_load_table(runs, weight_tol), law=law, targets=_parse_targets(target),
                               random_state=seed)
        report = fitted.report(data=runs)
        if out_path is not None:
            api.save_law(fitted, out_path)
    if as_json:
        emit_json({"report": report.to_dict(), "saved": None if out_path is None else str(out_path)})
    else:
        out.print(str(report), highlight=False, markup=False)
        if out_path is not None:
            err.print(f"saved {law} to {out_path}")


@app.command()
def predict(law_path: Path = typer.Option(..., "--law", help="A law saved by 'mixlaw fit --out'."),
            mixtures: str = typer.Option(..., "--mixtures", help="Table with w:<domain> columns (CSV/Parquet/JSONL)."),
            out_path: Path | None = typer.Option(None, "--out", help="Write predictions as CSV."),
            as_json: bool = JsonOpt) -> None:
    """Predict the losses of new mixtures with a saved law."""
    from . import api

    with _show_warnings():
        law = api.load_law(law_path)
        frame = api.predict_table(law, mixtures)
    if out_path is not None:
        api.write_frame_atomic(frame, out_path)
    if as_json:
        emit_json({"law": law.key, "predictions": frame.to_dict(orient="records")})
    elif out_path is None:
        out.print(frame.to_string(index=False), highlight=False, markup=False)


@app.command("laws")
def list_laws(as_json: bool = JsonOpt) -> None:
    """List the available laws."""
    from . import api

    rows = api.describe_laws()
    if as_json:
        emit_json({"laws": rows})
        return
    tab = Table(title="mixlaw laws")
    tab.add_column("key")
    tab.add_column("class")
    tab.add_column("formula / source")
    for r in rows:
        tab.add_row(r["key"], r["class"], r["summary"])
    out.print(tab)


@app.command("design")
def design_cmd(domains: str | None = typer.Option(None, "--domains", help="Comma-separated training domains."),
               method: str = typer.Option("double-diminishing", "--method",
                                          help="double-diminishing | dirichlet | active (needs --runs)."),
               n: int | None = typer.Option(None, "--n", help="Number of mixtures to propose (default 40; 4 with "
                                            "--method active: a small batch, then retrain and ask again)."),
               select: int | None = typer.Option(None, "--select", help="Keep this many of the --runs pilots."),
               runs: str | None = typer.Option(None, "--runs", help="Pilot run table (--select, --method active)."),
               target: list[str] | None = typer.Option(None, "--target", help="Eval set(s) for --select/active."),
               prior: str | None = typer.Option(None, "--prior", help="Dirichlet prior: a=0.5,b=0.3,..."),
               tokens_available: str | None = typer.Option(None, "--tokens-available",
                                                              help="CSV domain,tokens (or JSON)."),
               target_tokens: float | None = typer.Option(None, "--target-tokens", help="Target run tokens."),
               max_epochs: float = typer.Option(4.0, "--max-epochs", help="Max repetitions of a domain."),
               law: str | None = typer.Option(None, "--law", help="Active: law key (default ye-exp)."),
               objective: str | None = typer.Option(None, "--objective",
                                                    help="Active: mean | total | max | <eval> | weights=a:0.5,b:0.5"),
               bounds: list[str] | None = typer.Option(None, "--bounds", help="Active: domain=lo:hi; repeatable."),
               bootstrap: int | None = typer.Option(None, "--bootstrap", help="Active: committee size (default 32)."),
               radius: float | None = typer.Option(None, "--radius",
                                                   help="Active: L1 radius around the optimum (default 0.25)."),
               out_path: Path | None = typer.Option(None, "--out", help="Write the design CSV here."),
               seed: int = SeedOpt, as_json: bool = JsonOpt) -> None:
    """Propose proxy mixtures (Ye's double-diminishing, RegMix Dirichlet, or active: where a bootstrap committee
    of the law fitted on --runs disagrees most near its optimum), or select --select of the --runs pilots."""
    from . import api, design
    from .export import parse_mixture

    doms = None if domains is None else [d.strip() for d in domains.split(",") if d.strip()]
    active_opts = {"--law": law, "--objective": objective, "--bounds": bounds, "--bootstrap": bootstrap,
                   "--radius": radius}
    with _show_warnings():
        if method == "active":
            if runs is None:
                raise InputError("--method active needs --runs PILOTS (the runs so far, with their losses)")
            other = [k for k, v in {"--select": select, "--prior": prior, "--tokens-available": tokens_available,
                                    "--target-tokens": target_tokens}.items() if v is not None]
            if other:
                raise InputError(f"{', '.join(other)} do{'es' if len(other) == 1 else ''} not apply to --method active")
            table = _load_table(runs, 0.01)
            if doms is not None and set(doms) != set(table.domains):
                raise InputError(f"--domains {doms} differ from the pilot table's domains {table.domains}")
            kw: dict[str, Any] = {}
            if bootstrap is not None:
                kw["n_bootstrap"] = bootstrap
            if radius is not None:
                kw["radius"] = radius
            with progress(f"active design: fitting {law or 'ye-exp'} + "
                          f"{bootstrap or design.ACTIVE_N_BOOTSTRAP} bootstrap refits"):
                frame = design.active_design(table, 4 if n is None else n, law=law or "ye-exp",
                                             targets=_parse_targets(target),
                                             objective=_parse_objective(objective or "mean"),
                                             bounds=_parse_bounds(bounds), random_state=seed, **kw)
        else:
            given = [k for k, v in active_opts.items() if v is not None and v != []]
            if given:
                raise InputError(f"{', '.join(given)} appl{'ies' if len(given) == 1 else 'y'} to --method active only")
            if select is not None or runs is not None:
                if select is None or runs is None:
                    raise InputError("--select K and --runs PILOTS go together (or use --runs with --method active)")
                table = _load_table(runs, 0.01)
                if doms is not None and set(doms) != set(table.domains):
                    raise InputError(f"--domains {doms} differ from the pilot table's domains {table.domains}")
                frame = design.select_runs(table, select, targets=_parse_targets(target), random_state=seed)
            else:
                if doms is None:
                    raise InputError("--domains is required (comma-separated training domains)")
                tok = None if tokens_available is None else design.read_tokens_available(tokens_available)
                frame = design.make_design(doms, method=method, n=40 if n is None else n,
                                           prior=None if prior is None else parse_mixture(prior),
                                           tokens_available=tok, target_tokens=target_tokens, max_epochs=max_epochs,
                                           random_state=seed)
    if out_path is not None:
        api.write_frame_atomic(frame, out_path)
    if as_json:
        emit_json({"design": dict(frame.attrs), "seed": seed, "runs": frame.to_dict(orient="records"),
                   "saved": None if out_path is None else str(out_path)})
    elif out_path is None:
        out.print(frame.to_csv(index=False), end="", highlight=False, markup=False)
    else:
        err.print(f"wrote {len(frame)} mixtures to {out_path}")


@app.command("export")
def export_cmd(mixture: str = typer.Option(..., "--mixture", help="a=0.5,b=0.5, or a JSON/CSV mixture file."),
               fmt: str = typer.Option("json", "--format", help="megatron | olmo | hf | mosaic | json."),
               paths: str | None = typer.Option(None, "--paths", help="JSON {domain: path} or CSV domain,path."),
               decimals: int = typer.Option(6, "--decimals", help="Decimals of the rounded weights (sum exactly 1)."),
               out_path: Path | None = typer.Option(None, "--out", help="Write the export here."),
               as_json: bool = JsonOpt) -> None:
    """Render a mixture for Megatron-LM/NeMo, OLMo-core, HF datasets, MosaicML Streaming or JSON."""
    from . import api
    from .export import export_mixture, parse_mixture, read_paths

    with _show_warnings():
        text = export_mixture(parse_mixture(mixture), fmt, None if paths is None else read_paths(paths),
                              decimals=decimals)
    if out_path is not None:
        api.write_text_atomic(text, out_path)
    if as_json:
        emit_json({"format": fmt, "text": text, "saved": None if out_path is None else str(out_path)})
    elif out_path is None:
        sys.stdout.write(text)
    else:
        err.print(f"wrote {fmt} mixture to {out_path}")


def _parse_objective(spec: str) -> Any:
    """'mean' | 'total' | 'max' | an eval name | 'weights=a:0.5,b:0.5'."""
    if not spec.startswith("weights="):
        return spec
    out: dict[str, float] = {}
    for item in (x.strip() for x in spec[len("weights="):].split(",")):
        if not item:
            continue
        name, sep, val = item.partition(":")
        try:
            out[name.strip()] = float(val)
        except ValueError:
            raise InputError(f"--objective: expected weights=eval:weight,...; got {item!r}") from None
        if not sep:
            raise InputError(f"--objective: expected weights=eval:weight,...; got {item!r}")
    return out


def _parse_bounds(specs: list[str] | None) -> dict[str, tuple[float, float]] | None:
    """'code=0.05:0.3' (repeatable, or comma-separated) -> {'code': (0.05, 0.3)}."""
    if not specs:
        return None
    out: dict[str, tuple[float, float]] = {}
    for item in (x.strip() for spec in specs for x in spec.split(",")):
        if not item:
            continue
        name, _, rng = item.partition("=")
        lo, sep, hi = rng.partition(":")
        try:
            out[name.strip()] = (float(lo) if lo else 0.0, float(hi) if hi else 1.0)
        except ValueError:
            raise InputError(f"--bounds: expected domain=lo:hi; got {item!r}") from None
        if not sep:
            raise InputError(f"--bounds: expected domain=lo:hi; got {item!r}")
    return out


@app.command("optimize")
def optimize_cmd(runs: str = typer.Option(..., "--runs", help="Run table to fit."),
                 law: str = typer.Option("ye-exp", "--law", help="Law key (see 'mixlaw laws')."),
                 target: list[str] | None = typer.Option(None, "--target", help="Eval set(s), or 'all'."),
                 objective: str = typer.Option("mean", "--objective",
                                               help="mean | total | max | <eval> | weights=a:0.5,b:0.5"),
                 bounds: list[str] | None = typer.Option(None, "--bounds", help="domain=lo:hi; repeatable."),
                 fixed: list[str] | None = typer.Option(None, "--fixed", help="domain=weight; repeatable."),
                 tokens_available: str | None = typer.Option(None, "--tokens-available",
                                                                help="CSV domain,tokens (or JSON)."),
                 target_tokens: float | None = typer.Option(None, "--target-tokens", help="Target run tokens."),
                 max_epochs: float | None = typer.Option(None, "--max-epochs",
                                                            help="Max repetitions of a domain (default 4)."),
                 within_range: bool = typer.Option(False, "--within-fitted-range",
                                                   help="Keep each weight within its range in the runs."),
                 bootstrap: int = typer.Option(0, "--bootstrap", help="Bootstrap refits for intervals (0: none)."),
                 step_law: str | None = typer.Option(None, "--step-law",
                                                        help="Default mixture's step law E,B,beta (steps-to-match)."),
                 target_steps: float | None = typer.Option(None, "--target-steps", help="Target run steps."),
                 export: str | None = typer.Option(None, "--export", help="megatron | olmo | hf | mosaic | json."),
                 paths: str | None = typer.Option(None, "--paths", help="JSON {domain: path} or CSV domain,path."),
                 out_path: Path | None = typer.Option(None, "--out", help="Write the export (or JSON) here."),
                 weight_tol: float = typer.Option(0.01, "--weight-tol"),
                 seed: int = SeedOpt, as_json: bool = JsonOpt) -> None:
    """Fit LAW to the runs and print the optimal mixture under the constraints (with --bootstrap intervals)."""
    from . import api
    from .design import read_tokens_available
    from .optimize import optimize_runs

    sl = None
    if step_law is not None:
        try:
            sl = tuple(float(v) for v in step_law.split(","))
        except ValueError:
            raise InputError(f"--step-law: expected E,B,beta; got {step_law!r}") from None
        if len(sl) != 3:
            raise InputError(f"--step-law: expected E,B,beta; got {step_law!r}")
    fx = None
    if fixed:
        fx = {}
        for item in (x.strip() for spec in fixed for x in spec.split(",") if x.strip()):
            name, sep, val = item.partition("=")
            try:
                fx[name.strip()] = float(val)
            except ValueError:
                raise InputError(f"--fixed: expected domain=weight; got {item!r}") from None
    with _show_warnings(), progress(f"fitting {law}" + (f" + {bootstrap} bootstrap refits" if bootstrap else "")):
        table = _load_table(runs, weight_tol)
        tok = None if tokens_available is None else read_tokens_available(tokens_available)
        result = optimize_runs(table, law=law, targets=_parse_targets(target), objective=_parse_objective(objective),
                               n_boot=bootstrap, bounds=_parse_bounds(bounds), fixed=fx, tokens_available=tok,
                               target_tokens=target_tokens, max_epochs=max_epochs, within_fitted_range=within_range,
                               step_law=sl, target_steps=target_steps, random_state=seed)
        text = None
        if export is not None:
            from .export import export_mixture, read_paths

            text = export_mixture(result.weights, export, None if paths is None else read_paths(paths))
    if out_path is not None:
        api.write_text_atomic(text if text is not None else json.dumps(result.to_dict(), indent=2), out_path)
    if as_json:
        emit_json({"optimum": result.to_dict(), "seed": seed, "export": text,
                   "saved": None if out_path is None else str(out_path)})
        return
    out.print(str(result), highlight=False, markup=False)
    if text is not None and out_path is None:
        out.print(f"[[Export: {export}]]", highlight=False, markup=False)
        sys.stdout.write(text)
    elif out_path is not None:
        err.print(f"wrote {'the ' + export + ' export' if export else 'the optimum (JSON)'} to {out_path}")


@app.command("continual")
def continual_cmd(runs: str = typer.Option(..., "--runs", help="Continual-pretraining run table."),
                  original: str = typer.Option(..., "--original", help="The domain pretrained on."),
                  new: str = typer.Option(..., "--new", help="The domain added in continual pretraining."),
                  tolerance: float = typer.Option(0.0, "--tolerance", help="Allowed loss increase (nats)."),
                  pre_loss: float | None = typer.Option(None, "--pre-loss",
                                                           help="Original-domain loss before (default: step-0 rows)."),
                  law: str = typer.Option("ye-exp", "--law", help="Law key."),
                  bootstrap: int = typer.Option(200, "--bootstrap", help="Bootstrap refits for the interval."),
                  weight_tol: float = typer.Option(0.01, "--weight-tol"),
                  seed: int = SeedOpt, as_json: bool = JsonOpt) -> None:
    """Critical proportion of the NEW domain: the largest share that keeps ORIGINAL's loss within tolerance."""
    from .continual import critical_proportion

    with _show_warnings(), progress("fitting + bootstrap"):
        res = critical_proportion(_load_table(runs, weight_tol), original=original, new=new, pre_loss=pre_loss,
                                  tolerance=tolerance, law=law, n_boot=bootstrap, random_state=seed)
    if as_json:
        emit_json({"continual": res.to_dict(), "seed": seed})
    else:
        out.print(str(res), highlight=False, markup=False)


@app.command()
def report(runs: str | None = typer.Option(None, "--runs", help="Fitting run table."),
           test: list[str] | None = typer.Option(None, "--test", help="Held-out run table (NAME=PATH); repeatable."),
           dataset: str | None = typer.Option(None, "--dataset", help="Bundled data instead of --runs: regmix | marin-delphi."),
           target: list[str] | None = typer.Option(None, "--target", help="Eval set(s), or 'all'; repeatable."),
           laws: str | None = typer.Option(None, "--laws", help="Comma-separated law keys (default: all)."),
           objective: str = typer.Option("mean", "--objective", help="Objective of the optimal mixture."),
           out_path: Path = typer.Option(Path("mixlaw-report.html"), "--out", help="HTML file to write."),
           weight_tol: float = typer.Option(0.01, "--weight-tol"), seed: int = SeedOpt) -> None:
    """Write one self-contained HTML report: leaderboard, predicted-vs-true plots, interactions, optimum."""
    from . import api
    from .report import build_html_report

    if (runs is None) == (dataset is None):
        raise InputError("give exactly one of --runs PATH or --dataset regmix|marin-delphi")
    if dataset is not None:
        from .datasets import bundled_splits

        train, tests = bundled_splits(dataset)
    else:
        if not test:
            raise InputError("--runs needs at least one --test held-out table")
        train = _load_table(runs, weight_tol)
        tests = {}
        for spec in test:
            name, path = spec.split("=", 1) if "=" in spec and not Path(spec).exists() else (Path(spec).stem, spec)
            tests[name] = _load_table(path, weight_tol)
        for t in tests.values():
            train.check_compatible(t)
    with _show_warnings():
        page = build_html_report(train, tests, targets=_parse_targets(target), laws=_parse_laws(laws),
                                 objective=objective, random_state=seed)
    api.write_text_atomic(page, out_path)
    err.print(f"wrote {out_path}")


@app.command("pipeline")
def pipeline_cmd(runs: str = typer.Option(..., "--runs", help="Run table with 'params' and 'step' columns."),
                 target_params: float = typer.Option(..., "--target-params", help="Target model size N*."),
                 target_steps: float | None = typer.Option(None, "--target-steps", help="Target training steps S*."),
                 target_tokens: float | None = typer.Option(None, "--target-tokens",
                                                            help="Or: target training tokens D* (step law over the "
                                                            "'tokens' column)."),
                 route: str = typer.Option("nested", "--route", help="nested (Ye) | direct (law with N as input)."),
                 law: str = typer.Option("ye-exp", "--law", help="Mixing law key (see 'mixlaw laws')."),
                 target: list[str] | None = typer.Option(None, "--target", help="Eval set(s), or 'all'."),
                 shared: str = typer.Option("auto", "--shared-exponents",
                                            help="auto | yes | no: one step/size exponent shared by all mixtures "
                                            "(robust to noisy or few checkpoints)."),
                 fit_from: float = typer.Option(0.0, "--fit-from",
                                                help="Leave out each curve's (mixture at one size) checkpoints "
                                                "before this fraction of its last step (the early transient bends "
                                                "step-law fits), e.g. 0.4."),
                 optimize: bool = typer.Option(False, "--optimize",
                                               help="Also: the optimal mixture at the target scale, with Ye's "
                                               "steps-to-match figures against --default."),
                 objective: str = typer.Option("mean", "--objective",
                                               help="With --optimize: mean | total | max | <eval> | "
                                               "weights=a:0.5,b:0.5"),
                 bounds: list[str] | None = typer.Option(None, "--bounds", help="domain=lo:hi; repeatable."),
                 within_range: bool = typer.Option(False, "--within-fitted-range",
                                                   help="Keep each weight within its range in the runs."),
                 backtest: bool = typer.Option(False, "--backtest",
                                               help="Also: extrapolate within the data (steps cut 3x; largest size "
                                               "held out) and print the errors, an empirical error bar."),
                 default: str = typer.Option("mean", "--default",
                                             help="Mixture to compare with: mean (of the runs) | uniform | "
                                             "a=0.5,b=0.5"),
                 weight_tol: float = typer.Option(0.01, "--weight-tol"),
                 seed: int = SeedOpt, as_json: bool = JsonOpt) -> None:
    """Extrapolate small runs to the target scale (step law -> size law -> mixing law) and print each stage."""
    from .pipeline import backtest_pipeline, fit_pipeline, optimize_pipeline

    modes: dict[str, bool | str] = {"auto": "auto", "yes": True, "no": False}
    if shared not in modes:
        raise InputError(f"--shared-exponents must be auto, yes or no; got {shared!r}")
    with _show_warnings(), progress(f"{route} pipeline"):
        table = _load_table(runs, weight_tol)
        result = fit_pipeline(table, target_params=target_params, target_steps=target_steps,
                              target_tokens=target_tokens, route=route, law=law, targets=_parse_targets(target),
                              random_state=seed, shared_exponents=modes[shared], fit_from=fit_from)
        opt = None
        if optimize:
            opt = optimize_pipeline(result, objective=_parse_objective(objective),
                                    natural=_parse_default(default, result.domains, result.mixtures),
                                    bounds=_parse_bounds(bounds), within_fitted_range=within_range, random_state=seed)
        tests = None
        if backtest:
            tests = backtest_pipeline(table, route=route, law=law, targets=_parse_targets(target), random_state=seed,
                                      shared_exponents=modes[shared], fit_from=fit_from)
    if as_json:
        emit_json({"pipeline": result.to_dict(), "optimum": None if opt is None else opt.to_dict(),
                   "backtest": None if tests is None else [b.to_dict() for b in tests], "seed": seed})
        return
    out.print(str(result), highlight=False, markup=False)
    if tests is not None:
        lines = [str(b) for b in tests] or ["    (too few checkpoints or sizes to backtest)"]
        out.print("", "[[Backtest: the same extrapolation within the data]]", *lines, sep="\n", highlight=False,
                  markup=False)
    if opt is not None:
        out.print("", str(opt), sep="\n", highlight=False, markup=False)


def _parse_default(spec: str, domains: list[str], mixtures: Any) -> Any:
    """--default: 'mean' (of the runs' mixtures), 'uniform', or 'a=0.5,b=0.5' (other domains 0)."""
    if spec == "mean":
        return mixtures.mean(axis=0)
    if spec == "uniform":
        return [1.0 / len(domains)] * len(domains)
    from .train.config import parse_mixture

    mix = parse_mixture(spec, "--default")
    unknown = sorted(set(mix) - set(domains))
    if unknown:
        raise InputError(f"--default names unknown domain(s) {unknown}; the runs have {domains}")
    total = sum(mix.values())
    if abs(total - 1.0) > 0.01:
        raise InputError(f"--default weights sum to {total:.4g}, expected 1 (within 0.01)")
    return [mix.get(d, 0.0) / total for d in domains]


# ---------------------------------------------------------------------- entry point
def _register_optional() -> None:
    """Commands living beside their subsystem (trainer/sweeps, scaling) register themselves here."""
    for module in ("mixlaw.train.cli", "mixlaw.cli_scaling"):
        try:
            mod = __import__(module, fromlist=["register"])
        except ImportError:
            continue
        mod.register(app)


_register_optional()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return (and exit with) 0 on success, 2 on bad input, 1 when a fit fails."""
    as_json = "--json" in (argv if argv is not None else sys.argv[1:])
    try:
        app(args=argv, standalone_mode=False)
    except InputError as e:
        _report_error(e, as_json, 2)
        raise SystemExit(2) from None
    except FitError as e:
        _report_error(e, as_json, 1)
        raise SystemExit(1) from None
    except MixlawError as e:
        _report_error(e, as_json, 1)
        raise SystemExit(1) from None
    except typer.Exit as e:
        raise SystemExit(e.exit_code) from None
    except typer.Abort:
        err.print("aborted")
        raise SystemExit(130) from None
    except Exception as e:  # click's usage errors
        import click

        if isinstance(e, click.exceptions.UsageError):
            e.show(file=sys.stderr)
            raise SystemExit(2) from None
        if isinstance(e, click.exceptions.ClickException):
            e.show(file=sys.stderr)
            raise SystemExit(e.exit_code) from None
        raise
    raise SystemExit(0)


def _report_error(e: Exception, as_json: bool, code: int) -> None:
    sys.stderr.write(f"error: {e}\n")
    if as_json:
        sys.stdout.write(json.dumps({"schema_version": SCHEMA_VERSION, "mixlaw_version": __version__,
                                     "error": {"type": type(e).__name__, "message": str(e), "exit_code": code}})
                         + "\n")


if __name__ == "__main__":  # pragma: no cover
    main()
