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
