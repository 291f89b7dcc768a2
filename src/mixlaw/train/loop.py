"""Train one proxy model: ``train(config) -> RunResult``, one visible loop.

The loop samples a batch by the mixture weights, takes an AdamW step with the learning rate given as a
pure function of the step (:func:`lr_at`), and every ``eval_every`` steps (and at the last step) scores
the model on fixed validation windows of every corpus domain (or, with ``ema_gamma > 0``, a power-function
EMA of its weights: :class:`PowerEMA`). Each such checkpoint is handed to
``on_checkpoint`` (the sweep writes it to the run store in one transaction) and, with ``ckpt_path``,
saved with the optimizer and sampler state so that a killed run resumes bitwise-identically.
"""

from __future__ import annotations

import copy
import io
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._atomic import atomic_target
from .._version import __version__
from ..errors import InputError
from ..store import run_table_rows
from .config import ProxyConfig, run_id
from .data import Corpus, MixtureSampler, eval_windows
from .model import GPT, GPTConfig


@dataclass
class Checkpoint:
    """Scores of one evaluation during a run.

    Attributes
    ----------
    step : int
        Optimiser steps taken.
    tokens : int
        Training tokens seen, ``step * batch_size * block_size``.
    losses : dict of str to float
        Mean validation cross-entropy (nats per byte) of each corpus domain, scored on the raw weights, or on
        their EMA when the config sets ``ema_gamma``.
    train_loss : float
        Mean training loss over the steps since the previous checkpoint.
    """

    step: int
    tokens: int
    losses: dict[str, float]
    train_loss: float


@dataclass
class RunResult:
    """What one training run produced.

    Attributes
    ----------
    run_id : str
        Stable hash of the resolved config and the corpus content (:func:`~mixlaw.train.config.run_id`).
    config : ProxyConfig
        The resolved config (model shape filled in, mixture over all corpus domains).
    model_params : int
        Non-embedding parameter count (the run table's ``params``).
    checkpoints : list of Checkpoint
    corpus_fingerprint : str
    wall_s : float
        Wall time of this process's share of the run (a resumed run counts only what it re-ran).
    tokens_per_s : float
        Training tokens per second in this process, evaluation included.
    device : str
    diverged : str or None
        Why the run stopped early, when a loss stopped being finite or is not > 0 (its checkpoints end before
        that step); ``None`` for a run that trained to the end.
    """

    run_id: str
    config: ProxyConfig
    model_params: int
    checkpoints: list[Checkpoint]
    corpus_fingerprint: str
    wall_s: float = 0.0
    tokens_per_s: float = 0.0
    device: str = "cpu"
    extra: dict[str, Any] = field(default_factory=dict)
    diverged: str | None = None

    def to_frame(self) -> Any:
        """The run's rows in the run-table format of DESIGN §2 (``run``, ``w:*``, ``loss:*``, ``params``,
        ``step``, ``tokens``), one row per checkpoint."""
        return run_table_rows(self.run_id, self.config.mixture, self.model_params,
                              [(c.step, c.tokens, c.losses) for c in self.checkpoints])

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (config as a dict)."""
        d = asdict(self)
        d["config"] = self.config.to_dict()
        return d


def lr_at(step: int, config: ProxyConfig) -> float:
    """Learning rate at ``step`` (0-based): linear warm-up, then cosine decay to ``lr * min_lr_ratio``.

    A pure function of the step, as in nanoGPT's ``get_lr``, so a resumed run follows the same schedule.
    """
    warmup = int(config.warmup_frac * config.max_steps)
    if step < warmup:
        return config.lr * (step + 1) / (warmup + 1)
    progress = (step - warmup) / max(1, config.max_steps - warmup)
    min_lr = config.lr * config.min_lr_ratio
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress))) * (config.lr - min_lr)


def run_seeds(base_seed: int, rid: str) -> tuple[int, np.random.Generator]:
    """Seeds of one run from ``SeedSequence([base_seed, run_hash])``: a torch seed (model init) and the
    data sampler's Generator. Adding runs to a sweep never reseeds the others."""
    children = np.random.SeedSequence([base_seed, int(rid, 16)]).spawn(2)
    torch_seed = int(children[0].generate_state(1, dtype=np.uint64)[0])
    return torch_seed, np.random.default_rng(children[1])


def seed_everything(torch_seed: int) -> None:
    """Seed torch's CPU (and CUDA) generators; the data sampler has its own Generator."""
    torch.manual_seed(torch_seed)


def resolve_device(name: str) -> torch.device:
    """``"auto"`` → CUDA when available, else CPU; otherwise the named device."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise InputError(f"config field 'device': {name!r} is not a torch device (use auto, cpu or cuda)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"config field 'device' is {name!r} but CUDA is not available here; use cpu or auto")
    return device


def prepare(config: ProxyConfig, corpus: Corpus | None = None) -> tuple[ProxyConfig, Corpus, str]:
    """Open the corpus, resolve the config against its domains and compute the run id (no training)."""
    corpus = corpus if corpus is not None else Corpus(config.corpus)
    cfg = config.resolved(corpus.domains)
    corpus.check_block_size(cfg.block_size)
    return cfg, corpus, run_id(cfg, corpus.fingerprint)


def build_model(cfg: ProxyConfig) -> GPT:
    """The GPT of a resolved config (byte vocabulary)."""
    return GPT(GPTConfig(vocab_size=256, block_size=cfg.block_size, n_layer=cfg.n_layer, n_head=cfg.n_head,
                         n_embd=cfg.n_embd, dropout=cfg.dropout))


class PowerEMA:
    r"""Power-function exponential moving average of a model's weights, the copy that checkpoints score.

    After optimiser step :math:`t` (1-based), :math:`\bar\theta_t = \beta_t \bar\theta_{t-1} + (1 - \beta_t)
    \theta_t` with :math:`\beta_t = (1 - 1/t)^{\gamma + 1}`, so :math:`\bar\theta_t` weights past steps
    :math:`\tau \le t` in proportion to :math:`\tau^\gamma` (Karras et al., "Analyzing and Improving the
    Training Dynamics of Diffusion Models", CVPR 2024: the power-function EMA profile).

    Why: at a constant learning rate the raw weights jitter around the loss valley, so one checkpoint's loss
    carries a few percent of noise that no step law can fit; averaging the weights removes most of it, much like
    a learning-rate cool-down. Unlike a fixed-decay EMA the averaging window grows in proportion to ``t``, so the
    averaged curve is the raw curve seen at a constant fraction :math:`(\gamma + 1) / (\gamma + 2)` of the steps,
    and a power law in steps stays a power law with the same exponent.
    """

    def __init__(self, model: torch.nn.Module, gamma: float) -> None:
        self.gamma = float(gamma)
        self.model = copy.deepcopy(model).requires_grad_(False)
        self.t = 0
        self._mine = list(self.model.parameters())
        self._theirs = list(model.parameters())

    @torch.no_grad()
    def update(self) -> None:
        """Fold in the source model's current weights (call once after every optimiser step)."""
        self.t += 1
        beta = (1.0 - 1.0 / self.t) ** (self.gamma + 1.0)
        torch._foreach_lerp_(self._mine, self._theirs, 1.0 - beta)

    def state_dict(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "t": self.t}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.t = int(state["t"])


@torch.no_grad()
def evaluate(model: GPT, windows: dict[str, torch.Tensor], batch_rows: int) -> dict[str, float]:
    """Mean validation loss per domain over its fixed windows (``(n, block_size + 1)`` tensors)."""
    model.eval()
    out = {}
    for name, w in windows.items():
        total = torch.zeros((), dtype=torch.float64, device=w.device)
        for i in range(0, len(w), batch_rows):
            chunk = w[i: i + batch_rows]
            _, loss = model(chunk[:, :-1], chunk[:, 1:])
            total += loss.double() * len(chunk)  # loss is a per-token mean; chunks are weighted by rows
        out[name] = float(total / len(w))
    model.train()
    return out


def _save_atomic(obj: dict[str, Any], path: Path) -> None:
    # A kill mid-write leaves the previous checkpoint intact; its temp file (named for this process, so two
    # writers never share one) is swept by the next save, and a full disk leaves none.
    # Serialised in memory, then written by Python: torch's own writer reports a full disk as "[enforce fail at
    # inline_container.cc:672] . unexpected pos 63616 vs 63504", which a sweep printed as its error; a Python write
    # raises OSError(ENOSPC) "No space left on device". A proxy run's checkpoint is a few MB.
    buf = io.BytesIO()
    torch.save(obj, buf)
    try:
        with atomic_target(path) as tmp, open(tmp, "wb") as fh:
            fh.write(buf.getbuffer())
    except (OSError, RuntimeError) as err:
        raise InputError(f"cannot write the training checkpoint {str(path)!r}: {err}") from None


#: Keys every training checkpoint file holds (see :func:`train`).
CHECKPOINT_KEYS = ("model", "optimizer", "step", "best_val_loss", "run_id", "sampler_state", "torch_rng_state",
                   "checkpoints", "ema")


def load_checkpoint(path: str | os.PathLike[str], map_location: Any = "cpu") -> dict[str, Any]:
    """Read a training checkpoint file without running any code from it.

    ``torch.load(weights_only=True)`` unpickles only tensors and plain containers (dict, list, str, int,
    float...), so a file planted at a predictable path (``<out>/ckpt.pt``, ``<store>.ckpt/<run_id>.pt``)
    cannot execute anything; the loaded object is then checked for the keys a checkpoint has.

    Raises
    ------
    InputError
        If the file is not a mixlaw training checkpoint (naming it, and what to do).
    """
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 (UnpicklingError, RuntimeError, EOFError...: all mean "not ours")
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InputError(f"{str(path)!r} is not a mixlaw training checkpoint ({first[:200]}); delete it to "
                         f"train from step 0") from None
    missing = [k for k in CHECKPOINT_KEYS if not isinstance(state, dict) or k not in state]
    if missing:
        raise InputError(f"{str(path)!r} is not a mixlaw training checkpoint (missing {missing}); delete it to "
                         f"train from step 0")
    bad = _bad_checkpoint_field(state)
    if bad:
        # A file with every key but a value of another type ('checkpoints': 5) ended the sweep in a TypeError's
        # traceback where the resumed run re-records the file's checkpoints.
        raise InputError(f"{str(path)!r} is not a mixlaw training checkpoint ({bad}); delete it to train from step 0")
    return state


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _bad_checkpoint_field(state: dict[str, Any]) -> str | None:
    """What is wrong with the plain-data fields of a loaded checkpoint (None: nothing)."""
    if not isinstance(state["run_id"], str):
        return f"run_id is {state['run_id']!r}"
    if not _is_int(state["step"]) or not _is_number(state["best_val_loss"]):
        return f"step {state['step']!r} / best_val_loss {state['best_val_loss']!r} are not numbers"
    for key in ("model", "optimizer", "sampler_state"):
        if not isinstance(state[key], dict):
            return f"{key} is of type {type(state[key]).__name__}, not a dict"
    cks = state["checkpoints"]
    if not isinstance(cks, list):
        return f"checkpoints is of type {type(cks).__name__}, not a list"
    for c in cks:
        if not (isinstance(c, dict) and set(c) == {"step", "tokens", "losses", "train_loss"} and _is_int(c["step"])
                and _is_int(c["tokens"]) and isinstance(c["losses"], dict)
                and all(isinstance(k, str) and _is_number(v) for k, v in c["losses"].items())
                and (c["train_loss"] is None or _is_number(c["train_loss"]))):
            return f"checkpoint {str(c)[:80]} is not {{step, tokens, losses, train_loss}}"
    return None


def train(config: ProxyConfig, *, corpus: Corpus | None = None, ckpt_path: str | os.PathLike[str] | None = None,
          on_checkpoint: Callable[[str, ProxyConfig, int, Checkpoint], None] | None = None,
          on_step: Callable[[int, int], None] | None = None) -> RunResult:
    """Train one proxy model on the corpus mixture and score it per domain at each checkpoint.

    Parameters
    ----------
    config : ProxyConfig
        Run description; :meth:`ProxyConfig.resolved` is applied first.
    corpus : Corpus, optional
        An opened corpus (default: open ``config.corpus``).
    ckpt_path : path, optional
        Save ``{model, optimizer, model_args, step, best_val_loss, config, seed, mixlaw_version, ...}``
        here at every checkpoint, and resume from it if it exists and belongs to the same run id.
    on_checkpoint : callable, optional
        ``on_checkpoint(run_id, resolved_config, model_params, checkpoint)``, called after each evaluation
        and *before* the checkpoint file is saved, so a store written here never lags the file.
    on_step : callable, optional
        ``on_step(step, max_steps)`` after every optimiser step (progress bars).

    Returns
    -------
    RunResult
        With ``diverged`` set (and no further checkpoints) when a training or validation loss stopped being
        finite, or is not > 0: the run stops at that checkpoint instead of training on NaNs.

    Raises
    ------
    InputError
        Bad corpus, mixture (unknown domain, weights not summing to 1) or config values, or a checkpoint file
        at ``ckpt_path`` that is not a mixlaw checkpoint.

    Examples
    --------
    >>> cfg = ProxyConfig(corpus="corpus/", mixture={"code": 0.5, "prose": 0.5}, model_size=200_000)
    >>> result = train(cfg)  # doctest: +SKIP
    >>> result.checkpoints[-1].losses  # doctest: +SKIP
    {'code': 2.41, 'prose': 2.87}
    """
    cfg, corpus, rid = prepare(config, corpus)
    device = resolve_device(cfg.device)
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    torch_seed, data_rng = run_seeds(cfg.seed, rid)
    seed_everything(torch_seed)
    model = build_model(cfg).to(device)  # initialised on CPU first: the same weights on every device
    optimizer = model.configure_optimizer(cfg.lr, cfg.weight_decay, (cfg.beta1, cfg.beta2))
    weights = [cfg.mixture[d] for d in corpus.domains]
    sampler = MixtureSampler(corpus, weights, cfg.batch_size, cfg.block_size, data_rng)
    windows = {d: torch.from_numpy(eval_windows(corpus.array(d, "val"), cfg.eval_tokens, cfg.block_size)).to(device)
               for d in corpus.domains}
    model_params = model.num_params(non_embedding=True)
    ema = PowerEMA(model, cfg.ema_gamma) if cfg.ema_gamma > 0 else None
    checkpoints: list[Checkpoint] = []
    start_step, best_val = 0, math.inf

    ckpt = Path(ckpt_path) if ckpt_path is not None else None
    if ckpt is not None and ckpt.is_file():
        state = load_checkpoint(ckpt, map_location=device)
        if state.get("run_id") == rid:
            try:
                model.load_state_dict(state["model"])
                optimizer.load_state_dict(state["optimizer"])
                sampler.rng.bit_generator.state = state["sampler_state"]
                # On the CPU whatever the device: the file is mapped onto the training device, and a CUDA
                # tensor is "not a torch.ByteTensor" to set_rng_state (a GPU run could not resume).
                torch.set_rng_state(state["torch_rng_state"].cpu())
                if ema is not None:
                    ema.load_state_dict(state["ema"])
            except (RuntimeError, TypeError, ValueError, KeyError, AttributeError) as err:
                # Tensors of another shape, a state that is no state: torch's traceback ended the sweep.
                first = (str(err).strip().splitlines() or [type(err).__name__])[0]
                raise InputError(f"{str(ckpt)!r} does not hold this run's training state ({first[:200]}); delete "
                                 f"it to train from step 0") from None
            start_step, best_val = state["step"], state["best_val_loss"]
            checkpoints = [Checkpoint(**c) for c in state["checkpoints"]]

    t0 = time.perf_counter()
    train_loss_sum = torch.zeros((), device=device)  # summed on device: no host sync per step
    n_since = 0
    diverged: str | None = None
    for step in range(start_step, cfg.max_steps):
        lr = lr_at(step, cfg)
        for group in optimizer.param_groups:
            group["lr"] = lr
        x, y, _ = sampler.sample()  # (B, T) int64 each
        xb, yb = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
        _, loss = model(xb, yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip, foreach=True)
        optimizer.step()
        if ema is not None:
            ema.update()
        train_loss_sum += loss.detach()
        n_since += 1
        done = step + 1
        if done % cfg.eval_every == 0 or done == cfg.max_steps:
            losses = evaluate(model if ema is None else ema.model, windows, batch_rows=4 * cfg.batch_size)
            ck = Checkpoint(step=done, tokens=done * cfg.tokens_per_step, losses=losses,
                            train_loss=float(train_loss_sum) / n_since)
            bad = {k: v for k, v in {"train": ck.train_loss, **losses}.items() if not math.isfinite(v)}
            if bad:
                # Checked at checkpoints only (no host sync per step): once a loss is NaN/inf it never recovers,
                # and a non-finite number must not reach the store or a fit as if it were a loss.
                diverged = (f"diverged by step {done}: {', '.join(f'{k} loss {v}' for k, v in bad.items())} "
                            f"(lr={cfg.lr:g}, weight_decay={cfg.weight_decay:g}, grad_clip={cfg.grad_clip:g}; "
                            f"try a lower --lr)")
                break
            zero = {k: v for k, v in {"train": ck.train_loss, **losses}.items() if v <= 0}
            if zero:
                # A cross-entropy rounds to exactly 0 in float32 on a validation set the model predicts exactly
                # (one repeated token). Mixing laws fit log losses: the store refuses it, and the run is left out of
                # exports like a diverged one (with this reason) instead of stopping the whole sweep.
                diverged = (f"stopped at step {done}: {', '.join(f'{k} loss {v}' for k, v in zero.items())}, "
                            f"expected > 0 (a mixing law fits log losses; is that domain one repeated token?)")
                break
            train_loss_sum.zero_()
            n_since = 0
            checkpoints.append(ck)
            best_val = min(best_val, sum(losses.values()) / len(losses))
            if on_checkpoint is not None:
                on_checkpoint(rid, cfg, model_params, ck)
            if ckpt is not None:
                _save_atomic({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                              "model_args": asdict(model.config), "step": done, "best_val_loss": best_val,
                              "config": cfg.to_dict(), "seed": torch_seed, "mixlaw_version": __version__,
                              "run_id": rid, "sampler_state": sampler.rng.bit_generator.state,
                              "torch_rng_state": torch.get_rng_state(),
                              "checkpoints": [asdict(c) for c in checkpoints],
                              "ema": None if ema is None else ema.state_dict()}, ckpt)
        if on_step is not None:
            on_step(done, cfg.max_steps)
    wall = time.perf_counter() - t0
    last = checkpoints[-1].step if diverged is not None and checkpoints else cfg.max_steps
    trained = max(0, last - start_step) * cfg.tokens_per_step
    return RunResult(run_id=rid, config=cfg, model_params=model_params, checkpoints=checkpoints,
                     corpus_fingerprint=corpus.fingerprint, wall_s=wall,
                     tokens_per_s=trained / wall if wall > 0 else 0.0, device=str(device), diverged=diverged)
