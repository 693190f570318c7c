"""TwinPurify: the scikit-learn-style estimator around the Barlow Twins engine."""
from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import torch

from .augment import ViewConfig, ViewGenerator
from .data import Matrix
from .loss import barlow_twins_loss
from .model import BarlowTwinsModule
from .neural import NeuralEmbedder


class TwinPurify(NeuralEmbedder):
    """Tumor-intrinsic embeddings learned with Barlow Twins against the cohort's own normals.

    Two views of each tumor are made by mixing it, in linear expression space, with random
    normal profiles at random fractions beta ~ U(0, beta_max) (plus light masking and noise); the
    encoder is trained so that both views embed alike, so the embedding keeps what normal tissue
    cannot explain.

    Parameters
    ----------
    n_components : embedding dimension.
    hidden_dims : encoder hidden layer widths (the autoencoder baseline uses the same).
    projector_dims : projector widths; the loss is computed on the projector output.
    n_genes : top-variable genes (on the training tumors) to use; None keeps all.
    input_scale : "auto", "counts" (-> log2 CPM+1), "linear" (-> log2 x+1) or "log2" (as is).
    beta_max, n_mix, mask_prob, noise_std : view generation, see `augment.ViewConfig`.
    clean_anchor : if True the first view of each pair is never mixed (only masked and noised).
    lambd : weight of the off-diagonal (redundancy) term of the loss.
    lr, weight_decay : AdamW, with warm-up and cosine decay.
    batch_size, max_epochs : "auto" picks them from the cohort size (about 300 optimiser steps).
    early_stopping, patience : stop when the epoch loss has not improved by 0.1% for `patience` epochs.
    device : "auto" (CUDA when present), "cpu", "cuda", "cuda:1", ...
    bf16 : bf16 autocast on CUDA (the loss stays float32); ignored on CPU.
    fill_missing : "error" or "mean" (missing genes at transform time get the training mean).
    check_orientation : refuse matrices that look like genes x samples.
    random_state : seed; fixed seeds give identical results on CPU.
    verbose : progress bar and messages.
    """

    prefix = "TP"

    def __init__(self, n_components: int = 128, *, hidden_dims: Sequence[int] = (512,),
                 projector_dims: Sequence[int] = (128, 128), n_genes: Optional[int] = 3000,
                 input_scale: str = "auto", beta_max: float = 0.5, n_mix: int = 3,
                 mask_prob: float = 0.1, noise_std: float = 0.1, clean_anchor: bool = False, lambd: float = 5e-3,
                 lr: float = 1e-3, weight_decay: float = 1e-4,
                 batch_size: Union[int, str] = "auto", max_epochs: Union[int, str] = "auto",
                 early_stopping: bool = False, patience: int = 20, device: str = "auto", bf16: bool = True,
                 fill_missing: str = "error", check_orientation: bool = True,
                 random_state: Optional[int] = None, verbose: bool = True):
        self.n_components = n_components
        self.hidden_dims = hidden_dims
        self.projector_dims = projector_dims
        self.n_genes = n_genes
        self.input_scale = input_scale
        self.beta_max = beta_max
        self.n_mix = n_mix
        self.mask_prob = mask_prob
        self.noise_std = noise_std
        self.clean_anchor = clean_anchor
        self.lambd = lambd
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.patience = patience
        self.device = device
        self.bf16 = bf16
        self.fill_missing = fill_missing
        self.check_orientation = check_orientation
        self.random_state = random_state
        self.verbose = verbose

    def _build(self, n_genes: int) -> BarlowTwinsModule:
        return BarlowTwinsModule(n_genes, list(self.hidden_dims), int(self.n_components), list(self.projector_dims))

    def _fit_values(self, tumor: Matrix, normal: Optional[Matrix]) -> None:
        if int(self.n_components) < 1:
            raise ValueError(f"n_components must be positive, got {self.n_components}")
        views = ViewConfig(self.beta_max, int(self.n_mix), self.mask_prob, self.noise_std)
        views.validate()
        dev = self._prepare()
        pp = self.preprocessor_
        t_log = pp.log2(pp.select(tumor, "tumor"), tumor.samples, "tumor")
        n_log = pp.log2(pp.select(normal, "normal"), normal.samples, "normal")
        t_lin = torch.from_numpy(t_log).to(dev).exp2_()  # in place: no second copy of the training matrix
        del t_log
        views_of = ViewGenerator(torch.from_numpy(n_log).to(dev), torch.from_numpy(pp.mean_).to(dev),
                                 torch.from_numpy(pp.std_).to(dev), views)
        module = self._build(t_lin.shape[1]).to(dev)
        lambd = float(self.lambd)
        clean_anchor = bool(self.clean_anchor)

        def step(mod: torch.nn.Module, xb: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
            # clean_anchor: the first view of each pair is never mixed (beta scaled by 0)
            scale = torch.cat([torch.zeros(len(xb), device=dev), torch.ones(len(xb), device=dev)]) if clean_anchor else None
            v = views_of(torch.cat([xb, xb]), gen, scale)  # both views in one pass: one matmul, not two
            _, p = mod(v)
            p1, p2 = p.chunk(2)
            return barlow_twins_loss(p1, p2, lambd)

        self._train(module, t_lin, step, "TwinPurify")

    def __sklearn_tags__(self):  # pragma: no cover - sklearn >= 1.6 only
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags

    def embedding_info(self) -> dict[str, Any]:
        """A short summary of what was fitted (for printing and for the R side)."""
        self._check_fitted()
        return {"n_genes": len(self.genes_), "n_components": int(self.n_components), "input_scale": self.preprocessor_.scale_,
                "epochs": self.n_epochs_, "batch_size": self.batch_size_, "device": self.device_,
                "final_loss": self.history_[-1]["loss"] if self.history_ else None}
