"""Data-parallel training on `torch.distributed`: which rank we are, and collectives that autograd sees through.

One model is trained by several processes (``torchrun``, or any caller that initialised the default
process group). Each rank makes views of its own share of every global batch; DistributedDataParallel
averages the parameter gradients. Two things must span the global batch for the result to equal a
single process trained on that batch:

- the Barlow Twins cross-correlation: its batch standardisation and its average over samples are global
  statistics. The projections are gathered with `gather_batch`, whose backward sums the gradient over
  ranks and keeps this rank's rows. A plain ``all_reduce`` of the local cross-correlation (as some
  public Barlow Twins code does) carries no gradient from the other ranks' samples, so after DDP's
  averaging the gradients come out divided by the world size;
- BatchNorm statistics (`SyncedBatchNorm1d`). torch's own ``nn.SyncBatchNorm`` refuses CPU tensors,
  and gloo on CPU is how this is tested and how small clusters without GPUs run, so the few lines of
  a synchronised batch norm are written here on top of the same autograd-aware all-reduce.

Both are identities outside `spanning_ranks()`, which the training loop enters only when the process
group has more than one rank, so single-process code paths are untouched.
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Optional, Union

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

logger = logging.getLogger("twinpurify")

_SPANNING = contextvars.ContextVar("twinpurify_spanning_ranks", default=False)


@dataclass(frozen=True)
class Ranks:
    """This process's place in the process group (rank 0 of 1 when there is none)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def active(self) -> bool:
        """More than one process trains the model."""
        return self.world_size > 1

    @property
    def lead(self) -> bool:
        """The rank that writes files and prints (rank 0)."""
        return self.rank == 0


SINGLE = Ranks()


def current_ranks() -> Ranks:
    """Rank and world size of the default process group, or a single process when none is initialised."""
    if dist.is_available() and dist.is_initialized():
        rank = dist.get_rank()
        return Ranks(rank, dist.get_world_size(), int(os.environ.get("LOCAL_RANK", rank)))
    return Ranks()


def backend_for(device: Union[str, torch.device, None]) -> str:
    """nccl when training on CUDA, gloo otherwise (CPU, or no CUDA visible)."""
    wants_cpu = device is not None and str(device).startswith("cpu")
    return "nccl" if torch.cuda.is_available() and not wants_cpu and dist.is_nccl_available() else "gloo"


def rank_device(device: Union[str, torch.device, None], ranks: Ranks) -> Optional[torch.device]:
    """The device of this rank: its own GPU (LOCAL_RANK) under nccl, the CPU under gloo.

    Returns None when not distributed (the caller resolves `device` as usual).
    """
    if not ranks.active:
        return None
    if dist.get_backend() == "nccl":
        dev = torch.device(str(device)) if device not in (None, "auto") else torch.device("cuda")
        return dev if dev.index is not None else torch.device("cuda", ranks.local_rank % torch.cuda.device_count())
    return torch.device("cpu")


@contextlib.contextmanager
def process_group_from_env(device: Union[str, torch.device, None] = "auto") -> Iterator[Ranks]:
    """Join the process group that ``torchrun`` describes in the environment, for the length of the block.

    Does nothing (one rank) when WORLD_SIZE is absent or 1, and leaves an already initialised group
    to whoever initialised it. The backend follows `backend_for`.
    """
    started = False
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        backend = backend_for(device)
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend)
        started = True
    try:
        yield current_ranks()
    finally:
        if started:
            dist.destroy_process_group()


@contextlib.contextmanager
def spanning_ranks(active: bool = True) -> Iterator[None]:
    """Inside this block `gather_batch` and `SyncedBatchNorm1d` act over all ranks' rows."""
    token = _SPANNING.set(bool(active))
    try:
        yield
    finally:
        _SPANNING.reset(token)


def spans_ranks() -> bool:
    return _SPANNING.get() and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


class _AllGather(torch.autograd.Function):
    """Rows of every rank, concatenated in rank order; backward: the summed gradient of this rank's rows."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, x.contiguous())
        ctx.rows = x.shape[0]
        return torch.cat(parts)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        # every rank's loss depends on every rank's rows: this rank's rows get the sum over ranks
        grad = grad.contiguous().clone()
        dist.all_reduce(grad)
        start = dist.get_rank() * ctx.rows
        return grad[start : start + ctx.rows]


class _AllReduce(torch.autograd.Function):
    """Sum over ranks; the adjoint of a replicated sum is again a sum over ranks."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        out = x.contiguous().clone()
        dist.all_reduce(out)
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous().clone()
        dist.all_reduce(grad)
        return grad


def gather_batch(x: torch.Tensor) -> torch.Tensor:
    """The global batch (all ranks' rows, in rank order) inside `spanning_ranks`; `x` itself otherwise.

    Every rank must pass the same number of rows.
    """
    return _AllGather.apply(x) if spans_ranks() else x


def sum_over_ranks(x: torch.Tensor) -> torch.Tensor:
    """Sum of `x` over ranks, differentiable, inside `spanning_ranks`; `x` itself otherwise."""
    return _AllReduce.apply(x) if spans_ranks() else x


class SyncedBatchNorm1d(nn.BatchNorm1d):
    """BatchNorm1d whose training statistics are those of the global batch (any device, any backend).

    Same parameters and buffers as `nn.BatchNorm1d` (a model trained with it saves and loads as a plain
    one); outside `spanning_ranks` or in eval mode it is exactly `nn.BatchNorm1d`.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and spans_ranks()):
            return super().forward(x)
        xf = x.float()
        n = xf.shape[0] * dist.get_world_size()  # equal rows per rank (the training loop's contract)
        mean = sum_over_ranks(xf.sum(0)) / n
        centred = xf - mean
        var = sum_over_ranks(centred.pow(2).sum(0)) / n  # two passes: no cancellation in E[x^2] - E[x]^2
        y = centred * torch.rsqrt(var + self.eps)
        if self.affine:
            y = y * self.weight + self.bias
        if self.track_running_stats and self.running_mean is not None and self.running_var is not None:
            with torch.no_grad():
                assert self.num_batches_tracked is not None
                self.num_batches_tracked.add_(1)
                m = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
                self.running_mean.mul_(1 - m).add_(mean.detach(), alpha=m)
                self.running_var.mul_(1 - m).add_(var.detach() * n / max(n - 1, 1), alpha=m)
        return y.to(x.dtype)


@contextlib.contextmanager
def synced_batchnorm(module: nn.Module) -> Iterator[nn.Module]:
    """Turn every BatchNorm1d of `module` into `SyncedBatchNorm1d` for the block, and back afterwards.

    The class is swapped in place (no parameter or buffer changes), so optimisers, DDP and state-dict
    keys see the same tensors and the trained module is a plain torch module again after the block.
    """
    swapped = [m for m in module.modules() if type(m) is nn.BatchNorm1d]
    for m in swapped:
        m.__class__ = SyncedBatchNorm1d
    try:
        yield module
    finally:
        for m in swapped:
            m.__class__ = nn.BatchNorm1d


class DataParallel(nn.parallel.DistributedDataParallel):
    """DistributedDataParallel that lets the objective reach sub-modules (``.head``, ``.encoder``)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.module, name)


def wrap(module: nn.Module, device: torch.device) -> DataParallel:
    """DDP around `module`; BatchNorm buffers stay equal on every rank through `SyncedBatchNorm1d`."""
    ids = [device.index] if device.type == "cuda" else None
    params = inspect.signature(nn.parallel.DistributedDataParallel.__init__).parameters
    no_sync: dict[str, Any] = (
        {"forward_sync_buffers": False} if "forward_sync_buffers" in params else {"broadcast_buffers": False}
    )
    return DataParallel(module, device_ids=ids, **no_sync)


def shared_seed(random_state: Optional[int], device: torch.device) -> int:
    """One seed for all ranks: `random_state`, or one drawn by rank 0 and broadcast."""
    if random_state is not None:
        return int(random_state)
    seed = torch.randint(0, 2**62, (1,), dtype=torch.int64)
    if current_ranks().active:
        seed = seed.to(device)
        dist.broadcast(seed, 0)
    return int(seed.item())


def rank_seed(seed: int, rank: int) -> int:
    """An independent stream per rank, derived from the shared seed (reproducible for a given world size)."""
    return int(np.random.SeedSequence([int(seed) % 2**63, rank]).generate_state(1, np.uint64)[0]) >> 1


def sum_arrays_over_ranks(values: np.ndarray, ranks: Ranks) -> np.ndarray:
    """Element-wise float64 sum of an array over ranks, on every rank (`values` itself with one rank).

    Statistics summed block by block on each rank (covariances, the last step's sums) are merged this way,
    outside training (`sum_over_ranks` is the differentiable one inside it); the sum runs on the rank's
    device, since nccl reduces device tensors only.
    """
    return _reduce_array(values, ranks, dist.ReduceOp.SUM)


def min_arrays_over_ranks(values: np.ndarray, ranks: Ranks) -> np.ndarray:
    """Element-wise float64 minimum of an array over ranks, on every rank (`values` itself with one rank): the
    first block a rank found bad, the evidence of a scale over every rank's values."""
    return _reduce_array(values, ranks, dist.ReduceOp.MIN)


def _reduce_array(values: np.ndarray, ranks: Ranks, op: Any) -> np.ndarray:
    if not ranks.active:
        return values
    t = torch.from_numpy(np.ascontiguousarray(values, dtype=np.float64)).to(rank_device("auto", ranks))
    dist.all_reduce(t, op=op)  # in place; on the host that is `values`' own memory, no copy
    return t.cpu().numpy()


def lead_array(values: np.ndarray, ranks: Ranks) -> np.ndarray:
    """Rank 0's copy of a float64 array, on every rank (`values` itself with one rank).

    For results every rank computes from the same summed inputs but must agree on bit for bit (an SVD whose
    signs or basis could differ between nodes with other linear-algebra libraries).
    """
    if not ranks.active:
        return values
    t = torch.from_numpy(np.array(values, dtype=np.float64)).to(rank_device("auto", ranks))
    dist.broadcast(t, src=0)
    return t.cpu().numpy()


def mean_over_ranks(value: torch.Tensor) -> torch.Tensor:
    """Average of a tensor over ranks (no gradient): epoch losses, so every rank stops at the same epoch."""
    if not current_ranks().active:
        return value
    out = value.detach().clone()
    dist.all_reduce(out)
    return out / dist.get_world_size()


def unify_replicas(module: nn.Module) -> float:
    """Give every rank rank 0's parameters and buffers; returns the largest difference found first.

    DDP keeps replicas equal by construction; this makes it a guarantee (and the difference is logged
    when it is not zero) rather than an assumption that floating-point reductions never break.
    """
    if not current_ranks().active:
        return 0.0
    worst = torch.zeros(())
    for t in [*module.parameters(), *module.buffers()]:
        ref = t.detach().clone()
        dist.broadcast(ref, 0)
        if t.is_floating_point():
            worst = torch.maximum(worst, (ref - t.detach()).abs().max().cpu().float())
        with torch.no_grad():
            t.copy_(ref)
    worst = worst.to(next(module.parameters()).device)
    dist.all_reduce(worst, op=dist.ReduceOp.MAX)
    if float(worst) > 0:
        logger.info("replicas differed by up to %.3g before rank 0's weights were broadcast", float(worst))
    return float(worst)


def barrier() -> None:
    if current_ranks().active:
        dist.barrier()


__all__ = [
    "Ranks",
    "SyncedBatchNorm1d",
    "backend_for",
    "barrier",
    "current_ranks",
    "gather_batch",
    "mean_over_ranks",
    "process_group_from_env",
    "rank_device",
    "rank_seed",
    "shared_seed",
    "spanning_ranks",
    "sum_over_ranks",
    "synced_batchnorm",
    "unify_replicas",
    "wrap",
]
