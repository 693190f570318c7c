"""Plots (scanpy-style ``twinpurify.pl``): each returns its matplotlib Figure or Axes.

Nothing here calls ``matplotlib.use`` or pyplot's global state: figures are built with the object API
(``matplotlib.figure.Figure``), so a notebook keeps its inline backend and a script its own. Pass
``ax=`` to draw into an existing Axes; `save` writes a figure atomically when a file is wanted.

Examples
--------
>>> import twinpurify as tp
>>> c = tp.datasets.simulate_cohort(n_tumors=60, n_normals=10, n_genes=200, seed=0)
>>> m = tp.TwinPurify(8, hidden_dims=(32,), projector_dims=(32, 32), max_epochs=3, random_state=0,
...                   verbose=False)
>>> Z = m.fit_transform(c.tumors, c.normals)
>>> ax = tp.pl.embedding(Z, color=c.truth["purity"])
>>> ax2 = tp.pl.loss_curve(m)
>>> fig = tp.pl.purity_diagnostic(Z, c.truth["purity"], raw=tp.RawProfiles(verbose=False).fit_transform(c.tumors))
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .data import _preview
from .io import atomic_path


def top_two_pcs(Z: Any) -> np.ndarray:
    """First two principal components of an embedding in its own geometry (no per-dimension scaling,
    which would whiten PCA's noise components)."""
    Z = np.asarray(Z, dtype=np.float64)
    Z = Z - Z.mean(0)
    u, s, _ = np.linalg.svd(Z, full_matrices=False)
    out = u[:, :2] * s[:2]
    return out if out.shape[1] == 2 else np.column_stack([out, np.zeros(len(out))])


def _aligned(values: Any, index: pd.Index, what: str, by_name: bool = True) -> pd.Series:
    """Per-sample values as a Series on `index`: a Series by its index (`by_name`), anything else by position.

    Samples a Series lacks get NaN (left out, or drawn as missing). A Series that shares no sample name with
    `index` or repeats one, and values of another length given by position, are refused: either would draw
    colours or correlations of other samples without a sign of it.
    """
    if isinstance(values, pd.Series) and by_name:
        if values.index.has_duplicates:
            dup = values.index[values.index.duplicated()].unique()
            raise ValueError(f"{what}: its index repeats sample names ({_names(dup)}); give one value per sample")
        if not index.isin(values.index).any():
            raise ValueError(
                f"{what}: none of its {len(values)} index names ({_names(values.index)}) is among the {len(index)} "
                f"samples ({_names(index)}); index it by the samples' names, or pass plain values in their order"
            )
        return values.reindex(index)
    out = pd.Series(values.to_numpy() if isinstance(values, (pd.Series, pd.Index)) else values)
    if len(out) != len(index):
        raise ValueError(
            f"{what} has {len(out)} values but there are {len(index)} samples; give one per sample in their order"
            + (", or a Series indexed by sample name" if by_name else "")
        )
    out.index = index
    return out


def _names(index: Any, limit: int = 3) -> str:
    """A few names of an index, for error messages (the package's preview, as examples)."""
    return "e.g. " + _preview(list(index), limit)


def _samples(Z: Any, n: int) -> tuple[pd.Index, bool]:
    """An embedding's sample index, and whether it names the samples (a DataFrame) or only numbers them."""
    return (Z.index, True) if isinstance(Z, pd.DataFrame) else (pd.RangeIndex(n), False)


def _new_axes(ax: Optional[Axes], figsize: tuple[float, float] = (4.2, 3.6)) -> Axes:
    return ax if ax is not None else Figure(figsize=figsize).subplots()


def embedding(
    Z: Any,
    color: Any = None,
    *,
    ax: Optional[Axes] = None,
    title: Optional[str] = None,
    cmap: str = "viridis",
    size: float = 8.0,
    legend: bool = True,
) -> Axes:
    """Scatter of an embedding's top two principal components.

    Parameters
    ----------
    Z : array-like of shape (n_samples, n_dims)
        An embedding (DataFrame or array).
    color : array-like or Series of shape (n_samples,), optional
        Numbers give a colour scale (e.g. purity); anything else categories (e.g. subtype). A Series is aligned
        to a DataFrame `Z` by sample name (samples it lacks are drawn grey); other values go by position.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure's axes by default.
    title, cmap, size, legend
        Title, colour map for numbers, marker size, whether to draw a legend/colour bar.

    Returns
    -------
    matplotlib.axes.Axes
        The scatter, axes labelled PC1 and PC2 (no ticks).

    See Also
    --------
    embeddings : a grid of these for several methods.

    Examples
    --------
    >>> import twinpurify as tp
    >>> c = tp.datasets.simulate_cohort(n_tumors=40, n_normals=8, n_genes=100, seed=0)
    >>> Z = tp.PCAEmbedding(5, verbose=False).fit_transform(c.tumors)
    >>> ax = tp.pl.embedding(Z, color=c.truth["subtype"], title="PCA")
    >>> ax.get_xlabel(), ax.get_ylabel(), ax.get_title()
    ('PC1', 'PC2', 'PCA')
    """
    ax = _new_axes(ax)
    xy = top_two_pcs(Z)
    if color is None:
        ax.scatter(xy[:, 0], xy[:, 1], s=size, color="0.3")
    else:
        index, named = _samples(Z, len(xy))
        c = _aligned(color, index, "color", named).astype(object).reset_index(drop=True)
        numeric = pd.to_numeric(c, errors="coerce")
        known = c.notna().to_numpy()
        if numeric[known].notna().all() and c.nunique() > 12:
            sc = ax.scatter(xy[known, 0], xy[known, 1], c=numeric[known].to_numpy(float), cmap=cmap, s=size)
            if not known.all():  # samples the Series lacks
                ax.scatter(xy[~known, 0], xy[~known, 1], s=size, color="0.8", label="NA")
            if legend:
                ax.figure.colorbar(sc, ax=ax, shrink=0.8)
        else:
            cats = sorted(c.fillna("NA").astype(str).unique())
            colors = [f"C{k % 10}" for k in range(len(cats))]
            lab = c.fillna("NA").astype(str).to_numpy()
            for cat, col in zip(cats, colors):
                m = lab == cat
                ax.scatter(xy[m, 0], xy[m, 1], s=size, color=col, label=cat)
            if legend:
                ax.legend(fontsize=7, markerscale=1.5, frameon=False, loc="best")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("PC1")
    ax.set_ylabel("PC2")
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def embeddings(embeddings: Mapping[str, Any], purity: Any, subtype: Any, *, title: str = "") -> Figure:
    """A 2 x n grid: each embedding's top two PCs coloured by purity (top row) and by subtype (bottom row).

    The side-by-side view of a method comparison: a purified embedding should show no purity
    gradient in the top row while keeping the subtypes apart in the bottom row.

    Parameters
    ----------
    embeddings : mapping of str to array-like of shape (n_samples, n_dims)
        Method name to embedding (DataFrame or array), all of the same samples in the same order;
        one column of the grid each, in the mapping's order.
    purity : array-like or Series of shape (n_samples,)
        Tumor purity (numbers), the colour of the top row; a Series is aligned by sample name to each
        DataFrame embedding (as in `embedding`).
    subtype : array-like or Series of shape (n_samples,)
        Labels, the colour of the bottom row (aligned the same way).
    title : str, default ""
        Figure title; none when empty.

    Returns
    -------
    matplotlib.figure.Figure
        The figure, 3.2 inches wide per embedding; legend and colour bar on the last column only.

    See Also
    --------
    embedding : one such panel, into any Axes.

    Examples
    --------
    >>> import twinpurify as tp
    >>> c = tp.datasets.simulate_cohort(n_tumors=40, n_normals=8, n_genes=100, seed=0)
    >>> Z = {"raw": tp.RawProfiles(verbose=False).fit_transform(c.tumors),
    ...      "PCA": tp.PCAEmbedding(5, verbose=False).fit_transform(c.tumors)}
    >>> fig = tp.pl.embeddings(Z, c.truth["purity"], c.truth["subtype"], title="simulated cohort")
    >>> [ax.get_title() for ax in fig.axes[:2]]
    ['raw', 'PCA']
    """
    names = list(embeddings)
    fig = Figure(figsize=(3.2 * len(names), 6.4))
    axes = fig.subplots(2, len(names), squeeze=False)
    for j, name in enumerate(names):
        Z = embeddings[name]
        index, named = _samples(Z, len(Z))  # each embedding's own samples, by name when it names them
        p = _aligned(purity, index, "purity", named).to_numpy(dtype=float)
        groups = _aligned(subtype, index, "subtype", named).to_numpy()
        embedding(Z, p, ax=axes[0, j], title=name, legend=j == len(names) - 1)
        embedding(Z, groups, ax=axes[1, j], legend=j == len(names) - 1)
    axes[0, 0].set_ylabel("coloured by purity")
    axes[1, 0].set_ylabel("coloured by subtype")
    if title:
        fig.suptitle(title)
    return fig


def loss_curve(model: Any, *, ax: Optional[Axes] = None, log: bool = False) -> Axes:
    """Training loss per epoch of a fitted neural model (its ``history_``).

    A quick check that training converged (and, with ``early_stopping``, where it stopped).

    Parameters
    ----------
    model : TwinPurify or AutoencoderEmbedding
        A fitted neural model (one with a non-empty ``history_``).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure's axes by default.
    log : bool, default False
        Logarithmic loss axis.

    Returns
    -------
    matplotlib.axes.Axes
        Titled with the model's class name.

    Raises
    ------
    ValueError
        When the model has no training history (not fitted, or not a neural model).

    Examples
    --------
    >>> import twinpurify as tp
    >>> c = tp.datasets.simulate_cohort(n_tumors=40, n_normals=8, n_genes=100, seed=0)
    >>> ae = tp.AutoencoderEmbedding(4, hidden_dims=(16,), max_epochs=3, device="cpu",
    ...                              random_state=0, verbose=False).fit(c.tumors)
    >>> ax = tp.pl.loss_curve(ae)
    >>> ax.get_title(), len(ax.lines[0].get_xdata())
    ('AutoencoderEmbedding', 3)
    """
    history = getattr(model, "history_", None)
    if not history:
        raise ValueError("the model has no training history (fit it first; only neural models have one)")
    ax = _new_axes(ax)
    ep = [h["epoch"] for h in history]
    ax.plot(ep, [h["loss"] for h in history], color="C0")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    if log:
        ax.set_yscale("log")
    ax.set_title(type(model).__name__, fontsize=10)
    return ax


def purity_diagnostic(Z: Any, purity: Any, *, raw: Any = None, top: int = 20, seed: int = 0) -> Figure:
    """How much purity an embedding carries: per-dimension absolute Spearman ρ and CV leakage (vs raw profiles).

    Left: the `top` dimensions most correlated with purity. Right: cross-validated R² of purity from the
    embedding (`twinpurify.metrics.purity_leakage`) and, when `raw` is given, from the raw profiles.
    Samples whose purity is missing are left out. Use it on a cohort with purity estimates to see
    whether an embedding is purer than the profiles it came from.

    Parameters
    ----------
    Z : array-like of shape (n_samples, n_dims)
        The embedding; a DataFrame's column names label the bars.
    purity : array-like or Series of shape (n_samples,)
        Purity of each sample (NaN where unknown); a Series is aligned to a DataFrame `Z` by sample name.
    raw : array-like of shape (n_samples, n_genes), optional
        The reference profiles (e.g. `twinpurify.RawProfiles` output), for the comparison bar; a DataFrame is
        aligned to a DataFrame `Z` by sample name, other input goes by position.
    top : int, default 20
        Dimensions shown in the left panel.
    seed : int, default 0
        Seed of the cross-validation folds.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels: absolute Spearman ρ per dimension, and purity leakage (CV R²).

    See Also
    --------
    twinpurify.metrics.purity_leakage : the number in the right panel.

    Examples
    --------
    >>> import twinpurify as tp
    >>> c = tp.datasets.simulate_cohort(n_tumors=40, n_normals=8, n_genes=100, seed=0)
    >>> nd = tp.NormalDifference(5, verbose=False).fit(c.tumors, c.normals)
    >>> raw = tp.RawProfiles(verbose=False).fit_transform(c.tumors)
    >>> fig = tp.pl.purity_diagnostic(nd.transform(c.tumors), c.truth["purity"], raw=raw)
    >>> [ax.get_title() for ax in fig.axes][1]
    'purity leakage'
    """
    from scipy.stats import spearmanr

    from .metrics import purity_leakage

    Zn = np.asarray(Z, dtype=np.float64)
    index, named = _samples(Z, len(Zn))
    p = _aligned(purity, index, "purity", named).to_numpy(dtype=float)
    if raw is not None:
        raw = _aligned_rows(raw, index, named)
    ok = np.isfinite(p)
    rho = np.array([abs(np.nan_to_num(spearmanr(Zn[ok, j], p[ok])[0])) for j in range(Zn.shape[1])])
    names = list(Z.columns) if isinstance(Z, pd.DataFrame) else [f"dim{j + 1}" for j in range(Zn.shape[1])]
    order = np.argsort(-rho)[:top]
    fig = Figure(figsize=(9, 3.6))
    a1, a2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2.2, 1]})
    a1.bar(range(len(order)), rho[order], color="C1")
    a1.set_xticks(range(len(order)), [names[j] for j in order], rotation=90, fontsize=7)
    a1.set_ylabel("|Spearman ρ| with purity")
    a1.set_title(f"dimensions most related to purity (mean {rho.mean():.2f})", fontsize=10)
    bars = {"embedding": purity_leakage(Zn[ok], p[ok], seed=seed)}
    if raw is not None:
        bars = {"raw": purity_leakage(raw[ok], p[ok], seed=seed), **bars}
    a2.bar(list(bars), list(bars.values()), color=["0.6", "C0"][-len(bars) :])
    a2.set_ylabel("CV R² of purity (leakage)")
    a2.set_ylim(min(0.0, *bars.values()), 1.0)
    a2.set_title("purity leakage", fontsize=10)
    fig.tight_layout()
    return fig


def _aligned_rows(raw: Any, index: pd.Index, named: bool) -> np.ndarray:
    """The rows of `raw` for the samples of `index`: by name when both name them, else by position."""
    if named and isinstance(raw, pd.DataFrame):
        lacking = index[~index.isin(raw.index)]
        if len(lacking):
            raise ValueError(f"raw: lacks {len(lacking)} of the embedding's samples ({_names(lacking)})")
        raw = raw.loc[index]
    values = np.asarray(raw, dtype=np.float64)
    if values.ndim != 2 or len(values) != len(index):
        raise ValueError(f"raw has {len(values)} rows but the embedding has {len(index)} samples; give one per sample")
    return values


def pathway_heatmap(
    activity: pd.DataFrame, groups: Any, *, ax: Optional[Axes] = None, scale: bool = True, cmap: str = "RdBu_r"
) -> Axes:
    """Mean pathway activity per group (e.g. subtype): pathways x groups, scores z-scored per pathway.

    `activity` is samples x pathways (`pathways.activity`, `pathway_activity`); `groups` one label per
    sample (aligned by index when it is a Series; one sharing no sample name with `activity` is refused).
    Samples with a missing label are left out.

    Parameters
    ----------
    activity : DataFrame of shape (n_samples, n_pathways)
        Pathway scores; its ``attrs["method"]`` (set by `twinpurify.pathways.activity`) goes in the title.
    groups : array-like or Series of shape (n_samples,)
        Group label of each sample (e.g. subtype).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure's axes, sized to the table, by default.
    scale : bool, default True
        z-score each pathway over all samples before averaging (population sd; constant pathways
        are only centred), so that pathways on different scales share one colour scale.
    cmap : str, default "RdBu_r"
        Diverging colour map, symmetric around 0.

    Returns
    -------
    matplotlib.axes.Axes
        The heat map (pathways as rows, groups as columns, in sorted order), with a colour bar.

    Examples
    --------
    >>> import pandas as pd
    >>> import twinpurify as tp
    >>> act = pd.DataFrame({"P1": [1.0, 2.0, -1.0, -2.0], "P2": [0.0, 0.5, 0.2, 0.1]},
    ...                    index=["s1", "s2", "s3", "s4"])
    >>> ax = tp.pl.pathway_heatmap(act, ["A", "A", "B", "B"])
    >>> [t.get_text() for t in ax.get_xticklabels()], [t.get_text() for t in ax.get_yticklabels()]
    (['A', 'B'], ['P1', 'P2'])
    """
    act = activity.astype(float)
    g = _aligned(groups, act.index, "groups")
    if scale:
        sd = act.std(ddof=0).replace(0.0, 1.0)
        act = (act - act.mean()) / sd
    means = act[g.notna().to_numpy()].groupby(g[g.notna()].astype(str)).mean().T  # pathways x groups
    ax = _new_axes(ax, (1.6 + 0.55 * means.shape[1], 1.2 + 0.28 * means.shape[0]))
    lim = float(np.nanmax(np.abs(means.to_numpy()))) if means.size else 1.0
    im = ax.imshow(means.to_numpy(), aspect="auto", cmap=cmap, vmin=-lim, vmax=lim)
    ax.set_xticks(range(means.shape[1]), list(means.columns), rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(means.shape[0]), list(means.index), fontsize=8)
    fig = ax.get_figure(root=True)
    assert isinstance(fig, Figure)
    fig.colorbar(im, ax=ax, label="mean z-score" if scale else "mean score", shrink=0.8)
    ax.set_title(f"pathway activity ({activity.attrs.get('method', 'score')})", fontsize=10)
    return ax


def pathway_vs_purity(raw: pd.DataFrame, purified: pd.DataFrame, purity: Any, pathway: str) -> Figure:
    """One pathway's score against purity, on raw profiles (left) and on purified expression (right).

    Spearman ρ with purity is in each title: a purified score that still tracks purity carries
    contamination, one that does not may be tumor-intrinsic.

    Parameters
    ----------
    raw : DataFrame of shape (n_samples, n_pathways)
        Scores of the unpurified profiles (e.g. ``model.pathway_activity(X, purified=False)``).
    purified : DataFrame of shape (n_samples, n_pathways)
        Scores of the purified expression, aligned with `raw` by index.
    purity : array-like or Series of shape (n_samples,)
        Purity of each sample (in the order of ``raw.index``, or aligned by index when a Series; one sharing
        no sample name with ``raw`` is refused).
    pathway : str
        The pathway (column) to plot.

    Returns
    -------
    matplotlib.figure.Figure
        Two scatter panels, raw (left) and purified (right), against purity.

    Raises
    ------
    KeyError
        When `pathway` is not a column of `raw` or of `purified`.
    ValueError
        When `raw` and `purified` share no sample name, or `purity` does not fit the samples.

    Examples
    --------
    >>> import pandas as pd
    >>> import twinpurify as tp
    >>> idx = ["s1", "s2", "s3", "s4"]
    >>> raw = pd.DataFrame({"P1": [0.1, 0.2, 0.3, 0.4]}, index=idx)
    >>> purified = pd.DataFrame({"P1": [0.3, 0.1, 0.4, 0.2]}, index=idx)
    >>> fig = tp.pl.pathway_vs_purity(raw, purified, [0.2, 0.4, 0.6, 0.8], "P1")
    >>> [ax.get_title() for ax in fig.axes]
    ['raw: Spearman ρ = 1.00', 'purified: Spearman ρ = 0.00']
    """
    from scipy.stats import spearmanr

    for name, df in (("raw", raw), ("purified", purified)):
        if pathway not in df.columns:
            raise KeyError(
                f"pathway {pathway!r} is not among the {name} scores ({', '.join(map(str, df.columns[:8]))})"
            )
    p = _aligned(purity, raw.index, "purity")
    if not raw.index.isin(purified.index).any():
        raise ValueError(
            f"raw and purified share no sample name (raw: {_names(raw.index)}; purified: {_names(purified.index)})"
        )
    fig = Figure(figsize=(7.6, 3.4))
    for ax, (name, df) in zip(fig.subplots(1, 2, sharex=True), (("raw", raw), ("purified", purified))):
        y = df[pathway].reindex(p.index).to_numpy(dtype=float)
        x = p.to_numpy(dtype=float)
        ok = np.isfinite(x) & np.isfinite(y)
        rho = spearmanr(x[ok], y[ok])[0] if ok.sum() > 2 else np.nan
        ax.scatter(x[ok], y[ok], s=8, alpha=0.7, color="0.5" if name == "raw" else "C0")
        ax.set_xlabel("purity")
        ax.set_ylabel(f"{pathway} score")
        ax.set_title(f"{name}: Spearman ρ = {rho:.2f}", fontsize=10)
    fig.tight_layout()
    return fig


def save(fig: Union[Figure, Axes], path: Union[str, os.PathLike], dpi: int = 110) -> Path:
    """Write a figure (or an Axes' figure) atomically; the format follows the suffix.

    The figure is drawn into a temporary file beside `path` and renamed into place, so an
    interrupted save never leaves a truncated image; missing parent folders are created.

    Parameters
    ----------
    fig : matplotlib.figure.Figure or matplotlib.axes.Axes
        What the plotting functions return.
    path : str or os.PathLike
        Target file; its suffix (``.png``, ``.pdf``, ``.svg``, ...) picks the format, PNG without one.
    dpi : int, default 110
        Resolution of raster formats.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    TypeError
        When `fig` is neither a Figure nor an Axes.

    Examples
    --------
    >>> import os, tempfile
    >>> import twinpurify as tp
    >>> c = tp.datasets.simulate_cohort(n_tumors=40, n_normals=8, n_genes=100, seed=0)
    >>> ax = tp.pl.embedding(tp.PCAEmbedding(5, verbose=False).fit_transform(c.tumors))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     out = tp.pl.save(ax, os.path.join(d, "figures", "pca.png"))
    ...     print(out.name, os.path.getsize(out) > 0)
    pca.png True
    """
    figure = fig.get_figure(root=True) if isinstance(fig, Axes) else fig
    if not isinstance(figure, Figure):
        raise TypeError(f"expected a matplotlib Figure or Axes, got {type(fig).__name__}")
    path = Path(path)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=dpi, bbox_inches="tight", format=path.suffix.lstrip(".") or "png")
    return path
