"""The gene-space readout: ridge from embedding to genes, saved with the model, purified expression."""

import json

import numpy as np
import pandas as pd
import pytest
import twinpurify as tp
from sklearn.exceptions import NotFittedError
from twinpurify.persistence import ModelFormatError
from twinpurify.readout import Readout, contamination_directions


def test_readout_matches_ridge_with_the_chosen_alpha():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(80, 5)) * [1, 2, 3, 4, 5]
    Y = Z @ rng.normal(size=(5, 30)) + rng.normal(0, 0.5, (80, 30))
    r = Readout.fit(Z, Y)
    # reference: ridge on standardised Z with the same (absolute) penalty, by the normal equations
    zs = (Z - Z.mean(0)) / Z.std(0)
    a = r.alpha * len(Z)
    beta = np.linalg.solve(zs.T @ zs + a * np.eye(5), zs.T @ (Y - Y.mean(0)))
    ref = zs @ beta + Y.mean(0)
    np.testing.assert_allclose(r.predict(Z), ref, rtol=1e-4, atol=1e-4)
    assert 0.5 < r.train_r2 <= 1.0


def test_readout_alpha_follows_the_noise():
    """Leave-one-out choice: pure noise targets get a larger ridge than a near-exact linear map."""
    rng = np.random.default_rng(1)
    Z = rng.normal(size=(60, 4))
    exact = Readout.fit(Z, Z @ rng.normal(size=(4, 10)) + rng.normal(0, 1e-3, (60, 10)))
    noise = Readout.fit(Z, rng.normal(size=(60, 10)))
    assert exact.alpha < noise.alpha
    assert noise.train_r2 < 0.3 < exact.train_r2


def test_constant_embedding_columns_are_ignored():
    rng = np.random.default_rng(2)
    Z = np.column_stack([rng.normal(size=40), np.ones(40)])
    r = Readout.fit(Z, np.outer(Z[:, 0], [1.0, -2.0]))
    assert np.isfinite(r.coef).all() and r.coef[1].tolist() == [0.0, 0.0]


def test_too_few_samples():
    with pytest.raises(ValueError, match="at least 3"):
        Readout.fit(np.ones((2, 2)), np.ones((2, 3)))


@pytest.mark.parametrize("make", [lambda f: tp.PCAEmbedding(6, verbose=False), lambda f: tp.TwinPurify(**f)])
def test_purified_expression_round_trip(cohort, fast, make, tmp_path):
    m = make(fast).fit(cohort.tumors, cohort.normals)
    P = m.purified_expression(cohort.tumors)
    assert isinstance(P, pd.DataFrame) and list(P.columns) == m.genes_ and list(P.index) == list(cohort.tumors.index)
    assert np.isfinite(P.to_numpy()).all()
    # on the model's log2 scale: the per-gene mean over the training tumors is the training mean
    np.testing.assert_allclose(P.mean().to_numpy(), m.preprocessor_.mean_, atol=1e-3)
    m.save(tmp_path / "m")
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    assert cfg["readout"]["alpha"] == pytest.approx(m.readout_.alpha)
    m2 = tp.load_model(tmp_path / "m")
    pd.testing.assert_frame_equal(m2.purified_expression(cohort.tumors), P)
    arr = m.purified_expression(cohort.tumors.to_numpy())
    assert isinstance(arr, np.ndarray) and arr.shape == P.shape


def test_purified_expression_is_what_the_embedding_carries(cohort):
    """A 1-component model can only give back a rank-1 (plus mean) profile."""
    m = tp.PCAEmbedding(1, verbose=False).fit(cohort.tumors)
    P = m.purified_expression(cohort.tumors).to_numpy()
    s = np.linalg.svd(P - P.mean(0), compute_uv=False)
    assert s[1] < 1e-3 * s[0]


def test_models_without_readout_load_and_say_how_to_add_one(cohort, tmp_path):
    from pathlib import Path

    old = Path(__file__).parent / "data" / "model_format1"
    m = tp.load_model(old / "model")  # written by twinpurify 0.1.0, before readouts
    tumors = pd.read_csv(old / "tumors.csv", index_col=0)
    assert getattr(m, "readout_", None) is None
    with pytest.raises(NotFittedError, match="fit_readout"):
        m.purified_expression(tumors)
    m.fit_readout(tumors)
    assert m.purified_expression(tumors).shape == (len(tumors), len(m.genes_))
    with pytest.raises(NotFittedError, match="contamination directions"):
        m.purified_expression(tumors, residual=True)
    m.fit_readout(tumors, normal=pd.read_csv(old / "normals.csv", index_col=0))
    assert m.purified_expression(tumors, residual=True).shape == (len(tumors), len(m.genes_))


def _cut_readout_array(folder, name, edit=lambda a: a[:-1]):
    """Edit one readout array (default: drop its last row) and re-sign the folder, as a careless edit would."""
    from safetensors.numpy import load_file, save_file
    from twinpurify.persistence import _sha256

    w = folder / "weights.safetensors"
    arrays = load_file(str(w))
    arrays[name] = np.ascontiguousarray(edit(arrays[name]))
    save_file(arrays, str(w))
    cfg = json.loads((folder / "config.json").read_text())
    cfg["weights_sha256"] = _sha256(w)
    (folder / "config.json").write_text(json.dumps(cfg))


def test_readout_shape_mismatch_is_a_format_error(cohort, tmp_path):
    tp.PCAEmbedding(4, verbose=False).fit(cohort.tumors).save(tmp_path / "m")
    _cut_readout_array(tmp_path / "m", "readout.coef")
    with pytest.raises(ModelFormatError, match="readout"):
        tp.load_model(tmp_path / "m")


def test_log_expression_is_the_models_own_log2(cohort):
    m = tp.PCAEmbedding(4, verbose=False).fit(cohort.tumors)
    L = m.log_expression(cohort.tumors)
    np.testing.assert_allclose(L.mean().to_numpy(), m.preprocessor_.mean_, rtol=1e-5, atol=1e-4)


def test_streamed_fit_does_not_depend_on_the_block_size():
    """The two-pass, block-wise fit (the genes are never held whole) equals one block of everything."""
    rng = np.random.default_rng(3)
    Z = rng.normal(size=(101, 6))
    Y = Z @ rng.normal(size=(6, 40)) + rng.normal(0, 0.7, (101, 40))
    whole = Readout.fit(Z, Y, block=101)
    for block in (1, 7, 50):
        r = Readout.fit(Z, Y, block=block)
        assert r.alpha == whole.alpha
        np.testing.assert_allclose(r.coef, whole.coef, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(r.intercept, whole.intercept, rtol=1e-5, atol=1e-6)
        assert r.train_r2 == pytest.approx(whole.train_r2)


def test_contamination_directions_span_the_normal_shift_and_the_normals_variation():
    rng = np.random.default_rng(4)
    genes = 12
    tumor_mean = rng.normal(size=genes)
    a, b = rng.normal(size=genes), rng.normal(size=genes)
    shift = rng.normal(size=genes)
    normals = tumor_mean + shift + np.outer(rng.normal(size=9), a) + np.outer(rng.normal(size=9), b)
    Q = contamination_directions(tumor_mean, normals)
    assert Q.shape == (genes, 3) and Q.dtype == np.float32  # the shift plus two directions of variation
    np.testing.assert_allclose(Q.T @ Q, np.eye(3), atol=1e-5)
    for v in (normals.mean(0) - tumor_mean, a, b):  # each lies in the span
        np.testing.assert_allclose(Q @ (Q.T @ v), v, rtol=1e-4, atol=1e-4)
    assert contamination_directions(tumor_mean, normals, n_normal=0).shape == (genes, 1)
    # one normal: only the shift; a normal equal to the tumors' mean: no direction at all
    assert contamination_directions(tumor_mean, normals[:1]).shape == (genes, 1)
    assert contamination_directions(tumor_mean, tumor_mean[None, :]).shape == (genes, 0)
    # ... also when the normal went through float32 (rounding is not a direction)
    assert contamination_directions(tumor_mean, tumor_mean[None, :].astype(np.float32)).shape == (genes, 0)
    # a larger scale changes no direction (the tolerance grows with the data's length)
    big = contamination_directions(tumor_mean * 1e6, normals * 1e6)
    np.testing.assert_allclose(np.abs(big.T @ Q), np.eye(3), atol=1e-4)
    # on the standardised scale a shift of 1e-7 sd per gene is rounding, not a direction
    assert contamination_directions(np.zeros(genes), np.full((1, genes), 1e-7)).shape == (genes, 0)
    with pytest.raises(ValueError, match="normals must be"):
        contamination_directions(tumor_mean, normals[:, :5])


def test_contamination_directions_with_many_normals_use_the_leading_components():
    """More than 4096 normals: a randomized SVD of the leading components gives the same span."""
    rng = np.random.default_rng(5)
    genes = 15
    basis = rng.normal(size=(3, genes))
    shift = rng.normal(size=genes)  # the normals' mean: a real fourth direction
    normals = shift + rng.normal(size=(5000, 3)) * [5.0, 3.0, 2.0] @ basis + rng.normal(0, 0.01, (5000, genes))
    Q = contamination_directions(np.zeros(genes), normals, n_normal=3)
    assert Q.shape == (genes, 4)
    for v in (*basis, normals.mean(0)):
        np.testing.assert_allclose(Q @ (Q.T @ v), v, rtol=1e-2, atol=1e-2 * np.linalg.norm(v))


def test_purify_replaces_only_the_coordinates_along_the_directions():
    """Hand-computed: with the directions e1 and (e2+e3)/sqrt(2), coordinate 1 and the mean of 2 and 3
    come from the readout, gene 4 and the difference of 2 and 3 from the sample itself."""
    r = Readout(np.array([[1.0, 2.0, 0.0, 5.0]]), np.zeros(4), 1.0, 1.0)
    r.directions = np.array([[1.0, 0.0], [0.0, 0.5**0.5], [0.0, 0.5**0.5], [0.0, 0.0]])
    Xs = np.array([[3.0, 4.0, 0.0, 7.0]])
    # readout of z = 1: (1, 2, 0, 5); along (e2+e3)/sqrt(2) it has mean 1 per gene, the sample mean 2
    np.testing.assert_allclose(r.purify(Xs, np.array([[1.0]])), [[1.0, 3.0, -1.0, 7.0]], atol=1e-6)
    with pytest.raises(ValueError, match="no contamination directions"):
        Readout(r.coef, r.intercept, 1.0, 1.0).purify(Xs, np.array([[1.0]]))


def test_residual_purified_expression_round_trip_and_refusals(cohort, fast, tmp_path):
    m = tp.TwinPurify(**fast).fit(cohort.tumors, cohort.normals)
    P = m.purified_expression(cohort.tumors, residual=True)
    assert list(P.columns) == m.genes_ and np.isfinite(P.to_numpy()).all()
    # by hand: the standardised profile, its part along the directions swapped for the readout's
    pp, r = m.preprocessor_, m.readout_
    Xs = (m.log_expression(cohort.tumors).to_numpy() - pp.mean_) / pp.std_
    Q = r.directions.astype(np.float64)
    want = Xs - (Xs - r.predict(m.transform(cohort.tumors).to_numpy())) @ Q @ Q.T
    np.testing.assert_allclose(P.to_numpy(), want * pp.std_ + pp.mean_, rtol=1e-4, atol=1e-3)
    m.save(tmp_path / "m")
    m2 = tp.load_model(tmp_path / "m")
    np.testing.assert_array_equal(m2.readout_.directions, r.directions)
    pd.testing.assert_frame_equal(m2.purified_expression(cohort.tumors, residual=True), P)
    # fitted without normals: no directions, and the residual form says how to get them
    pca = tp.PCAEmbedding(4, verbose=False).fit(cohort.tumors)
    assert pca.readout_.directions is None
    with pytest.raises(NotFittedError, match=r"fit_readout\(tumor, normal=normal\)"):
        pca.purified_expression(cohort.tumors, residual=True)
    with pytest.raises(NotFittedError, match="contamination directions"):
        pca.pathway_activity(cohort.tumors, cohort.program_net(), residual=True, min_size=3)
    pca.fit_readout(cohort.tumors, normal=cohort.normals)
    assert pca.purified_expression(cohort.tumors, residual=True).shape == P.shape
    pca.fit_readout(cohort.tumors)  # re-anchored without normals: the directions go with the old readout
    assert pca.readout_.directions is None
    with pytest.raises(ValueError, match="needs purified=True"):
        m.pathway_activity(cohort.tumors, cohort.program_net(), purified=False, residual=True, min_size=3)


def test_readout_directions_of_the_wrong_shape_are_a_format_error(cohort, tmp_path):
    tp.PCAEmbedding(4, verbose=False).fit(cohort.tumors, cohort.normals).save(tmp_path / "m")
    _cut_readout_array(tmp_path / "m", "readout.directions")
    with pytest.raises(ModelFormatError, match="readout"):
        tp.load_model(tmp_path / "m")
    tp.PCAEmbedding(4, verbose=False).fit(cohort.tumors, cohort.normals).save(tmp_path / "m2")
    _cut_readout_array(tmp_path / "m2", "readout.directions", edit=lambda a: a * 2.0)
    with pytest.raises(ModelFormatError, match="not orthonormal"):
        tp.load_model(tmp_path / "m2")


def test_committed_folder_without_directions_refuses_the_residual_form():
    """tests/python/data/model_networks was saved with a readout but before contamination directions."""
    from pathlib import Path

    data = Path(__file__).parent / "data"
    m = tp.load_model(data / "model_networks" / "model")
    tumors = pd.read_csv(data / "model_format1" / "tumors.csv", index_col=0)
    assert m.readout_ is not None and m.readout_.directions is None
    with pytest.raises(NotFittedError, match="contamination directions"):
        m.purified_expression(tumors.reindex(columns=m.genes_, fill_value=0.0), residual=True)


def test_normals_equal_to_the_tumor_mean_warn_that_the_residual_form_is_the_profile(log_pair):
    tumors, _ = log_pair
    flat = pd.DataFrame([tumors.mean()] * 2, index=["n1", "n2"])  # twice the tumors' mean: no direction at all
    with pytest.warns(UserWarning, match="no contamination direction"):
        m = tp.PCAEmbedding(4, verbose=False).fit(tumors, flat)
    assert m.readout_.directions.shape == (len(m.genes_), 0)
    np.testing.assert_allclose(m.purified_expression(tumors, residual=True), m.log_expression(tumors), atol=1e-4)


def test_fit_readout_splits_one_anndata_by_normal_key(cohort):
    """As `fit` does: one AnnData with tumors and normals, split by an .obs column."""
    pytest.importorskip("anndata")
    from twinpurify.data import InputError

    adata = cohort.to_anndata()
    m = tp.PCAEmbedding(4, verbose=False).fit(cohort.tumors)
    m.fit_readout(adata, normal_key="sample_type")
    by_key = m.readout_
    assert by_key.directions is not None
    m.fit_readout(cohort.tumors, normal=cohort.normals)
    np.testing.assert_allclose(by_key.coef, m.readout_.coef, rtol=1e-4, atol=1e-5)
    Q1, Q2 = by_key.directions.astype(np.float64), m.readout_.directions.astype(np.float64)
    np.testing.assert_allclose(Q1 @ Q1.T, Q2 @ Q2.T, atol=1e-4)  # the same span, whatever the signs
    before = m.readout_
    bad = [
        (dict(tumor=cohort.tumors, normal_key="sample_type"), "needs an AnnData"),
        (dict(tumor=adata, normal=cohort.normals, normal_key="sample_type"), "not both"),
        (dict(tumor=adata, normal_key="kind"), "not a column of adata.obs"),
        (dict(tumor=adata, normal_key="sample_type", normal_value="adjacent"), "no sample has sample_type"),
    ]
    everyone_normal = adata.copy()
    everyone_normal.obs["sample_type"] = "normal"
    log_normals = np.log2(cohort.normals + 1)
    lacking = cohort.normals.drop(columns=m.genes_[:5])
    bad += [
        (dict(tumor=everyone_normal, normal_key="sample_type"), "at least 3 tumor samples, got 0"),
        (dict(tumor=cohort.tumors.iloc[:2], normal=cohort.normals), "at least 3 tumor samples, got 2"),
        (dict(tumor=cohort.tumors, normal=log_normals), "different scales"),
        (dict(tumor=cohort.tumors, normal=pd.concat([cohort.normals, cohort.tumors.iloc[:1]])), "as tumors and as"),
        (dict(tumor=cohort.tumors, normal=lacking, fill_missing="error"), "missing"),  # fails late, while fitting
    ]
    for kwargs, message in bad:
        with pytest.raises(InputError, match=message):
            m.fit_readout(**kwargs)
        assert m.readout_ is before  # a refused call leaves the fitted readout alone


def test_fit_readout_trusts_a_scale_the_user_set_as_fit_does(cohort):
    """With input_scale given, `fit` does not compare how tumors and normals look; neither does the readout."""
    tpm = cohort.tumors / cohort.tumors.sum(axis=1).to_numpy()[:, None] * 1e6  # linear, not integers
    rounded = (cohort.normals / cohort.normals.sum(axis=1).to_numpy()[:, None] * 1e6).round()  # looks like counts
    kw = dict(n_components=4, verbose=False)
    with pytest.raises(tp.InputError, match="normals look like integer counts"):
        tp.PCAEmbedding(**kw).fit(tpm, rounded)
    tp.PCAEmbedding(input_scale="linear", **kw).fit(tpm, rounded)  # the user's word on the scale
    m = tp.PCAEmbedding(input_scale="linear", **kw).fit(tpm)
    m.fit_readout(tpm, normal=rounded)
    assert m.readout_.directions is not None
    auto = tp.PCAEmbedding(**kw).fit(tpm)
    with pytest.raises(tp.InputError, match=r"different scales \(linear vs counts\)"):
        auto.fit_readout(tpm, normal=rounded)


def test_fit_readout_warns_about_another_scale_and_about_normal_genes_it_fills(cohort):
    m = tp.PCAEmbedding(4, verbose=False).fit(cohort.tumors)  # counts
    with pytest.warns(UserWarning, match="looks like log2 values but the model was fitted on counts"):
        m.fit_readout(np.log2(cohort.tumors + 1), normal=np.log2(cohort.normals + 1))
    logt, logn = np.log2(cohort.tumors + 1), np.log2(cohort.normals + 1)
    m = tp.PCAEmbedding(4, verbose=False).fit(logt)  # mean-filling needs log2 or linear input
    lacking = logn.drop(columns=m.genes_[:5])
    with pytest.warns(UserWarning, match="5 of the model's genes are missing from the normals"):
        m.fit_readout(logt, normal=lacking, fill_missing="mean")
    Q = m.readout_.directions
    filled = [m.genes_.index(g) for g in m.genes_[:5]]
    assert np.abs(Q[filled]).max() < 1e-4 < np.abs(np.delete(Q, filled, axis=0)).max()  # what the warning says


def test_fit_blocks_sums_in_the_lead_basis_and_reads_every_row_once():
    """Out of core on several ranks each process sums its blocks in the SVD basis `lead` hands out (rank 0's): a
    basis with other signs, used throughout, gives the same readout; a block never read is an error, not zeros."""
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(40, 4))
    Y = Z @ rng.normal(size=(4, 30)) + 0.1 * rng.normal(size=(40, 30))

    def blocks(stop=40):
        return lambda: ((i, Y[i : min(i + 16, stop)]) for i in range(0, stop, 16))

    plain = Readout.fit_blocks(Z, blocks())
    flipped = Readout.fit_blocks(Z, blocks(), lead=lambda a: -a if a.ndim == 2 else a)  # U and Vt negated
    np.testing.assert_allclose(flipped.coef, plain.coef, atol=1e-5)
    np.testing.assert_allclose(flipped.intercept, plain.intercept, atol=1e-5)
    assert flipped.alpha == plain.alpha
    with pytest.raises(ValueError, match="hold 32 rows of genes but the embedding has 40"):
        Readout.fit_blocks(Z, blocks(stop=32))

    def others_read_all(a):  # a process that read no block: the other processes' 40 rows make up the count
        return np.array([40.0]) if a.shape == (1,) else a

    with pytest.raises(ValueError, match="no block of genes was read \\(and n_genes was not given\\)"):
        Readout.fit_blocks(Z, lambda: iter(()), reduce=others_read_all)
    empty = Readout.fit_blocks(Z, lambda: iter(()), reduce=others_read_all, n_genes=30)
    assert empty.coef.shape == (4, 30)  # zeros from this process; the others' sums would come through `reduce`
