"""Fuzz every subcommand's options with a table of bad values per option type: each case must end in exit code 2
and exactly one ``error:`` line on stderr, never a traceback.

The commands and their options are read from the typer app itself, so a new option is fuzzed without touching
this file (an option of an unknown kind fails the coverage test until it is given a kind here). Each case starts
from a small valid command line (fast laws, tiny files) and replaces one option's value; it runs in-process
through :func:`mixlaw.cli.main`, so the whole table takes about a minute on 2 cores.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import typer

from mixlaw.cli import _number_kind, app, main

INT_BAD = ["abc", "1.5", "-1"]
FLOAT_BAD = ["abc", "nan", "inf"]
FILE_BAD = ["missing", "folder", "empty", "binary", "garbage", "nul"]
# NUL cannot be in a file name or a C argv word (in-process callers and `xargs -0` mistakes can still pass one);
# the other control characters (escape sequences, bell, newline) garble names, CSV headers and terminals.
TEXT_BAD = ["<nope>", "", "a\x00b", "\x1b[2J\x07\n"]
OUT_BAD = ["folder", "nul"]  # an existing folder where a file goes (special files: tests/hostile/)
OUT_DIR_BAD = ["file", "nul"]  # an existing file where a folder goes

# Options naming a file mixlaw reads, an output file, an output folder. Everything else that is not a number is
# free text (law keys, formats, objectives, names, specs), fuzzed with TEXT_BAD.
FILE_OPTS = {"--runs", "--test", "--mixtures", "--design", "--tokens-available", "--paths", "--corpus", "db",
             "--pipeline", "source", "sources"}
OUT_OPTS = {"--out", "out", "--save", "--report"}
OUT_DIR_COMMANDS = {("train",), ("corpus", "build"), ("demo",)}  # their --out is a folder

# Cases that are not errors, with the reason. Each is a value the command accepts by design.
ACCEPTED = {
    (("train",), "--store", "<nope>"): "any new file name is a valid new run store",
    (("sweep",), "--store", "<nope>"): "any new file name is a valid new run store",
}

SKIP_COMMANDS = {("runs", "import-wandb"): "needs W&B credentials and the network",
                 ("runs", "import-tensorboard"): "needs event files; its readers are tested in test_importers"}


def _commands() -> list[tuple[tuple[str, ...], Any]]:
    out = []

    def walk(cmd: Any, path: tuple[str, ...]) -> None:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, (*path, name))
        else:
            out.append((path, cmd))

    walk(typer.main.get_command(app), ())
    return out


def _kind(path: tuple[str, ...], param: Any) -> str:
    name = param.opts[0] if param.opts else param.name
    number = _number_kind(param)
    if number is int:
        return "int"
    if number is float:
        return "float"
    if name in OUT_OPTS:
        return "outdir" if path in OUT_DIR_COMMANDS else "out"
    if name in FILE_OPTS or (path == ("predict",) and name == "--law") or (path == ("export",) and
                                                                          name == "--mixture"):
        return "file"
    return "text"


BAD = {"int": INT_BAD, "float": FLOAT_BAD, "file": FILE_BAD, "text": TEXT_BAD, "out": OUT_BAD,
       "outdir": OUT_DIR_BAD}


def _fuzzed_options() -> list[tuple[tuple[str, ...], str, Any]]:
    """(command path, option name, click parameter) of every option that takes a value, skipped commands aside."""
    out = []
    for path, cmd in _commands():
        if path in SKIP_COMMANDS or path == ("laws",):
            continue
        for param in cmd.params:
            if getattr(param, "is_flag", False) or param.name == "help":
                continue
            out.append((path, param.opts[0] if param.opts else param.name, param))
    return out


def _cases() -> list[tuple[tuple[str, ...], str, str]]:
    return [(path, name, value) for path, name, param in _fuzzed_options()
            for value in BAD[_kind(path, param)] if (path, name, value) not in ACCEPTED]


CASES = _cases()


# ---------------------------------------------------------------------- fixtures: small valid inputs
def _runs(path: Path, n: int, seed: int, domains: tuple[str, ...] = ("a", "b", "c"), scale: bool = False) -> Path:
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.ones(len(domains)), size=n)
    head = ["run", *(f"w:{d}" for d in domains), "loss:a", "loss:b"] + (["params", "step"] if scale else [])
    rows = [",".join(head)]
    for i, w in enumerate(W):
        grid = [(n_par, step) for n_par in (1e6, 2e6, 4e6) for step in (100, 200, 400)]
        for n_par, step in (grid if scale else [(0, 0)]):
            extra = 1.0 / np.log(n_par * step) if scale else 0.0
            la, lb = 2.0 + np.exp(w[0] - w[-1]) + extra, 2.5 + np.exp(w[1] - w[0]) + extra
            row = [f"r{i}", *(f"{x:.17g}" for x in w), f"{la:.17g}", f"{lb:.17g}"]
            rows.append(",".join(row + ([str(int(n_par)), str(step)] if scale else [])))
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    d = tmp_path_factory.mktemp("fuzz")
    runs = _runs(d / "runs.csv", 24, 0)
    test = _runs(d / "test.csv", 10, 1)
    two = _runs(d / "two.csv", 24, 2, domains=("a", "b"))
    scale = _runs(d / "scale.csv", 12, 3, scale=True)
    assert main_ok(["fit", "--runs", str(runs), "--law", "linear", "--out", str(d / "law.json")])
    (d / "folder").mkdir()
    (d / "empty").write_text("")
    (d / "binary").write_bytes(bytes(range(256)) * 4)
    (d / "garbage").write_text("{not: [json,, nor csv\x01\n\"\n")
    (d / "file").write_text("a regular file\n")
    (d / "design.csv").write_text("w:math,w:docs\n0.5,0.5\n")
    (d / "text.txt").write_text("some user text for a corpus domain. " * 100)
    (d / "paths.json").write_text('{"a": "/data/a", "b": "/data/b"}')
    corpus = None
    try:
        from mixlaw.train.corpus import build_corpus

        corpus = d / "corpus"
        build_corpus(corpus, domains=["math", "docs"], max_bytes=10_000, seed=0)
        from mixlaw.store import RunStore

        with RunStore(d / "runs.db") as db:
            db.begin_run("r1", {"mixture": {"a": 1.0, "b": 0.0}}, ["a", "b"], 10)
            db.record_checkpoint("r1", 10, 100, {"a": 1.0, "b": 2.0}, 3.0)
            db.finish_run("r1", 1.0)
    except ImportError:
        pass
    return {"dir": d, "runs": runs, "test": test, "two": two, "scale": scale, "corpus": corpus}


def main_ok(argv: list[str]) -> bool:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return exc.value.code in (0, None)


TINY_TRAIN = ["--size", "0.01M", "--tokens", "1k", "--eval-every", "2", "--block_size=32", "--batch_size=8",
              "--eval_tokens=128", "--num_threads=1"]


def _base(path: tuple[str, ...], inp: dict[str, Any]) -> list[str]:
    d = inp["dir"]
    runs, test = str(inp["runs"]), str(inp["test"])
    corpus = str(inp["corpus"])
    return {
        ("demo",): ["--laws", "linear", "--target", "pile_cc"],
        ("compare",): ["--runs", runs, "--test", test, "--laws", "linear"],
        ("fit",): ["--runs", runs, "--law", "linear"],
        ("predict",): ["--law", str(d / "law.json"), "--mixtures", runs],
        ("design",): ["--domains", "a,b,c", "--n", "4"],
        ("export",): ["--mixture", "a=0.5,b=0.5"],
        ("optimize",): ["--runs", runs, "--law", "linear"],
        ("continual",): ["--runs", str(inp["two"]), "--original", "a", "--new", "b", "--law", "linear",
                         "--bootstrap", "0", "--pre-loss", "3.0"],
        ("report",): ["--runs", runs, "--test", test, "--laws", "linear", "--out", str(d / "r.html")],
        ("pipeline",): ["--runs", str(inp["scale"]), "--target-params", "1e8", "--target-steps", "1000", "--law",
                        "linear"],
        ("train",): ["--corpus", corpus, "--mixture", "math=0.5,docs=0.5", *TINY_TRAIN],
        ("sweep",): ["--corpus", corpus, "--design", str(d / "design.csv"), "--sizes", "0.01M", "--tokens", "1k",
                     "--store", str(d / "sweep.db"), "--block_size=32", "--batch_size=8", "--eval_tokens=128",
                     "--num_threads=1"],
        ("corpus", "build"): ["--out", str(d / "c2"), "--domains", "math", "--domain", f"mine={d / 'text.txt'}",
                              "--max-mb", "0.01"],
        ("runs", "export"): [str(d / "runs.db"), str(d / "o.csv")],
        ("runs", "import"): [runs, "--out", str(d / "o2.csv")],
    }[path]


def _value(kind_value: str, inp: dict[str, Any]) -> str:
    d = inp["dir"]
    if kind_value == "missing":
        return str(d / "no-such-file.csv")
    if kind_value in ("folder", "empty", "binary", "garbage", "file"):
        return str(d / kind_value)
    if kind_value == "nul":  # an existing file's name with a NUL after it
        return str(d / "file") + "\x00.csv"
    return kind_value


def _replace(argv: list[str], cmd: Any, name: str, value: str) -> list[str]:
    """``argv`` with option ``name`` set to ``value`` (a positional argument replaced in place)."""
    params = {p.name: p for p in cmd.params}
    positional = [p for p in cmd.params if not p.opts or not p.opts[0].startswith("-")]
    if name in params and params[name] in positional:
        out = list(argv)
        out[positional.index(params[name])] = value
        return out
    out = []
    skip = False
    for a in argv:
        if skip:
            skip = False
            continue
        if a == name:
            skip = True
            continue
        out.append(a)
    # Options go first: the trainer commands take --key=value overrides after them.
    return [name, value, *out]


@pytest.mark.parametrize("path,name,value", CASES, ids=[f"{' '.join(p)} {n} {v!r}" for p, n, v in CASES])
def test_bad_option_value_is_one_error_line(path: tuple[str, ...], name: str, value: str, inputs: dict[str, Any],
                                            tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if path in (("train",), ("sweep",), ("corpus", "build"), ("runs", "export")) and inputs["corpus"] is None:
        pytest.skip("needs mixlaw[train]")
    cmd = dict(_commands())[path]
    argv = [*path, *_replace(_base(path, inputs), cmd, name, _value(value, inputs))]
    cwd = os.getcwd()
    os.chdir(tmp_path)  # a command that wrongly accepts a value writes here, not into the repo
    try:
        with pytest.raises(SystemExit) as exc:
            main(argv)
    finally:
        os.chdir(cwd)
    _, err = capsys.readouterr()
    assert "Traceback" not in err, err
    errors = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert exc.value.code == 2 and len(errors) == 1, f"exit {exc.value.code}; stderr:\n{err}"


def test_every_option_is_fuzzed() -> None:
    """Every option of every command (but the skipped ones) gets at least one case, and the table is sizable."""
    fuzzed = {(p, n) for p, n, _ in CASES}
    for path, name, _ in _fuzzed_options():
        assert (path, name) in fuzzed, (path, name)
    assert len(CASES) > 300


@pytest.mark.parametrize("path", sorted({p for p, _, _ in CASES}), ids=lambda p: " ".join(p))
def test_every_base_command_line_is_valid(path: tuple[str, ...], inputs: dict[str, Any], tmp_path: Path) -> None:
    """The fuzz cases change one value of these command lines: each must succeed as it is, or a case could pass
    for a reason that has nothing to do with its bad value."""
    if path in (("train",), ("sweep",), ("corpus", "build"), ("runs", "export")) and inputs["corpus"] is None:
        pytest.skip("needs mixlaw[train]")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert main_ok([*path, *_base(path, inputs)])
    finally:
        os.chdir(cwd)


def test_an_option_of_one_value_given_twice_is_refused_not_the_last_taken(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # hunt34b: 'mixlaw pipeline --runs bench/data/crossscale_runs_v3.csv --runs bench/data/crossscale_runs_v3_0125m.csv
    # --target-params 233680 --target-steps 2929' read the second table alone (click keeps the last value of an
    # option that takes one) and said "the data has 1 model size": the first --runs vanished without a word. An
    # option that takes one value (not a repeatable one, not a flag) given twice is one error line naming it.
    from cli_runner import run_cli

    code, _, err = run_cli(capsys, "pipeline", "--runs", "a.csv", "--runs", "b.csv", "--target-params", "1e6")
    assert code == 2 and "--runs is given 2 times; it takes one value" in err, err
    code, _, err = run_cli(capsys, "runs", "import", "x.csv", "--out", "a.csv", "--out=b.csv")
    assert code == 2 and "--out is given 2 times" in err, err
    # Repeatable options and flags are not counted, nor an option name after '--'.
    code, _, err = run_cli(capsys, "design", "--domains", "a,b,c", "--n", "4", "--bounds", "a=0:1", "--bounds",
                           "b=0:1", "--json", "--json")
    assert "given 2 times" not in err, err
