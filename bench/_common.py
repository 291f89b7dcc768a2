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
