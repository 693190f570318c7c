"""View generation: re-contaminate each tumor with the cohort's own normal tissue.

Two views of a tumor differ only in how much (and which) normal tissue was mixed in, so an encoder
that maps both to the same point has to ignore what normal tissue can explain. Mixing is done in
linear expression space, where bulk profiles really are sums of cell populations; for log2(x + c)
input, 2**value = x + c and a convex mixture keeps the same c, so going back to log2 is exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch


@dataclass
class ViewConfig:
    """How strongly views are perturbed.

    beta_max: largest normal fraction mixed in (beta ~ U(0, beta_max) per view).
    n_mix: number of normals in each view's background profile (Dirichlet(1) weights); 1 = one normal.
    mask_prob: fraction of genes set to the training mean per view (dropout-like masking).
    noise_std: Gaussian noise added after standardisation, in gene standard deviations.
    """

    beta_max: float = 0.5
    n_mix: int = 3
    mask_prob: float = 0.1
    noise_std: float = 0.1

    def validate(self) -> None:
        if not 0.0 <= self.beta_max < 1.0:
            raise ValueError(f"beta_max must be in [0, 1), got {self.beta_max}")
        if self.n_mix < 1:
            raise ValueError(f"n_mix must be at least 1, got {self.n_mix}")
        if not 0.0 <= self.mask_prob < 1.0:
            raise ValueError(f"mask_prob must be in [0, 1), got {self.mask_prob}")
        if self.noise_std < 0:
            raise ValueError(f"noise_std must be >= 0, got {self.noise_std}")


def to_linear(log2x: torch.Tensor) -> torch.Tensor:
    return torch.exp2(log2x)


def mix_with_normals(
    tumor_lin: torch.Tensor, normal_lin: torch.Tensor, beta: torch.Tensor, weights: torch.Tensor, index: torch.Tensor
) -> torch.Tensor:
    """(1 - beta) * tumor + beta * (weights-averaged normals), all in linear space.

    tumor_lin (b, g); normal_lin (m, g); beta (b,); weights and index (b, k): which normals, how much.
    """
    background = torch.einsum("bk,bkg->bg", weights, normal_lin[index])
    beta = beta.unsqueeze(1)
    return (1.0 - beta) * tumor_lin + beta * background


class ViewGenerator:
    """Makes a batch of augmented, standardised views on the device, with no per-sample Python."""

    def __init__(self, normal_log2: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, config: ViewConfig):
        config.validate()
        self.normal_lin = to_linear(normal_log2)
        self.mean = mean
        self.std = std
        self.config = config

    def __call__(
        self, tumor_lin: torch.Tensor, generator: torch.Generator, beta_scale: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        """Views of a batch; `beta_scale` (b,) multiplies each row's fraction (0 = no mixing)."""
        cfg = self.config
        b, g = tumor_lin.shape
        dev = tumor_lin.device
        m = self.normal_lin.shape[0]
        k = min(cfg.n_mix, m)
        beta = torch.rand(b, device=dev, generator=generator) * cfg.beta_max
        if beta_scale is not None:
            beta = beta * beta_scale
        index = torch.randint(0, m, (b, k), device=dev, generator=generator)
        weights = -torch.log(
            torch.rand(b, k, device=dev, generator=generator).clamp_min(1e-12)
        )  # Exp(1) -> Dirichlet(1)
        weights = weights / weights.sum(1, keepdim=True)
        mixed = mix_with_normals(tumor_lin, self.normal_lin, beta, weights, index)
        x = (torch.log2(mixed) - self.mean) / self.std
        if cfg.mask_prob > 0:
            keep = torch.rand(b, g, device=dev, generator=generator) >= cfg.mask_prob
            x = x * keep
        if cfg.noise_std > 0:
            x = x + cfg.noise_std * torch.randn(b, g, device=dev, generator=generator)
        return x
