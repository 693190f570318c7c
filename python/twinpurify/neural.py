"""What the two neural embedders (TwinPurify and the autoencoder baseline) share.

Subclasses provide `_build(n_genes)` (the torch module, whose `.encoder` gives the embedding) and a
training step; this class runs the schedule, embeds, and saves/restores the weights.
"""

from __future__ import annotations

import numpy as np
import torch

from .base import BaseEmbedder
from .train import StepFn, auto_schedule, encode, make_generator, resolve_device, train_module


class NeuralEmbedder(BaseEmbedder):
    def _build(self, n_genes: int) -> torch.nn.Module:
        raise NotImplementedError

    def _prepare(self) -> torch.device:
        """The device to train on; seeds weight initialisation."""
        dev = resolve_device(self.device)
        if self.random_state is not None:
            torch.manual_seed(int(self.random_state))
        return dev

    def _train(self, module: torch.nn.Module, data: torch.Tensor, step: StepFn, desc: str) -> None:
        schedule = auto_schedule(data.shape[0], self.batch_size, self.max_epochs)
        self.history_ = train_module(
            module,
            data,
            step,
            schedule,
            lr=self.lr,
            weight_decay=self.weight_decay,
            generator=make_generator(data.device, self.random_state),
            bf16=self.bf16,
            early_stopping=getattr(self, "early_stopping", False),
            patience=getattr(self, "patience", 20),
            progress=self.verbose,
            desc=desc,
        )
        self.module_ = module
        self.device_ = str(data.device)
        self.batch_size_ = schedule.batch_size
        self.n_epochs_ = len(self.history_)

    def _embed(self, Xs: np.ndarray) -> np.ndarray:
        dev = next(self.module_.parameters()).device
        encoder = self.module_.encoder
        assert isinstance(encoder, torch.nn.Module)
        return encode(encoder, torch.from_numpy(Xs).to(dev)).cpu().numpy()

    def _state_arrays(self) -> dict[str, np.ndarray]:
        return {f"module.{k}": v.detach().cpu().numpy() for k, v in self.module_.state_dict().items()}

    def _fitted_config(self) -> dict:
        return {"history_": self.history_, "batch_size_": self.batch_size_, "n_epochs_": self.n_epochs_}

    def _restore(self, fitted: dict, arrays: dict[str, np.ndarray]) -> None:
        dev = resolve_device(self.device)
        module = self._build(len(self.preprocessor_.genes_))
        prefix = "module."
        module.load_state_dict(
            {k[len(prefix) :]: torch.from_numpy(np.array(v)) for k, v in arrays.items() if k.startswith(prefix)}
        )
        self.module_ = module.to(dev).eval()
        self.device_ = str(dev)
        self.history_ = fitted["history_"]
        self.batch_size_ = int(fitted.get("batch_size_") or 0)
        self.n_epochs_ = fitted["n_epochs_"]
