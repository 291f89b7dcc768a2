"""Hostile paths and option files: --out naming a special file, a manifest path that escapes
its folder, bad mixtures, path lists and option files, an unreadable corpus file. Each is refused with one clear
error (exit 2 from the CLI) and has no effect.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import stat
from pathlib import Path

import pytest

from mixlaw.errors import DataError, InputError
from mixlaw.export import export_mixture, parse_mixture, read_paths

from ._helpers import one_error, run_cli, runs_csv


# ---------------------------------------------------------------------- 3. --out special files
def _special(kind: str, path: Path) -> None:
    if kind == "symlink":
        (path.parent / "target.txt").write_text("keep me\n")
        path.symlink_to(path.parent / "target.txt")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(path))
        sock.close()
    elif kind == "device":
        try:
            os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, 3))  # a copy of /dev/null's node
        except PermissionError:
            os.mkfifo(path)  # not root: a FIFO stands in for the device (both are not regular files)
    else:
        path.mkdir()


def _kind(path: Path) -> str:
    st = os.lstat(path)
    return stat.S_IFMT(st.st_mode).__str__()


@pytest.mark.parametrize("kind", ["symlink", "fifo", "socket", "device", "folder"])
@pytest.mark.parametrize("command", ["fit", "export", "predict", "runs export"])
def test_out_refuses_special_files(kind: str, command: str, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    runs = runs_csv(tmp_path / "runs.csv", 30, 0)
    special = tmp_path / ("special.csv" if command in ("runs export", "predict") else "special")
    _special(kind, special)
    before = _kind(special)
    if command == "fit":
        argv = ["fit", "--runs", str(runs), "--law", "linear", "--out", str(special)]
    elif command == "export":
        argv = ["export", "--mixture", "a=0.5,b=0.5", "--out", str(special)]
    elif command == "predict":
        law = tmp_path / "law.json"
        assert run_cli(["fit", "--runs", str(runs), "--law", "linear", "--out", str(law)], capsys)[0] == 0
        argv = ["predict", "--law", str(law), "--mixtures", str(runs), "--out", str(special)]
    else:
        from mixlaw.store import RunStore

        with RunStore(tmp_path / "s.db") as db:
            db.begin_run("r1", {"mixture": {"a": 1.0, "b": 0.0}}, ["a", "b"], 10)
        argv = ["runs", "export", str(tmp_path / "s.db"), str(special)]
    code, _, err = run_cli(argv, capsys)
    line = one_error(code, err)
    assert "not a regular file" in line or "is a folder" in line
    assert _kind(special) == before  # untouched
    if kind == "symlink":
        assert (tmp_path / "target.txt").read_text() == "keep me\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".special")]  # no temp file left


# ---------------------------------------------------------------------- 4. manifest path escape
@pytest.mark.parametrize("how", ["dotdot", "absolute", "symlink"])
def test_manifest_path_escape_is_refused(how: str, small_corpus: Path, tmp_path: Path) -> None:
    import shutil

    from mixlaw.train.data import Corpus

    corpus = tmp_path / "corpus"
    shutil.copytree(small_corpus, corpus)
    outside = tmp_path / "secret.bin"
    outside.write_bytes(b"root:x:0:0:root:/root:/bin/bash\n" * 40)  # the probe used ../../etc/passwd
    manifest = json.loads((corpus / "manifest.json").read_text())
    entry = manifest["domains"]["math"]["splits"]["val"]
    if how == "dotdot":
        entry["file"] = "../secret.bin"
    elif how == "absolute":
        entry["file"] = str(outside)
    else:
        (corpus / "math" / "link.bin").symlink_to(outside)
        entry["file"] = "math/link.bin"
    data = outside.read_bytes()
    entry["tokens"], entry["sha256"] = len(data), hashlib.sha256(data).hexdigest()  # size and hash match
    (corpus / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DataError, match="lies outside the corpus folder"):
        Corpus(corpus)



# ---------------------------------------------------------------------- mixtures, paths, exports
@pytest.mark.parametrize("weights,match", [
    ({"a": 1e308, "b": 1e308}, "sum to inf"),
    ({"a": True, "b": 0.0}, "not a number: True"),
    ({"a": "0.5", "b": 0.5}, "not a number: '0.5'"),
    ({"a": float("nan"), "b": 1.0}, "finite and >= 0"),
])
def test_bad_export_weights(weights: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        export_mixture(weights, "json")


def test_export_overflow_on_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["export", "--mixture", "a=1e308,b=1e308"], capsys)
    assert "sum to inf" in one_error(code, err)


def test_json_true_is_not_a_weight(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "m.json").write_text('{"a": true, "b": 0}')
    code, _, err = run_cli(["export", "--mixture", str(tmp_path / "m.json")], capsys)
    assert "not a number: True" in one_error(code, err)


def test_megatron_paths_starting_with_a_dash_stay_one_word() -> None:
    text = export_mixture({"a": 0.5, "b": 0.5}, "megatron", {"a": "--eval-only", "b": "-x/data"})
    words = text.split()
    assert words[:5] == ["--data-path", "0.5", "./--eval-only", "0.5", "./-x/data"]


def test_empty_path_cell_is_refused(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text("domain,path\na,/data/a\nb,\n")
    with pytest.raises(InputError, match=r"p\.csv:3: empty path cell"):
        read_paths(str(tmp_path / "p.csv"))
    (tmp_path / "p.json").write_text('{"a": "/data/a", "b": 5}')
    with pytest.raises(InputError, match="path of domain 'b' must be a non-empty string"):
        read_paths(str(tmp_path / "p.json"))


@pytest.mark.parametrize("kind", ["empty", "binary", "dir", "bad-json", "deep-json", "non-numeric", "shape",
                                  "unknown-domain"])
@pytest.mark.parametrize("option", ["--mixture", "--paths", "--tokens-available"])
def test_guarded_reads_of_option_files(option: str, kind: str, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    ext = ".json" if kind in ("bad-json", "deep-json", "shape", "unknown-domain") else ".csv"
    path = tmp_path / f"f{ext}"
    # deep-json: '[' 100000 times, beyond the JSON parser's recursion (a RecursionError traceback before)
    content = {"empty": "", "binary": "\x00\x01\x02", "bad-json": "{", "deep-json": "[" * 100_000,
               "shape": '["d0", 5]',
               "unknown-domain": '{"d0": 5}',
               "non-numeric": {"--mixture": "w:a,w:b\nx,y\n", "--paths": "domain,path\n", "--tokens-available":
                               "domain,tokens\na,lots\n"}[option]}.get(kind)
    if kind == "dir":
        path.mkdir()
    else:
        path.write_text(content)
    if option == "--mixture":
        argv = ["export", "--mixture", str(path)]
    elif option == "--paths":
        argv = ["export", "--mixture", "a=0.5,b=0.5", "--format", "megatron", "--paths", str(path)]
    else:
        argv = ["design", "--domains", "a,b", "--tokens-available", str(path), "--target-tokens", "100"]
    code, _, err = run_cli(argv, capsys)
    one_error(code, err)


def test_parse_mixture_file_errors(tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_text("w:a,w:b\n0.5,abc\n")
    with pytest.raises(InputError, match="not a number"):
        export_mixture(parse_mixture(str(tmp_path / "m.csv")), "json")




# ---------------------------------------------------------------------- unreadable corpus files
def test_unreadable_corpus_domain_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "a.txt").write_text("hello world " * 200)
    bad = folder / "b.txt"
    bad.write_text("secret")
    bad.chmod(0)
    if os.access(bad, os.R_OK):  # root reads anything: make that one read fail as it does for other users
        real = Path.read_bytes

        def denied(self: Path) -> bytes:
            if self == bad:
                raise PermissionError(13, "Permission denied", str(self))
            return real(self)

        monkeypatch.setattr(Path, "read_bytes", denied)
    code, _, err = run_cli(["corpus", "build", "--out", str(tmp_path / "c"), "--domains", "math", "--domain",
                            f"mine={folder}"], capsys)
    assert "cannot be read" in one_error(code, err)


@pytest.mark.parametrize("argv", [
    ["fit", "--runs", "{runs}", "--law", "linear", "--out", "{runs}"],
    ["optimize", "--runs", "{runs}", "--law", "linear", "--export", "json", "--out", "{runs}"],
    ["predict", "--law", "{law}", "--mixtures", "{runs}", "--out", "{runs}"],
    ["runs", "import", "{runs}", "--evals", "a", "--out", "{runs}"],
    ["design", "--select", "5", "--runs", "{runs}", "--out", "{runs}"],
    ["export", "--mixture", "{mix}", "--format", "json", "--out", "{mix}"],
])
def test_an_output_naming_an_input_is_refused_and_the_input_kept(tmp_path, capsys, argv) -> None:
    """fit --runs runs.csv --out runs.csv wrote the law over the run table, runs import raw.csv --evals a --out
    raw.csv dropped the other evals from it (exit 0 both); pipeline and report refused this already."""
    runs = runs_csv(tmp_path / "runs.csv", 20, 0, evals=("a", "b"))
    law = tmp_path / "law.json"
    assert run_cli(["fit", "--runs", str(runs), "--law", "linear", "--out", str(law)], capsys)[0] == 0
    mix = tmp_path / "mix.json"
    mix.write_text('{"a": 0.5, "b": 0.5, "c": 0.0}')
    before = {p: p.read_bytes() for p in (runs, law, mix)}
    code, _, err = run_cli([a.format(runs=runs, law=law, mix=mix) for a in argv], capsys)
    assert "that is the input" in one_error(code, err) and "overwrite your data" in err
    assert {p: p.read_bytes() for p in before} == before


def test_pipeline_and_report_refuse_an_output_naming_either_file_of_an_input_pair(tmp_path) -> None:
    # check_outputs (pipeline, report) compared the output with the pair 'mixture.csv+loss.csv' as one path, while
    # the other commands' check took it as its two files: both now share one reading of the inputs.
    from mixlaw.cli._common import check_outputs
    from mixlaw.errors import InputError

    mixture, loss = tmp_path / "mixture.csv", tmp_path / "loss.csv"
    mixture.write_text("x\n")
    loss.write_text("x\n")
    with pytest.raises(InputError, match=r"--out .*loss.csv: that is the input .*loss.csv; writing it would overwrite"):
        check_outputs([f"{mixture}+{loss}"], out=loss)
    check_outputs([f"{mixture}+{loss}"], out=tmp_path / "law.json")  # any other path passes


@pytest.mark.parametrize("argv", [["export", "--mixture", "a=0.5,b=0.5", "--out=~/m.json"],
                                  ["design", "--domains", "a,b", "--n", "4", "--out=~/d.csv"],
                                  ["runs", "import", "RUNS", "--out=~/r.csv"]])
def test_an_unexpanded_tilde_makes_no_folder_named_tilde(tmp_path, capsys, monkeypatch, argv) -> None:
    # review25b: bash expands '~' at the start of a word only, so '--out=~/m.json' arrives as written; every write
    # makes its missing folder (mkdir -p), and made a folder named '~' in the working directory (design, pipeline
    # and report too since they make missing folders): refused in one line, nothing made.
    monkeypatch.chdir(tmp_path)
    runs_csv(tmp_path / "runs.csv", 6, seed=0)
    argv = [a.replace("RUNS", "runs.csv") for a in argv]
    line = one_error(*run_cli(argv, capsys)[::2])
    assert "'~' is not expanded here (the shell expands it at the start of a word only: '--out ~/x', not " \
           "'--out=~/x'); give the folder's path" in line, line
    assert not (tmp_path / "~").exists()
    (tmp_path / "~").mkdir()  # a folder of that name made on purpose is written in
    code, _, err = run_cli(argv, capsys)
    assert code == 0 and len(list((tmp_path / "~").iterdir())) == 1, err


def test_a_symlink_to_nothing_in_the_path_is_named(tmp_path, capsys) -> None:
    # review25b: mkdir -p through a dangling symlink failed with 'cannot write (File exists)' of a path that does not.
    (tmp_path / "dl").symlink_to(tmp_path / "nowhere")
    for argv in (["export", "--mixture", "a=0.5,b=0.5", "--out", str(tmp_path / "dl" / "m.json")],
                 ["design", "--domains", "a,b", "--n", "4", "--out", str(tmp_path / "dl" / "x" / "d.csv")]):
        line = one_error(*run_cli(argv, capsys)[::2])
        assert line.endswith(f"{tmp_path / 'dl'} is a symlink to nothing ({tmp_path / 'nowhere'}); choose another "
                             "path"), line
    assert not (tmp_path / "nowhere").exists()
