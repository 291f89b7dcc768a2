"""Rich consoles for the command lines, sized so that tables written to a file or a pipe stay whole.

Off a terminal rich falls back to 80 columns and cuts table cells to "0.97…"; a user who saves a
leaderboard with ``> out.txt`` wants the numbers. A terminal (or an explicit ``COLUMNS``) keeps rich's own
sizing.
"""

from __future__ import annotations

import os
import sys
from typing import IO

from rich.console import Console

#: Width used off a terminal: room for the widest leaderboard without cutting cells.
PIPE_WIDTH = 200


def console_width(stream: IO[str]) -> int | None:
    """None (rich decides) on a terminal or with COLUMNS set; :data:`PIPE_WIDTH` otherwise."""
    isatty = getattr(stream, "isatty", None)
    if os.environ.get("COLUMNS") or (isatty is not None and isatty()):
        return None
    return PIPE_WIDTH


def make_console(stderr: bool = False) -> Console:
    """A soft-wrapping console on stdout (or stderr) that never cuts table cells off a terminal."""
    return Console(stderr=stderr, soft_wrap=True, width=console_width(sys.stderr if stderr else sys.stdout))
