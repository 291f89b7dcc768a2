"""Rich consoles for the command lines, sized so that tables written to a file or a pipe stay whole, and the
plain progress lines long commands print off a terminal.

Off a terminal rich falls back to 80 columns and cuts table cells to "0.97…"; a user who saves a
leaderboard with ``> out.txt`` wants the numbers. A terminal (or an explicit ``COLUMNS``) keeps rich's own
sizing. Rich also draws a progress bar only once there, when the work ends, so long work (fits, bootstrap,
sweeps, training) prints :class:`PlainLines` instead.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import IO, Any

from rich.cells import cell_len
from rich.console import Console

#: Width used off a terminal: room for the widest leaderboard without cutting cells.
PIPE_WIDTH = 200
#: Off a terminal, a progress line on stderr at most this often (the first one only once work has run this long).
PLAIN_EVERY_S = 10.0


#: The exit code of a command stopped by Ctrl-C (SIGINT), 128 + 2 as a shell reports a process killed by it.
INTERRUPTED = 130


def exit_for_returned(code: Any, say: Callable[[str], None]) -> None:
    """SystemExit with the nonzero exit code a typer app run with ``standalone_mode=False`` returned, saying
    "interrupted" (through ``say``) for Ctrl-C's: typer then *returns* Ctrl-C's Exit(130), as any typer.Exit's code,
    instead of raising it, and every interrupted command, a sweep included, exited 0 and silently ('mixlaw sweep ...
    && mixlaw runs export ...' went on). The commands themselves return None: nothing else comes back."""
    if isinstance(code, int) and not isinstance(code, bool) and code:
        if code == INTERRUPTED:
            say("interrupted")
        raise SystemExit(code)


def console_width(stream: IO[str]) -> int | None:
    """None (rich decides) on a terminal or with COLUMNS set; :data:`PIPE_WIDTH` otherwise."""
    isatty = getattr(stream, "isatty", None)
    if os.environ.get("COLUMNS") or (isatty is not None and isatty()):
        return None
    return PIPE_WIDTH


def make_console(stderr: bool = False) -> Console:
    """A soft-wrapping console on stdout (or stderr) that never cuts table cells off a terminal.

    Emoji codes are off: names are data, and rich turned ``:free:`` in ``additive-ens:free:github.E`` (a
    parameter of the additive ensemble inside ``auto``) into an emoji."""
    return Console(stderr=stderr, soft_wrap=True, width=console_width(sys.stderr if stderr else sys.stdout),
                   emoji=False)


def repr_as_text(self: Any, p: Any, cycle: bool) -> None:
    """IPython's ``_repr_pretty_`` for a result whose ``str`` is its report: a notebook cell ending in
    ``law.report()``, ``law.cv_`` or ``optimize_mixture(...)`` shows the report, not the dataclass's repr (every
    field, parameter dicts and arrays on one line). ``repr()`` itself is unchanged."""
    p.text("..." if cycle else str(self))


def pad(text: str, width: int, align: str = "<") -> str:
    """``text`` padded with spaces to ``width`` terminal cells (never cut), on the right (``"<"``) or left (``">"``).

    ``f"{text:<{width}}"`` pads to ``width`` characters, but a CJK character or an emoji fills two cells: a domain
    named ``中文网页`` pushed every later column of its row four cells right. The text tables pad names here.

    >>> pad("中文", 6) + "|", pad("ab", 6, ">") + "|"
    ('中文  |', '    ab|')
    """
    if align not in ("<", ">"):
        raise ValueError(f"align must be '<' or '>'; got {align!r}")
    gap = " " * max(width - cell_len(text), 0)
    return text + gap if align == "<" else gap + text


def column_width(names: Any, at_least: int = 0) -> int:
    """The most terminal cells any of ``names`` fills (at least ``at_least``): the width of a name column."""
    return max([at_least, *map(cell_len, names)])


def _head_cells(text: str, width: int) -> str:
    """The longest start of ``text`` that fills at most ``width`` cells."""
    out, used = [], 0
    for ch in text:
        used += cell_len(ch)
        if used > width:
            break
        out.append(ch)
    return "".join(out)


def _tail_cells(text: str, width: int) -> str:
    """The longest end of ``text`` that fills at most ``width`` cells."""
    return _head_cells(text[::-1], width)[::-1]


def short_labels(names: list[str], width: int) -> list[str]:
    """Labels of at most ``width`` terminal cells for the columns or rows of a text table, distinct when the names
    are (a CJK character or an emoji fills two cells, so a label is cut by cells, not characters).

    A name that fits is kept. A longer one is cut to ``width - 1`` cells plus ``…``; where two cut names
    would read the same (Marin's ``dolma3_cc/art_and_design_high`` and ``..._low`` at 20 characters; Olmix's
    ``mt_mbpp_v2fix:bash`` and ``mt_mbpp_v2fix:c`` at 13), those keep their head and tail around a middle
    ``…`` instead, and if that still collides, a ``~k`` index. Table rows that printed the same label for two
    domains or evals were unreadable.

    >>> short_labels(["dolma3_cc/art_and_design_high", "dolma3_cc/art_and_design_low", "web"], 20)
    ['dolma3_cc…esign_high', 'dolma3_cc…design_low', 'web']
    """
    if width < 3:
        raise ValueError(f"width must be >= 3; got {width}")

    def cut(n: str) -> str:
        if cell_len(n) <= width:
            return n
        head = _head_cells(n, width - 1)
        # A namespace that many names share leaves the head nothing to tell them by: Olmix's 's2pdfv1:crime_law' and
        # 's2pdfv1:games' read 's2pdfv1:c…' and 's2pdfv1:g…' in a fit report's 10-cell columns. Such a name keeps its
        # end too ('s2pd…e_law').
        sep = max(head.rfind(":"), head.rfind("/"))
        if sep >= 0 and len(head) - sep - 1 < 3 and sum(m.startswith(head[:sep + 1]) for m in names) > 1:
            return middle(n)
        return head + "…"

    def middle(n: str) -> str:
        if cell_len(n) <= width:
            return n
        head = _head_cells(n, (width - 1) // 2)
        return head + "…" + _tail_cells(n, width - 1 - cell_len(head))

    out = [cut(n) for n in names]
    for step in (middle, None):
        seen: dict[str, int] = {}
        for s in out:
            seen[s] = seen.get(s, 0) + 1
        clash = [i for i, s in enumerate(out) if seen[s] > 1 and names.count(names[i]) < seen[s]]
        if not clash:
            break
        for i in clash:
            if step is not None:
                out[i] = step(names[i])
            else:
                tag = f"~{i}"
                out[i] = _head_cells(out[i], width - len(tag)) + tag
    return out


def label_column(names: list[str], narrowest: int = 20, widest: int = 40) -> tuple[int, dict[str, str]]:
    """Width in terminal cells of a text table's name column (the widest name, within [narrowest, widest]) and
    each name's label there (:func:`short_labels`: names that fit are kept, cut ones stay distinct); pad the
    labels with :func:`pad`."""
    width = min(column_width(names, narrowest), widest)
    return width, dict(zip(names, short_labels(list(names), width), strict=True))


def frame_text(frame: Any, **kw: Any) -> str:
    """``frame.to_string(**kw)`` with pandas measuring text in terminal cells (its East Asian width option), so
    that a column named ``pred:评测集`` or a run named ``中文网页`` does not push the columns after it (:func:`pad`)."""
    import pandas as pd

    with pd.option_context("display.unicode.east_asian_width", True):
        return str(frame.to_string(**kw))


def matrix_text(A: Any, rows: list[str], cols: list[str]) -> str:
    """A (rows x cols) matrix as text: column labels of 10 characters, row labels as wide as the longest name
    (13 to 40 cells, :func:`short_labels`), values in ``.3g`` (the interaction matrices of Ye's laws in a fit
    report); a label that needed a ``~k`` index to stay distinct is named in full on a last line."""
    # Rows as wide as their names: at 13 cells Olmix's 110 eval sets read 'basic_…:olm~2' ... 'mmlu_h…:ol~59', 54
    # rows a reader could not tell apart, and its 64 domains' columns 'stac…cr~53' (stack-edu:JavaScript).
    width = min(column_width(list(rows), 13), 40)
    col_labels, row_labels = short_labels(list(cols), 10), short_labels(list(rows), width)
    head = " " * (width + 1) + " ".join(pad(d, 10, ">") for d in col_labels)
    lines = [head] + [pad(t, width) + " " + " ".join(f"{v:>10.3g}" for v in A[i]) for i, t in enumerate(row_labels)]
    tagged = [f"{label} = {name!r}" for names, labels in ((rows, row_labels), (cols, col_labels))
              for i, (name, label) in enumerate(zip(names, labels, strict=True))
              if label != name and label.endswith(f"~{i}")]
    if tagged:
        lines.append("    (" + ", ".join(tagged) + ")")
    return "\n".join(lines)


class PlainLines:
    """Progress off a terminal (a batch job, a CI log, a pipe): ``mixlaw: <what> (<elapsed> s)`` lines on stderr,
    each caller printing one when :meth:`due` (:data:`PLAIN_EVERY_S`, read when the lines start, since the last
    one or the start), and :meth:`done` a last ``(done in N s)`` line only when any was printed: work shorter
    than the period prints nothing."""

    def __init__(self) -> None:
        self.every = PLAIN_EVERY_S
        self.t0 = time.perf_counter()
        self.last: float | None = None  # when the last line was printed; None: none yet

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def due(self) -> bool:
        return time.perf_counter() - (self.t0 if self.last is None else self.last) >= self.every

    def line(self, what: str, tail: str | None = None) -> None:
        """``mixlaw: <what> (<tail>)``, the tail by default the elapsed seconds."""
        print(f"mixlaw: {what} ({f'{self.elapsed:.0f} s' if tail is None else tail})", file=sys.stderr, flush=True)
        self.last = time.perf_counter()

    def done(self, what: str, extra: str = "") -> None:
        """``mixlaw: <what> (done in N s<extra>)`` when a line was printed before."""
        if self.last is not None:
            self.line(what, f"done in {self.elapsed:.0f} s{extra}")
