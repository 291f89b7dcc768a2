"""What README.md and docs/*.md state in prose, run as written: the inline Python calls (``code spans``, which
tests/test_readme_python.py does not run: it runs the ```python blocks), the error line the run-table sections show,
the law counts and keys the README lists, and the trainer's model-size table. Each snippet must appear verbatim in
its page (so an edit of the page that drops or changes it fails here, and the test is updated with it) and is then
executed against a small real table."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixlaw
from mixlaw import get_law, load_regmix
from mixlaw.cli import main
from mixlaw.laws import YeExponential
from mixlaw.laws.selection import AUTO_CANDIDATES, META_LAWS

ROOT = Path(__file__).resolve().parents[1]


def _page(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def _runs_frame(n: int = 40, seed: int = 0) -> pd.DataFrame:
    """A run table of three domains whose eval c4 follows Ye's law (plus noise): every snippet below fits it."""
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.ones(3), n)
    y = 2.0 + np.exp(W @ [0.0, -1.0, 0.5]) * (1 + rng.normal(0, 0.002, n))
    return pd.DataFrame({"run": [f"r{i}" for i in range(n)], "w:web": W[:, 0], "w:code": W[:, 1], "w:wiki": W[:, 2],
                         "loss:c4": y})


# (page, snippet as the page writes it, setup run before it, a check on the namespace after it)
SNIPPETS = [
    ("README.md", 'law = get_law("ye-exp").fit(load_regmix("train_1m"), targets="pile_cc")', "",
     "assert law.predict(load_regmix('test_1m')).shape == (256,)"),
    ("docs/laws.md", "train, tests = mixlaw.compare.holdout_split(table, 0.2, random_state=0)",
     "table = load_regmix('train_1m')",
     "board = mixlaw.compare(train, tests, targets='pile_cc', laws=['ye-exp', 'linear'])\n"
     "assert board.to_frame().shape[0] == 2 and [r['law'] for r in board.to_dict()['laws']] == ['ye-exp', 'linear']\n"
     "assert len(train) + len(tests['holdout']) == len(table)"),
    ("docs/fit-and-predict.md", "mixlaw.optimize_saved_law(mixlaw.load_law(path), table)",
     "table = mixlaw.RunTable(_runs_frame()); path = 'law.json'\n"
     "mixlaw.save_law(get_law('ye-exp').fit(table, targets='c4'), path)",
     ""),
    ("docs/fit-and-predict.md",
     'mixlaw.importers.read_runs_mapped(df, "run=name, params=n_params, step=iter, w:*=mix_*, loss:*=val_*")',
     "f = _runs_frame(8); df = pd.DataFrame({'name': f.run, 'n_params': 1e6, 'iter': 100, 'mix_web': f['w:web'], "
     "'mix_code': f['w:code'], 'mix_wiki': f['w:wiki'], 'val_c4': f['loss:c4']})",
     ""),
    ("docs/fit-and-predict.md",
     'GridSearchCV(YeExponential(), {"alpha": [0, 0.01, 1]}).fit(X, y)',
     "from sklearn.model_selection import GridSearchCV\n"
     "f = _runs_frame(); X = f.filter(like='w:').to_numpy(); y = f['loss:c4'].to_numpy()",
     ""),
    ("docs/fit-and-predict.md", "cross_val_score(law, runs_frame)",
     "from sklearn.model_selection import cross_val_score\nruns_frame = _runs_frame(); law = YeExponential()",
     ""),
    ("docs/fit-and-predict.md",
     'cross_val_score(law, runs_frame, runs_frame["loss:c4"], scoring="neg_mean_absolute_error")',
     "from sklearn.model_selection import cross_val_score\nruns_frame = _runs_frame(); law = YeExponential()",
     ""),
    ("docs/fit-and-predict.md",
     'get_law("linear").fit(pd.read_csv("runs.csv"), targets="c4").predict(candidates_frame)',
     "_runs_frame().to_csv('runs.csv', index=False); candidates_frame = _runs_frame(3, seed=1).drop(columns='loss:c4')",
     ""),
]


@pytest.mark.parametrize(("page", "snippet", "setup", "check"), SNIPPETS,
                         ids=[f"{p}:{s[:40]}" for p, s, *_ in SNIPPETS])
def test_inline_snippet_runs_as_written(page, snippet, setup, check, tmp_path, monkeypatch) -> None:
    assert snippet in _page(page), f"{page} no longer shows {snippet!r}: update this test with the page"
    monkeypatch.chdir(tmp_path)
    namespace = {"mixlaw": mixlaw, "get_law": get_law, "load_regmix": load_regmix, "pd": pd, "np": np,
                 "YeExponential": YeExponential, "_runs_frame": _runs_frame}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # RegMix's 3-decimal weights are renormalised with a warning
        exec(compile(f"{setup}\n_result = {snippet}\n{check}", f"{page} snippet", "exec"), namespace)  # noqa: S102
    assert namespace["_result"] is not None


def test_the_run_table_error_line_is_what_fit_prints(tmp_path, monkeypatch, capsys) -> None:
    """README's and docs/data.md's example error: a runs.csv whose line 17 sums to 0.93, first weight column w:code."""
    shown = {p: re.search(r"\$ mixlaw fit --runs runs\.csv\n(error: .*)\n", _page(p)) for p in ("README.md",
                                                                                             "docs/data.md")}
    assert all(shown.values()), "the page no longer shows the example error"
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(2), 20).round(4)
    W[:, 1] = (1 - W[:, 0]).round(4)
    W[15] = [0.5, 0.43]  # the 16th run: line 17 of the file (header = line 1)
    frame = pd.DataFrame({"run": [f"r{i}" for i in range(20)], "w:code": W[:, 0], "w:web": W[:, 1],
                          "loss:web": 3 - W[:, 1]})
    monkeypatch.chdir(tmp_path)
    frame.to_csv("runs.csv", index=False)
    with pytest.raises(SystemExit) as exc:
        main(["fit", "--runs", "runs.csv"])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2
    for page, match in shown.items():
        assert err == match.group(1), f"{page} shows {match.group(1)!r}; mixlaw fit prints {err!r}"


def test_the_readme_lists_every_law() -> None:
    """README "Compare laws": "Sixteen laws: ... (`ye-exp`, ...)", and docs/laws.md's default candidates count."""
    text = _page("README.md")
    para = text[text.index("Sixteen laws:"):text.index("`auto` (the best law per eval")]
    # Three are named in words, not keys: read them as such (a set of the keys added unread passed with them gone).
    in_words = {key for key, word in (("bimix", "BiMix"), ("autoscale", "AutoScale"), ("lightgbm", "LightGBM"))
                if word in para}
    named = set(re.findall(r"`([a-z0-9-]+)`", para)) | in_words
    single = set(mixlaw.laws.available_laws()) - set(META_LAWS)
    assert named == single and len(single) == 16
    assert "by default among 11 of them" in _page("docs/laws.md") and len(AUTO_CANDIDATES) == 11


def test_the_trainer_size_rule_table() -> None:
    """docs/training.md: 0.1M -> 2 layers x 64 (100,096 params), 0.2M -> 3 x 80 (233,680), 0.4M -> 3 x 112 (456,176)."""
    pytest.importorskip("torch")
    from mixlaw.train.config import shape_for_size
    from mixlaw.train.model import GPT, GPTConfig

    rows = re.findall(r"(0\.\dM) → (\d) (?:layers )?× (\d+)\s+\(([\d,]+)(?: params)?\)", _page("docs/training.md"))
    assert len(rows) == 3
    for size, n_layer, n_embd, count in rows:
        L, C, H = shape_for_size(int(float(size[:-1]) * 1e6))
        assert (L, C) == (int(n_layer), int(n_embd))
        assert GPT(GPTConfig(n_layer=L, n_embd=C, n_head=H)).num_params() == int(count.replace(",", ""))
