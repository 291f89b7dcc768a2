"""The ``export`` command: render a mixture (given inline or as a JSON/CSV file) in the config format of a
trainer (Megatron-LM/NeMo, OLMo-core, HF datasets, MosaicML Streaming) or as JSON, with weights rounded so
that they sum to exactly 1.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from .. import api
from ..export import export_mixture, parse_mixture, read_paths
from ._common import JsonOpt, emit_json, err, show_warnings


def export_cmd(mixture: str = typer.Option(..., "--mixture", help="a=0.5,b=0.5, or a JSON/CSV mixture file."),
               fmt: str = typer.Option("json", "--format", help="megatron | olmo | hf | mosaic | json."),
               paths: str | None = typer.Option(None, "--paths", help="JSON {domain: path} or CSV domain,path."),
               decimals: int = typer.Option(6, "--decimals", help="Decimals of the rounded weights (sum exactly 1)."),
               out_path: Path | None = typer.Option(None, "--out", help="Write the export here."),
               as_json: bool = JsonOpt) -> None:
    """Render a mixture for Megatron-LM/NeMo, OLMo-core, HF datasets, MosaicML Streaming or JSON."""
    with show_warnings():
        text = export_mixture(parse_mixture(mixture), fmt, None if paths is None else read_paths(paths),
                              decimals=decimals)
    if out_path is not None:
        api.write_text_atomic(text, out_path)
    if as_json:
        emit_json({"format": fmt, "text": text, "saved": None if out_path is None else str(out_path)})
    elif out_path is None:
        sys.stdout.write(text)
    else:
        err.print(f"wrote {fmt} mixture to {out_path}")
