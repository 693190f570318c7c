"""Scanpy-style tools: fit on an AnnData and store the embedding in `.obsm`."""

from __future__ import annotations

from typing import Any, Optional

from .estimator import TwinPurify


def twinpurify(
    adata: Any,
    normal_key: str = "sample_type",
    normal_value: Any = "normal",
    *,
    layer: Optional[str] = None,
    key_added: str = "X_twinpurify",
    copy: bool = False,
    **params: Any,
) -> Any:
    """Fit TwinPurify on the tumors of `adata` (normals: obs[normal_key] == normal_value).

    Every sample, normals included, is embedded into `adata.obsm[key_added]`; the parameters and
    loss history go to `adata.uns[key_added]`. Returns the fitted model, or the AnnData copy when
    `copy=True` (its model is then in `.uns[key_added]['model']` only as parameters).
    """
    from .data import _is_anndata

    if not _is_anndata(adata):
        raise TypeError(f"twinpurify() takes an AnnData, got {type(adata).__name__}; use TwinPurify() for arrays")
    if copy:
        adata = adata.copy()
    model = TwinPurify(**params).fit(adata, normal_key=normal_key, normal_value=normal_value, layer=layer)
    adata.obsm[key_added] = model.transform(adata, layer=layer)
    adata.uns[key_added] = {
        "params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in model.get_params().items() if v is not None},
        "genes": list(model.genes_),
        "loss": [h["loss"] for h in model.history_],
    }
    return adata if copy else model


def pathway_activity(
    adata: Any,
    model: Any,
    gene_sets: Any = None,
    *,
    method: str = "ulm",
    min_size: int = 5,
    layer: Optional[str] = None,
    key_added: str = "twinpurify_pathways",
    copy: bool = False,
) -> Any:
    """Pathway activities of the purified samples of `adata`, stored like decoupler/scanpy results.

    ``adata.obsm[key_added]`` gets a DataFrame (samples x pathways, obs names as index) of
    `model.pathway_activity` scores; ``adata.uns[key_added]`` the method, the pathway names and
    how many of each pathway's genes were used. `gene_sets` defaults to the shipped PROGENy
    footprints. Returns None (or the AnnData copy when `copy=True`).
    """
    from .data import _is_anndata

    if not _is_anndata(adata):
        raise TypeError(f"pathway_activity() takes an AnnData, got {type(adata).__name__}")
    if copy:
        adata = adata.copy()
    act = model.pathway_activity(adata, gene_sets, method=method, min_size=min_size, layer=layer)
    act.index = adata.obs_names
    adata.obsm[key_added] = act
    adata.uns[key_added] = {
        "method": method,
        "pathways": [str(c) for c in act.columns],
        "n_genes": {str(k): int(v) for k, v in act.attrs.get("n_genes", {}).items()},
    }
    return adata if copy else None
