"""Text tables keep their columns at the same terminal cells when a name holds wide characters.

A CJK character or an emoji fills two cells of a terminal; padding names to a number of characters
(``f"{name:<{w}}"``) pushed every later column of a row with a domain named ``中文网页`` four cells right.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from cli_runner import run_cli
from rich.cells import cell_len

from mixlaw._console import label_column, matrix_text, short_labels

DOMAINS = ["中文网页", "web🙂", "code"]
#: More than SUMMARY_EVALS eval sets, so that `fit --law auto` prints its per-eval summary lines.
EVALS = ["评测集", "x🙂", "plain", "数学", "长的评测集名字", "e6"]


def _spans(line: str) -> list[tuple[int, int]]:
    """(first cell, cell after the last) of each space-separated token of ``line``."""
    out, i = [], 0
    while i < len(line):
        if line[i] == " ":
            i += 1
            continue
        j = line.find(" ", i)
        j = len(line) if j < 0 else j
        out.append((cell_len(line[:i]), cell_len(line[:j])))
        i = j
    return out


def _aligned(lines: list[str], token: int, side: str) -> None:
    """The ``token``-th token of every line starts (``side='start'``, a left-aligned column) or ends ('end') at
    one cell."""
    k = 0 if side == "start" else 1
    at = {_spans(line)[token][k] for line in lines}
    assert len(at) == 1, "\n".join(lines)


def _runs(path, n: int, seed: int) -> str:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.ones(len(DOMAINS)), size=n)
    B = np.random.default_rng(99).normal(0, 0.4, (len(DOMAINS), len(EVALS)))  # one law for every table
    Y = 2.0 + np.exp(W @ B) + rng.normal(0, 0.003, (n, len(EVALS)))
    pd.DataFrame({"run": [f"r{i}" for i in range(n)], **{f"w:{d}": W[:, j] for j, d in enumerate(DOMAINS)},
                  **{f"loss:{t}": Y[:, k] for k, t in enumerate(EVALS)}}).to_csv(path, index=False)
    return str(path)


def test_pad_and_labels_count_cells() -> None:
    from mixlaw._console import pad

    assert pad("中文", 6) == "中文  " and pad("ab", 4, ">") == "  ab" and pad("中文网页", 4) == "中文网页"
    with pytest.raises(ValueError):
        pad("a", 3, "^")
    names = ["中文网页中文网页中文网页_high", "中文网页中文网页中文网页_low", "🙂🙂🙂🙂🙂🙂🙂🙂", "web"]
    for width in (3, 8, 10, 13, 20):
        out = short_labels(names, width)
        assert len(set(out)) == len(names) and all(cell_len(s) <= width for s in out), out
    width, labels = label_column(["中文网页" * 3, "web"])
    assert width == 24 and labels["web"] == "web"


def test_interaction_matrix_columns_line_up() -> None:
    text = matrix_text(np.arange(6.0).reshape(2, 3) + 0.5, EVALS[:2], DOMAINS)
    head, *rows = text.splitlines()
    # column ends of the header's domain labels and of each row's values
    assert [e for _, e in _spans(head)] == [e for _, e in _spans(rows[0])[1:]] == [e for _, e in _spans(rows[1])[1:]]


def test_fit_params_and_cv_tables_line_up(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    runs = _runs(tmp_path / "runs.csv", 30, 0)
    code, out, err = run_cli(capsys, "fit", "--runs", runs, "--law", "linear", "--verbose")
    assert code == 0, err
    params = [line for line in out.splitlines() if ".b_" in line]
    assert len(params) == len(DOMAINS) * len(EVALS)
    _aligned(params, 1, "end")  # the value column (right-aligned)
    _aligned(params, 5, "start")  # init=

    code, out, err = run_cli(capsys, "fit", "--runs", runs, "--law", "auto", "--candidates", "linear,loglinear")
    assert code == 0, err
    lines = out.splitlines()
    at = lines.index(next(line for line in lines if line.lstrip().startswith("per eval set:")))
    table = lines[at + 1:at + 2 + len(EVALS)]
    assert [line.split()[0] for line in table] == ["eval", *EVALS]
    _aligned(table, 1, "start")  # the chosen law
    _aligned(table, 2, "end")  # its S
    _aligned(table[1:], 4, "start")  # the runner-up

    code, out, err = run_cli(capsys, "fit", "--runs", runs, "--law", "stack", "--candidates", "linear,loglinear",
                             "--verbose")
    assert code == 0, err
    lines = out.splitlines()
    at = lines.index("[[Stack weights]]")
    rows = lines[at + 1:at + 1 + len(EVALS)]
    assert [line.split()[0] for line in rows] == EVALS
    _aligned(rows, 1, "start")


def test_compare_and_optimize_tables_line_up(tmp_path, capsys, monkeypatch) -> None:
    from mixlaw.api import compare_tables
    from mixlaw.data import RunTable
    from mixlaw.laws import selection

    monkeypatch.setenv("COLUMNS", "200")
    # compare has no --candidates: auto's default ones, two quick laws here
    monkeypatch.setattr(selection, "default_candidates", lambda n_runs=None: ["linear", "loglinear"])
    runs, test = _runs(tmp_path / "runs.csv", 30, 0), _runs(tmp_path / "test.csv", 10, 1)
    code, out, err = run_cli(capsys, "compare", "--runs", runs, "--test", f"留出🙂={test}", "--laws", "auto,linear")
    assert code == 0, err
    lines = out.splitlines()
    board = [line for line in lines if line[:1] in "┏┃┡│└"]
    assert len(board) == 6 and len({cell_len(line) for line in board}) == 1, out  # rich's leaderboard
    at = lines.index(next(line for line in lines if line.lstrip().startswith("per eval set:")))
    table = lines[at + 1:at + 2 + len(EVALS)]
    assert [line.split()[0] for line in table] == ["eval", *EVALS]
    _aligned(table, 1, "start")
    _aligned(table, 2, "end")

    code, out, err = run_cli(capsys, "optimize", "--runs", runs, "--law", "linear")
    assert code == 0, err
    lines = out.splitlines()
    at = lines.index("[[Weights]]")
    rows = lines[at + 1:at + 2 + len(DOMAINS)]
    assert [line.split()[0] for line in rows] == ["domain", *DOMAINS]
    _aligned(rows, 1, "end")
    at = next(i for i, line in enumerate(lines) if line.startswith("[[Predicted"))
    rows = lines[at + 1:at + 2 + len(EVALS)]
    assert [line.split()[0] for line in rows] == ["eval", *EVALS]
    _aligned(rows, 1, "end")

    # The leaderboard as text (str of the API's Leaderboard): a split's columns under its header.
    board = compare_tables(RunTable(pd.read_csv(runs)), {"留出🙂": RunTable(pd.read_csv(test))},
                           laws=["linear", "loglinear"])
    head, *rows = str(board).splitlines()
    ends = [e for _, e in _spans(head)]  # 'ρ 留出🙂' and 'MRE 留出🙂' are two tokens each
    for row in rows:
        assert [e for _, e in _spans(row)][-2:] == [ends[-3], ends[-1]], str(board)


def test_predict_table_lines_up(tmp_path, capsys, monkeypatch) -> None:
    # `mixlaw predict` prints a pandas frame (run + pred:<eval>): pandas counted characters too.
    monkeypatch.setenv("COLUMNS", "200")
    runs = _runs(tmp_path / "runs.csv", 30, 0)
    code, _, err = run_cli(capsys, "fit", "--runs", runs, "--law", "linear", "--out", str(tmp_path / "law.json"))
    assert code == 0, err
    mix = tmp_path / "mix.csv"
    pd.DataFrame({"run": ["中文网页混合", "m🙂", "plain"],
                  **{f"w:{d}": [0.5, 0.2, 1 / 3] for d in DOMAINS[:2]}, f"w:{DOMAINS[2]}": [0.0, 0.6, 1 / 3]}
                 ).to_csv(mix, index=False)
    code, out, err = run_cli(capsys, "predict", "--law", str(tmp_path / "law.json"), "--mixtures", str(mix))
    assert code == 0, err
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 4 and all(f"pred:{t}" in lines[0] for t in EVALS)
    for k in range(1 + len(EVALS)):
        _aligned(lines, k, "end")  # pandas right-aligns every column
    from mixlaw._console import frame_text  # the pipeline's table too

    frame = pd.DataFrame({"run": ["中文", "a"], "pred:x🙂": [1.0, 2.0]})
    assert len({cell_len(line) for line in frame_text(frame, index=False).splitlines()}) == 1
