"""``--workers auto``, the CLI's default for the fold fits of auto / stack's cross-validation: the usable CPUs
(at most 8), 1 inside a worker process, overridden by MIXLAW_CV_WORKERS; results equal to one process."""

from __future__ import annotations

import json
import multiprocessing
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
import pytest
from cli_runner import run_cli as _cli

from mixlaw import _workers
from mixlaw.api import fit_table
from mixlaw.data import RunTable
from mixlaw.errors import InputError
from mixlaw.laws import selection
from mixlaw.laws.selection import CV_JOBS, cv_workers

DOMAINS = ["web", "code", "books"]
CANDIDATES = "ye-exp,linear,loglinear"


def _table(n: int = 36, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.ones(3), size=n)
    y1 = 2 + np.exp(W @ np.array([0.5, -1.0, 0.2])) * np.exp(rng.normal(0, 0.01, n))
    y2 = 3 + W @ np.array([-0.4, 0.3, 0.1]) + rng.normal(0, 0.005, n)
    return pd.DataFrame({"run": [f"r{i}" for i in range(n)], **{f"w:{d}": W[:, j] for j, d in enumerate(DOMAINS)},
                         "loss:a": y1, "loss:b": y2})


@pytest.fixture
def two_cpus(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """``auto`` as on a 2-CPU machine (whatever this one has, and without the suite's MIXLAW_CV_WORKERS=1); the
    list records the size of every process pool the CV starts."""
    monkeypatch.delenv(_workers.ENV, raising=False)
    monkeypatch.setattr(_workers, "usable_cpus", lambda: 2)
    pools: list[int] = []

    class Recording(ProcessPoolExecutor):
        def __init__(self, max_workers: int, **kw: object) -> None:
            pools.append(max_workers)
            super().__init__(max_workers=max_workers, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(selection, "ProcessPoolExecutor", Recording)
    return pools


def test_auto_is_the_usable_cpus_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_workers.ENV, raising=False)
    for cpus, want in ((1, 1), (2, 2), (8, 8), (64, _workers.MAX_AUTO_WORKERS)):
        monkeypatch.setattr(_workers, "usable_cpus", lambda c=cpus: c)
        assert _workers.resolve_workers("auto") == want
        assert _workers.resolve_workers(None, default="auto") == want
    assert _workers.resolve_workers(None) == 1  # the library's default: this process
    assert _workers.resolve_workers(3) == _workers.resolve_workers("3") == 3  # a count is used as given
    monkeypatch.setenv(_workers.ENV, "5")
    assert _workers.resolve_workers("auto") == 5 and _workers.resolve_workers(2) == 2  # the variable overrides auto
    monkeypatch.setenv(_workers.ENV, "auto")
    assert _workers.resolve_workers("auto") == _workers.MAX_AUTO_WORKERS
    monkeypatch.setenv(_workers.ENV, "0")
    with pytest.raises(InputError, match=f"environment variable {_workers.ENV} must be at least 1"):
        _workers.resolve_workers("auto")


@pytest.mark.parametrize("bad", [0, -2, "0", "two", "", 1.5, True])
def test_a_bad_count_is_refused_naming_the_flag_and_keyword(bad: object) -> None:
    with pytest.raises(InputError, match=r"--workers \(n_jobs=\) must be"):
        _workers.parse_workers(bad)  # type: ignore[arg-type]


def _auto_in_a_worker() -> int:
    return _workers.auto_workers()


def test_auto_is_one_inside_a_worker_process(monkeypatch: pytest.MonkeyPatch) -> None:
    # A bootstrap worker refitting auto / stack (or a user's own pool) runs its CV in itself: no pool in a pool.
    monkeypatch.setattr(_workers, "usable_cpus", lambda: 4)
    assert _workers.auto_workers() == 4
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("needs fork: the patched count must reach the worker")
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as ex:
        assert ex.submit(_auto_in_a_worker).result() == 1


def _resolved_in_a_worker() -> tuple[int, int]:
    return _workers.resolve_workers("auto"), _workers.resolve_workers(3)


def test_the_variable_does_not_nest_pools_inside_a_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    # MIXLAW_CV_WORKERS=4 made "auto" 4 inside a bootstrap worker too: 4 workers x 4 CV processes. A count given
    # explicitly is still obeyed.
    monkeypatch.setenv(_workers.ENV, "4")
    assert _workers.resolve_workers("auto") == 4
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("needs fork: the variable must reach the worker")
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as ex:
        assert ex.submit(_resolved_in_a_worker).result() == (1, 3)


def test_the_cli_default_is_auto_and_gives_what_one_process_gives(capsys, tmp_path, two_cpus) -> None:
    runs = tmp_path / "runs.csv"
    _table().to_csv(runs, index=False)
    args = ["fit", "--runs", str(runs), "--law", "stack", "--candidates", CANDIDATES, "--cv-folds", "3", "--json"]
    code, default, _ = _cli(capsys, *args)
    assert code == 0 and two_cpus and set(two_cpus) == {2}  # the default started 2-process pools
    n_pools = len(two_cpus)
    code, one, _ = _cli(capsys, *args, "--workers", "1")
    assert code == 0 and len(two_cpus) == n_pools  # --workers 1: no pool
    code, auto, _ = _cli(capsys, *args, "--workers", "auto")
    assert code == 0 and len(two_cpus) == 2 * n_pools
    docs = [json.loads(d) for d in (default, one, auto)]
    for d in docs:
        assert d["report"]["stats"].pop("fit_seconds") > 0  # wall time, the one number that may differ
    assert docs[0] == docs[1] == docs[2]  # CV table, weights, parameters, predictions' report: every other number
    for bad in ("0", "many"):
        code, _, err = _cli(capsys, *args, "--workers", bad)
        assert code == 2 and "--workers (cv_workers(n)) must be" in err  # fit_table has no n_jobs


def test_stack_on_workers_predicts_bit_for_bit_as_in_one_process(two_cpus) -> None:
    table = RunTable(_table(n=40, seed=3))
    fits = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for jobs in (1, "auto"):
            with cv_workers(jobs):
                fits[jobs] = fit_table(table, candidates=CANDIDATES.split(","), n_folds=4)
    assert two_cpus == [2, 2]  # fold 1, then the other folds, each on a 2-process pool
    one, auto = fits[1], fits["auto"]
    W = np.random.default_rng(9).dirichlet(np.ones(3), size=50)
    np.testing.assert_array_equal(one.predict(W), auto.predict(W))
    np.testing.assert_array_equal(one.predict(table.weights), auto.predict(table.weights))
    assert one.cv_.to_dict() == auto.cv_.to_dict()
    assert one.to_dict() == auto.to_dict()


def test_the_python_default_is_one_process(two_cpus) -> None:
    # fit_table / AutoLaw / StackLaw fork no process unless asked (cv_workers, or cross_validate's n_jobs=): a
    # library call may run in a threaded process (a notebook, a server) where a fork is unsafe.
    assert CV_JOBS.get() is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit_table(RunTable(_table()), candidates=["linear", "loglinear"], n_folds=3)
    assert two_cpus == []
    with pytest.raises(InputError, match=r"--workers \(cv_workers\(n\)\) must be at least 1"), cv_workers(0):
        pass


def test_optimize_takes_auto_and_names_the_flag_on_a_bad_count(capsys, tmp_path) -> None:
    runs = tmp_path / "runs.csv"
    _table().to_csv(runs, index=False)
    args = ["optimize", "--runs", str(runs), "--law", "ye-exp", "--target", "a", "--json"]
    code, one, _ = _cli(capsys, *args, "--workers", "1")
    code2, auto, _ = _cli(capsys, *args, "--workers", "auto")
    assert code == code2 == 0 and json.loads(one)["optimum"] == json.loads(auto)["optimum"]
    code, _, err = _cli(capsys, *args, "--bootstrap", "4", "--workers", "0")
    assert code == 2 and "--workers (n_jobs=) must be at least 1" in err


def test_optimize_defaults_to_auto_for_its_cv_and_not_under_bootstrap(capsys, tmp_path, two_cpus) -> None:
    runs = tmp_path / "runs.csv"
    _table().to_csv(runs, index=False)
    args = ["optimize", "--runs", str(runs), "--law", "auto", "--candidates", "linear,loglinear", "--cv-folds", "3",
            "--json"]
    code, default, _ = _cli(capsys, *args)
    assert code == 0 and two_cpus and set(two_cpus) == {2}
    n_pools = len(two_cpus)
    code, one, _ = _cli(capsys, *args, "--workers", "1")
    assert code == 0 and len(two_cpus) == n_pools
    assert json.loads(default)["optimum"] == json.loads(one)["optimum"]
    # With --bootstrap, --workers is the bootstrap's; its refits run the CV in themselves (no pool in a pool).
    code, _, _ = _cli(capsys, *args, "--bootstrap", "2", "--workers", "1")
    assert code == 0 and len(two_cpus) == n_pools
