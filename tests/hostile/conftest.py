"""Fixtures of the hostile-input tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("torch")
    from mixlaw.train.corpus import build_corpus

    out = tmp_path_factory.mktemp("corpus") / "c"
    build_corpus(out, domains=["math", "docs"], max_bytes=20_000, seed=0)
    return out


