"""What the R package calls through reticulate: R-shaped inputs in, engine objects out.

R hands over assays as genes x samples (a Fortran-ordered float64 array or a scipy CSC matrix for a
dgCMatrix) and every number as a double; this module turns them into the engine's samples x genes
DataFrames and typed keyword arguments, so the R code stays a thin shell.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import tempfile
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import pandas as pd

from .estimator import TwinPurify
from .params import SCHEMA
from .settings import LOGGER_NAME


def _as_list(x: Any) -> list:
    if x is None:
        return []
    if isinstance(x, (list, tuple)):
        return list(x)
    if isinstance(x, np.ndarray):
        return x.ravel().tolist()
    return [x]


def samples_by_genes(values: Any, samples: Any, genes: Any) -> pd.DataFrame:
    """DataFrame (samples x genes) from an R genes x samples matrix, without copying twice."""
    import scipy.sparse as sp

    samples, genes = [str(s) for s in _as_list(samples)], [str(g) for g in _as_list(genes)]
    if sp.issparse(values):
        arr = values.T.toarray()
    else:
        arr = np.asarray(values).T  # F-ordered genes x samples -> C-ordered samples x genes, no copy
    if arr.ndim != 2:
        arr = arr.reshape(len(samples), len(genes))
    return pd.DataFrame(arr, index=samples, columns=genes)


def defaults() -> dict[str, Any]:
    """The engine's hyper-parameters and their defaults (R documents and checks against these)."""
    sig = inspect.signature(TwinPurify.__init__)
    return {k: p.default for k, p in sig.parameters.items() if k != "self"}


def _whole(v: Any) -> Any:
    """R's doubles that hold whole numbers become ints; anything else is left for the schema to refuse."""
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def coerce_params(params: Optional[dict]) -> dict[str, Any]:
    """R doubles -> ints where the engine's schema wants ints; length-1 vectors -> tuples for layer sizes."""
    params = dict(params or {})
    d = defaults()
    unknown = sorted(set(params) - set(d))
    if unknown:
        raise ValueError(f"unknown TwinPurify parameter(s): {', '.join(unknown)}; known: {', '.join(sorted(d))}")
    out: dict[str, Any] = {}
    for k, v in params.items():
        dv = d[k]
        if k in ("hidden_dims", "projector_dims"):
            out[k] = tuple(_whole(x) for x in _as_list(v))
        elif v is None or isinstance(v, str):
            out[k] = v
        elif isinstance(dv, bool) or isinstance(v, bool):
            out[k] = bool(v)
        elif k in SCHEMA and SCHEMA[k].kind in ("int", "seed"):  # every integer parameter, by the schema
            out[k] = _whole(v)
        else:
            out[k] = float(v)
    return out


class _RHandler(logging.Handler):
    """Hands every engine log record to an R function (which calls message() or warning())."""

    def __init__(self, callback: Callable[[int, str], Any]) -> None:
        super().__init__(level=logging.INFO)
        self.callback = callback

    def emit(self, record: logging.LogRecord) -> None:
        self.callback(int(record.levelno), self.format(record))


def route_logs(callback: Callable[[int, str], Any]) -> None:
    """Send the engine's notes (INFO and up) to `callback(level, text)` instead of stderr.

    R passes a function that turns them into R conditions, so suppressMessages() silences them.
    Replaces any handler routed before; the engine's own `settings` handler is left alone.
    """
    log = logging.getLogger(LOGGER_NAME)
    for h in [h for h in log.handlers if isinstance(h, _RHandler)]:
        log.removeHandler(h)
    log.addHandler(_RHandler(callback))
    if log.level == logging.NOTSET or log.level > logging.INFO:
        log.setLevel(logging.INFO)


class _CallbackBar:
    """Stands in for tqdm inside the training loop: reports each finished epoch to R."""

    def __init__(self, iterable: Any, callback: Callable[[int, int, float], Any], **_: Any) -> None:
        self.iterable = iterable
        self.callback = callback
        self.total = len(iterable)
        self.done = 0

    def __iter__(self) -> Iterator[Any]:
        self.callback(0, self.total, float("nan"))
        yield from self.iterable

    def set_postfix(self, loss: Any = None, **_: Any) -> None:
        self.done += 1
        self.callback(self.done, self.total, float(loss) if loss is not None else float("nan"))

    def close(self) -> None:
        pass


class _WarningsToR:
    """A `warnings.showwarning` that hands each warning to R's `warn(level, text)` the moment it is raised.

    Only the thread that called in may call R: a warning from another thread (a prefetching reader) is kept
    and handed over by `flush` when the call ends.
    """

    def __init__(self, warn: Callable[[int, str], Any]) -> None:
        self.warn = warn
        self.thread = threading.get_ident()
        self.later: list[str] = []

    def __call__(self, message: Any, *_: Any, **__: Any) -> None:  # showwarning's other arguments: unused
        if threading.get_ident() == self.thread:
            self.warn(int(logging.WARNING), str(message))
        else:
            self.later.append(str(message))

    def flush(self) -> None:
        while self.later:
            self.warn(int(logging.WARNING), self.later.pop(0))


@contextlib.contextmanager
def _r_side(progress: Optional[Callable[[int, int, float], Any]], warn: Optional[Callable[[int, str], Any]]):
    """During one engine call: training progress goes to `progress`, Python warnings to `warn` (R warnings).

    Each warning is handed over as it is raised, like the engine's logged notes, not once the call has
    returned: R records both and signals them in the order the engine raised them, and still signals them
    (before the error) when the call then fails. Without `warn`, warnings are swallowed.
    """
    import tqdm.auto

    original = tqdm.auto.tqdm
    if progress is not None:
        tqdm.auto.tqdm = lambda iterable, disable=None, **kw: (
            original(iterable, disable=True) if disable is True else _CallbackBar(iterable, progress, **kw)
        )
    relay = None if warn is None else _WarningsToR(warn)
    try:
        with warnings.catch_warnings(record=True):  # restores showwarning and the filters on the way out
            warnings.simplefilter("always")
            if relay is not None:
                warnings.showwarning = relay
            yield
    finally:
        tqdm.auto.tqdm = original
        if relay is not None:
            relay.flush()


def fit(
    values: Any,
    samples: Any,
    genes: Any,
    is_normal: Any,
    params: Optional[dict],
    progress: Optional[Callable] = None,
    warn: Optional[Callable] = None,
) -> TwinPurify:
    X = samples_by_genes(values, samples, genes)
    mask = np.asarray(_as_list(is_normal), dtype=bool)
    model = TwinPurify(**coerce_params(params))
    with _r_side(progress, warn):
        return model.fit(X[~mask], X[mask])


def fit_pair(
    tvalues: Any,
    tsamples: Any,
    tgenes: Any,
    nvalues: Any,
    nsamples: Any,
    ngenes: Any,
    params: Optional[dict],
    progress: Optional[Callable] = None,
    warn: Optional[Callable] = None,
) -> TwinPurify:
    model = TwinPurify(**coerce_params(params))
    with _r_side(progress, warn):
        return model.fit(samples_by_genes(tvalues, tsamples, tgenes), samples_by_genes(nvalues, nsamples, ngenes))


def embed(
    model: TwinPurify,
    values: Any,
    samples: Any,
    genes: Any,
    fill_missing: Optional[str] = None,
    warn: Optional[Callable] = None,
) -> np.ndarray:
    """Embedding as a float64 array (R's numeric); names are set on the R side."""
    with _r_side(None, warn):
        Z = model.transform(samples_by_genes(values, samples, genes), fill_missing=fill_missing)
    return np.asarray(Z, dtype=np.float64)


def info(model: TwinPurify) -> dict[str, Any]:
    out = model.embedding_info()
    out["params"] = {k: (list(v) if isinstance(v, tuple) else v) for k, v in model.get_params().items()}
    history = list(getattr(model, "history_", None) or [])
    out["history"] = {
        "epoch": [int(h["epoch"]) for h in history],
        "loss": [float(h["loss"]) for h in history],
        "lr": [float(h.get("lr", float("nan"))) for h in history],
    }
    return out


def model_files(model: Any) -> dict[str, bytearray]:
    """The saved model folder's files as {name: bytes} (R keeps them as raw vectors: saveRDS-safe)."""
    with tempfile.TemporaryDirectory(prefix="twinpurify-") as tmp:
        folder = Path(tmp) / "model"
        model.save(folder)
        return {f.name: bytearray(f.read_bytes()) for f in sorted(folder.iterdir()) if f.is_file()}


def load(path: str, device: Optional[str] = None, warn: Optional[Callable] = None) -> TwinPurify:
    """`TwinPurify.load` for R's loadTwinPurify(): the load's warnings (a model saved on a device this machine
    lacks, an old library-size normalisation) go to `warn`, so they are R warnings."""
    with _r_side(None, warn):
        return TwinPurify.load(path, device=device)


def model_from_files(files: dict, device: Optional[str] = None, warn: Optional[Callable] = None) -> Any:
    """Rebuild a model from `model_files` output; the usual load checks (schema, SHA-256) apply.

    The load's warnings go to `warn` (R warnings), naming "the model" instead of the temporary folder it is
    rebuilt in, which means nothing to the R user holding the object.
    """
    from .base import load_model

    with tempfile.TemporaryDirectory(prefix="twinpurify-") as tmp:
        folder = Path(tmp) / "model"
        folder.mkdir()
        for name, data in files.items():
            if Path(name).name != name:
                raise ValueError(f"model file name {name!r} is not a plain file name")
            (folder / name).write_bytes(bytes(data))
        relay = None if warn is None else (lambda level, text: warn(level, text.replace(str(folder), "the model")))
        with _r_side(None, relay):
            return load_model(folder, device=device)


def simulate(n_tumors: Any, n_normals: Any, n_genes: Any, seed: Any, normal_likeness: Any = 0.0) -> dict[str, Any]:
    """The simulated cohort as plain arrays and lists (reticulate 1.28 trips over pandas indexes)."""
    from .datasets import simulate_cohort

    c = simulate_cohort(
        n_tumors=int(n_tumors),
        n_normals=int(n_normals),
        n_genes=int(n_genes),
        normal_likeness=float(normal_likeness),
        seed=int(seed),
    )
    counts = np.concatenate([c.tumors.to_numpy(), c.normals.to_numpy()]).T  # genes x samples
    truth = {k: (c.truth[k].astype(str).tolist() if k == "subtype" else c.truth[k].to_numpy()) for k in c.truth.columns}
    return {
        "counts": np.asfortranarray(counts.astype(np.int32)),
        "genes": list(c.tumors.columns),
        "samples": list(c.tumors.index) + list(c.normals.index),
        "n_tumors": len(c.tumors),
        "truth": truth,
        "role": c.genes["role"].tolist(),
        "loading": c.genes["loading"].to_numpy(dtype=np.float64),
    }


def _check_readout(model: Any, residual: Any) -> None:
    """Purified expression needs the readout (and the residual form its directions); the hints name R's
    fitReadout(), not the engine's fit_readout."""
    readout = getattr(model, "readout_", None)
    if readout is None:
        raise ValueError(
            "this model has no gene-space readout (saved by twinpurify 0.1.0, fitted out of core by an earlier "
            "version, or on fewer than 3 tumors): add one with fitReadout(model, x, normal)"
        )
    if residual and readout.directions is None:
        raise ValueError(
            "this model has no contamination directions (saved before the residual form existed, or fitted "
            "without normals): add them with fitReadout(model, x, normal) on tumors and normals, or use "
            "residual = FALSE"
        )


def fit_readout(
    files: dict,
    tvalues: Any,
    tsamples: Any,
    tgenes: Any,
    nvalues: Any = None,
    nsamples: Any = None,
    ngenes: Any = None,
    fill_missing: Optional[str] = None,
    warn: Optional[Callable] = None,
) -> Any:
    """The model saved in `files` (an R model's `files` slot) with its readout refitted on these tumors and,
    when given, normals (which set the contamination directions).

    Rebuilt from the saved files, not the live model: R objects are values, and the live model is shared by
    every R copy of the original through its cache environment.
    """
    model = model_from_files(files, warn=warn)
    normal = None if nvalues is None else samples_by_genes(nvalues, nsamples, ngenes)
    with _r_side(None, warn):
        model.fit_readout(samples_by_genes(tvalues, tsamples, tgenes), normal=normal, fill_missing=fill_missing)
    return model


def purified(
    model: Any,
    values: Any,
    samples: Any,
    genes: Any,
    fill_missing: Optional[str] = None,
    warn: Optional[Callable] = None,
    residual: bool = False,
) -> dict[str, Any]:
    """Purified expression (samples x model genes) as a float64 array plus the gene names."""
    _check_readout(model, residual)
    with _r_side(None, warn):
        P = model.purified_expression(
            samples_by_genes(values, samples, genes), fill_missing=fill_missing, residual=bool(residual)
        )
    return {"values": np.asarray(P, dtype=np.float64), "genes": [str(g) for g in P.columns]}


def _gene_sets_from_r(gene_sets: Any) -> Any:
    """R's named list of character vectors arrives as a dict of lists or of strings (length-1 vectors)."""
    if isinstance(gene_sets, dict):
        return {str(k): ([v] if isinstance(v, str) else list(v)) for k, v in gene_sets.items()}
    return gene_sets  # a data.frame (pandas) or a GMT path


def pathway_activity(
    model: Any,
    values: Any,
    samples: Any,
    genes: Any,
    gene_sets: Any,
    method: str,
    min_size: Any,
    purified: bool,
    fill_missing: Optional[str] = None,
    warn: Optional[Callable] = None,
    residual: bool = False,
) -> dict[str, Any]:
    """Pathway scores (samples x pathways) as a float64 array, with the pathway names and set sizes.

    Python warnings (e.g. gene sets dropped for too small an overlap) go to `warn` (R warnings).
    """
    if purified:  # raw scores (purified=False) need no readout
        _check_readout(model, residual)
    with _r_side(None, warn):
        act = model.pathway_activity(
            samples_by_genes(values, samples, genes),
            None if gene_sets is None else _gene_sets_from_r(gene_sets),
            method=method,
            min_size=_whole(min_size),
            purified=bool(purified),
            fill_missing=fill_missing,
            residual=bool(residual),
        )
    return {
        "values": np.asarray(act, dtype=np.float64),
        "pathways": [str(c) for c in act.columns],
        "n_genes": [int(act.attrs["n_genes"][c]) for c in act.columns],
    }
