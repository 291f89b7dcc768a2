"""What ``mixlaw export`` and the mixture options read from a user: a mixture, a domain->path map, export options.

:func:`parse_mixture` reads ``a=0.5,b=0.5`` (percentages, double-quoted names holding ',' or '=') or a mixture file
(JSON, YAML, CSV, Parquet; what ``mixlaw optimize --out`` and ``mixlaw export --format json`` write),
:func:`read_paths` a ``{domain: path}`` JSON (a file or inline) or a ``domain,path`` CSV, and
:func:`parse_export_options` the ``--export-option key=value`` items. :mod:`mixlaw.export` renders the formats and
re-exports these three under their public names (``mixlaw.export.parse_mixture``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._validation import parse_user_json, parse_user_yaml, path_exists, read_user_text
from .data import share_value
from .data.reading import _read_any, saved_file_kind
from .errors import InputError


def _number(text: str) -> int | float | None:
    """``text`` as a number (YAML's ``4``, ``1.5``; also ``1e3``, which YAML 1.1 reads as a string), or None."""
    import yaml

    try:
        x = yaml.safe_load(text)
    except yaml.YAMLError:
        x = None
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return x
    try:
        return float(text)
    except ValueError:
        return None


def parse_export_options(items: Sequence[str] | None) -> dict[str, Any]:
    """Parse CLI ``--export-option key=value`` items.

    Values read as YAML scalars (``8``, ``0.5``, ``true``, ``text``); ``domain:number,domain:number`` gives a
    per-domain mapping (``max_repetition_ratio=math:4,code:2``). The number is what follows a part's last colon,
    so a domain may hold colons (Olmix's ``s2pdfv1:travel:2``), and ``1e3`` is a number as in a CLI flag; a
    value whose parts do not all end in ``:number`` is one scalar (HF's ``split=train[:90%]``, which had become
    the mapping ``{'train[': '90%]'}``).

    Examples
    --------
    >>> parse_export_options(["seed=3", "max_repetition_ratio=math:4,code:2", "split=train"])
    {'seed': 3, 'max_repetition_ratio': {'math': 4, 'code': 2}, 'split': 'train'}
    """
    import yaml

    def scalar(v: str) -> Any:
        try:
            x = yaml.safe_load(v)
        except yaml.YAMLError:
            return v
        return x if isinstance(x, (int, float, bool, str)) else v

    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, val = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InputError(f"--export-option: expected key=value; got {item!r}")
        if key in out:
            raise InputError(f"--export-option: {key!r} given twice")
        val = val.strip()
        parts = [p.rpartition(":") for p in val.split(",")] if ":" in val and "://" not in val else None
        numbers = [_number(v.strip()) for _, _, v in parts] if parts else []
        if parts and all(s and k.strip() and x is not None for (k, s, _), x in zip(parts, numbers, strict=True)):
            out[key] = {k.strip(): x for (k, _, _), x in zip(parts, numbers, strict=True)}
        else:
            out[key] = scalar(val)
    return out


def parse_mixture(spec: str) -> dict[str, float]:
    """Parse ``"a=0.5,b=0.5"`` or a file: JSON or YAML ``{domain: weight}`` / ``[{"domain", "weight"}]`` (or
    OLMo-core's source mixture, ``sources:`` of ``source_name`` and ``target_ratio``, as the olmo export writes it),
    a CSV run table with one row of ``w:<domain>`` columns (what ``mixlaw optimize --out`` or a design writes), or a
    CSV with columns ``domain,weight`` (one row per domain).

    Inline, a weight may be a percentage (``a=60%,b=40%``), and a name holding ',' or '=' is double-quoted as in
    a CSV cell (``"web, news"=0.5,code=0.5``)."""
    from pathlib import Path

    if not str(spec).strip():  # Path('') is '.', which said ".: is a folder; expected a mixture file"
        raise InputError("empty mixture; expected domain=weight,... (web=0.6,code=0.4) or a mixture file")
    path = Path(spec)
    if path.suffix.lower() in (".parquet", ".pq"):  # what `mixlaw optimize --out opt.parquet` writes
        import pandas as pd

        if not path.is_file():
            raise InputError(f"{spec}: no such mixture file")
        try:
            frame = pd.read_parquet(path)
        except (OSError, ValueError) as e:  # pyarrow's errors derive from these
            raise InputError(f"{spec}: not a readable Parquet file ({e})") from None
        return _mixture_from_frame(frame, spec)
    if path.suffix.lower() in (".json", ".csv", ".yaml", ".yml", ".jsonl", ".ndjson") or path_exists(spec):
        text = read_user_text(path, "mixture")
        if path.suffix.lower() in (".jsonl", ".ndjson"):
            # JSON records, one a line: what `mixlaw optimize --out opt.jsonl` writes (the optimum's row: run,
            # w:<domain>, pred:<eval>), read as the .csv row is; as one document its 'run' was "weight of domain
            # 'run' is not a number: 'optimum'". One line that is a plain mapping stays that mapping.
            import pandas as pd

            try:  # one document first: optimize wrote its pretty-printed JSON report under a .jsonl name before
                records = [parse_user_json(text, spec)]
            except InputError:
                records = [parse_user_json(line, spec) for line in text.splitlines() if line.strip()]
            if all(isinstance(r, Mapping) for r in records) and any(
                    str(k).startswith("w:") or k in ("domain", "weight") for r in records for k in r):
                return _mixture_from_frame(pd.DataFrame(records), spec)
            if len(records) == 1:
                return _mixture_from_doc(records[0], spec)
            raise InputError(f"{spec}: {len(records)} JSON records; a mixture file needs one record of "
                             "w:<domain> shares (or domain,weight records)")
        if path.suffix.lower() == ".csv":
            # The run table's reader: a ';' or tab file (decimal commas read, with its warning), a BOM, a trailing
            # delimiter, as 'predict --mixtures' reads the same file; ';' rows said "no domain,weight columns".
            return _mixture_from_frame(_read_any(path, text_columns=("domain",))[0], spec)
        if path.suffix.lower() in (".yaml", ".yml"):  # it went through the JSON parser: 'a: 0.5' was "not valid JSON"
            return _mixture_from_doc(parse_user_yaml(text, spec), spec)
        return _mixture_from_doc(parse_user_json(text, spec), spec)
    return _inline_mixture(spec)


def is_domain_weight(frame: Any) -> bool:
    """A table of one mixture's ``domain,weight`` rows (no ``w:`` column), which :func:`_mixture_from_frame` reads
    as that mixture (``predict --mixtures`` asks this before reading a table of mixtures)."""
    cols = set(map(str, frame.columns))
    return {"domain", "weight"} <= cols and not any(c.startswith("w:") for c in cols)


def _mixture_from_frame(frame: Any, spec: str) -> dict[str, float]:
    """The one row of ``w:<domain>`` columns of a table (a CSV or Parquet mixture file), or its ``domain,weight``
    rows."""
    cols = [c for c in frame.columns if str(c).startswith("w:")]
    if is_domain_weight(frame):
        # A domain,weight table, the shape --paths (domain,path) and --tokens-available take: it said "no
        # w:<domain> columns" (hunt25). Its rows are the domains; a domain given twice is refused.
        names = [str(d).strip() for d in frame["domain"]]
        dup = next((d for i, d in enumerate(names) if d in names[:i]), None)
        if dup is not None or not all(names):
            raise InputError(f"{spec}: domain {dup!r} given twice" if dup is not None else f"{spec}: an empty "
                             "domain cell")
        return {d: _file_share(spec, d, v) for d, v in zip(names, frame["weight"], strict=True)}
    if not cols:
        raise InputError(f"{spec}: no w:<domain> columns (a run table's row) and no domain,weight columns")
    if len(frame) != 1:
        raise InputError(f"{spec}: {len(frame)} rows; a mixture file needs exactly one row")
    return {c[2:]: _file_share(spec, c[2:], frame[c].iloc[0]) for c in cols}


def _file_share(spec: str, domain: str, v: Any) -> Any:
    """A mixture file's cell: a number as it is; text as an inline share reads it (``0.6``, ``60%``), since a column
    with one text cell is all text ('w:code' = 'x' made 'w:web' = '0.6' the error's domain; '60%' was refused)."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return v
    try:
        return share_value(str(v))
    except ValueError:
        raise InputError(f"{spec}: weight of domain {domain!r} is not a number: {v!r}") from None


def _text_share(v: Any) -> Any:
    """A JSON or YAML mixture's share: text that reads as an inline share (``"0.6"``, ``"60%"``) as that number,
    anything else as it is."""
    if isinstance(v, str):
        try:
            return share_value(v)
        except ValueError:
            return v
    return v


def _inline_mixture(spec: str) -> dict[str, float]:
    """``a=0.5,b=0.5`` (or percentages) as a mapping."""
    out: dict[str, float] = {}
    for d, v, item in _spec_items(spec):
        if d in out:
            raise InputError(f"domain {d!r} given twice in the mixture")
        try:
            out[d] = share_value(v)
        except ValueError:
            # 'web=0.6;code=0.4' (a spreadsheet's list separator) read as the weight '0.6;code=0.4'
            sep = " (separate the items with ',': web=0.6,code=0.4)" if ";" in v else ""
            raise InputError(f"weight of domain {d!r} is not a number: {v!r}{sep}") from None
        if not d:
            raise InputError(f"bad mixture item {item!r}: empty domain name")
    if not out:
        raise InputError("empty mixture; expected domain=weight,...")
    return out


def _spec_items(spec: str) -> list[tuple[str, str, str]]:
    """(domain, weight text, item) of an inline ``domain=weight,...`` spec. A name holding ',' or '=' is given in
    double quotes, as a CSV cell is (``"web, news"=0.5``; '""' is a quote inside): split at every ',' it was
    'bad mixture item '"web''."""
    out, i, n = [], 0, len(spec)
    while i < n:
        while i < n and spec[i] in " \t,":
            i += 1
        if i >= n:
            break
        start = i
        if spec[i] == '"':
            j, name = i + 1, []
            while True:
                k = spec.find('"', j)
                if k < 0:
                    raise InputError(f"bad mixture item {spec[start:]!r}: a quoted domain name needs its closing '\"'")
                name.append(spec[j:k])
                if spec.startswith('""', k):
                    name.append('"')
                    j = k + 2
                    continue
                break
            d, i = "".join(name), k + 1
            rest_end = spec.find(",", i)
            rest_end = n if rest_end < 0 else rest_end
            rest = spec[i:rest_end].strip()
            if not rest.startswith("="):
                raise InputError(f"bad mixture item {spec[start:rest_end]!r}: expected \"domain\"=weight")
            out.append((d, rest[1:].strip(), spec[start:rest_end].strip()))
            i = rest_end
            continue
        end = spec.find(",", i)
        end = n if end < 0 else end
        item = spec[start:end].strip()
        i = end
        if "=" not in item:
            raise InputError(f"bad mixture item {item!r}: expected domain=weight (e.g. web=0.7,code=0.3; a name "
                             "with ',' in double quotes: \"web, news\"=0.5)")
        d, v = (x.strip() for x in item.split("=", 1))
        out.append((d, v, item))
    return out


def _mixture_from_doc(doc: Any, spec: str) -> dict[str, float]:
    if isinstance(doc, Mapping) and "mixture" in doc and isinstance(doc["mixture"], Mapping):
        doc = doc["mixture"]
    # What `mixlaw optimize --json` (and `pipeline --optimize --json`) print: the optimum's weights inside. Read as
    # a mapping it was {"schema_version": 1, "mixlaw_version": "0.1.0", ...}: "weight of domain 'mixlaw_version'
    # is not a number".
    if isinstance(doc, Mapping) and isinstance(doc.get("optimum"), Mapping) \
            and isinstance(doc["optimum"].get("weights"), Mapping):
        doc = doc["optimum"]["weights"]
    # What `mixlaw optimize --out opt.json` writes: the report itself, its weights at the top ("weight of domain
    # 'law' is not a number: 'ye-exp'").
    if isinstance(doc, Mapping) and isinstance(doc.get("weights"), Mapping) and "objective" in doc:
        doc = doc["weights"]
    # What `mixlaw export --json` prints: the rendered export in 'text' ("weight of domain 'mixlaw_version' is not a
    # number: '0.1.0'", hunt25). Its JSON format's text is the mixture; another format's is a trainer's config.
    if isinstance(doc, Mapping) and {"schema_version", "format", "text"} <= set(doc) and isinstance(doc["text"], str):
        if doc["format"] != "json":
            raise InputError(f"{spec}: the output of mixlaw export --format {doc['format']} --json, a trainer's "
                             "config, not a mixture (export --format json, or mixlaw optimize --out, writes one)")
        doc = parse_user_json(doc["text"], spec)
    # OLMo-core's SourceMixtureList ('sources': source_name, target_ratio, ...), as '--export olmo' writes it, or the
    # SourceMixtureDatasetConfig around it ('source_list'): read as a domain mapping it was "weight of domain
    # 'sources' is not a number: [...]", where the JSON export is read back (hunt34b).
    if isinstance(doc, Mapping) and isinstance(doc.get("source_list"), Mapping) and "sources" in doc["source_list"]:
        doc = doc["source_list"]
    if isinstance(doc, Mapping) and isinstance(doc.get("sources"), list):  # its other keys (seed, ...) are no weights
        for i, src in enumerate(doc["sources"]):
            if not (isinstance(src, Mapping) and "source_name" in src and "target_ratio" in src):
                raise InputError(f"{spec}: sources[{i}]: an OLMo-core source needs source_name and target_ratio")
        return _unique_shares([(src["source_name"], src["target_ratio"]) for src in doc["sources"]], spec, "source")
    saved = saved_file_kind(doc)
    if saved:
        what = "a saved pipeline (mixlaw pipeline --save)" if saved == "pipeline" else "a saved law (mixlaw fit --out)"
        raise InputError(f"{spec}: {what}, not a mixture (a mixture file is what mixlaw optimize --out writes)")
    # A share written as text ("60%" or "0.6") reads as in a CSV mixture file or inline: {"docs": "50%", ...}
    # was "weight of domain 'docs' is not a number: '50%'", where docs=50% inline and a CSV's 50% were read.
    # Anything else is left as it is for the callers' checks to name (true, null, 'abc').
    if isinstance(doc, Mapping):
        return {str(k): _text_share(v) for k, v in doc.items()}
    if isinstance(doc, list) and all(isinstance(r, Mapping) and {"domain", "weight"} <= set(r) for r in doc):
        return _unique_shares([(r["domain"], r["weight"]) for r in doc], spec, "domain")
    raise InputError(f'{spec}: expected {{"domain": weight, ...}} or [{{"domain": ..., "weight": ...}}, ...]')


def _unique_shares(pairs: list[tuple[Any, Any]], spec: str, what: str) -> dict[str, Any]:
    """{name: share} of a list's (name, share) pairs, a name given twice refused as every other mixture form refuses
    it: a dict kept the last one without a word, and the sum then named the weights, not the repeat (review34f)."""
    out: dict[str, Any] = {}
    for name, share in pairs:
        if str(name) in out:
            raise InputError(f"{spec}: {what} {str(name)!r} given twice")
        out[str(name)] = _text_share(share)
    return out


def read_paths(spec: str) -> dict[str, Any]:
    """Read a domain->path map: a JSON ``{domain: path}`` file or inline text (``'{"web": "/data/web"}'``, as the
    option's help reads), or a CSV file with columns ``domain,path``."""
    from pathlib import Path

    inline = spec.lstrip().startswith("{")
    path = Path(spec)
    if inline:  # checked first: a long JSON text is no file name (exists() would raise ENAMETOOLONG)
        text = spec
    elif not path.exists():
        raise InputError(f"{spec}: no such file (expected a JSON {{domain: path}} or a CSV domain,path)")
    else:
        text = read_user_text(path, "paths")
    if not inline and path.suffix.lower() == ".csv":
        import io

        import pandas as pd

        try:
            # keep_default_na=False: an empty cell stays '' (refused below) instead of becoming the path 'nan'
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        except (ValueError, pd.errors.ParserError) as e:
            raise InputError(f"{spec}: not a readable CSV ({e})") from None
        missing = [c for c in ("domain", "path") if c not in frame.columns]
        if missing:
            raise InputError(f"{spec}: missing column(s) {missing}; expected domain,path")
        out: dict[str, Any] = {}
        for i, (d, p) in enumerate(zip(frame["domain"], frame["path"], strict=True)):
            if not str(d).strip() or not str(p).strip():
                raise InputError(f"{spec}:{i + 2}: empty {'domain' if not str(d).strip() else 'path'} cell")
            out.setdefault(str(d), []).append(str(p))  # repeated domains: several paths (olmo)
        return {d: v[0] if len(v) == 1 else v for d, v in out.items()}
    doc = parse_user_json(text, spec, twice='give a domain\'s paths as one list ({"web": ["/a", "/b"]})')
    if not isinstance(doc, Mapping):
        raise InputError(f"{spec}: expected a JSON object {{domain: path}}")
    for d, p in doc.items():
        ok = isinstance(p, str) and p.strip() or (isinstance(p, list) and p
                                                  and all(isinstance(x, str) and x.strip() for x in p))
        if not ok:
            raise InputError(f"{spec}: path of domain {d!r} must be a non-empty string (or a list of them); "
                             f"got {p!r}")
    return dict(doc)
