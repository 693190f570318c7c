"""What the two neural embedders (TwinPurify and the autoencoder baseline) share.

Subclasses provide `_build(n_genes)` (the torch module, whose `.embedding_module()` gives the embedding) and a
training step; this class runs the schedule, embeds, and saves/restores the weights.

Under an initialised process group with several ranks (``torchrun``), fitting is data-parallel: every
rank calls `fit` on the same cohort, trains on its share of each global batch, and ends with the same
weights; `save` writes from rank 0 only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Callable, Optional, Union, cast

import numpy as np
import torch

from .base import BaseEmbedder, PathLike
from .data import Matrix
from .distributed import (
    current_ranks,
    rank_device,
    rank_seed,
    shared_seed,
    synced_batchnorm,
    unify_replicas,
    wrap,
)
from .train import (
    Batches,
    StepFn,
    TensorBatches,
    auto_schedule,
    encode,
    make_generator,
    resolve_device,
    train_module,
)


@contextlib.contextmanager
def seeded_rng(seed: Optional[int]) -> Iterator[None]:
    """Torch's global CPU generator seeded with `seed` inside the block and restored after it (nothing with None).

    Weight initialisation draws from that generator (modules are built on the CPU), so a seeded fit must seed
    it; restoring it afterwards keeps a fit from resetting the caller's own random stream (two seeded fits no
    longer make the caller's ``torch.rand`` repeat). The draws inside are those of ``torch.manual_seed(seed)``.
    """
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):  # CPU only: no CUDA context is created or touched
        torch.random.default_generator.manual_seed(int(seed))
        yield


class NeuralEmbedder(BaseEmbedder):
    def _build(self, n_genes: int) -> torch.nn.Module:
        raise NotImplementedError

    def _fit_matrices(self, t: Matrix, n: Optional[Matrix]) -> None:
        """The in-memory fit, weight initialisation seeded by `random_state` without touching the caller's stream."""
        with seeded_rng(self.random_state):
            super()._fit_matrices(t, n)

    def _prepare(self) -> torch.device:
        """The device to train on (this rank's, in a distributed fit)."""
        return rank_device(self.device, current_ranks()) or resolve_device(self.device)

    def _train(
        self,
        module: torch.nn.Module,
        data: Union[torch.Tensor, Batches],
        step: StepFn,
        desc: str,
        n_samples: int = 0,
    ) -> None:
        """Train `module` on a device matrix, or on streamed `Batches` of a cohort of `n_samples` tumors."""
        ranks = current_ranks()
        device = data.device
        n = data.shape[0] if isinstance(data, torch.Tensor) else n_samples
        schedule = auto_schedule(n, self.batch_size, self.max_epochs, world_size=ranks.world_size)
        batches: Union[torch.Tensor, Batches] = data
        views = make_generator(device, self.random_state)  # one stream for order and views: as before
        trained: torch.nn.Module = module
        with contextlib.ExitStack() as stack:
            if ranks.active:  # order alike on every rank, views from each rank's own stream
                seed = shared_seed(self.random_state, device)
                views = make_generator(device, rank_seed(seed, ranks.rank))
                if isinstance(data, torch.Tensor):
                    batches = TensorBatches(data, schedule, make_generator(device, seed), ranks)
                stack.enter_context(synced_batchnorm(module))
                trained = wrap(module, device)
            self.history_ = train_module(
                trained,
                batches,
                step,
                schedule,
                lr=self.lr,
                weight_decay=self.weight_decay,
                generator=views,
                bf16=self.bf16,
                early_stopping=getattr(self, "early_stopping", False),
                patience=getattr(self, "patience", 20),
                progress=self.verbose,
                desc=desc,
                ranks=ranks,
            )
        unify_replicas(module)
        self.module_ = module
        self.world_size_ = ranks.world_size
        self.device_ = str(device)
        self.batch_size_ = schedule.batch_size
        self.n_epochs_ = len(self.history_)

    def save(self, path: PathLike, overwrite: bool = False) -> Path:
        """Write the model (see `BaseEmbedder.save`); in a distributed fit only rank 0 writes.

        Every rank holds the same weights, so the other ranks return the path without touching it;
        callers that read the folder back on every rank should `twinpurify.distributed.barrier()` first.
        """
        if not current_ranks().lead:
            self._check_fitted()
            return Path(path)
        return super().save(path, overwrite)

    def _embed(self, Xs: np.ndarray) -> np.ndarray:
        dev = next(self.module_.parameters()).device
        embedder = cast(Callable[[], torch.nn.Module], self.module_.embedding_module)()
        return encode(embedder, torch.from_numpy(Xs).to(dev)).cpu().numpy()

    def _state_arrays(self) -> dict[str, np.ndarray]:
        return {f"module.{k}": v.detach().cpu().numpy() for k, v in self.module_.state_dict().items()}

    def _fitted_config(self) -> dict:
        return {"history_": self.history_, "batch_size_": self.batch_size_, "n_epochs_": self.n_epochs_}

    def _restore(self, fitted: dict, arrays: dict[str, np.ndarray]) -> None:
        dev = resolve_device(self.device)  # `load_model` has checked it: a saved device not here becomes the CPU
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
