"""CLI commands of the proxy trainer: ``corpus build``, ``train``, ``sweep`` and ``runs export``.

:func:`register` adds them to the main ``mixlaw`` app, whose ``main()`` turns :class:`~mixlaw.errors.InputError`
into ``error: <message>`` and exit code 2. The trainer itself (:mod:`.loop`, which needs torch, an optional
extra) is imported inside the commands that train, so that the rest of ``mixlaw`` works without torch.
``python -m mixlaw.train.cli`` runs these commands on their own.
"""

from __future__ import annotations

import os
import sys
import warnings
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import typer

from .._atomic import check_table_suffix, why_unwritable, write_text_atomic
from .._console import PlainLines, exit_for_returned, make_console
from .._json import dumps as strict_dumps
from .._validation import split_counts
from .._version import __version__
from ..errors import DivergedError, InputError, MixlawWarning
from ..store import Heartbeat, RunStore, export_run_table, new_owner, run_labels, write_table
from ..sweep import record_saved_checkpoints, run_sweep
from .config import ProxyConfig, apply_overrides, parse_count, parse_mixture
from .corpus import BUILTIN_DOMAINS, build_corpus, parse_domain_spec

SCHEMA_VERSION = 1
#: Seeds feed numpy's SeedSequence (no negatives): 0 .. 2**32 - 1, as on every other command.
SEED_MAX = 2**32 - 1
_EXTRA = {"allow_extra_args": True, "ignore_unknown_options": True}
_OVERRIDES_HELP = " Any ProxyConfig field can be set with --key=value after the options (e.g. --lr=1e-3)."


def _emit_json(doc: dict[str, Any]) -> None:
    payload = {"schema_version": SCHEMA_VERSION, "mixlaw_version": __version__, **doc}
    sys.stdout.write(strict_dumps(payload, indent=2, default=str) + "\n")


def _console(stderr: bool = False) -> Any:
    return make_console(stderr=stderr)


def _quiet(ctx: typer.Context) -> bool:
    """``mixlaw --quiet`` (the root command's flag; False when these commands run on their own)."""
    return bool(ctx.find_root().params.get("quiet", False))


#: The option that sets a ProxyConfig field, where its name is not the field's ('--size' sets model_size).
_FIELD_OPTION = {"model_size": "size", "train_tokens": "tokens"}


def _base_config(ctx: typer.Context, **fields: Any) -> Any:
    """A ProxyConfig from explicit options, then the ``--key=value`` extras (unknown keys, or a key given twice:
    InputError). An extra of a field whose option was given too is refused: the extra won without a word,
    whatever the order ('train --size 0.2M --model_size=1M' trained 1M; review34f)."""
    for arg in ctx.args:
        key = arg[2:].split("=", 1)[0].replace("-", "_") if arg.startswith("--") else ""
        param = _FIELD_OPTION.get(key, key)
        if key in fields and getattr(ctx.get_parameter_source(param), "name", None) == "COMMANDLINE":
            raise InputError(f"{arg.split('=', 1)[0]} sets {key!r}, which --{param.replace('_', '-')} gives too: "
                             "give one of them")
    return apply_overrides(ProxyConfig(**fields), list(ctx.args))


def build_cmd(out: Path = typer.Option(..., "--out", help="Folder to write the corpus to."),
              domains: str = typer.Option("all", "--domains",
                                          help="Built-in domains, comma-separated; 'all' or 'none'."),
              domain: list[str] | None = typer.Option(None, "--domain", metavar="NAME=PATH",
                                                         help="Add your own text: name=path (file or folder)."),
              max_mb: float = typer.Option(2.0, "--max-mb", help="Cap per domain in MB (train + validation)."),
              val_frac: float = typer.Option(0.1, "--val-frac", help="Share of each domain held out."),
              seed: int = typer.Option(0, "--seed", min=0, max=SEED_MAX,
                                       help="Seeds the source order and the generated math."),
              as_json: bool = typer.Option(False, "--json", help="Write the manifest as JSON to stdout.")) -> None:
    """Build an offline multi-domain byte corpus (memory-mapped train/val splits + manifest.json)."""
    if domains == "all":
        names: list[str] = list(BUILTIN_DOMAINS)
    elif domains == "none":
        names = []
    else:
        names = [d.strip() for d in domains.split(",") if d.strip()]
    extra: dict[str, Any] = {}
    for spec in domain or []:
        name, path = parse_domain_spec(spec)
        if name in extra:  # dict() kept the last and dropped the first without a word
            raise InputError(f"--domain {name!r} given twice ({extra[name]} and {path}); one path per domain (a "
                             "folder holds several files)")
        extra[name] = path
    if not max_mb > 0:
        raise InputError(f"--max-mb must be > 0, got {max_mb}")
    err = _console(stderr=True)
    with err.status("building corpus") as status:
        manifest = build_corpus(out, domains=names, extra=extra, max_bytes=int(max_mb * 1e6), val_frac=val_frac,
                                seed=seed, on_domain=lambda d: status.update(f"building corpus: {d}"))
    if as_json:
        _emit_json({"corpus": str(out), "manifest": manifest})
        return
    from rich.table import Table

    table = Table(title=f"corpus {out}")
    for col in ("domain", "documents", "train bytes", "val bytes", "licence", "source"):
        table.add_column(col)
    for name, e in manifest["domains"].items():
        table.add_row(name, str(e["documents"]), f"{e['splits']['train']['tokens']:,}",
                      f"{e['splits']['val']['tokens']:,}", e["licence"], e["source"])
    _console().print(table)


def train_cmd(ctx: typer.Context,
              corpus: Path = typer.Option(..., "--corpus", help="Corpus folder (mixlaw corpus build)."),
              mixture: str = typer.Option(..., "--mixture",
                                          help="Weights, e.g. code=0.5,legal=0.3,math=0.2 (or code=50%,...)."),
              size: str = typer.Option("0.2M", "--size", help="Non-embedding parameters, e.g. 0.2M."),
              tokens: str = typer.Option("2M", "--tokens", help="Training tokens, e.g. 2M."),
              eval_every: int = typer.Option(250, "--eval-every", help="Steps between per-domain evaluations."),
              seed: int = typer.Option(0, "--seed", min=0, max=SEED_MAX,
                                       help="Base seed (run seed = SeedSequence([seed, run hash]))."),
              device: str = typer.Option("auto", "--device", help="auto (CUDA when present), cpu or cuda."),
              out: Path | None = typer.Option(None, "--out", help="Save ckpt.pt and result.json here."),
              store: Path | None = typer.Option(None, "--store", help="Also record the run in this run store."),
              name: str | None = typer.Option(None, "--name", help="The run's name in --store: its run in 'runs "
                                              "export' (default: its id, the config hash)."),
              as_json: bool = typer.Option(False, "--json", help="Write the result as JSON to stdout.")) -> None:
    """Train one proxy model on a mixture and print its per-domain validation losses."""
    cfg = _base_config(ctx, corpus=str(corpus), mixture=parse_mixture(mixture), model_size=parse_count(size, "--size"),
                       train_tokens=parse_count(tokens, "--tokens"), eval_every=eval_every, seed=seed, device=device)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .loop import build_model, load_checkpoint, prepare, train

    if name is not None and store is None:
        raise InputError("--name names the run in a run store: give --store too")
    if name is not None and not name.strip():
        raise InputError("--name: give a non-empty name")
    resolved, opened, rid = prepare(cfg)
    db, owner = None, None
    if store is not None:
        db = RunStore(store)
        owner = new_owner()
        taken = [r for r, n in db.names().items() if name is not None and n == name.strip() and r != rid]
        state = db.claim_run(rid, owner, resolved.to_dict(), opened.domains, build_model(resolved).num_params(),
                             info={"corpus_fingerprint": opened.fingerprint},
                             name=None if name is None else name.strip())
        if state != "claimed":
            db.close()
            if state == "held":
                raise InputError(f"run {rid} is being trained by another process on {store}; wait for it")
            raise InputError(f"run {rid} is already {'finished' if state == 'done' else 'diverged'} in {store}; "
                             f"export it with 'mixlaw runs export {store} runs.parquet', or change the config/seed")
        db.reset_run(rid)
        if taken:
            # A shared name is exported as <name>-<id digits> for every run that has it: the run already named so
            # changed its exported name without a word (dd-000-30k became dd-000-30k-369835b6).
            _console(stderr=True).print(f"warning: {store} already has a run named {name.strip()!r} ({taken[0]}): "
                                        "both are exported as <name>-<first 8 id digits> (choose another --name)",
                                        highlight=False, markup=False)
    ckpt = None
    if out is not None:
        if out.exists() and not out.is_dir():
            raise InputError(f"--out {str(out)!r} exists and is not a folder")
        why = why_unwritable(out / "ckpt.pt")  # a file or a symlink to nothing above it, or an unexpanded '~'
        if why is not None:
            raise InputError(f"--out {str(out)!r}: {why}")
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise InputError(f"--out {str(out)!r}: cannot create the folder ({e.strerror})") from None
        ckpt = out / "ckpt.pt"
    if db is not None and ckpt is not None and ckpt.is_file():
        # train() resumes from ckpt.pt and reports only the checkpoints after it, while the claim above emptied the
        # run's rows: a 'train --store s.db --out o/' killed at step 80 and run again stored a done run of steps
        # 90-160 alone. Re-record the file's checkpoints first, as a resumed sweep does.
        record_saved_checkpoints(db, rid, load_checkpoint(ckpt), owner)

    def record(run: str, _cfg: Any, _n: int, ck: Any) -> None:
        if db is not None:
            db.record_checkpoint(run, ck.step, ck.tokens, ck.losses, ck.train_loss, owner=owner)

    console = _console(stderr=True)
    # Off a terminal (a batch job, a CI log, a pipe) rich draws its bar once, when training ends: plain lines
    # instead, as the sweep and the other long commands print them.
    plain = PlainLines() if not _quiet(ctx) and not console.is_terminal else None

    def on_step(step: int, n: int) -> None:
        bar.update(task, completed=step)
        if plain is not None and plain.due():
            plain.line(f"train {rid} step {step}/{n}")

    try:
        with Progress(TextColumn("train {task.fields[rid]}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), TextColumn("{task.fields[tps]}"), console=console,
                      disable=_quiet(ctx) or plain is not None) as bar, \
                (Heartbeat(store, owner) if db is not None else nullcontext()):
            task = bar.add_task("train", total=resolved.max_steps, rid=rid, tps="")
            result = train(cfg, corpus=opened, ckpt_path=ckpt, on_checkpoint=record, on_step=on_step)
            bar.update(task, tps=f"{result.tokens_per_s:,.0f} tok/s")
        if plain is not None:
            plain.done(f"train {rid}", f", {result.tokens_per_s:,.0f} tok/s")
        if db is not None:
            if result.diverged is not None:
                db.mark_diverged(rid, result.diverged, result.wall_s, owner=owner)
            else:
                db.finish_run(rid, result.wall_s, owner=owner,
                              info={"corpus_fingerprint": opened.fingerprint, "device": result.device,
                                    "tokens_per_s": result.tokens_per_s})
    except BaseException:
        if db is not None and db.status(rid) == "running":
            db.release_run(rid, owner)  # an interrupted run stays resumable by the next claimant at once
        raise
    finally:
        if db is not None:
            db.close()
    if out is not None:
        write_text_atomic(strict_dumps(result.to_dict(), indent=2) + "\n", out / "result.json")
    if result.diverged is not None:
        raise DivergedError(f"run {rid} {result.diverged}" + (f"; recorded as diverged in {store}" if db else ""))
    if as_json:
        _emit_json({"result": result.to_dict()})
        return
    from rich.table import Table

    table = Table(title=f"run {rid}: {result.model_params:,} non-embedding params, "
                        f"{result.tokens_per_s:,.0f} tokens/s on {result.device}")
    table.add_column("step", justify="right")
    table.add_column("tokens", justify="right")
    table.add_column("train", justify="right")
    for d in opened.domains:
        table.add_column(f"val {d}", justify="right")
    for ck in result.checkpoints:
        table.add_row(str(ck.step), f"{ck.tokens:,}", f"{ck.train_loss:.4f}",
                      *(f"{ck.losses[d]:.4f}" for d in opened.domains))
    _console().print(table)


#: ProxyConfig fields that a sweep sets for every run itself, and the option that sets them.
_SWEEP_SETS = {"mixture": "--design", "model_size": "--sizes", "train_tokens": "--tokens",
               "n_layer": "--sizes", "n_embd": "--sizes", "n_head": "--sizes"}


def _refuse_fields_a_sweep_sets(args: list[str]) -> None:
    """Refuse a ``--key=value`` override of a field that every run of a sweep gets from the sweep (its row's
    mixture, its size's shape): 'mixlaw sweep ... --n_embd=30' trained the size's own shape without a word."""
    for arg in args:
        key = arg[2:].split("=", 1)[0].replace("-", "_") if arg.startswith("--") else ""
        if key in _SWEEP_SETS:
            raise InputError(f"{arg.split('=', 1)[0]}: a sweep sets {key!r} for every run itself (from "
                             f"{_SWEEP_SETS[key]}); drop the override, or train one such run with 'mixlaw train "
                             f"{arg}'")


def sweep_cmd(ctx: typer.Context,
              corpus: Path = typer.Option(..., "--corpus", help="Corpus folder (mixlaw corpus build)."),
              design: Path = typer.Option(..., "--design", help="Mixtures: CSV/Parquet/JSONL with w:<domain>; its "
                                         "run column names the exported runs."),
              sizes: str = typer.Option("0.1M,0.2M,0.4M", "--sizes", help="Model sizes, comma-separated."),
              tokens: str = typer.Option("2M", "--tokens", help="Training tokens per run."),
              eval_every: int = typer.Option(250, "--eval-every", help="Steps between per-domain evaluations."),
              workers: int = typer.Option(1, "--workers", help="Runs trained at once (threads: cores // workers)."),
              backend: str = typer.Option("local", "--backend", help="local (process pool) or ray."),
              address: str | None = typer.Option(None, "--address", help="Ray address, e.g. auto."),
              store: Path = typer.Option(Path("runs.db"), "--store", help="SQLite run store (created if missing)."),
              seed: int = typer.Option(0, "--seed", min=0, max=SEED_MAX, help="Base seed of every run."),
              keep_checkpoints: bool = typer.Option(False, "--keep-checkpoints", help="Keep finished runs' ckpt."),
              as_json: bool = typer.Option(False, "--json", help="Write the summary as JSON to stdout.")) -> None:
    """Train every (mixture, size) of a design into a run store; finished runs are skipped."""
    if address is not None and backend != "ray":
        raise InputError("--address applies to --backend ray only")
    base = _base_config(ctx, eval_every=eval_every, seed=seed)
    _refuse_fields_a_sweep_sets(ctx.args)
    shown = warnings.showwarning

    def warn_now(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> None:
        # As 'warning: ...' and at once (a design's repeated rows), not in Python's two-line form, nor at the end
        # of a sweep of hours as the other commands' show_warnings would.
        if issubclass(category, MixlawWarning):
            _console(stderr=True).print(f"warning: {message}", highlight=False, markup=False)
        else:
            shown(message, category, *args, **kwargs)

    with warnings.catch_warnings():
        warnings.simplefilter("always", MixlawWarning)
        warnings.showwarning = warn_now
        result = run_sweep(corpus, design, split_counts(sizes, "--sizes"), tokens, store,
                           workers=workers, backend=backend, address=address, base=base,
                           keep_checkpoints=keep_checkpoints, progress=not _quiet(ctx))
    doc = {"store": str(store), "runs": len(result.run_ids), "trained": len(result.trained),
           "skipped": len(result.skipped), "diverged": len(result.diverged), "wall_s": round(result.wall_s, 3)}
    with RunStore(store, readonly=True) as db:
        # Each run's 'run' in 'runs export' (its design name, else its id), so the ids below can be matched to it.
        labels = run_labels(db.names())
        for rid in result.diverged:
            _console(stderr=True).print(f"warning: run {labels.get(rid, rid)} ({rid}) {db.reason(rid) or 'diverged'}",
                                        highlight=False, markup=False)
    if as_json:
        _emit_json({"sweep": doc, "run_ids": result.run_ids, "diverged": result.diverged,
                    "names": {rid: labels.get(rid, rid) for rid in result.run_ids}})
    else:
        _console().print(f"{doc['runs']} runs: {doc['trained']} trained, {doc['skipped']} already finished"
                         + (f", {doc['diverged']} diverged (left out of exports)" if result.diverged else "")
                         + f" ({doc['wall_s']:.1f} s); export with: mixlaw runs export {store} runs.parquet",
                         highlight=False, markup=False)


def export_cmd(db: Path = typer.Argument(..., help="Run store written by mixlaw sweep / train --store."),
               out: Path = typer.Argument(..., help="Output table: .parquet, .csv or .jsonl."),
               include_unfinished: bool = typer.Option(False, "--all", help="Include unfinished runs' checkpoints."),
               ids: bool = typer.Option(False, "--ids", help="Name runs by their id (config hash, as sweep --json "
                                        "lists them), not by their design row's name."),
               as_json: bool = typer.Option(False, "--json", help="Write a summary as JSON to stdout.")) -> None:
    """Export a run store as the run table (run, w:*, loss:*, params, step, tokens). A run's `run` is its design
    row's name (with -<size> when the sweep had several sizes), else its id."""
    if os.path.realpath(out) == os.path.realpath(db):
        # A store named runs.csv exported to runs.csv was replaced by its own export (the runs' only copy).
        raise InputError(f"OUT {out}: that is the run store {db}; writing it would overwrite your runs (choose "
                         "another path)")
    # Named as runs export takes it, a positional OUT (write_table's default named '--out', an option it has not),
    # and before the store is read.
    check_table_suffix(out, "OUT")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MixlawWarning)
        table = export_run_table(db, include_unfinished=include_unfinished, ids=ids)
    for w in caught:  # as sweep prints its own: one 'warning: ...' line (a shared name's runs renamed), not two
        if issubclass(w.category, MixlawWarning):
            _console(stderr=True).print(f"warning: {w.message}", highlight=False, markup=False)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    untrained = list(table.attrs.get("untrained_domains", []))
    with RunStore(db, readonly=True) as store:
        left = store.left_out(include_unfinished=include_unfinished)
    write_table(table, out, "OUT")
    n_runs = int(table["run"].nunique()) if len(table) else 0
    if as_json:
        _emit_json({"out": str(out), "rows": len(table), "runs": n_runs, "untrained_domains": untrained,
                    "unfinished_left_out": left.get("running", 0), "diverged_left_out": left.get("diverged", 0)})
    else:
        note = (f"; no run trains on {', '.join(untrained)}: left out of the mixtures (w:), kept as eval sets (loss:)"
                if untrained else "")
        if left.get("running"):
            n = left["running"]
            note += (f"; left out {n} unfinished run{'s' if n > 1 else ''} (an interrupted or ongoing sweep: run it "
                     f"again to finish {'them' if n > 1 else 'it'}, or --all for the checkpoints so far)")
        if left.get("diverged"):
            note += f"; left out {left['diverged']} diverged run{'s' if left['diverged'] > 1 else ''}"
        _console(stderr=True).print(f"wrote {len(table)} rows ({n_runs} runs) to {out}{note}", highlight=False,
                                    markup=False)


def register(app: typer.Typer) -> typer.Typer:
    """Add ``corpus build``, ``train``, ``sweep`` and ``runs export`` to ``app``; return the ``runs`` group."""
    corpus_app = typer.Typer(help="Build the offline multi-domain training corpus.", no_args_is_help=True,
                             rich_markup_mode=None)  # help text is plain: [extras] must not vanish
    corpus_app.command("build")(build_cmd)
    app.add_typer(corpus_app, name="corpus")
    app.command("train", context_settings=_EXTRA, help=train_cmd.__doc__ + _OVERRIDES_HELP)(train_cmd)
    app.command("sweep", context_settings=_EXTRA, help=sweep_cmd.__doc__ + _OVERRIDES_HELP)(sweep_cmd)
    runs_app = typer.Typer(help="Run stores and importers.", no_args_is_help=True, rich_markup_mode=None)
    runs_app.command("export")(export_cmd)
    app.add_typer(runs_app, name="runs")
    return runs_app


def main(argv: list[str] | None = None) -> None:
    """Run these commands standalone (``python -m mixlaw.train.cli``): InputError → exit 2."""
    app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False)
    register(app)
    try:
        code = app(args=argv, standalone_mode=False)
    except InputError as e:
        sys.stderr.write(f"error: {e}\n")
        raise SystemExit(2) from None
    exit_for_returned(code, lambda msg: sys.stderr.write(msg + "\n"))
    raise SystemExit(0)


if __name__ == "__main__":
    main()
