"""Figures: embeddings side by side, coloured by purity and by subtype."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from .io import atomic_path


def _two_d(Z: np.ndarray) -> np.ndarray:
    """First two principal components of an embedding in its own geometry (no per-dimension scaling,
    which would whiten PCA's noise components; no UMAP dependency)."""
    Z = np.asarray(Z, dtype=np.float64)
    Z = Z - Z.mean(0)
    u, s, _ = np.linalg.svd(Z, full_matrices=False)
    return u[:, :2] * s[:2]


def plot_embeddings(embeddings: Mapping[str, np.ndarray], purity, subtype, path, title: str = "") -> Path:
    """A 2 x n grid: each method's embedding (top two PCs) coloured by purity (top) and subtype (bottom)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(embeddings)
    fig, axes = plt.subplots(2, len(names), figsize=(3.2 * len(names), 6.4), squeeze=False)
    purity = np.asarray(purity, dtype=float)
    sub = pd.Series(np.asarray(subtype, dtype=object)).fillna("NA").astype(str)
    cats = sorted(sub.unique())
    cmap = plt.get_cmap("tab10")
    for j, name in enumerate(names):
        xy = _two_d(embeddings[name])
        sc = axes[0, j].scatter(
            xy[:, 0], xy[:, 1], c=purity, cmap="viridis", s=6, vmin=np.nanmin(purity), vmax=np.nanmax(purity)
        )
        axes[0, j].set_title(name, fontsize=10)
        for k, cat in enumerate(cats):
            m = (sub == cat).to_numpy()
            axes[1, j].scatter(xy[m, 0], xy[m, 1], s=6, color=cmap(k % 10), label=cat)
        for ax in axes[:, j]:
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_ylabel("coloured by purity")
    axes[1, 0].set_ylabel("coloured by subtype")
    fig.colorbar(sc, ax=axes[0, :].tolist(), shrink=0.8, label="purity")
    axes[1, -1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=8, markerscale=2, frameon=False)
    if title:
        fig.suptitle(title)
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format=path.suffix.lstrip(".") or "png")
    plt.close(fig)
    return path
