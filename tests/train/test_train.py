"""Training loop: learning, determinism, checkpoint resume, device and per-domain evaluation."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from mixlaw.errors import InputError
from mixlaw.train.config import ProxyConfig
from mixlaw.train.loop import PowerEMA, lr_at, train

DOMAINS = ["docs", "legal", "scripture", "math"]  # the tiny_corpus fixture's domains
with_ = dataclasses.replace


def _curve(result) -> list[tuple[int, dict[str, float]]]:  # noqa: ANN001
    return [(c.step, c.losses) for c in result.checkpoints]


def test_tiny_run_learns_and_reports_every_domain(tiny_config: ProxyConfig) -> None:
    result = train(tiny_config)
    assert [c.step for c in result.checkpoints] == [10, 20, 30, 40]
    assert [c.tokens for c in result.checkpoints] == [2560, 5120, 7680, 10240]
    first, last = result.checkpoints[0], result.checkpoints[-1]
    assert list(last.losses) == DOMAINS
    # Uniform over 256 bytes is ln 256 = 5.55 nats; 40 steps must already beat the first checkpoint everywhere.
    assert all(last.losses[d] < first.losses[d] < np.log(256) for d in DOMAINS)
    assert last.train_loss < first.train_loss
    assert result.model_params > 0 and result.config.n_layer >= 1
    frame = result.to_frame()
    assert list(frame.columns) == ["run", *[f"w:{d}" for d in DOMAINS], *[f"loss:{d}" for d in DOMAINS],
                                   "params", "step", "tokens"]
    assert len(frame) == 4 and (frame["run"] == result.run_id).all()


def test_same_config_is_bitwise_identical_and_seed_matters(tiny_config: ProxyConfig) -> None:
    a, b = train(tiny_config), train(tiny_config)
    assert a.run_id == b.run_id and _curve(a) == _curve(b)  # exact float equality
    c = train(with_(tiny_config, seed=1))
    assert c.run_id != a.run_id and _curve(c) != _curve(a)


def test_domain_weight_shifts_its_loss(tiny_config: ProxyConfig) -> None:
    heavy = train(with_(tiny_config, mixture={"math": 0.85, "docs": 0.05, "legal": 0.05, "scripture": 0.05}))
    light = train(with_(tiny_config, mixture={"math": 0.05, "docs": 0.85, "legal": 0.05, "scripture": 0.05}))
    assert heavy.checkpoints[-1].losses["math"] < light.checkpoints[-1].losses["math"]
    assert heavy.checkpoints[-1].losses["docs"] > light.checkpoints[-1].losses["docs"]


class _Crash(RuntimeError):
    pass


@pytest.mark.parametrize("ema_gamma", [0.0, 7.0])
def test_resume_from_checkpoint_is_bitwise_identical(tiny_config: ProxyConfig, tmp_path: Path,
                                                     ema_gamma: float) -> None:
    tiny_config = with_(tiny_config, ema_gamma=ema_gamma)
    reference = train(tiny_config)
    ckpt = tmp_path / "run.pt"
    seen: list[int] = []

    def crash_at_30(_rid: str, _cfg: ProxyConfig, _n: int, ck) -> None:  # noqa: ANN001
        seen.append(ck.step)
        if ck.step == 30:
            raise _Crash  # before the step-30 checkpoint file is written: resume starts at step 20

    with pytest.raises(_Crash):
        train(tiny_config, ckpt_path=ckpt, on_checkpoint=crash_at_30)
    state = torch.load(ckpt, weights_only=False)
    assert state["step"] == 20 and {"model", "optimizer", "model_args", "config", "seed",
                                    "mixlaw_version"} <= set(state)
    resumed_steps: list[int] = []
    resumed = train(tiny_config, ckpt_path=ckpt, on_step=lambda s, n: resumed_steps.append(s))
    assert resumed_steps[0] == 21  # it did not start over
    assert _curve(resumed) == _curve(reference)


def test_power_ema_weights_past_steps_by_tau_to_the_gamma() -> None:
    """gamma = 0 is the exact running mean; gamma = 7 weights step tau by ~tau^7 (Karras et al. 2024)."""
    for gamma, expected in ((0.0, lambda t: t.mean()), (7.0, lambda t: (t**8).sum() / (t**7).sum())):
        src = torch.nn.Linear(1, 1, bias=False)
        ema = PowerEMA(src, gamma)
        taus = torch.arange(1, 201, dtype=torch.float64)
        for tau in taus:
            with torch.no_grad():
                src.weight.fill_(float(tau))  # the "weights" after step tau are tau
            ema.update()
        got = float(ema.model.weight)
        assert got == pytest.approx(float(expected(taus)), rel=1e-5 if gamma == 0 else 5e-3)
        assert ema.t == 200 and not ema.model.weight.requires_grad


def test_ema_checkpoints_score_the_averaged_weights(tiny_config: ProxyConfig) -> None:
    raw, avg = train(tiny_config), train(with_(tiny_config, ema_gamma=7.0))
    assert [c.step for c in raw.checkpoints] == [c.step for c in avg.checkpoints]
    assert _curve(raw) != _curve(avg)
    assert all(np.isfinite(v) and v > 0 for c in avg.checkpoints for v in c.losses.values())
    assert avg.checkpoints[-1].losses["docs"] < avg.checkpoints[0].losses["docs"]  # the average learns too


def test_lr_schedule_is_warmup_then_cosine() -> None:
    cfg = ProxyConfig(train_tokens=100 * 2048, lr=1e-3, warmup_frac=0.1, min_lr_ratio=0.1)
    lrs = [lr_at(s, cfg) for s in range(cfg.max_steps)]
    assert lrs[0] < lrs[9] <= 1e-3 and np.all(np.diff(lrs[:10]) > 0)
    assert np.all(np.diff(lrs[10:]) <= 0) and lrs[-1] == pytest.approx(1e-4, rel=0.01)


def test_bad_inputs_raise_input_error(tiny_config: ProxyConfig) -> None:
    with pytest.raises(InputError, match="unknown domain"):
        train(with_(tiny_config, mixture={"web": 1.0}))
    with pytest.raises(InputError, match="sum to"):
        train(with_(tiny_config, mixture={"math": 0.5}))
    with pytest.raises(InputError, match="fewer than block_size"):
        train(with_(tiny_config, block_size=100_000))
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="CUDA is not available"):
            train(with_(tiny_config, device="cuda"))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu_within_tolerance(tiny_config: ProxyConfig) -> None:
    cpu, gpu = train(tiny_config), train(dataclasses.replace(tiny_config, device="cuda"))
    assert gpu.run_id == cpu.run_id and gpu.device.startswith("cuda")
    for a, b in zip(cpu.checkpoints, gpu.checkpoints, strict=True):
        np.testing.assert_allclose(list(a.losses.values()), list(b.losses.values()), rtol=2e-2)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_a_cuda_run_resumes_from_its_checkpoint(tiny_config: ProxyConfig, tmp_path: Path) -> None:
    # The checkpoint is mapped onto the training device, its RNG state with it; torch.set_rng_state takes a CPU
    # ByteTensor only, and the resume said the file "does not hold this run's training state; delete it".
    cfg = dataclasses.replace(tiny_config, device="cuda")
    reference = train(cfg)
    ckpt = tmp_path / "run.pt"

    def crash_at_30(_rid: str, _cfg: ProxyConfig, _n: int, ck) -> None:  # noqa: ANN001
        if ck.step == 30:
            raise _Crash

    with pytest.raises(_Crash):
        train(cfg, ckpt_path=ckpt, on_checkpoint=crash_at_30)
    steps: list[int] = []
    resumed = train(cfg, ckpt_path=ckpt, on_step=lambda s, n: steps.append(s))
    assert steps[0] == 21
    for a, b in zip(reference.checkpoints, resumed.checkpoints, strict=True):
        np.testing.assert_allclose(list(a.losses.values()), list(b.losses.values()), rtol=1e-3)


@pytest.mark.slow
def test_default_small_model_learns_on_real_corpus(tmp_path: Path) -> None:
    from mixlaw.train.corpus import build_corpus

    build_corpus(tmp_path / "c", max_bytes=500_000)
    cfg = ProxyConfig(corpus=str(tmp_path / "c"), mixture={"code": 0.3, "docs": 0.2, "legal": 0.1, "dialogue": 0.2,
                                                           "scripture": 0.1, "math": 0.1},
                      model_size=200_000, train_tokens=500_000, eval_every=60, num_threads=1)
    result = train(cfg)
    assert result.checkpoints[-1].losses["math"] < 2.5 and result.tokens_per_s > 5_000


@pytest.mark.parametrize("field,value,match", [
    ("checkpoints", 5, "checkpoints is of type int, not a list"),
    ("checkpoints", [{"step": "x"}], "checkpoint {'step': 'x'} is not {step, tokens, losses, train_loss}"),
    ("step", "x", "step 'x' / best_val_loss"),
    ("sampler_state", 3, "sampler_state is of type int, not a dict"),
    ("model", {"x": torch.zeros(2)}, "does not hold this run's training state"),
    ("sampler_state", {}, "does not hold this run's training state"),
])
def test_a_checkpoint_file_of_this_run_with_bad_contents_is_one_error(field: str, value: object, match: str,
                                                                     tiny_config: ProxyConfig,
                                                                     tmp_path: Path) -> None:
    """A file with every key and this run's id but a value of another type (a hand-edited or foreign file at
    <store>.ckpt/<run_id>.pt) ended a resumed sweep in a TypeError/RuntimeError traceback."""
    from mixlaw.train.loop import CHECKPOINT_KEYS, prepare

    _, _, rid = prepare(tiny_config)
    state: dict[str, object] = {k: {} for k in CHECKPOINT_KEYS}
    state.update(run_id=rid, step=10, best_val_loss=1.0, checkpoints=[], torch_rng_state=torch.get_rng_state())
    state[field] = value
    torch.save(state, tmp_path / "ckpt.pt")
    with pytest.raises(InputError, match=re.escape(match)):
        train(tiny_config, ckpt_path=tmp_path / "ckpt.pt")
