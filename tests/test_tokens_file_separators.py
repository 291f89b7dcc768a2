"""A tokens-available CSV saved by a spreadsheet in a locale whose list separator is ';' (or as tab-separated text):
it read as one column 'domain;tokens' and said "missing column(s) ['domain', 'tokens']", as if the header were
wrong."""

from __future__ import annotations

import pytest

from mixlaw.budget import read_tokens_available


@pytest.mark.parametrize("sep", [";", "\t"])
def test_a_semicolon_or_tab_separated_tokens_file_reads_as_the_csv(tmp_path, sep) -> None:  # type: ignore[no-untyped-def]
    rows = [("domain", "tokens"), ("web", "1200000000"), ("code", "500M"), ("books", "2e9")]
    (tmp_path / "tokens.csv").write_text("".join(",".join(r) + "\n" for r in rows))
    (tmp_path / "other.csv").write_text("\ufeff" + "".join(sep.join(r) + "\r\n" for r in rows), encoding="utf-8")
    assert read_tokens_available(str(tmp_path / "other.csv")) == read_tokens_available(str(tmp_path / "tokens.csv")) \
        == {"web": 1.2e9, "code": 5e8, "books": 2e9}


@pytest.mark.parametrize("sep, decimal", [(";", ","), ("\t", "."), (";", ".")])
def test_a_semicolon_or_tab_separated_mixture_file_reads_as_predict_reads_it(tmp_path, sep, decimal) -> None:  # type: ignore[no-untyped-def]
    # 'mixlaw export --mixture m.csv' of 'domain;weight' rows said "no w:<domain> columns (a run table's row) and no
    # domain,weight columns", where 'predict --mixtures m.csv' read the same file.
    import warnings

    from mixlaw.export_input import parse_mixture

    path = tmp_path / "m.csv"
    path.write_text(f"domain{sep}weight\n" + "".join(f"{d}{sep}{w.replace('.', decimal)}\n" for d, w in
                                                     (("web", "0.6"), ("code", "0.25"), ("books", "0.15"))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the decimal mark's warning
        assert parse_mixture(str(path)) == {"web": 0.6, "code": 0.25, "books": 0.15}
