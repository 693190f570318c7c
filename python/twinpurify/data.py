"""Input coercion, validation and preprocessing shared by TwinPurify and its baselines.

Everything that touches user data goes through here, so every method sees the same genes, the same
log scale and the same standardisation, and every bad input gets one clear error naming the culprit.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Optional, Union

import numpy as np
import pandas as pd

from .settings import warn_user

logger = logging.getLogger("twinpurify")

INPUT_SCALES = ("auto", "counts", "log2", "linear")
#: fill_missing="mean" refuses inputs with fewer of the model's genes than this share
MIN_GENE_OVERLAP = 0.5
#: ... and warns when more than this share is filled
WARN_FILLED = 0.1
FILL_POLICIES = ("error", "mean")


class InputError(ValueError):
    """Raised for bad user input; the message names the offending samples or genes."""


class NonNumericInputError(InputError, TypeError):
    """Values that are not numbers (a TypeError too, as scikit-learn and NumPy raise for these)."""


PREVIEW = 5  # names an error message shows before "and N more"


def _preview(names: Sequence[Any], limit: int = PREVIEW) -> str:
    names = [str(n) for n in names]
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


@dataclass
class Matrix:
    """A samples x genes float matrix with its sample and gene names."""

    values: np.ndarray
    samples: list[str]
    genes: list[str]
    named_genes: bool = False  # True when gene names came from the user (DataFrame / AnnData)
    frame: bool = False  # True when the caller passed a DataFrame (results go back as DataFrames)
    obs: Optional[pd.DataFrame] = field(default=None, repr=False)
    float64: bool = False  # True when the caller passed float64 values (results keep that precision)
    #: the caller's own sample index (a DataFrame's index, an AnnData's obs_names), kept for output frames:
    #: `samples` holds its string form (for messages and checks), and integer patient IDs must stay integers
    index: Optional[pd.Index] = field(default=None, repr=False)

    def sample_index(self) -> pd.Index:
        """The index of output frames: the caller's own index, or the sample names."""
        return self.index if self.index is not None else pd.Index(self.samples)

    @property
    def shape(self) -> tuple[int, int]:
        return self.values.shape  # type: ignore[return-value]

    def subset(self, mask: np.ndarray) -> Matrix:
        idx = np.flatnonzero(mask)
        return Matrix(
            self.values[idx],
            [self.samples[i] for i in idx],
            self.genes,
            self.named_genes,
            self.frame,
            None if self.obs is None else self.obs.iloc[idx],
            self.float64,
            None if self.index is None else self.index[idx],
        )


def _is_anndata(x: Any) -> bool:
    return type(x).__name__ == "AnnData" and hasattr(x, "obs") and hasattr(x, "var_names")


def as_matrix(x: Any, what: str = "input", layer: Optional[str] = None) -> Matrix:
    """Turn numpy, pandas, scipy sparse or AnnData into a validated float32 `Matrix`."""
    import scipy.sparse as sp

    obs = None
    frame = False
    named = False
    index = None
    if x is None:
        raise InputError(f"{what}: no data given (None)")
    if _is_anndata(x):
        if layer is not None and layer not in x.layers:
            have = list(x.layers.keys())
            raise InputError(
                f"{what}: the AnnData has no layer {layer!r} "
                f"({'its layers: ' + _preview(have) if have else 'it has no layers'}); leave layer unset for .X"
            )
        data = x.layers[layer] if layer is not None else x.X
        if data is None:
            raise InputError(f"{what}: the AnnData has no expression matrix (X is None)")
        samples, genes, named, obs = list(map(str, x.obs_names)), list(map(str, x.var_names)), True, x.obs
        index = x.obs_names
    elif isinstance(x, pd.DataFrame):
        nonnum = [
            c
            for c, dt in zip(x.columns, x.dtypes)
            if not pd.api.types.is_numeric_dtype(dt) or pd.api.types.is_bool_dtype(dt)
        ]
        if nonnum:
            raise InputError(
                f"{what}: non-numeric columns {_preview(nonnum)}; expected samples as rows and only numeric "
                "gene columns (move sample annotations out, or set them as the index)"
            )
        nullable = any(pd.api.types.is_extension_array_dtype(dt) for dt in x.dtypes)  # Int64, Float64: pd.NA
        data, samples, genes, named, frame = (
            x.to_numpy(dtype=np.float64, na_value=np.nan) if nullable else x.to_numpy(),
            list(map(str, x.index)),
            list(map(str, x.columns)),
            True,
            True,
        )
        index = x.index
    else:  # numpy, sparse, lists and any other array-like (np.asarray decides)
        data = x
        samples = genes = []  # filled below
    if sp.issparse(data):
        data = data.toarray()
    try:
        arr = np.asarray(data)
    except (TypeError, ValueError) as exc:
        raise NonNumericInputError(f"{what}: cannot be read as a samples x genes matrix ({exc})") from None
    if np.iscomplexobj(arr):
        raise InputError(f"{what}: Complex data not supported; expression values are real numbers")
    try:
        if arr.dtype.kind not in "biuf":
            arr = arr.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise NonNumericInputError(f"{what}: values are not numeric ({exc})") from None
    if arr.dtype.kind == "b":
        raise InputError(f"{what}: values are boolean, expected numeric expression values")
    if arr.ndim != 2:
        raise InputError(
            f"{what}: expected a 2-D samples x genes matrix, got {arr.ndim} dimension(s). Reshape your data: "
            "X.reshape(1, -1) for a single sample, X.reshape(-1, 1) for a single gene"
        )
    if arr.shape[0] == 0:
        raise InputError(f"{what}: empty matrix: 0 sample(s) (shape={arr.shape}) while a minimum of 1 is required.")
    if arr.shape[1] == 0:
        raise InputError(f"{what}: empty matrix: 0 feature(s) (shape={arr.shape}) while a minimum of 1 is required.")
    if not samples:
        samples = [f"sample_{i}" for i in range(arr.shape[0])]
        genes = [f"gene_{j}" for j in range(arr.shape[1])]
    _check_unique(samples, what, "sample")
    _check_unique(genes, what, "gene")
    float64 = arr.dtype == np.float64
    values = arr.astype(np.float32, copy=False)
    _check_finite(values, samples, genes, what)
    return Matrix(values, samples, genes, named, frame, obs, float64, index)


def _check_unique(names: list[str], what: str, kind: str) -> None:
    s = pd.Series(names)
    dup = s[s.duplicated()].unique().tolist()
    if dup:
        raise InputError(f"{what}: duplicate {kind} names: {_preview(dup)}; {kind} names must be unique")


def _check_finite(values: np.ndarray, samples: list[str], genes: list[str], what: str) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        rows = np.flatnonzero(bad.any(axis=1))
        cols = np.flatnonzero(bad.any(axis=0))
        kind = "NaN" if np.isnan(values[bad]).any() else "Inf"
        raise InputError(
            f"{what}: {int(bad.sum())} missing or infinite values ({kind}) in samples "
            f"{_preview([samples[i] for i in rows])} and genes {_preview([genes[j] for j in cols])}; "
            "impute them or drop those genes first"
        )


def check_orientation(m: Matrix, what: str) -> None:
    """Catch genes-x-samples matrices: far more rows than columns, and few columns."""
    n, g = m.shape
    if n >= 2000 and g <= 1000 and n >= 5 * g:
        raise InputError(
            f"{what}: {n} rows x {g} columns looks like genes as rows and samples as columns; TwinPurify "
            "expects samples as rows. Pass the transpose (X.T), or set check_orientation=False if this "
            "really is a tall samples x genes matrix"
        )


def check_pair_orientation(tumor: Matrix, normal: Matrix) -> None:
    """Catch paired genes x samples input: unnamed tumors and normals with the same, larger row count.

    Paired cohorts have as many normals as tumors; given as genes x samples, both matrices then
    have one row per gene, more rows than columns and the same number of rows, which the
    single-matrix rule above cannot see for cohorts under 2,000 genes.
    """
    if tumor.named_genes or normal.named_genes:
        return
    (nt, gt), (nn, gn) = tumor.shape, normal.shape
    if nt == nn and nt > gt and nn > gn:
        raise InputError(
            f"tumor ({nt} x {gt}) and normal ({nn} x {gn}) have the same number of rows and more rows than "
            "columns: are genes in rows? TwinPurify expects samples as rows; pass the transposes, or set "
            "check_orientation=False if these really are samples x genes (more samples than genes)"
        )


def _row_numbers(names: set[str]) -> bool:
    """Names that are all whole numbers: the default index of frames built from arrays (shuffled or split)."""
    return all(n.isdigit() for n in names)


def _shared(genes: list[str], other: list[str]) -> list[str]:
    """`genes` that `other` has too, in `genes`' order (one set of `other`: linear, not quadratic, in genes)."""
    have = set(other)
    return [g for g in genes if g in have]


def align_pair(tumor: Matrix, normal: Matrix) -> tuple[Matrix, Matrix]:
    """Give tumors and normals the same gene columns, in the tumors' order.

    Sets that share most row names but few column names look transposed (genes in rows, each set's own
    samples in columns), as do sets sharing most row names that are not row numbers with more rows than
    columns (genes in rows, samples named by patient in both). Otherwise sets that share their columns may
    share row names: row numbers of frames built from arrays, or a paired design naming a tumor and its normal
    by the patient.
    """
    shared_rows = set(tumor.samples) & set(normal.samples)
    shared_cols = set(tumor.genes) & set(normal.genes)
    genes_in_rows = len(shared_cols) < 0.5 * min(len(tumor.genes), len(normal.genes)) or (
        tumor.shape[0] > tumor.shape[1] and normal.shape[0] > normal.shape[1] and not _row_numbers(shared_rows)
    )  # few shared columns, or more (named) rows than columns in both: genes x patient-named samples
    if (
        tumor.named_genes
        and normal.named_genes
        and genes_in_rows
        and len(shared_rows) >= 3
        and len(shared_rows) >= 0.5 * min(len(tumor.samples), len(normal.samples))
    ):
        raise InputError(
            f"tumor and normal share {len(shared_rows)} row names (e.g. {_preview(sorted(shared_rows), 3)}): "
            "are samples in columns and genes in rows? pass the transposes (samples as rows)"
        )
    if tumor.named_genes and normal.named_genes:
        if tumor.genes == normal.genes:
            return tumor, normal
        transposed = bool(shared_rows) or (tumor.shape[0] == normal.shape[0] and tumor.shape[1] != normal.shape[1])
        hint = " (the row names match: are samples in columns? pass the transpose)" if transposed else ""
        shared = match_genes(tumor.genes, normal.genes, hint)
        ti = pd.Index(tumor.genes).get_indexer(shared)
        ni = pd.Index(normal.genes).get_indexer(shared)
        return (
            replace(tumor, values=tumor.values[:, ti], genes=shared),
            replace(normal, values=normal.values[:, ni], genes=shared),
        )
    if tumor.shape[1] != normal.shape[1]:
        hint = ""
        if tumor.shape[0] == normal.shape[0]:
            hint = " (they have the same number of rows: are genes in rows? pass the transposes)"
        raise InputError(
            f"tumor has {tumor.shape[1]} genes but normal has {normal.shape[1]}; without gene names "
            f"the columns must match one to one{hint}"
        )
    return tumor, normal


def match_genes(tumor_genes: list[str], normal_genes: list[str], hint: str = "") -> list[str]:
    """The genes tumors and normals share, in the tumors' order, judged by `check_shared_genes`; none shared is
    refused naming examples of each (`hint` ends that message). What a fit in memory (`align_pair`, for named
    genes) and out of core (`twinpurify.streaming`) keep of two named gene sets."""
    shared = _shared(tumor_genes, normal_genes)
    if not shared:
        raise InputError(
            f"tumor and normal share no gene names (tumor genes e.g. {_preview(tumor_genes, 3)}; "
            f"normal genes e.g. {_preview(normal_genes, 3)}){hint}"
        )
    check_shared_genes(shared, tumor_genes, normal_genes)
    return shared


def check_shared_genes(shared: list[str], tumor_genes: list[str], normal_genes: list[str]) -> None:
    """Judge the genes tumors and normals share (a fit keeps those only): a note when they differ a little, a
    warning when more than WARN_FILLED of the tumors' genes are dropped, an error when the shared genes are under
    MIN_GENE_OVERLAP of the smaller set.

    Few shared genes mostly means two gene-ID systems (Ensembl IDs vs symbols, versioned IDs, another
    annotation release): a fit on the few left would run and be poor. The floor is `fill_missing`'s. It is
    taken of the smaller gene set, so that normals measured on a subset of the tumors' genes (protein-coding
    genes only, a targeted panel) are a warning, not a refusal: every one of their genes matched.
    """
    if len(shared) == len(tumor_genes) == len(normal_genes):
        return
    have = set(shared)
    tumor_only = [g for g in tumor_genes if g not in have]
    normal_only = [g for g in normal_genes if g not in have]
    dropped = f"{len(tumor_only)} tumor-only" + (f" (e.g. {_preview(tumor_only, 3)})" if tumor_only else "")
    dropped += f" and {len(normal_only)} normal-only" + (f" (e.g. {_preview(normal_only, 3)})" if normal_only else "")
    if len(shared) < MIN_GENE_OVERLAP * min(len(tumor_genes), len(normal_genes)):
        raise InputError(
            f"tumor and normal share only {len(shared)} of the tumors' {len(tumor_genes)} genes ({dropped}); a fit "
            f"needs at least {MIN_GENE_OVERLAP:.0%} of the smaller set shared: do both name genes the same way (the "
            "same IDs, versions and annotation)?"
        )
    if len(tumor_only) > WARN_FILLED * len(tumor_genes):
        warn_user(
            f"tumor and normal share {len(shared)} of the tumors' {len(tumor_genes)} genes; the fit uses those and "
            f"drops {dropped} genes: check both name genes the same way",
        )
    else:
        logger.info("using the %d genes shared by tumor and normal (%s dropped)", len(shared), dropped)


def column_mean_std(x: np.ndarray, block: Optional[int] = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and (population) std with float64 accumulators, a block of rows at a time.

    np.std(x, dtype=float64) on a whole matrix makes a float64 copy of it (twice the float32 input);
    this keeps the extra memory at one block of about 32 MiB.
    """
    n = x.shape[0]
    if block is None:
        block = max(1, (32 << 20) // (8 * max(1, x.shape[1])))
    s = np.zeros(x.shape[1])
    for i in range(0, n, block):
        s += x[i : i + block].sum(0, dtype=np.float64)
    mean = s / n
    ss = np.zeros(x.shape[1])
    for i in range(0, n, block):
        d = x[i : i + block].astype(np.float64) - mean
        ss += np.einsum("ij,ij->j", d, d)
    return mean, np.sqrt(ss / n)


def detect_scale(values: np.ndarray, block: int = 4096) -> str:
    """Guess counts / linear / log2 from every value (read in blocks of rows); the choice is logged.

    Negative values mean log data. Non-negative values that are all integers and reach above 20
    are counts (a log2 expression of 20 would be a million-fold); non-integer values above 100 are
    linear (TPM/FPKM-like); anything else is taken as log2.
    """
    vmin, vmax, integer = np.inf, -np.inf, True
    for i in range(0, values.shape[0], block):
        b = values[i : i + block]
        vmin, vmax = min(vmin, float(b.min())), max(vmax, float(b.max()))
        if integer:
            integer = bool(np.all(np.abs(b - np.round(b)) < 1e-6))
    if vmin < 0:
        return "log2"
    if integer and vmax > 20:
        return "counts"
    if not integer and vmax > 100:
        return "linear"
    return "log2"


def _refuse_negative(negative: np.ndarray, scale: str, samples: Sequence[str], what: str) -> None:
    """The error for samples (`negative`: a mask over them) with negative values on a non-negative scale."""
    if negative.any():
        raise InputError(
            f"{what}: negative values in samples {_preview([samples[i] for i in np.flatnonzero(negative)])} "
            f"but input_scale={scale!r} expects non-negative {scale}; use input_scale='log2' for log data"
        )


def library_sizes(values: np.ndarray, cols: Optional[np.ndarray], samples: Sequence[str], what: str) -> np.ndarray:
    """Each row's total over columns `cols` (None: every column) in float64, refusing negative values there.

    A block of rows at a time (about 32 MiB of float64): the columns of a whole cohort are not copied at once.
    """
    width = values.shape[1] if cols is None else len(cols)
    block = max(1, (32 << 20) // (8 * max(1, width)))
    total = np.empty(values.shape[0])
    negative = np.zeros(values.shape[0], dtype=bool)
    for i in range(0, values.shape[0], block):
        b = values[i : i + block] if cols is None else np.take(values[i : i + block], cols, axis=1)
        total[i : i + block] = b.sum(axis=1, dtype=np.float64)
        negative[i : i + block] = (b < 0).any(axis=1)
    _refuse_negative(negative, "counts", samples, what)
    return total


#: share of whole numbers among the non-zero values above which non-integer values taken as linear look like counts:
#: RSEM's expected counts are whole but for reads shared between genes, while TPM/FPKM values are whole by chance
COUNT_LIKE_WHOLE = 0.3


def warn_if_count_like(values: np.ndarray, what: str, block: int = 4096) -> None:
    """Warn when values detected as linear (non-integer, above 100) look like non-integer counts.

    Expected counts (TCGA's RSEM) are not all whole, so detection takes them for TPM/FPKM-like values and
    applies no library-size normalisation: each sample's depth then stays in every gene. Mostly whole
    non-zero values give them away; the warning says how to have them normalised as counts.
    """
    whole = nonzero = 0
    for i in range(0, values.shape[0], block):
        b = values[i : i + block]
        nz = b[b != 0]
        nonzero += nz.size
        whole += int(np.count_nonzero(np.abs(nz - np.round(nz)) < 1e-6))
    if nonzero and whole >= COUNT_LIKE_WHOLE * nonzero:
        warn_user(
            f"{what}: values were taken as linear (TPM/FPKM-like: log2(x + 1), no library-size normalisation), but "
            f"{whole / nonzero:.0%} of the non-zero values are whole numbers, as in non-integer counts such as "
            "RSEM expected counts; if they are counts, set input_scale='counts' (CLI --input-scale counts, R "
            'inputScale = "counts") to normalise each sample by its library size',
        )


SCALE_NOTES = {
    "counts": "integer counts -> log2(CPM + 1)",
    "linear": "non-negative linear values (TPM/FPKM-like) -> log2(x + 1)",
    "log2": "log-scale values, used as they are",
}


def to_log2(
    values: np.ndarray, scale: str, samples: Sequence[str], what: str, library: Optional[np.ndarray] = None
) -> np.ndarray:
    """Bring values to the log2 scale the model works in (float32).

    Counts become log2(CPM + 1). `library` holds each sample's total count when `values` are some of its genes
    only (the model's selected genes): CPM is per million of the sample's whole library, not of the columns at
    hand, or every gene would carry how much of the library the selected genes take (which tracks purity).
    """
    if scale == "log2":
        return values.astype(np.float32, copy=False)
    _refuse_negative((values < 0).any(axis=1), scale, samples, what)
    if scale == "counts":
        lib = (library_sizes(values, None, samples, what) if library is None else library).reshape(-1, 1)
        empty = np.flatnonzero(lib[:, 0] <= 0)
        if empty.size:
            raise InputError(f"{what}: samples with zero total counts: {_preview([samples[i] for i in empty])}")
        return np.log2(values / lib * 1e6 + 1.0).astype(np.float32)
    if scale == "linear":
        return np.log2(values.astype(np.float64) + 1.0).astype(np.float32)
    raise InputError(f"input_scale must be one of {INPUT_SCALES}, got {scale!r}")


@dataclass
class Preprocessor:
    """Log scale, gene selection and standardisation, fitted on the training tumors.

    Stored with every model so that `transform` on new samples repeats exactly what training saw.
    """

    input_scale: str = "auto"
    n_genes: Optional[int] = 3000
    fill_missing: str = "error"
    # fitted attributes: None until fit() sets them (typed as set, as scikit-learn does)
    scale_: str = None  # type: ignore[assignment]
    genes_in_: list[str] = None  # type: ignore[assignment]
    named_genes_: bool = False
    genes_: list[str] = None  # type: ignore[assignment]
    gene_index_: np.ndarray = None  # type: ignore[assignment]
    mean_: np.ndarray = None  # type: ignore[assignment]
    std_: np.ndarray = None  # type: ignore[assignment]
    #: the genes whose total is a count sample's library size: "input" = the genes the model was fitted on
    #: (`genes_in_`) that the input has; "selected" = the selected genes only, as model folders saved before
    #: library sizes covered every input gene (config.json without ``preprocessor.library_``) were trained
    library_: str = "input"

    def fit(self, tumor: Matrix, normal: Optional[Matrix] = None) -> Preprocessor:
        if self.input_scale not in INPUT_SCALES:
            raise InputError(f"input_scale must be one of {INPUT_SCALES}, got {self.input_scale!r}")
        if self.fill_missing not in FILL_POLICIES:
            raise InputError(f"fill_missing must be one of {FILL_POLICIES}, got {self.fill_missing!r}")
        if self.input_scale == "auto":
            self.scale_ = detect_scale(tumor.values)
            if normal is not None:
                other = detect_scale(normal.values)
                if other != self.scale_:
                    raise InputError(
                        f"tumors look like {SCALE_NOTES[self.scale_].split(' ->')[0]} but normals look like "
                        f"{SCALE_NOTES[other].split(' ->')[0]}; bring both to one scale, or set input_scale "
                        "if they really share one"
                    )
            logger.info("input_scale='auto' detected %s; set input_scale to override", SCALE_NOTES[self.scale_])
            if self.scale_ == "linear":
                warn_if_count_like(tumor.values, "tumor")
        else:
            self.scale_ = self.input_scale
        logt = to_log2(tumor.values, self.scale_, tumor.samples, "tumor")
        mean_all, std = column_mean_std(logt)
        return self.choose_genes(self.scale_, mean_all, std, list(tumor.genes), tumor.named_genes)

    def choose_genes(
        self, scale: str, mean: np.ndarray, std: np.ndarray, genes: list[str], named_genes: bool
    ) -> Preprocessor:
        """The fit from per-gene log2 statistics: drop constant genes, keep the `n_genes` most variable.

        Shared by `fit` (statistics of a matrix in memory) and the streamed fit of
        `twinpurify.streaming` (statistics merged over blocks and ranks).
        """
        zero = std <= 1e-8
        if zero.all():
            raise InputError("tumor: every gene has zero variance across the tumors; nothing to learn from")
        if zero.any():
            dropped = [genes[j] for j in np.flatnonzero(zero)]
            logger.warning("dropping %d zero-variance genes: %s", len(dropped), _preview(dropped))
        candidates = np.flatnonzero(~zero)
        k = len(candidates) if self.n_genes is None else min(int(self.n_genes), len(candidates))
        if k < 2:
            raise InputError(f"n_genes must leave at least 2 genes, got {k} ({k} feature(s) usable)")
        order = np.argsort(-std[candidates], kind="stable")[:k]
        idx = np.sort(candidates[order])
        self.scale_ = scale
        self.library_ = "input"
        self.genes_in_ = list(genes)
        self.named_genes_ = named_genes
        self.gene_index_ = idx
        self.genes_ = [genes[j] for j in idx]
        self.mean_ = mean[idx].astype(np.float32)
        self.std_ = np.maximum(std[idx], 1e-6).astype(np.float32)
        return self

    def select(self, m: Matrix, what: str = "input", fill_missing: Optional[str] = None) -> np.ndarray:
        """Columns of the model's genes from `m`, still on its input scale; missing genes per fill policy."""
        policy = fill_missing or self.fill_missing
        if policy not in FILL_POLICIES:
            raise InputError(f"fill_missing must be one of {FILL_POLICIES}, got {policy!r}")
        if self.genes_ is None:
            raise RuntimeError("Preprocessor is not fitted")
        if self.named_genes_ and m.named_genes:
            pos = pd.Index(m.genes).get_indexer(self.genes_)
            missing = [g for g, p in zip(self.genes_, pos) if p < 0]
            if missing and policy == "mean":
                share = 1 - len(missing) / len(self.genes_)
                if share < MIN_GENE_OVERLAP:
                    raise InputError(
                        f"{what}: only {len(self.genes_) - len(missing)} of the model's {len(self.genes_)} genes "
                        f"({share:.0%}) are present; fill_missing='mean' needs at least {MIN_GENE_OVERLAP:.0%} "
                        f"(filled genes carry no information; missing e.g. {_preview(missing)})"
                    )
                if len(missing) > WARN_FILLED * len(self.genes_):
                    warn_user(
                        f"{what}: {len(missing)} of the model's {len(self.genes_)} genes are missing and "
                        "filled with the training mean; the embedding is less reliable",
                    )
            if missing and policy == "error":
                raise InputError(
                    f"{what}: {len(missing)} of the model's {len(self.genes_)} genes are missing: {_preview(missing)}; "
                    "supply them, or set fill_missing='mean' to fill them with the training mean"
                )
            out = np.empty((m.shape[0], len(self.genes_)), dtype=np.float32)
            ok = pos >= 0
            out[:, ok] = m.values[:, pos[ok]]
            return out if ok.all() else self._fill(out, ~ok)
        if m.shape[1] != len(self.genes_in_):
            raise InputError(
                f"{what}: has {m.shape[1]} genes (columns) but the model was fitted on {len(self.genes_in_)}; "
                "without gene names the columns must be the training columns in the same order"
            )
        # np.take, not m.values[:, idx]: fancy indexing of columns returns a column-major array, and
        # training gathers rows of it (a strided gather per batch, 2.5 ms of a 35 ms step at 10k tumors)
        return np.take(m.values, self.gene_index_, axis=1)

    def _fill(self, out: np.ndarray, missing: np.ndarray) -> np.ndarray:
        # Missing genes get the training mean on the log scale, i.e. 0 after standardisation; the
        # scale conversion of a sample must therefore skip them (marked as NaN until standardise).
        out[:, missing] = np.nan
        return out

    def library(self, m: Matrix, what: str = "input", samples: Optional[Sequence[str]] = None) -> Optional[np.ndarray]:
        """Count input: each sample's library size, its total over the genes the model was fitted on that `m` has.

        Training tumors and normals have every one of them (`genes_in_` are the genes they share), so their
        CPM is per million of all their genes, as the gene statistics were computed. A new cohort's genes the
        model never saw are left out, so extra genes do not shrink its CPM; training genes it lacks are left
        out too, and a warning says so when more than a tenth are missing (its CPM then runs higher than the
        training tumors'). None for input that is not counts, and for model folders saved before this normalisation
        (``library_ == "selected"``: their networks were trained on counts per million of the selected genes).
        """
        if self.scale_ != "counts" or self.library_ == "selected":
            return None
        names = m.samples if samples is None else samples
        if not (self.named_genes_ and m.named_genes) or m.genes == self.genes_in_:
            return library_sizes(m.values, None, names, what)
        pos = pd.Index(m.genes).get_indexer(self.genes_in_)
        lacking = int((pos < 0).sum())
        if lacking > WARN_FILLED * len(self.genes_in_):
            warn_user(
                f"{what}: {lacking} of the {len(self.genes_in_)} genes the model was fitted on are missing "
                f"(e.g. {_preview([g for g, p in zip(self.genes_in_, pos) if p < 0], 3)}); library sizes are the "
                "total counts of the genes present, so counts per million run higher than in training: give "
                "every gene measured",
            )
        return library_sizes(m.values, np.sort(pos[pos >= 0]), names, what)

    def log_expression(
        self,
        m: Matrix,
        what: str = "input",
        fill_missing: Optional[str] = None,
        samples: Optional[Sequence[str]] = None,
    ) -> np.ndarray:
        """log2 values of the model's genes in `m` (not standardised); count input as log2 CPM of the whole library.

        Genes filled with ``fill_missing="mean"`` get the training mean of log2 values; for counts the other
        genes are per million of the library of the genes present (see `library`), as for any missing gene.
        `samples` names the rows in error messages when `m` does not (a block read from disk)."""
        names = m.samples if samples is None else samples
        selected = self.select(m, what, fill_missing)
        return self.log2(selected, names, what, self.library(m, what, names))

    def log2(
        self, selected: np.ndarray, samples: Sequence[str], what: str = "input", library: Optional[np.ndarray] = None
    ) -> np.ndarray:
        """`selected` (from `select`) on the log2 scale; count input per million of `library` (see `library`).

        Genes `select` filled (NaN) get the training mean `mean_`; the others' counts are per million of
        `library`, the total of the genes present, which a filled gene is not part of."""
        nan = np.isnan(selected)
        if not nan.any():
            return to_log2(selected, self.scale_, samples, what, library)
        if self.scale_ == "counts" and library is None:  # a model folder saved before library sizes (see `library`)
            raise InputError(
                f"{what}: fill_missing='mean' cannot be used with count input on a model saved before library "
                "sizes covered every input gene (its library is the total of its selected genes, which a missing "
                "gene would change); give every selected gene, or refit the model"
            )
        vals = to_log2(np.where(nan, 0.0, selected).astype(np.float32), self.scale_, samples, what, library)
        return np.where(nan, self.mean_[None, :], vals).astype(np.float32)

    def standardize(self, logx: np.ndarray) -> np.ndarray:
        return ((logx - self.mean_) / self.std_).astype(np.float32)

    def transform(self, m: Matrix, what: str = "input", fill_missing: Optional[str] = None) -> np.ndarray:
        """Standardised log2 values of the model's genes: what the encoders take."""
        return self.standardize(self.log_expression(m, what, fill_missing))

    # -- persistence (JSON config + arrays; no pickle) --
    def to_config(self) -> dict:
        return {
            "input_scale": self.input_scale,
            "n_genes": self.n_genes,
            "fill_missing": self.fill_missing,
            "scale_": self.scale_,
            "genes_in_": self.genes_in_,
            "named_genes_": self.named_genes_,
            "genes_": self.genes_,
            "library_": self.library_,
        }

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "preprocessor.mean": self.mean_,
            "preprocessor.std": self.std_,
            "preprocessor.gene_index": self.gene_index_.astype(np.int64),
        }

    @classmethod
    def from_config(cls, cfg: dict, arrays: dict[str, np.ndarray]) -> Preprocessor:
        p = cls(input_scale=cfg["input_scale"], n_genes=cfg["n_genes"], fill_missing=cfg["fill_missing"])
        p.scale_, p.genes_in_, p.named_genes_, p.genes_ = (
            cfg["scale_"],
            cfg["genes_in_"],
            cfg["named_genes_"],
            cfg["genes_"],
        )
        p.mean_ = np.asarray(arrays["preprocessor.mean"], dtype=np.float32)
        p.std_ = np.asarray(arrays["preprocessor.std"], dtype=np.float32)
        p.gene_index_ = np.asarray(arrays["preprocessor.gene_index"], dtype=np.int64)
        p.library_ = cfg.get("library_", "selected")  # saved before library sizes covered the input's genes
        if p.library_ not in ("input", "selected"):
            raise ValueError(f"preprocessor.library_ must be 'input' or 'selected', got {p.library_!r}")
        if p.library_ == "selected" and p.scale_ == "counts" and len(p.genes_) < len(p.genes_in_):
            warn_user(
                "this model was saved before library sizes covered every input gene: it normalises counts by the "
                f"total of its {len(p.genes_)} selected genes, not of all {len(p.genes_in_)} input genes; that "
                "total tracks purity, and it is kept only so the model embeds as it was trained: refit it",
            )
        return p


def split_anndata(adata: Any, normal_key: str, normal_value: Any, layer: Optional[str] = None) -> tuple[Matrix, Matrix]:
    """Split one AnnData into tumors and normals by an `.obs` column."""
    if normal_key not in adata.obs.columns:
        raise InputError(
            f"normal_key {normal_key!r} is not a column of adata.obs (columns: {_preview(list(adata.obs.columns))})"
        )
    m = as_matrix(adata, "adata", layer=layer)
    labels = adata.obs[normal_key]
    refuse_unlabelled(labels, m.samples, normal_key, where="adata.obs: ")
    is_normal = normals_marked(labels, normal_key, normal_value)
    return m.subset(~is_normal), m.subset(is_normal)


_SampleNames = Union[Sequence[Any], np.ndarray]  # a list, an Index or an array of names


def refuse_unlabelled(
    labels: Any, samples: Union[_SampleNames, Callable[[], _SampleNames]], column: str, where: str = ""
) -> None:
    """Refuse samples whose label (column `column`, one label per sample) is missing (None, NaN), naming the column,
    how many and which: a missing label is neither tumor nor normal (read as text it would be 'nan', a tumor).

    `samples` names the samples in the labels' order, or is a function that reads their names (called only when a
    label is missing: an on-disk cohort's names stay unread). `where` starts the message, as `normals_marked`'s
    does (the file, the sample sheet). Shared by AnnData `.obs`, the CLI's sample sheets and on-disk cohorts.
    """
    missing = np.flatnonzero(pd.Series(labels).isna().to_numpy())
    if missing.size:
        names = samples() if callable(samples) else samples
        raise InputError(
            f"{where}column {column!r} is missing for {missing.size} samples "
            f"({_preview([names[i] for i in missing])}); label every sample as tumor or normal, or drop those samples"
        )


def normals_marked(labels: Any, normal_key: str, normal_value: Any, where: str = "") -> np.ndarray:
    """The mask of the samples whose label (column `normal_key`, one label per sample) is `normal_value`.

    None marked is refused naming the column and the values it holds: a sheet saying "Normal" where "normal" is
    expected would otherwise end in an empty normal set that names neither. Shared by AnnData `.obs`, the CLI's
    sample sheets and on-disk cohorts; the caller has refused missing labels (`refuse_unlabelled`).
    """
    labels = pd.Series(labels)
    is_normal = (labels.astype(str) == str(normal_value)).to_numpy()
    if not is_normal.any():
        values = labels.astype(str).unique().tolist()
        raise InputError(
            f"{where}no sample has {normal_key} == {normal_value!r} (values present: {_preview(values)}); give the "
            "value that marks the normals (normal_value; --normal-value on the command line)"
        )
    return is_normal


def split_by_key(
    tumor: Any, normal: Any, normal_key: str, normal_value: Any, layer: Optional[str] = None
) -> tuple[Matrix, Matrix]:
    """`split_anndata` for the estimators' ``normal_key`` argument: refuses, rather than ignores, a key given
    with normals of another form or with something other than an AnnData."""
    if normal is not None:
        raise InputError("give the normals either as `normal` (or `normal_mask`) or through `normal_key`, not both")
    if not _is_anndata(tumor):
        raise InputError(
            f"normal_key={normal_key!r} needs an AnnData (its .obs marks the normals); got "
            f"{type(tumor).__name__}: pass the normals as `normal` instead"
        )
    return split_anndata(tumor, normal_key, normal_value, layer)


def check_training_pair(tumor: Matrix, normal: Matrix) -> None:
    if normal.shape[0] < 2:
        raise InputError(f"normal: need at least 2 normal samples to mix views from, got {normal.shape[0]}")
    if tumor.shape[0] < 4:
        raise InputError(f"tumor: need at least 4 tumor samples to train on, got {tumor.shape[0]} sample(s)")
    check_disjoint(tumor, normal)


#: correlation above which a tumor and a normal of the same name are taken for one sample (a copy rounded on
#: the way, e.g. through a CSV with fewer decimals); different samples, even a tumor and its adjacent normal,
#: stay far below it
SAME_SAMPLE_CORRELATION = 0.9999


def check_disjoint(tumor: Matrix, normal: Matrix) -> None:
    """Refuse a sample given both as a tumor and as a normal: a tumor row equal, value for value on the shared
    genes, to a normal row whatever the two are named, or a tumor and a normal of the same name whose profiles
    correlate above SAME_SAMPLE_CORRELATION.

    A tumor that is also a background normal is mixed with itself in the views and anchors the readout's
    contamination directions on tumor biology: the fit would run and quietly be wrong. Names alone do not
    decide it: row numbers of frames built from arrays repeat across sets, and a paired design may name a
    tumor and its normal by the patient. Constant rows (an empty library) are not compared.
    """
    refuse_same_samples(same_samples(tumor, normal))


def refuse_same_samples(same: Sequence[tuple[str, str]], total: Optional[int] = None) -> None:
    """The error of `check_disjoint` for the (tumor, normal) name pairs found, if any (`total`: how many in all,
    when `same` lists only the first of them)."""
    if same:
        pairs = [t if t == n else f"{t} (normal {n})" for t, n in same]
        raise InputError(
            f"samples given both as tumors and as normals (identical profiles, or near-identical under one name): "
            f"{_preview(pairs)} "
            f"({len(same) if total is None else total} in all); give each sample once, in the tumors or in the normals"
        )


class NormalProfiles:
    """The normals' rows on some of their columns, looked up by exact value and by name: what `check_disjoint`
    compares tumor rows with, one block of tumors at a time if need be (`twinpurify.streaming` reads them from
    disk). `dtype` is the tumors': a normal is compared as the tumors' values would hold it."""

    def __init__(self, normal: Matrix, cols: Any, dtype: Any):
        self.values = np.ascontiguousarray(normal.values[:, cols], dtype=dtype)
        varies = self.values.max(1) > self.values.min(1)
        # keyed by a digest, confirmed value for value: the rows' bytes themselves would hold the normals twice
        self.exact = {_digest(self.values[j]): j for j in np.flatnonzero(varies)}
        self.by_name = {s: j for j, s in enumerate(normal.samples) if varies[j]}

    def matches(self, rows: np.ndarray, names: Sequence[str], cols: Any = slice(None)) -> list[tuple[int, int]]:
        """(i, j) for each row i of ``rows[:, cols]`` (tumors, on the normals' columns) that is normal j's profile.

        Rows are taken one at a time: no copy of `rows` on the columns is made."""
        out = []
        for i, name in enumerate(names):
            row = np.ascontiguousarray(rows[i, cols], dtype=self.values.dtype)
            j = self.exact.get(_digest(row))
            if j is not None and not np.array_equal(row, self.values[j]):
                j = None  # a digest collision: not the same profile
            if j is None and name in self.by_name and row.max() > row.min():  # the same name: a rounded copy?
                k = self.by_name[name]
                if np.corrcoef(row, self.values[k])[0, 1] > SAME_SAMPLE_CORRELATION:
                    j = k
            if j is not None:
                out.append((i, j))
        return out


def _digest(row: np.ndarray) -> bytes:
    return hashlib.blake2b(row.tobytes(), digest_size=16).digest()


def same_samples(tumor: Matrix, normal: Matrix) -> list[tuple[str, str]]:
    """(tumor, normal) name pairs that `check_disjoint` refuses, compared on the genes both carry (by name when
    both are named, by position when both have the same width)."""
    t_cols: Any
    n_cols: Any
    if tumor.named_genes and normal.named_genes and tumor.genes != normal.genes:
        shared = _shared(tumor.genes, normal.genes)
        if not shared:
            return []
        t_cols, n_cols = pd.Index(tumor.genes).get_indexer(shared), pd.Index(normal.genes).get_indexer(shared)
    elif tumor.shape[1] == normal.shape[1]:
        t_cols = n_cols = slice(None)  # aligned already (as after `align_pair`): rows are read, not copied
    else:
        return []
    profiles = NormalProfiles(normal, n_cols, tumor.values.dtype)
    return [(tumor.samples[i], normal.samples[j]) for i, j in profiles.matches(tumor.values, tumor.samples, t_cols)]
