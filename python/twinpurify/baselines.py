"""Baselines behind the same fit/transform interface and preprocessing as TwinPurify.

Comparisons are only honest when every method sees the same genes, log scale and scaling, so all
of these reuse `Preprocessor` and differ only in the map from standardised profiles to embedding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional, Union

import numpy as np
import torch

from .base import BaseEmbedder
from .data import Matrix
from .invariance import invariant_directions, mixing_perturbations
from .model import AutoencoderModule
from .neural import NeuralEmbedder
from .targets import TargetScaler, normal_difference_np


class RawProfiles(BaseEmbedder):
    """The standardised log profiles of the top-variable genes: the 'no method' reference.

    Use it as the baseline every embedding is compared with (for example the ``raw`` bar of
    `twinpurify.pl.purity_diagnostic`): it applies the same preprocessing as the other methods
    (gene selection, log scale, per-gene standardisation on the training tumors) and nothing else,
    so its output columns are the genes themselves. Normals are not needed; if given, they take part
    only in the shared input checks (genes matched with the tumors', same scale).

    Parameters
    ----------
    n_genes : int or None, default 3000
        Top-variable genes (over the training tumors) to use; None keeps all. The n_genes_used genes
        kept are listed in ``genes_``.
    input_scale : {"auto", "counts", "linear", "log2"}, default "auto"
        Scale of the input, as in `TwinPurify`; "auto" detects it.
    fill_missing : {"error", "mean"}, default "error"
        Genes missing at transform time: an error naming them, or the training mean.
    check_orientation : bool, default True
        Refuse matrices that look like genes x samples.
    verbose : bool, default True
        Notes for this call (e.g. the detected scale); warnings are always shown.

    Attributes
    ----------
    preprocessor_ : twinpurify.data.Preprocessor
        Scale, selected genes and per-gene mean/sd, applied identically at transform time.
    genes_ : list of str
        The genes the model uses, in model order.
    n_features_in_ : int
        Number of genes (columns) seen in `fit`.
    feature_names_in_ : ndarray of str
        Gene names seen in `fit` (only when the input had names).
    readout_ : twinpurify.readout.Readout or None
        Linear map from the embedding back to the genes (`purified_expression`), with the
        contamination directions of its residual form when fitted with normals; None when fewer
        than 3 tumors were fitted.

    See Also
    --------
    PCAEmbedding : the same profiles reduced by PCA.

    Examples
    --------
    >>> import twinpurify as tp
    >>> c = tp.datasets.simulate_cohort(n_tumors=40, n_normals=8, n_genes=100, seed=0)
    >>> X = tp.RawProfiles(n_genes=50, verbose=False).fit_transform(c.tumors)
    >>> X.shape
    (40, 50)
    >>> list(X.columns[:3])
    ['G0002', 'G0003', 'G0004']
    """

    prefix = "gene:"
    needs_normal = False

    def __init__(
        self,
        *,
        n_genes: Optional[int] = 3000,
        input_scale: str = "auto",
        fill_missing: str = "error",
        check_orientation: bool = True,
        verbose: bool = True,
    ):
        self.n_genes = n_genes
        self.input_scale = input_scale
        self.fill_missing = fill_missing
        self.check_orientation = check_orientation
        self.verbose = verbose

    def _fit_values(self, tumor: Matrix, normal: Optional[Matrix]) -> None:
        pass

    def _embed(self, Xs: np.ndarray) -> np.ndarray:
        return Xs

    def component_names(self) -> list[str]:
        return list(self.genes_)


PROJECT_BLOCK = 4096  # rows per float64 product in `project`


def project(X: np.ndarray, components: np.ndarray) -> np.ndarray:
    """``X @ components.T`` as float32, computed in float64 a block of rows at a time.

    float64 because a float32 GEMM rounds a row differently depending on where it falls in the kernel's
    blocks, so a sample's embedding would depend on the order of the others; in row blocks so that the
    float64 copy is of a block, never of the whole matrix.
    """
    W = np.asarray(components, dtype=np.float64).T
    out = np.empty((X.shape[0], W.shape[1]), dtype=np.float32)
    for i in range(0, X.shape[0], PROJECT_BLOCK):
        out[i : i + PROJECT_BLOCK] = np.asarray(X[i : i + PROJECT_BLOCK], dtype=np.float64) @ W
    return out


class _LinearEmbedding(BaseEmbedder):
    """Projection onto fitted components: Z = X_std @ components_.T."""

    def _embed(self, Xs: np.ndarray) -> np.ndarray:
        return project(Xs, self.components_)

    def _state_arrays(self) -> dict[str, np.ndarray]:
        return {"components": self.components_}

    def _restore(self, fitted: dict, arrays: dict[str, np.ndarray]) -> None:
        self.components_ = np.asarray(arrays["components"], dtype=np.float32)
        self.explained_variance_ = np.asarray(fitted["explained_variance_"], dtype=np.float64)

    def _fitted_config(self) -> dict:
        return {"explained_variance_": self.explained_variance_.tolist()}

    def _n_out(self) -> int:
        return int(self.components_.shape[0])


class PCAEmbedding(_LinearEmbedding):
    """PCA of the standardised tumors.

    The standard linear embedding, fitted on the tumors alone (normals are not needed): it keeps the
    directions of largest variance whatever causes them, purity included, so it shows how much a
    purity-aware method gains over plain dimension reduction with the same preprocessing.

    Parameters
    ----------
    n_components : int, default 128
        Principal components kept: n_kept, at most the number of tumors and of genes.
    n_genes : int or None, default 3000
        Top-variable genes (over the training tumors) to use; None keeps all. The n_genes_used genes
        kept are listed in ``genes_``.
    input_scale : {"auto", "counts", "linear", "log2"}, default "auto"
        Scale of the input, as in `TwinPurify`; "auto" detects it.
    fill_missing : {"error", "mean"}, default "error"
        Genes missing at transform time: an error naming them, or the training mean.
    check_orientation : bool, default True
        Refuse matrices that look like genes x samples.
    random_state : int or None, default 0
        Seed passed to scikit-learn's PCA (used only by its randomised solver).
    verbose : bool, default True
        Notes for this call (e.g. the detected scale); warnings are always shown.

    Attributes
    ----------
    components_ : ndarray of shape (n_kept, n_genes_used)
        Principal axes; the embedding is the standardised profiles times ``components_.T``.
    explained_variance_ : ndarray of shape (n_kept,)
        Variance of the training tumors along each axis.
    preprocessor_ : twinpurify.data.Preprocessor
        Scale, selected genes and per-gene mean/sd, applied identically at transform time.
    genes_ : list of str
        The genes the model uses, in model order.
    n_features_in_ : int
        Number of genes (columns) seen in `fit`.
    feature_names_in_ : ndarray of str
        Gene names seen in `fit` (only when the input had names).
    readout_ : twinpurify.readout.Readout or None
        Linear map from the embedding back to the genes (`purified_expression`), with the
        contamination directions of its residual form when fitted with normals; None when fewer
        than 3 tumors were fitted.

    See Also
    --------
    ContrastivePCA, NormalDifference, InvariantProjection : linear methods that use the normals.

    Examples
    --------
    >>> import twinpurify as tp
    >>> c = tp.datasets.simulate_cohort(n_tumors=40, n_normals=8, n_genes=100, seed=0)
    >>> pca = tp.PCAEmbedding(5, verbose=False)
    >>> Z = pca.fit_transform(c.tumors)
    >>> Z.shape
    (40, 5)
    >>> list(Z.columns)
    ['PC1', 'PC2', 'PC3', 'PC4', 'PC5']
    >>> pca.components_.shape
    (5, 100)
    """

    prefix = "PC"
    needs_normal = False

    def __init__(
        self,
        n_components: int = 128,
        *,
        n_genes: Optional[int] = 3000,
        input_scale: str = "auto",
        fill_missing: str = "error",
        check_orientation: bool = True,
        random_state: Optional[int] = 0,
        verbose: bool = True,
    ):
        self.n_components = n_components
        self.n_genes = n_genes
        self.input_scale = input_scale
        self.fill_missing = fill_missing
        self.check_orientation = check_orientation
        self.random_state = random_state
        self.verbose = verbose

    def _fit_values(self, tumor: Matrix, normal: Optional[Matrix]) -> None:
        from sklearn.decomposition import PCA

        Xs = self.preprocessor_.transform(tumor, "tumor")
        k = min(int(self.n_components), *Xs.shape)
        pca = PCA(k, random_state=self.random_state).fit(Xs)
        # Preprocessing already centred the tumors on the training mean, which PCA's mean equals.
        self.components_ = pca.components_.astype(np.float32)
        self.explained_variance_ = pca.explained_variance_


class ContrastivePCA(_LinearEmbedding):
    """Contrastive PCA (Abid et al., 2018): directions of high tumor and low normal variance.

    Top eigenvectors of C_tumor - alpha * C_normal, both covariances on the tumors' scaling (each
    group centred on its own mean). Use it as the simplest linear way to down-weight variation that
    the normals also show; unlike `NormalDifference` it does not model mixing with normal tissue.

    Parameters
    ----------
    n_components : int, default 128
        Directions kept: n_kept, at most the number of genes.
    alpha : float, default 1.0
        Weight of the normals' covariance: 0 gives PCA of the tumors, larger values penalise
        directions along which the normals vary.
    n_genes : int or None, default 3000
        Top-variable genes (over the training tumors) to use; None keeps all. The n_genes_used genes
        kept are listed in ``genes_``.
    input_scale : {"auto", "counts", "linear", "log2"}, default "auto"
        Scale of the input, as in `TwinPurify`; "auto" detects it.
    fill_missing : {"error", "mean"}, default "error"
        Genes missing at transform time: an error naming them, or the training mean.
    check_orientation : bool, default True
        Refuse matrices that look like genes x samples.
    verbose : bool, default True
        Notes for this call (e.g. the detected scale); warnings are always shown.

    Attributes
    ----------
    components_ : ndarray of shape (n_kept, n_genes_used)
        Unit-length eigenvectors of C_tumor - alpha * C_normal; the embedding is the standardised
        profiles times ``components_.T``.
    explained_variance_ : ndarray of shape (n_kept,)
        The matching eigenvalues, largest first (negative where the normals vary more than the tumors).
    preprocessor_ : twinpurify.data.Preprocessor
        Scale, selected genes and per-gene mean/sd, applied identically at transform time.
    genes_ : list of str
        The genes the model uses, in model order.
    n_features_in_ : int
        Number of genes (columns) seen in `fit`.
    feature_names_in_ : ndarray of str
        Gene names seen in `fit` (only when the input had names).
    readout_ : twinpurify.readout.Readout or None
        Linear map from the embedding back to the genes (`purified_expression`), with the
        contamination directions of its residual form when fitted with normals; None when fewer
        than 3 tumors were fitted.

    See Also
    --------
    PCAEmbedding : the ``alpha=0`` case.
    NormalDifference, InvariantProjection : linear baselines that model mixing with normal tissue.

    Examples
    --------
    >>> import twinpurify as tp
    >>> c = tp.datasets.simulate_cohort(n_tumors=40, n_normals=8, n_genes=100, seed=0)
    >>> cpca = tp.ContrastivePCA(4, alpha=1.0, verbose=False).fit(c.tumors, c.normals)
    >>> cpca.transform(c.tumors).shape
    (40, 4)
    >>> list(cpca.get_feature_names_out())
    ['cPC1', 'cPC2', 'cPC3', 'cPC4']
    """

    prefix = "cPC"

    def __init__(
        self,
        n_components: int = 128,
        *,
        alpha: float = 1.0,
        n_genes: Optional[int] = 3000,
        input_scale: str = "auto",
        fill_missing: str = "error",
        check_orientation: bool = True,
        verbose: bool = True,
    ):
        self.n_components = n_components
        self.alpha = alpha
        self.n_genes = n_genes
        self.input_scale = input_scale
        self.fill_missing = fill_missing
        self.check_orientation = check_orientation
        self.verbose = verbose

    def _fit_values(self, tumor: Matrix, normal: Optional[Matrix]) -> None:
        assert normal is not None  # needs_normal
        Xt = self.preprocessor_.transform(tumor, "tumor").astype(np.float64)
        Xn = self.preprocessor_.transform(normal, "normal").astype(np.float64)
        Xt -= Xt.mean(0)
        Xn -= Xn.mean(0)
        g = Xt.shape[1]
        if g > Xt.shape[0] + Xn.shape[0]:
            # C_t - alpha C_n lives in the row space of [Xt; Xn]: diagonalise it there (r x r, not g x g).
            q, _ = np.linalg.qr(np.concatenate([Xt, Xn]).T)
            At, An = Xt @ q, Xn @ q
            m = At.T @ At / len(Xt) - self.alpha * (An.T @ An) / len(Xn)
            w, v = np.linalg.eigh(m)
            v = q @ v
        else:
            m = Xt.T @ Xt / len(Xt) - self.alpha * (Xn.T @ Xn) / len(Xn)
            w, v = np.linalg.eigh(m)
        order = np.argsort(-w)[: min(int(self.n_components), g)]
        self.components_ = v[:, order].T.astype(np.float32)
        self.explained_variance_ = w[order]


class NormalDifference(_LinearEmbedding):
    """PCA of each tumor's unit-length, linear-space difference from the mean normal.

    The analytic answer to "remove what the normals explain": purity scales a tumor's difference from
    normal tissue, so normalising that difference to unit length removes purity's main effect
    (see `twinpurify.targets`). The difference is then standardised per gene (on the training tumors)
    and reduced by PCA. TwinPurify's reconstruction head predicts exactly this standardised target.

    Parameters
    ----------
    n_components : int, default 128
        Principal components kept: n_kept, at most the number of tumors and of genes.
    n_genes : int or None, default 3000
        Top-variable genes (over the training tumors) to use; None keeps all. The n_genes_used genes
        kept are listed in ``genes_``.
    input_scale : {"auto", "counts", "linear", "log2"}, default "auto"
        Scale of the input, as in `TwinPurify`; "auto" detects it.
    fill_missing : {"error", "mean"}, default "error"
        Genes missing at transform time: an error naming them, or the training mean.
    check_orientation : bool, default True
        Refuse matrices that look like genes x samples.
    random_state : int or None, default 0
        Seed passed to scikit-learn's PCA (used only by its randomised solver).
    verbose : bool, default True
        Notes for this call (e.g. the detected scale); warnings are always shown.

    Attributes
    ----------
    components_ : ndarray of shape (n_kept, n_genes_used)
        Principal axes of the standardised target.
    explained_variance_ : ndarray of shape (n_kept,)
        Variance of the training tumors' standardised target along each axis.
    normal_mean_lin_ : ndarray of shape (n_genes_used,)
        Mean normal profile in linear space (2 ** log2 value).
    target_scaler_ : twinpurify.targets.TargetScaler
        Per-gene mean and sd of the target over the training tumors.
    target_center_ : ndarray of shape (n_genes_used,)
        Mean of the standardised target (about 0), subtracted before projecting.
    preprocessor_ : twinpurify.data.Preprocessor
        Scale, selected genes and per-gene mean/sd, applied identically at transform time.
    genes_ : list of str
        The genes the model uses, in model order.
    n_features_in_ : int
        Number of genes (columns) seen in `fit`.
    feature_names_in_ : ndarray of str
        Gene names seen in `fit` (only when the input had names).
    readout_ : twinpurify.readout.Readout or None
        Linear map from the embedding back to the genes (`purified_expression`), with the
        contamination directions of its residual form when fitted with normals; None when fewer
        than 3 tumors were fitted.

    See Also
    --------
    InvariantProjection : the other linear baseline built on mixing with normal tissue.
    TwinPurify : whose optional content head predicts the same standardised target.

    Examples
    --------
    >>> import twinpurify as tp
    >>> c = tp.datasets.simulate_cohort(n_tumors=40, n_normals=8, n_genes=100, seed=0)
    >>> nd = tp.NormalDifference(6, verbose=False).fit(c.tumors, c.normals)
    >>> Z = nd.transform(c.tumors)
    >>> Z.shape
    (40, 6)
    >>> list(Z.columns[:2])
    ['ND1', 'ND2']
    >>> nd.normal_mean_lin_.shape
    (100,)
    """

    prefix = "ND"

    def __init__(
        self,
        n_components: int = 128,
        *,
        n_genes: Optional[int] = 3000,
        input_scale: str = "auto",
        fill_missing: str = "error",
        check_orientation: bool = True,
        random_state: Optional[int] = 0,
        verbose: bool = True,
    ):
        self.n_components = n_components
        self.n_genes = n_genes
        self.input_scale = input_scale
        self.fill_missing = fill_missing
        self.check_orientation = check_orientation
        self.random_state = random_state
        self.verbose = verbose

    def _fit_values(self, tumor: Matrix, normal: Optional[Matrix]) -> None:
        from sklearn.decomposition import PCA

        pp = self.preprocessor_
        assert normal is not None  # needs_normal
        Xt = pp.transform(tumor, "tumor")
        ln = pp.log_expression(normal, "normal").astype(np.float64)
        self.normal_mean_lin_ = np.exp2(ln).mean(0).astype(np.float32)
        raw = normal_difference_np(self._linear(Xt), self.normal_mean_lin_)
        self.target_scaler_ = TargetScaler.fit(raw)
        T = self.target_scaler_.transform(raw)
        k = min(int(self.n_components), *T.shape)
        pca = PCA(k, random_state=self.random_state).fit(T)
        self.target_center_ = pca.mean_.astype(np.float32)  # ~0: the scaler centred the target already
        self.components_ = pca.components_.astype(np.float32)
        self.explained_variance_ = pca.explained_variance_

    def _linear(self, Xs: np.ndarray) -> np.ndarray:
        pp = self.preprocessor_
        return np.exp2(Xs.astype(np.float64) * pp.std_ + pp.mean_)

    def _embed(self, Xs: np.ndarray) -> np.ndarray:
        T = self.target_scaler_.transform(normal_difference_np(self._linear(Xs), self.normal_mean_lin_))
        return project(T - self.target_center_, self.components_)

    def _state_arrays(self) -> dict[str, np.ndarray]:
        return {
            "components": self.components_,
            "normal_mean_lin": self.normal_mean_lin_,
            "target_mean": self.target_scaler_.mean,
            "target_std": self.target_scaler_.std,
            "target_center": self.target_center_,
        }

    def _restore(self, fitted: dict, arrays: dict[str, np.ndarray]) -> None:
        super()._restore(fitted, arrays)
        self.normal_mean_lin_ = np.asarray(arrays["normal_mean_lin"], dtype=np.float32)
        self.target_scaler_ = TargetScaler(arrays["target_mean"], arrays["target_std"])
        self.target_center_ = np.asarray(arrays["target_center"], dtype=np.float32)


class InvariantProjection(_LinearEmbedding):
    """Linear directions of most tumor variance per unit of variance that normal mixing induces.

    The linear counterpart of TwinPurify's objective: mixing each training tumor with the cohort's
    normals (as TwinPurify's views do) gives perturbations D; the directions w maximising
    w' C_tumor w / w' C_mix w (a generalised eigenproblem, C_mix = D'D / len(D) + shrinkage) carry
    tumor variation that mixing with normal tissue cannot produce. Solved in the span of the top
    `max_rank` principal components of the tumors, where the tumors' covariance is full rank.

    Parameters
    ----------
    n_components : int, default 128
        Directions kept: n_kept, at most `max_rank` and the rank of the standardised tumors.
    beta_max : float, default 0.5
        Largest normal fraction mixed in (as in `TwinPurify`).
    n_mix : int, default 3
        Normals averaged into each background profile.
    n_draws : int, default 4
        Mixed copies of each tumor used to estimate C_mix.
    shrinkage : float, default 1.0
        Ridge added to C_mix, as a fraction of its mean eigenvalue: the purity-vs-biology knob.
        Near 0 the directions are the most mixing-invariant ones whatever their variance (purest,
        but subtle biology goes with the normal tissue); large values tend to PCA. 1.0 was chosen on
        the tuning cohorts (benchmarks/TUNING.md).
    max_rank : int, default 256
        Principal components of the tumors the problem is solved in.
    n_genes : int or None, default 3000
        Top-variable genes (over the training tumors) to use; None keeps all. The n_genes_used genes
        kept are listed in ``genes_``.
    input_scale : {"auto", "counts", "linear", "log2"}, default "auto"
        Scale of the input, as in `TwinPurify`; "auto" detects it.
    fill_missing : {"error", "mean"}, default "error"
        Genes missing at transform time: an error naming them, or the training mean.
    check_orientation : bool, default True
        Refuse matrices that look like genes x samples.
    random_state : int or None, default 0
        Seed of the mixing draws.
    verbose : bool, default True
        Notes for this call (e.g. the detected scale); warnings are always shown.

    Attributes
    ----------
    components_ : ndarray of shape (n_kept, n_genes_used)
        Directions, scaled so that w' C_mix w = 1.
    explained_variance_ : ndarray of shape (n_kept,)
        The generalised eigenvalues (tumor variance per unit of mixing variance).
    preprocessor_ : twinpurify.data.Preprocessor
        Scale, selected genes and per-gene mean/sd, applied identically at transform time.
    genes_ : list of str
        The genes the model uses, in model order.
    n_features_in_ : int
        Number of genes (columns) seen in `fit`.
    feature_names_in_ : ndarray of str
        Gene names seen in `fit` (only when the input had names).
    readout_ : twinpurify.readout.Readout or None
        Linear map from the embedding back to the genes (`purified_expression`), with the
        contamination directions of its residual form when fitted with normals; None when fewer
        than 3 tumors were fitted.

    See Also
    --------
    NormalDifference : the analytic, purity-normalising linear baseline.
    TwinPurify : learns a non-linear map with the same mixing views.

    Examples
    --------
    >>> import twinpurify as tp
    >>> c = tp.datasets.simulate_cohort(n_tumors=40, n_normals=8, n_genes=100, seed=0)
    >>> ip = tp.InvariantProjection(6, verbose=False).fit(c.tumors, normal=c.normals)
    >>> ip.transform(c.tumors).shape
    (40, 6)
    >>> ip.explained_variance_.shape
    (6,)
    """

    prefix = "IP"

    def __init__(
        self,
        n_components: int = 128,
        *,
        beta_max: float = 0.5,
        n_mix: int = 3,
        n_draws: int = 4,
        shrinkage: float = 1.0,
        max_rank: int = 256,
        n_genes: Optional[int] = 3000,
        input_scale: str = "auto",
        fill_missing: str = "error",
        check_orientation: bool = True,
        random_state: Optional[int] = 0,
        verbose: bool = True,
    ):
        self.n_components = n_components
        self.beta_max = beta_max
        self.n_mix = n_mix
        self.n_draws = n_draws
        self.shrinkage = shrinkage
        self.max_rank = max_rank
        self.n_genes = n_genes
        self.input_scale = input_scale
        self.fill_missing = fill_missing
        self.check_orientation = check_orientation
        self.random_state = random_state
        self.verbose = verbose

    def _fit_values(self, tumor: Matrix, normal: Optional[Matrix]) -> None:
        pp = self.preprocessor_
        assert normal is not None  # needs_normal
        Xt = pp.transform(tumor, "tumor").astype(np.float64)
        ln = pp.log_expression(normal, "normal")
        D = mixing_perturbations(Xt, ln, pp.mean_, pp.std_, self.beta_max, self.n_mix, self.n_draws, self.random_state)
        comps, ev = invariant_directions(Xt, D, int(self.n_components), float(self.shrinkage), int(self.max_rank))
        self.components_ = comps.astype(np.float32)
        self.explained_variance_ = ev


class AutoencoderEmbedding(NeuralEmbedder):
    """An autoencoder with TwinPurify's encoder shape, trained on reconstruction of the tumors.

    The neural counterpart of `PCAEmbedding`: same encoder architecture and training schedule as
    `TwinPurify`, but trained only to reconstruct the standardised tumors (mean squared error), with
    no normals and no mixing. Comparing the two separates what TwinPurify's objective contributes
    from what the network alone does.

    Parameters
    ----------
    n_components : int, default 128
        Embedding (bottleneck) dimension.
    hidden_dims : sequence of int, default (512,)
        Encoder hidden-layer widths, as in `TwinPurify`; the decoder mirrors them.
    n_genes : int or None, default 3000
        Top-variable genes (over the training tumors) to use; None keeps all. The n_genes_used genes
        kept are listed in ``genes_``.
    input_scale : {"auto", "counts", "linear", "log2"}, default "auto"
        Scale of the input, as in `TwinPurify`; "auto" detects it.
    lr : float, default 1e-3
        AdamW learning rate, with linear warm-up and cosine decay.
    weight_decay : float, default 1e-4
        AdamW weight decay.
    batch_size : int or "auto", default "auto"
        Tumors per step; "auto" is 256 or the whole cohort when smaller.
    max_epochs : int or "auto", default "auto"
        "auto" targets about 300 optimiser steps.
    device : str, default "auto"
        "auto" (CUDA when present), "cpu", "cuda", "cuda:1", ...
    bf16 : bool, default True
        bf16 autocast on CUDA (the loss stays float32); ignored on CPU.
    fill_missing : {"error", "mean"}, default "error"
        Genes missing at transform time: an error naming them, or the training mean.
    check_orientation : bool, default True
        Refuse matrices that look like genes x samples.
    random_state : int or None, default None
        Seed of the weight initialisation and batch order.
    verbose : bool, default True
        Progress bar (on terminals) and notes for this call.

    Attributes
    ----------
    module_ : torch.nn.Module
        The trained autoencoder; ``module_.encoder`` maps standardised profiles to the embedding.
    history_ : list of dict
        Per-epoch ``{"epoch", "loss", "lr"}``.
    n_epochs_ : int
        Epochs trained.
    batch_size_ : int
        Batch size used.
    device_ : str
        Device the model lives on.
    preprocessor_ : twinpurify.data.Preprocessor
        Scale, selected genes and per-gene mean/sd, applied identically at transform time.
    genes_ : list of str
        The genes the model uses, in model order.
    n_features_in_ : int
        Number of genes (columns) seen in `fit`.
    feature_names_in_ : ndarray of str
        Gene names seen in `fit` (only when the input had names).
    readout_ : twinpurify.readout.Readout or None
        Linear map from the embedding back to the genes (`purified_expression`), with the
        contamination directions of its residual form when fitted with normals; None when fewer
        than 3 tumors were fitted.

    See Also
    --------
    TwinPurify : the same encoder trained with Barlow Twins against the normals.

    Examples
    --------
    >>> import twinpurify as tp
    >>> c = tp.datasets.simulate_cohort(n_tumors=40, n_normals=8, n_genes=100, seed=0)
    >>> ae = tp.AutoencoderEmbedding(4, hidden_dims=(16,), max_epochs=2, device="cpu",
    ...                              random_state=0, verbose=False)
    >>> ae.fit_transform(c.tumors).shape
    (40, 4)
    >>> ae.n_epochs_
    2
    """

    prefix = "AE"
    needs_normal = False

    def __init__(
        self,
        n_components: int = 128,
        *,
        hidden_dims: Sequence[int] = (512,),
        n_genes: Optional[int] = 3000,
        input_scale: str = "auto",
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        batch_size: Union[int, str] = "auto",
        max_epochs: Union[int, str] = "auto",
        device: str = "auto",
        bf16: bool = True,
        fill_missing: str = "error",
        check_orientation: bool = True,
        random_state: Optional[int] = None,
        verbose: bool = True,
    ):
        self.n_components = n_components
        self.hidden_dims = hidden_dims
        self.n_genes = n_genes
        self.input_scale = input_scale
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.device = device
        self.bf16 = bf16
        self.fill_missing = fill_missing
        self.check_orientation = check_orientation
        self.random_state = random_state
        self.verbose = verbose

    def _build(self, n_genes: int) -> AutoencoderModule:
        return AutoencoderModule(n_genes, list(self.hidden_dims), int(self.n_components))

    def _fit_values(self, tumor: Matrix, normal: Optional[Matrix]) -> None:
        dev = self._prepare()
        X = torch.from_numpy(self.preprocessor_.transform(tumor, "tumor")).to(dev)
        module = self._build(X.shape[1]).to(dev)

        def step(mod: torch.nn.Module, xb: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
            _, rec = mod(xb)
            return torch.nn.functional.mse_loss(rec.float(), xb)

        self._train(module, X, step, "Autoencoder")
