"""The ``export`` command: render a mixture (given inline or as a JSON/YAML/CSV file) in the config format of a
trainer (Megatron-LM/NeMo, OLMo-core, HF datasets, MosaicML Streaming) or as JSON, with weights rounded so
that they sum to exactly 1.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from .. import api
from ..design import read_tokens_available
from ..errors import InputError
from ..export import TokenBudget, export_mixture, parse_export_options, parse_mixture, read_paths
from ._common import COUNT, EXPORT_OPTION_HELP, JsonOpt, check_not_an_input, emit_json, err, show_warnings


def export_cmd(mixture: str = typer.Option(..., "--mixture", help="a=0.5,b=0.5 (or a=50%,b=50%; a name "
                                                                   "with ',' in double quotes), or a JSON/YAML/CSV/"
                                                                   "Parquet mixture file (a w:<domain> row, a "
                                                                   "domain,weight CSV, or what optimize --json "
                                                                   "prints)."),
               fmt: str = typer.Option("json", "--format", help="megatron | olmo | hf | mosaic | json."),
               paths: str | None = typer.Option(None, "--paths",
                                                help="JSON {domain: path} (a file, or inline) or a CSV file "
                                                     "domain,path."),
               decimals: int = typer.Option(6, "--decimals", help="Decimals of the rounded weights (sum exactly 1)."),
               tokens_available: str | None = typer.Option(None, "--tokens-available",
                                                              help="Data per domain: CSV domain,tokens, JSON or YAML "
                                                                   "file, or inline web=1.2B,code=500M."),
               target_tokens: float | None = typer.Option(None, "--target-tokens", **COUNT,
                                                          help="Run tokens (sets repetition and sizes; 1e11, 100B)."),
               export_option: list[str] | None = typer.Option(None, "--export-option", metavar="KEY=VALUE",
                                                              help=EXPORT_OPTION_HELP),
               out_path: Path | None = typer.Option(None, "--out", help="Write the export here."),
               as_json: bool = JsonOpt) -> None:
    """Render a mixture for Megatron-LM/NeMo, OLMo-core, HF datasets, MosaicML Streaming or JSON.

    With --target-tokens (and --tokens-available) the export carries the token budget: OLMo-core gets each
    source's max_repetition_ratio (the passes over its data its share needs), and requested_tokens with
    --export-option global_batch_size=N (a whole SourceMixtureDatasetConfig; without it, a comment), Megatron
    --train-samples (with --export-option seq_length=N); every format records tokens per domain.
    """
    check_not_an_input([mixture, paths, tokens_available], out=out_path)
    if tokens_available is not None and target_tokens is None:
        raise InputError("--tokens-available needs --target-tokens (the run's token budget)")
    with show_warnings():
        tok = None if tokens_available is None else read_tokens_available(tokens_available)
        budget = None if target_tokens is None else TokenBudget(target_tokens, tok)
        text = export_mixture(parse_mixture(mixture), fmt, None if paths is None else read_paths(paths),
                              decimals=decimals, budget=budget, **parse_export_options(export_option))
    if out_path is not None:
        api.write_text_atomic(text, out_path)
    if as_json:
        emit_json({"format": fmt, "text": text, "saved": None if out_path is None else str(out_path)})
    elif out_path is None:
        sys.stdout.write(text)
    else:
        err.print(f"wrote {fmt} mixture to {out_path}", highlight=False, markup=False)
