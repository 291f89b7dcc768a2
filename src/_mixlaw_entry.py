"""The ``mixlaw`` console script: :func:`mixlaw.cli.main`, with Ctrl-C during start-up said in one line.

A module of its own, outside the ``mixlaw`` package: importing ``mixlaw.cli`` runs the package's ``__init__``
first (numpy, scipy, pandas, scikit-learn: seconds on a loaded machine), and a Ctrl-C in those seconds printed a
``KeyboardInterrupt`` traceback, since nothing of mixlaw's was there to catch it. This module imports nothing of
mixlaw's until :func:`main` runs, inside the ``try``. Once the command runs, the CLI's own handling applies
(typer turns Ctrl-C into "aborted", exit 130).
"""

from __future__ import annotations

import importlib
import sys

#: The exit status of a process ended by SIGINT, as shells report it (128 + 2).
INTERRUPTED = 130


def main(target: str = "mixlaw.cli:main") -> None:
    """Import ``target`` (``module:function``) and call it; a KeyboardInterrupt before or around it is one line,
    ``interrupted``, on stderr and exit status 130."""
    module, _, func = target.partition(":")
    try:
        entry = getattr(importlib.import_module(module), func)
        entry()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise SystemExit(INTERRUPTED) from None
