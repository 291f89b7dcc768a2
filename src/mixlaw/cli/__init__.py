"""The ``mixlaw`` command line: a thin typer layer over the public API.

This package holds the typer ``app``, the entry point :func:`main` and the registration of every command;
the commands live one group per module (:mod:`.laws`: demo/compare/fit/predict/laws; :mod:`.design`;
:mod:`.export`; :mod:`.optimize`: optimize/continual; :mod:`.report`; :mod:`.pipeline`; the trainer's
corpus/train/sweep/runs commands in :mod:`mixlaw.train.cli`), and what they share in :mod:`._common`.
Each command parses its arguments, calls one API function and renders the result (a rich table or text on
stdout, or one JSON document with ``--json``). :func:`main` maps :class:`~mixlaw.errors.InputError` to exit
code 2 and :class:`~mixlaw.errors.FitError` to exit code 1, printing ``error: <message>`` on stderr.
"""

from __future__ import annotations

import json
import sys

import click
import typer

from .. import __version__
from ..errors import FitError, InputError, MixlawError
from ..train.cli import register as register_train
from ._common import SCHEMA_VERSION, err
from .design import design_cmd
from .export import export_cmd
from .laws import compare, demo, fit, list_laws, predict
from .optimize import continual_cmd, optimize_cmd
from .pipeline import pipeline_cmd
from .report import report
from .runs import register as register_runs

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, rich_markup_mode=None,
                  help="Fit data mixing laws to proxy runs and choose the pretraining mixture.")

# Registration order is the order of `mixlaw --help`.
app.command()(demo)
app.command()(compare)
app.command()(fit)
app.command()(predict)
app.command("laws")(list_laws)
app.command("design")(design_cmd)
app.command("export")(export_cmd)
app.command("optimize")(optimize_cmd)
app.command("continual")(continual_cmd)
app.command()(report)
app.command("pipeline")(pipeline_cmd)
register_runs(register_train(app))


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
