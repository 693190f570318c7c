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

from typing import Callable, Optional

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


MAX_GRAM_GENES = 8192  # above this the genes x genes sums (8 bytes each) outgrow what a front is worth


class CovarianceSums:
    """Count, per-gene sums and X'X of the rows seen so far, in float64: the tumors' covariance over genes.

    Filled block by block (in memory or streamed from disk, merged across ranks by summing), so the
    principal directions never need a second copy of the training matrix.
    """

    def __init__(self, n_genes: int):
        self.n = 0
        self.sum = np.zeros(n_genes)
        self.xtx = np.zeros((n_genes, n_genes))

    def add_block(self, x: np.ndarray, rows: int = 1024) -> None:
        for i in range(0, len(x), rows):
            part = np.asarray(x[i : i + rows], dtype=np.float64)
            self.n += len(part)
            self.sum += part.sum(0)
            self.xtx += part.T @ part

    @property
    def mean(self) -> np.ndarray:
        return self.sum / max(self.n, 1)

    def directions(self, n_components: int) -> tuple[np.ndarray, np.ndarray]:
        """(components (k, genes), variances (k,)), largest first, k capped at the rank; signs fixed.

        Consumes the sums (the covariance is formed in place) and computes only the top k eigenpairs.
        """
        from scipy.linalg import eigh

        if self.n < 2:
            raise ValueError("the training tumors do not vary: no principal components to read")
        g = len(self.sum)
        mean = self.mean
        floor = _variance_floor(np.diagonal(self.xtx).sum() / self.n)
        cov = self.xtx
        cov /= self.n
        cov -= np.outer(mean, mean)
        k = min(int(n_components), g)
        w, v = eigh(cov, subset_by_index=[g - k, g - 1], overwrite_a=True, check_finite=False)
        self.xtx = np.zeros((0, 0))  # consumed
        w, v = w[::-1], v[:, ::-1]
        keep = _rank(w, floor)
        return _fix_signs(v[:, :keep].T), w[:keep]


def _variance_floor(second_moment_sum: float) -> float:
    """Variances below this are round-off: 1e-10 of the rows' mean squared norm (a scale the data set)."""
    return 1e-10 * float(second_moment_sum)


def _rank(variances: np.ndarray, floor: float) -> int:
    """How many of the (descending) variances are real: above the floor and above 1e-9 of the largest."""
    if variances.size == 0 or variances[0] <= floor:
        raise ValueError("the training tumors do not vary: no principal components to read")
    return int((variances > max(floor, variances[0] * 1e-9)).sum())


def _fix_signs(components: np.ndarray) -> np.ndarray:
    """Each component's largest-magnitude loading positive, so that every route gives the same front."""
    big = np.abs(components).argmax(1)
    return components * np.sign(components[np.arange(len(components)), big])[:, None]


def principal_directions(
    X: np.ndarray, n_components: int, prepare: Optional[Callable[[np.ndarray], np.ndarray]] = None, block: int = 4096
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(components (k, genes), variances (k,), mean (genes,)) of the standardised tumors, largest first.

    The fixed first layer of ``TwinPurify(encoder_input="pca")``. Barlow Twins standardises every
    embedding dimension, so by itself it has no preference for directions of large tumor variance
    and fills dimensions with the most mixing-invariant ones, subtle or not (see the module
    docstring: it is the s = 0 end). Reading only the cohort's top principal components gives it
    that preference from outside. `prepare` maps a block of rows of `X` to standardised values (so
    that no standardised copy of the whole matrix is made); k is at most the rank of the centred rows.
    Up to `MAX_GRAM_GENES` genes the covariance is summed block by block (no copy of `X`); above, a
    randomized SVD of one centred, standardised float32 copy finds the top k components.
    """
    prep = prepare if prepare is not None else (lambda b: b)
    g = X.shape[1]
    if g <= MAX_GRAM_GENES:
        sums = CovarianceSums(g)
        for i in range(0, len(X), block):
            sums.add_block(prep(X[i : i + block]))
        W, var = sums.directions(n_components)
        return W, var, sums.mean
    from sklearn.utils.extmath import randomized_svd

    Xs = np.array(prep(X), dtype=np.float32)  # the one copy
    mean = Xs.mean(0, dtype=np.float64)
    floor = _variance_floor(float(np.einsum("ij,ij->", Xs, Xs, dtype=np.float64)) / len(Xs))
    Xs -= mean.astype(np.float32)
    k = min(int(n_components), *Xs.shape)
    _, s, vt = randomized_svd(Xs, k, n_oversamples=10, n_iter=7, random_state=0)
    var = s.astype(np.float64) ** 2 / len(Xs)
    keep = _rank(var, floor)
    return _fix_signs(vt[:keep].astype(np.float64)), var[:keep], mean


def fixed_front(W: np.ndarray, ev: np.ndarray, center: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """(weight, center) of a `FixedLinearInput`: directions scaled to unit overall variance, relative variances kept."""
    W = W / np.sqrt(ev.mean())
    return torch.from_numpy(W.astype(np.float32)), torch.from_numpy(np.asarray(center, np.float32))
