"""Corpus builder and loader: domains, manifest, splits, custom domains and corruption detection."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from mixlaw.errors import DataError, InputError
from mixlaw.train.corpus import BUILTIN_DOMAINS, EOT, build_corpus
from mixlaw.train.data import Corpus, MixtureSampler, eval_windows


def test_builtin_corpus_has_six_distinct_domains_with_provenance(tmp_path: Path) -> None:
    manifest = build_corpus(tmp_path / "c", max_bytes=20_000)
    assert list(manifest["domains"]) == list(BUILTIN_DOMAINS)
    assert len(manifest["domains"]) >= 6
    samples = {}
    for name, entry in manifest["domains"].items():
        assert entry["licence"] and entry["source"] and entry["documents"] >= 1
        for split in ("train", "val"):
            s = entry["splits"][split]
            data = (tmp_path / "c" / s["file"]).read_bytes()
            assert len(data) == s["tokens"] > 0 and hashlib.sha256(data).hexdigest() == s["sha256"]
        assert 0.05 < entry["splits"]["val"]["tokens"] / (entry["splits"]["train"]["tokens"]
                                                          + entry["splits"]["val"]["tokens"]) < 0.3
        samples[name] = (tmp_path / "c" / entry["splits"]["train"]["file"]).read_bytes()[:4000]
    # The domains really differ: code has 'def ', dialogue has speaker turns, scripture verse numbers...
    assert b"def " in samples["code"] and b"\nB: " in samples["dialogue"]
    assert b" = " in samples["math"] and b"LORD" in (tmp_path / "c/scripture/train.bin").read_bytes()
    assert json.loads((tmp_path / "c/manifest.json").read_text())["vocab_size"] == 256


def test_build_is_deterministic(tmp_path: Path) -> None:
    a = build_corpus(tmp_path / "a", domains=["math", "legal"], max_bytes=5_000, seed=3)
    b = build_corpus(tmp_path / "b", domains=["math", "legal"], max_bytes=5_000, seed=3)
    assert a["domains"] == {k: v for k, v in b["domains"].items()}
    assert Corpus(tmp_path / "a").fingerprint == Corpus(tmp_path / "b").fingerprint


def test_user_domain_from_folder(tmp_path: Path) -> None:
    docs = tmp_path / "notes"
    docs.mkdir()
    for i in range(10):
        (docs / f"{i}.txt").write_text(f"note {i}: " + "lorem ipsum dolor sit amet " * 20)
    (docs / "blob.bin").write_bytes(b"\x00\x01" * 100)  # binary: skipped
    manifest = build_corpus(tmp_path / "c", domains=["math"], extra={"notes": docs}, max_bytes=10_000)
    entry = manifest["domains"]["notes"]
    assert entry["licence"].startswith("unknown") and entry["documents"] == 10
    train = Corpus(tmp_path / "c").array("notes", "train")
    assert train.dtype == np.uint8 and bytes(train[:5]) in (b"note ",) and EOT in np.asarray(train)


def test_build_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"unknown built-in domain\(s\) \['web'\]"):
        build_corpus(tmp_path / "c", domains=["web", "math"])
    with pytest.raises(InputError, match="at least two domains"):
        build_corpus(tmp_path / "c", domains=["math"])
    with pytest.raises(InputError, match="does not exist"):
        build_corpus(tmp_path / "c", domains=["math"], extra={"mine": tmp_path / "nope"})


def test_corrupt_or_missing_files_fail_clearly(tiny_corpus: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    shutil.copytree(tiny_corpus, bad)
    with open(bad / "math/train.bin", "r+b") as fh:  # same size, one flipped byte
        fh.seek(100)
        byte = fh.read(1)
        fh.seek(100)
        fh.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(DataError, match=r"math/train\.bin: corrupt token file: SHA-256"):
        Corpus(bad)
    (bad / "math/train.bin").write_bytes(b"short")
    with pytest.raises(DataError, match="corrupt token file: 5 bytes"):
        Corpus(bad)
    (bad / "math/train.bin").unlink()
    with pytest.raises(DataError, match="missing token file of domain 'math'"):
        Corpus(bad)
    (bad / "manifest.json").write_text("{not json")
    with pytest.raises(DataError, match="corrupt corpus manifest"):
        Corpus(bad)
    with pytest.raises(DataError, match="no corpus manifest"):
        Corpus(tmp_path / "nowhere")


def test_sampler_follows_mixture_weights(tiny_corpus: str) -> None:
    corpus = Corpus(tiny_corpus)
    weights = [0.7, 0.0, 0.1, 0.2]
    sampler = MixtureSampler(corpus, weights, batch_size=64, block_size=16, rng=np.random.default_rng(0))
    counts = np.zeros(4)
    for _ in range(100):
        x, y, dom = sampler.sample()
        assert x.shape == y.shape == (64, 16) and np.array_equal(x[:, 1:], y[:, :-1])
        counts += np.bincount(dom, minlength=4)
    np.testing.assert_allclose(counts / counts.sum(), weights, atol=0.02)
    assert counts[1] == 0  # a zero weight is never drawn
    w = eval_windows(corpus.array("math", "val"), 100, 16)
    assert w.shape == (7, 17) and w.dtype == np.int64


def test_a_domain_given_twice_is_an_error_not_the_last_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # newuser4: `corpus build --domain x=a.txt --domain x=b.txt` built x from b.txt alone, without a word.
    from cli_runner import run_cli

    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text("some text of my own. " * 100)
    code, _, err = run_cli(capsys, "corpus", "build", "--out", str(tmp_path / "c"), "--domains", "math",
                           "--domain", f"x={tmp_path / 'a.txt'}", "--domain", f"x={tmp_path / 'b.txt'}")
    assert code == 2 and "--domain 'x' given twice" in err, err
    assert not (tmp_path / "c").exists()
