"""Files in and out: CSV/TSV (gzipped or not), parquet, h5ad, and R's SummarizedExperiment.

Every write goes to a temporary file beside the target and is renamed into place, so a crash or a
full disk never leaves a truncated result where a good one was.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable, Optional, Union

import numpy as np
import pandas as pd

from .data import InputError, _preview, normals_marked, refuse_unlabelled

PathLike = Union[str, os.PathLike]
TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".txt.gz", ".parquet", ".pq")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def default_mode(directory: bool = False) -> int:
    """What a plain open()/mkdir() would have given (temporary files are created 0600 / 0700)."""
    return (0o777 if directory else 0o666) & ~_umask()


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it onto `path` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, default_mode())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".h5ad"):
        return "h5ad"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".tsv", ".tsv.gz", ".txt", ".txt.gz")):
        return "tsv"
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    raise InputError(f"{path}: unknown file type; use .csv, .tsv, .txt (optionally .gz), .parquet or .h5ad")


def read_table(path: PathLike, genes_as_rows: bool = False) -> pd.DataFrame:
    """A samples x genes DataFrame from a text or parquet table whose first column names the rows.

    Malformed files (ragged rows, a wrong separator, binary or truncated files, duplicated gene
    names, a table written without its row names) are refused with an InputError naming the file
    and the problem, never read into a wrong matrix. This is how the command line reads its
    inputs; from Python, use it when the expression data is in a file.

    Parameters
    ----------
    path : str or os.PathLike
        The table. The suffix picks the reader: ``.csv`` (comma-separated), ``.tsv`` or ``.txt``
        (tab-separated), each optionally gzipped (``.gz``); ``.parquet`` or ``.pq`` (a first
        non-numeric column becomes the row names); ``.h5ad`` (needs anndata; ``.X`` with obs and
        var names).
    genes_as_rows : bool, default False
        The file has genes as rows and samples as columns; the result is transposed.

    Returns
    -------
    DataFrame of shape (n_samples, n_genes)
        Sample names as the index and gene names as the columns, both as strings.

    Raises
    ------
    twinpurify.InputError
        For an unknown suffix, a missing, empty, unreadable or malformed file (see above).

    Examples
    --------
    >>> import os, tempfile
    >>> import pandas as pd
    >>> from twinpurify.io import read_table
    >>> expr = pd.DataFrame([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], index=["s1", "s2"], columns=["A", "B", "C"])
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = os.path.join(d, "expr.tsv")
    ...     expr.to_csv(path, sep="\\t")
    ...     print(read_table(path))
    ...     print(read_table(path, genes_as_rows=True))
          A    B    C
    s1  1.0  2.0  3.0
    s2  4.0  5.0  6.0
        s1   s2
    A  1.0  4.0
    B  2.0  5.0
    C  3.0  6.0
    """
    path = Path(path)
    kind = _kind(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        if kind == "h5ad":
            df = read_h5ad(path).to_df()  # obs_names may repeat in AnnData: checked below like every table
        elif kind == "parquet":
            df = pd.read_parquet(path)
            first = df.columns[0] if len(df.columns) else None
            # a stored pandas index names the rows; only without one does a first text column (as `ParquetRows`)
            if (
                isinstance(df.index, pd.RangeIndex)
                and first is not None
                and not pd.api.types.is_numeric_dtype(df[first])
            ):
                df = df.set_index(first)
            elif first is not None and not _parquet_index_stored(path):  # a numeric first column, no row names
                _check_parquet_first_column(path, first, lambda: df[first], "gene" if genes_as_rows else "sample")
        else:
            sep = "\t" if kind == "tsv" else ","
            _check_header(path, sep, "sample" if genes_as_rows else "gene")
            df = pd.read_csv(path, sep=sep, index_col=0)
    except InputError:
        raise
    except Exception as exc:  # pandas/pyarrow/gzip/h5py raise many types; the user needs the file and the cause
        raise InputError(f"{path}: cannot read this {kind} file ({type(exc).__name__}: {_first_line(exc)})") from None
    if df.empty:
        raise InputError(f"{path}: the table is empty")
    df.index = df.index.astype(str)
    df.columns = df.columns.astype(str)
    unit = "gene" if genes_as_rows else "sample"  # what the rows of the file are
    if kind in ("csv", "tsv"):
        _check_row_names(path, df, unit)
    elif kind == "parquet":
        _check_unique_rows(path, df, unit, "the row names (the stored index, or else the first text column)")
    else:  # h5ad
        _check_unique_rows(path, df, unit, "obs_names")
    return df.T if genes_as_rows else df


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else "no detail"


def _check_header(path: Path, sep: str, columns: str = "gene") -> None:
    """The header line: the separator must split it, and column names must be unique."""
    import csv
    import gzip

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", newline="") as fh:
            header = next(csv.reader(fh, delimiter=sep), None)
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable text table ({type(exc).__name__}: {_first_line(exc)})") from None
    if not header:
        raise InputError(f"{path}: the table is empty")
    if len(header) < 2 and not any(c in header[0] for c in ",;\t| "):
        raise InputError(f"{path}: the table is empty (no {columns} columns after {header[0]!r})")
    if len(header) < 2:
        other = "tab" if sep == "," else "comma"
        raise InputError(
            f"{path}: the header has a single column with {sep!r} as separator; is it {other}-separated? "
            "(.csv files are read comma-separated, .tsv/.txt tab-separated)"
        )
    names = pd.Series(header[1:])
    dup = names[names.duplicated()].unique().tolist()
    if dup:
        raise InputError(
            f"{path}: duplicated column ({columns}) names {', '.join(map(str, dup[:5]))}; "
            f"{columns} names must be unique"
        )


def _numbers_not_names(names: Any, unit: str = "sample") -> bool:
    """Row names that are numbers (and not row numbers 0.. or 1..): a column of values, not names."""
    idx = pd.to_numeric(pd.Series(np.asarray(names)), errors="coerce")
    numbers = len(idx) >= 2 and bool(idx.notna().all())
    values = numbers and not (idx == np.arange(len(idx))).all() and not (idx == np.arange(1, len(idx) + 1)).all()
    if values and unit == "gene":  # integer gene IDs (Entrez) are names; repeated integers are caught below
        values = not bool((idx == idx.round()).all())
    return bool(values)


def _parquet_index_stored(path: PathLike) -> bool:
    """Whether a .parquet table stores its pandas index (a column or a range); not with index=False."""
    import pyarrow.parquet as pq

    meta = pq.read_schema(path).pandas_metadata or {}
    return bool(meta.get("index_columns"))


# A column name that says it holds identifiers: "patient_id", "SampleID", "barcode", "id" (not a gene such as ID1)
_ID_NAME = re.compile(
    r"(sample|patient|case|subject|donor|specimen|aliquot|participant)s?[ _.-]?(id|ids|barcode|name|no|number)?"
    r"|(id|ids|barcode|barcodes|name|names)",
    re.IGNORECASE,
)


def _check_parquet_first_column(path: PathLike, name: str, first: Callable[[], Any], unit: str = "sample") -> None:
    """A .parquet table with no row names whose first column is an integer ID (e.g. ``patient_id``) is refused.

    A numeric table written with index=False names its rows by number and its first column is a gene, as
    before; only a first column whose name says it holds identifiers, with distinct numbers that
    `_check_row_names`' test takes for values, is refused: it would be read as a gene (a .csv table is
    refused alike). `first` reads the column's values, called only for a name that says so (out of core, a
    read of the whole column).
    """
    if not _ID_NAME.fullmatch(str(name).strip()):
        return
    values = np.asarray(first())
    if pd.Series(values).is_unique and _numbers_not_names(values, unit):
        other = "gene" if unit == "sample" else "sample"
        raise InputError(
            f"{path}: the {unit}s are not named: no index is stored and the first column {name!r} holds distinct "
            f"numbers ({values[0]}, {values[1]}, ...), which would be read as a {other}; if {name!r} is the "
            f"{unit} ID, store it as the index (DataFrame.set_index({name!r}).to_parquet(path)) or as text"
        )


def _check_row_names(path: Path, df: pd.DataFrame, unit: str = "sample") -> None:
    """A table written without row names (index=False) would use its first value column as row names."""
    if _numbers_not_names(df.index, unit):
        raise InputError(
            f"{path}: the first column holds numbers ({df.index[0]}, {df.index[1]}, ...), not {unit} names; "
            f"the first column must name the {unit}s (write the table with its index, e.g. "
            "DataFrame.to_csv(path) rather than index=False)"
        )
    _check_unique_rows(path, df, unit)


def _check_unique_rows(path: Path, df: pd.DataFrame, unit: str = "sample", where: str = "the first column") -> None:
    if df.index.duplicated().any():
        dup = df.index[df.index.duplicated()].unique().tolist()
        raise InputError(f"{path}: duplicated {unit} names {', '.join(dup[:5])} in {where}")


def read_h5ad(path: PathLike) -> Any:
    try:
        import anndata as ad
    except ImportError as exc:  # pragma: no cover
        raise ImportError("reading .h5ad needs anndata: pip install 'twinpurify[anndata]'") from exc
    return ad.read_h5ad(path)


def write_table(df: pd.DataFrame, path: PathLike) -> Path:
    """Write a DataFrame (index kept) as CSV/TSV/parquet by suffix, atomically."""
    path = Path(path)
    kind = _kind(path)
    with atomic_path(path) as tmp:
        if kind == "parquet":
            df.to_parquet(tmp)
        elif kind == "h5ad":
            import anndata as ad

            ad.AnnData(
                df.to_numpy(np.float32),
                obs=pd.DataFrame(index=df.index.astype(str)),
                var=pd.DataFrame(index=df.columns.astype(str)),
            ).write_h5ad(tmp)
        else:
            df.to_csv(
                tmp, sep="\t" if kind == "tsv" else ",", compression="gzip" if path.name.endswith(".gz") else None
            )
    return path


def read_samples_split(
    expr: pd.DataFrame, samples: Optional[pd.DataFrame], normal_key: str, normal_value: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split an expression table into tumors and normals with a sample sheet column."""
    if samples is None:
        raise InputError("one expression file needs a sample sheet (--samples) to tell tumors from normals")
    if normal_key not in samples.columns:
        raise InputError(
            f"the sample sheet has no column {normal_key!r} (columns: {', '.join(map(str, samples.columns[:10]))})"
        )
    samples = samples.copy()
    samples.index = samples.index.astype(str)
    repeated = samples.index[samples.index.duplicated()].unique()
    if len(repeated):  # which row would label them? (pandas would fail on the selection below, naming none)
        raise InputError(
            f"the sample sheet lists {len(repeated)} samples more than once: {_preview(list(repeated))}; give each "
            "sample one row"
        )
    missing = expr.index.difference(samples.index)
    if len(missing):
        raise InputError(
            f"{len(missing)} samples of the expression table are not in the sample sheet: {', '.join(missing[:5])}"
        )
    labels = samples.loc[expr.index, normal_key]
    refuse_unlabelled(labels, labels.index, normal_key, where="the sample sheet: ")
    is_normal = normals_marked(labels, normal_key, normal_value, where="the sample sheet: ")
    return expr[~is_normal], expr[is_normal]


# ---- R objects (rpy2 + anndata2ri; the R side must not run reticulate in the same process) ----------


def read_summarized_experiment(source: Any, assay: Optional[str] = None, *, trusted: bool = False) -> Any:
    """An AnnData (samples x genes) from a SummarizedExperiment/SingleCellExperiment.

    `source` is a path to an .rds file or an rpy2 object holding the experiment. Assay `assay`
    (default the first) becomes `X`, colData becomes `.obs`, rowData `.var`. Needs rpy2 and
    anndata2ri, and R with SingleCellExperiment.

    An .rds file is read only with ``trusted=True``: R's ``readRDS`` deserialises objects that can
    run code while being read, and R before 4.4 (Debian's R here is 4.2) has no protection against
    crafted files (CVE-2024-27322). Pass ``trusted=True`` only for files you or your collaborators
    wrote; to exchange data, use h5ad (zellkonverter/anndata), parquet or CSV instead.

    Parameters
    ----------
    source : str, os.PathLike or rpy2 object
        Path of an .rds file holding a SummarizedExperiment (or subclass), or the R object itself.
    assay : str or None, default None
        Name of the assay to use; None uses the first.
    trusted : bool, default False
        Must be True to read a file (see above); not needed for an rpy2 object.

    Returns
    -------
    anndata.AnnData of shape (n_samples, n_genes)
        Samples as observations (colData in ``.obs``), genes as variables (rowData in ``.var``);
        reduced dimensions are dropped.

    Raises
    ------
    twinpurify.InputError
        For a path without ``trusted=True``, a missing file, an object that is not a
        SummarizedExperiment, an unknown assay, an experiment without assays, or one without row or
        column names.
    ImportError
        When rpy2 or anndata2ri is not installed (``pip install 'twinpurify[r]'``).

    See Also
    --------
    read_table : text, parquet and h5ad tables.
    """
    if isinstance(source, (str, os.PathLike)) and not trusted:
        raise InputError(
            f"{source}: refusing to read an .rds file without trusted=True: readRDS can run code "
            "hidden in a crafted file (CVE-2024-27322, R < 4.4); pass trusted=True for files you "
            "trust, or exchange data as .h5ad, .parquet or .csv"
        )
    try:
        import anndata2ri
        import rpy2.robjects as ro
        from rpy2.robjects.conversion import localconverter
    except ImportError as exc:
        raise ImportError("reading R objects needs rpy2 and anndata2ri: pip install 'twinpurify[r]'") from exc
    ro.r("suppressPackageStartupMessages(library(SingleCellExperiment))")
    if isinstance(source, (str, os.PathLike)):
        p = Path(source)
        if not p.is_file():
            raise InputError(f"{p}: no such file")
        obj = ro.r["readRDS"](str(p))
    else:
        obj = source
    to_sce = ro.r("""function(x, assay) {
        if (!methods::is(x, "SummarizedExperiment"))
            stop("not a SummarizedExperiment but a ", class(x)[1])
        if (!is.null(assay)) {
            if (!assay %in% SummarizedExperiment::assayNames(x))
                stop("no assay named '", assay, "'; assays: ",
                     paste(SummarizedExperiment::assayNames(x), collapse = ", "))
            SummarizedExperiment::assays(x) <- SummarizedExperiment::assays(x)[assay]
        }
        if (length(SummarizedExperiment::assays(x)) == 0) stop("the experiment has no assay")
        if (is.null(colnames(x)) || is.null(rownames(x)))
            stop("the experiment needs row (gene) and column (sample) names")
        x <- methods::as(x, "SingleCellExperiment")
        SingleCellExperiment::reducedDims(x) <- list()
        x
    }""")
    try:
        sce = to_sce(obj, ro.NULL if assay is None else assay)
    except Exception as exc:  # rpy2's RRuntimeError carries R's message
        raise InputError(f"cannot read the R object: {str(exc).strip()}") from None
    with localconverter(anndata2ri.converter):
        adata = ro.conversion.get_conversion().rpy2py(sce)
    return adata
