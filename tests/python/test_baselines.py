import numpy as np
import pandas as pd
import pytest

from twinpurify import AutoencoderEmbedding, ContrastivePCA, PCAEmbedding, RawProfiles, load_model
from twinpurify.data import Matrix


@pytest.mark.parametrize("cls,kw,dims", [
    (RawProfiles, dict(n_genes=50), 50),
    (PCAEmbedding, dict(n_components=5), 5),
    (ContrastivePCA, dict(n_components=5), 5),
    (AutoencoderEmbedding, dict(n_components=5, hidden_dims=(16,), max_epochs=3, random_state=0), 5),
])
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
    Xt = wide.preprocessor_.transform(Matrix(t.to_numpy(np.float32), list(t.index), list(t.columns), True), "t").astype(np.float64)
    Xn = wide.preprocessor_.transform(Matrix(n.to_numpy(np.float32), list(n.index), list(n.columns), True), "n").astype(np.float64)
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
