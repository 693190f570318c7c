"""Pathway activity scores of expression profiles (raw or purified), offline.

Gene sets come as

- a dict of gene lists (``{"HYPOXIA": ["VEGFA", ...]}``, every weight 1), or of ``{gene: weight}`` dicts;
- a weighted net, a DataFrame with columns ``source``, ``target`` and optionally ``weight``
  (decoupler's format);
- the path of a GMT file (`read_gmt`);

and `progeny()` gives the default resource shipped with the package (PROGENy footprints,
Apache-2.0; see ``twinpurify/data/README.md``). Nothing is downloaded.

The scores themselves come from decoupler-py (`decoupler.mt`), the maintained implementation of
these methods, run on the net given here:

- ``"ulm"``: univariate linear model, the t-value of the slope of a sample's genes on the set's
  weights (0 for genes outside the set), over all genes measured;
- ``"wmean"``: the weighted mean of the set's genes, sum(w x) / sum(|w|);
- ``"zscore"``: (weighted mean of the set - mean of all genes) * sqrt(set size) / sd of all genes;
- ``"aucell"``: rank-based, the area under the recovery curve of the set's genes among the
  sample's top-ranked genes (weights and signs ignored), so it does not depend on the scale.
  Tied values are ranked in a fixed order of the gene names (decoupler's seeded shuffle of the
  genes sorted by name), so the scores do not depend on the order of the columns.

This module adds what decoupler leaves to its caller: reading every gene-set form above, matching
genes with an explicit minimum overlap (pathways with fewer than `min_size` of their genes measured
are dropped with a warning naming them, as are sets holding every measured gene that a method cannot
score; none left is an error), and pandas in, pandas out.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np
import pandas as pd

from .data import _preview
from .settings import warn_user

METHODS = ("ulm", "wmean", "zscore", "aucell")
PathLike = Union[str, os.PathLike]


class GeneSetError(ValueError):
    """Gene sets that cannot be read or do not match the data."""


def read_gmt(path: PathLike) -> dict[str, list[str]]:
    """Read a GMT file: one set per line, ``name<TAB>description<TAB>gene<TAB>gene...``.

    GMT is the usual exchange format of gene-set collections (MSigDB and others); reading it
    strictly here means a malformed file fails with its file and line rather than scoring a wrong
    set. Blank lines are skipped; a line with no genes, a repeated set name or an empty name is an
    error naming the file and line. Duplicated genes within a set are kept once. The description
    field is ignored.

    Parameters
    ----------
    path : str or os.PathLike
        The GMT file (UTF-8 text, with or without a byte order mark).

    Returns
    -------
    dict of str to list of str
        Gene-set name to its genes, in file order; accepted as `gene_sets` by `activity`.

    Raises
    ------
    FileNotFoundError
        When `path` is not a file.
    GeneSetError
        For an empty name, a set without genes, a repeated set name, or a file with no sets.

    See Also
    --------
    as_net : the same sets as a weighted net (source, target, weight).

    Examples
    --------
    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = os.path.join(d, "sets.gmt")
    ...     with open(path, "w") as fh:
    ...         _ = fh.write("UP\\tmy description\\tA\\tB\\tB\\nDOWN\\t\\tC\\n")
    ...     read_gmt(path)
    {'UP': ['A', 'B'], 'DOWN': ['C']}
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"gene-set file {p} does not exist")
    sets: dict[str, list[str]] = {}
    with open(p, encoding="utf-8-sig") as fh:  # utf-8-sig: a leading byte order mark is not part of a name
        for i, line in enumerate(fh, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            fields = line.split("\t")
            name = fields[0].strip()
            genes = [g.strip() for g in fields[2:] if g.strip()]
            if not name:
                raise GeneSetError(f"{p}, line {i}: empty gene-set name")
            if len(fields) < 3 or not genes:
                raise GeneSetError(
                    f"{p}, line {i}: set {name!r} lists no genes (GMT lines are name<TAB>description<TAB>genes...)"
                )
            if name in sets:
                raise GeneSetError(f"{p}, line {i}: gene set {name!r} appears twice")
            sets[name] = list(dict.fromkeys(genes))
    if not sets:
        raise GeneSetError(f"{p} holds no gene sets")
    return sets


def as_net(gene_sets: Any) -> pd.DataFrame:
    """Any accepted gene-set form as a net: DataFrame with columns source, target, weight.

    The one form every scorer reads, so that dicts, decoupler-style nets and GMT files are
    checked the same way: weights must be numeric and finite, and a gene may appear only once
    per set.

    Parameters
    ----------
    gene_sets : dict, DataFrame, str or os.PathLike
        A dict of gene lists (every weight 1) or of ``{gene: weight}`` dicts; a DataFrame with
        columns ``source`` and ``target`` and optionally ``weight`` (1 when absent); or the path
        of a GMT file (`read_gmt`).

    Returns
    -------
    DataFrame of shape (n_pairs, 3)
        Columns ``source`` (set name, str), ``target`` (gene, str) and ``weight`` (float), one row
        per gene of each set, with a fresh 0..n-1 index.

    Raises
    ------
    GeneSetError
        For an unsupported type, a net without ``source``/``target`` columns, empty sets, missing
        or non-numeric weights, or a gene listed twice in a set (and see `read_gmt` for files).

    Examples
    --------
    >>> as_net({"UP": ["A", "B"], "MIXED": {"C": 2.0, "D": -1.0}})
      source target  weight
    0     UP      A     1.0
    1     UP      B     1.0
    2  MIXED      C     2.0
    3  MIXED      D    -1.0
    """
    if isinstance(gene_sets, (str, os.PathLike)):
        gene_sets = read_gmt(gene_sets)
    if isinstance(gene_sets, pd.DataFrame):
        missing = {"source", "target"} - set(gene_sets.columns)
        if missing:
            raise GeneSetError(
                f"a gene-set net needs columns source and target (and optionally weight); missing {sorted(missing)}"
            )
        net = gene_sets[["source", "target"]].astype(str).copy()
        net["weight"] = pd.to_numeric(gene_sets["weight"], errors="coerce") if "weight" in gene_sets else 1.0
    elif isinstance(gene_sets, Mapping):
        rows = []
        for name, genes in gene_sets.items():
            if isinstance(genes, Mapping):
                rows += [(str(name), str(g), w) for g, w in genes.items()]
            elif isinstance(genes, (str, bytes)) or not hasattr(genes, "__iter__"):
                raise GeneSetError(f"gene set {name!r} must be a list of genes or a {{gene: weight}} dict")
            else:
                rows += [(str(name), str(g), 1.0) for g in genes]
        net = pd.DataFrame(rows, columns=["source", "target", "weight"])
    else:
        raise GeneSetError(
            "gene_sets must be a dict of gene lists, a DataFrame net (source, target, weight) or a GMT file path; "
            f"got {type(gene_sets).__name__}"
        )
    if net.empty:
        raise GeneSetError("the gene sets are empty")
    w = pd.to_numeric(net["weight"], errors="coerce")
    bad = net.loc[~np.isfinite(w.to_numpy(dtype=float)), "source"].unique()
    if len(bad):
        raise GeneSetError(f"gene sets {_preview(list(bad))} have missing or non-numeric weights")
    net["weight"] = w.astype(float)
    dup = net.duplicated(["source", "target"])
    if dup.any():
        pairs = [f"{s}/{t}" for s, t in net.loc[dup, ["source", "target"]].itertuples(index=False)]
        raise GeneSetError(f"genes listed twice in a set: {_preview(pairs)}")
    return net.reset_index(drop=True)


@lru_cache(maxsize=1)
def _progeny_table() -> pd.DataFrame:
    return pd.read_csv(Path(__file__).with_name("data") / "progeny_human_top100.tsv", sep="\t")


def progeny(top: int = 100) -> pd.DataFrame:
    """PROGENy human pathway footprints as a net: the `top` (<= 100) most responsive genes per pathway.

    14 pathways (Androgen, EGFR, Estrogen, Hypoxia, JAK-STAT, MAPK, NFkB, p53, PI3K, TGFb, TNFa,
    Trail, VEGF, WNT), gene symbols. Shipped with the package (Apache-2.0, Schubert et al. 2018),
    so it works offline; it is the default gene-set resource of `twinpurify.tl.pathway_activity`.
    Footprint weights are signed (genes that go down when the pathway is active have negative
    weights), which suits the ``"ulm"``, ``"wmean"`` and ``"zscore"`` methods of `activity`.

    Parameters
    ----------
    top : int, default 100
        Genes kept per pathway, those with the smallest p-values; between 1 and 100.

    Returns
    -------
    DataFrame of shape (14 * top, 3)
        Columns ``source`` (pathway), ``target`` (gene symbol) and ``weight``, sorted by pathway
        and, within each pathway, by p-value.

    Raises
    ------
    ValueError
        When `top` is not between 1 and 100.

    See Also
    --------
    activity : scores these footprints on expression profiles.

    Examples
    --------
    >>> net = progeny(top=10)
    >>> net.shape
    (140, 3)
    >>> net["source"].nunique()
    14
    >>> list(net.columns)
    ['source', 'target', 'weight']
    """
    if not 1 <= int(top) <= 100:
        raise ValueError(f"top must be between 1 and 100 (the shipped table holds the top 100), got {top}")
    t = _progeny_table()
    t = t.sort_values(["source", "p_value"], kind="stable").groupby("source", sort=True).head(int(top))
    return t[["source", "target", "weight"]].reset_index(drop=True)


def match_net(net: pd.DataFrame, genes: pd.Index, min_size: int, method: Optional[str] = None) -> pd.DataFrame:
    """The net restricted to measured genes; pathways left with fewer than `min_size` genes are dropped.

    With `method`, sets that method cannot score are dropped too: a set holding every measured gene leaves no
    other gene to compare it with (ULM's regression on one weight is undefined, z-score and AUCell give every
    sample the same score), under ``"ulm"`` and ``"zscore"`` when its weights are all equal, under ``"aucell"``
    (which ignores weights) always. Each drop is a warning naming the sets; no set left is a GeneSetError.
    """
    if int(min_size) < 1:
        raise ValueError(f"min_size must be at least 1, got {min_size}")
    kept = net[net["target"].isin(genes)]
    size = kept.groupby("source").size().reindex(net["source"].unique(), fill_value=0)
    small = size[size < int(min_size)]
    if len(small) == len(size):
        raise GeneSetError(
            f"no gene set has {min_size} or more of its genes in the data (best overlap: {int(size.max())} genes, "
            f"for {size.idxmax()}); are the genes named the same way (e.g. symbols vs Ensembl IDs)?"
        )
    if len(small):
        warn_user(
            f"{len(small)} gene set(s) dropped: fewer than min_size={min_size} of their genes in the data "
            f"({_preview([f'{k} ({v})' for k, v in small.items()])})",
        )
    kept = kept[~kept["source"].isin(small.index)]
    whole = _whole_sets(kept, len(genes), method)
    if len(whole):
        why = (
            f"{_preview(whole)} hold every measured gene ({len(genes)})"
            + ("" if method == "aucell" else " with one weight")
            + f", leaving no other gene to compare them with: {method} cannot score them"
        )
        if len(whole) == kept["source"].nunique():
            raise GeneSetError(f"gene set(s) {why}; no gene set left to score")
        warn_user(f"{len(whole)} gene set(s) dropped: {why}")
        kept = kept[~kept["source"].isin(whole)]
    return kept.reset_index(drop=True)


def _whole_sets(net: pd.DataFrame, n_genes: int, method: Optional[str]) -> list[str]:
    """The sets of a matched net that hold all `n_genes` measured genes and that `method` cannot score."""
    if method not in ("ulm", "zscore", "aucell"):
        return []
    by_set = net.groupby("source", sort=False)["weight"]
    whole = by_set.size() == n_genes  # a gene appears once per set (as_net)
    if method != "aucell":
        whole &= by_set.nunique() == 1
    return [str(s) for s in whole.index[whole]]


def activity(expr: Any, gene_sets: Any, method: str = "ulm", min_size: int = 5) -> pd.DataFrame:
    """Pathway activity per sample.

    Parameters
    ----------
    expr : DataFrame of shape (n_samples, n_genes)
        Expression on a log scale (e.g. `purified_expression` output, or log2 CPM), gene names as
        columns; an AnnData is read from `.X` with `.var_names`.
    gene_sets : dict, DataFrame or path
        See the module docstring; `progeny()` for the shipped default.
    method : {"ulm", "wmean", "zscore", "aucell"}, default "ulm"
    min_size : int, default 5
        Smallest number of a set's genes that must be measured for it to be scored. Sets holding every
        measured gene are dropped too (with a warning) where `method` cannot score them (see `match_net`).

    Returns
    -------
    DataFrame of shape (n_samples, n_pathways)
        Scores, samples as rows; ``.attrs["method"]`` and ``.attrs["n_genes"]`` (genes used per pathway).
        Each sample's scores depend on that sample alone (and on which genes `expr` has), not on the other
        samples scored with it; genes at 0 (unexpressed) are scored like any other.

    Raises
    ------
    ValueError
        For a sample with one value for every gene (e.g. an all-zero profile) under ``"ulm"``, ``"zscore"``
        or ``"aucell"``, whose score is undefined; the error names the samples.

    Examples
    --------
    >>> import pandas as pd
    >>> expr = pd.DataFrame([[1.0, 2.0, 0.0, 0.0], [0.0, 0.0, 1.0, 2.0]], index=["s1", "s2"],
    ...                     columns=["A", "B", "C", "D"])
    >>> activity(expr, {"AB": ["A", "B"]}, method="wmean", min_size=2)
        AB
    s1  1.5
    s2  0.0
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    # genes in name order: decoupler breaks AUCell's ties by a seeded shuffle of column positions, so the caller's
    # column order would otherwise change the scores of tied genes
    X = _as_frame(expr).sort_index(axis=1)
    net = match_net(as_net(gene_sets), X.columns, min_size, method)
    mat = X.to_numpy(dtype=np.float64)
    if method != "wmean":
        flat = X.index[np.ptp(mat, axis=1) == 0]
        if len(flat):
            raise ValueError(
                f"samples with one value for every gene (e.g. an all-zero profile) have no {method} score: it needs "
                f"the genes to differ within the sample (method='wmean' scores them): {_preview(list(flat))}"
            )
    es = _score(mat, X.columns, net, method)
    out = pd.DataFrame(es[0], index=X.index, columns=es[1])
    out.attrs["method"] = method
    out.attrs["n_genes"] = net.groupby("source").size().reindex(out.columns).astype(int).to_dict()
    return out


def _as_frame(expr: Any) -> pd.DataFrame:
    if isinstance(expr, pd.DataFrame):
        X = expr
    elif hasattr(expr, "obs_names") and hasattr(expr, "var_names"):  # AnnData
        values = expr.X.toarray() if hasattr(expr.X, "toarray") else np.asarray(expr.X)
        X = pd.DataFrame(values, index=expr.obs_names, columns=expr.var_names)
    else:
        raise TypeError(
            "expr must be a DataFrame (samples x genes, gene names as columns) or an AnnData; "
            f"got {type(expr).__name__}"
        )
    if X.columns.duplicated().any():
        raise GeneSetError(f"duplicated gene names in the data: {_preview(list(X.columns[X.columns.duplicated()]))}")
    try:
        values = X.to_numpy(dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError("expr must hold numbers only") from None
    bad = ~np.isfinite(values).all(axis=1)
    if bad.any():
        raise ValueError(f"samples with missing or infinite values: {_preview(list(X.index[bad]))}")
    return X.set_axis(X.columns.astype(str), axis=1)  # a new frame: the caller's keeps its labels


def _score(mat: np.ndarray, genes: pd.Index, net: pd.DataFrame, method: str) -> tuple[np.ndarray, list[str]]:
    """decoupler's method on (samples x genes, net); returns (scores, pathway names)."""
    try:
        import decoupler as dc
    except ImportError:  # pragma: no cover - decoupler is a dependency of the pathways extra
        raise ImportError(
            "pathway scoring needs decoupler-py: pip install 'twinpurify[pathways]' (or pip install decoupler)"
        ) from None
    data = pd.DataFrame(mat, index=[f"s{i}" for i in range(len(mat))], columns=genes)
    # tmin=1: the minimum size was enforced above, with a message. empty=False: decoupler's default drops the genes
    # that are 0 in every sample given (and all-zero samples) before scoring, which made a sample's scores depend
    # on the other samples scored with it (alone, its unexpressed genes left the regression, the ranks and the sets)
    kw: dict[str, Any] = {"tmin": 1, "empty": False, "verbose": False}
    if method == "ulm":
        es, _ = dc.mt.ulm(data=data, net=net, **kw)
    elif method == "zscore":
        es, _ = dc.mt.zscore(data=data, net=net, flavor="RoKAI", **kw)
    elif method == "wmean":
        es, _ = dc.mt.waggr(data=data, net=net, fun="wmean", times=0, **kw)
    else:  # aucell: ranks only; n_up = decoupler's default (the top 5% of genes, at least one)
        es, _ = dc.mt.aucell(data=data, net=net, **kw)
    es = es.loc[data.index]
    return es.to_numpy(dtype=np.float64), [str(c) for c in es.columns]
