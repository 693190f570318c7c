"""Gene-space methods every fitted model has: purified expression and pathway activity.

Kept apart from `base` (which holds the fit/transform contract) because they are a different
question: not "where is this tumor in the embedding" but "which genes and programs does its
embedding say are active". `BaseEmbedder` inherits them; this module imports nothing of `base`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Callable, Optional

import numpy as np
import pandas as pd
from sklearn.exceptions import NotFittedError

from .data import InputError, Matrix, as_matrix, check_disjoint, detect_scale, split_by_key
from .readout import Readout, contamination_directions
from .settings import warn_user

if TYPE_CHECKING:
    from .data import Preprocessor


class GeneSpaceMixin:
    """`purified_expression`, `pathway_activity` and `fit_readout`; needs `preprocessor_` and `_embed`."""

    preprocessor_: Preprocessor
    readout_: Optional[Readout]

    def _check_fitted(self) -> None:  # pragma: no cover - BaseEmbedder provides it
        raise NotImplementedError

    def _embed(self, Xs: np.ndarray) -> np.ndarray:  # pragma: no cover - subclasses provide it
        raise NotImplementedError

    def _warn_scale(self, m: Matrix) -> Optional[str]:  # pragma: no cover - BaseEmbedder provides it
        raise NotImplementedError

    def _n_out(self) -> int:  # pragma: no cover - BaseEmbedder provides it
        raise NotImplementedError

    def _fit_readout_matrix(
        self, m: Matrix, policy: Optional[str] = None, required: bool = True, normal: Optional[Matrix] = None
    ) -> None:
        if m.shape[0] < 3 and not required:  # fit() on 1-2 tumors still fits the embedding, without a readout
            self.readout_ = None
            return
        pp = self.preprocessor_

        def blocks(size: int = 2048) -> Iterator[tuple[int, np.ndarray]]:  # never the whole standardised matrix
            for i in range(0, m.shape[0], size):
                rows = np.zeros(m.shape[0], dtype=bool)
                rows[i : i + size] = True
                yield i, pp.transform(m.subset(rows), "tumor", policy)

        normals = pp.transform(normal, "normal", policy) if normal is not None and normal.shape[0] > 0 else None
        self._fit_readout_blocks(blocks, m.shape[0], normals)

    def _fit_readout_blocks(
        self,
        blocks: Callable[[], Iterator[tuple[int, np.ndarray]]],
        n: int,
        normals: Optional[np.ndarray],
        reduce: Optional[Callable[[np.ndarray], np.ndarray]] = None,
        lead: Optional[Callable[[np.ndarray], np.ndarray]] = None,
    ) -> None:
        """Fit and keep the readout from `blocks()` ((first row, standardised genes) of the `n` training tumors),
        with the residual form's contamination directions when `normals` (standardised) are given.

        In memory `blocks()` yields every tumor; out of core, on several ranks, this rank's blocks, with `reduce`
        and `lead` merging over ranks (`Readout.fit_blocks`). The tumors' mean of the standardised genes comes
        from the ridge's own algebra and their mean embedding, without another pass over the genes.
        """
        parts = [(start, self._embed(Xb)) for start, Xb in blocks()]
        Z = np.zeros((n, parts[0][1].shape[1] if parts else self._n_out()))  # PCA-like widths depend on the data
        for start, Zb in parts:
            Z[start : start + len(Zb)] = Zb
        if reduce is not None:
            Z = reduce(Z)
        readout = Readout.fit_blocks(Z, blocks, n_genes=len(self.preprocessor_.genes_), reduce=reduce, lead=lead)
        if normals is not None:
            tumor_mean = readout.intercept.astype(np.float64) + Z.mean(0) @ readout.coef.astype(np.float64)
            readout.directions = contamination_directions(tumor_mean, normals)
            if readout.directions.shape[1] == 0:
                warn_user(
                    "the normals add no contamination direction (they equal the tumors' mean): "
                    "purified_expression(..., residual=True) will return the samples' own profiles",
                )
        self.readout_ = readout

    def fit_readout(
        self,
        tumor: Any,
        layer: Optional[str] = None,
        fill_missing: Optional[str] = None,
        *,
        normal: Any = None,
        normal_key: Optional[str] = None,
        normal_value: Any = "normal",
    ) -> Any:
        """(Re)fit the gene-space readout on `tumor` (samples x genes) without refitting the embedding.

        `fit` already fits it on the training tumors and normals; this is for models saved before
        readouts existed (twinpurify 0.1.0) or before the residual form (give `normal` too), or to
        anchor the readout on another cohort.

        Parameters
        ----------
        tumor : DataFrame, array-like or AnnData of shape (n_tumors, n_genes)
        layer : str, optional
            AnnData layer to use instead of `.X` (for `tumor` and `normal`).
        fill_missing : {"error", "mean"}, optional
            Missing-gene policy (default: the estimator's).
        normal : DataFrame, array-like or AnnData of shape (n_normals, n_genes), optional
            The cohort's normals; they set the contamination directions of
            ``purified_expression(..., residual=True)``. Without them the refitted readout has
            none, and that form is unavailable until `fit_readout` is called with normals.
        normal_key, normal_value : str, default None, "normal"
            With one AnnData holding tumors and normals (as `fit` takes it): the `.obs` column and
            value that mark the normals; the other samples are the tumors.

        Returns
        -------
        self

        Raises
        ------
        InputError
            `normal_key` with `tumor` not an AnnData, or together with `normal`; `normal_key` not a
            column of ``tumor.obs``, unlabelled samples, or no sample labelled `normal_value`; fewer
            than 3 tumors; samples given both as tumors and as normals; tumors and normals on
            different scales when the model detected its scale (``input_scale="auto"``; a scale other
            than the model's is a warning, as in `transform`).
        """
        self._check_fitted()
        n: Optional[Matrix]
        if normal_key is not None:
            t, n = split_by_key(tumor, normal, normal_key, normal_value, layer)
        else:
            t = as_matrix(tumor, "tumor", layer=layer)
            n = None if normal is None else as_matrix(normal, "normal", layer=layer)
        self._check_readout_inputs(t, n, fill_missing or getattr(self, "fill_missing", None))
        self._fit_readout_matrix(t, fill_missing, normal=n)
        return self

    def _check_readout_inputs(self, t: Matrix, n: Optional[Matrix], policy: Optional[str]) -> None:
        """What `fit_readout` refuses or warns about before fitting (the fitted readout is kept when refused)."""
        if t.shape[0] < 3:
            raise InputError(f"tumor: the readout needs at least 3 tumor samples, got {t.shape[0]}")
        seen = self._warn_scale(t)  # another scale than the model's: the warning `transform` gives
        if n is not None and n.shape[0]:
            check_disjoint(t, n)
            if self.preprocessor_.input_scale == "auto":  # as in `fit`: a scale the user set is trusted
                tumor_scale, normal_scale = seen or detect_scale(t.values), detect_scale(n.values)
                if normal_scale != tumor_scale:
                    raise InputError(
                        f"tumor and normal look like different scales ({tumor_scale} vs {normal_scale}); "
                        "give both on the scale the model was fitted on"
                    )
        if n is not None and n.named_genes and policy == "mean":
            missing = len(set(self.preprocessor_.genes_) - set(n.genes))
            if missing:
                warn_user(
                    f"{missing} of the model's genes are missing from the normals and are filled with the training "
                    "mean: the contamination directions do not load on them, so the residual form leaves their "
                    "contamination in place",
                )

    def purified_expression(
        self, X: Any, layer: Optional[str] = None, fill_missing: Optional[str] = None, *, residual: bool = False
    ) -> Any:
        """The part of each sample's profile that its embedding carries, on the model's log2 scale.

        Each sample is embedded, then mapped back to the model's genes by the linear readout
        fitted on the training tumors (`twinpurify.readout`): what the embedding dropped, ideally
        the normal-tissue contamination, cannot come back. This is *not* a deconvolved cancer-cell
        profile: it is a denoised, contamination-reduced version of the bulk profile, and it keeps
        whatever the embedding keeps (immune signal, and any purity the embedding still leaks).

        With ``residual=True`` the sample's own profile is kept and only its coordinates along the
        contamination directions (the mean normal's difference from the mean tumor and the
        normals' leading principal directions, set at fit time from the training normals) are
        replaced by the readout's. The readout alone keeps only what a few embedding dimensions
        hold and so loses program signal; the residual form keeps every program outside those
        directions. Which to use (benchmarks/pathways.md): scores of the residual form track
        simulated programs at least as well as raw profiles with less purity (most for a program
        sharing genes with fibroblasts); the readout alone is purer, tracks the programs less, and
        separates expression subtypes better on TCGA-BRCA.

        Parameters
        ----------
        X : DataFrame, array-like or AnnData of shape (n_samples, n_genes)
            Samples on the scale the model was fitted on, carrying the model's genes (counts: all of
            ``feature_names_in_``, whose total is each sample's library size).
        layer : str, optional
            AnnData layer to use instead of `.X`.
        fill_missing : {"error", "mean"}, optional
            Missing-gene policy (default: the estimator's).
        residual : bool, default False
            The residual form (needs a model fitted with normals, or ``fit_readout(tumor, normal=normal)``).
            Genes filled with ``fill_missing="mean"`` keep, in this form, the training mean plus
            the readout's part along the contamination directions (the readout alone imputes them
            whole).

        Returns
        -------
        DataFrame or ndarray of shape (n_samples, n_model_genes)
            log2 expression of the model's genes (``genes_``); a DataFrame indexed by the sample names when `X`
            has them (a DataFrame, or an AnnData: its obs_names).
        """
        self._check_fitted()
        readout = getattr(self, "readout_", None)
        if readout is None:
            raise NotFittedError(
                f"this {type(self).__name__} has no gene-space readout (saved by twinpurify 0.1.0, fitted out of core "
                "by an earlier version, or on fewer than 3 tumors); call fit_readout(tumor) with the training tumors "
                "first"
            )
        if residual and readout.directions is None:
            raise NotFittedError(
                f"this {type(self).__name__}'s readout has no contamination directions (fitted without normals, or "
                "saved before it existed); call fit_readout(tumor, normal=normal) with the training cohort first"
            )
        m = as_matrix(X, "X", layer=layer)
        self._warn_scale(m)  # another scale than the model's: the warning `transform` gives
        pp = self.preprocessor_
        Xs = pp.transform(m, "X", fill_missing)
        Xs_hat = readout.purify(Xs, self._embed(Xs)) if residual else readout.predict(self._embed(Xs))
        return self._genes_out(m, Xs_hat * pp.std_ + pp.mean_)

    def log_expression(self, X: Any, layer: Optional[str] = None, fill_missing: Optional[str] = None) -> Any:
        """The samples' own log2 profiles of the model's genes, as the model reads them (before purification).

        The raw counterpart of `purified_expression` (same genes, same scale), for comparisons.
        """
        self._check_fitted()
        m = as_matrix(X, "X", layer=layer)
        self._warn_scale(m)
        pp = self.preprocessor_
        return self._genes_out(m, pp.log_expression(m, "X", fill_missing))

    def _genes_out(self, m: Matrix, values: np.ndarray) -> Any:
        """Samples x model genes: a DataFrame when the input named its samples (a DataFrame or an AnnData, whose
        obs_names index it, so it lines up with ``adata.obs``), else the array."""
        if m.frame or m.index is not None:
            return pd.DataFrame(values, index=m.sample_index(), columns=pd.Index(self.preprocessor_.genes_))
        return values

    def pathway_activity(
        self,
        X: Any,
        gene_sets: Any = None,
        method: str = "ulm",
        min_size: int = 5,
        purified: bool = True,
        layer: Optional[str] = None,
        fill_missing: Optional[str] = None,
        *,
        residual: bool = False,
    ) -> pd.DataFrame:
        """Pathway activities of the purified tumors: ``pathways.activity(purified_expression(X), ...)``.

        Parameters
        ----------
        X : DataFrame or AnnData of shape (n_samples, n_genes)
        gene_sets : dict, DataFrame, str or path, optional
            As in `twinpurify.pathways.activity`; default: the shipped PROGENy footprints
            (`twinpurify.pathways.progeny`).
        method : {"ulm", "wmean", "zscore", "aucell"}, default "ulm"
        min_size : int, default 5
            Pathways with fewer of their genes among the model's genes are dropped (with a warning).
        purified : bool, default True
            False scores the samples' own log2 profiles on the same genes instead (the raw
            comparison, as in `twinpurify.pl.pathway_vs_purity`).
        residual : bool, default False
            Score the residual form of the purified expression (`purified_expression`'s
            `residual`); a ValueError with ``purified=False``.

        Returns
        -------
        DataFrame of shape (n_samples, n_pathways)
        """
        from .pathways import activity, progeny

        if residual and not purified:
            raise ValueError(
                "residual=True scores the residual form of the purified expression; it needs purified=True"
            )
        if purified:
            expr = self.purified_expression(X, layer=layer, fill_missing=fill_missing, residual=residual)
        else:
            expr = self.log_expression(X, layer=layer, fill_missing=fill_missing)
        if not isinstance(expr, pd.DataFrame):
            expr = pd.DataFrame(expr, columns=pd.Index(self.preprocessor_.genes_))
        return activity(expr, progeny() if gene_sets is None else gene_sets, method=method, min_size=min_size)
