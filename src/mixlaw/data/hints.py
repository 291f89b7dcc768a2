"""Hints for a table whose column names are not a run table's, each the end of an error message.

The ``--columns`` map that fits a common naming convention (:func:`suggest_column_map`: ``weight_*``/``*_loss``,
W&B's ``mixture/*``/``eval/*/loss``), what to do with a table that is mixtures or losses alone, how to pivot a long
table (one row per eval set, :func:`long_format_hint`), and the known names closest to a mistyped one
(:func:`known_names`). Nothing here changes a table; :class:`~mixlaw.data.RunTable` and the importers call these
when they refuse one.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .schema import LOSS_PREFIX, RUN_ID_COLUMNS, WEIGHT_PREFIX, WEIGHT_TOL


def _fold(name: str) -> str:
    """A name as the readers compare them: lower case, ' ' and '-' as '_'."""
    return name.lower().replace("-", "_").replace(" ", "_")


# Names other tools give the scale columns (Dai & Zheng: model_size, n_tokens; W&B: _step, global_step).
_SCALE_NAMES = {"run": ("run", "name", "run_name", "run_id"),
                "params": ("model_size", "n_params", "num_params", "model_params", "parameters", "params"),
                "tokens": ("n_tokens", "num_tokens", "tokens_seen", "tokens", "train_tokens"),
                "step": ("step", "_step", "global_step", "steps", "iteration", "train_step")}
_WEIGHT_WORDS = ("weight", "mix", "ratio", "prop", "frac", "share")
_LOSS_WORDS = ("loss", "nll", "ppl", "bpb", "perplexity")


def suggest_column_map(cols: list[str], weight_words: tuple[str, ...] = _WEIGHT_WORDS) -> str | None:
    """A ``--columns`` map that fits ``cols`` when they follow a common convention, or None.

    Weights: the columns sharing a prefix (``weight_*``) or suffix (``*_weight``) that names a share; losses:
    those sharing one that names a loss (``*_loss``, ``loss_*``, ``eval/*/loss``). Only a suggestion for the
    error message; nothing is mapped without ``--columns``.

    >>> suggest_column_map(["weight_a", "weight_b", "model_size", "n_tokens", "a_loss", "b_loss"])
    'w:*=weight_*,loss:*=*_loss,params=model_size,tokens=n_tokens'
    """
    # Each column's patterns: '*' + a suffix starting at a separator, a prefix ending at one + '*' (a name left
    # for '*'). A column matches '*S' exactly when S is one of its own such suffixes, so one pass counts every
    # pattern's matches. Why: matching each candidate pattern against every column took 7.5 s of CPU for a
    # 2000-column W&B export, on the way to any error about a table's columns.
    pats = [[p for m in re.finditer(r"[_/:.\-]", c)
             for p, name in (("*" + c[m.start():], c[:m.start()]), (c[:m.end()] + "*", c[m.end():])) if name]
            for c in cols]
    matches = Counter(p for ps in pats for p in ps)
    # eval/<name>/loss: a prefix and a suffix around a name without '/'
    around = Counter((p[0], p[2]) for p in (c.split("/") for c in cols) if len(p) == 3 and p[1])

    def pattern(words: tuple[str, ...], least: int) -> str | None:
        best: tuple[int, str] | None = None
        for pat in (p for ps in pats for p in ps):
            n = matches[pat]
            if n >= least and (best is None or n > best[0]) and any(w in pat.replace("*", "").lower() for w in words):
                best = (n, pat)
        for c in cols:
            parts = c.split("/")
            if len(parts) == 3 and any(w in parts[2].lower() for w in words):
                n = around[parts[0], parts[2]]
                if n >= least and (best is None or n >= best[0]):  # over '*/loss', which keeps 'eval/' in the name
                    best = (n, f"{parts[0]}/*/{parts[2]}")
        return None if best is None else best[1]

    w, loss = pattern(weight_words, 2), pattern(_LOSS_WORDS, 1)  # a run table may have one eval set
    if w is None or loss is None:
        return None
    parts = [f"w:*={w}", f"loss:*={loss}"]
    lower = {c.lower(): c for c in cols}
    for target, names in _SCALE_NAMES.items():
        hit = next((lower[n] for n in names if n in lower), None)
        if hit is not None and hit != target:
            parts.append(f"{target}={hit}")
    return ",".join(parts)


def _mapping_hint(df: pd.DataFrame, cols: list[str], where: str) -> str:
    """How to get a table whose columns are not a run table's into one (the end of its error).

    Why: the hint was always a W&B map (``run=Name,w:*=mixture/*,...``), right only for such an export. Given
    Olmix's ``ratios.csv`` alone (the losses are in ``metrics.csv``) or Dai & Zheng's ``weight_*``/``*_loss``
    sweep, ``fit --runs`` suggested a map that names none of their columns.
    """
    guess = suggest_column_map([df.attrs.get("renamed", {}).get(c, c) for c in cols])
    if guess:
        # Empty loss cells stop that import next, with its own hint: say it now (Dai & Zheng's 4-domain runs).
        lossy = [c for c in cols if any(w in _fold(str(c)) for w in _LOSS_WORDS)]
        gaps = int(df[lossy].isna().any(axis=1).sum()) if lossy else 0
        drop = (f" --drop-incomplete (it leaves out the {gaps} row{'s' if gaps > 1 else ''} with an empty loss cell)"
                if gaps else "")
        return f"map them with mixlaw runs import {where} --columns '{guess}'{drop} --out runs.csv"
    phases = _phase_schedule_hint(df, cols, where)
    if phases:
        return phases
    rest = [c for c in cols if c not in RUN_ID_COLUMNS and not c.startswith("Unnamed:")]
    W = df[rest].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64) if rest else np.empty((0, 0))
    if not any(c.startswith(LOSS_PREFIX) for c in cols) and W.shape[1] >= 2 and len(W) and np.isfinite(W).all() \
            and (W >= 0).all() and np.all(np.abs(W.sum(axis=1) - 1) <= WEIGHT_TOL):
        # Both spellings: mixlaw.read_runs(path) from a notebook stops here too, and '--runs' reads as a command.
        return (f"its rows are mixtures (they sum to 1) without losses: give the losses' file with it, --runs "
                f"{where}+LOSSES.csv (mixlaw.read_runs('{where}+LOSSES.csv') in Python), joined on run / run_id "
                "(Olmix's ratios.csv+metrics.csv) or index (RegMix's mixture.csv+loss.csv)")
    if any(c.startswith(LOSS_PREFIX) for c in cols) and not any(c.startswith(WEIGHT_PREFIX) for c in cols):
        # The other half of the pair: RegMix's loss.csv alone got the W&B map.
        return (f"it has losses without mixtures: give the mixtures' file before it, --runs MIXTURES.csv+{where} "
                f"(mixlaw.read_runs('MIXTURES.csv+{where}') in Python), joined on run / run_id or index (RegMix's "
                "mixture.csv+loss.csv)")
    return (f"map other names with mixlaw runs import {where} --columns 'run=Name,w:*=mixture/*,loss:*=eval/*/loss' "
            "--out runs.csv, a W&B export's map: put your columns' names in it")


_PHASE_COLUMN = re.compile(r"^(phase[_\-]?(\d+))[_/:.\-](.+)$", re.I)


def _phase_schedule_hint(df: pd.DataFrame, cols: list[str], where: str) -> str | None:
    """The hint for a table of multi-phase schedules: ``phase_0_<domain>``, ``phase_1_<domain>``, ... columns, each
    phase's shares summing to 1 in every row, or None.

    Marin's two-phase swarms (``two_phase_many.csv``: ``run_name``, 39 ``phase_0_*`` and 39 ``phase_1_*`` shares,
    ``eval/.../bpb``) got the W&B template map, which names none of their columns; mapping ``w:*=phase_*`` then says
    that each row holds two mixtures. The suggested map takes the last phase (one mixture per run, a law's input)."""
    groups: dict[str, list[str]] = {}
    order: dict[str, int] = {}
    for c in cols:
        m = _PHASE_COLUMN.match(str(c))
        if m:
            groups.setdefault(m.group(1), []).append(c)
            order[m.group(1)] = int(m.group(2))
    groups = {p: cs for p, cs in groups.items() if len(cs) >= 2}
    if len(groups) < 2:
        return None
    for cs in groups.values():
        W = df[cs].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
        if not (len(W) and np.isfinite(W).all() and np.all(np.abs(W.sum(axis=1) - 1) <= WEIGHT_TOL)):
            return None
    names = sorted(groups, key=order.__getitem__)
    last = names[-1]
    others = {c for p in names[:-1] for c in groups[p]}
    renamed = df.attrs.get("renamed", {})  # the file's own names ('run_id' read as 'run'): the import maps those
    guess = suggest_column_map([renamed.get(c, c) for c in cols if c not in others], weight_words=(last.lower(),))
    listed = ", ".join(f"{p}_*" for p in names)
    how = (f"mixlaw runs import {where} --columns '{guess}' --out runs.csv" if guess else
           f"mixlaw runs import {where} --columns 'w:*={last}_*,loss:<eval>=<column>' --out runs.csv")
    return (f"map one phase of its schedule of {len(names)} phases ({listed}; each phase's shares sum to 1, and a "
            f"law fits one mixture per run): {how}; or write each run's overall mixture (each phase's shares times "
            "its fraction of the tokens, summed) as w:<domain> columns")


def long_format_hint(df: pd.DataFrame, cols: list[str], key: list[str] | None = None) -> str | None:
    """The hint for a long table (one row per run, checkpoint and eval set: a text column names the eval, a numeric
    one holds its loss, as DataDecide's results and many trackers' exports are), or None for any other table.
    ``key``: the columns of run, params, step and tokens (by default those of ``cols`` with these names).

    The columns that name a row besides the eval are the key, the table's other text columns, and its numeric
    columns with few values (a model size, a step: at most one value per eval set's share of the rows); the rest
    of the numbers are the losses. Keyed on the names run/params/step/tokens alone, a table with its own names
    (``mixture, model, step, eval, loss``) got no hint, and a --columns map for a W&B export that fits nothing."""
    # A JSONL log's list cells ("tags": ["a", "b"]; a .json file's nested dicts) cannot key or count rows: pandas'
    # nunique and duplicated raised "unhashable type: 'list'", a traceback in place of the table's error.
    cols = [c for c in cols if not df[c].map(lambda v: isinstance(v, (list, dict, set))).any()]
    key = [c for c in (("run", "params", "step", "tokens") if key is None else key) if c in cols]
    numeric = {c for c in cols if pd.to_numeric(df[c], errors="coerce").notna().all()}
    found = []
    for c in cols:
        if c in key or c in numeric or c.startswith(WEIGHT_PREFIX) or not 2 <= df[c].nunique() <= len(df) // 2:
            continue
        n_evals = df[c].nunique()
        ids = [k for k in cols if k != c and not k.startswith(WEIGHT_PREFIX)
               and (k in key or k not in numeric or df[k].nunique() * n_evals <= len(df))]
        values = [k for k in cols if k in numeric and k not in ids and k != c and not k.startswith(WEIGHT_PREFIX)]
        # Rows repeated whole (Ye et al.'s RedPajama logs list some checkpoints' evals twice, same loss) do not make
        # the table any less long: the recipe drops them first. Any other repeat of (key, eval) does.
        again = df.duplicated([*ids, c])
        if not ids or not values or not df.duplicated(ids).any() or (again & ~df.duplicated(cols)).any():
            continue
        value = "loss" if "loss" in values else values[0]
        # Two text columns can both name a row with the rest (a mixture and an eval): the eval is the one named
        # so (and not 'mixture', 'run', ...), else the one that explains more of the loss (eval sets' losses
        # differ far more than mixtures').
        y = pd.to_numeric(df[value], errors="coerce")
        explained = float(y.groupby(df[c]).transform("mean").var() / y.var()) if y.var() > 0 else 0.0
        named = (1 if any(w in c.lower() for w in ("eval", "task", "metric", "bench", "dataset", "valid")) else
                 -1 if any(w in c.lower() for w in ("mix", "run", "recipe", "model", "config", "name")) else 0)
        found.append(((named, explained), c, [k for k in cols if k not in (c, *values)], value, int(again.sum())))
    if not found:
        return None
    _, c, index, value, repeated = max(found, key=lambda f: f[0])
    evals = df[c].astype(str).unique()
    shown = ", ".join(evals[:5]) + (f", ... ({len(evals)} in all)" if len(evals) > 5 else "")
    # pivot, not pivot_table: pivot_table leaves out every row with an empty cell in an index column (a note, a
    # tokens count given for some runs only), without a word; pivot keeps them (no two rows share an index and
    # eval here, so nothing needs aggregating).
    # Dropped on the key, eval and value alone: whole-row duplicates (checked above) are exactly these.
    subset = [*index, c, value]
    dedup = "" if not repeated else "drop_duplicates()." if set(subset) == set(map(str, df.columns)) else \
        f"drop_duplicates([{', '.join(repr(k) for k in subset)}])."
    said = (f" ({repeated} row(s) repeat another whole, the same loss twice: the recipe drops them)"
            if repeated else "")
    return (f"The table is long: one row per run, checkpoint and eval set, column {c!r} naming the set "
            f"({shown}){said}. A run table has one loss:<eval> column per eval set: pivot it first, e.g. in pandas "
            f"df.{dedup}pivot(index=[{', '.join(repr(k) for k in index)}], "
            f"columns={c!r}, values={value!r}).add_prefix('loss:').reset_index().")


def known_names(wanted: Sequence[str], known: Sequence[str], limit: int = 20) -> str:
    """The known names for an error about unknown ones: the closest first ("did you mean", also across case and
    '-'/'_'), then at most ``limit`` of the rest. A sweep with 113 evals (Olmix's DCLM swarm) printed all 113
    after a one-letter typo; OLMES names such as 'arc_challenge:rc::olmes' are also easy to mistake for their
    prefix.

    >>> known_names(["arc_chalenge"], ["arc_challenge:rc::olmes", "arc_easy:rc::olmes", "hellaswag:rc::olmes"])
    "['arc_challenge:rc::olmes', 'arc_easy:rc::olmes', 'hellaswag:rc::olmes'] (did you mean 'arc_challenge:rc::olmes'?)"
    """
    known = list(known)
    close: list[str] = []
    for w in wanted:
        w = str(w)
        close += [k for k in known if k.startswith(w) and k not in close][:3]
        close += [k for k in known if w.startswith(k + ":") and k not in close]  # 'a:x': a mistyped weight
        # the name without its namespace: 'travel' for Olmix's 's2pdfv1:travel', 'arxiv' for 'pile/arxiv'
        close += [k for k in known if k.endswith((":" + w, "/" + w)) and k not in close][:3]
        close += [k for k in difflib.get_close_matches(w, known, n=3, cutoff=0.6) if k not in close]
        # case and '-'/'_' ('Pile-CC' for 'pile_cc', the Pile's own spelling): difflib alone found nothing
        folded = {_fold(k): k for k in known}
        close += [folded[f] for f in difflib.get_close_matches(_fold(w), list(folded), n=3, cutoff=0.8)
                  if folded[f] not in close]
    shown = repr(known) if len(known) <= limit else f"{known[:limit]!r} ... and {len(known) - limit} more"
    return shown + (f" (did you mean {', '.join(map(repr, close[:5]))}?)" if close else "")


def case_hint(missing: Sequence[str], extra: Sequence[str]) -> str:
    """The end of a "domains differ" error when the names differ in case alone ('CC' in a table for the law's 'cc':
    a spreadsheet's capitalised header), else ''. Said before "give every domain a column", which would not help."""
    pairs = [(e, m) for m in missing for e in extra if e.lower() == m.lower()]
    if not pairs or len(pairs) < max(len(missing), len(extra)):
        return ""
    shown = ", ".join(f"{e!r} for {m!r}" for e, m in pairs[:3]) + (", ..." if len(pairs) > 3 else "")
    return f" (the names differ in case alone: {shown}; name the columns as the fitted table does)"
