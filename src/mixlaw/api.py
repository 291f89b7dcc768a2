"""High-level functions behind the CLI: everything the CLI does is one call here.

Fitting, comparing, saving and loading laws and predicting tables of mixtures are here; the optimal mixture (from
runs, a saved law or a pipeline's target) is :mod:`mixlaw.api_optimize`, and the atomic writes of every output file
are :mod:`mixlaw._atomic`. Their public names are importable from here as well.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# The atomic writers and the optimize entry points keep their names here: the CLI calls them as api.write_text_atomic
# and api.optimize_runs, and tests and bench import them (and _far_error) from mixlaw.api.
from ._atomic import write_frame_atomic, write_text_atomic
from ._validation import path_exists, read_user_text, renamed
from ._version import __version__
from .api_optimize import _far_error, law_selection, optimize_at_target, optimize_runs, optimize_saved_law  # noqa: F401
from .compare import Leaderboard, compare
from .data import (
    WEIGHT_PREFIX,
    WEIGHT_TOL,
    RunTable,
    beyond_tol,
    flat_columns,
    frame_as_table,
    known_names,
    scale_mismatch,
    unseen_zero_domains,
)
from .data.hints import case_hint
from .data.reading import _normalise_columns, _read_any
from .datasets import bundled_splits, load_regmix
from .errors import (
    DataError,
    DataWarning,
    ExtrapolationWarning,
    InputError,
    MixlawWarning,
    ScaleWarning,
    UnusedDomainWarning,
    user_stacklevel,
)
from .export import parse_mixture, sum_hint
from .export_input import _mixture_from_frame, is_domain_weight
from .importers import read_any_runs
from .importers import read_any_runs as read_runs  # noqa: F401  (api.read_runs, as mixlaw.read_runs: what --runs reads)
from .laws import available_laws, get_law, law_from_dict
from .laws.base import _REGISTRY, LAW_SCHEMA_VERSION, MixingLaw, check_law_arg, check_seed_reaches
from .laws.scale_inputs import check_scale_taken
from .pipeline import PipelineResult
from .pipeline.result import far_below_line, short_label

#: Held-out splits of the bundled RegMix data, scored by ``compare_regmix``.
REGMIX_TEST_SPLITS = ("test_1m", "test_60m", "test_1B")


def compare_tables(train: RunTable, tests: Mapping[str, RunTable], *, targets: str | Sequence[str] = "all",
                   laws: Sequence[str | MixingLaw] | None = None, random_state: int = 0,
                   objective: str | Mapping[str, float] | None = None,
                   fit_on: Sequence[str] = ("per-eval", "direct"),
                   on_progress: Callable[[str], None] | None = None,
                   on_done: Callable[[str], None] | None = None, n_folds: int | None = None,
                   cv_folds: int | None = None, maximize: bool = False) -> Leaderboard:
    """:func:`mixlaw.compare.compare` with per-law progress callbacks (before and after each fit). ``n_folds``: the
    folds of ``auto`` / ``stack`` (``--cv-folds``; ``cv_folds``, its older name, is a silent alias); ``maximize``:
    higher-is-better metrics, for ``regret_at_1`` (``--maximize``)."""
    keys = list(laws) if laws is not None else None
    for k in keys or []:
        if not isinstance(k, MixingLaw) and k not in available_laws():  # a configured law: compare names it
            raise InputError(f"unknown law {k!r}; available: {', '.join(available_laws())}")
    return compare(train, tests, targets=targets, laws=keys, random_state=random_state, objective=objective,
                   fit_on=fit_on, on_progress=on_progress, on_done=on_done,
                   n_folds=renamed("n_folds", n_folds, "cv_folds", cv_folds), maximize=maximize)


def compare_regmix(*, targets: str | Sequence[str] = "pile_cc", laws: Sequence[str | MixingLaw] | None = None,
                   random_state: int = 0, on_progress: Callable[[str], None] | None = None,
                   on_done: Callable[[str], None] | None = None) -> Leaderboard:
    """Fit on the bundled RegMix ``train_1m`` runs; score on ``test_1m``, ``test_60m`` and ``test_1B``."""
    data = load_regmix()
    assert isinstance(data, dict)
    return compare_tables(data["train_1m"], {s: data[s] for s in REGMIX_TEST_SPLITS}, targets=targets, laws=laws,
                          random_state=random_state, on_progress=on_progress, on_done=on_done)


def compare_dataset(name: str, *, targets: str | Sequence[str] = "all", laws: Sequence[str | MixingLaw] | None = None,
                    random_state: int = 0, objective: str | Mapping[str, float] | None = None,
                    fit_on: Sequence[str] = ("per-eval", "direct"), on_progress: Callable[[str], None] | None = None,
                    on_done: Callable[[str], None] | None = None, n_folds: int | None = None,
                    cv_folds: int | None = None, maximize: bool = False) -> Leaderboard:
    """Fit on a bundled dataset's fitting runs and score on its held-out runs (``regmix`` or ``marin-delphi``,
    splits as in :func:`mixlaw.datasets.bundled_splits`): ``mixlaw compare --dataset NAME``. ``n_folds``
    (``cv_folds``: its older name) and ``maximize`` (``--maximize``) as in :func:`compare_tables`."""
    train, tests = bundled_splits(name)
    return compare_tables(train, tests, targets=targets, laws=laws, random_state=random_state, objective=objective,
                          fit_on=fit_on, on_progress=on_progress, on_done=on_done, n_folds=n_folds, cv_folds=cv_folds,
                          maximize=maximize)


def laws_taking_eval_map() -> list[str]:
    """Keys of the laws that match eval sets to training domains and take ``eval_map``."""
    return [k for k, cls in _REGISTRY.items() if cls.needs_matched_targets]


def takes_eval_map(key: str) -> bool:
    """Whether the law registered as ``key`` takes ``eval_map`` (unknown keys: False)."""
    return key in laws_taking_eval_map()


def fit_table(table: RunTable | pd.DataFrame | str | os.PathLike[str], *, law: str | MixingLaw = "stack",
              targets: str | Sequence[str] = "all", random_state: int = 0, **options: Any) -> MixingLaw:
    """Fit one law (a key or a configured instance) to a run table (a DataFrame in its columns, or a path to one).

    The default, ``stack``, weighs the best laws of a K-fold CV on the table's runs (no fixed law is best on every
    real table: ``bench/auto_vs_stack.py``); a law key fits that law alone, in a fraction of the time.

    The CV's fold fits run in this process, unless the call is inside ``mixlaw.laws.selection.cv_workers(n)``
    (``"auto"``: the usable CPUs, at most 8, as ``mixlaw fit``'s default ``--workers auto``; the same numbers).
    No ``n_jobs`` keyword here: ``options`` go to the law, and ``lightgbm`` takes an ``n_jobs`` of its own. They
    configure a law given by key; a law given as an instance is fitted as configured (``options`` are refused)."""
    check_law_arg(law, "fit_table")
    if options and not isinstance(law, str):
        # fit_table(t, law=get_law("linear"), alpha=5.0) dropped alpha without a word (the instance's 'cv' was fitted).
        raise InputError(f"fit_table: options {sorted(options)} configure a law given by key (law='linear', "
                         f"alpha=5.0); the law given is an instance, {type(law).__name__}: set them on it "
                         f"(law.set_params(...)) or give its key")
    # fit_table(t, law=YePower(), random_state=5) fitted the instance's own seed, 0, without a word.
    check_seed_reaches(law, random_state, "fit_table")
    table = frame_as_table(table)  # a DataFrame in the run table's columns, as law.fit reads one
    if not isinstance(table, RunTable):
        table = read_any_runs(table)  # as --runs: a table or a pair
    est = get_law(law, random_state=random_state, **options) if isinstance(law, str) else law
    return est.fit(table, targets=targets)


def save_law(law: MixingLaw, path: str | os.PathLike[str]) -> None:
    """Write a fitted law as JSON, atomically (temp file + rename), tagged with the saved-law schema version."""
    if not isinstance(law, MixingLaw):
        # save_law(pipeline_result, path) wrote a file that neither load_law nor load_pipeline read back, as did an
        # OptimumResult; a dict stopped on "AttributeError: 'dict' object has no attribute 'to_dict'".
        hint = {"PipelineResult": ": save a pipeline with save_pipeline(result, path)",
                "OptimumResult": ": write an optimum with export_mixture(opt, 'json') (or opt.to_dict())"}
        raise InputError(f"save_law writes a fitted law (a MixingLaw, as get_law(...).fit(...) returns); got "
                         f"{type(law).__name__}{hint.get(type(law).__name__, '')}")
    doc = {"mixlaw_version": __version__, "schema_version": LAW_SCHEMA_VERSION, **law.to_dict()}
    write_text_atomic(json.dumps(doc, indent=2, default=float), path)


def load_law(path: str | os.PathLike[str]) -> MixingLaw:
    """Read a law saved by :func:`save_law`, validating it against the saved-law schema
    (:func:`mixlaw.laws.law_from_dict`).

    Raises
    ------
    InputError
        Naming the file: missing, a folder, unreadable, binary, not JSON, or not a valid saved law.
    """
    p = Path(path)
    text = read_user_text(p, "saved law (JSON from 'mixlaw fit --out')")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"{p}: not a JSON file ({err})") from None
    except RecursionError:  # '[[[[...' 100000 deep: Python's parser recurses per level
        raise InputError(f"{p}: not a valid saved law: JSON nested too deeply") from None
    try:
        return law_from_dict(doc)
    except InputError as err:
        raise InputError(f"{p}: not a valid saved law: {err}") from None
    except RecursionError:  # laws nested in laws (a meta-law's members, a base law) beyond Python's stack
        raise InputError(f"{p}: not a valid saved law: laws nested too deeply") from None


def predict_table(law: MixingLaw, mixtures: str | os.PathLike[str] | pd.DataFrame, *,
                  weight_tol: float = WEIGHT_TOL, params: float | None = None,
                  tokens: float | None = None) -> pd.DataFrame:
    """Predict every target for the mixtures of a table with ``w:<domain>`` columns.

    The table needs no loss columns; weights are validated (non-negative, rows summing to 1 ± ``weight_tol``,
    then renormalised) and reordered to the law's domains by name. Returns the input's ``run`` (without one, its
    ``mixture``, as ``mixlaw pipeline --out`` writes it; else the row number) and ``pred:<target>`` columns.
    A law fitted across model sizes or token counts (bimix, autoscale, dz-eq3 on runs of several scales) reads
    each row's from the table's ``params`` / ``tokens`` columns, or one for every row from ``params`` /
    ``tokens`` (``mixlaw predict --law --params / --tokens``); a law fitted at one scale refuses them.
    """
    table, path = _mixture_table(mixtures, weight_tol, law.domains_, "law")
    given = {"model_params": params, "tokens": tokens}
    # The command line refused both for every law ("a saved law predicts at its own scale"), after the law fitted
    # across token counts had said "tokens is required" for a mixture given inline.
    check_scale_taken(law, params, tokens, "to predict another scale, extrapolate with 'mixlaw pipeline --save'")
    for key, col in (("model_params", "params"), ("tokens", "tokens")):
        if given[key] is not None and col in table.frame.columns:
            raise InputError(f"{col}: {path or 'the mixtures'} has its own {col!r} column; give one or the "
                             "other")
    fitted_at = getattr(law, "_fit_scale", None)
    if any(c in table.frame.columns for c in ("params", "tokens")) and fitted_at is not None \
            and not (law.uses_model_params or law.uses_tokens):
        why = scale_mismatch(fitted_at, table, path or "the mixtures")
        if why:
            warnings.warn(why, ScaleWarning, stacklevel=user_stacklevel(2))
    # The table's own sizes and token counts: a law fitted across scales (auto or bimix on a multi-size sweep, a
    # dz law) needs them, and `mixlaw predict --law` said "model_params is required" for a table that had them.
    # Only to a law fitted with them: predict warns that a size given to a law without a size term is ignored, and
    # the table's own columns are its runs' scale, whose mismatch was said above.
    scale = {k: v if given[k] is None else given[k]
             for k, v, rng in (("model_params", table.model_params, law._n_range),
                               ("tokens", table.tokens, law._d_range)) if rng is not None}
    pred = np.asarray(law.predict(_weights_for(table, law.domains_, path, "law"), **scale))
    return _prediction_frame(table, pred.reshape(len(table), -1), law.targets_)


def predict_pipeline_table(result: PipelineResult, mixtures: str | os.PathLike[str] | pd.DataFrame, *,
                           params: float | None = None, steps: float | None = None, tokens: float | None = None,
                           weight_tol: float = WEIGHT_TOL) -> pd.DataFrame:
    """:func:`predict_table` with a fitted (or loaded) pipeline, at its target scale or at ``params`` (model
    size N) and ``steps`` or ``tokens`` (:meth:`PipelineResult.predict`)."""
    return pipeline_predictions(result, mixtures, params=params, steps=steps, tokens=tokens,
                                weight_tol=weight_tol)[0]


def pipeline_predictions(result: PipelineResult, mixtures: str | os.PathLike[str] | pd.DataFrame, *,
                         params: float | None = None, steps: float | None = None, tokens: float | None = None,
                         weight_tol: float = WEIGHT_TOL) -> tuple[pd.DataFrame, np.ndarray]:
    """:func:`predict_pipeline_table` and the mixtures it predicted (n_rows, n_domains; the pipeline's domain
    order), from one read of ``mixtures``: ``mixlaw predict --pipeline`` read the file a second time for the
    intervals' weights (0.5 s per 100k rows)."""
    table, path = _mixture_table(mixtures, weight_tol, result.domains, "pipeline")
    W = _weights_for(table, result.domains, path, "pipeline")
    pred = result.predict(W, params=params, steps=steps, tokens=tokens)
    _warn_own_scales(table, result, params, steps, tokens, path)
    _warn_far_below(table, result, pred, params, steps, tokens)
    if result.scale_of(params, steps, tokens) == (None, None):
        # At the target (elsewhere result.predict says it, _warn_below_fitted): a pipeline fitted below its sizes
        # warned at the fit, and 'predict --pipeline p.json' of it said nothing where '--params' 1 % off did.
        line = result.target_below_line()
        if line is not None:
            warnings.warn(line, ExtrapolationWarning, stacklevel=user_stacklevel(2))
    return _prediction_frame(table, pred, result.targets), W


def _warn_far_below(table: RunTable, result: PipelineResult, pred: np.ndarray, params: float | None,
                    steps: float | None, tokens: float | None) -> None:
    """MixlawWarning for predictions below half the lowest loss of their eval in the pipeline's table
    (:func:`~mixlaw.pipeline.result.far_below_line`), the check ``fit_pipeline`` makes of its target-scale
    predictions: ``mixlaw predict --pipeline`` of the very mixture whose fit had warned said nothing. At any scale:
    a smaller one predicts higher still. Skipped where the result does not know the table's lowest (a file saved
    before it was kept)."""
    if result.table_lowest is None:
        return
    N = result.target_params if params is None else float(params)
    _, T = result.scale_of(None, steps, tokens)
    T = result.target_time if T is None else T
    # Fitted on final losses, S = 1 is the stand-in for each run's end (PipelineResult.time_words): said so.
    at = (f"at N = {N:g} (each run's end)" if result.final_losses and T == result.target_time
          else f"at N = {N:g}, {'S' if result.time_axis == 'step' else 'D'} = {T:g}")
    rows = [f"row {i + 1} (run {short_label(r)!r})" for i, r in enumerate(table.runs)]
    line = far_below_line(pred, result.table_lowest, list(result.targets), rows, f"prediction(s) {at}",
                          "the pipeline's step or size law runs to its bound at that mixture, or the scale is far "
                          "beyond its runs; see the pipeline's fit warnings, or predict nearer",
                          table="the pipeline's table")
    if line is not None:
        warnings.warn(line, MixlawWarning, stacklevel=user_stacklevel(3))


def _warn_own_scales(table: RunTable, result: PipelineResult, params: float | None, steps: float | None,
                     tokens: float | None, path: str | None) -> None:
    """ScaleWarning when the mixtures carry their own ``params`` / ``step`` / ``tokens`` columns at another scale
    than every row is predicted at: a run table of checkpoints fed back to compare predictions with its losses
    got the target's predictions, one per checkpoint, under its run names, and nothing said so. The check is
    :meth:`PipelineResult._warn_own_scales`'s (one rule for the command line and the API), naming the file and the
    command line's options."""
    N = result.target_params if params is None else float(params)
    _, T = result.scale_of(None, steps, tokens)
    result._warn_own_scales(table, N, result.target_time if T is None else T, where=path or "mixtures",
                            how="--params/--steps/--tokens, or params=/steps=/tokens=")


def _one_mixture(mixtures: Any) -> dict[str, float] | None:
    """One mixture given inline (``web=0.6,code=0.4``), as a YAML file, or as a JSON file of one: what ``mixlaw
    export --format json`` and ``optimize --json`` write (``predict --mixtures ox.json`` read it as a table and asked
    for ``w:<domain>`` columns among 'domain', 'weight'). None for anything else, which is read as a table."""
    if not isinstance(mixtures, (str, os.PathLike)):
        return None
    spec = str(mixtures)
    if "=" in spec and not path_exists(spec):
        return parse_mixture(spec)
    if Path(spec).suffix.lower() in (".yaml", ".yml") and Path(spec).is_file():
        # No run table is YAML: it said "unknown table format '.yaml'" (docs31). Its weights are checked as a JSON
        # file's are: 'web: abc' stopped on numpy's "ufunc 'isfinite' not supported for the input types".
        mix = parse_mixture(spec)
        _not_a_number(mix, spec)
        return mix
    if Path(spec).suffix.lower() == ".json" and Path(spec).is_file():
        try:
            mix = parse_mixture(spec)
        except InputError:
            return None  # a run table stored as JSON records
        if mix and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in mix.values()):
            return mix
        if mix and not any(isinstance(v, (Mapping, list)) for v in mix.values()):
            # A flat {domain: weight} object is one mixture, never a table (pandas said "If using all scalar values,
            # you must pass an index"): name the weight that is not a number, as export --mixture does.
            _not_a_number(mix, spec)
    return None


def _not_a_number(mix: Mapping[str, Any], spec: str) -> None:
    """Refuse a mixture file's weight that is not a number, naming it, as export --mixture does."""
    bad = next(((d, v) for d, v in mix.items() if isinstance(v, bool) or not isinstance(v, (int, float))), None)
    if bad is not None:
        raise InputError(f"{spec}: weight of domain {bad[0]!r} is not a number: {bad[1]!r}")


def _mixture_table(mixtures: str | os.PathLike[str] | pd.DataFrame, weight_tol: float,
                   domains: Sequence[str] | None = None, what: str = "law") -> tuple[RunTable, str | None]:
    """The ``w:`` columns (and ``params``/``tokens``) of a table of mixtures, validated as a run table.

    With ``domains`` (the law's), the columns are checked against them before the row sums: a table that left
    out a domain column said "weights sum to 0.847692, expected 1" instead of naming the missing column.
    """
    lines = None  # each row's line in the file: parquet counts from 1, JSONL skips blank lines (not index + 2)
    mix = _one_mixture(mixtures)
    if mix is None and not isinstance(mixtures, pd.DataFrame):
        df, lines = _read_any(Path(mixtures))
        if is_domain_weight(df):
            # One mixture as domain,weight rows, as export --mixture reads a CSV (docs/optimize.md says predict
            # --mixtures takes it too): it was "needs one 'w:<domain>' column ... found 0, among ['domain', 'weight']".
            mix = _mixture_from_frame(df, str(mixtures))
    elif isinstance(mixtures, pd.DataFrame) and is_domain_weight(mixtures):
        mix = _mixture_from_frame(mixtures, "mixtures")
    if isinstance(mixtures, pd.DataFrame) and mix is None:
        flat_columns(mixtures, "mixtures")
        df, path = mixtures.copy(), None
    elif mix is not None:
        # One mixture inline, as export's --mixture takes it: 'predict --mixtures arxiv=0.5,c4=0.5' said
        # "no such file". Domains it leaves out get 0.
        label = "mixtures" if isinstance(mixtures, pd.DataFrame) else str(mixtures)
        # A domain the law lacks at share 0 is left out with the table's warning (unseen_zero_domains, below), as
        # law.predict({..., "news": 0}) leaves it out (1c3ba59): 'web=0.5,code=0.5,news=0' said "unknown domain(s)
        # ['news']" where the same mixture as a table row was predicted.
        unknown = sorted(d for d in set(mix) - set(domains) if mix[d] != 0) if domains is not None else []
        if unknown:
            raise InputError(f"mixtures {label} (--mixtures): unknown domain(s) {unknown}; the {what}'s are "
                             f"{known_names(unknown, list(domains))}")
        bad = next((d for d, v in mix.items() if not (np.isfinite(v) and v >= 0)), None)
        if bad is not None:  # said of the mixture given: the table's check named 'row 2' of a file there is not
            raise InputError(f"mixtures {label} (--mixtures): weight of domain {bad!r} is {mix[bad]:g}, "
                             "expected a finite number >= 0")
        total = sum(mix.values())
        if beyond_tol(abs(total - 1.0), weight_tol):
            raise InputError(f"mixtures {label} (--mixtures): weights sum to {total:.6g}, expected 1 ± "
                             f"{weight_tol:g} ({sum_hint(total, mix)})")
        names = list(domains) + [d for d in mix if d not in domains] if domains is not None else list(mix)
        df, path = pd.DataFrame({"run": [label], **{WEIGHT_PREFIX + d: [mix.get(d, 0.0)] for d in names}}), None
    else:
        df = _normalise_columns(df, mixtures)
        path = str(mixtures)
    if "run" not in df.columns:
        df.insert(0, "run", _row_labels(df))
    wcols = [c for c in df.columns if str(c).startswith(WEIGHT_PREFIX)]
    if len(wcols) < 2:
        # Said here: the run-table validator would list the probe's columns ('run', 'loss:_'), not the file's.
        others = [str(c) for c in df.columns if c not in ("run", "params", "tokens")]
        # 'weight_arxiv' for the law's domain 'arxiv' is renamed 'w:arxiv', not 'w:weight_arxiv'
        named = [(c, d) for d in (domains or []) for c in others if d in c]
        col, dom = named[0] if named else (others[0], others[0]) if others else ("", "")
        eg = "" if not col else f" (e.g. 'w:{dom}')" if col == dom else f" (e.g. 'w:{dom}' for '{col}')"
        raise DataError(f"a table of mixtures needs one 'w:<domain>' column per domain of the law; found "
                        f"{len(wcols)}, among columns {known_names([], others)}: rename the weight columns to "
                        f"w:<domain>{eg}", path=path)
    if domains is not None:
        missing = [d for d in domains if WEIGHT_PREFIX + d not in wcols]
        extra = [c[len(WEIGHT_PREFIX):] for c in wcols if c[len(WEIGHT_PREFIX):] not in domains]
        unused = unseen_zero_domains(df, extra, path or "mixtures", f"the {what}'s", stacklevel=3)
        if unused:
            df = df.drop(columns=[WEIGHT_PREFIX + d for d in unused])
            wcols = [c for c in wcols if c[len(WEIGHT_PREFIX):] not in unused]
            extra = [d for d in extra if d not in unused]
        if missing or extra:
            hint = case_hint(missing, extra) or (" (give every domain a column; 0 for those a mixture leaves out)"
                                                 if missing else "")
            raise DataError(f"mixture domains differ from the {what}'s: missing {missing}, unexpected {extra}{hint}",
                            path=path, column="w:" + (missing or extra)[0])
    # 'step' too: a run table of checkpoints (the large runs whose losses you want to check) has one row per
    # (run, step), and without its step column the validator called the second checkpoint a duplicate run.
    scale_cols = [c for c in ("params", "step", "tokens") if c in df.columns]
    probe = df[["run"] + wcols + scale_cols].copy()
    probe["loss:_"] = 1.0  # a placeholder loss column so the run-table validator can be reused on mixtures
    with warnings.catch_warnings():  # candidates need not use every domain; only a fitting table must
        warnings.simplefilter("ignore", UnusedDomainWarning)
        # Nor vary every pair of domains apart: the check that no law can tell two proportional columns apart is a
        # fitting table's ('predict --pipeline p.json --mixtures' of three of Dai & Zheng's runs, arxiv = book in
        # each, said an optimum would split their share at random; hunt34b).
        warnings.filterwarnings("ignore", r".*: weight columns .* are proportional in every run", DataWarning)
        return RunTable(probe, path=path, weight_tol=weight_tol, lines=lines), path


def _row_labels(df: pd.DataFrame) -> list[str]:
    """Each row's label in predict's output for a table with no ``run`` column: its ``mixture``, as ``mixlaw
    pipeline --out`` and ``PipelineResult.frame()`` name their rows, where every row has its own; else the row
    numbers 1, 2, .... ``predict --pipeline p.json --mixtures out.csv`` of the pipeline's own file labelled its
    rows 1..N, which joined back to that file on nothing."""
    if "mixture" in df.columns:
        labels = df["mixture"]
        if labels.notna().all() and labels.astype(str).str.strip().ne("").all() and labels.astype(str).is_unique:
            return labels.astype(str).tolist()
    return [str(i + 1) for i in range(len(df))]


def _weights_for(table: RunTable, domains: Sequence[str], path: str | None, what: str) -> np.ndarray:
    missing = [d for d in domains if d not in table.domains]
    extra = [d for d in table.domains if d not in domains]
    if missing or extra:
        hint = case_hint(missing, extra) or (" (give every domain a column; 0 for those a mixture leaves out)"
                                             if missing else "")
        raise DataError(f"mixture domains differ from the {what}'s: missing {missing}, unexpected {extra}{hint}",
                        path=path, column="w:" + (missing or extra)[0])
    return table.weights_for(domains)


def _prediction_frame(table: RunTable, pred: np.ndarray, targets: Sequence[str]) -> pd.DataFrame:
    out = pd.DataFrame({"run": table.runs})
    for i, t in enumerate(targets):
        out[f"pred:{t}"] = pred[:, i]
    return out


def describe_laws() -> list[dict[str, str]]:
    """Key, class and the first docstring line of every registered law."""
    rows = []
    for k in available_laws():
        cls = type(get_law(k))
        doc = (cls.__doc__ or "").strip().splitlines()
        rows.append({"key": k, "class": cls.__name__, "summary": doc[0] if doc else ""})
    return rows


__all__ = ["compare_tables", "compare_regmix", "compare_dataset", "fit_table", "save_law", "load_law", "predict_table",
           "predict_pipeline_table", "pipeline_predictions",
           "optimize_runs", "optimize_at_target", "describe_laws", "write_text_atomic", "write_frame_atomic",
           "REGMIX_TEST_SPLITS"]
