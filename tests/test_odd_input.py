"""A new user's odd but legal input to report, export and predict: unicode domain and eval names, names with
commas, quotes and markup, weights as percentages, a held-out split of one run, a mixture outside the fitted
range. Each case tripped the command it names."""

from __future__ import annotations

import html
import json
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import yaml
from cli_runner import run_cli

from mixlaw.errors import DataWarning, InputError, WeightRangeWarning
from mixlaw.export import TokenBudget, export_mixture, parse_mixture
from mixlaw.laws import YeExponential

DOMAINS = ["wéb, news", 'code "x"', "代码", "<b>&amp;"]
EVAL = "é<script>"


def _tables(tmp_path, n_test=12):  # type: ignore[no-untyped-def]
    out = []
    for name, n, seed in (("train.csv", 30, 0), ("test.csv", n_test, 1)):
        rng = np.random.default_rng(seed)
        W = rng.dirichlet(np.ones(4), size=n)
        y = 2.0 + np.exp(W @ [0.0, -1.0, 0.5, 0.2]) * np.exp(0.005 * rng.standard_normal(n))
        p = tmp_path / name
        pd.DataFrame({"run": [f"r<{i}>" for i in range(n)], **{f"w:{d}": W[:, j] for j, d in enumerate(DOMAINS)},
                      f"loss:{EVAL}": y}).to_csv(p, index=False)
        out.append(p)
    return out


# ---------------------------------------------------------------------- export
def test_inline_mixture_takes_percentages_and_quoted_names():
    assert parse_mixture("web=60%,code=40%") == {"web": 0.6, "code": 0.4}
    # A name with ',' split into "bad mixture item '\"web'"; quoted as a CSV cell, it is one name.
    assert parse_mixture('"web, news"=0.5, "code ""x"""=25%,代码=0.25') == {"web, news": 0.5, 'code "x"': 0.25,
                                                                           "代码": 0.25}
    with pytest.raises(InputError, match=r"weight of domain 'web' is not a number: '0\.6;code=0\.4' \(separate the "
                                         r"items with ',': web=0\.6,code=0\.4\)"):
        parse_mixture("web=0.6;code=0.4")
    with pytest.raises(InputError, match="a quoted domain name needs its closing"):
        parse_mixture('"web, news=0.5,b=0.5')
    with pytest.raises(InputError, match=r"a name with ',' in double quotes: \"web, news\"=0\.5"):
        parse_mixture("web, news=0.5,b=0.5")


def test_weights_in_percent_get_a_hint_not_just_a_sum(capsys):
    code, _, err = run_cli(capsys, "export", "--mixture", "web=60,code=40")
    assert code == 2
    assert ("mixture weights sum to 100, expected 1 ± 0.01 (the weights look like percentages: divide them by "
            "100, or mark them: web=60%,code=40%)") in err
    code, out, err = run_cli(capsys, "export", "--mixture", "web=60%,code=40%")
    assert code == 0, err
    assert [r["weight"] for r in json.loads(out)] == [0.6, 0.4]


def test_exports_keep_unicode_names_readable_and_comments_whole():
    mix = {"wéb": 0.6, "代码": 0.4}
    paths = {"wéb": "/data/wéb", "代码": "/data/代码"}
    text = export_mixture(mix, "json", paths)
    assert '"domain": "代码"' in text and json.loads(text)[1]["path"] == "/data/代码"  # read "\\u4ee3\\u7801"
    olmo = export_mixture(mix, "olmo", paths)
    assert "source_name: wéb" in olmo and "/data/代码" in olmo  # read "w\\xE9b"
    assert [s["source_name"] for s in yaml.safe_load(olmo)["sources"]] == ["wéb", "代码"]
    # A name with a newline (a JSON mixture file) ended the budget comment and started a line of the config.
    meg = export_mixture({"a\n--lr 9": 0.5, "b": 0.5}, "megatron", {"a\n--lr 9": "/a", "b": "/b"},
                         budget=TokenBudget(1e9, None))
    assert all(line.startswith(("#", "--data-path")) for line in meg.splitlines()), meg


def test_a_share_that_rounds_to_zero_is_refused_with_the_decimals_that_keep_it(capsys):
    # '--decimals 0' on thirds wrote one domain at weight 1 without a word; then with a warning but still exit 0, so
    # 7 shares of 1/7 went to the trainer as one domain at weight 1. Now refused, naming the decimals that work.
    with pytest.raises(InputError, match=r"^2 of 3 domains round to weight 0 at 0 decimal\(s\) and would be left out "
                                         r"of the export: 'a' \(0\.3333\), 'b' \(0\.3333\); 1 decimal\(s\) keep "
                                         r"every share of 0\.01 % or more \(--decimals 1\)$"):
        export_mixture({"a": 1 / 3, "b": 1 / 3, "c": 1 / 3 + 1e-12}, "json", decimals=0)
    sevenths = ",".join(f"d{i}={1 / 7!r}" for i in range(7))
    code, out, err = run_cli(capsys, "export", "--mixture", sevenths, "--decimals", "0")
    assert code == 2 and out == "", (code, out)
    assert err.strip().splitlines() == ["error: 6 of 7 domains round to weight 0 at 0 decimal(s) and would be left "
                                        "out of the export: 'd1' (0.1429), 'd2' (0.1429), 'd3' (0.1429), 'd4' "
                                        "(0.1429), 'd5' (0.1429) ...; 1 decimal(s) keep every share of 0.01 % or "
                                        "more (--decimals 1)"]
    # the decimals it names do keep every domain, and the written shares sum to exactly 1
    code, out, err = run_cli(capsys, "export", "--mixture", sevenths, "--decimals", "1")
    assert code == 0, err
    assert sorted(r["weight"] for r in json.loads(out)) == [0.1] * 4 + [0.2] * 3
    # a small share needs more decimals than one: 0.0004 is kept from 4
    with pytest.raises(InputError, match=r"'c' \(0\.0004\); 4 decimal\(s\) keep every share of 0\.01 % or more "
                                         r"\(--decimals 4\)$"):
        export_mixture({"a": 0.5, "b": 0.4996, "c": 0.0004}, "json", decimals=2)
    assert [r["domain"] for r in json.loads(export_mixture({"a": 0.5, "b": 0.4996, "c": 0.0004}, "json",
                                                           decimals=4))] == ["a", "b", "c"]
    # a share below 0.01 % is an optimiser's zero to the check: the named decimals do not claim to keep it
    # (review25b: "1 decimal(s) keep every domain", and 1 decimal wrote 'a' and 'b' alone)
    with pytest.raises(InputError, match=r"'b' \(0\.5\); 1 decimal\(s\) keep every share of 0\.01 % or more"):
        export_mixture({"a": 0.5, "b": 0.49995, "c": 0.00005}, "json", decimals=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)  # an optimiser's zero (1e-12) is not a share anyone gave
        export_mixture({"a": 0.5, "b": 0.5 - 1e-12, "c": 1e-12}, "json")


# ---------------------------------------------------------------------- predict
def test_predict_inline_percentages_unicode_names_and_the_range_warning(tmp_path, capsys):
    train, _ = _tables(tmp_path)
    law = tmp_path / "law.json"
    code, _, err = run_cli(capsys, "fit", "--runs", str(train), "--law", "ye-exp", "--out", str(law))
    assert code == 0, err
    spec = '"wéb, news"=25%,code "x"=25%,代码=25%,<b>&amp;=25%'
    code, out, err = run_cli(capsys, "predict", "--law", str(law), "--mixtures", spec, "--json")
    assert code == 0, err
    code, _, err = run_cli(capsys, "predict", "--law", str(law), "--mixtures", "代码=50,<b>&amp;=50")
    assert code == 2 and "(the weights look like percentages: divide them by 100, or mark them: 代码=50%," in err
    # A negative weight inline was "row 2: column 'w:<b>&amp;'", a row of no file.
    code, _, err = run_cli(capsys, "predict", "--law", str(law), "--mixtures", "代码=1.2,<b>&amp;=-0.2")
    assert code == 2 and "mixtures 代码=1.2,<b>&amp;=-0.2 (--mixtures): weight of domain '<b>&amp;' is -0.2, " \
        "expected a finite number >= 0" in err, err
    # Out of range: the warning named the first domain in order ('wéb, news', at 0 just below its range), not the
    # one the user moved to 1.
    code, _, err = run_cli(capsys, "predict", "--law", str(law), "--mixtures", "代码=1")
    assert code == 0
    assert re.search(r"outside the fitted range for domain '代码' \(1; fitted \[0\.\d+, 0\.\d+\]\); also ", err), err


def test_the_range_warning_names_the_farthest_domain_and_its_weight():
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), size=40) * 0.5 + np.array([0.5, 0, 0])  # a in [0.5, 1], b and c in [0, 0.5]
    law = YeExponential().fit(W, 2 + np.exp(-W[:, 0]), domains=["a", "b", "c"], targets=["x"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        law.predict(np.array([[0.3, 0.15, 0.55], [0.6, 0.4, 0.0]]))
    msgs = [str(w.message) for w in caught if issubclass(w.category, WeightRangeWarning)]
    lo, hi = law._w_range
    assert hi[2] < 0.5 < lo[0]  # a leaves its range by over 0.2, c by about 0.05
    assert msgs == [f"law 'ye-exp': mixture weights outside the fitted range for domain 'a' (0.3; fitted "
                    f"[{lo[0]:.3g}, {hi[0]:.3g}]); also 'c'"]


# ---------------------------------------------------------------------- report
def _page(tmp_path, capsys, *extra):  # type: ignore[no-untyped-def]
    out = tmp_path / "r.html"
    code, _, err = run_cli(capsys, "report", *extra, "--laws", "ye-exp,linear", "--out", str(out))
    assert code == 0, err
    return out.read_text(encoding="utf-8")


def test_report_escapes_every_name_and_draws_unicode_as_text(tmp_path, capsys):
    train, test = _tables(tmp_path)
    page = _page(tmp_path, capsys, "--runs", str(train), "--test", f"<i>held={test}")
    bare = re.sub(r"<svg.*?</svg>", "", page, flags=re.S)
    tags = set(re.findall(r"</?([a-zA-Z][a-zA-Z0-9]*)", bare))
    assert tags <= {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "code", "table", "tr", "th",
                    "td", "sub", "pre"}, tags  # no <script>, <b>, <i> from a name
    text = html.unescape(bare)
    assert "é<script>" in text and "r<0>" in text and "<i>held" in text and 'code "x"' in text
    # The figures' labels are SVG text, in the browser's fonts: drawn as DejaVu paths, '代码' was empty boxes.
    svgs = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    labels = {html.unescape(t) for s in svgs for t in re.findall(r"<text[^>]*>([^<]*)</text>", s)}
    assert {"代码", "wéb, news", "<b>&amp;"} <= labels, labels
    assert not any("<script" in s or "<b>" in s for s in svgs)


def test_report_on_a_held_out_split_of_one_run_chooses_by_error(tmp_path, capsys):
    train, test = _tables(tmp_path, n_test=1)
    page = html.unescape(_page(tmp_path, capsys, "--runs", str(train), "--test", str(test)))
    # It said "the leaderboard's best ranker on test (Spearman nan)" of whichever law came first.
    assert "best ranker" not in page and "Spearman nan" not in page
    m = re.search(r"The law is the law with the lowest RMSE on test \(([\d.e-]+)\); Spearman is undefined there "
                  r"\(1 run, nothing to rank\)", page)
    assert m, page
    # The undefined Spearman reads n/a* (with its note), not nan.
    rmse = {k: float(v) for k, v in re.findall(r"<tr><td>([\w-]+)</td><td>n/a\*</td><td>[\d.]+</td><td>([\d.]+)</td>",
                                                page)}
    assert rmse and "n/a*: undefined (constant predictions or a single held-out run" in page
    assert min(rmse.values()) == pytest.approx(float(m.group(1)), abs=1e-4)


# ---------------------------------------------------------------------- names with commas on the command line
def _three_domain_runs(path, domains, evals, seed):
    """30 runs over three domains, two evals (the second 1.1x the first) of a known law, written to ``path``."""
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.ones(3), size=30)
    y = 2.0 + np.exp(W @ [0.0, -1.0, 0.5])
    pd.DataFrame({"run": [f"r{i}" for i in range(30)], **{f"w:{d}": W[:, j] for j, d in enumerate(domains)},
                  f"loss:{evals[0]}": y, f"loss:{evals[1]}": 1.1 * y}).to_csv(path, index=False)
    return path


def test_an_eval_or_domain_named_with_a_comma_can_be_asked_for(tmp_path, capsys):
    runs = _three_domain_runs(tmp_path / "runs.csv", ["web, news", 'code "x"', "c"], ["x, y", "z"], seed=0)
    # --target splits at commas: 'x, y' arrived as 'x' and 'y', and the error suggested the 'x, y' typed.
    code, _, err = run_cli(capsys, "fit", "--runs", str(runs), "--law", "linear", "--target", "x, y")
    assert code == 2 and """a name with a comma goes in double quotes: --target '"x, y"'""" in err
    code, out, err = run_cli(capsys, "fit", "--runs", str(runs), "--law", "linear", "--target", '"x, y"', "--json")
    assert code == 0, err
    # An unclosed quote is an error naming the text, as in an inline mixture (it read as the name 'x, y').
    code, _, err = run_cli(capsys, "fit", "--runs", str(runs), "--law", "linear", "--target", '"x, y')
    assert code == 2 and """'"x, y': a quoted name needs its closing '"'""" in err, err
    code, out, err = run_cli(capsys, "optimize", "--runs", str(runs), "--law", "linear", "--target", '"x, y",z',
                             "--objective", 'weights="x, y":0.25,z:0.75', "--bounds", '"web, news"=0:0.2',
                             "--fixed", '"code ""x"""=0.3', "--json")
    assert code == 0, err
    opt = json.loads(out)["optimum"]
    assert opt["objective_name"] == "weights=x, y:0.25,z:0.75"
    assert opt["weights"]['code "x"'] == pytest.approx(0.3) and opt["weights"]["web, news"] <= 0.2 + 1e-9
    # The report names the optimize command with the name quoted as --target reads it.
    test = tmp_path / "test.csv"
    pd.read_csv(runs).iloc[:10].to_csv(test, index=False)
    page = html.unescape(_page(tmp_path, capsys, "--runs", str(runs), "--test", str(test), "--target", '"x, y"'))
    assert re.search(rf"""mixlaw optimize --runs {re.escape(str(runs))} --law (ye-exp|linear) --target '"x, y"'<""",
                     page), page


def test_two_held_out_tables_of_one_name_are_an_error_not_one_split(tmp_path, capsys):
    # Two files test.csv in two folders: the second replaced the first, and the leaderboard showed one split.
    train, test = _tables(tmp_path)
    (tmp_path / "b").mkdir()
    other = tmp_path / "b" / "test.csv"
    pd.read_csv(test).iloc[:6].to_csv(other, index=False)
    for cmd in ("report", "compare"):
        code, _, err = run_cli(capsys, cmd, "--runs", str(train), "--test", str(test), "--test", str(other),
                               "--laws", "linear")
        assert code == 2 and f"--test: two held-out tables are named 'test' ({test} and {other}); name each one: " \
            "--test NAME=PATH" in err, err
    code, _, err = run_cli(capsys, "compare", "--runs", str(train), "--test", f"={test}", "--laws", "linear")
    assert code == 2 and "the held-out table's name is empty" in err
    code, out, err = run_cli(capsys, "compare", "--runs", str(train), "--test", f"a={test}", "--test", f"b={other}",
                             "--laws", "linear", "--json")
    assert code == 0, err


def test_a_law_given_twice_is_an_error_not_two_rows(tmp_path, capsys):
    train, test = _tables(tmp_path)
    for cmd in ("report", "compare"):
        code, _, err = run_cli(capsys, cmd, "--runs", str(train), "--test", str(test), "--laws", "linear, linear")
        assert code == 2 and "--laws 'linear, linear': 'linear' given twice" in err, err
    code, _, err = run_cli(capsys, "optimize", "--runs", str(train), "--law", "auto", "--candidates", "linear,linear")
    assert code == 2 and "--candidates 'linear,linear': 'linear' given twice" in err, err


def test_a_bound_or_law_option_given_twice_is_an_error_not_the_last_kept(tmp_path, capsys):
    """--bounds web=0:0.5 --bounds web=0.1:0.3 and --law-option n_restarts=2 --law-option n_restarts=3 kept the
    last silently, where --fixed refused a repeat."""
    train, _ = _tables(tmp_path)
    for bounds in (["--bounds", "代码=0:0.5", "--bounds", "代码=0.1:0.3"],
                   ["--bounds", '"wéb, news"=0:0.5,"wéb, news"=:0.3']):
        code, _, err = run_cli(capsys, "optimize", "--runs", str(train), "--law", "linear", *bounds)
        assert code == 2 and "--bounds: '" in err and "' given twice" in err, err
    code, _, err = run_cli(capsys, "fit", "--runs", str(train), "--law", "ye-exp", "--law-option", "n_restarts=2",
                           "--law-option", "n_restarts=3")
    assert code == 2 and "--law-option: 'n_restarts' given twice" in err, err
    code, _, err = run_cli(capsys, "fit", "--runs", str(train), "--law", "bimix", "--eval-map", f"{EVAL}=代码",
                           "--eval-map", f"{EVAL}=<b>&amp;")
    assert code == 2 and f"--eval-map: '{EVAL}' given twice" in err, err


def test_files_are_written_as_utf8_whatever_the_locale(tmp_path):
    # Under LANG=C (ASCII; Windows' cp1252 alike) 'mixlaw export --out' of the domain '代码' stopped with a
    # UnicodeEncodeError traceback: files were written in the locale's encoding.
    import os
    import subprocess
    import sys

    mix, out = tmp_path / "in.json", tmp_path / "mix.json"
    mix.write_text(json.dumps({"代码": 0.5, "wéb": 0.5}), encoding="utf-8")  # names from a file: argv is ASCII here
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0"}
    run = subprocess.run([sys.executable, "-X", "utf8=0", "-m", "mixlaw", "export", "--mixture", str(mix),
                          "--out", str(out)], env=env, capture_output=True, text=True, encoding="utf-8")
    assert run.returncode == 0, run.stderr
    assert [r["domain"] for r in json.loads(out.read_text(encoding="utf-8"))] == ["代码", "wéb"]


@pytest.mark.parametrize("name", ["web", "x, y", "co=de", 'q"t', '"lead', "a:b", "代码", "wéb, news"])
def test_a_quoted_name_reads_back_as_written_by_every_list_reader(name):
    # One writer (quote_name: the report's optimize command, export's percentage hint) for the two readers of
    # names on the command line: --target/--objective/--bounds lists and the inline mixture.
    from mixlaw._validation import quote_name, split_names

    assert [x.strip() for x in split_names(f"{quote_name(name)},other")] == [name, "other"]
    assert parse_mixture(f"{quote_name(name)}=0.25,other=0.75") == {name: 0.25, "other": 0.75}


def test_percentages_in_fixed_and_objective_weights_read_as_in_mixtures(tmp_path, capsys):
    # --default a=50% was accepted while --objective weights=a:50% and --fixed a=50% were refused (shapes pass).
    runs = _three_domain_runs(tmp_path / "runs.csv", ["a", "b", "c"], ["x", "z"], seed=5)
    got = []
    for objective, fixed in (("weights=x:0.25,z:0.75", "c=0.3"), ("weights=x:25%,z:75%", "c=30%")):
        code, out, err = run_cli(capsys, "optimize", "--runs", str(runs), "--law", "linear", "--target", "x,z",
                                 "--objective", objective, "--fixed", fixed, "--json")
        assert code == 0, err
        got.append(json.loads(out)["optimum"])
    assert got[1]["weights"] == pytest.approx(got[0]["weights"], abs=1e-12)
    assert got[1]["weights"]["c"] == pytest.approx(0.3) and got[1]["objective"] == pytest.approx(got[0]["objective"])
    code, _, err = run_cli(capsys, "optimize", "--runs", str(runs), "--law", "linear", "--target", "x,z",
                           "--fixed", "c=30 %%")
    assert code == 2 and "--fixed: expected domain=weight; got 'c=30 %%'" in err
