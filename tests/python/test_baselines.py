import numpy as np
import pandas as pd
import pytest
from twinpurify import (
    AutoencoderEmbedding,
    ContrastivePCA,
    InvariantProjection,
    NormalDifference,
    PCAEmbedding,
    RawProfiles,
    load_model,
)
from twinpurify.data import Matrix


@pytest.mark.parametrize(
    "cls,kw,dims",
    [
        (RawProfiles, dict(n_genes=50), 50),
        (PCAEmbedding, dict(n_components=5), 5),
        (ContrastivePCA, dict(n_components=5), 5),
        (NormalDifference, dict(n_components=5), 5),
        (InvariantProjection, dict(n_components=5), 5),
        (AutoencoderEmbedding, dict(n_components=5, hidden_dims=(16,), max_epochs=3, random_state=0), 5),
    ],
)
def test_shapes_names_and_save_load(tmp_path, log_pair, cls, kw, dims):
    t, n = log_pair
    m = cls(verbose=False, **kw)
    Z = m.fit_transform(t, n)
    assert isinstance(Z, pd.DataFrame) and Z.shape == (60, dims) and list(Z.index) == list(t.index)
    m.save(tmp_path / "m")
    again = load_model(tmp_path / "m")
    assert type(again) is cls
    pd.testing.assert_frame_equal(again.transform(t), Z)


def test_baselines_without_normals(log_pair):
    t, _ = log_pair
    assert PCAEmbedding(3, verbose=False).fit(t).transform(t).shape == (60, 3)
    with pytest.raises(ValueError, match="needs normal samples"):
        ContrastivePCA(3, verbose=False).fit(t)


def test_contrastive_pca_low_rank_path_equals_direct(log_pair):
    t, n = log_pair
    wide = ContrastivePCA(4, alpha=2.0, verbose=False).fit(t, n)  # 200 genes > 72 samples: row-space path
    Xt = wide.preprocessor_.transform(Matrix(t.to_numpy(np.float32), list(t.index), list(t.columns), True), "t").astype(
        np.float64
    )
    Xn = wide.preprocessor_.transform(Matrix(n.to_numpy(np.float32), list(n.index), list(n.columns), True), "n").astype(
        np.float64
    )
    Xt -= Xt.mean(0)
    Xn -= Xn.mean(0)
    w, v = np.linalg.eigh(Xt.T @ Xt / len(Xt) - 2.0 * Xn.T @ Xn / len(Xn))
    top = v[:, np.argsort(-w)[:4]].T
    np.testing.assert_allclose(np.abs(wide.components_ @ top.T), np.eye(4), atol=1e-3)  # same axes up to sign
    np.testing.assert_allclose(wide.explained_variance_, np.sort(w)[::-1][:4], rtol=1e-4)


def test_pca_matches_sklearn(log_pair):
    from sklearn.decomposition import PCA

    t, n = log_pair
    m = PCAEmbedding(3, verbose=False).fit(t)
    Xs = m.preprocessor_.transform(Matrix(t.to_numpy(np.float32), list(t.index), list(t.columns), True))
    ref = PCA(3, random_state=0).fit_transform(Xs)
    np.testing.assert_allclose(np.abs(m.transform(t).to_numpy()), np.abs(ref), rtol=1e-3, atol=1e-3)


def test_normal_difference_is_pca_of_the_standardised_unit_target(log_pair):
    from twinpurify import NormalDifference

    t, n = log_pair
    m = NormalDifference(4, verbose=False).fit(t, n)
    genes = m.genes_
    lt, ln = np.exp2(t[genes].to_numpy(np.float64)), np.exp2(n[genes].to_numpy(np.float64))
    d = lt - ln.mean(0)
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    d = (d - d.mean(0)) / d.std(0)
    u, s, vt = np.linalg.svd(d - d.mean(0), full_matrices=False)
    ref = u[:, :4] * s[:4]
    np.testing.assert_allclose(np.abs(m.transform(t).to_numpy()), np.abs(ref), rtol=1e-3, atol=1e-3)


def test_normal_difference_ignores_purity_when_normals_explain_the_rest():
    """Tumors made as p * cancer + (1 - p) * mean normal embed identically whatever p."""
    from twinpurify import NormalDifference

    rng = np.random.default_rng(0)
    g = 40
    normals = np.exp2(rng.normal(4, 1, (8, g)))
    cancers = np.exp2(rng.normal(4, 1, (30, g)))
    nbar = normals.mean(0)
    genes = [f"g{i}" for i in range(g)]

    def tumors(p):
        return pd.DataFrame(
            np.log2(p[:, None] * cancers + (1 - p[:, None]) * nbar), index=[f"t{i}" for i in range(30)], columns=genes
        )

    fit_on = tumors(rng.uniform(0.3, 0.9, 30))
    m = NormalDifference(5, input_scale="log2", n_genes=None, verbose=False)
    m.fit(fit_on, pd.DataFrame(np.log2(normals), columns=genes))
    z_low = m.transform(tumors(np.full(30, 0.3))).to_numpy()
    z_high = m.transform(tumors(np.full(30, 0.95))).to_numpy()
    np.testing.assert_allclose(z_low, z_high, rtol=1e-3, atol=1e-3)


def test_invariant_projection_moves_less_under_mixing_than_pca(cohort):
    """Mixing tumors with normals shifts the invariant projection far less than PCA (relative to spread)."""
    from twinpurify import InvariantProjection

    t, n = cohort.tumors, cohort.normals
    cpm = lambda df: df.div(df.sum(1), axis=0) * 1e6  # noqa: E731
    mixed = 0.6 * cpm(t) + 0.4 * cpm(n).mean(0).to_numpy()  # linear space: 40% extra normal tissue
    shift = {}
    for cls in (PCAEmbedding, InvariantProjection):
        m = cls(5, input_scale="linear", verbose=False).fit(cpm(t), cpm(n))
        z0, z1 = m.transform(cpm(t)).to_numpy(), m.transform(mixed).to_numpy()
        shift[cls.__name__] = np.linalg.norm(z1 - z0) / np.linalg.norm(z0 - z0.mean(0))
    assert shift["InvariantProjection"] < 0.5 * shift["PCAEmbedding"]


def test_invariant_projection_solves_the_generalised_eigenproblem(log_pair):
    """Each direction's tumor variance over its mixing variance equals its eigenvalue, the largest first."""
    from twinpurify import InvariantProjection

    t, n = log_pair
    m = InvariantProjection(3, shrinkage=0.0, verbose=False).fit(t, n)
    assert np.all(np.diff(m.explained_variance_) <= 1e-9)
    Xs = m.preprocessor_.transform(Matrix(t.to_numpy(np.float32), list(t.index), list(t.columns), True))
    tumor_var = (Xs - Xs.mean(0)) @ m.components_.T
    np.testing.assert_allclose(tumor_var.var(0), m.explained_variance_, rtol=1e-3)


def test_linear_embedding_is_blocked_and_row_order_free(monkeypatch):
    import twinpurify as tp
    import twinpurify.baselines as baselines

    c = tp.datasets.simulate_cohort(n_tumors=60, n_normals=10, n_genes=80, seed=2)
    m = tp.PCAEmbedding(5, verbose=False).fit(c.tumors)
    Xs = m.preprocessor_.transform(tp.data.as_matrix(c.tumors))
    whole = m._embed(Xs)
    monkeypatch.setattr(baselines, "PROJECT_BLOCK", 7)
    np.testing.assert_array_equal(m._embed(Xs), whole)  # blocks change nothing
    perm = np.random.default_rng(0).permutation(len(Xs))
    np.testing.assert_array_equal(m._embed(np.ascontiguousarray(Xs[perm])), whole[perm])
    np.testing.assert_allclose(whole, Xs.astype(np.float64) @ m.components_.T.astype(np.float64), rtol=1e-6, atol=1e-6)
