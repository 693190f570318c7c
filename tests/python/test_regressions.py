"""Each test here fails if one specific plausible bug is introduced (checked by mutating the code by hand):
lowest- instead of highest-variance genes, no standardisation, missing genes filled with 0 instead of the
training mean, n_mix ignored, a constant learning rate, a sign flip in contrastive PCA's direct branch."""

import numpy as np
import pandas as pd
import pytest
import torch
from twinpurify import ContrastivePCA, TwinPurify
from twinpurify.augment import ViewConfig, ViewGenerator
from twinpurify.data import Matrix, Preprocessor


def _m(df):
    return Matrix(df.to_numpy(np.float32), list(df.index), list(df.columns), True, True)


def test_gene_selection_keeps_the_most_variable_genes():
    rng = np.random.default_rng(0)
    sds = 1.25 ** np.arange(30)  # well separated: sampling noise cannot reorder them
    x = pd.DataFrame(rng.normal(5, 1, (200, 30)) * sds, columns=[f"g{j}" for j in range(30)])
    pp = Preprocessor("log2", n_genes=5).fit(_m(x))
    assert pp.genes_ == [f"g{j}" for j in range(25, 30)]


def test_profiles_are_standardised_on_the_training_tumors(log_pair):
    t, _ = log_pair
    pp = Preprocessor("log2", n_genes=50).fit(_m(t))
    Xs = pp.transform(_m(t))
    np.testing.assert_allclose(Xs.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(Xs.std(0), 1, atol=1e-3)


def test_missing_genes_are_filled_with_the_training_mean(log_pair):
    t, n = log_pair
    m = TwinPurify(4, hidden_dims=(8,), projector_dims=(8,), max_epochs=1, n_genes=50, random_state=0, verbose=False)
    m.fit(t, n)
    gone = m.genes_[:5]
    filled = m.transform(t.drop(columns=gone), fill_missing="mean")
    by_hand = t.copy()
    by_hand[gone] = m.preprocessor_.mean_[:5]  # the training mean on the log scale
    np.testing.assert_allclose(filled.to_numpy(), m.transform(by_hand).to_numpy(), atol=1e-5)


@pytest.mark.parametrize("n_mix,expect_single", [(1, True), (3, False)])
def test_views_mix_n_mix_normals(n_mix, expect_single):
    g, blocks = 30, 3
    normal_lin = np.ones((blocks, g))
    for k in range(blocks):
        normal_lin[k, k * 10 : (k + 1) * 10] = 1000.0  # each normal is high in its own block of genes
    views = ViewGenerator(
        torch.tensor(np.log2(normal_lin), dtype=torch.float32),
        torch.zeros(g),
        torch.ones(g),
        ViewConfig(beta_max=0.9, n_mix=n_mix, mask_prob=0.0, noise_std=0.0),
    )
    x = views(torch.ones(400, g), torch.Generator().manual_seed(0))
    lin = torch.exp2(x).numpy()
    raised = np.stack([(lin[:, k * 10 : (k + 1) * 10] > 5).all(1) for k in range(blocks)], 1).sum(1)
    raised = raised[lin.max(1) > 50]  # views with a visible background
    if expect_single:
        assert (raised == 1).all()
    else:
        assert (raised >= 2).mean() > 0.5


def test_learning_rate_warms_up_then_decays(log_pair):
    t, n = log_pair
    m = TwinPurify(4, hidden_dims=(8,), projector_dims=(8,), max_epochs=40, lr=1e-3, random_state=0, verbose=False)
    m.fit(t, n)
    lr = np.array([h["lr"] for h in m.history_])
    assert lr.max() == pytest.approx(1e-3, rel=0.05)
    assert lr[0] < lr.max() and lr[-1] < 0.05 * lr.max()  # warm-up, then cosine decay to ~0
    assert np.all(np.diff(lr[np.argmax(lr) :]) <= 1e-12)


def test_contrastive_pca_direct_branch_matches_the_eigenproblem(log_pair):
    t, n = log_pair
    m = ContrastivePCA(3, alpha=2.0, n_genes=20, verbose=False).fit(t, n)  # 20 genes < 72 samples: direct branch
    Xt = m.preprocessor_.transform(_m(t)).astype(np.float64)
    Xn = m.preprocessor_.transform(_m(n[t.columns])).astype(np.float64)
    Xt -= Xt.mean(0)
    Xn -= Xn.mean(0)
    w, v = np.linalg.eigh(Xt.T @ Xt / len(Xt) - 2.0 * Xn.T @ Xn / len(Xn))
    top = v[:, np.argsort(-w)[:3]].T
    np.testing.assert_allclose(np.abs(m.components_ @ top.T), np.eye(3), atol=1e-3)
    np.testing.assert_allclose(m.explained_variance_, np.sort(w)[::-1][:3], rtol=1e-4)
