"""What the R package calls through reticulate: R-shaped inputs in, engine objects out.

R hands over assays as genes x samples (a Fortran-ordered float64 array or a scipy CSC matrix for a
dgCMatrix) and every number as a double; this module turns them into the engine's samples x genes
DataFrames and typed keyword arguments, so the R code stays a thin shell.
"""

from __future__ import annotations

import inspect
from typing import Any, Optional

import numpy as np
import pandas as pd

from .estimator import TwinPurify


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
    """R doubles -> ints where the engine wants ints; length-1 vectors -> tuples for layer sizes."""
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
        elif k in ("n_components", "n_genes", "n_mix", "patience", "random_state", "batch_size", "max_epochs"):
            out[k] = _whole(v)
        else:
            out[k] = float(v)
    return out


def fit(values: Any, samples: Any, genes: Any, is_normal: Any, params: Optional[dict]) -> TwinPurify:
    X = samples_by_genes(values, samples, genes)
    mask = np.asarray(_as_list(is_normal), dtype=bool)
    model = TwinPurify(**coerce_params(params))
    return model.fit(X[~mask], X[mask])


def fit_pair(
    tvalues: Any, tsamples: Any, tgenes: Any, nvalues: Any, nsamples: Any, ngenes: Any, params: Optional[dict]
) -> TwinPurify:
    model = TwinPurify(**coerce_params(params))
    return model.fit(samples_by_genes(tvalues, tsamples, tgenes), samples_by_genes(nvalues, nsamples, ngenes))


def embed(model: TwinPurify, values: Any, samples: Any, genes: Any, fill_missing: Optional[str] = None) -> np.ndarray:
    """Embedding as a float64 array (R's numeric); names are set on the R side."""
    Z = model.transform(samples_by_genes(values, samples, genes), fill_missing=fill_missing)
    return np.asarray(Z, dtype=np.float64)


def info(model: TwinPurify) -> dict[str, Any]:
    out = model.embedding_info()
    out["params"] = {k: (list(v) if isinstance(v, tuple) else v) for k, v in model.get_params().items()}
    return out


def simulate(n_tumors: Any, n_normals: Any, n_genes: Any, seed: Any) -> dict[str, Any]:
    """The simulated cohort as plain arrays and lists (reticulate 1.28 trips over pandas indexes)."""
    from .datasets import simulate_cohort

    c = simulate_cohort(n_tumors=int(n_tumors), n_normals=int(n_normals), n_genes=int(n_genes), seed=int(seed))
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


def purified(model: Any, values: Any, samples: Any, genes: Any, fill_missing: Optional[str] = None) -> dict[str, Any]:
    """Purified expression (samples x model genes) as a float64 array plus the gene names."""
    P = model.purified_expression(samples_by_genes(values, samples, genes), fill_missing=fill_missing)
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
) -> dict[str, Any]:
    """Pathway scores (samples x pathways) as a float64 array, with the pathway names and set sizes.

    Python warnings (e.g. gene sets dropped for too small an overlap) are returned under "warnings"
    for the R side to raise as R warnings.
    """
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        act = model.pathway_activity(
            samples_by_genes(values, samples, genes),
            None if gene_sets is None else _gene_sets_from_r(gene_sets),
            method=method,
            min_size=_whole(min_size),
            purified=bool(purified),
            fill_missing=fill_missing,
        )
    return {
        "warnings": [str(w.message) for w in caught if issubclass(w.category, UserWarning)],
        "values": np.asarray(act, dtype=np.float64),
        "pathways": [str(c) for c in act.columns],
        "n_genes": [int(act.attrs["n_genes"][c]) for c in act.columns],
    }
