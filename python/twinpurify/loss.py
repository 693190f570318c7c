"""The Barlow Twins objective (Zbontar et al., 2021)."""

from __future__ import annotations

import torch

from .distributed import gather_batch


def barlow_twins_loss(z1: torch.Tensor, z2: torch.Tensor, lambd: float = 5e-3, eps: float = 1e-5) -> torch.Tensor:
    """Sum over i of (1 - C_ii)^2 plus lambd times the sum over i != j of C_ij^2.

    C is the cross-correlation of the batch-standardised projections of the two views. It is always
    computed in float32, also under bf16 autocast: squares of near-1 correlations lose everything in bf16.

    In a distributed fit (`twinpurify.distributed.spanning_ranks`) each rank passes its rows and C is
    computed over the global batch, with gradients flowing back to every rank's rows.
    """
    if z1.shape != z2.shape or z1.ndim != 2:
        raise ValueError(
            f"views must be two (batch, dim) tensors of one shape, got {tuple(z1.shape)} and {tuple(z2.shape)}"
        )
    z1, z2 = gather_batch(z1), gather_batch(z2)
    n = z1.shape[0]
    if n < 2:
        raise ValueError("Barlow Twins needs a batch of at least 2 samples")
    with torch.autocast(device_type=z1.device.type, enabled=False):
        z1 = z1.float()
        z2 = z2.float()
        z1 = (z1 - z1.mean(0)) / (z1.std(0, unbiased=False) + eps)
        z2 = (z2 - z2.mean(0)) / (z2.std(0, unbiased=False) + eps)
        c = z1.T @ z2 / n
        diag = torch.diagonal(c)
        on_diag = (1.0 - diag).pow(2).sum()
        off_diag = c.pow(2).sum() - diag.pow(2).sum()
        return on_diag + lambd * off_diag
