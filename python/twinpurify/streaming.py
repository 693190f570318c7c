"""Fit and transform cohorts larger than memory, streamed from .h5ad, .zarr or .parquet a block at a time.

What stays in memory grows with the number of tumors only by a few numbers per tumor: one window of blocks
being shuffled, a few prepared batches queued ahead of the device, per-gene statistics, the normals (which
the views mix in on the device, as in memory) and the model, and, for the gene-space readout fitted after
training, each tumor's embedding, its SVD and the ridge's per-tumor sums (under 100 numbers for k = 16).
The file is read by a background thread, so reading and the log/linear conversion of the next batches
overlap the current step.

The result is the model `TwinPurify.fit` would give on the same data up to batch composition: gene
statistics are exact (one streaming pass, float64, merged across ranks), the scale, gene selection,
standardisation and views are the same functions, and the saved model is an ordinary one.

Batches are not uniform samples of the whole cohort (random access to single rows of a compressed or
chunked file is slow): each epoch visits the blocks in a fresh random order, and rows are shuffled
within a window of `window_blocks` blocks. Under torch.distributed each rank reads only its own blocks.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Callable, Optional, TypeVar

import numpy as np
import pandas as pd
import torch

from .data import (
    PREVIEW,
    InputError,
    Matrix,
    NormalProfiles,
    Preprocessor,
    _check_unique,
    _preview,
    as_matrix,
    detect_scale,
    match_genes,
    normals_marked,
    refuse_same_samples,
    refuse_unlabelled,
    to_log2,
    warn_if_count_like,
)
from .distributed import (
    Ranks,
    current_ranks,
    lead_array,
    min_arrays_over_ranks,
    rank_device,
    shared_seed,
    sum_arrays_over_ranks,
)
from .invariance import MAX_GRAM_GENES, CovarianceSums, fixed_front
from .ondisk import RowSource, is_on_disk, open_rows
from .train import Schedule

logger = logging.getLogger("twinpurify")
T = TypeVar("T")


# ---- background reading -------------------------------------------------------------------------
class _Raised:
    def __init__(self, exc: BaseException):
        self.exc = exc


def prefetched(items: Iterator[T], depth: int) -> Iterator[T]:
    """Run `items` in a background thread, keeping up to `depth` results ready; errors re-raise here.

    h5py and NumPy release the GIL for reads and large ufuncs, so the next blocks are read and converted
    while torch computes. Leaving the loop early stops the thread.
    """
    q: queue.Queue = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()
    done = object()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(done)
        except BaseException as exc:  # handed to the consumer, which raises it
            put(_Raised(exc))

    thread = threading.Thread(target=run, name="twinpurify-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, _Raised):
                raise item.exc
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


class _Names(Sequence):
    """Sample names of a block, read from the file only if an error message needs them."""

    def __init__(self, rows: RowSource, start: int, stop: int):
        self.rows, self.start, self.stop = rows, start, stop

    def __len__(self) -> int:
        return self.stop - self.start

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return self.rows.samples(self.start + i, self.start + i + 1)[0]


def _blocks(n: int, block_rows: int, ranks: Ranks) -> Iterator[tuple[int, int]]:
    """This rank's blocks of rows (every world_size-th block)."""
    for b, start in enumerate(range(0, n, block_rows)):
        if b % ranks.world_size == ranks.rank:
            yield start, min(start + block_rows, n)


# ---- gene statistics in one streaming pass ------------------------------------------------------
class _Moments:
    """Per-gene count, mean and sum of squared deviations (Chan et al.'s merge), in float64."""

    def __init__(self, g: int):
        self.n, self.mean, self.m2 = 0, np.zeros(g), np.zeros(g)

    def add(self, n: int, mean: np.ndarray, m2: np.ndarray) -> None:
        total = self.n + n
        if n == 0:
            return
        d = mean - self.mean
        self.mean = self.mean + d * (n / total)
        self.m2 = self.m2 + m2 + d**2 * (self.n * n / total)
        self.n = total

    def add_block(self, x: np.ndarray, rows: int = 256) -> None:
        for i in range(0, len(x), rows):  # float64 copies of a few rows at a time, not of the block
            part = x[i : i + rows].astype(np.float64)
            mean = part.mean(0)
            part -= mean
            self.add(len(part), mean, np.einsum("ij,ij->j", part, part))

    def merge_ranks(self, ranks: Ranks) -> None:
        if not ranks.active:
            return
        import torch.distributed as dist

        dev = rank_device("auto", ranks)  # nccl gathers device tensors only; gloo the host's
        mine = torch.from_numpy(np.concatenate([[float(self.n)], self.mean, self.m2])).to(dev)
        parts = [torch.empty_like(mine) for _ in range(ranks.world_size)]
        dist.all_gather(parts, mine)
        g = len(self.mean)
        self.n, self.mean, self.m2 = 0, np.zeros(g), np.zeros(g)
        for p in parts:
            a = p.cpu().numpy()
            self.add(int(a[0]), a[1 : g + 1], a[g + 1 :])


def _sum_over_ranks(sums: CovarianceSums, ranks: Ranks) -> None:
    """Every rank ends with the sums over all ranks' blocks."""
    if not ranks.active:
        return
    a = sum_arrays_over_ranks(np.concatenate([[float(sums.n)], sums.sum]), ranks)
    sums.n, sums.sum = int(round(a[0])), a[1:].copy()
    sums.xtx = sum_arrays_over_ranks(sums.xtx, ranks)


def _scale_evidence(x: np.ndarray) -> np.ndarray:
    """(min, -max, all-integer) of a block: what `detect_scale` decides from, in a mergeable form."""
    return np.array([x.min(), -x.max(), float(np.all(np.abs(x - np.round(x)) < 1e-6))])


def _scale_from_evidence(e: np.ndarray) -> str:
    """`detect_scale`'s verdict on the whole cohort, asked about three values with the same min, max and integrality."""
    vmin, vmax, integer = e[0], -e[1], e[2] > 0.5
    return detect_scale(np.array([[vmin, vmax, 0.5 if not integer else vmin]], dtype=np.float32))


def _check_finite(block: np.ndarray, rows: RowSource, start: int, what: str) -> None:
    bad = ~np.isfinite(block).all(axis=1)
    if bad.any():
        names = [rows.samples(start + i, start + i + 1)[0] for i in np.flatnonzero(bad)[:PREVIEW]]
        raise InputError(
            f"{what}: missing or infinite values (NaN/Inf) in samples {_preview(names)}; impute them or drop "
            "those genes first"
        )


def fit_preprocessor(
    pp: Preprocessor,
    rows: RowSource,
    cols: np.ndarray,
    genes: list[str],
    normal: Optional[Matrix],
    block_rows: int = 4096,
    ranks: Optional[Ranks] = None,
) -> Preprocessor:
    """`Preprocessor.fit` on the tumors of `rows` (columns `cols`, named `genes`) in one streaming pass.

    Scale detection with input_scale="auto" needs every value, and the statistics need the scale; the
    pass assumes the scale of the file's first block and is repeated only if the whole file disagrees (a
    block the guess cannot put on the log2 scale, e.g. negative values under a "counts" guess, is refused
    only if the whole file agrees with the guess). The same pass refuses tumors that are also given as
    normals (`check_disjoint`, block by block: any name, as in memory), so no pass is added for it.

    Under torch.distributed a block one rank cannot read (NaN/Inf) or transform is read again by every rank,
    which then raises the same error: no rank is left waiting in a collective for one that failed.
    """
    ranks = ranks or current_ranks()

    def block_at(start: int) -> np.ndarray:
        return rows.read(start, min(start + block_rows, rows.n))[:, cols]

    if pp.input_scale == "auto":
        guess = detect_scale(block_at(0))
    else:
        guess = pp.input_scale
    copies = _NormalCopies(normal, genes) if normal is not None else None
    for _ in range(2):
        moments, evidence = _Moments(len(cols)), np.array([np.inf, np.inf, 1.0])
        unread = untransformed = np.inf  # this rank's first block with NaN/Inf / that the guess cannot transform
        for start, stop in _blocks(rows.n, block_rows, ranks):
            block = rows.read(start, stop)[:, cols]
            if not np.isfinite(block).all():
                unread = start
                break
            if copies is not None:
                copies.add_block(block, rows, start, stop)
            evidence = np.minimum(evidence, _scale_evidence(block))
            try:
                moments.add_block(to_log2(block, guess, _Names(rows, start, stop), "tumor"))
            except InputError:  # judged after the pass: under "auto" the guess may be what is wrong
                untransformed = min(untransformed, start)
        unread, untransformed = min_arrays_over_ranks(np.array([unread, untransformed]), ranks)
        if np.isfinite(unread):  # every rank reads the first bad block and raises its error
            _check_finite(block_at(int(unread)), rows, int(unread), "tumor")
            raise AssertionError(f"block at row {int(unread)} held NaN/Inf when first read, not when read again")
        if copies is not None:
            copies.refuse(rows, ranks)
            copies = None  # a second pass (another scale) reads the same rows
        moments.merge_ranks(ranks)
        scale = _scale_from_evidence(min_arrays_over_ranks(evidence, ranks)) if pp.input_scale == "auto" else guess
        if scale == guess:
            if np.isfinite(untransformed):
                start = int(untransformed)
                to_log2(block_at(start), guess, _Names(rows, start, min(start + block_rows, rows.n)), "tumor")
                raise AssertionError(f"block at row {start} was refused as {guess} values once, not when read again")
            break
        logger.info("the first block looked like %s values but the whole file is %s; reading it again", guess, scale)
        guess = scale
    if pp.input_scale == "auto" and normal is not None and detect_scale(normal.values) != scale:
        raise InputError(f"tumors look like {scale} values but normals like {detect_scale(normal.values)}")
    if pp.input_scale == "auto" and scale == "linear":
        warn_if_count_like(block_at(0), "tumor")  # the first block tells, as the guess does
    std = np.sqrt(moments.m2 / max(moments.n, 1))
    return pp.choose_genes(scale, moments.mean, std, genes, named_genes=True)


class _NormalCopies:
    """Tumors on disk that are also among the normals (`twinpurify.data.NormalProfiles`), found block by block.

    Each rank counts what it found and keeps its first PREVIEW finds; `refuse` merges them by one sum over a
    few numbers per rank (not one per row: a compendium may have millions), so every rank raises the same
    error."""

    def __init__(self, normal: Matrix, genes: list[str]):
        self.normal = normal
        self.cols = pd.Index(normal.genes).get_indexer(genes)
        self.profiles: Optional[NormalProfiles] = None  # built at the first block, in its dtype
        self.count = 0
        self.first: list[tuple[int, int]] = []  # (tumor row in the file's tumors, normal row), in row order

    def add_block(self, block: np.ndarray, rows: RowSource, start: int, stop: int) -> None:
        if self.profiles is None:
            self.profiles = NormalProfiles(self.normal, self.cols, block.dtype)
        found = self.profiles.matches(block, rows.samples(start, stop))
        self.count += len(found)
        self.first += [(start + i, j) for i, j in found[: PREVIEW - len(self.first)]]

    def refuse(self, rows: RowSource, ranks: Ranks) -> None:
        slots = np.zeros((ranks.world_size, PREVIEW + 1, 2))  # per rank: [count, 0], then (row + 1, normal + 1)
        slots[ranks.rank, 0, 0] = self.count
        for k, (i, j) in enumerate(self.first):
            slots[ranks.rank, k + 1] = (i + 1, j + 1)
        merged = sum_arrays_over_ranks(slots.ravel(), ranks).reshape(slots.shape)
        total = int(merged[:, 0, 0].sum())
        if total:
            firsts = sorted((int(i) - 1, int(j) - 1) for i, j in merged[:, 1:].reshape(-1, 2) if i > 0)
            shown = [(rows.samples(i, i + 1)[0], self.normal.samples[j]) for i, j in firsts[:PREVIEW]]
            refuse_same_samples(shown, total=total)


# ---- batches streamed to the training loop ------------------------------------------------------
class StreamBatches:
    """`twinpurify.train.Batches` read from disk: each epoch a fresh block order, rows shuffled per window.

    An epoch is one pass over the tumors, as in memory: each rank reads each of its blocks at most once and each
    row is in at most one batch. Each rank yields exactly `schedule.steps_per_epoch` batches, the same number of
    rows on every rank at each step (the global batch's contract): ``batch_size // world_size`` rows, then a
    last batch of the rows left, but no more than memory's last global batch split among the ranks,
    ``(n - (steps - 1) * batch_size) // world_size`` (on one process the rows left: ``n % batch_size`` rows, as
    in memory, or a full batch with a lone leftover row added rather than skipped). The blocks are of equal size
    (within a row), as many on every rank, and the larger ones are dealt round-robin first, so every rank holds
    ``n // world_size`` rows or one more. On several ranks each step leaves the ``batch_size % world_size`` rows
    the global batch cannot split unused, as in memory, so a rank leaves at most
    ``ceil((steps - 1) * (batch_size % world_size) / world_size) + 1`` rows of its share out of this epoch's
    batches (none on one process); the rows left out are other rows the next epoch (the blocks are dealt and
    read in a fresh order and the rows shuffled each epoch), and blocks no batch needs any more are not read.
    A schedule with more steps than ``n // world_size`` rows (not one from `auto_schedule`) is refused with a
    ValueError naming batch_size and world_size. `block_rows` is the most rows a block holds.

    `prepare(values, start, stop)` turns a block of file values into rows on the host (in the reader thread);
    `finish` completes a batch on the device (TwinPurify: log2 to linear, where a GPU does it at memory speed
    and a host thread would be the bottleneck at 20,000 genes). `wait_s` accumulates the time the loop waited
    for data.
    """

    def __init__(
        self,
        rows: RowSource,
        prepare: Callable[[np.ndarray, int, int], np.ndarray],
        schedule: Schedule,
        seed: int,
        device: torch.device,
        ranks: Optional[Ranks] = None,
        block_rows: int = 2048,
        window_blocks: int = 4,
        prefetch: int = 4,
        finish: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
    ):
        self.rows, self.prepare, self.schedule, self.seed, self.device = rows, prepare, schedule, seed, device
        self.finish = finish
        self.ranks = ranks or current_ranks()
        w = self.ranks.world_size
        self.block_rows = max(1, min(block_rows, rows.n // w))
        n_blocks = -(-rows.n // self.block_rows)  # each block at most block_rows rows ...
        n_blocks = w * -(-n_blocks // w)  # ... and as many on every rank
        if n_blocks > rows.n:  # fewer rows than that: a row or more a block, still as many blocks on every rank
            n_blocks = w * max(1, rows.n // w)
        self.bounds = (np.arange(n_blocks + 1) * rows.n) // n_blocks  # block b: rows bounds[b]..bounds[b + 1]
        self.window_blocks, self.prefetch = max(1, window_blocks), prefetch
        self.share = schedule.batch_size // w
        self.sizes = self._sizes(rows.n // w)  # the blocks are dealt so that the smallest share is n // w rows
        self.epochs_done, self.wait_s = 0, 0.0

    def _sizes(self, fewest: int) -> list[int]:
        """Rows of each of the epoch's batches on every rank, when the smallest share of the epoch is `fewest`."""
        steps, share, w = self.schedule.steps_per_epoch, self.share, self.ranks.world_size
        # the last batch: the rows left after the full ones, but no more than the rows memory's last global batch
        # holds, split among the ranks (on one process both are the rows left)
        last = min(fewest - (steps - 1) * share, max(1, (self.rows.n - (steps - 1) * self.schedule.batch_size) // w))
        if last >= 1:
            sizes = [share] * (steps - 1) + [last]
        else:  # the smallest share cannot fill the full batches (a schedule not from auto_schedule): even parts
            sizes = [len(part) for part in np.array_split(np.arange(fewest), steps)]
        if min(sizes) < 1:
            raise ValueError(
                f"batch_size={self.schedule.batch_size}, world_size={w}: {steps} steps an epoch need a row of each "
                f"rank a step, and the smallest rank share is {fewest} of the {self.rows.n} rows"
            )
        return sizes

    def _parts(self, carry: Optional[np.ndarray], window: np.ndarray) -> Iterator[np.ndarray]:
        """The rows left from the last window, then each block of this one, prepared (one block in memory)."""
        if carry is not None and len(carry):
            yield carry
        for b in window:
            lo, hi = int(self.bounds[b]), int(self.bounds[b + 1])
            yield self.prepare(self.rows.read(lo, hi), lo, hi)

    def _produce(self, epoch: int) -> Iterator[torch.Tensor]:
        w, r = self.ranks.world_size, self.ranks.rank
        lengths, sizes = np.diff(self.bounds), self.sizes
        # blocks hold q or q + 1 rows: the larger ones are dealt round-robin first, then the others, each kind
        # in a fresh order (alike on every rank), so rank shares differ by a row at most and the smallest is n // w
        deal = np.random.default_rng([self.seed, epoch])
        larger = lengths > lengths.min()
        order = np.concatenate([deal.permutation(np.flatnonzero(larger)), deal.permutation(np.flatnonzero(~larger))])
        shuffle = np.random.default_rng([self.seed, epoch, r, 1])
        mine = shuffle.permutation(order[r::w])  # read in a fresh order, the larger blocks not first
        carry: Optional[np.ndarray] = None
        step = 0
        for pos in range(0, len(mine), self.window_blocks):  # each block once: no block read twice an epoch
            if step == len(sizes):  # the epoch's batches are out: the blocks left are not read
                break
            window = mine[pos : pos + self.window_blocks]
            total = (0 if carry is None else len(carry)) + int(lengths[window].sum())
            dest = shuffle.permutation(total)  # where each row of the window lands: shuffled in place
            buf: Optional[np.ndarray] = None
            off = 0
            for part in self._parts(carry, window):
                if buf is None:
                    buf = np.empty((len(dest), part.shape[1]), np.float32)
                buf[dest[off : off + len(part)]] = part
                off += len(part)
            assert buf is not None
            off = 0
            while step < len(sizes) and off + sizes[step] <= len(buf):
                # copies: the window's buffer is freed once its batches are queued
                t = torch.from_numpy(buf[off : off + sizes[step]].copy())
                yield t.pin_memory() if self.device.type == "cuda" else t
                off += sizes[step]
                step += 1
            carry = buf[off:].copy()  # into the next window; past the last batch, rows left out of this epoch
            del buf
        if step < len(sizes):  # pragma: no cover - the sizes add up to at most the smallest share, n // w
            raise RuntimeError(f"rank {r} ran out of rows at step {step + 1} of {len(sizes)}")

    def epoch(self) -> Iterator[torch.Tensor]:
        epoch, self.epochs_done = self.epochs_done, self.epochs_done + 1
        stream = prefetched(self._produce(epoch), self.prefetch)
        while True:
            t0 = time.perf_counter()
            batch = next(stream, None)
            self.wait_s += time.perf_counter() - t0
            if batch is None:
                return
            batch = batch.to(self.device, non_blocking=True)
            yield batch if self.finish is None else self.finish(batch)


# ---- the estimator-level entry points -----------------------------------------------------------
def _check_counts(**values: Any) -> None:
    """Block sizes and counts are positive whole numbers, refused by name (before: a range() traceback, a message
    about the scale, an empty AssertionError)."""
    from .params import ParameterError

    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ParameterError(f"{name} must be a positive whole number, got {value!r}")


def _open(tumors: Any, layer: Optional[str]) -> RowSource:
    if isinstance(tumors, RowSource):  # already opened
        return tumors
    if not is_on_disk(tumors):
        raise InputError(f"{tumors}: out-of-core input must be an .h5ad file, a .zarr store or a .parquet table")
    return open_rows(tumors, layer=layer)


def _split(rows: RowSource, normal: Any, normal_key: Optional[str], normal_value: Any) -> tuple[RowSource, Matrix]:
    """The tumors (on disk) and the normals (in memory) from a normals table, or from an obs column."""
    if normal is not None and normal_key is not None:  # as `fit` refuses it: neither is ignored
        raise InputError("give the normals either as `normal` or through `normal_key`, not both")
    if normal is not None:
        if isinstance(normal, (str, Path)):
            from .io import read_table

            normal = read_table(normal)
        return rows, as_matrix(normal, "normal")
    if normal_key is None:
        raise InputError("give the normals (normal=...) or the obs column that marks them (normal_key=...)")
    is_normal = _normal_rows(rows, normal_key, normal_value)
    nidx = np.flatnonzero(is_normal)
    nrows = rows.subset(nidx)
    values = nrows.read(0, nrows.n)
    normals = Matrix(values, nrows.samples(0, nrows.n), rows.genes, named_genes=True, frame=True)
    nrows.close()
    return rows.subset(np.flatnonzero(~is_normal)), normals


def tumor_rows(source: Any, normal_key: Optional[str], normal_value: Any, layer: Optional[str] = None) -> RowSource:
    """The tumors of an on-disk cohort, opened: all its rows, or with `normal_key` those its obs column does not mark
    as normals (what `fit_on_disk` trains on). The caller closes them."""
    rows = _open(source, layer)
    if normal_key is None:
        return rows
    try:
        return rows.subset(np.flatnonzero(~_normal_rows(rows, normal_key, normal_value)))
    finally:
        if not isinstance(source, RowSource):  # a source the caller opened stays open
            rows.close()


def _normal_rows(rows: RowSource, normal_key: str, normal_value: Any) -> np.ndarray:
    """The mask of the rows an obs column marks as normals; unlabelled rows or no normal at all are refused."""
    labels = rows.obs_column(normal_key)
    # the files' rows name every file row (`obs_column`'s rows); a RowSource of the caller's own need not say
    names = getattr(rows, "obs_names", None) or (lambda: rows.samples(0, rows.n))
    refuse_unlabelled(labels, names, normal_key, where=f"{rows.path}: ")
    return normals_marked(labels, normal_key, normal_value, where=f"{rows.path}: ")


def fit_on_disk(
    model: Any,
    tumors: Any,
    normal: Any = None,
    *,
    normal_key: Optional[str] = None,
    normal_value: Any = "normal",
    layer: Optional[str] = None,
    block_rows: int = 2048,
    window_blocks: int = 4,
    prefetch: int = 4,
) -> Any:
    """Fit a `TwinPurify` on tumors read from .h5ad, .zarr or .parquet in blocks; memory holds no tumor's genes but
    the current blocks'.

    Parameters
    ----------
    model : TwinPurify
        An unfitted estimator; ``encoder_input`` "log" or "pca" (the latter with one more pass over the file
        and at most `twinpurify.invariance.MAX_GRAM_GENES` genes) and ``content_weight=0`` are supported.
        With ``drop_mixing_dims`` > 0 (the default) or ``n_networks`` > 1 one more pass after training
        embeds each tumor and 8 mixed views of it (`twinpurify.rotation`).
    tumors : path to .h5ad, .zarr or .parquet, or an opened `twinpurify.ondisk.RowSource`
        The tumors; with `normal_key`, all samples, the normals marked in an obs column.
    normal : DataFrame, AnnData, array or path to a table, optional
        The normals, held in memory (the views mix them on the device).
    normal_key, normal_value : str
        The obs column and value that mark normals inside `tumors` (refused together with `normal`).
    block_rows, window_blocks, prefetch : int
        Rows read at a time, blocks shuffled together, batches kept ready ahead of the device.

    Returns
    -------
    model, fitted, with its gene-space readout; ``model.stream_scan_s_`` is the time of the passes besides
    training (statistics, the PCA front's covariance, the last layer's, the readout's three) and
    ``model.stream_wait_s_`` how long the training loop waited for data, in seconds.

    Under torch.distributed, every rank calls this with the same arguments; statistics are merged
    across ranks and each rank reads only its blocks.
    """
    model._validate_params()
    _check_counts(block_rows=block_rows, window_blocks=window_blocks, prefetch=prefetch)
    if model.encoder_input not in ("log", "pca") or float(model.content_weight) > 0:
        raise InputError(
            f"out-of-core fitting supports encoder_input 'log' or 'pca' with content_weight=0, got "
            f"encoder_input={model.encoder_input!r}, content_weight={model.content_weight}"
        )
    if int(model.n_components) < 1:
        raise ValueError(f"n_components must be positive, got {model.n_components}")
    ranks = current_ranks()
    owned = not isinstance(tumors, RowSource)  # a source the caller opened stays open, as in transform_on_disk
    source: Optional[RowSource] = None
    rows: Optional[RowSource] = None
    try:  # from here on a failure forgets any earlier fit: the model is never half of one fit and half of another
        model._prepare()  # a device this machine lacks is refused now, not after the statistics pass
        source = _open(tumors, layer)
        # before any pass, as in memory: the tumors' embedding (CLI --embedding) is named by sample
        _check_unique(source.samples(0, source.n), str(source.path), "sample")
        rows, normals = _split(source, normal, normal_key, normal_value)
        return _fit_streamed(model, rows, normals, ranks, block_rows, window_blocks, prefetch)
    except BaseException:
        model._forget_fit()
        raise
    finally:
        if rows is not None and rows is not source:  # the tumors of an obs-marked cohort: a subset, opened anew
            rows.close()
        if owned and source is not None:
            source.close()


def _fit_streamed(
    model: Any, rows: RowSource, normals: Matrix, ranks: Ranks, block_rows: int, window_blocks: int, prefetch: int
) -> Any:
    """`fit_on_disk` once the file is open and the normals split off (the caller forgets the fit on failure)."""
    from .augment import ViewConfig, ViewGenerator
    from .objective import TwinPurifyObjective

    shared = match_genes(rows.genes, normals.genes)  # as an in-memory fit judges them
    if rows.n < 4 or normals.shape[0] < 2:
        raise InputError(f"need at least 4 tumors and 2 normals, got {rows.n} and {normals.shape[0]}")
    selected = len(shared) if model.n_genes is None else min(int(model.n_genes), len(shared))
    if model.encoder_input == "pca" and selected > MAX_GRAM_GENES:  # before any pass over the file
        raise InputError(
            f"out-of-core encoder_input='pca' sums a genes x genes covariance and takes at most {MAX_GRAM_GENES} "
            f"genes; this fit would select {selected}: set n_genes (default 3000)"
        )
    cols = pd.Index(rows.genes).get_indexer(shared)
    pp = Preprocessor(model.input_scale, model.n_genes, model.fill_missing)
    t0 = time.perf_counter()
    model._record_fit_params()  # as `_fit_matrices` does in memory: names, width and save read these
    model.readout_ = None  # until the last pass fits it
    model.preprocessor_ = fit_preprocessor(pp, rows, cols, shared, normals, block_rows, ranks)
    model.stream_scan_s_ = time.perf_counter() - t0
    model.n_features_in_ = len(shared)
    model.feature_names_in_ = np.asarray(shared, dtype=object)
    model.genes_ = list(pp.genes_)
    model._restored_head = None

    # the objective TwinPurify._fit_values builds without a content head (encoder_input 'log' or 'pca')
    dev = model._prepare()
    n_log = pp.log_expression(normals, "normal")
    normal_log, mean, std = (torch.from_numpy(a).to(dev) for a in (n_log, pp.mean_, pp.std_))
    config = ViewConfig(model.beta_max, int(model.n_mix), model.mask_prob, model.noise_std)
    objective = TwinPurifyObjective(
        ViewGenerator(normal_log, mean, std, config),
        lambd=float(model.lambd),
        invariance_weight=float(model.invariance_weight),
        clean_anchor=bool(model.clean_anchor),
    )

    def prepare(values: np.ndarray, start: int, stop: int) -> np.ndarray:
        m = Matrix(values, [], rows.genes, named_genes=True)  # names read only if an error message needs them
        return pp.log_expression(m, "tumor", samples=_Names(rows, start, stop))

    def pca_front() -> tuple[torch.Tensor, torch.Tensor]:
        """A second pass: the tumors' covariance, summed over blocks and ranks (encoder_input='pca')."""
        t1 = time.perf_counter()
        sums = CovarianceSums(len(pp.genes_))
        for start, stop in _blocks(rows.n, block_rows, ranks):
            sums.add_block(pp.standardize(prepare(rows.read(start, stop), start, stop)))
        _sum_over_ranks(sums, ranks)
        mean = sums.mean
        front = fixed_front(*sums.directions(model._width), mean)
        model.stream_scan_s_ += time.perf_counter() - t1
        return front

    from .train import auto_schedule

    schedule = auto_schedule(rows.n, model.batch_size, model.max_epochs, world_size=ranks.world_size)
    batches = StreamBatches(
        rows,
        prepare,
        schedule,
        shared_seed(model.random_state, dev),
        dev,
        ranks,
        block_rows,
        window_blocks,
        prefetch,
        finish=torch.exp2_,  # in place: the objective takes linear-space tumors
    )
    module = model._build_with_front(len(pp.genes_), pca_front() if model.encoder_input == "pca" else None)
    module = module.to(dev)
    model._train(module, batches, objective, "TwinPurify (streamed)", n_samples=rows.n)
    if module.output is not None:  # one more pass: how mixing moves each tumor's embedding
        t2 = time.perf_counter()
        blocks = (
            torch.from_numpy(prepare(rows.read(start, stop), start, stop)).to(dev).exp2_()
            for start, stop in _blocks(rows.n, block_rows, ranks)
        )
        model._set_output(module, blocks, objective.views.mixing_only())
        model.stream_scan_s_ += time.perf_counter() - t2
    t3 = time.perf_counter()  # three more passes: the readout, as an in-memory fit has one

    def readout_blocks() -> Iterator[tuple[int, np.ndarray]]:
        for start, stop in _blocks(rows.n, block_rows, ranks):
            yield start, pp.standardize(prepare(rows.read(start, stop), start, stop))

    model._fit_readout_blocks(
        readout_blocks,
        rows.n,
        pp.transform(normals, "normal"),
        reduce=lambda a: sum_arrays_over_ranks(a, ranks),
        lead=lambda a: lead_array(a, ranks),
    )
    model.stream_scan_s_ += time.perf_counter() - t3
    model.stream_wait_s_ = batches.wait_s
    return model


def transform_on_disk(
    model: Any,
    source: Any,
    output: Any,
    *,
    fill_missing: Optional[str] = None,
    layer: Optional[str] = None,
    block_rows: int = 4096,
    overwrite: bool = False,
) -> Path:
    """Embed every sample of an .h5ad, .zarr or .parquet input into `output` (.h5ad, .parquet, .csv/.tsv) by blocks.

    Gene matching and the fill policy are those of `transform`; the output file is written beside its
    target and renamed into place when complete. An existing `output` is replaced only with
    `overwrite`, and never when it is the input itself (which is read while the output is written).
    In a distributed job, call it from one rank (the CLI uses rank 0).
    """
    from .io import _kind, atomic_path

    _check_counts(block_rows=block_rows)
    model._check_fitted()
    out = Path(output)
    kind = _kind(out)
    if out.resolve() == Path(source.path if isinstance(source, RowSource) else source).resolve():
        raise InputError(f"{out}: the output would replace the input it is read from; choose another file")
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists; pass overwrite=True to replace it")
    rows = _open(source, layer)
    columns = model.component_names()
    try:
        every = rows.samples(0, rows.n)  # one string per sample, read once: checked here, then names the blocks
        _check_unique(every, str(rows.path), "sample")  # before any work: the output is named by sample
        with atomic_path(out) as tmp:
            writer = _writer(kind, tmp, rows.n, columns, out.name.endswith(".gz"))
            try:
                spans = [(s, min(s + block_rows, rows.n)) for s in range(0, rows.n, block_rows)]
                blocks = ((rows.read(s, e), every[s:e]) for s, e in spans)
                for values, names in prefetched(blocks, 2):  # the next block is read while this one is embedded
                    frame = Matrix(values, names, rows.genes, named_genes=True, frame=True)
                    writer(model._output(frame, fill_missing))
            finally:
                writer(None)
    finally:
        if rows is not source:  # opened here: close it (a caller's open source stays open)
            rows.close()
    return out


def _writer(kind: str, path: Path, n: int, columns: list[str], gz: bool) -> Callable[[Optional[pd.DataFrame]], None]:
    """A sink taking DataFrame blocks in order (None closes it)."""
    if kind == "h5ad":
        from .ondisk import H5adWriter

        h5 = H5adWriter(path, n, columns, overwrite=True)  # `path` is the temporary file atomic_path made

        def to_h5ad(df: Optional[pd.DataFrame]) -> None:
            if df is None:
                h5.close()
            else:
                h5.write(df.to_numpy(np.float32), list(df.index))

        return to_h5ad
    if kind == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        state: dict[str, Any] = {}

        def to_parquet(df: Optional[pd.DataFrame]) -> None:
            if df is None:
                if "w" in state:
                    state["w"].close()
                return
            table = pa.Table.from_pandas(df, preserve_index=True)
            if "w" not in state:
                state["w"] = pq.ParquetWriter(path, table.schema)
            state["w"].write_table(table)

        return to_parquet
    sep = "\t" if kind == "tsv" else ","
    first = [True]

    def to_text(df: Optional[pd.DataFrame]) -> None:
        if df is not None:
            df.to_csv(path, sep=sep, mode="w" if first[0] else "a", header=first[0], compression="gzip" if gz else None)
            first[0] = False

    return to_text
