"""`mixlaw predict --pipeline P --mixtures M` reads M once: it read the file a second time for the intervals'
weights (about 0.5 s per 100k rows), and the API gives both from one read."""

from __future__ import annotations

import pandas as pd
from cli_runner import run_cli as _cli
from numpy.testing import assert_allclose

import mixlaw.api as api
from mixlaw.pipeline import fit_pipeline, save_pipeline

from .test_pipeline import DOMAINS, N_STAR, S_STAR, world


def test_predict_pipeline_reads_the_mixtures_file_once(tmp_path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    res = fit_pipeline(world(n_mix=8), target_params=N_STAR, target_steps=S_STAR, route="nested", law="ye-exp")
    save_pipeline(res, tmp_path / "p.json")
    W = res.mixtures[:5]  # inside the fitted ranges: no extrapolation warning
    path = tmp_path / "m.csv"
    pd.DataFrame({f"w:{d}": W[:, j] for j, d in enumerate(DOMAINS)}).to_csv(path, index=False)
    reads: list[str] = []
    real = api._read_any
    monkeypatch.setattr(api, "_read_any", lambda p, *a, **k: reads.append(str(p)) or real(p, *a, **k))
    code, out, err = _cli(capsys, "predict", "--pipeline", str(tmp_path / "p.json"), "--mixtures", str(path),
                          "--out", str(tmp_path / "o.csv"))
    assert code == 0, err
    assert reads == [str(path)]
    frame, weights = api.pipeline_predictions(res, path)
    assert_allclose(weights, W, rtol=1e-12)
    assert_allclose(frame[[f"pred:{t}" for t in res.targets]].to_numpy(), res.predict(W), rtol=1e-12)
    assert_allclose(pd.read_csv(tmp_path / "o.csv")[[f"pred:{t}" for t in res.targets]].to_numpy(),
                    res.predict(W), rtol=1e-9)
