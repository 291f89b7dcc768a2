"""Hostile files that try to run code or inject markup (the adversarial probe of issue 13): a
code-running pickle planted as a training checkpoint, and a markup payload in every string the HTML report shows.
"""

from __future__ import annotations

import html
from pathlib import Path

import pytest

from ._helpers import PAYLOAD, TINY, one_error, run_cli, runs_csv


# ---------------------------------------------------------------------- 1. unpickling payload
class _Payload:
    """Unpickling this calls ``Path.touch(marker)``: proof that code from the file ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("where", ["train --out", "sweep store.ckpt"])
def test_unpickling_payload_has_no_side_effect(where: str, small_corpus: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    marker = tmp_path / "PWNED"
    if where == "train --out":
        (tmp_path / "out").mkdir()
        torch.save({"run_id": _Payload(marker)}, tmp_path / "out" / "ckpt.pt")
        argv = ["train", "--corpus", str(small_corpus), "--mixture", "math=0.5,docs=0.5", "--out",
                str(tmp_path / "out"), *TINY]
    else:
        from mixlaw.sweep import plan_sweep
        from mixlaw.train.config import ProxyConfig

        (tmp_path / "design.csv").write_text("w:math,w:docs\n0.5,0.5\n")
        base = ProxyConfig(block_size=32, batch_size=8, eval_tokens=256, eval_every=5, num_threads=1)
        plan = plan_sweep(small_corpus, [{"math": 0.5, "docs": 0.5}], ["0.01M"], "3k", base)
        ckdir = tmp_path / "runs.db.ckpt"
        ckdir.mkdir()
        torch.save({"run_id": _Payload(marker)}, ckdir / f"{plan[0].run_id}.pt")  # run ids are predictable
        argv = ["sweep", "--corpus", str(small_corpus), "--design", str(tmp_path / "design.csv"), "--sizes",
                "0.01M", "--tokens", "3k", "--eval-every", "5", "--store", str(tmp_path / "runs.db"),
                "--block_size=32", "--batch_size=8", "--eval_tokens=256", "--num_threads=1"]
    # The planted file really is a code-running pickle: a plain unpickle touches the marker.
    code, _, err = run_cli(argv, capsys)
    line = one_error(code, err)
    assert "is not a mixlaw training checkpoint" in line and "delete it" in line
    assert not marker.exists()  # no side effect
    if where == "sweep store.ckpt":
        from mixlaw.store import RunStore

        with RunStore(tmp_path / "runs.db", readonly=True) as db:
            assert all(db.checkpoint_steps(r) == [] for r in db.run_ids())
    torch.load(next(tmp_path.rglob("*.pt")), weights_only=False)  # the control: unsafe loading runs it
    assert marker.exists()



# ---------------------------------------------------------------------- 2. report XSS
def test_report_escapes_a_payload_in_every_string_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    from mixlaw.data import read_runs
    from mixlaw.laws import Linear, base
    from mixlaw.report import build_html_report

    # Payload in a domain name, an eval name, the fitting file's name, a held-out split name, the title, and a
    # law key (a registered law whose key is the payload, so it reaches the leaderboard and a plot title).
    dom = ("a", f"b{PAYLOAD}", "c$x")
    ev = (f"e{PAYLOAD}", "f")
    train = read_runs(runs_csv(tmp_path / f"t{PAYLOAD}.csv", 30, 0, dom, ev))
    test = read_runs(runs_csv(tmp_path / "held.csv", 12, 1, dom, ev))

    class Evil(Linear):
        pass

    Evil.key = f"k{PAYLOAD}"
    monkeypatch.setitem(base._REGISTRY, Evil.key, Evil)
    page = build_html_report(train, {f"s{PAYLOAD}": test}, laws=["linear", Evil.key], title=f"T{PAYLOAD}")
    assert PAYLOAD not in page and "onerror=alert" not in page.replace(html.escape(PAYLOAD), "")
    for field in (f"b{PAYLOAD}", f"e{PAYLOAD}", f"t{PAYLOAD}.csv", f"s{PAYLOAD}", f"T{PAYLOAD}", f"k{PAYLOAD}"):
        assert html.escape(field) in page, field  # shown, escaped
    # The CLI refuses an unknown law key (as `compare` does) instead of writing a page with it.
    held = runs_csv(tmp_path / "h2.csv", 12, 1)
    code, _, err = run_cli(["report", "--runs", str(runs_csv(tmp_path / "t2.csv", 30, 0)), "--test", str(held),
                            "--laws", f"linear,{PAYLOAD}", "--out", str(tmp_path / "r.html")], capsys)
    # (refused as an entry that is no key(option=value) since --laws took inline options; before, as unknown)
    msg = one_error(code, err)
    assert ("unknown law" in msg or "--laws entry" in msg) and not (tmp_path / "r.html").exists()
    code, _, err = run_cli(["report", "--runs", str(tmp_path / "t2.csv"), "--test", str(held), "--laws", "linear",
                            "--target", "all", "--objective", "nope", "--out", str(tmp_path / "r.html")], capsys)
    assert "--objective" in one_error(code, err)
