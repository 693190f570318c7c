import numpy as np
import pytest
import twinpurify as tp


def test_obsm_for_every_sample(cohort, fast):
    adata = cohort.to_anndata()
    model = tp.tl.twinpurify(adata, **fast)
    assert adata.obsm["X_twinpurify"].shape == (72, 8)
    assert adata.uns["X_twinpurify"]["params"]["n_components"] == 8
    tumors = adata[adata.obs.sample_type == "tumor"]
    np.testing.assert_allclose(adata.obsm["X_twinpurify"][:60], model.transform(tumors), rtol=1e-6)


def test_copy_and_layer(cohort, fast):
    adata = cohort.to_anndata()
    adata.layers["counts"] = adata.X.copy()
    out = tp.tl.twinpurify(adata, layer="counts", key_added="X_tp", copy=True, **fast)
    assert "X_tp" in out.obsm and "X_tp" not in adata.obsm


def test_errors(cohort, fast):
    adata = cohort.to_anndata()
    with pytest.raises(ValueError, match="normal_key 'tissue' is not a column of adata.obs"):
        tp.tl.twinpurify(adata, normal_key="tissue", **fast)
    with pytest.raises(ValueError, match="no sample has sample_type == 'adjacent'"):
        tp.tl.twinpurify(adata, normal_value="adjacent", **fast)
    with pytest.raises(TypeError, match="takes an AnnData"):
        tp.tl.twinpurify(cohort.tumors, **fast)


def test_estimator_takes_one_anndata(cohort, fast):
    adata = cohort.to_anndata()
    Z = tp.TwinPurify(**fast).fit_transform(adata, normal_key="sample_type")
    Z2 = tp.TwinPurify(**fast).fit_transform(cohort.tumors, cohort.normals)
    np.testing.assert_allclose(Z, Z2.to_numpy(), rtol=1e-5, atol=1e-6)
