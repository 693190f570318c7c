"""The training loop shared by TwinPurify and the autoencoder baseline.

The whole training matrix lives on the device; each step slices a batch from it with an index
tensor, so there is no DataLoader, no host-to-device copy and no per-sample Python per step.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Callable, Optional, Union

import torch
from torch import nn

StepFn = Callable[[nn.Module, torch.Tensor, torch.Generator], torch.Tensor]


def resolve_device(device: Union[str, torch.device, None] = "auto") -> torch.device:
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            f"device={str(device)!r} but this torch ({torch.__version__}) sees no CUDA device; "
            "use device='cpu' or 'auto'"
        )
    return dev


@dataclass
class Schedule:
    batch_size: int
    epochs: int
    steps_per_epoch: int


def auto_schedule(
    n: int, batch_size: Union[int, str] = "auto", max_epochs: Union[int, str] = "auto", target_steps: int = 300
) -> Schedule:
    """Batch size and epochs from the cohort size: about `target_steps` optimiser steps in all.

    300 steps matched 600 on both TCGA-BRCA tuning cohorts (purity leakage, PAM50 F1, C-index) at half the cost.

    Small cohorts (30 tumors) train full-batch for many epochs; TCGA-sized ones in batches of 256.
    """
    bs = min(256, n) if batch_size == "auto" else int(batch_size)
    if bs < 2:
        raise ValueError(f"batch_size must be at least 2, got {bs}")
    bs = min(bs, n)
    steps = n // bs + (1 if n % bs >= 2 else 0)  # a last batch of one sample would break BatchNorm
    if max_epochs == "auto":
        epochs = int(min(400, max(10, math.ceil(target_steps / steps))))
    else:
        epochs = int(max_epochs)
        if epochs < 1:
            raise ValueError(f"max_epochs must be at least 1, got {epochs}")
    return Schedule(bs, epochs, steps)


def autocast_context(device: torch.device, enabled: bool):
    if device.type == "cuda" and enabled:
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def train_module(
    module: nn.Module,
    data: torch.Tensor,
    step: StepFn,
    schedule: Schedule,
    *,
    lr: float,
    weight_decay: float,
    generator: torch.Generator,
    bf16: bool = True,
    early_stopping: bool = False,
    patience: int = 20,
    tol: float = 1e-3,
    progress: bool = True,
    desc: str = "training",
) -> list[dict]:
    """Adam with warm-up and cosine decay; returns the per-epoch loss history."""
    from tqdm.auto import tqdm

    device = data.device
    n = data.shape[0]
    opt = torch.optim.AdamW(module.parameters(), lr=lr, weight_decay=weight_decay)
    total = schedule.epochs * schedule.steps_per_epoch
    warmup = max(1, total // 20)

    def lr_at(i: int) -> float:
        if i < warmup:
            return (i + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (i - warmup) / max(1, total - warmup)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    history: list[dict] = []
    best, since_best = math.inf, 0
    module.train()
    # disable=None: bars only on a terminal, so CI logs and redirected output stay readable
    bar = tqdm(range(schedule.epochs), desc=desc, disable=None if progress else True, leave=False)
    for epoch in bar:
        perm = torch.randperm(n, device=device, generator=generator)
        lr_first = float(opt.param_groups[0]["lr"])  # the rate of the epoch's first step (warm-up visible)
        running = torch.zeros((), device=device)
        for s in range(schedule.steps_per_epoch):
            idx = perm[s * schedule.batch_size : (s + 1) * schedule.batch_size]
            with autocast_context(device, bf16):
                loss = step(module, data[idx], generator)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            running += loss.detach()
        epoch_loss = float(running) / schedule.steps_per_epoch  # one sync per epoch
        if not math.isfinite(epoch_loss):
            raise FloatingPointError(f"training diverged at epoch {epoch + 1} (loss {epoch_loss}); lower lr")
        history.append({"epoch": epoch + 1, "loss": epoch_loss, "lr": lr_first})
        bar.set_postfix(loss=f"{epoch_loss:.4g}")
        if early_stopping:
            if epoch_loss < best * (1 - tol):
                best, since_best = epoch_loss, 0
            else:
                since_best += 1
                if since_best >= patience:
                    break
    module.eval()
    return history


@torch.no_grad()
def encode(encoder: nn.Module, x: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
    """Encoder output in eval mode, in float32, a block at a time."""
    encoder.eval()
    out = [encoder(x[i : i + batch_size]).float() for i in range(0, x.shape[0], batch_size)]
    return torch.cat(out) if out else x.new_zeros((0,))


def make_generator(device: torch.device, seed: Optional[int]) -> torch.Generator:
    g = torch.Generator(device=device)
    if seed is None:
        g.seed()
    else:
        g.manual_seed(int(seed))
    return g
