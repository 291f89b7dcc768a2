"""Read a built corpus as memory maps and draw training batches by mixture weights.

:class:`Corpus` opens ``manifest.json`` and checks every token file (present, right size, right SHA-256)
before training touches it, so a truncated or edited corpus fails with one clear line instead of a
silently different run. :class:`MixtureSampler` draws each sequence's domain from the mixture, then a
uniform window inside that domain's training split.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError, InputError
from .corpus import FORMAT


class Corpus:
    """A corpus folder written by :func:`~mixlaw.train.corpus.build_corpus`.

    Parameters
    ----------
    path : path
        The folder holding ``manifest.json``.
    verify : bool, default True
        Check each file's SHA-256 against the manifest (a few ms per MB).

    Attributes
    ----------
    domains : list of str
        Domain names in manifest order (the order of ``w:``/``loss:`` columns everywhere).
    manifest : dict
    fingerprint : str
        SHA-256 of the domains' names and file hashes: identifies the corpus content, not its location.

    Raises
    ------
    DataError
        Missing or unreadable manifest, a missing, truncated or modified token file.
    """

    def __init__(self, path: str | os.PathLike[str], *, verify: bool = True) -> None:
        self.path = Path(path)
        mpath = self.path / "manifest.json"
        if not mpath.is_file():
            raise DataError(f"no corpus manifest here; build one with 'mixlaw corpus build --out {self.path}'",
                            path=str(mpath))
        try:
            manifest = json.loads(mpath.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise DataError(f"corrupt corpus manifest ({err}); rebuild the corpus", path=str(mpath)) from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or "domains" not in manifest:
            raise DataError(f"not a mixlaw corpus manifest (expected \"format\": \"{FORMAT}\")", path=str(mpath))
        self.manifest: dict[str, Any] = manifest
        self.domains: list[str] = list(manifest["domains"])
        self._arrays: dict[tuple[str, str], np.ndarray] = {}
        hashes = []
        for name in self.domains:
            for split in ("train", "val"):
                try:
                    entry = manifest["domains"][name]["splits"][split]
                    fpath, n, digest = self.path / entry["file"], int(entry["tokens"]), str(entry["sha256"])
                    if not isinstance(entry["file"], str) or n < 0:
                        raise TypeError
                except (KeyError, TypeError, ValueError, OverflowError):
                    raise DataError(f"domain {name!r} lacks a valid '{split}' entry; rebuild the corpus",
                                    path=str(mpath)) from None
                # A hand-edited manifest must not make any file outside the corpus folder (../../etc/passwd,
                # an absolute path, a symlink pointing out) the training or validation data.
                root = self.path.resolve()
                if not fpath.resolve().is_relative_to(root):
                    raise DataError(f"domain {name!r} ({split}): file {entry['file']!r} lies outside the corpus "
                                    f"folder; a manifest may only name files inside it", path=str(mpath))
                if not fpath.is_file():
                    raise DataError(f"missing token file of domain {name!r} ({split}); rebuild the corpus",
                                    path=str(fpath))
                size = fpath.stat().st_size
                if size != n:
                    raise DataError(f"corrupt token file: {size} bytes, the manifest says {n}; rebuild the corpus",
                                    path=str(fpath))
                if verify:
                    with open(fpath, "rb") as fh:
                        if hashlib.file_digest(fh, "sha256").hexdigest() != digest:
                            raise DataError("corrupt token file: SHA-256 differs from the manifest; rebuild the "
                                            "corpus", path=str(fpath))
                # Memory-mapped: workers share the page cache instead of each holding a copy.
                self._arrays[(name, split)] = np.memmap(fpath, dtype=np.uint8, mode="r", shape=(n,))
                hashes.append(f"{name}/{split}:{digest}")
        self.fingerprint = hashlib.sha256("\n".join(hashes).encode()).hexdigest()[:16]

    def array(self, domain: str, split: str = "train") -> np.ndarray:
        """The ``uint8`` token memmap of one domain's ``"train"`` or ``"val"`` split."""
        if domain not in self.domains:
            raise InputError(f"unknown domain {domain!r}; the corpus {str(self.path)!r} has {self.domains}")
        return self._arrays[(domain, split)]

    def check_block_size(self, block_size: int) -> None:
        """Raise :class:`InputError` if some split is too short for one window of ``block_size + 1`` tokens."""
        for (name, split), arr in self._arrays.items():
            if len(arr) < block_size + 2:
                raise InputError(f"domain {name!r} ({split}) has {len(arr)} tokens, fewer than block_size + 2 = "
                                 f"{block_size + 2}; lower block_size or add text to the domain")

    def __repr__(self) -> str:
        return f"Corpus({str(self.path)!r}, domains={self.domains})"


class MixtureSampler:
    """Draw ``(x, y)`` batches whose sequences come from domains in proportion to the mixture.

    Each of the ``batch_size`` sequences picks its domain independently with probability ``weights[j]``
    (so the expected share of tokens per domain is the mixture), then a uniformly random window of
    ``block_size + 1`` bytes inside that domain's training split; ``y`` is ``x`` shifted by one.

    Parameters
    ----------
    corpus : Corpus
    weights : sequence of float
        One weight per corpus domain (corpus order), summing to 1.
    batch_size, block_size : int
    rng : numpy.random.Generator
        The only source of randomness; its state is saved in checkpoints for exact resumption.
    """

    def __init__(self, corpus: Corpus, weights: Sequence[float], batch_size: int, block_size: int,
                 rng: np.random.Generator) -> None:
        self.arrays = [corpus.array(d, "train") for d in corpus.domains]
        self.p = np.asarray(weights, dtype=np.float64)
        self.batch_size, self.block_size, self.rng = batch_size, block_size, rng
        self.highs = np.array([len(a) - block_size - 1 for a in self.arrays])  # last valid window start + 1

    def sample(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One batch: ``x`` and ``y`` of shape ``(batch_size, block_size)`` (int64) and the domain index of
        each row, shape ``(batch_size,)``."""
        dom = self.rng.choice(len(self.arrays), size=self.batch_size, p=self.p)
        starts = self.rng.integers(0, self.highs[dom])  # one start per row, inside its own domain
        buf = np.empty((self.batch_size, self.block_size + 1), dtype=np.int64)
        for i, (d, s) in enumerate(zip(dom, starts, strict=True)):
            buf[i] = self.arrays[d][s: s + self.block_size + 1]
        return np.ascontiguousarray(buf[:, :-1]), np.ascontiguousarray(buf[:, 1:]), dom


def eval_windows(array: np.ndarray, n_tokens: int, block_size: int) -> np.ndarray:
    """Fixed validation windows: ``ceil(n_tokens / block_size)`` windows of ``block_size + 1`` tokens,
    evenly spaced over the split, so every run and checkpoint is scored on the same bytes.

    Returns
    -------
    ndarray of shape (n_windows, block_size + 1), int64
    """
    n = max(1, -(-n_tokens // block_size))
    last = len(array) - block_size - 1
    starts = np.linspace(0, last, n).astype(np.int64) if n > 1 else np.array([0])
    return np.stack([np.asarray(array[s: s + block_size + 1], dtype=np.int64) for s in starts])
