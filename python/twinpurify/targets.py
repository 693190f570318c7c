"""The purity-free target: each tumor's linear-space difference from the mean normal, at unit length.

A bulk tumor is x = p c + (1 - p) n in linear space (cancer profile c, normal tissue n, purity p).
Its difference from the mean normal, x - n_bar = p (c - n_bar) + (1 - p)(n - n_bar), is dominated by
p (c - n_bar) when the tumor's own normal tissue is close to the cohort's normals; scaling it to unit
length removes the factor p. The result is a profile in which purity's main effect, the overall
scale, is gone while the direction in which the cancer cells differ from normal tissue is kept.

It serves two uses that must agree exactly: the `NormalDifference` baseline (this target, then PCA)
and the reconstruction head of TwinPurify (which learns to predict it from mixed views).
"""

from __future__ import annotations

import numpy as np
import torch


def normal_difference(tumor_lin: torch.Tensor, normal_mean_lin: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Rows of ``tumor_lin - normal_mean_lin`` scaled to unit Euclidean length (float32)."""
    d = tumor_lin.float() - normal_mean_lin.float()
    return d / d.norm(dim=1, keepdim=True).clamp_min(eps)


def normal_difference_np(tumor_lin: np.ndarray, normal_mean_lin: np.ndarray) -> np.ndarray:
    """NumPy version of `normal_difference` (float64)."""
    d = np.asarray(tumor_lin, dtype=np.float64) - np.asarray(normal_mean_lin, dtype=np.float64)
    return d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)


class TargetScaler:
    """Per-gene centring and scaling of the target, fitted on the training tumors.

    Unscaled, a few highly expressed genes would dominate the unit-length target (linear space);
    standardised, every selected gene counts, as in the encoder's own input.
    """

    def __init__(self, mean: np.ndarray, std: np.ndarray):
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.asarray(std, dtype=np.float32)

    @classmethod
    def fit(cls, target: np.ndarray) -> TargetScaler:
        t = np.asarray(target, dtype=np.float64)
        return cls(t.mean(0), np.maximum(t.std(0), 1e-12))

    def transform(self, target: np.ndarray) -> np.ndarray:
        return ((np.asarray(target, dtype=np.float64) - self.mean) / self.std).astype(np.float32)
