"""Shared fixtures: a tiny four-domain corpus (built once per session) and a tiny, fast run config."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from mixlaw.train.config import ProxyConfig  # noqa: E402
from mixlaw.train.corpus import build_corpus  # noqa: E402

DOMAINS = ["docs", "legal", "scripture", "math"]


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> str:
    """60 kB per domain: enough windows of 32 bytes, built in well under a second."""
    out = tmp_path_factory.mktemp("corpus") / "tiny"
    build_corpus(out, domains=DOMAINS, max_bytes=60_000, seed=0)
    return str(out)


@pytest.fixture()
def tiny_config(tiny_corpus: str) -> ProxyConfig:
    """A ~10k-parameter model, 32-byte context, 40 steps of 8 sequences, one thread (immune to other load)."""
    return ProxyConfig(corpus=tiny_corpus, mixture={"docs": 0.4, "legal": 0.2, "scripture": 0.2, "math": 0.2},
                       model_size=10_000, block_size=32, batch_size=8, train_tokens=40 * 8 * 32, eval_every=10,
                       eval_tokens=512, lr=3e-3, num_threads=1)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip this folder's ``slow`` tests unless asked for (``-m slow``): the default suite stays fast."""
    if "slow" in (config.getoption("-m") or ""):
        return
    here = str(__import__("pathlib").Path(__file__).parent)
    skip = pytest.mark.skip(reason="slow training test; run with -m slow")
    for item in items:
        if "slow" in item.keywords and str(item.path).startswith(here):
            item.add_marker(skip)
