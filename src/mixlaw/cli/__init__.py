"""The ``mixlaw`` command line: a thin typer layer over the public API.

This package holds the typer ``app``, the entry point :func:`main` and the registration of every command;
the commands live one group per module (:mod:`.laws`: demo/compare/fit/predict/laws; :mod:`.design`;
:mod:`.export`; :mod:`.optimize`: optimize/continual; :mod:`.report`; :mod:`.pipeline`; the trainer's
corpus/train/sweep/runs commands in :mod:`mixlaw.train.cli`), and what they share in :mod:`._common` (the progress
display in :mod:`._progress`, the run tables read from options in :mod:`._tables`).
Each command parses its arguments, calls one API function and renders the result (a rich table or text on
stdout, or one JSON document with ``--json``). :func:`main` maps :class:`~mixlaw.errors.InputError` to exit
code 2 and :class:`~mixlaw.errors.FitError` to exit code 1, printing ``error: <message>`` on stderr.
"""

from __future__ import annotations

import functools
import json
import math
import sys
from typing import Any

import typer

from .. import __version__
from .._console import exit_for_returned
from ..errors import FitError, InputError, MixlawError
from ..train.cli import register as register_train
from ._common import SCHEMA_VERSION, err
from ._progress import QUIET
from .design import design_cmd
from .export import export_cmd
from .laws import compare, demo, fit, list_laws, predict
from .optimize import continual_cmd, optimize_cmd
from .pipeline import pipeline_cmd
from .report import report
from .runs import register as register_runs

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, rich_markup_mode=None,
                  help="Fit data mixing laws to proxy runs and choose the pretraining mixture.")


@app.callback()
def _root(quiet: bool = typer.Option(False, "--quiet", "-q",
                                     help="No progress on stderr (bars on a terminal, periodic lines elsewhere); "
                                          "warnings and errors still print.")) -> None:
    QUIET["on"] = quiet


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


def _click_exceptions() -> tuple[type[Exception], type[Exception]]:
    """(UsageError, ClickException) of the click that typer actually runs.

    typer >= 0.29 ships its own copy of click (``typer._click``), so a separately installed ``click``'s classes
    never match what the parser raises; older typer uses the ``click`` package. ``typer.BadParameter`` derives
    from both classes of whichever click typer runs, in every version, so they are read off its MRO.
    """
    mro = typer.BadParameter.__mro__
    usage = next(c for c in mro if c.__name__ == "UsageError")
    click_exc = next(c for c in mro if c.__name__ == "ClickException")
    return usage, click_exc


_USAGE_ERROR, _CLICK_EXCEPTION = _click_exceptions()


def _number_kind(param: Any) -> type | None:
    """``int`` or ``float`` for a numeric option (typer >= 0.29 keeps the annotation in ``type_descriptor``;
    older typer sets a click ``type``), else None."""
    desc = getattr(param, "type_descriptor", None)
    kind = desc.annotation if desc is not None else {"float": float, "integer": int}.get(
        getattr(getattr(param, "type", None), "name", None))
    return kind if kind in (int, float) else None


def _checked(callback: Any, kind: type) -> Any:
    def check(ctx: Any, param: Any, value: Any) -> Any:
        if callback is not None:
            value = callback(ctx, param, value)
        for v in value if isinstance(value, (list, tuple)) else [value]:
            if v is None or isinstance(v, bool):
                continue
            if kind is float and not math.isfinite(v):
                raise typer.BadParameter(f"{v} is not a finite number", ctx=ctx, param=param)
            if kind is int and v < 0:
                raise typer.BadParameter(f"{v} is negative; counts, sizes and seeds are >= 0", ctx=ctx, param=param)
        return value

    return check


#: Control characters no command-line word may hold (C0 and DEL; a tab is allowed): NUL cannot be in a file name
#: or a C argv word at all (``open`` and ``os.stat`` raise ValueError), and the others only garble names, CSV
#: headers and terminals.
_CONTROL = {chr(c) for c in (*range(0x20), 0x7F)} - {"\t"}


def _check_control_characters(args: list[str]) -> None:
    """Refuse a word with a control character before any parsing, naming the option it belongs to."""
    for i, word in enumerate(args):
        bad = sorted({c for c in word if c in _CONTROL})
        if not bad:
            continue
        if word.startswith("-"):
            name = word.split("=", 1)[0]
        elif i and args[i - 1].startswith("-") and "=" not in args[i - 1]:
            name = args[i - 1]
        else:
            name = f"argument {word!r}"
        raise InputError(f"{name}: {word!r} holds the control character(s) {', '.join(repr(c) for c in bad)}; "
                         f"give plain text (file names, keys and names cannot hold them)")


def _check_repeated_options(args: list[str]) -> None:
    """Refuse an option that takes one value (not repeatable, not a flag) given more than once: click keeps the last
    value without a word ('pipeline --runs a.csv --runs b.csv' read b.csv alone and said "the data has 1 model size";
    hunt34b). Words after '--' are arguments."""
    end = args.index("--") if "--" in args else len(args)
    words, cmd, i = args[:end], _command(), 0
    while getattr(cmd, "commands", None):  # down the groups: root options (flags) before each command name
        while i < len(words) and words[i].startswith("-"):
            i += 1
        sub = cmd.commands.get(words[i]) if i < len(words) else None
        if sub is None:
            return
        cmd, i = sub, i + 1
    single = {name: p.name for p in getattr(cmd, "params", []) if getattr(p, "param_type_name", "") == "option"
              and not p.multiple and not p.is_flag and not getattr(p, "count", False)
              for name in (*p.opts, *p.secondary_opts)}
    seen: dict[str, list[str]] = {}  # parameter -> the spellings given ('-o', '--out')
    for word in words[i:]:
        name = word.split("=", 1)[0] if word.startswith("--") else word
        if name in single:
            seen.setdefault(single[name], []).append(name)
    twice = next((given for given in seen.values() if len(given) > 1), None)
    if twice:
        raise InputError(f"{twice[0]} is given {len(twice)} times; it takes one value: give it once")


def _guard_numbers(command: Any) -> Any:
    """Check every numeric option of every command before the command runs: a float must be finite (NaN slips
    past every range check; inf means nothing as a size, tolerance or target) and an int >= 0 (every int option
    is a count, size, index or seed). One rule here instead of a check in each command."""
    for param in getattr(command, "params", []):
        kind = _number_kind(param)
        if kind is not None:
            param.callback = _checked(param.callback, kind)
    for sub in getattr(command, "commands", {}).values():
        _guard_numbers(sub)
    return command


@functools.cache
def _command() -> Any:
    """The click command of ``app``, with :func:`_guard_numbers`' checks, built once per process: every command is
    registered when this package is imported, and building the tree from typer's signatures took 30-40 ms per
    :func:`main` call, what an in-process caller (a notebook, the test suite's ~1,200 command lines) paid each time.
    Click keeps no state of an invocation on the command (each call gets its own Context)."""
    return _guard_numbers(typer.main.get_command(app))


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return (and exit with) 0 on success, 2 on bad input, 1 when a fit fails."""
    args = _hoist_quiet(list(argv if argv is not None else sys.argv[1:]))
    as_json = "--json" in args
    try:
        _check_control_characters(args)
        _check_repeated_options(args)
        exit_for_returned(_command()(args=args, standalone_mode=False),
                          lambda msg: err.print(msg, highlight=False, markup=False))
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
    except _USAGE_ERROR as e:  # no such option/command, a missing or malformed value: one line, exit 2
        ctx = getattr(e, "ctx", None)
        if type(e).__name__ == "NoArgsIsHelpError":  # a bare `mixlaw` or `mixlaw runs`: show what to type
            sys.stderr.write(e.format_message().rstrip() + "\n\n")
            _report_error(InputError("no command given; pick one of the commands above"), as_json, 2)
            raise SystemExit(2) from None
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        _report_error(InputError(e.format_message() + hint), as_json, 2)
        raise SystemExit(2) from None
    except _CLICK_EXCEPTION as e:
        _report_error(InputError(e.format_message()), as_json, e.exit_code)
        raise SystemExit(e.exit_code) from None
    except OSError as e:
        # A file the commands did not anticipate (a folder, no permission, a full disk): still one line, exit 2.
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        _report_error(InputError(f"{where}{e.strerror or e}"), as_json, 2)
        raise SystemExit(2) from None
    raise SystemExit(0)


_GLOBAL_FLAGS = ("-q", "--quiet")


def _hoist_quiet(args: list[str]) -> list[str]:
    """Move ``-q``/``--quiet`` given after the command (``mixlaw pipeline ... -q``) to the front, where the root
    option is read: users put it at the end, as other tools allow, and got "No such option: -q". No command has
    an option of that name, and tokens after ``--`` are left alone."""
    end = args.index("--") if "--" in args else len(args)
    rest = [a for a in args[:end] if a not in _GLOBAL_FLAGS]
    return args if len(rest) == end else ["--quiet", *rest, *args[end:]]


def _report_error(e: Exception, as_json: bool, code: int) -> None:
    sys.stderr.write(f"error: {e}\n")
    if as_json:
        sys.stdout.write(json.dumps({"schema_version": SCHEMA_VERSION, "mixlaw_version": __version__,
                                     "error": {"type": type(e).__name__, "message": str(e), "exit_code": code}})
                         + "\n")
