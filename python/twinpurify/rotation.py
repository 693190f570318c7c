"""The network's last, linear step: keep the embedding's most mixing-invariant directions.

Barlow Twins makes the *projector's* output invariant to the views' mixing; the embedding before the
projector still moves a little when a tumor is mixed with its cohort's normals (the projector can
ignore a direction the loss would punish). After training, the tumors' embedding covariance is
compared with the covariance of how mixed views of the same tumors move the embedding (the
generalised eigenproblem of `twinpurify.invariance`, solved in the embedding instead of the genes)
and the least invariant directions are dropped. On the simulator (400 tumors), dropping 2 of 18
lowered purity leakage by about a sixth at equal program, intrinsic and subtype recovery; less at 150
and 800 tumors (benchmarks/TUNING.md, round 7).

`MixingMoments` holds the sums, filled block by block (in memory, streamed from disk, merged across
ranks by summing), so no embedding of the whole cohort is kept.
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import torch

from .augment import ViewGenerator

VIEWS_PER_TUMOR = 8  # mixed views per tumor that estimate how mixing moves the embedding
SHRINKAGE = 0.1  # ridge on the mixing covariance, as a fraction of its mean eigenvalue
ROTATION_STREAM = 2**40 + 7  # `distributed.rank_seed(random_state, ROTATION_STREAM)`: the views' own random stream


class MixingMoments:
    """Sums of the embedded tumors (mean, covariance) and of each mixed view's displacement, in float64.

    The tumors' sums are taken about `shift` (the same on every rank, e.g. the embedding of the training
    mean profile), so the covariance ``zz / n - mean mean'`` does not cancel when the embedding's offset is
    large against its spread.
    """

    def __init__(self, width: int, shift: Optional[np.ndarray] = None):
        self.width = int(width)
        self.shift = np.zeros(width) if shift is None else np.asarray(shift, dtype=np.float64).reshape(width)
        self.n = 0
        self.n_views = 0
        self.sum = np.zeros(width)
        self.zz = np.zeros((width, width))
        self.dd = np.zeros((width, width))

    def add(self, z: np.ndarray, displacement: np.ndarray) -> None:
        """`z` (b, width): embedded tumors; `displacement` (v, width): embedded view minus embedded tumor."""
        z = np.asarray(z, dtype=np.float64) - self.shift
        d = np.asarray(displacement, dtype=np.float64)
        self.n += len(z)
        self.n_views += len(d)
        self.sum += z.sum(0)
        self.zz += z.T @ z
        self.dd += d.T @ d

    def flat(self) -> np.ndarray:
        """Everything as one vector (for an all-reduce across ranks); `set_flat` reads it back."""
        return np.concatenate([[float(self.n), float(self.n_views)], self.sum, self.zz.ravel(), self.dd.ravel()])

    def set_flat(self, v: np.ndarray) -> None:
        """Replace the sums by those of a vector written by `flat` (after the all-reduce)."""
        w = self.width
        self.n, self.n_views = int(round(v[0])), int(round(v[1]))
        self.sum = v[2 : 2 + w].copy()
        self.zz = v[2 + w : 2 + w + w * w].reshape(w, w).copy()
        self.dd = v[2 + w + w * w :].reshape(w, w).copy()

    def solve(self, keep: int, shrinkage: float = SHRINKAGE, blocks: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """The output layer ``(z - center) @ weight.T`` that keeps the `keep` most mixing-invariant directions.

        Directions solve ``C_tumor v = w (C_mix + ridge) v``, largest w first; each is scaled to a
        tumor variance of ``w / w_max``, so the embedding's geometry (distances, a ridge probe's
        penalty) favours the most invariant directions as `InvariantProjection`'s does. With fewer
        tumors than dimensions the directions beyond the tumors' rank have w = 0: constant columns.

        Parameters
        ----------
        keep : int
            Directions kept, 1 to `width`.
        shrinkage : float, default `SHRINKAGE`
            Ridge added to the mixing covariance, as a fraction of its mean eigenvalue.
        blocks : int, default 1
            Equal blocks of the embedding (the members of `n_networks` > 1), each scaled to unit total
            tumor variance before the ridge is added, so that no network's scale weighs more in it; a
            block without tumor variance (a collapsed network) is refused.

        Returns
        -------
        weight : ndarray of shape (keep, width)
        center : ndarray of shape (width,)
            The tumors' mean embedding.

        Raises
        ------
        ValueError
            Fewer than 2 tumors or no view, `keep` out of range, or an embedding without tumor variance.
        """
        from scipy.linalg import eigh

        if self.n < 2 or self.n_views < 1:
            raise ValueError(f"the mixing rotation needs at least 2 tumors and 1 view, got {self.n} and {self.n_views}")
        if not 1 <= keep <= self.width:
            raise ValueError(f"keep must be in [1, {self.width}], got {keep}")
        if blocks < 1 or self.width % blocks:
            raise ValueError(f"blocks must divide the width {self.width}, got {blocks}")
        mean = self.sum / self.n  # about the shift
        A = self.zz / self.n - np.outer(mean, mean)
        B = self.dd / self.n_views
        size = self.width // blocks
        block_var = np.add.reduceat(np.diag(A), np.arange(0, self.width, size))
        flat = np.flatnonzero(block_var <= 1e-9 * max(float(block_var.max()), 0.0)) if blocks > 1 else np.array([])
        if len(flat):  # scaled up to unit variance, its rounding noise would weigh like a trained network
            raise ValueError(
                f"network(s) {', '.join(str(i + 1) for i in flat)} of {blocks} collapsed (no variance across the "
                "training tumors); try other settings or another random_state"
            )
        d = np.repeat(1.0 / np.sqrt(np.maximum(block_var, 1e-300)), size) if blocks > 1 else np.ones(self.width)
        As, Bs = A * np.outer(d, d), B * np.outer(d, d)  # each block at unit total variance
        Bs = Bs + float(shrinkage) * max(np.trace(Bs) / self.width, 1e-12) * np.eye(self.width)
        w, v = eigh((As + As.T) / 2, (Bs + Bs.T) / 2)
        v = v * d[:, None]  # back to the embedding's own coordinates
        order = np.argsort(-w)[:keep]
        if not w[order][0] > 0:
            raise ValueError(
                "the embedding does not vary across the training tumors (the network collapsed): no direction "
                "to keep; try other settings or another random_state"
            )
        V = v[:, order]
        var = np.einsum("ij,ij->j", V, A @ V)
        # fewer tumors than dimensions: directions without tumor variance come out as constant (zero) columns
        null = (w[order] <= max(float(w[order][0]), 0.0) * 1e-9) | (var <= max(float(var.max()), 0.0) * 1e-12)
        scale = np.zeros(keep)
        scale[~null] = np.sqrt(w[order][~null] / w[order][0] / var[~null])
        V = V * scale
        V = V * np.sign(V[np.abs(V).argmax(0), np.arange(V.shape[1])])  # a fixed sign per direction
        return V.T.copy(), mean + self.shift


def accumulate(
    moments: MixingMoments,
    encoder: Callable[[torch.Tensor], torch.Tensor],
    tumor_lin: torch.Tensor,
    views: ViewGenerator,
    generator: torch.Generator,
    block: int = 1024,
) -> None:
    """Add a matrix of linear-space tumors (rows) to `moments`: their embedding and their views' displacements.

    The views are those of training (same normals, fractions ``U(0, beta_max)``) without masking or
    noise (`ViewGenerator.mixing_only`): only the mixing is to be measured. The caller puts `encoder` in eval mode.

    Parameters
    ----------
    moments : MixingMoments
        Filled in place.
    encoder : callable
        Standardised profiles (rows) -> embedding of the network's full width.
    tumor_lin : Tensor of shape (n, genes)
        Tumors in linear space, on the encoder's device.
    views : ViewGenerator
        Makes the mixed, standardised views.
    generator : torch.Generator
        The views' random stream, on the same device.
    block : int, default 1024
        Tumors per forward pass; each pass embeds ``block * VIEWS_PER_TUMOR`` views.
    """
    with torch.no_grad():
        for i in range(0, tumor_lin.shape[0], block):
            t = tumor_lin[i : i + block]
            xs = (torch.log2(t) - views.mean) * views.inv_std
            z = encoder(xs).float()
            v = views(t, generator, repeats=VIEWS_PER_TUMOR)
            d = encoder(v).float() - z.repeat(VIEWS_PER_TUMOR, 1)
            moments.add(z.cpu().numpy(), d.cpu().numpy())
