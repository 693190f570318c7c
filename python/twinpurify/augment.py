"""View generation: re-contaminate each tumor with the cohort's own normal tissue.

Two views of a tumor differ only in how much (and which) normal tissue was mixed in, so an encoder
that maps both to the same point has to ignore what normal tissue can explain. Mixing is done in
linear expression space, where bulk profiles really are sums of cell populations; for log2(x + c)
input, 2**value = x + c and a convex mixture keeps the same c, so going back to log2 is exact.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
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
    tumor_lin: torch.Tensor,
    normal_lin: torch.Tensor,
    beta: torch.Tensor,
    weights: torch.Tensor,
    index: torch.Tensor,
    out: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """(1 - beta) * tumor + beta * (weights-averaged normals), all in linear space.

    tumor_lin (b, g); normal_lin (m, g); beta (b,); weights and index (b, k): which normals, how much.
    The background is summed one normal at a time (k gathers of (b, g)), never as a (b, k, g) block:
    at TCGA width that block was the largest allocation of a training step. `out` (b, g) receives it.
    """
    background = normal_lin.index_select(0, index[:, 0]).mul_(weights[:, :1])
    for j in range(1, index.shape[1]):  # index_select: several times faster than fancy indexing on a CPU
        background.addcmul_(normal_lin.index_select(0, index[:, j]), weights[:, j : j + 1])
    return torch.lerp(tumor_lin, background, beta.unsqueeze(1).to(tumor_lin.dtype), out=out)


def mask_and_noise(x: torch.Tensor, u: torch.Tensor, mask_prob: float, noise_std: float) -> torch.Tensor:
    """Set the entries with u < `mask_prob` to 0 and add N(0, noise_std^2) noise to every entry, in place.

    `u` holds one U[0, 1) number per entry (it may be overwritten) and gives both: u rescaled within its
    branch (u / p below p, (u - p) / (1 - p) above) is again uniform and independent of the mask decision,
    so its normal quantile is noise independent of the mask. One random number per entry instead of two
    (a uniform for the mask, a normal for the noise): random numbers, not arithmetic, were the largest
    cost of views on a CPU.
    """
    tiny = 2.0**-24  # float32 uniforms are multiples of 2**-24: keep the quantile finite at both ends
    if mask_prob > 0:
        p = mask_prob
        keep = torch.ge(u, p, out=torch.empty_like(x))  # 1.0 where kept, as a float: no bool pass
        x.mul_(keep)
        if noise_std <= 0:
            return x
        # w = 2 v - 1 for v = u / p (masked) or (u - p) / (1 - p) (kept), without `where`:
        # w = 2u / p - 1 + keep * (2u (1 / (1 - p) - 1 / p) - 2p / (1 - p))
        w = u * (2.0 / (1.0 - p) - 2.0 / p)
        w.sub_(2.0 * p / (1.0 - p)).mul_(keep).add_(u, alpha=2.0 / p).sub_(1.0)
    elif noise_std > 0:
        w = u.mul_(2.0).sub_(1.0)
    else:
        return x
    z = w.clamp_(2.0 * tiny - 1.0, 1.0 - 2.0 * tiny).erfinv_()  # N(0, 1/2)
    x.add_(z, alpha=noise_std * math.sqrt(2.0))
    return x


_CPU_BLOCK = 1 << 19  # entries per block of view arithmetic on a CPU (2 MiB of float32: stays in cache)


def uniforms(
    shape: tuple[int, int], generator: torch.Generator, device: torch.device, out: Optional[np.ndarray] = None
) -> torch.Tensor:
    """float32 U(0, 1) numbers of `shape`, drawn from (and advancing) `generator`.

    On an accelerator, `torch.rand` on the device. On a CPU, torch's Mersenne Twister fills one core at
    about 3 ns a number, a tenth of a TCGA-sized training step; there the numbers are (k + 0.5) / 65536
    for k uniform on 0..65535, four to each 64-bit draw of numpy's PCG64 seeded from `generator` (as
    reproducible from `random_state` as before, not the same numbers). 16 bits are plenty for a mask
    and for augmentation noise, whose normal quantiles then reach 3.8 to 4.3 sd, and cost half of
    numpy's float32 draws. `out`, a C-contiguous float32 array of `shape`, is filled and shared (a new
    array when it is missing or of another shape; ignored on an accelerator).
    """
    if device.type != "cpu":
        return torch.rand(shape, device=device, generator=generator)
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    n = int(shape[0]) * int(shape[1])
    bits = np.random.Generator(np.random.PCG64(seed)).bit_generator.random_raw((n + 3) // 4)
    k = bits.view(np.uint16)[:n].reshape(shape)
    if out is None or out.shape != tuple(shape) or out.dtype != np.float32:
        out = np.empty(shape, dtype=np.float32)
    np.add(k, np.float32(0.5), out=out, dtype=np.float32)
    out *= np.float32(2.0**-16)
    return torch.from_numpy(out)


class ViewGenerator:
    """Makes a batch of augmented, standardised views on the device, with no per-sample Python.

    Not for concurrent use from several threads: on a CPU one scratch buffer holds each call's uniforms.
    """

    def __init__(self, normal_log2: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, config: ViewConfig):
        config.validate()
        self.normal_lin = to_linear(normal_log2)
        self.mean = mean
        self.std = std
        self.inv_std = 1.0 / std
        self.config = config
        self._scratch: Optional[np.ndarray] = None  # the CPU uniforms of the last batch, refilled by the next

    def mixing_only(self) -> ViewGenerator:
        """The same normals, fractions and standardisation, without masking or noise: mixing alone.

        What `twinpurify.rotation` measures after training (how mixing moves each tumor's embedding).
        """
        out = copy.copy(self)
        out.config = ViewConfig(self.config.beta_max, self.config.n_mix, 0.0, 0.0)
        out._scratch = None  # a buffer of its own
        return out

    def __call__(
        self,
        tumor_lin: torch.Tensor,
        generator: torch.Generator,
        beta_scale: Optional[torch.Tensor] = None,
        repeats: int = 1,
    ) -> torch.Tensor:
        """Views of a batch; `beta_scale` multiplies each view's fraction (0 = no mixing).

        With `repeats` = r the result has r * b rows, row j a view of tumor j % b: the same numbers as
        views of ``torch.cat([tumor_lin] * r)``, without that copy (Barlow Twins takes two views of each).
        On a CPU the arithmetic runs over blocks of rows small enough to stay in cache: each view takes
        about ten elementwise passes, and over a whole TCGA-sized batch every pass went to memory.
        """
        cfg = self.config
        n, g = tumor_lin.shape
        b = n * int(repeats)
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
        u = None
        if cfg.mask_prob > 0 or cfg.noise_std > 0:
            u = uniforms((b, g), generator, dev, self._scratch)
            if dev.type == "cpu":
                self._scratch = u.numpy()  # refilled by the next batch (a new array when its shape changes)
        out = tumor_lin.new_empty((b, g))
        rows = max(1, _CPU_BLOCK // max(g, 1)) if dev.type == "cpu" else max(n, 1)
        for r in range(int(repeats)):
            for i in range(0, n, rows):
                src = slice(i, min(i + rows, n))
                s = slice(r * n + i, r * n + src.stop)
                x = mix_with_normals(tumor_lin[src], self.normal_lin, beta[s], weights[s], index[s], out=out[s])
                x.log2_().sub_(self.mean).mul_(self.inv_std)
                if u is not None:
                    mask_and_noise(x, u[s], cfg.mask_prob, cfg.noise_std)
        return out
