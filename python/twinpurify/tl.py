"""Scanpy-style tools: fit on an AnnData and store the embedding in `.obsm`."""

from __future__ import annotations

from typing import Any, Optional

from .estimator import TwinPurify


def _target(adata: Any, copy: bool, caller: str, hint: str = "") -> Any:
    """The AnnData a tool writes into (a copy with `copy=True`); anything else is refused."""
    from .data import _is_anndata

    if not _is_anndata(adata):
        raise TypeError(f"{caller} takes an AnnData, got {type(adata).__name__}{hint}")
    return adata.copy() if copy else adata


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

    The scanpy-style entry point: one AnnData holding tumors and normals in, the embedding stored
    on it. Every sample, normals included, is embedded into ``adata.obsm[key_added]``; the
    non-None parameters, the model's genes and the per-epoch loss go to ``adata.uns[key_added]``
    (keys ``"params"``, ``"genes"``, ``"loss"``).

    Parameters
    ----------
    adata : anndata.AnnData of shape (n_samples, n_genes)
        Tumors and normals together, samples as observations.
    normal_key : str, default "sample_type"
        The ``adata.obs`` column that marks the normals.
    normal_value : object, default "normal"
        The value of ``obs[normal_key]`` that marks a normal; every other sample is a tumor.
    layer : str or None, default None
        Layer to read instead of ``adata.X``.
    key_added : str, default "X_twinpurify"
        Key of the results in ``adata.obsm`` and ``adata.uns``.
    copy : bool, default False
        Work on a copy of `adata` and return it, leaving `adata` unchanged.
    **params
        Passed to `twinpurify.TwinPurify` (``n_components``, ``max_epochs``, ``random_state``, ...).

    Returns
    -------
    TwinPurify or anndata.AnnData
        The fitted model; with ``copy=True`` the annotated copy instead (the model itself is then
        not kept: only its parameters, genes and loss, in ``.uns[key_added]``).

    Raises
    ------
    TypeError
        When `adata` is not an AnnData (use `twinpurify.TwinPurify` for arrays and DataFrames).

    See Also
    --------
    twinpurify.TwinPurify : the estimator behind it.
    pathway_activity : pathway scores of the purified samples.

    Examples
    --------
    >>> import twinpurify as tp
    >>> c = tp.datasets.simulate_cohort(n_tumors=40, n_normals=8, n_genes=100, seed=0)
    >>> adata = c.to_anndata()  # obs["sample_type"] is "tumor" or "normal"
    >>> model = tp.tl.twinpurify(adata, n_components=4, hidden_dims=(16,), projector_dims=(16, 16),
    ...                          max_epochs=2, random_state=0, verbose=False)
    >>> adata.obsm["X_twinpurify"].shape
    (48, 4)
    >>> sorted(adata.uns["X_twinpurify"])
    ['genes', 'loss', 'params']
    """
    adata = _target(adata, copy, "twinpurify()", "; use TwinPurify() for arrays")
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
    residual: bool = False,
    key_added: str = "twinpurify_pathways",
    copy: bool = False,
) -> Any:
    """Pathway activities of the purified samples of `adata`, stored like decoupler/scanpy results.

    ``adata.obsm[key_added]`` gets a DataFrame (samples x pathways, obs names as index) of
    ``model.pathway_activity`` scores; ``adata.uns[key_added]`` the method, the pathway names
    (``"pathways"``) and how many of each pathway's genes were used (``"n_genes"``, a list in the
    order of ``"pathways"``). `gene_sets` defaults to the shipped PROGENy footprints.

    Parameters
    ----------
    adata : anndata.AnnData of shape (n_samples, n_genes)
        The samples to score; they must carry the model's genes (counts: all the genes it was fitted on,
        whose total is each sample's library size).
    model : fitted TwinPurify or baseline estimator
        Any fitted model of this package (each has ``pathway_activity``), e.g. the one returned by
        `twinpurify`.
    gene_sets : dict, DataFrame, str, os.PathLike or None, default None
        Any form `twinpurify.pathways.as_net` accepts; None uses `twinpurify.pathways.progeny`.
    method : {"ulm", "wmean", "zscore", "aucell"}, default "ulm"
        Scoring method (see `twinpurify.pathways`).
    min_size : int, default 5
        Pathways with fewer of their genes among the model's genes are dropped (with a warning).
    layer : str or None, default None
        Layer to read instead of ``adata.X``.
    residual : bool, default False
        Score the residual form of the purified expression (``model.purified_expression(...,
        residual=True)``: the samples' own profiles with only the contamination directions read
        from the embedding) instead of the readout alone.
    key_added : str, default "twinpurify_pathways"
        Key of the results in ``adata.obsm`` and ``adata.uns``.
    copy : bool, default False
        Work on a copy of `adata` and return it, leaving `adata` unchanged.

    Returns
    -------
    None or anndata.AnnData
        None (results are written into `adata`), or the annotated copy when ``copy=True``.

    Raises
    ------
    TypeError
        When `adata` is not an AnnData.
    twinpurify.pathways.GeneSetError
        When the gene sets cannot be read or none has `min_size` genes among the model's genes.

    See Also
    --------
    twinpurify.pathways.activity : the scoring itself, on any DataFrame.
    twinpurify.pl.pathway_heatmap, twinpurify.pl.pathway_vs_purity : plots of the scores.

    Examples
    --------
    >>> import twinpurify as tp
    >>> c = tp.datasets.simulate_cohort(n_tumors=40, n_normals=8, n_genes=100, seed=0)
    >>> adata = c.to_anndata()
    >>> model = tp.PCAEmbedding(5, verbose=False).fit(c.tumors)
    >>> tp.tl.pathway_activity(adata, model, c.program_net(), min_size=3)
    >>> adata.obsm["twinpurify_pathways"].shape
    (48, 3)
    >>> adata.uns["twinpurify_pathways"]["pathways"]
    ['program_1', 'program_2', 'program_3']
    """
    adata = _target(adata, copy, "pathway_activity()")
    act = model.pathway_activity(adata, gene_sets, method=method, min_size=min_size, layer=layer, residual=residual)
    act.index = adata.obs_names
    adata.obsm[key_added] = act
    adata.uns[key_added] = {
        "method": method,
        "residual": bool(residual),
        "pathways": [str(c) for c in act.columns],
        # a list aligned with "pathways" (as the R bridge gives it), not a dict keyed by pathway: h5ad stores dict
        # keys as group names, so a name with "/" (KEGG_MAPK/ERK) became nested groups
        "n_genes": [int(act.attrs["n_genes"][c]) for c in act.columns],
    }
    return adata if copy else None
