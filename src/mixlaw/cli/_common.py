"""What every ``mixlaw`` command shares: the consoles, the ``--json``/``--seed`` options, JSON output with
the schema version, warning rendering, the checks on output paths, and the parsers of option values that more
than one command takes (targets, eval groups, objectives, bounds, the default mixture). The stderr progress display
is in :mod:`._progress`, the run tables and held-out tables read from options in :mod:`._tables`, the law lists and
law options in :mod:`._law_entries`.
Command modules import from these; nothing here knows about a particular command.
"""

from __future__ import annotations

import os
import re
import sys
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.markup import escape

from .. import __version__
from .._atomic import why_unwritable
from .._console import make_console
from .._json import dumps as strict_dumps
from .._validation import first_and_more, split_counts, split_names
from .._workers import AUTO, MAX_AUTO_WORKERS
from .._workers import ENV as WORKERS_ENV
from ..budget import read_tokens_available
from ..data import LOSS_PREFIX, RunTable, beyond_tol, scaled_number, share_value
from ..errors import InputError, MixlawWarning, PerplexityWarning, ShortRunWarning, UnusedDomainWarning
from ..evals import TOTAL_NAME, add_weighted_total, linear_objective, parse_eval_group
from ..export import parse_mixture as parse_inline_mixture
from ..laws.selection import AUTO_CANDIDATES, MAX_RUNS

SCHEMA_VERSION = 1

out = make_console()
err = make_console(stderr=True)

JsonOpt = typer.Option(False, "--json", help="Write one JSON document to stdout (progress goes to stderr).")
CvFoldsOpt = typer.Option(None, "--cv-folds", min=2, help="Folds of the cross-validation of auto / stack "
                          "(default 5, or, when 5 leave a law too few training runs per fold, the fewest up to 20 "
                          "that fit it; fewer: fewer fits).")
#: Seeds feed numpy's SeedSequence (no negatives) and LightGBM (32-bit): 0 .. 2**32 - 1.
SEED_MAX = 2**32 - 1
SeedOpt = typer.Option(0, "--seed", min=0, max=SEED_MAX,
                       help="Random seed for every random choice (multistart, bootstrap).")
EvalGroupOpt = typer.Option(None, "--eval-group", metavar="NAME=EVAL:W,...",
                            help="Add the loss column NAME, the weighted mean of those eval sets (shares "
                                 "normalised to 1); with groups and no --target, the groups are the targets; "
                                 "repeatable.")
LawOptionOpt = typer.Option(None, "--law-option", metavar="KEY=VALUE",
                            help="A constructor option of --law, typed by the law (e.g. n_components=4 for "
                                 "ye-implicit); repeatable.")
FitTotalOpt = typer.Option(False, "--fit-total", help="Fit one law on the objective itself (sum_i s_i L_i of a "
                           "mean | total | <eval> | weights=... objective) instead of one law per eval set; pair it "
                           "with a law whose optimum can be inside the simplex (ye-pow, additive-ens), not ye-exp.")
CandidatesOpt = typer.Option(
    None, "--candidates",
    help="Laws auto/stack choose from, comma-separated (default: "
         + ", ".join(k + (f" (up to {MAX_RUNS[k]} runs)" if k in MAX_RUNS else " (if installed)" if k == "lightgbm"
                          else "") for k in AUTO_CANDIDATES) + ").")
TargetOpt = typer.Option(None, "--target", metavar="EVAL",
                         help="Eval set(s), or 'all' (the default: every eval set); repeatable.")
BoundsOpt = typer.Option(None, "--bounds", metavar="DOMAIN=LO:HI",
                         help="Bounds on a domain's weight (code=0.05:0.3 or code=5%:30%); repeatable.")
WeightTolOpt = typer.Option(0.01, "--weight-tol", help="Tolerance on each run's weight sum (rows off by less are "
                            "renormalised, with a warning).")
AtParamsOpt = typer.Option(None, "--at-params", metavar="N|largest|smallest",
                           help="Keep the rows of one model size (a sweep's table spans several): its parameter "
                                "count as the table's params column has it (or rounded, e.g. 160M: the nearest size "
                                "within 5 % when no other is that near), or largest / smallest.")
FinalStepOpt = typer.Option(False, "--final-step", help="Keep each run's last checkpoint (its final loss) only.")
#: What ``auto`` is, said once for every --workers flag (bootstrap refits and CV fold fits resolve it alike:
#: mixlaw._workers.resolve_workers).
_AUTO_HELP = (f"auto: the usable CPUs (affinity mask and container CPU quota), at most {MAX_AUTO_WORKERS}; the "
              f"environment variable {WORKERS_ENV} overrides auto, a count given here overrides it")
WorkersOpt = typer.Option(AUTO, "--workers", metavar="N|auto",
                          help=f"Processes for bootstrap refits (default {_AUTO_HELP}); the results do not depend "
                               "on it.")
OptimizeWorkersOpt = typer.Option(None, "--workers", metavar="N|auto",
                                  help="Processes for bootstrap refits, or without --bootstrap for the fold fits of "
                                  "auto / stack's cross-validation and the predictions of --search simulate "
                                  f"(default {_AUTO_HELP}); the results do not depend on it.")


def cv_workers_option(laws: str = "--law auto / stack") -> Any:
    """The ``--workers`` of a command whose ``laws`` may cross-validate (run it inside
    ``mixlaw.laws.selection.cv_workers(workers)``, which parses it): one help text and one default for all."""
    return typer.Option(AUTO, "--workers", metavar="N|auto",
                        help=f"Processes for the fold fits of {laws}'s cross-validation (default {_AUTO_HELP}); the "
                             "results do not depend on it.")


CvWorkersOpt = cv_workers_option()
LawsCvWorkersOpt = cv_workers_option("--laws auto / stack")
#: pipeline's own --law auto chooses by a backtest, no CV; its mixing law stack cross-validates.
PipelineCvWorkersOpt = cv_workers_option("--law stack")
EXPORT_OPTION_HELP = ("Trainer option key=value, repeatable: olmo max_repetition_ratio (or domain:value,...), "
                      "max_source_fraction, global_batch_size, processes; megatron seed, seq_length, split; "
                      "hf seed, split, streaming, stopping_strategy; mosaic seed, local_root, batch_size, epoch_size.")


# ---------------------------------------------------------------------- rendering helpers
def refuse_given(flags: dict[str, bool], before: str, after: str) -> None:
    """One InputError naming every flag given (True) that does not apply here, not just the first:
    ``{before}--a, --b apply {after}``."""
    given = [k for k, v in flags.items() if v]
    if given:
        raise InputError(f"{before}{', '.join(given)} appl{'ies' if len(given) == 1 else 'y'} {after}")


def exit_if_every_law_failed(errors: list[str | None], where: str = "above") -> None:
    """Exit 1 (after the table or page, whose rows say why: ``where``) when no law fitted (``errors``: each law's
    error, None for a law that fitted): a leaderboard of failures exited 0, and a script's
    `mixlaw compare ... && next-step` (or `mixlaw report ...`) went on."""
    if errors and all(errors):
        err.print(f"error: every law failed to fit ({len(errors)}; the reasons are {where})", highlight=False,
                  markup=False)
        raise typer.Exit(1)


def emit_json(doc: dict[str, Any]) -> None:
    """Print one JSON document carrying the schema and package versions."""
    payload = {"schema_version": SCHEMA_VERSION, "mixlaw_version": __version__, **doc}
    # Strict JSON: NaN/Infinity become null with a reason (strict parsers reject those tokens).
    sys.stdout.write(strict_dumps(payload, indent=2, default=_json_default) + "\n")


def _json_default(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    return str(x)


@contextmanager
def show_warnings(maximize: bool = False) -> Iterator[None]:
    """Print mixlaw warnings once each on stderr as 'warning: ...' instead of Python's two-line format.

    When the block fails, the warnings that say rows, runs or mixtures were left out are printed before its error,
    and no other: they are the why of a "too few runs" error. The RegMix pair of a fork with losses for 1 of its 512
    mixtures (schneiderkamplab/regmix) stopped at "1 run(s) x 1 eval set(s) = 1 losses are too few", the "511
    mixture(s) ... have no losses and are left out" that said why unseen. The others (a renormalised row) would only
    stand between a bad option and its one-line error. So is a domain with weight 0 in every run: its parameters are
    the fit's, and dropping it is the fix a "too few runs" error lacks (10 RegMix runs of 8 domains, one unused,
    printed the error alone). So are runs that end before the others of their size under ``--final-step``
    (:class:`~mixlaw.errors.ShortRunWarning`): their "final" losses are the why of what fails next.

    ``maximize``: the command's --maximize, under which the loss columns are scores (an accuracy in percent, 30 to
    70): the warning that they lie above any per-token loss, "perplexities? store their log", is left out.

    The warnings of :data:`AT_ONCE` are printed when they are raised, the others when the block ends."""
    caught: list[warnings.WarningMessage] = []
    said: set[str] = set()

    def say(msg: str) -> None:
        # escape: rich would read a law's eval label ('ye-pow[openhermes]: ...') as a markup tag and drop it.
        err.print(f"[yellow]warning:[/yellow] {escape(msg)}", highlight=False)

    def keep(message: Any, category: type[Warning], filename: str, lineno: int, file: Any = None,
             line: str | None = None) -> None:
        caught.append(warnings.WarningMessage(message, category, filename, lineno, file, line))
        if issubclass(category, AT_ONCE) and str(message) not in said:
            said.add(str(message))
            say(str(message))

    with warnings.catch_warnings():
        warnings.showwarning = keep  # restored by catch_warnings
        warnings.simplefilter("always", MixlawWarning)
        failed = True
        try:
            yield
            failed = False
        finally:
            kept = [w for w in caught if issubclass(w.category, MixlawWarning)
                    and not (maximize and issubclass(w.category, PerplexityWarning))]
            if failed:
                kept = [w for w in kept
                        if issubclass(w.category, KEPT_ON_FAILURE) or LEFT_OUT.search(str(w.message))]
            msgs = [m for m in dict.fromkeys(str(w.message) for w in kept) if m not in said]
            for msg in merge_eval_warnings(msgs):
                say(msg)


#: A warning that says data was dropped ("are left out", "left out 100 of 2600 rows"): printed before an error too.
LEFT_OUT = re.compile(r"\bleft out\b")
#: Warnings printed before an error too, with :data:`LEFT_OUT`'s: a domain unused in every run, and runs whose final
#: loss (--final-step) is an earlier checkpoint's (its 4 mixtures' "too few" error came alone).
KEPT_ON_FAILURE = (UnusedDomainWarning, ShortRunWarning)
#: Warnings printed when raised, not when the command ends: a domain unused in every run is known once the table is
#: read, and 'fit --law auto' printed it only after its cross-validation (minutes on a wide table; hunt31).
AT_ONCE = (UnusedDomainWarning,)


_EVAL_LABEL = re.compile(r"^([\w.-]+)\[([^\]]+)\]: (.+)$", re.S)


def merge_eval_warnings(msgs: list[str], limit: int = 6) -> list[str]:
    """One line for the same warning of one law on several eval sets: 'law[a, b, ... (17 eval sets)]: text'.

    ``mixlaw optimize --runs rpj410.csv`` (Ye's RedPajama runs at 410M, 22 Pile eval sets) printed 17 lines of
    'loglinear-sat[PG19]: a Huber fit did not converge in 100 Newton steps', one per eval set; a sweep of 110 evals
    (Olmix's DCLM) can print 110. Messages are kept in first-seen order.
    """
    groups: dict[tuple[str, str], list[str]] = {}
    order: list[tuple[str, str] | str] = []
    for m in msgs:
        hit = _EVAL_LABEL.match(m)
        if hit is None:
            order.append(m)
            continue
        key = (hit.group(1), hit.group(3))
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(hit.group(2))
    out = []
    for item in order:
        if isinstance(item, str):
            out.append(item)
            continue
        evals = groups[item]
        if len(evals) == 1:
            out.append(f"{item[0]}[{evals[0]}]: {item[1]}")
            continue
        shown = ", ".join(evals[:limit]) + (f", ... ({len(evals)} eval sets)" if len(evals) > limit else "")
        out.append(f"{item[0]}[{shown}]: {item[1]}")
    return out


# ---------------------------------------------------------------------- option parsers
def check_outputs(inputs: Iterable[str | os.PathLike[str] | None], **outputs: str | os.PathLike[str] | None) -> None:
    """Before a long fit, refuse in one line an output path (``--flag=path``) that cannot be written or that would
    overwrite an input: an existing folder (or other non-regular file), a symlink, a path through a file, one of
    ``inputs``, or the same path given twice (a missing folder is not refused: the write makes it, as in every
    command). The write itself checks again (atomically, regular files only); this
    only saves the fit that a bad path would waste (found by review: ``pipeline --out <folder>`` failed after the
    fit, and ``--out`` could name the ``--runs`` file; a symlink, refused by the write, passed here)."""
    seen: dict[str, str] = {}
    given = _input_files(inputs)
    for flag, path in outputs.items():
        if path is None:
            continue
        name = "--" + flag.replace("_", "-")
        if "\x00" in str(path):
            raise InputError(f"{name}: a path cannot contain a NUL character; got {str(path)!r}")
        p = Path(path)
        if p.is_symlink():  # as the write refuses it (_atomic._check_out_path), after the fit
            raise InputError(f"{name} {p}: it is a symlink, not a regular file; choose another path")
        if p.exists() and not p.is_file():
            raise InputError(f"{name} {p}: it exists and is not a regular file (a folder?); choose another path")
        # A missing folder is made by the write, as every command's write does (_atomic.atomic_target); one that
        # cannot be made (a file stands where a folder of the path should be) is refused before the fit.
        why = why_unwritable(p)  # or a symlink to nothing, or a '~' the shell did not expand
        if why is not None:
            raise InputError(f"{name} {p}: {why}")
        _refuse_an_input(name, p, given)
        real = os.path.realpath(p)
        if real in seen:
            raise InputError(f"{name} {p}: the same file as {seen[real]}; give each output its own path")
        seen[real] = name


def check_not_an_input(inputs: Iterable[str | os.PathLike[str] | None], **outputs: str | os.PathLike[str] | None
                       ) -> None:
    """Refuse an output path (``--flag=path``) that is one of the files the command reads: ``fit --runs runs.csv
    --out runs.csv`` wrote the law's JSON over the run table, ``runs import raw.csv --evals a --out raw.csv`` dropped
    the other evals from the user's only copy. An input ``a.csv+b.csv`` (a RegMix / Olmix pair) counts as both files.
    The rest of :func:`check_outputs` (symlinks, folders) is the write's own check in these commands."""
    given = _input_files(inputs)
    for flag, path in outputs.items():
        if path is not None and "\x00" not in str(path):
            _refuse_an_input("--" + flag.replace("_", "-"), path, given)


def _input_files(inputs: Iterable[str | os.PathLike[str] | None]) -> dict[str, str]:
    """Each input file's real path -> the path as given; a pair ``a.csv+b.csv`` (RegMix's, Olmix's) counts as both
    files (unless a file of that name exists)."""
    given: dict[str, str] = {}
    for spec in inputs:
        if spec is None:
            continue
        parts = [str(spec)] + (str(spec).split("+") if "+" in str(spec) and not Path(spec).exists() else [])
        given.update({os.path.realpath(p): p for p in parts if p and "\x00" not in p})
    return given


def _refuse_an_input(name: str, path: str | os.PathLike[str], given: dict[str, str]) -> None:
    """An InputError when the output ``path`` (of option ``name``) is one of the input files ``given``."""
    real = os.path.realpath(path)
    if real in given:
        raise InputError(f"{name} {path}: that is the input {given[real]}; writing it would overwrite your data "
                         "(choose another path)")


def parse_count(value: str | float) -> float:
    """A model size, step or token count: a number (``1e9``, ``100000``, ``-1``: its own check says what is wrong
    with it) or one with a suffix k / M / B (or G) / T as papers write them (``410M``, ``1B``, ``100B``, ``2.5T``;
    :func:`~mixlaw.train.config.scaled_number`'s suffixes, in any case here). Anything else is a one-line error
    naming the forms."""
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    scaled = scaled_number(text[:-1] + text[-1].upper() if text and text[-1] in "mbgt" else text)
    if scaled is None:
        raise typer.BadParameter(f"{value!r} is not a number: give e.g. 1e9, 1000000000 or 1B (suffixes k, M, B, T)")
    return scaled


def parse_counts(value: str | None, option: str) -> list[float] | None:
    """A comma-separated list of sizes (``70M,160M,410M``; each as :func:`parse_count`), or None for None. An
    empty item is a one-line error naming ``option``."""
    if value is None:
        return None
    items = split_counts(value, option)
    try:
        return [parse_count(v) for v in items]
    except typer.BadParameter as exc:
        raise InputError(f"{option}: {exc}") from None


#: typer.Option(..., **COUNT): a size, step or token count option (:func:`parse_count`).
COUNT: dict[str, Any] = {"parser": parse_count, "metavar": "NUMBER"}


def parse_targets(target: list[str] | None) -> list[str] | str:
    """--target (repeatable, comma-separated, or 'all') -> eval names, or 'all'."""
    if not target or target == ["all"]:
        return "all"
    names: list[str] = []
    for t in target:
        names.extend(x.strip() for x in split_names(t) if x.strip())
    if not names:
        raise InputError(f"--target {' '.join(map(repr, target))} names no eval set; give eval names or 'all'")
    return names


def parse_eval_map(specs: list[str] | None, domains: Sequence[str] | None = None,
                   evals: Sequence[str] | None = None) -> dict[str, str] | None:
    """--eval-map EVAL=DOMAIN (repeatable, or comma-separated) -> {eval: domain}.

    An eval name may hold '=' (``acc=1=web``): with ``domains`` (the table's training domains, which a law's
    eval_map must name) an item is split at the '=' whose right side is one of them, at the first '=' when none is
    (the fit then names the domain it does not know); where several are, at the one whose left side is one of
    ``evals`` (the table's eval sets), and refused, naming each reading, where that is not one. Without ``domains``
    (the table not read yet) it is split at the first '=' and an eval given twice is not looked for."""
    if not specs:
        return None
    out: dict[str, str] = {}
    for spec in specs:
        for item in (x.strip() for x in split_names(spec) if x.strip()):
            cuts = [i for i, c in enumerate(item) if c == "=" and item[:i].strip() and item[i + 1:].strip()]
            if not cuts:
                raise InputError(f"--eval-map expects EVAL=DOMAIN, got {item!r}")
            known = [i for i in cuts if item[i + 1:].strip().removeprefix("w:") in (domains or ())]
            if len(known) > 1 and evals is not None:
                # 'acc=b=c' with domains 'b=c' and 'c' and one eval 'acc': the reading naming an eval set is meant
                named = [i for i in known if item[:i].strip().removeprefix("loss:") in evals]
                known = named if len(named) == 1 else known
            if len(known) > 1:
                readings = " or ".join(f"eval {item[:i].strip()!r} = domain {item[i + 1:].strip()!r}" for i in known)
                raise InputError(f"--eval-map {item!r} reads two ways, as {readings}: each right side is a training "
                                 "domain; rename one of the columns, or fit in Python with eval_map={eval: domain}")
            cut = known[0] if known else cuts[0]
            ev, dom = item[:cut].strip().removeprefix("loss:"), item[cut + 1:].strip().removeprefix("w:")
            if ev in out and domains is not None:
                raise InputError(f"--eval-map: {item[:cut].strip()!r} given twice")  # the last silently won
            out[ev] = dom
    return out


def parse_eval_groups(eval_groups: list[str] | None) -> dict[str, dict[str, float]]:
    """The ``--eval-group`` specs as ``{group: {eval: share}}`` (a group name given twice is refused)."""
    groups: dict[str, dict[str, float]] = {}
    for spec in eval_groups or ():
        name, members = parse_eval_group(spec)
        if name in groups:  # named: with the Pile's 22 parts in each spec, which was given twice was not plain
            raise InputError(f"--eval-group: the group name {name!r} is given twice")
        groups[name] = members
    return groups


def group_targets(target: list[str] | None, eval_groups: list[str] | None) -> list[str] | str:
    """--target as parsed, except that with --eval-group and no --target the groups are the targets."""
    if not target and eval_groups:
        return [parse_eval_group(spec)[0] for spec in eval_groups]
    names = parse_targets(target)
    if eval_groups and names != "all":
        # A group that no --target names was built and never fitted: 'optimize --target web --eval-group
        # mix=web:0.5,code:0.5' printed web's optimum as if the option had not been given (hunt30).
        asked = [n[len(LOSS_PREFIX):] if n.startswith(LOSS_PREFIX) else n for n in names]
        # A name as given counts too: a group 'loss:mix' is the eval 'loss:mix', which '--target loss:mix' names (an
        # eval's own name wins over the prefix, as RunTable.resolve_targets reads it).
        unused = [g for g in (parse_eval_group(spec)[0] for spec in eval_groups) if g not in asked and g not in names]
        if unused:
            raise InputError(f"--eval-group {', '.join(map(repr, unused))}: not among --target {asked}, so "
                             "never fitted; add it to --target (or leave --target out: the groups are then the "
                             "targets)")
    return names


def fit_on_total(table: RunTable, targets: list[str] | str, objective: Any) -> tuple[RunTable, list[str], str]:
    """--fit-total: the table with the objective's column (``loss:objective`` = sum_i s_i L_i), the one target
    to fit, and the objective that names it."""
    names = table.resolve_targets(targets)
    total = add_weighted_total(table, linear_objective(objective, names), TOTAL_NAME)
    return total, [TOTAL_NAME], TOTAL_NAME


def fit_total_label(objective: str) -> str:
    """How optimize names the objective of a law fitted on its weighted total (--fit-total): by the --objective
    given, where the law's one column, 'objective', read "loss of objective"."""
    return f"{objective}, one law fitted on it (--fit-total)"


def fit_total_name(result: Any) -> str | None:
    """:func:`fit_total_label` of a pipeline fitted with --fit-total (its saved ``fit_total``), else None."""
    total = getattr(result, "fit_total", None)
    return None if total is None else fit_total_label(total["name"])


def parse_objective(spec: str) -> Any:
    """'mean' | 'total' | 'max' | an eval name | 'weights=a:0.5,b:0.5'.

    An eval is spelt with or without its column prefix, as ``--target`` takes it (``loss:c4`` or ``c4``): ``--target
    loss:c4`` worked where ``--objective loss:c4`` said "unknown objective". Weights without the ``weights=`` prefix
    (``c4:0.5,book:0.5``) are an error that gives the spelling.
    """
    if not spec.startswith("weights="):
        if spec.strip().startswith('"'):
            # An eval whose name holds a comma, quoted as --target takes it ('"arc,easy"'): it read "unknown
            # objective '\"arc,easy\"'", the list beside it naming 'arc,easy'.
            names = split_names(spec.strip())
            if len(names) == 1:
                return names[0][len(LOSS_PREFIX):] if names[0].startswith(LOSS_PREFIX) else names[0]
        items = [x.strip() for x in spec.split(",") if x.strip()]
        if len(items) > 1 and all(re.fullmatch(r".+:\s*[-+0-9.eE]+", x) for x in items):
            raise InputError(f"--objective {spec!r}: a weighted objective is spelt weights={spec}")
        return spec[len(LOSS_PREFIX):] if spec.startswith(LOSS_PREFIX) else spec
    weights = parse_named_numbers(split_names(spec[len("weights="):]), ":", "--objective", "weights=eval:weight,...")
    out: dict[str, float] = {}
    for k, v in weights.items():
        name = k[len(LOSS_PREFIX):] if k.startswith(LOSS_PREFIX) else k
        if name in out:  # c4 and loss:c4: one eval spelt twice
            raise InputError(f"--objective: {name!r} given twice")
        out[name] = v
    return out


def parse_named_numbers(items: Iterable[str], sep: str, option: str, expected: str) -> dict[str, float]:
    """``NAME<sep>NUMBER`` items (blank ones skipped) -> ``{name: number}``; a number may be a percentage
    (``code=30%`` is 0.3, as in mixtures: ``--default``, ``--mixture``); any other item is one
    :class:`InputError` saying what ``option`` expected."""
    out: dict[str, float] = {}
    for item in (x.strip() for x in items):
        if not item:
            continue
        name, found, val = item.rpartition(sep)  # the last one: names may hold it ('arc:rc::olmes:0.5')
        try:
            number = share_value(val)
        except ValueError:
            number = None
        if not found or not name.strip() or number is None:
            raise InputError(f"{option}: expected {expected}; got {item!r}")
        if name.strip() in out:  # which one was meant? keeping the last said nothing
            raise InputError(f"{option}: {name.strip()!r} given twice")
        out[name.strip()] = number
    return out


def parse_bounds(specs: list[str] | None) -> dict[str, tuple[float, float]] | None:
    """'code=0.05:0.3' (repeatable, or comma-separated) -> {'code': (0.05, 0.3)}; a bound may be a percentage,
    'code=5%:30%', as a weight of --fixed or an inline mixture may (it was "expected domain=lo:hi")."""
    if not specs:
        return None

    def share(text: str, default: float) -> float:
        return share_value(text) if text.strip() else default

    out: dict[str, tuple[float, float]] = {}
    for item in (x.strip() for spec in specs for x in split_names(spec)):
        if not item:
            continue
        name, _, rng = item.rpartition("=")  # the last '=': a quoted name may hold one
        lo, sep, hi = rng.partition(":")
        if name.strip() and name.strip() in out:
            # The last silently won (--bounds web=0:0.5 --bounds web=0.1:0.3), where --fixed refuses a repeat.
            raise InputError(f"--bounds: {name.strip()!r} given twice")
        try:
            out[name.strip()] = (share(lo, 0.0), share(hi, 1.0))
        except ValueError:
            raise InputError(f"--bounds: expected domain=lo:hi; got {item!r}") from None
        if not sep or not name.strip():
            raise InputError(f"--bounds: expected domain=lo:hi; got {item!r}")
        if "%" not in rng and any(v > 1 for v in out[name.strip()]):
            # 'code=10:30' reached the optimiser's "must satisfy 0 <= lo <= hi <= 1; got (10, 30)"
            raise InputError(f"--bounds {item!r}: bounds are shares in [0, 1]; for percentages mark them: "
                             f"{name.strip()}={lo.strip() or 0}%:{hi.strip() or 100}%")
    if not out:
        raise InputError(f"--bounds {' '.join(map(repr, specs))} names no domain; expected domain=lo:hi")
    return out


def interval_doc(result: Any, interval: tuple[np.ndarray, np.ndarray] | None) -> dict[str, Any] | None:
    """``optimum_interval`` of the ``--json`` document: the level and each eval's [lower, upper], or None."""
    if interval is None:
        return None
    return {"level": result.intervals.level,
            **{t: [float(interval[0][0, k]), float(interval[1][0, k])] for k, t in enumerate(result.targets)}}


def parse_default(spec: str, domains: list[str], mixtures: Any) -> Any:
    """--default: 'mean' (of the runs' mixtures), 'uniform', or a mixture as every other option takes one
    (:func:`mixlaw.export.parse_mixture`: 'a=0.5,b=0.5', 'a=60%,b=40%', a double-quoted name holding ',' or '=', or
    a JSON/CSV mixture file); other domains 0. It had the trainer's parser, which split '"web, news"=0.5' at its
    comma and refused '60%', unlike predict/export/design."""
    if spec == "mean":
        return mixtures.mean(axis=0)
    if spec == "uniform":
        return [1.0 / len(domains)] * len(domains)
    try:
        mix = parse_inline_mixture(spec)
    except InputError as e:
        raise InputError(f"--default: {e}") from None
    for d, v in mix.items():
        try:
            mix[d] = float(v)
        except (TypeError, ValueError):
            raise InputError(f"--default: weight of domain {d!r} is not a number: {v!r}") from None
        if not np.isfinite(mix[d]) or mix[d] < 0:
            raise InputError(f"--default: weight of {d!r} is {mix[d]!r}, expected a finite number >= 0")
    unknown = sorted(set(mix) - set(domains))
    if unknown:
        raise InputError(f"--default names unknown domain(s) {unknown}; the runs have {domains}")
    total = sum(mix.values())
    if beyond_tol(abs(total - 1.0), 0.01):
        raise InputError(f"--default weights sum to {total:.4g}, expected 1 (within 0.01)")
    return [mix.get(d, 0.0) / total for d in domains]




def tokens_available_for(spec: str | None, domains: Iterable[str], whose: str) -> dict[str, float] | None:
    """--tokens-available read for ``domains``: a corpus-wide file that also lists domains the law (or design) does
    not have keeps those out, with one warning naming them, as ``export`` takes such a file (optimize and design
    refused it: "unknown domain(s) ['books']"). A file that lacks one of ``domains`` is kept whole, for
    :func:`mixlaw.budget.per_domain`'s error (a misspelt domain: "unknown domain(s) ['cdoe'] ... did you mean")."""
    if spec is None:
        return None
    tok = read_tokens_available(spec)
    doms = list(domains)
    extra = [d for d in tok if d not in doms]
    if extra and all(d in tok for d in doms):
        names = first_and_more([repr(d) for d in extra])
        warnings.warn(f"--tokens-available {spec}: domain(s) {names} are not {whose}'s; ignored (its domains are "
                      f"{doms})", MixlawWarning, stacklevel=1)
        tok = {d: v for d, v in tok.items() if d in doms}
    return tok
