"""``mixlaw report`` makes compare's scale checks, on stderr and on its page, and neither names an option it does
not take. A new user's report on Dai & Zheng's SlimPajama runs (122M-1.235B, 11 checkpoints each), held out on the
2.718B runs, said nothing while ``compare`` on the same tables warned twice (linear's MRE there: 30 %); and
compare's warning said to keep one scale with ``--at-params largest --final-step``, which compare (and report)
refused ("No such option"). Both now take --at-params / --final-step (newuser4), and their warnings name them."""

from __future__ import annotations

import html

from cli_runner import run_cli
from test_pipeline import world


def _tables(tmp_path):  # type: ignore[no-untyped-def]
    table = world(n_mix=10).frame  # 10 mixtures x 4 sizes x 5 checkpoints
    fit, held = tmp_path / "fit.csv", tmp_path / "held.csv"
    table.to_csv(fit, index=False)
    big = table[(table.params == table.params.max()) & (table.step == table.step.max())].copy()
    big["params"] *= 30  # a held-out split far beyond the fitted sizes
    big.to_csv(held, index=False)
    return str(fit), str(held)


def test_report_warns_of_scales_on_stderr_and_on_the_page(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    fit, held = _tables(tmp_path)
    out = tmp_path / "r.html"
    code, _, err = run_cli(capsys, "report", "--runs", fit, "--test", held, "--laws", "linear", "--target", "web",
                           "--out", str(out))
    assert code == 0, err
    assert "held-out split 'held': model size 2.4e+09, outside the fitted runs'" in err
    assert "the fitting runs span 4 model sizes" in err and "one loss surface" in err
    page = html.unescape(out.read_text())
    assert page.count("Scale warning:") == 2 and "outside the fitted runs'" in page and "one loss surface" in page
    assert "`--at-params largest --final-step`" in err and "--at-params largest --final-step" in page  # taken now


def test_compare_names_at_params_which_it_takes(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    fit, held = _tables(tmp_path)
    code, _, err = run_cli(capsys, "compare", "--runs", fit, "--test", held, "--laws", "linear", "--target", "web")
    assert code == 0 and "one loss surface" in err and "`--at-params largest --final-step`" in err
    # A size the held-out split lacks (it is held out at a larger one) cuts the fitting runs only.
    code, _, err = run_cli(capsys, "compare", "--runs", fit, "--test", held, "--laws", "linear", "--target", "web",
                           "--at-params", "8e7", "--final-step")
    assert code == 0 and "one loss surface" not in err, err
    # fit takes the option, and its warning still names it.
    code, _, err = run_cli(capsys, "fit", "--runs", fit, "--law", "linear", "--target", "web")
    assert code == 0 and "--at-params largest --final-step" in err


def test_reports_optimize_command_keeps_the_rows_it_fitted(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # hunt31: 'report --runs sweep --at-params largest --final-step' fitted one scale, and the page's command to
    # refine its optimum ('mixlaw optimize --runs sweep --law linear ...') dropped both options: run as printed, it
    # fitted every size and checkpoint (another law, with the scale warning). It now keeps them, and runs clean.
    import re
    import shlex

    fit, held = _tables(tmp_path)
    out = tmp_path / "r.html"
    code, _, err = run_cli(capsys, "report", "--runs", fit, "--test", held, "--laws", "linear", "--target", "web",
                           "--at-params", "largest", "--final-step", "--out", str(out))
    assert code == 0, err
    page = re.sub(r"<[^>]+>", "", html.unescape(out.read_text()))
    command = re.search(r"for it: (mixlaw optimize .*?) with --bounds", page).group(1)
    assert "--at-params largest" in command and "--final-step" in command, command
    code, _, err = run_cli(capsys, *shlex.split(command)[1:])
    assert code == 0 and "one loss surface" not in err, err


def test_report_with_holdout_says_its_optimize_command_fits_every_row(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # hunt31: 'report --runs dclm.parquet --holdout 0.2' (Olmix's DCLM swarm) fitted the page's optimum on 102 of
    # the 127 runs and offered 'mixlaw optimize --runs dclm.parquet --law ye-exp ...' for its bounds and intervals,
    # which fits all 127 (optimize has no holdout): another optimum, best run and natural mixture, with no word.
    import re

    fit, _ = _tables(tmp_path)
    out = tmp_path / "r.html"
    code, _, err = run_cli(capsys, "report", "--runs", fit, "--holdout", "0.2", "--laws", "linear", "--target",
                           "web", "--at-params", "largest", "--final-step", "--out", str(out))
    assert code == 0, err
    page = re.sub(r"<[^>]+>", "", html.unescape(out.read_text()))
    # The 10 rows at the largest size's last step of the table's 200, which the command keeps (review31b: 'all 10
    # rows of fit.csv' was said of all 200).
    assert (f"(it fits all 10 rows of {fit} at --at-params largest --final-step, the held-out ones too; this page's "
            "optimum is fitted on the 8 rows of --holdout 0.2 --seed 0)") in page
    code, _, err = run_cli(capsys, "report", "--runs", fit, "--holdout", "0.2", "--laws", "linear", "--target",
                           "web", "--out", str(out))
    page = re.sub(r"<[^>]+>", "", html.unescape(out.read_text()))
    assert code == 0 and f"(it fits all 200 rows of {fit}, the held-out ones too; this page's optimum is fitted on " \
        "the 160 rows of --holdout 0.2 --seed 0)" in page, err
    code, _, err = run_cli(capsys, "report", "--runs", fit, "--test", fit, "--laws", "linear", "--target", "web",
                           "--out", str(out))
    assert code == 0 and "held-out ones too" not in html.unescape(out.read_text())


def test_report_optimises_a_law_across_token_counts_at_the_largest(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # bimix fitted across token counts (1e8 and 4e8) has an optimum at each: the page said "Optimal mixture not
    # available: ... give the scale to optimise at (mixlaw optimize --tokens ...)". It shows the one at the largest.
    from token_sweep import token_sweep

    frame = token_sweep(seed=3)
    runs, out = tmp_path / "runs.csv", tmp_path / "r.html"
    frame.to_csv(runs, index=False)
    code, _, err = run_cli(capsys, "report", "--runs", str(runs), "--holdout", "0.2", "--laws", "bimix",
                           "--target", "web", "--out", str(out))
    assert code == 0, err
    page = html.unescape(out.read_text())
    assert "not available" not in page
    assert "within the fitted range, at 4e+08 tokens, beside the mean mixture of the runs there)" in page
    assert "the largest, 4e+08 tokens" in page
    assert "--target web --tokens 4e+08</code>" in page
    assert "[[Optimal mixture]]  law=bimix  tokens=4e+08  objective=loss of web" in page  # as optimize's header
    best = page.split("best run (measured) = ")[1].split("'")[1]
    assert frame.set_index("run").loc[best, "tokens"] == 4e8


def test_report_optimises_a_law_across_sizes_and_token_counts_at_a_measured_scale() -> None:
    # review33d: auto (which takes both) on runs at (1e7 params, 1e8 / 4e8 tokens) and (4e7, 1e8) was optimised at
    # 4e7 params and 4e8 tokens, the largest of each, a scale no run was measured at: the page had no best run and
    # its nearest run was "of every scale". It is the largest size's, at its largest token count.
    import numpy as np
    import pandas as pd

    from mixlaw.data import RunTable
    from mixlaw.laws import get_law
    from mixlaw.report import _scale_of_optimum

    rng = np.random.default_rng(0)
    scales = [(1e7, 4e8), (1e7, 1e8), (4e7, 1e8)] * 4
    W = rng.dirichlet(np.ones(2), len(scales))
    frame = pd.DataFrame({"run": [f"r{i}" for i in range(len(scales))], "w:web": W[:, 0], "w:code": W[:, 1],
                          "params": [n for n, _ in scales], "tokens": [d for _, d in scales],
                          "loss:web": 3 + rng.random(len(scales))})
    train = RunTable(frame)
    assert _scale_of_optimum(get_law("auto"), train) == {"params": 4e7, "tokens": 1e8}
    assert _scale_of_optimum(get_law("bimix"), train) == {"params": None, "tokens": 4e8}  # takes the tokens alone
    assert _scale_of_optimum(get_law("dz-eq1"), train) == {"params": 4e7, "tokens": None}


def _page_text(tmp_path, capsys, frame, law: str) -> str:  # type: ignore[no-untyped-def]
    """The text (tags dropped) of 'mixlaw report --laws LAW --target web' on ``frame``, held out on every 5th run."""
    import re

    runs, held, out = tmp_path / "runs.csv", tmp_path / "held.csv", tmp_path / "r.html"
    frame.to_csv(runs, index=False)
    frame.iloc[::5].to_csv(held, index=False)
    code, _, err = run_cli(capsys, "report", "--runs", str(runs), "--test", str(held), "--laws", law,
                           "--target", "web", "--out", str(out))
    assert code == 0, err
    return re.sub(r"<[^>]+>", "", html.unescape(out.read_text()))


def test_report_compares_its_optimum_with_the_runs_at_its_scale(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # left34: the page compared bimix's optimum at 4e8 tokens with the mean mixture of every run (1e8 and 4e8: web
    # 0.506 of token_sweep(seed=3)), where 'mixlaw optimize --tokens 4e8', whose command the page offers, compares
    # with the mean of the runs at 4e8.
    import re

    import pytest
    from token_sweep import token_sweep

    frame = token_sweep(seed=3)
    page = _page_text(tmp_path, capsys, frame, "bimix")
    here = frame.loc[frame["tokens"] == 4e8, "w:web"].mean()
    assert abs(here - frame["w:web"].mean()) > 1e-3  # the two means differ
    assert "beside the mean mixture of the runs there)" in page
    assert "for the mean training mixture at 4e+08 tokens" in page
    assert "natural mixture (mean of the runs at 4e+08 tokens)" in page
    web = re.search(r"\n    web +[0-9.]+ +([0-9.]+) ", page)
    assert web is not None and float(web.group(1)) == pytest.approx(here, abs=1e-4)


def test_report_says_when_its_laws_optimum_takes_no_scale(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # review34a: auto on runs at 1e8 and 4e8 tokens whose losses no token count enters chose a law without tokens;
    # the page said "It takes the scale as an input ...: this is its optimum at the largest, 4e+08 tokens" above
    # optimize's own note (in the page's block) that "tokens=4e+08 does not enter this optimum".
    import re

    from test_optimize_scale_option import _scale_free_sweep

    page = _page_text(tmp_path, capsys, _scale_free_sweep(), "auto")
    assert "note: tokens=4e+08 does not enter this optimum" in page
    assert "It takes the scale as an input" not in page
    assert "within the fitted range, beside the mean mixture of the runs at 4e+08 tokens)" in page
    assert re.search(r"But law 'auto' chose [\w-]+ \(for web\), which takes no token counts, so its optimum is the "
                     r"same at every token count\.", page)
    assert "--target web --tokens 4e+08 with" in page  # its command still reads the runs at 4e8
