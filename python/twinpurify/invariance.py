"""Directions of tumor variation that mixing with the cohort's normals cannot produce.

The linear form of TwinPurify's principle, solved in closed form: with C_t the covariance of the
standardised tumors and C_mix the second moment of the change that mixing a tumor with normal tissue
makes (estimated from views made exactly as TwinPurify makes them), the directions w maximising

    w' C_t w / (w' C_mix w + s * w'w * mean eigenvalue of C_mix)

keep tumor variance per unit of normal-mixing variance. The ridge s is what makes it useful: with
s = 0 the most mixing-invariant directions win whatever their variance, and subtle biology goes with
the normal tissue; large s tends to PCA. Solved in the span of the tumors' top principal components.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch

from .augment import ViewConfig, ViewGenerator


def mixing_perturbations(
    Xs: np.ndarray,
    normal_log: np.ndarray,
    mean: np.ndarray,
    std: np.ndarray,
    beta_max: float,
    n_mix: int,
    n_draws: int,
    seed: Optional[int],
) -> np.ndarray:
    """Standardised view minus standardised tumor, `n_draws` views per tumor (no masking or noise)."""
    views = ViewGenerator(
        torch.from_numpy(np.asarray(normal_log, np.float32)),
        torch.from_numpy(mean),
        torch.from_numpy(std),
        ViewConfig(float(beta_max), int(n_mix), 0.0, 0.0),
    )
    gen = torch.Generator().manual_seed(0 if seed is None else int(seed))
    t_lin = torch.from_numpy(np.exp2(Xs * std + mean).astype(np.float32))
    return np.concatenate([views(t_lin, gen).double().numpy() - Xs for _ in range(int(n_draws))])


def invariant_directions(
    Xs: np.ndarray, D: np.ndarray, n_components: int, shrinkage: float, max_rank: int
) -> tuple[np.ndarray, np.ndarray]:
    """(components (k, genes), generalised eigenvalues (k,)), largest first; w' (C_mix + ridge) w = 1."""
    from scipy.linalg import eigh

    Xc = Xs - Xs.mean(0)
    _, s, vt = np.linalg.svd(Xc, full_matrices=False)
    r = int(min(int(max_rank), int((s > s[0] * 1e-6).sum())))
    P = vt[:r].T
    A = np.diag(s[:r] ** 2 / len(Xs))
    Dp = D @ P
    B = Dp.T @ Dp / len(D)
    B += float(shrinkage) * np.trace(B) / r * np.eye(r)
    w, v = eigh(A, B)
    order = np.argsort(-w)[: min(int(n_components), r)]
    return (P @ v[:, order]).T, w[order]
