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
    """The standardised log profiles of the top-variable genes: the 'no method' reference."""

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


class _LinearEmbedding(BaseEmbedder):
    """Projection onto fitted components: Z = X_std @ components_.T."""

    def _embed(self, Xs: np.ndarray) -> np.ndarray:
        return (Xs @ self.components_.T).astype(np.float32)

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
    """PCA of the standardised tumors."""

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

    Top eigenvectors of C_tumor - alpha * C_normal, both covariances on the tumors' scaling.
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
        Principal components kept (at most the number of tumors and genes).
    n_genes, input_scale, fill_missing, check_orientation, verbose
        As in `TwinPurify`.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_genes)
        Principal axes of the standardised target.
    explained_variance_ : ndarray of shape (n_components,)
    normal_mean_lin_ : ndarray of shape (n_genes,)
        Mean normal profile in linear space (2 ** log2 value).
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
        ln = pp.log2(pp.select(normal, "normal"), normal.samples, "normal").astype(np.float64)
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
        return ((T - self.target_center_) @ self.components_.T).astype(np.float32)

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
    random_state : int, default 0
    n_genes, input_scale, fill_missing, check_orientation, verbose
        As in `TwinPurify`.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_genes)
        Directions, scaled so that w' C_mix w = 1.
    explained_variance_ : ndarray of shape (n_components,)
        The generalised eigenvalues (tumor variance per unit of mixing variance).
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
        ln = pp.log2(pp.select(normal, "normal"), normal.samples, "normal")
        D = mixing_perturbations(Xt, ln, pp.mean_, pp.std_, self.beta_max, self.n_mix, self.n_draws, self.random_state)
        comps, ev = invariant_directions(Xt, D, int(self.n_components), float(self.shrinkage), int(self.max_rank))
        self.components_ = comps.astype(np.float32)
        self.explained_variance_ = ev


class AutoencoderEmbedding(NeuralEmbedder):
    """An autoencoder with TwinPurify's encoder shape, trained on reconstruction of the tumors."""

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
