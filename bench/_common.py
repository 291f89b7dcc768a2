"""Helpers the bench scripts share (bench/ is no package: each script runs as `python bench/<name>.py`, which puts
this folder first on sys.path, so `from _common import ...` finds this file)."""

from __future__ import annotations

import importlib.util
import resource
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def load_bench(name: str) -> Any:
    """bench/<name>.py as a module, registered under its own name so that worker processes can pickle its functions."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def timed(fn: Callable[[], T]) -> tuple[T, float, float]:
    """(result, wall s, CPU s of this process and its finished worker processes)."""
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    child = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    return out, time.perf_counter() - w0, time.process_time() - c0 + child


def extract_src(rev: str, dest: Path) -> Path:
    """The ``src`` tree of git revision ``rev`` of this repository, extracted under ``dest`` (``git archive``): run a
    child with ``PYTHONPATH`` set to it to measure that revision's code in the same session."""
    archive = dest / "src.tar"
    repo = Path(__file__).resolve().parents[1]
    subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", "-o", str(archive), rev, "src"], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    return dest / "src"


def saved_coverage_at(res: Any, points: dict[str, tuple[Any, Any, float, float]]) -> None:
    """Print the coverage of a pipeline's intervals read back from its saved file, as ``mixlaw predict --pipeline``
    reads them (the intervals :func:`~mixlaw.pipeline.io.load_pipeline` rebuilds, at the saved target or at any
    other scale, as :meth:`~mixlaw.pipeline.PipelineResult.interval`). ``points``: name -> (mixtures, measured
    losses (mixtures x the pipeline's targets), params, step or token count on the pipeline's time axis). One
    line per point: covered / losses, coverage, mean relative half-width, MRE of the predictions."""
    import tempfile

    import numpy as np

    from mixlaw.pipeline.io import NO_SAVED_INTERVALS, load_pipeline, save_pipeline

    axis = "steps" if res.time_axis == "step" else "tokens"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pipeline.json"
        save_pipeline(res, path)
        kept = load_pipeline(path)
        print(f"  {'point':<14}{'params':>10}{axis:>10}{'covered':>10}{'coverage':>10}{'mean half-width':>17}"
              f"{'MRE':>8}")
        for name, (W, y, N, T) in points.items():
            W, y = np.asarray(W, dtype=np.float64), np.asarray(y, dtype=np.float64)
            at_target = N == kept.target_params and T == kept.target_time
            center = kept.predict(W) if at_target else kept.predict(W, params=N, **{axis: T})
            iv = kept.intervals  # the predictions above, not recomputed (at another scale they refit stages)
            why = NO_SAVED_INTERVALS if iv is None else None if at_target else iv.why_not_at_scale()
            if why is not None:
                print(f"  {name:<14}{N:>10.4g}{T:>10.4g}   no intervals: {why}")
                continue
            lo, hi = iv.at(W, center) if at_target else iv.at_scale(W, center, N, T)[:2]
            inside = int(np.sum((y >= lo) & (y <= hi)))
            print(f"  {name:<14}{N:>10.4g}{T:>10.4g}{f'{inside}/{y.size}':>10}{inside / y.size:>10.0%}"
                  f"{float(np.mean((hi - lo) / 2 / center)):>17.2%}{float(np.mean(np.abs(center / y - 1))):>8.2%}")
