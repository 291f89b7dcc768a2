"""Ye et al.'s training logs read as a run table ("Data Mixing Laws", ICLR 2025; their repository
github.com/yegcjs/mixinglaws publishes them as ``data/<set>/<size>.txt``).

Each line is one checkpoint's loss on one validation set, three tab-separated fields::

    <checkpoint dir>/<size>_<seed>-<share>-...-<share>/<step>   <dir>/pythia-pile.valid.<Eval>.bin   <loss>

A tag may stand between size and seed (RedPajama's ``160M_RP_0-0.125-...``, 2Mix's ``70M_base2_1-0.25-0.75``);
3Mix's 410M runs have no size (``30-0.75-0.0-0.25``): the file's name gives it (``410M.txt``). The format is
recognised by a file's content (:func:`is_ye_log`), not its name; blank and comment lines ('# ...') are skipped.
One run per (size, seed, mixture), named by its checkpoint folder (prefixed with the size where the folder lacks
one); ``params`` is the size as written (70M ->
7e7: Ye's own fits use non-embedding counts, ``pipeline/utils.py``'s ``MODEL_SIZES``); ``step`` the checkpoint's;
one ``loss:<Eval>`` column per validation file (``pythia-pile.valid.Github.bin`` -> ``Github``). A checkpoint that
misses an eval keeps the others (NaN there: a fit of an eval uses the rows that have it; ``drop_incomplete``
leaves such rows out).

The files give the shares only, in the run name's order. Their domains are named ``d0, d1, ...`` unless
``domains`` names them, or the checkpoint folder above the runs does so with one name per share (3Mix's
``Github-Books3-PileCC``). Identical lines given twice (RedPajama's 1B file repeats 815) count once; two different
losses for one (run, step, eval) are an error naming both lines, as is any line not of this form. Checkpoints
named ``last`` (27 lines of 3Mix's) have no step and are left out with a warning; in 24 of those 27 the loss is the
run's last numbered step's.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..data import LOSS_PREFIX, WEIGHT_PREFIX, WEIGHT_TOL, RunTable, scaled_number
from ..errors import DataError, DataWarning, InputError, user_stacklevel
from .columns import _drop_incomplete, _select_evals

#: A model size as Ye's run names write it (Pythia's: 70M, 160M, 1B, 2.8B).
_SIZE = re.compile(r"^[0-9]+(?:\.[0-9]+)?[KMBT]$", re.IGNORECASE)
_FORM = ("'<checkpoint dir>/<size>_<seed>-<share>-...-<share>/<step>', a tab, '<eval file>.bin', a tab, '<loss>' "
         "(Ye et al.'s data/<set>/<size>.txt)")
#: A mixture list (Ye's ``proportions.txt``): every line shares joined by '-'.
_MIXTURE_LINE = re.compile(r"^[0-9.]+(?:-[0-9.]+)+$")
#: The longest line the sniff reads: Ye's lines run to ~150 characters (a checkpoint path, an eval file, a loss); a
#: longer one (a minified JSON document, a file with no line breaks) decides that the file is not a log, unread beyond.
_MAX_LINE = 1 << 16


def _is_comment(line: str) -> bool:
    """A comment line ('# ...', a note above the log): skipped by the sniff and the parser alike."""
    return line.lstrip("\ufeff \t").startswith("#")


def _text_lines(path: Path) -> Iterator[str]:
    """A file's lines that are neither blank nor comments, read one at a time, so a caller that stops at the first
    line deciding what the file is reads no more of it: none if it is not text (a NUL byte: a checkpoint, Ye's
    ``mix5mlp.pt``), and a line longer than :data:`_MAX_LINE` is the last (cut there).

    The sniff read the first 8 KB: a continual-pretraining log whose base models' lines (or blank lines) filled
    them was not taken as a log."""
    try:
        with open(path, "rb") as f:
            while raw := f.readline(_MAX_LINE + 1):
                if b"\0" in raw:
                    return
                # Split as the parser splits (str.splitlines): a file whose lines end in '\r' is read by readline
                # as one line.
                for line in raw[:_MAX_LINE].decode("utf-8", errors="replace").splitlines():
                    if line.strip() and not _is_comment(line):
                        yield line
                if len(raw) > _MAX_LINE:
                    return
    except OSError:
        return


def _first_line(path: Path) -> str | None:
    """The first line of a file that is neither blank nor a comment, or None (no such line, not text)."""
    return next(_text_lines(path), None)


def _looks_like_line(line: str, *, base: bool = False) -> bool:
    """Whether ``line`` is a checkpoint's line (or, with ``base``, a base model's: no '/<step>' at its end)."""
    fields = line.rstrip("\r\n").split("\t")
    if len(fields) != 3 or not fields[1].strip().endswith(".bin"):
        return False
    if re.fullmatch(r".*/[0-9]+/*", fields[0].strip()) is None and not (base and _is_base(fields[0])):
        return False
    try:
        float(fields[2])
    except ValueError:
        return False
    return True


def _is_base(ckpt: str) -> bool:
    """A checkpoint path that names a model, not a run's step: Ye's continual-pretraining log starts with the base
    model's losses (``model_configs//pythia_70m_step20000``), which has no mixture and no step of the runs."""
    parts = [x for x in ckpt.strip().split("/") if x]
    if not parts or parts[-1].isdigit() or parts[-1] == "last":
        return False
    # a run's folder with a bad step ('70M_1-0.5-0.5/10k') is a malformed line, not a model
    return not any(len(x.split("_")[-1].split("-")) >= 3 for x in parts[-2:])


def is_ye_log(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is one of Ye et al.'s training logs, by its first run's line (three tab-separated fields: a
    checkpoint path ending in ``/<step>``, an eval file ending in ``.bin``, a number), past any blank, comment
    ('# ...') and base-model lines; the file is read up to the first other line, however far down it is.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> _ = p.write_text("ckpts/x//70M_1-0.5-0.5/1000\\tdata/pythia-pile.valid.Github.bin\\t2.5\\n")
    >>> is_ye_log(p), is_ye_log(p.parent)
    (True, False)
    """
    p = Path(path)
    if not p.is_file():
        return False
    # A base model's lines may come first (the continual-pretraining log): a run's line must follow them. The first
    # other line decides, and the file is read no further.
    first = next((x for x in _text_lines(p) if not _looks_like_line(x, base=True) or _looks_like_line(x)), None)
    return first is not None and _looks_like_line(first)


def ye_logs_given(sources: Sequence[str | os.PathLike[str]]) -> bool:
    """Whether ``runs import SOURCE...`` names Ye et al.'s logs: several sources, a folder, or a file whose
    content is one (:func:`is_ye_log`). A single other file is a table (or a pair ``a.csv+b.csv``)."""
    return len(sources) > 1 or (len(sources) == 1 and (Path(sources[0]).is_dir() or is_ye_log(sources[0])))


def _is_mixture_list(path: Path) -> bool:
    """Ye's ``proportions.txt``: the set's mixtures, one per line (shares joined by '-'), not a log."""
    if not path.is_file() or path.stat().st_size > 1 << 20 or _first_line(path) is None:
        return False
    try:
        lines = [x.strip() for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    except (OSError, UnicodeDecodeError):
        return False
    return all(_MIXTURE_LINE.match(x) for x in lines)


def _log_files(sources: Sequence[str | os.PathLike[str]], stacklevel: int = 3) -> list[Path]:
    """The log files among ``sources`` (files, or folders: their files, not their subfolders), in the order given
    (a folder's sorted). A file that is not a log stops the import, except Ye's mixture list (``proportions.txt``,
    which a ``*.txt`` pattern names too) and, in a folder, any other file: those are left out with one warning."""
    if not sources:
        raise InputError("runs import: name the log files (or their folder)")
    files: list[Path] = []
    skipped: list[str] = []
    for s in sources:
        p = Path(s)
        if p.is_dir():
            inside = sorted(f for f in p.iterdir() if f.is_file())
            logs = [f for f in inside if is_ye_log(f)]
            if not logs:
                raise DataError("no file in this folder is one of Ye et al.'s training logs (lines "
                                f"{_FORM}); files: {', '.join(f.name for f in inside) or 'none'}", path=str(p))
            files += logs
            skipped += [str(f) for f in inside if f not in logs]
        elif not p.is_file():
            raise InputError(f"{p}: no such file or folder")
        elif is_ye_log(p):
            files.append(p)
        elif _is_mixture_list(p):
            skipped.append(str(p))
        else:
            first = _first_line(p)
            seen = "no text line" if first is None else f"its first line: {first[:120]!r}"
            raise DataError(f"not one of Ye et al.'s training logs, which runs import reads several files or a "
                            f"folder as ({seen}); each line of a log is {_FORM}; a table (CSV, .xlsx, Parquet, JSON, "
                            "JSONL) is imported on its own"
                            # Olmix's ratios.csv metrics.csv given as two arguments read as two logs.
                            + ("; a pair of tables is one argument joined by '+' (Olmix's RATIOS.csv+METRICS.csv, "
                               "RegMix's MIXTURE.csv+LOSS.csv)" if len(sources) == 2 else ""), path=str(p))
    if not files:
        raise DataError(f"none of these files is a training log (lines {_FORM}); Ye's proportions.txt lists the "
                        "mixtures, which the logs' run names give", path=", ".join(skipped))
    if skipped:
        warnings.warn(f"left out {len(skipped)} file(s) that are not training logs: {', '.join(skipped)} (Ye's "
                      "proportions.txt lists the mixtures, which the logs' run names give)", DataWarning,
                      stacklevel=user_stacklevel(stacklevel))
    out: list[Path] = []
    for f in files:  # a file named twice (a folder and one of its files) is read once
        if f.resolve() not in {g.resolve() for g in out}:
            out.append(f)
    return out


def _eval_name(evalfile: str) -> str:
    """``.../pythia-pile.valid.Github.bin`` -> ``Github``; ``starcoder.python.valid.bin`` -> ``starcoder.python``."""
    parts = evalfile.rstrip("/").rsplit("/", 1)[-1].removesuffix(".bin").split(".")
    if "valid" in parts:
        i = len(parts) - 1 - parts[::-1].index("valid")
        parts = parts[i + 1:] or parts[:i]
    return ".".join(parts)


class _Run:
    """What one run name gives: id, size, shares, and the checkpoint folder above it (which may name domains)."""

    __slots__ = ("run", "params", "shares", "parent")

    def __init__(self, run: str, params: float, shares: list[float], parent: str) -> None:
        self.run, self.params, self.shares, self.parent = run, params, shares, parent


def _parse_run(run_dir: str, path: Path, line: int) -> _Run:
    parts = [x for x in run_dir.split("/") if x]
    if not parts:
        raise DataError(f"no run folder in the checkpoint path; expected {_FORM}", path=str(path), row=line)
    name, parent = parts[-1], (parts[-2] if len(parts) > 1 else "")
    tokens = name.split("_")
    numbers = tokens[-1].split("-")
    if len(numbers) < 3 or not numbers[0].isdigit():
        raise DataError(f"run {name!r}: expected '<size>_<seed>-<share>-...-<share>' (a seed, then 2 or more "
                        f"shares joined by '-'); expected lines {_FORM}", path=str(path), row=line)
    try:
        shares = [float(x) for x in numbers[1:]]
    except ValueError:
        raise DataError(f"run {name!r}: the shares after the seed ({'-'.join(numbers[1:])}) are not numbers",
                        path=str(path), row=line) from None
    size = tokens[0] if len(tokens) > 1 and _SIZE.match(tokens[0]) else None
    run = name
    if size is None:
        if not _SIZE.match(path.stem):
            raise DataError(f"run {name!r} has no model size (as in '160M_<seed>-...'), nor does the file's name "
                            "(as in 410M.txt): name the file by its runs' size", path=str(path), row=line)
        size, run = path.stem, f"{path.stem}_{name}"
    params = scaled_number(size[:-1] + size[-1].upper())
    assert params is not None  # _SIZE matched
    return _Run(run, params, shares, parent)


def _domain_names(k: int, parents: set[str], domains: Sequence[str] | None, first: tuple[Path, int]) -> list[str]:
    if domains is not None:
        names = [str(d).strip().removeprefix(WEIGHT_PREFIX) for d in domains]
        if len(names) != k:
            raise DataError(f"--domains names {len(names)} domain(s) ({', '.join(names)}); the runs have {k} shares "
                            "each: name one domain per share, in the run names' order", path=str(first[0]),
                            row=first[1])
        return names
    if len(parents) == 1:
        named = next(iter(parents)).split("-")
        if len(named) == k and all(n and scaled_number(n) is None for n in named):
            return named  # the checkpoint folder names one domain per share (3Mix's Github-Books3-PileCC)
    return [f"d{j}" for j in range(k)]


@dataclass
class _Parsed:
    """The lines of a set of logs: runs, (run, step) -> eval -> (loss, file, line), where each (run, step) was first
    seen, the share count and its first line, the 'last' checkpoints' lines, and base models' losses (eval -> loss)
    with each one's first line."""

    runs: dict[str, _Run]
    cells: dict[tuple[str, int], dict[str, tuple[float, Path, int]]]
    origin: dict[tuple[str, int], tuple[Path, int]]
    k: int | None
    k_at: tuple[Path, int]
    lasts: list[tuple[Path, int]]
    base: dict[str, dict[str, float]]
    base_at: dict[str, tuple[Path, int]]


def _check_repeat(who: str, ev: str, seen: tuple[float, Path, int] | None, loss: float, path: Path, i: int) -> None:
    """Stop at a second, different loss for one eval of one checkpoint (``seen``: the first one, its file and line);
    the same loss twice (a log appended to twice) is one."""
    if seen is None or seen[0] == loss or (np.isnan(loss) and np.isnan(seen[0])):
        return
    was, wpath, wline = seen
    at = f"line {wline}" + ("" if wpath == path else f" of {wpath}")
    raise DataError(f"two losses for {who}, eval {ev!r}: {was!r} on {at}, {loss!r} here", path=str(path), row=i)


def _parse_logs(files: list[Path]) -> _Parsed:
    """Every line of ``files``, checked (see the module's text for the form)."""
    runs: dict[str, _Run] = {}
    cells: dict[tuple[str, int], dict[str, tuple[float, Path, int]]] = {}
    origin: dict[tuple[str, int], tuple[Path, int]] = {}
    k: int | None = None
    k_at: tuple[Path, int] = (files[0], 1)
    lasts: list[tuple[Path, int]] = []
    base_at: dict[str, tuple[Path, int]] = {}
    # (base model, eval) -> (loss, file, line): a continual-pretraining log's first lines
    base_cells: dict[tuple[str, str], tuple[float, Path, int]] = {}
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as e:
            raise DataError(f"not UTF-8 text ({e.reason} at byte {e.start})", path=str(path)) from None
        for i, raw in enumerate(text.splitlines(), 1):
            if not raw.strip() or _is_comment(raw):
                continue
            fields = raw.rstrip("\r\n").split("\t")
            if len(fields) != 3:
                raise DataError(f"{len(fields)} tab-separated field(s); expected 3: {_FORM}", path=str(path), row=i)
            ckpt, evalfile, loss_text = (x.strip() for x in fields)
            run_dir, _, step_text = ckpt.rstrip("/").rpartition("/")
            if step_text == "last":  # 3Mix's end-of-run checkpoints: no step to put them at
                lasts.append((path, i))
                continue
            if not step_text.isdigit() and _is_base(ckpt) and evalfile.endswith(".bin") and _eval_name(evalfile):
                try:
                    loss = float(loss_text)
                except ValueError:
                    raise DataError(f"the loss {loss_text[:40]!r} is not a number; expected {_FORM}",
                                    path=str(path), row=i) from None
                # A base model's eval given twice with two losses is refused as a run's is (the first was kept,
                # the other dropped without a word).
                ev = _eval_name(evalfile)
                _check_repeat(f"the base model {step_text!r}", ev, base_cells.get((step_text, ev)), loss, path, i)
                base_cells.setdefault((step_text, ev), (loss, path, i))
                base_at.setdefault(step_text, (path, i))
                continue
            if not step_text.isdigit():
                raise DataError(f"the checkpoint path {ckpt[-80:]!r} does not end in '/<step>'; expected {_FORM}",
                                path=str(path), row=i)
            if not evalfile.endswith(".bin") or not _eval_name(evalfile):
                raise DataError(f"the eval file {evalfile[-80:]!r} is not '<name>.bin'; expected {_FORM}",
                                path=str(path), row=i)
            try:
                loss = float(loss_text)
            except ValueError:
                raise DataError(f"the loss {loss_text[:40]!r} is not a number; expected {_FORM}", path=str(path),
                                row=i) from None
            run = _parse_run(run_dir, path, i)
            if k is None:
                k, k_at = len(run.shares), (path, i)
            elif len(run.shares) != k:
                raise DataError(f"run {run.run!r} has {len(run.shares)} shares, the runs before it {k} (first on "
                                f"line {k_at[1]} of {k_at[0]}): import one set's logs at a time", path=str(path),
                                row=i)
            runs.setdefault(run.run, run)
            key, ev = (run.run, int(step_text)), _eval_name(evalfile)
            origin.setdefault(key, (path, i))
            cell = cells.setdefault(key, {})
            _check_repeat(f"run {run.run!r}, step {key[1]}", ev, cell.get(ev), loss, path, i)
            cell.setdefault(ev, (loss, path, i))
    base: dict[str, dict[str, float]] = {}  # base model -> eval -> loss, in the order first seen
    for (model, ev), (loss, _, _) in base_cells.items():
        base.setdefault(model, {})[ev] = loss
    return _Parsed(runs, cells, origin, k, k_at, lasts, base, base_at)


def read_ye_logs(sources: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], *,
                 domains: Sequence[str] | None = None, weight_tol: float = WEIGHT_TOL,
                 drop_incomplete: bool = False, evals: Sequence[str] | None = None,
                 keep_base: bool = False) -> RunTable:
    """Ye et al.'s training logs (one or more files, or a folder of them) as a run table; see the module's text.

    Parameters
    ----------
    sources : path or sequence of paths
        Log files, or folders (their log files; other files there, and Ye's ``proportions.txt`` among the files,
        are left out with a warning).
    domains : sequence of str, optional
        The domains' names in the order of the run names' shares (default ``d0, d1, ...``, or the checkpoint
        folder's names when it gives one per share).
    weight_tol, drop_incomplete, evals
        As for :func:`~mixlaw.importers.read_runs_mapped`. RedPajama's run ``*_RP_999-...`` writes shares that
        sum to 1.02: it needs ``weight_tol=0.02`` (its shares are then divided by their sum).
    keep_base : bool, default=False
        Only silences the warning that a base model's lines were left out: a run table's rows all have a mixture.
        :func:`read_ye_logs_with_base` gives the table and the base models' rows from one parse of the logs.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> rows = [f"ck/Pile//70M_{i}-{a}-{1 - a}/{s}\\tv/pythia-pile.valid.{e}.bin\\t{2 + a + 1000 / s}"
    ...         for i, a in enumerate((0.25, 0.75)) for s in (1000, 2000) for e in ("Github", "ArXiv")]
    >>> _ = (d / "70M.txt").write_text("\\n".join(rows) + "\\n")
    >>> t = read_ye_logs(d, domains=["github", "pile_cc"])
    >>> t.frame[["run", "params", "step", "w:github", "loss:Github"]]
                   run      params    step  w:github  loss:Github
    0  70M_0-0.25-0.75  70000000.0  1000.0      0.25         3.25
    1  70M_0-0.25-0.75  70000000.0  2000.0      0.25         2.75
    2  70M_1-0.75-0.25  70000000.0  1000.0      0.75         3.75
    3  70M_1-0.75-0.25  70000000.0  2000.0      0.75         3.25
    """
    table, _ = _read_logs(sources, domains=domains, weight_tol=weight_tol, drop_incomplete=drop_incomplete,
                          evals=evals, keep_base=keep_base)
    return table


def read_ye_logs_with_base(sources: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], *,
                           domains: Sequence[str] | None = None, weight_tol: float = WEIGHT_TOL,
                           drop_incomplete: bool = False,
                           evals: Sequence[str] | None = None) -> tuple[RunTable, pd.DataFrame]:
    """:func:`read_ye_logs` and :func:`read_ye_base` (its ``evals`` the table's) from one parse of the logs:
    ``runs import --keep-base`` read each file twice, once for the runs and once for the base model.

    Parameters
    ----------
    sources, domains, weight_tol, drop_incomplete, evals
        As for :func:`read_ye_logs`.

    Returns
    -------
    table : RunTable
        As :func:`read_ye_logs` with ``keep_base=True`` (no warning of the base model's lines).
    base : pandas.DataFrame
        As :func:`read_ye_base`: one row per base model, ``run`` and the table's ``loss:<Eval>`` columns; no rows
        when the logs have no base model.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> base = [f"cfg//pythia_70m_step20000\\tv/pythia-pile.valid.{e}.bin\\t{v}" for e, v in (("Github", 1.5),
    ...                                                                                   ("ArXiv", 2.5))]
    >>> runs = [f"ck/ct//70M_ct_{i}-{a}-{1 - a}/1000\\tv/pythia-pile.valid.{e}.bin\\t{2 + a}"
    ...         for i, a in enumerate((0.25, 0.75)) for e in ("Github", "ArXiv")]
    >>> _ = (d / "70M.txt").write_text("\\n".join(base + runs) + "\\n")
    >>> table, base = read_ye_logs_with_base(d / "70M.txt", domains=["pile", "python"], evals=["Github"])
    >>> len(table), table.evals
    (2, ['Github'])
    >>> base.to_dict("records")
    [{'run': 'pythia_70m_step20000', 'loss:Github': 1.5}]
    """
    table, parsed = _read_logs(sources, domains=domains, weight_tol=weight_tol, drop_incomplete=drop_incomplete,
                               evals=evals, keep_base=True)
    return table, _base_frame(parsed, table.evals)


def _read_logs(sources: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], *,
               domains: Sequence[str] | None, weight_tol: float, drop_incomplete: bool,
               evals: Sequence[str] | None, keep_base: bool) -> tuple[RunTable, _Parsed]:
    """:func:`read_ye_logs`'s table and the parse it came from (whose base models :func:`_base_frame` writes)."""
    given = [sources] if isinstance(sources, (str, os.PathLike)) else list(sources)
    files = _log_files(given, stacklevel=4)
    where = " ".join(str(s) for s in given)
    parsed = _parse_logs(files)
    runs, cells, origin, k, k_at, lasts = (parsed.runs, parsed.cells, parsed.origin, parsed.k, parsed.k_at,
                                           parsed.lasts)
    if k is None:
        raise DataError(f"no line of a checkpoint with a step; expected {_FORM}", path=where)
    if lasts:
        warnings.warn(f"left out {len(lasts)} line(s) of checkpoints named 'last' (first: {lasts[0][0]}:"
                      f"{lasts[0][1]}): no step to put them at; most repeat the run's last numbered step",
                      DataWarning, stacklevel=user_stacklevel(3))
    if parsed.base and not keep_base:
        model, (bpath, bline) = next(iter(parsed.base_at.items()))
        warnings.warn(f"left out the base model {model!r} ({sum(map(len, parsed.base.values()))} line(s), first "
                      f"{bpath}:{bline}): a model with no mixture and no step, the one continual pretraining started "
                      "from; --keep-base (read_ye_base) writes it as a row with no mixture, which mixlaw continual "
                      "reads as the loss before continual pretraining", DataWarning, stacklevel=user_stacklevel(3))
    names = _domain_names(k, {r.parent for r in runs.values()}, domains, k_at)
    eval_names = sorted({ev for cell in cells.values() for ev in cell})
    keys = sorted(cells, key=lambda rk: (runs[rk[0]].params, rk[0], rk[1]))
    frame = pd.DataFrame({
        "run": [r for r, _ in keys],
        "params": [runs[r].params for r, _ in keys],
        "step": np.array([s for _, s in keys], dtype=np.float64),
        **{WEIGHT_PREFIX + n: [runs[r].shares[j] for r, _ in keys] for j, n in enumerate(names)},
        **{LOSS_PREFIX + e: [cells[key][e][0] if e in cells[key] else np.nan for key in keys] for e in eval_names},
    })
    lines = np.arange(len(frame)) + 1  # row numbers here; errors below name each row's file and line
    frame = _select_evals(frame, evals, where)
    if drop_incomplete:
        frame, lines = _drop_incomplete(frame, lines, where)
    kept = [keys[n - 1] for n in lines]
    try:
        return RunTable(frame, path=where, weight_tol=weight_tol, lines=np.arange(len(frame)) + 1), parsed
    except DataError as e:
        if e.row is None or not 1 <= e.row <= len(frame):
            raise
        row: Any = frame.iloc[e.row - 1]
        key = kept[e.row - 1]
        path, line = origin[key]  # the run's first line at that step; a loss's error names the loss's own line
        hit = cells[key].get((e.column or "").removeprefix(LOSS_PREFIX))
        if hit is not None and (e.column or "").startswith(LOSS_PREFIX):
            path, line = hit[1], hit[2]
        raise DataError(f"run {row['run']!r}, step {row['step']:g}: {e.detail}", path=str(path), row=line,
                        column=e.column) from None


def read_ye_base(sources: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], *,
                 evals: Sequence[str] | None = None) -> pd.DataFrame:
    """The base models' lines of Ye et al.'s logs as rows with no mixture: ``run`` (the model's name, e.g.
    ``pythia_70m_step20000``) and one ``loss:<Eval>`` column per validation file (``evals``: those only).

    Ye et al.'s continual-pretraining log (``data/ct/70M.txt``, §5) starts with the losses of the model before
    continual pretraining, a checkpoint path that names a model rather than a run's step. Written beside the runs
    (``runs import --keep-base``), such a row is what :func:`mixlaw.continual.read_continual_runs` takes as the loss
    before continual pretraining. Empty (no rows) when the logs have no base model.
    """
    given = [sources] if isinstance(sources, (str, os.PathLike)) else list(sources)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # files left out: read_ye_logs names them
        files = _log_files(given)
    return _base_frame(_parse_logs(files), evals)


def _base_frame(parsed: _Parsed, evals: Sequence[str] | None) -> pd.DataFrame:
    """The base models of a parse as :func:`read_ye_base` gives them (``evals``: those losses only)."""
    names = sorted({ev for cells in parsed.base.values() for ev in cells})
    if evals is not None:
        names = [e for e in names if e in set(evals)]
    return pd.DataFrame({"run": list(parsed.base),
                         **{LOSS_PREFIX + e: [parsed.base[m].get(e, np.nan) for m in parsed.base] for e in names}})
