"""What a refusal or a skipped backtest part says names what the route fits: the nested route's step and size
laws (3 checkpoints per curve, 3 sizes), or the direct route's joint law (3 step values in all, shared by every
curve; 3 sizes for its size term). The direct route was refused, and its backtests explained, in step-law words."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from cli_runner import run_cli

from mixlaw.data import RunTable
from mixlaw.errors import InputError
from mixlaw.pipeline import backtest_pipeline, fit_pipeline

DOMAINS = ["web", "code", "math"]
# L_i(r, N, S) = E_i + A_i / N^alpha + B_i / S^beta + k_i exp(t_i . r), as in test_pipeline.py.
E, A, B, K = np.array([1.9, 1.2, 1.5]), np.array([300.0, 200.0, 250.0]), np.array([30.0, 20.0, 25.0]), \
    np.array([0.5, 0.4, 0.45])
T = np.array([[-1.5, 0.3, 0.2], [0.4, -2.0, 0.1], [0.3, -0.2, -1.8]])
N_STAR, S_STAR = 1e9, 1e5


def truth(W: np.ndarray, N: float, S: float) -> np.ndarray:
    return E + A / N ** 0.32 + B / S ** 0.45 + K * np.exp(np.atleast_2d(W) @ T.T)


def world(sizes: list[float], steps: list[int] | None = None, n_mix: int = 10, stagger: bool = False) -> RunTable:
    """Curves at every (mixture, size); ``stagger``: even mixtures lose their last checkpoint, odd ones their first
    (2 checkpoints per curve, 3 step values in all)."""
    steps = steps or [500, 1000, 3000]
    rng = np.random.default_rng(0)
    rows = []
    for m, w in enumerate(rng.dirichlet(np.ones(3), size=n_mix)):
        for N in sizes:
            kept = (steps[:-1] if m % 2 == 0 else steps[1:]) if stagger else steps
            for S in kept:
                y = truth(w, N, S)[0] * (1 + 2e-5 * rng.standard_normal(3))
                rows.append({"run": f"m{m}-N{N:g}", "params": N, "step": S,
                             **{f"w:{d}": w[j] for j, d in enumerate(DOMAINS)},
                             **{f"loss:{d}": y[j] for j, d in enumerate(DOMAINS)}})
    return RunTable(pd.DataFrame(rows))


FOUR, THREE = [1e7, 2e7, 4e7, 8e7], [1e7, 2e7, 4e7]


def test_skipped_backtest_parts_name_the_direct_joint_law() -> None:
    # Curves of 3 checkpoints: cutting their late part leaves 2 step values; 3 sizes: holding one out leaves 2.
    direct = {b.kind: b.skipped for b in backtest_pipeline(world(FOUR), route="direct", law="ye-exp")}
    assert direct["steps"] == ("cutting each curve at its last step / 3 leaves 2 step value(s) (500, 1000); the "
                               "direct joint law's step term needs 3")
    sizes = {b.kind: b.skipped for b in backtest_pipeline(world(THREE, [250, 500, 1000, 3000]), route="direct",
                                                         law="ye-exp")}
    assert sizes["steps"] is None  # 4 checkpoints per curve: the steps part runs
    assert sizes["size"].endswith("leaves 2, the direct joint law's size term E + A/N^alpha needs 3")
    # The nested route keeps its own words.
    nested = {b.kind: b.skipped for b in backtest_pipeline(world(THREE), route="nested", law="ye-exp")}
    assert nested["steps"] == ("cutting each curve at its last step / 3 leaves at most 2 checkpoint(s) per curve "
                               "(at 500, 1000); the step law L(S) = E + B/S^beta needs 3 per curve")
    assert nested["size"].endswith("leaves 2, the size law L(N) = E + A/N^alpha needs 3")


def test_direct_route_refusals_and_auto_split_speak_of_the_joint_law() -> None:
    with pytest.raises(InputError, match=r"^the direct joint law's step term B/S\^beta needs 3 distinct step values "
                                         r".* the data has 2 \(1000, 3000\); a target step equal to a recorded one"):
        fit_pipeline(world(THREE, [1000, 3000]), target_params=N_STAR, target_steps=S_STAR, route="direct",
                     law="ye-exp")
    for law in ("ye-exp", "auto"):
        with pytest.raises(InputError, match=r"^the direct joint law's size term E \+ A/N\^alpha needs 3 model sizes"):
            fit_pipeline(world([1e7, 2e7]), target_params=N_STAR, target_steps=S_STAR, route="direct", law=law)
    # route direct, law auto: the leave-scale-out split says why it could not hold out a size, in its words.
    res = fit_pipeline(world(THREE), target_params=N_STAR, target_steps=S_STAR, route="direct", law="auto",
                       n_jackknife=0)
    line = next(w for w in res.warnings if w.startswith("no backtest possible"))
    assert "leaves 2, the direct joint law's size term E + A/N^alpha needs 3" in line and "size law" not in line


def test_direct_route_fits_curves_of_two_checkpoints_at_three_steps() -> None:
    # The joint law shares its step term across curves: 3 step values in all suffice (the nested route's step law
    # needs 3 per curve and refuses).
    tab = world(FOUR, stagger=True)
    res = fit_pipeline(tab, target_params=N_STAR, target_steps=S_STAR, route="direct", law="ye-exp")
    assert np.max(np.abs(res.target_losses / truth(res.mixtures, N_STAR, S_STAR) - 1)) < 1e-3
    with pytest.raises(InputError, match="the step law L\\(S\\) = E \\+ B/S\\^beta needs 3 checkpoints per curve"):
        fit_pipeline(tab, target_params=N_STAR, target_steps=S_STAR, route="nested", law="ye-exp")


def test_cli_direct_backtest_words(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "runs.csv"
    world(THREE).frame.to_csv(path, index=False)
    code, out, err = run_cli(capsys, "pipeline", "--runs", str(path), "--target-params", "1e9", "--target-steps",
                             "1e5", "--route", "direct", "--law", "ye-exp", "--backtest")
    assert code == 0, err
    block = out[out.index("[[Backtest"):]
    # The step part is auto's split's (curves of 3 checkpoints cannot be cut for any candidate), in its words.
    assert "curves have as few as 3 checkpoint(s)" in block and "direct joint law's size term" in block
    assert "step law" not in block and "size law" not in block


def test_the_direct_routes_optimum_names_the_joint_law(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # A hunt: `pipeline --route direct --law ye-exp --optimize` (and `optimize --pipeline` of its saved file) printed
    # 'law=ye-exp' in the optimum's header, the mixing law's key, where the pipeline names what it fitted
    # 'joint+ye-exp' (its headline, the selection table); --json said 'ye-exp' too.
    import json

    path, saved = tmp_path / "runs.csv", tmp_path / "p.json"
    world(FOUR).frame.to_csv(path, index=False)
    args = ["pipeline", "--runs", str(path), "--target-params", "1e9", "--target-steps", "1e5", "--route", "direct",
            "--law", "ye-exp", "--optimize"]
    code, out, err = run_cli(capsys, *args, "--save", str(saved))
    assert code == 0, err
    assert "[[Optimal mixture]]  law=joint+ye-exp  " in out and "law=ye-exp" not in out
    code, out, err = run_cli(capsys, *args, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["optimum"]["law"] == doc["pipeline"]["law"] == "joint+ye-exp"
    code, out, err = run_cli(capsys, "optimize", "--pipeline", str(saved))
    assert code == 0, err
    assert "[[Optimal mixture]]  law=joint+ye-exp  " in out
    code, out, err = run_cli(capsys, "optimize", "--pipeline", str(saved), "--json")
    assert code == 0 and json.loads(out)["optimum"]["law"] == "joint+ye-exp"
