"""R <-> Python: the same data and the same answer on both sides.

Container conversions use rpy2 + anndata2ri in this process. The R package itself runs over
reticulate, which must not share a process with rpy2 (a fatal GIL error at R garbage collection),
so its side (twinPurify(), saveTwinPurify(), predict()) runs in an `Rscript` subprocess and the
two sides exchange files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

INSTALL_HINT = (
    "install R with Debian's r-base-core r-bioc-singlecellexperiment r-cran-reticulate and the "
    "Python extras rpy2<3.6 anndata2ri (make setup does all of it)"
)


def _require_r():
    missing = []
    if shutil.which("Rscript") is None:
        missing.append("R (Rscript)")
    try:
        import anndata2ri  # noqa: F401  (import check only)
        import rpy2.robjects  # noqa: F401
    except Exception as exc:  # ImportError, or rpy2 failing to find R
        missing.append(f"rpy2/anndata2ri ({exc})")
    if missing:
        pytest.fail(f"R round-trip tests need {', '.join(missing)}: {INSTALL_HINT}", pytrace=False)


@pytest.fixture(scope="module")
def r():
    _require_r()
    import rpy2.robjects as ro

    ro.r("suppressPackageStartupMessages({library(SingleCellExperiment); library(Matrix)})")
    return ro


def to_anndata(ro, name: str):
    import anndata2ri
    from rpy2.robjects.conversion import localconverter

    obj = ro.globalenv[name]  # fetched outside the converter: an RS4, not a half-converted object
    with localconverter(anndata2ri.converter):
        return ro.conversion.get_conversion().rpy2py(obj)


def to_r(ro, adata, name: str):
    import anndata2ri
    from rpy2.robjects.conversion import localconverter

    with localconverter(anndata2ri.converter):
        ro.globalenv[name] = ro.conversion.get_conversion().py2rpy(adata)


MAKE_SE = """
m <- matrix(c(5L, 0L, 7L, 1L, 9L, 3L, 2L, 8L, 4L, 6L, 0L, 11L), 3, 4,
            dimnames = list(c("TP53", "ESR1", "KRT5"), c("S_b", "S_a", "S_d", "S_c")))
se <- SummarizedExperiment(
    assays = list(counts = m, logc = log2(m + 1)),
    colData = DataFrame(type = factor(c("tumor", "normal", "tumor", "tumor"), levels = c("tumor", "normal")),
                        purity = c(0.5, NA, 0.7, 0.9), row.names = colnames(m)),
    rowData = DataFrame(symbol_len = c(4L, 4L, 4L)))
sce <- as(se, "SingleCellExperiment")
sp <- sce
assay(sp, "counts") <- as(m * 1.0, "CsparseMatrix")
"""


def test_dense_sce_to_anndata_orientation_names_values(r):
    r.r(MAKE_SE)
    ad = to_anndata(r, "sce")
    m = np.array(r.r("m"))  # genes x samples
    assert ad.shape == (4, 3)  # samples x genes
    assert list(ad.obs_names) == ["S_b", "S_a", "S_d", "S_c"]  # R's column order kept, not sorted
    assert list(ad.var_names) == ["TP53", "ESR1", "KRT5"]
    np.testing.assert_array_equal(ad.X, m.T)
    assert ad.X.dtype.kind == "i"  # integer counts stay integer
    np.testing.assert_allclose(ad.layers["logc"], np.log2(m.T + 1))
    assert ad.layers["logc"].dtype == np.float64
    assert isinstance(ad.obs["type"].dtype, pd.CategoricalDtype)
    assert list(ad.obs["type"].cat.categories) == ["tumor", "normal"]  # level order, not alphabetical
    assert list(ad.obs["type"]) == ["tumor", "normal", "tumor", "tumor"]
    assert ad.obs["purity"].dtype == np.float64 and np.isnan(ad.obs["purity"].iloc[1])


def test_sparse_dgCMatrix_round_trip(r):
    import scipy.sparse as sp

    r.r(MAKE_SE)
    ad = to_anndata(r, "sp")
    assert sp.issparse(ad.X)
    np.testing.assert_array_equal(ad.X.toarray(), np.array(r.r("m")).T)
    to_r(r, ad, "back")
    assert list(r.r('class(assay(back, "X"))')) == ["dgCMatrix"]
    assert list(r.r("dim(back)")) == [3, 4]  # genes x samples again
    assert list(r.r("colnames(back)")) == ["S_b", "S_a", "S_d", "S_c"]
    assert r.r('all(as.matrix(assay(back, "X")) == m)')[0]


def test_anndata_to_sce_and_back(r):
    import anndata as ad_mod

    X = np.arange(12, dtype=np.float64).reshape(4, 3) / 7
    obs = pd.DataFrame(
        {"grp": pd.Categorical(["b", "a", "b", "a"], categories=["b", "a"]), "age": [30, 40, 50, 60]},
        index=["x4", "x1", "x3", "x2"],
    )
    adata = ad_mod.AnnData(X, obs=obs, var=pd.DataFrame(index=["g3", "g1", "g2"]))
    to_r(r, adata, "from_py")
    assert list(r.r("rownames(from_py)")) == ["g3", "g1", "g2"]
    assert list(r.r("colnames(from_py)")) == ["x4", "x1", "x3", "x2"]
    np.testing.assert_allclose(np.array(r.r('as.matrix(assay(from_py, "X"))')), X.T)
    assert list(r.r("levels(from_py$grp)")) == ["b", "a"]
    again = to_anndata(r, "from_py")
    np.testing.assert_allclose(np.asarray(again.X.toarray() if hasattr(again.X, "toarray") else again.X), X)
    assert list(again.obs["age"]) == [30, 40, 50, 60]


def test_read_summarized_experiment_from_rds(r, tmp_path):
    from twinpurify import InputError
    from twinpurify.io import read_summarized_experiment

    r.r(MAKE_SE)
    rds = tmp_path / "se.rds"
    r.r(f'saveRDS(se, "{rds}")')
    ad = read_summarized_experiment(rds, trusted=True)  # a plain SummarizedExperiment, converted for the user
    np.testing.assert_array_equal(ad.X, np.array(r.r("m")).T)
    ad2 = read_summarized_experiment(rds, assay="logc", trusted=True)
    np.testing.assert_allclose(ad2.X, np.log2(np.array(r.r("m")).T + 1))
    assert list(ad2.obs_names) == ["S_b", "S_a", "S_d", "S_c"]
    with pytest.raises(InputError, match="no assay named 'vst'; assays: counts, logc"):
        read_summarized_experiment(rds, assay="vst", trusted=True)
    r.r(f'saveRDS(list(a = 1), "{tmp_path / "list.rds"}")')
    with pytest.raises(InputError, match="not a SummarizedExperiment but a list"):
        read_summarized_experiment(tmp_path / "list.rds", trusted=True)
    with pytest.raises(InputError, match="no such file"):
        read_summarized_experiment(tmp_path / "missing.rds", trusted=True)


# ---- the R package (reticulate) in a subprocess ------------------------------------------------

PARAMS_R = (
    "nComponents = 6, hiddenDims = 32, projectorDims = c(32, 32), maxEpochs = 5, randomState = 7, verbose = FALSE"
)
PARAMS_PY = dict(
    n_components=6, hidden_dims=(32,), projector_dims=(32, 32), max_epochs=5, random_state=7, verbose=False
)


def run_r(script: str, cwd: Path) -> str:
    env = dict(os.environ, RETICULATE_PYTHON=sys.executable, LD_LIBRARY_PATH="")
    res = subprocess.run(["Rscript", "-e", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if res.returncode != 0:
        pytest.fail(f"Rscript failed ({res.returncode}):\n{res.stdout[-2000:]}\n{res.stderr[-3000:]}", pytrace=False)
    return res.stdout


@pytest.fixture(scope="module")
def r_fit(tmp_path_factory, r):
    """R fits twinPurify(se) and saves the cohort, the embedding and the model."""
    d = tmp_path_factory.mktemp("rfit")
    run_r(
        textwrap.dedent(f"""
        suppressPackageStartupMessages(library(twinpurify))
        if (!requireNamespace("twinpurify", quietly = TRUE)) stop("R package twinpurify is not installed (make setup)")
        se <- simulateTwinPurifyCohort(nTumors = 50, nNormals = 10, nGenes = 120, seed = 4)
        se <- se[, c(seq(2, ncol(se), 2), seq(1, ncol(se), 2))]   # interleave: order must survive
        saveRDS(se, "se.rds")
        emb <- twinPurify(se, normal = se$sample_type == "normal", {PARAMS_R})
        write.csv(emb, "emb_r.csv")
        saveTwinPurify(attr(emb, "model"), "model_r")
    """),
        d,
    )
    return d


def test_same_fit_from_r_and_python(r_fit):
    from twinpurify import TwinPurify
    from twinpurify.io import read_summarized_experiment

    adata = read_summarized_experiment(r_fit / "se.rds", trusted=True)
    emb_r = pd.read_csv(r_fit / "emb_r.csv", index_col=0)
    Z = TwinPurify(**PARAMS_PY).fit_transform(adata, normal_key="sample_type", normal_value="normal")
    tumors = adata.obs_names[adata.obs["sample_type"] != "normal"]
    assert list(emb_r.index) == list(tumors)  # same samples, same (non-sorted) order
    Z = np.asarray(Z)
    np.testing.assert_allclose(Z, emb_r.to_numpy(), rtol=1e-6, atol=1e-6)


def test_model_saved_in_r_loads_in_python(r_fit):
    from twinpurify import TwinPurify
    from twinpurify.io import read_summarized_experiment

    adata = read_summarized_experiment(r_fit / "se.rds", trusted=True)
    model = TwinPurify.load(r_fit / "model_r")
    assert model.get_params()["n_components"] == 6 and model.get_params()["hidden_dims"] == (32,)
    tumors = adata[adata.obs["sample_type"] != "normal"]
    Z = model.transform(tumors.to_df())
    np.testing.assert_allclose(
        Z.to_numpy(), pd.read_csv(r_fit / "emb_r.csv", index_col=0).to_numpy(), rtol=1e-5, atol=1e-5
    )


def test_model_saved_in_python_predicts_identically_in_r(r_fit, tmp_path):
    from twinpurify import TwinPurify
    from twinpurify.io import read_summarized_experiment

    adata = read_summarized_experiment(r_fit / "se.rds", trusted=True)
    model = TwinPurify(**{**PARAMS_PY, "random_state": 11}).fit(adata, normal_key="sample_type")
    model.save(tmp_path / "model_py")
    Z = model.transform(adata.to_df())
    shutil.copy(r_fit / "se.rds", tmp_path / "se.rds")
    run_r(
        textwrap.dedent("""
        suppressPackageStartupMessages(library(twinpurify))
        m <- loadTwinPurify("model_py")
        se <- readRDS("se.rds")
        write.csv(predict(m, se), "pred_r.csv")
    """),
        tmp_path,
    )
    pred_r = pd.read_csv(tmp_path / "pred_r.csv", index_col=0)
    assert list(pred_r.index) == list(adata.obs_names)
    np.testing.assert_allclose(pred_r.to_numpy(), Z.to_numpy(), rtol=1e-5, atol=1e-5)
