"""Expression matrices on disk, read and written a block of rows at a time (.h5ad, anndata's .zarr, .parquet).

A compendium of a million profiles does not fit in memory, so out-of-core fitting and transforming
(`twinpurify.streaming`) see a cohort only through `Rows`: its gene names, how many samples, and the
values of a contiguous range of them. Both of anndata's on-disk layouts are read: .h5ad (HDF5, through
h5py) and .zarr stores (a folder of chunks, through zarr), which open with the same group/array calls.
Dense and CSR ``X`` (or a layer) are both read; a CSR block is
densified only for the rows asked for. Obs and var are read column by column, never as whole frames,
so memory holds one block of values plus, at most, one string per sample.

Samples-in-rows .parquet tables are read through `ParquetRows`, a row group at a time (`open_rows`
chooses by the path); the row groups must be small enough to be a block.

`H5adWriter` writes the same layout (chunked by rows) block by block, for streamed embeddings and for
the synthetic cohorts of the benchmarks; files it writes open in anndata and scanpy.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional, Protocol, Union, runtime_checkable

import numpy as np

from .data import InputError, _check_unique

PathLike = Union[str, os.PathLike]


def _h5py() -> Any:
    try:
        import h5py
    except ImportError as exc:  # pragma: no cover
        raise ImportError("out-of-core .h5ad input needs h5py: pip install 'twinpurify[anndata]'") from exc
    return h5py


def _strings(values: np.ndarray) -> np.ndarray:
    return np.asarray([v.decode() if isinstance(v, bytes) else str(v) for v in values], dtype=object)


def _column(group: Any, name: str, sel: Any = slice(None)) -> np.ndarray:
    """One dataframe column (plain, categorical or nullable) of an anndata-encoded group, as strings."""
    item = group[name]
    if hasattr(item, "keys") and "codes" in item:  # categorical
        cats = _strings(item["categories"][:])
        codes = item["codes"][sel]
        out = cats[np.clip(codes, 0, None)]
        out[codes < 0] = None  # a missing category
        return out
    if hasattr(item, "keys") and "values" in item and "mask" in item:  # nullable boolean, integer or string
        out = _strings(item["values"][sel])
        out[np.asarray(item["mask"][sel], dtype=bool)] = None  # a missing value
        return out
    values = item[sel]
    out = _strings(values)
    if np.issubdtype(values.dtype, np.floating):  # a float column marks a missing value with NaN
        out[np.isnan(values)] = None
    return out


def _open_store(path: Path) -> Any:
    """The root group of an .h5ad file (h5py) or of an anndata .zarr store (zarr), read-only."""
    if path.is_dir():
        try:
            import zarr
        except ImportError as exc:  # pragma: no cover
            raise ImportError("reading .zarr stores needs zarr: pip install 'twinpurify[zarr]'") from exc
        try:
            return zarr.open_group(str(path), mode="r")
        except Exception as exc:  # zarr raises several types for a folder that is not a store
            raise InputError(f"{path}: not a readable .zarr store ({type(exc).__name__}: {exc})") from None
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        return _h5py().File(path, "r")
    except OSError as exc:
        raise InputError(f"{path}: not a readable .h5ad (HDF5) file ({exc})") from None


class _FileRows:
    """What `Rows` and `ParquetRows` share: a cohort as sorted rows of one file, read by ranges of rows.

    Subclasses set `rows` (None = every file row), `n_file_rows` and `genes`, and read file rows lo..hi
    in `_names` and `_values`.
    """

    rows: Optional[np.ndarray]
    n_file_rows: int
    genes: list[str]

    @property
    def n(self) -> int:
        """Number of samples in this cohort."""
        return self.n_file_rows if self.rows is None else len(self.rows)

    def _file_range(self, start: int, stop: int) -> tuple[int, int, Optional[np.ndarray]]:
        if self.rows is None:
            return start, stop, None
        sel = self.rows[start:stop]
        return int(sel[0]), int(sel[-1]) + 1, sel - sel[0]

    def samples(self, start: int, stop: int) -> list[str]:
        """Sample names of cohort rows start..stop."""
        if stop <= start:
            return []
        lo, hi, pick = self._file_range(start, stop)
        names = self._names(lo, hi)
        return list(names if pick is None else names[pick])

    def obs_names(self) -> np.ndarray:
        """The sample name of every file row (what `obs_column` gives a column of; `samples` reads cohort rows)."""
        return self._names(0, self.n_file_rows)

    def read(self, start: int, stop: int) -> np.ndarray:
        """Values of cohort rows start..stop as a dense float32 array."""
        if stop <= start:
            return np.zeros((0, len(self.genes)), np.float32)
        lo, hi, pick = self._file_range(start, stop)
        block = self._values(lo, hi)
        return block if pick is None else block[pick]

    def _names(self, lo: int, hi: int) -> np.ndarray:  # pragma: no cover - subclasses provide it
        raise NotImplementedError

    def _values(self, lo: int, hi: int) -> np.ndarray:  # pragma: no cover - subclasses provide it
        raise NotImplementedError


class Rows(_FileRows):
    """Samples x genes values of an .h5ad file or .zarr store, optionally only the file rows `rows` (sorted).

    Parameters
    ----------
    path : path-like
        The .h5ad file or anndata .zarr folder (opened read-only for the lifetime of the object).
    rows : array of int, optional
        File rows that make up this cohort (e.g. the tumors of a file that also holds normals); all by default.
    layer : str, optional
        A layer instead of ``X``.
    """

    def __init__(self, path: PathLike, rows: Optional[np.ndarray] = None, layer: Optional[str] = None):
        self.path = Path(path)
        self._file = _open_store(self.path)
        f = self._file
        if layer is not None and ("layers" not in f or layer not in f["layers"]):
            raise InputError(f"{self.path}: no layer {layer!r}")
        if "X" not in f and layer is None:
            raise InputError(f"{self.path}: the file has no X matrix")
        self._x = f["layers"][layer] if layer is not None else f["X"]
        self._sparse = hasattr(self._x, "keys")
        if self._sparse and self._x.attrs.get("encoding-type", "csr_matrix") != "csr_matrix":
            raise InputError(f"{self.path}: X is {self._x.attrs.get('encoding-type')}; out-of-core reading needs CSR")
        shape = tuple(self._x.attrs["shape"]) if self._sparse else self._x.shape
        self.n_file_rows, n_genes = int(shape[0]), int(shape[1])
        self.genes = list(_column(f["var"], f["var"].attrs["_index"]))
        if len(self.genes) != n_genes:
            raise InputError(f"{self.path}: var has {len(self.genes)} genes but X has {n_genes} columns")
        _check_unique(self.genes, str(self.path), "gene")
        self.rows = None if rows is None else np.asarray(rows, dtype=np.int64)

    def subset(self, rows: np.ndarray) -> Rows:
        """The same file restricted to file rows `rows`."""
        return Rows(self.path, rows, self._layer_name())

    def _layer_name(self) -> Optional[str]:
        name = self._x.name.strip("/")
        return name.split("/", 1)[1] if name.startswith("layers/") else None

    def obs_column(self, key: str) -> np.ndarray:
        """An obs column for every file row (as strings; None where a categorical is missing)."""
        obs = self._file["obs"]
        if key not in obs:
            cols = [k for k in obs.keys() if k != obs.attrs.get("_index")]
            raise InputError(f"{self.path}: obs has no column {key!r} (columns: {', '.join(cols[:10])})")
        return _column(obs, key)

    def _names(self, lo: int, hi: int) -> np.ndarray:
        obs = self._file["obs"]
        return _column(obs, obs.attrs["_index"], slice(lo, hi))

    def _values(self, lo: int, hi: int) -> np.ndarray:
        if self._sparse:
            import scipy.sparse as sp

            ptr = self._x["indptr"][lo : hi + 1]
            data = self._x["data"][ptr[0] : ptr[-1]]
            idx = self._x["indices"][ptr[0] : ptr[-1]]
            block = sp.csr_matrix((data, idx, ptr - ptr[0]), shape=(hi - lo, len(self.genes))).toarray()
        else:
            block = self._x[lo:hi]
        return np.asarray(block, dtype=np.float32)

    def close(self) -> None:
        if hasattr(self._file, "close"):  # zarr groups hold no handle
            self._file.close()

    def __enter__(self) -> Rows:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


#: largest row group `ParquetRows` reads, in values (rows x genes): 2**26 float32 values are 256 MiB
MAX_GROUP_VALUES = 2**26


class ParquetRows(_FileRows):
    """Samples x genes values of a .parquet table with samples in rows, read a row group at a time.

    The numeric columns are the genes; the sample names are the pandas index stored with the table, or else
    a first non-numeric column (as `twinpurify.io.read_table` reads it), or else row numbers (a first column of
    numbers named as an ID, e.g. an integer ``patient_id`` written with index=False, is refused as `read_table`
    refuses it); the other
    columns are per-sample annotations (`obs_column`), e.g. the
    label that marks normals. Parquet stores a table by row groups of columns, so a row group is the
    smallest read: tables whose row groups hold more than `MAX_GROUP_VALUES` values are refused with the
    fix (pandas writes up to 1,048,576 rows per group by default).

    Parameters
    ----------
    path : path-like
        The .parquet file (opened read-only for the lifetime of the object).
    rows : array of int, optional
        File rows that make up this cohort (sorted); all by default.
    """

    def __init__(self, path: PathLike, rows: Optional[np.ndarray] = None):
        try:
            import pyarrow.parquet as pq
        except ImportError as exc:  # pragma: no cover - pyarrow is a core dependency
            raise ImportError("reading .parquet needs pyarrow: pip install pyarrow") from exc
        import pyarrow.types as pat

        self.path = Path(path)
        try:
            self._file = pq.ParquetFile(self.path)
        except Exception as exc:  # pyarrow raises several types for a file that is not parquet
            raise InputError(f"{self.path}: not a readable .parquet file ({type(exc).__name__}: {exc})") from None
        schema = self._file.schema_arrow
        meta = schema.pandas_metadata or {}
        stored = [c for c in meta.get("index_columns", []) if isinstance(c, str)]
        numeric = [f.name for f in schema if (pat.is_integer(f.type) or pat.is_floating(f.type))]
        if len(stored) == 1:
            self._index: Optional[str] = stored[0]
        else:  # as `twinpurify.io.read_table`: a first non-numeric column names the rows
            first = schema.names[0] if len(schema.names) else None
            self._index = first if first is not None and first not in numeric else None
            if first is not None and self._index is None and not meta.get("index_columns"):  # index=False
                from .io import _check_parquet_first_column  # an integer patient ID would be a gene

                _check_parquet_first_column(
                    self.path, first, lambda: self._file.read(columns=[first]).column(0).to_numpy()
                )
        self.genes = [c for c in numeric if c not in stored]
        self._obs = [f.name for f in schema if f.name not in self.genes and f.name not in stored + [self._index]]
        if not self.genes:
            raise InputError(f"{self.path}: no numeric columns; expected samples in rows and one column per gene")
        _check_unique(self.genes, str(self.path), "gene")  # pyarrow allows repeated column names
        md = self._file.metadata
        sizes = np.array([md.row_group(i).num_rows for i in range(md.num_row_groups)], dtype=np.int64)
        self._starts = np.concatenate([[0], np.cumsum(sizes)])
        self.n_file_rows = int(self._starts[-1])
        biggest = int(sizes.max(initial=0))
        if biggest * len(self.genes) > MAX_GROUP_VALUES:
            fit = max(1, MAX_GROUP_VALUES // len(self.genes))
            raise InputError(
                f"{self.path}: row groups of up to {biggest:,} rows x {len(self.genes):,} genes are too large to read "
                f"a block at a time; rewrite it with smaller row groups, e.g. "
                f"df.to_parquet(path, row_group_size={min(fit, 4096)})"
            )
        self.rows = None if rows is None else np.asarray(rows, dtype=np.int64)
        self._cache: tuple[Any, Any] = (None, None)  # (row group, columns) -> the table last read

    def subset(self, rows: np.ndarray) -> ParquetRows:
        """The same file restricted to file rows `rows`."""
        return ParquetRows(self.path, rows)

    def obs_column(self, key: str) -> np.ndarray:
        """A per-sample annotation column for every file row (as strings; None where missing)."""
        if key not in self._obs:
            raise InputError(f"{self.path}: no annotation column {key!r} (columns: {', '.join(self._obs[:10])})")
        values = self._file.read(columns=[key]).column(0).to_pylist()
        return np.array([None if v is None else str(v) for v in values], dtype=object)

    def _groups(self, lo: int, hi: int, columns: list[str]) -> Any:
        """File rows lo..hi of `columns` as one pyarrow table (whole row groups read, then sliced)."""
        import pyarrow as pa

        first = int(np.searchsorted(self._starts, lo, side="right")) - 1
        last = int(np.searchsorted(self._starts, hi, side="left"))
        parts = []
        for gi in range(first, last):
            key = (gi, tuple(columns))
            if self._cache[0] != key:  # blocks read in order often fall in the same group
                self._cache = (key, self._file.read_row_group(gi, columns=columns))
            parts.append(self._cache[1])
        table = pa.concat_tables(parts)
        return table.slice(lo - int(self._starts[first]), hi - lo)

    def _names(self, lo: int, hi: int) -> np.ndarray:
        if self._index is None:
            return np.array([str(i) for i in range(lo, hi)], dtype=object)
        return np.array([str(v) for v in self._groups(lo, hi, [self._index]).column(0).to_pylist()], dtype=object)

    def _values(self, lo: int, hi: int) -> np.ndarray:
        table = self._groups(lo, hi, self.genes)
        block = np.empty((hi - lo, len(self.genes)), dtype=np.float32)
        for j in range(table.num_columns):  # missing values arrive as NaN (and are refused by the readers)
            block[:, j] = table.column(j).to_numpy(zero_copy_only=False)
        return block

    def close(self) -> None:
        self._cache = (None, None)
        self._file.close()

    def __enter__(self) -> ParquetRows:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@runtime_checkable
class RowSource(Protocol):
    """What out-of-core fitting needs of a cohort on disk (`Rows` and `ParquetRows` provide it)."""

    path: Path
    genes: list[str]

    @property
    def n(self) -> int: ...

    def subset(self, rows: np.ndarray) -> RowSource: ...

    def obs_column(self, key: str) -> np.ndarray: ...

    def samples(self, start: int, stop: int) -> list[str]: ...

    def read(self, start: int, stop: int) -> np.ndarray: ...

    def close(self) -> None: ...


PARQUET_SUFFIXES = (".parquet", ".pq")  # as `twinpurify.io.read_table`
ON_DISK_SUFFIXES = (".h5ad", ".zarr", *PARQUET_SUFFIXES)


def is_on_disk(path: Any) -> bool:
    """A path that `open_rows` reads: an .h5ad file, a .zarr store or a .parquet table."""
    return isinstance(path, (str, os.PathLike)) and str(path).lower().rstrip("/").endswith(ON_DISK_SUFFIXES)


def open_rows(path: PathLike, rows: Optional[np.ndarray] = None, layer: Optional[str] = None) -> RowSource:
    """`ParquetRows` for a .parquet table, `Rows` for .h5ad and .zarr."""
    if str(path).lower().endswith(PARQUET_SUFFIXES):
        if layer is not None:
            raise InputError(f"{path}: a .parquet table has no layers (layer={layer!r})")
        return ParquetRows(path, rows)
    return Rows(path, rows, layer)


class H5adWriter:
    """Write an n x k float32 .h5ad (dense X chunked by rows) one block of rows at a time.

    The layout is anndata's (X, obs and var dataframes with string indices), so the result reads with
    ``anndata.read_h5ad`` (in memory or backed) and with `Rows`. An existing file at `path` is an error
    unless `overwrite` (the package's own writes go to temporary files it created beside the target).
    """

    def __init__(
        self,
        path: PathLike,
        n_rows: int,
        columns: list[str],
        chunk_rows: int = 256,
        compression: Any = None,
        overwrite: bool = False,
    ):
        h5py = _h5py()
        if Path(path).exists() and not overwrite:
            raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
        self.f = h5py.File(path, "w")
        self.f.attrs.update({"encoding-type": "anndata", "encoding-version": "0.1.0"})
        k = len(columns)
        self.X = self.f.create_dataset(
            "X", (n_rows, k), dtype="f4", chunks=(max(1, min(chunk_rows, n_rows)), k), compression=compression
        )
        self.X.attrs.update({"encoding-type": "array", "encoding-version": "0.2.0"})
        self.names = self._frame("obs", n_rows)
        self._frame("var", k)[:] = np.asarray(columns, dtype=object)
        self.pos = 0
        for g in ("obsm", "varm", "obsp", "varp", "layers", "uns"):
            self.f.create_group(g).attrs.update({"encoding-type": "dict", "encoding-version": "0.1.0"})

    def _frame(self, name: str, n: int) -> Any:
        h5py = _h5py()
        g = self.f.create_group(name)
        g.attrs.update(
            {"encoding-type": "dataframe", "encoding-version": "0.2.0", "_index": "_index", "column-order": []}
        )
        d = g.create_dataset("_index", (n,), dtype=h5py.string_dtype())
        d.attrs.update({"encoding-type": "string-array", "encoding-version": "0.2.0"})
        return d

    def write(self, values: np.ndarray, samples: list[str]) -> None:
        """Append rows (in order)."""
        stop = self.pos + len(values)
        self.X[self.pos : stop] = values.astype(np.float32, copy=False)
        self.names[self.pos : stop] = np.asarray(samples, dtype=object)
        self.pos = stop

    def close(self) -> None:
        if self.f.id.valid:
            self.f.close()

    def __enter__(self) -> H5adWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
