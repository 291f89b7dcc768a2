"""``--law auto`` on many eval sets: a summary a person can read (CV per law, one line per eval set, grouped
warnings), the full report on --verbose / --json, deterministic choices, and fits shared within a CV."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pandas as pd
from cli_runner import run_cli as _cli

from mixlaw.fit_report import group_warnings
from mixlaw.laws import get_law
from mixlaw.laws import loglinear_sat as llsat
from mixlaw.laws.selection import FIT_CACHE, SUMMARY_EVALS, cross_validate

DOMAINS = ["web", "code", "books"]
N_EVALS = 40


def _many(n: int = 60, k: int = N_EVALS, seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """k eval sets: half follow Ye's exponential law, half are linear in the shares (so both laws get chosen)."""
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.ones(3), size=n)
    cols = []
    for i in range(k):
        t = rng.normal(0, 1, 3)
        y = 2 + np.exp(W @ t) if i % 2 == 0 else 3 + W @ t
        cols.append(y * np.exp(rng.normal(0, 0.003, n)))
    return W, np.column_stack(cols), [f"eval{i:02d}" for i in range(k)]


def _write(path, W, Y, names) -> str:
    pd.DataFrame({"run": [f"r{i}" for i in range(len(W))], **{f"w:{d}": W[:, j] for j, d in enumerate(DOMAINS)},
                  **{f"loss:{t}": Y[:, i] for i, t in enumerate(names)}}).to_csv(path, index=False)
    return str(path)


def test_fit_auto_on_many_evals_prints_a_bounded_summary_with_the_cv_first(capsys, tmp_path) -> None:
    W, Y, names = _many()
    runs = _write(tmp_path / "runs.csv", W, Y, names)
    args = ["fit", "--runs", runs, "--law", "auto", "--candidates", "ye-exp,linear,loglinear"]
    code, out, _ = _cli(capsys, *args)
    assert code == 0
    lines = out.splitlines()
    # The CV near the top, before any parameter; per law: how often chosen, over all 40 eval sets.
    assert lines[3] == "[[Cross-validation]]"
    head = out.index("per law over 40 eval sets")
    assert head < out.index("[[Params]]")
    chosen = {ln.split()[0]: int(ln.split()[1]) for ln in lines if ln.split()[:1] in (["ye-exp"], ["linear"],
                                                                                        ["loglinear"])
              and len(ln.split()) > 2 and ln.split()[1].isdigit()}
    assert sum(chosen.values()) == N_EVALS and chosen["ye-exp"] > 0 and chosen["linear"] > 0
    # One line per eval set (its choice and runner-up), parameters counted, not listed: bounded by the evals.
    for t in names:
        assert sum(1 for ln in lines if ln.split()[:1] == [t]) == 1
    # the flag and the Python call: "--verbose lists them" named a flag a notebook has not
    assert "[[Params]]  " in out and "--verbose (report().text(verbose=True)) lists them" in out
    assert "bounds=[" not in out
    assert len(lines) <= N_EVALS + 30
    # --verbose: the full report (every parameter, every CV row); --json: every row as data, unchanged.
    code, full, _ = _cli(capsys, *args, "--verbose")
    assert code == 0 and "bounds=[" in full and "  eval07:" in full and len(full.splitlines()) > 5 * len(lines)
    code, doc, _ = _cli(capsys, *args, "--json")
    doc = json.loads(doc)
    assert len(doc["cv"]["rows"]) == 3 * N_EVALS and len(doc["report"]["params"]) > 3 * N_EVALS


def test_few_evals_keep_the_full_report() -> None:
    W, Y, names = _many(k=SUMMARY_EVALS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        law = get_law("auto", candidates=["ye-exp", "linear"]).fit(W, Y, domains=DOMAINS, targets=names)
    text = str(law.report())
    assert "bounds=[" in text and f"  {names[0]}:" in text and "per law over" not in text


def test_few_evals_but_many_parameters_print_a_summary(monkeypatch) -> None:
    # A stack on one eval of Olmix's 64-domain swarm listed 452 parameters (460 lines) before its stack weights and
    # CV; above SUMMARY_PARAMS free parameters the report is the summary however few the eval sets (the CV in full).
    from mixlaw.laws import auto as auto_module

    W, Y, names = _many(k=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        law = get_law("stack", candidates=["ye-exp", "linear"]).fit(W, Y, domains=DOMAINS, targets=names)
    n_free = sum(1 for p in law.params_.values() if p.vary)
    assert "bounds=[" in str(law.report())  # under the threshold: the full report
    monkeypatch.setattr(auto_module, "SUMMARY_PARAMS", n_free - 1)
    text = str(law.report())
    assert "bounds=[" not in text and f"[[Params]]  {n_free} free" in text
    assert "--verbose (report().text(verbose=True)) lists them" in text
    assert "[[Cross-validation]]" in text and f"  {names[0]}:" in text  # the CV table in full: 2 eval sets
    assert "bounds=[" in law.report().text(verbose=True)


def test_auto_choices_are_deterministic() -> None:
    W, Y, names = _many(k=8)
    fits = []
    for _ in range(2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fits.append(get_law("auto", candidates=["ye-exp", "linear", "lightgbm"], random_state=3)
                        .fit(W, Y, domains=DOMAINS, targets=names))
    assert fits[0].choice_ == fits[1].choice_
    assert fits[0].cv_.to_dict() == fits[1].cv_.to_dict()
    assert fits[0].cv_.summary() == fits[1].cv_.summary()


def test_warnings_are_grouped_by_law_and_shape_with_counts() -> None:
    evals = ["arc:rc", "mmlu", "hellaswag", "piqa", "boolq", "copa"]
    warns = [f"[ye-exp:{e}] {e}.t_{d} at upper bound {b}" for e, b in zip(evals, [30, 45, 60, 30, 30, 30],
                                                                             strict=True) for d in ("web", "code")]
    warns += [f"[bimix:{e}] {e}.log_eps at upper bound 4.60517" for e in evals[:2]]
    warns += ["[bimix:mmlu] mmlu.log_eps at upper bound 4.60517"]  # said twice: counted, not listed twice
    lines = group_warnings(warns, evals, ["web", "code"])
    assert lines == [
        "ye-exp: t_<domain> at upper bound # on 6 eval sets (arc:rc, mmlu, hellaswag, piqa and 2 more), 12 times",
        "bimix: log_eps at upper bound 4.60517 on 2 eval sets (arc:rc, mmlu), 3 times",
    ]


class _NoStore(dict):
    """A fit cache that keeps nothing: every fit is done (the CV as it was before fits were shared)."""

    def __setitem__(self, key, value) -> None:
        pass


def test_gp_residual_reuses_the_loglinear_sat_fold_fits_with_identical_results(monkeypatch) -> None:
    W, Y, names = _many(n=50, k=2, seed=1)
    calls = {"n": 0}
    real = llsat.LogLinearSat._fit

    def counted(self, *a, **k):
        calls["n"] += 1
        return real(self, *a, **k)

    monkeypatch.setattr(llsat.LogLinearSat, "_fit", counted)
    kw = {"domains": DOMAINS, "targets": names, "candidates": ["loglinear-sat", "gp-residual"], "n_folds": 3}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        shared = cross_validate(W, Y, **kw)
        n_shared = calls["n"]
        token = FIT_CACHE.set(_NoStore())
        try:
            alone = cross_validate(W, Y, **kw)
        finally:
            FIT_CACHE.reset(token)
    # Each fold's loglinear-sat fitted once (the candidate), not again as gp-residual's base; same predictions.
    assert n_shared == 3 and calls["n"] - n_shared == 6
    for key in shared.oof:
        np.testing.assert_array_equal(shared.oof[key], alone.oof[key])
    assert FIT_CACHE.get() is None
    assert shared.table.to_dict() == alone.table.to_dict()


def test_cv_on_worker_processes_gives_the_same_table_and_choices(capsys, tmp_path) -> None:
    W, Y, names = _many(n=50, k=6, seed=2)
    kw = {"domains": DOMAINS, "targets": names, "candidates": ["ye-exp", "linear", "loglinear-sat", "gp-residual"],
          "n_folds": 3}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one, two = cross_validate(W, Y, **kw), cross_validate(W, Y, n_jobs=2, **kw)
    assert one.table.to_dict() == two.table.to_dict()
    for key in one.oof:
        np.testing.assert_array_equal(one.oof[key], two.oof[key])
    runs = _write(tmp_path / "runs.csv", W, Y, names)
    docs = []
    for workers in ("1", "2"):
        code, out, _ = _cli(capsys, "fit", "--runs", runs, "--law", "auto", "--candidates", "ye-exp,linear",
                            "--cv-folds", "3", "--workers", workers, "--json")
        assert code == 0
        docs.append(json.loads(out))
    assert docs[0]["cv"] == docs[1]["cv"] and docs[0]["choice"] == docs[1]["choice"]
    code, _, err = _cli(capsys, "fit", "--runs", runs, "--law", "auto", "--workers", "0")
    assert code == 2 and "--workers (cv_workers(n)) must be at least 1" in err


def test_a_table_without_choices_summarises_the_best_law_not_a_chosen_one() -> None:
    # A bare cross_validate table (compare's, the API's) records no choice: the summary read 'chosen 0' for every
    # law and named as 'the chosen law (*)' of each eval set the lowest-S law, with no '*' anywhere.
    W, Y, names = _many(k=SUMMARY_EVALS + 3)
    table = cross_validate(W, Y, domains=DOMAINS, targets=names, candidates=["linear", "ye-exp"], n_folds=3).table
    assert table.chosen == {}
    text = table.summary()
    assert "chosen" not in text and "(*)" not in text
    best = {t: min(table.ok(t), key=lambda r: r.metrics["score"]).name for t in names}
    rows = {ln.split()[0]: ln.split() for ln in text.splitlines()[3:5]}
    assert {n: int(r[1]) for n, r in rows.items()} == {n: list(best.values()).count(n) for n in ("linear", "ye-exp")}
    for t in names:
        assert re.search(rf"^\s+{t}\s+{re.escape(best[t])}\s", text, re.M)
    # With choices (auto's table), the same lines name the chosen law.
    auto = get_law("auto", candidates=["linear", "ye-exp"], n_folds=3).fit(W, Y, domains=DOMAINS, targets=names)
    text = auto.cv_.summary()
    assert "the chosen law, its S" in text and "(*)" not in text
    for t in names:
        assert re.search(rf"^\s+{t}\s+{re.escape(auto.cv_.chosen[t])}\s", text, re.M)


def test_fold_fits_run_blas_on_one_thread_with_the_numbers_of_a_multithreaded_fit(monkeypatch) -> None:
    # A multi-threaded BLAS call outside the solvers woke OpenBLAS's second thread, which then spun: fold fits cost
    # 10-30 % more CPU than wall time on 2 cores. The CV now fits each fold on one thread; the predictions are those
    # of cross_val_predict (no thread limit of its own) under 4 BLAS threads, to rounding.
    from threadpoolctl import threadpool_info, threadpool_limits

    from mixlaw.laws import selection

    W, Y, names = _many(n=50, k=2, seed=2)
    seen = []
    real = selection._fold_predict

    def spy(*a, **k):
        seen.extend(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas")
        return real(*a, **k)

    monkeypatch.setattr(selection, "_fold_predict", spy)
    keys = ["ye-exp", "loglinear-sat", "lightgbm"]
    with warnings.catch_warnings(), threadpool_limits(limits=4, user_api="blas"):
        warnings.simplefilter("ignore")
        cv = cross_validate(W, Y, domains=DOMAINS, targets=names, candidates=keys, n_folds=3, screen=False)
        in_cv = list(seen)
        for key in keys:
            want, _ = selection.cross_val_predict(key, W, Y, cv.folds, domains=DOMAINS, targets=names)
            np.testing.assert_allclose(cv.oof[(key, "per-eval")], want, rtol=0, atol=1e-10)
    assert in_cv and set(in_cv) == {1} and 4 in seen  # cross_val_predict's fits: 4 threads
