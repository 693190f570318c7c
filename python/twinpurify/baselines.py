"""Baselines behind the same fit/transform interface and preprocessing as TwinPurify.

Comparisons are only honest when every method sees the same genes, log scale and scaling, so all
of these reuse `Preprocessor` and differ only in the map from standardised profiles to embedding.
"""
from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np
import torch

from .base import BaseEmbedder
from .data import Matrix
from .model import AutoencoderModule
from .neural import NeuralEmbedder


class RawProfiles(BaseEmbedder):
    """The standardised log profiles of the top-variable genes: the 'no method' reference."""

    prefix = "gene:"
    needs_normal = False

    def __init__(self, *, n_genes: Optional[int] = 3000, input_scale: str = "auto", fill_missing: str = "error",
                 check_orientation: bool = True, verbose: bool = True):
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

    def __init__(self, n_components: int = 128, *, n_genes: Optional[int] = 3000, input_scale: str = "auto",
                 fill_missing: str = "error", check_orientation: bool = True, random_state: Optional[int] = 0,
                 verbose: bool = True):
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

    def __init__(self, n_components: int = 128, *, alpha: float = 1.0, n_genes: Optional[int] = 3000,
                 input_scale: str = "auto", fill_missing: str = "error", check_orientation: bool = True,
                 verbose: bool = True):
        self.n_components = n_components
        self.alpha = alpha
        self.n_genes = n_genes
        self.input_scale = input_scale
        self.fill_missing = fill_missing
        self.check_orientation = check_orientation
        self.verbose = verbose

    def _fit_values(self, tumor: Matrix, normal: Optional[Matrix]) -> None:
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


class AutoencoderEmbedding(NeuralEmbedder):
    """An autoencoder with TwinPurify's encoder shape, trained on reconstruction of the tumors."""

    prefix = "AE"
    needs_normal = False

    def __init__(self, n_components: int = 128, *, hidden_dims: Sequence[int] = (512,), n_genes: Optional[int] = 3000,
                 input_scale: str = "auto", lr: float = 1e-3, weight_decay: float = 1e-4,
                 batch_size: Union[int, str] = "auto", max_epochs: Union[int, str] = "auto",
                 device: str = "auto", bf16: bool = True, fill_missing: str = "error",
                 check_orientation: bool = True, random_state: Optional[int] = None, verbose: bool = True):
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
