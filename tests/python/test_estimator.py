import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from twinpurify import TwinPurify, load_model
from twinpurify.data import as_matrix


def test_api_contract(log_pair, fast):
    t, n = log_pair
    m = TwinPurify(**fast)
    assert m.get_params()["n_components"] == 8
    assert clone(m).get_params() == m.get_params()
    m.set_params(n_components=6)
    assert m.n_components == 6
    with pytest.raises(NotFittedError):
        m.transform(t)
    assert m.fit(t, n) is m
    Z = m.transform(t)
    assert isinstance(Z, pd.DataFrame) and Z.shape == (60, 6)
    assert list(Z.index) == list(t.index) and list(Z.columns) == [f"TP{i}" for i in range(1, 7)]
    for attr in ["preprocessor_", "module_", "history_", "genes_", "n_features_in_", "feature_names_in_", "n_epochs_"]:
        assert hasattr(m, attr)
    assert len(m.history_) == 4 and all(np.isfinite(h["loss"]) for h in m.history_)


def test_fit_transform_equals_fit_then_transform(log_pair, fast):
    t, n = log_pair
    Z1 = TwinPurify(**fast).fit_transform(t, n)
    Z2 = TwinPurify(**fast).fit(t, n).transform(t)
    pd.testing.assert_frame_equal(Z1, Z2)


def test_numpy_in_numpy_out_and_sparse(cohort, fast):
    t, n = cohort.tumors.to_numpy(), cohort.normals.to_numpy()
    m = TwinPurify(**fast).fit(t, n)
    Z = m.transform(t)
    assert isinstance(Z, np.ndarray) and Z.shape == (60, 8)
    assert not hasattr(m, "feature_names_in_")
    Zs = TwinPurify(**fast).fit(sp.csr_matrix(t), sp.csr_matrix(n)).transform(sp.csr_matrix(t))
    np.testing.assert_allclose(Z, Zs, rtol=1e-5, atol=1e-5)


def test_fit_leaves_user_data_untouched(cohort, log_pair, fast):
    for t, n in [log_pair, (cohort.tumors.to_numpy(np.float32), cohort.normals.to_numpy(np.float32))]:
        t0, n0 = np.array(t, copy=True), np.array(n, copy=True)
        TwinPurify(**fast).fit(t, n)
        np.testing.assert_array_equal(np.asarray(t), t0)
        np.testing.assert_array_equal(np.asarray(n), n0)


def test_column_stats_match_numpy():
    from twinpurify.data import column_mean_std

    x = np.random.default_rng(0).normal(3, 2, (1000, 7)).astype(np.float32)
    m, s = column_mean_std(x, block=64)
    np.testing.assert_allclose(m, x.mean(0, dtype=np.float64), rtol=1e-10)
    np.testing.assert_allclose(s, x.std(0, dtype=np.float64), rtol=1e-10)


def test_deterministic_on_cpu_for_fixed_seed(log_pair, fast):
    t, n = log_pair
    Z1 = TwinPurify(**fast).fit_transform(t, n)
    Z2 = TwinPurify(**fast).fit_transform(t, n)
    pd.testing.assert_frame_equal(Z1, Z2)
    Z3 = TwinPurify(**{**fast, "random_state": 1}).fit_transform(t, n)
    assert not np.allclose(Z1.to_numpy(), Z3.to_numpy())


def test_save_load_reproduces_transform(tmp_path, log_pair, fast):
    t, n = log_pair
    m = TwinPurify(**fast).fit(t, n)
    path = m.save(tmp_path / "model")
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "weights.safetensors"]
    m2 = TwinPurify.load(path)
    pd.testing.assert_frame_equal(m.transform(t), m2.transform(t))
    assert m2.get_params() == m.get_params()
    assert m2.history_ == m.history_ and m2.genes_ == m.genes_
    assert isinstance(load_model(path), TwinPurify)
    with pytest.raises(FileExistsError):
        m.save(path)
    m.save(path, overwrite=True)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary folders left behind"


def test_failed_save_keeps_the_old_model(tmp_path, log_pair, fast, monkeypatch):
    import safetensors.numpy

    t, n = log_pair
    m = TwinPurify(**fast).fit(t, n)
    path = m.save(tmp_path / "model")
    before = (path / "weights.safetensors").read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.numpy, "save_file", boom)
    with pytest.raises(OSError, match="disk full"):
        m.save(path, overwrite=True)
    assert (path / "weights.safetensors").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_load_errors(tmp_path, log_pair, fast):
    import json

    from twinpurify import PCAEmbedding

    with pytest.raises(FileNotFoundError, match="not a saved TwinPurify model"):
        TwinPurify.load(tmp_path)
    PCAEmbedding(3, verbose=False).fit(log_pair[0]).save(tmp_path / "pca")
    with pytest.raises(TypeError, match="holds a PCAEmbedding, not a TwinPurify"):
        TwinPurify.load(tmp_path / "pca")
    cfg_path = tmp_path / "pca" / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg_path.write_text(json.dumps({**cfg, "class": "Mystery"}))
    with pytest.raises(ValueError, match="unknown model class 'Mystery'"):
        load_model(tmp_path / "pca")
    cfg_path.write_text(json.dumps({**cfg, "format_version": 99}))
    with pytest.raises(ValueError, match="saved by a newer twinpurify"):
        load_model(tmp_path / "pca")


def test_transform_other_cohort_by_gene_name(log_pair, fast):
    t, n = log_pair
    m = TwinPurify(**fast).fit(t, n)
    shuffled = t[t.columns[::-1]]
    pd.testing.assert_frame_equal(m.transform(t), m.transform(shuffled))
    missing = t.drop(columns=m.genes_[:3])
    with pytest.raises(ValueError, match=r"3 of the model's 200 genes are missing: " + m.genes_[0]):
        m.transform(missing)
    Z = m.transform(missing, fill_missing="mean")
    assert np.isfinite(Z.to_numpy()).all()
    m.set_params(fill_missing="mean")  # opting in after fit applies to transform too
    pd.testing.assert_frame_equal(m.transform(missing), Z)
    with pytest.raises(ValueError, match="fill_missing must be one of"):
        m.transform(missing, fill_missing="zero")


def test_clean_anchor_option_trains(log_pair, fast):
    t, n = log_pair
    a = TwinPurify(**fast).fit_transform(t, n)
    b = TwinPurify(**{**fast, "clean_anchor": True}).fit_transform(t, n)
    assert b.shape == a.shape and not np.allclose(a.to_numpy(), b.to_numpy())


def test_early_stopping_stops(log_pair, fast):
    t, n = log_pair
    m = TwinPurify(**{**fast, "max_epochs": 200, "early_stopping": True, "patience": 3, "lr": 1e-9}).fit(t, n)
    assert m.n_epochs_ < 200


def test_auto_schedule():
    from twinpurify.train import auto_schedule

    small = auto_schedule(30)
    assert small.batch_size == 30 and small.steps_per_epoch == 1 and small.epochs >= 300
    big = auto_schedule(1100)
    assert big.batch_size == 256 and big.steps_per_epoch == 5
    assert auto_schedule(257).steps_per_epoch == 1  # a lone leftover sample is skipped (BatchNorm)
    assert auto_schedule(100, batch_size=10, max_epochs=7).epochs == 7
    with pytest.raises(ValueError, match="batch_size must be at least 2"):
        auto_schedule(100, batch_size=1)
    with pytest.raises(ValueError, match="max_epochs must be at least 1"):
        auto_schedule(100, max_epochs=0)


def test_cuda_request_without_cuda_is_clear(log_pair, fast):
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA present")
    t, n = log_pair
    with pytest.raises(RuntimeError, match="sees no CUDA device"):
        TwinPurify(**{**fast, "device": "cuda"}).fit(t, n)


def test_purifies_the_simulated_cohort():
    """Less purity than PCA on a cohort with known truth, with subtype signal far above chance.

    On the harder simulator (several normal cell types, immune cells, subtle programs) the defaults
    trade a little subtype signal for purity (benchmarks/frontier.md); this guards the defaults (PCA
    front, 16 dimensions): a third less leakage than PCA and most of its subtype signal (the earlier
    log-input defaults kept 0.53 of PCA's 0.69 here).
    """
    from twinpurify import PCAEmbedding
    from twinpurify.datasets import simulate_cohort
    from twinpurify.metrics import macro_f1, purity_leakage

    c = simulate_cohort(n_tumors=200, n_normals=30, n_genes=400, subtype_effect=2.5, seed=3)
    Zp = PCAEmbedding(16, verbose=False).fit_transform(c.tumors, c.normals)
    Zt = TwinPurify(random_state=0, verbose=False).fit_transform(c.tumors, c.normals)
    r2_pca, r2_tp = purity_leakage(Zp, c.truth.purity), purity_leakage(Zt, c.truth.purity)
    assert r2_tp < 0.75 * r2_pca, (r2_tp, r2_pca)
    shuffled = macro_f1(Zt, c.truth.subtype.sample(frac=1, random_state=0).to_numpy())
    f1_tp, f1_pca = macro_f1(Zt, c.truth.subtype), macro_f1(Zp, c.truth.subtype)
    assert f1_tp > max(0.4, shuffled + 0.15) and f1_tp > 0.85 * f1_pca, (f1_tp, f1_pca)


def test_content_head_saves_loads_and_old_folders_still_load(tmp_path, log_pair, fast):
    t, n = log_pair
    hybrid = TwinPurify(**fast, content_weight=1.0, invariance_weight=0.2, n_networks=1).fit(t, n)
    assert hybrid.module_.head is not None
    hybrid.save(tmp_path / "hybrid")
    again = load_model(tmp_path / "hybrid")
    assert again.module_.head is not None
    pd.testing.assert_frame_equal(again.transform(t), hybrid.transform(t))
    # a model fitted without the content term has no head, and loads without one
    plain = TwinPurify(**fast).fit(t, n)
    assert plain.module_.head is None
    plain.save(tmp_path / "plain")
    assert load_model(tmp_path / "plain").module_.head is None


def test_content_term_changes_training_and_is_seeded(log_pair, fast):
    t, n = log_pair
    a = TwinPurify(**fast, content_weight=1.0, n_networks=1).fit_transform(t, n)
    b = TwinPurify(**fast, content_weight=1.0, n_networks=1).fit_transform(t, n)
    c = TwinPurify(**fast, n_networks=1).fit_transform(t, n)  # the same network without the content term
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a.to_numpy(), c.to_numpy())


def test_normal_difference_encoder_input_round_trip_and_errors(tmp_path, log_pair, fast):
    t, n = log_pair
    m = TwinPurify(**fast, encoder_input="normal_difference", content_weight=1.0, n_networks=1).fit(t, n)
    first = m.module_.encoder[0]
    assert type(first).__name__ == "NormalDifferenceInput"
    np.testing.assert_allclose(first.log_mean.numpy(), m.preprocessor_.mean_)
    m.save(tmp_path / "nd")
    again = load_model(tmp_path / "nd")
    pd.testing.assert_frame_equal(again.transform(t), m.transform(t))
    with pytest.raises(ValueError, match="encoder_input"):
        TwinPurify(**fast, encoder_input="counts").fit(t, n)


def test_pca_front_reads_the_tumors_top_principal_components(tmp_path, log_pair, fast):
    """encoder_input='pca': the frozen first layer is the standardised tumors' top PCs, scaled to unit mean variance."""
    t, n = log_pair
    m = TwinPurify(**fast, encoder_input="pca").fit(t, n)
    first = m.module_.encoder[0]
    k = fast["n_components"] + m.drop_mixing_dims  # the network's width: the embedding's and those dropped
    assert type(first).__name__ == "FixedLinearInput" and first.weight.shape == (k, t.shape[1])
    Xs = m.preprocessor_.transform(as_matrix(t, "tumor"), "tumor").astype(np.float64)
    Xc = Xs - Xs.mean(0)
    _, s, vt = np.linalg.svd(Xc, full_matrices=False)
    var = s[:k] ** 2 / len(Xs)
    expected = vt[:k] / np.sqrt(var.mean())
    W = first.weight.double().numpy()
    signs = np.sign((W * expected).sum(1))  # singular vectors are defined up to sign
    np.testing.assert_allclose(W * signs[:, None], expected, atol=2e-4)
    np.testing.assert_allclose(first.center.double().numpy(), Xs.mean(0), atol=1e-5)
    coords = Xc @ W.T
    np.testing.assert_allclose(coords.var(0).mean(), 1.0, rtol=1e-3)  # unit overall scale, relative variances kept
    assert not any(p is first.weight for p in m.module_.parameters())  # a buffer: training leaves it alone
    m.save(tmp_path / "pca")
    again = load_model(tmp_path / "pca")
    assert again.encoder_input == "pca"
    pd.testing.assert_frame_equal(again.transform(t), m.transform(t))


def test_fixed_fronts_are_capped_at_the_tumors_rank(log_pair, fast):
    """Fewer tumors than n_components: the PCA front has one row per non-degenerate component."""
    t, n = log_pair
    few = t.iloc[:5]
    with pytest.warns(UserWarning, match="4 of the 8 embedding columns are constant"):
        m = TwinPurify(**{**fast, "batch_size": 5}, encoder_input="pca").fit(few, n)
    assert m.module_.encoder[0].weight.shape[0] == 4  # 5 centred tumors have rank 4
    assert m.transform(few).shape == (5, fast["n_components"])


def test_invariant_front_round_trip(tmp_path, log_pair, fast):
    t, n = log_pair
    m = TwinPurify(**fast, encoder_input="invariant", content_weight=1.0, invariance_weight=0.0, n_networks=1).fit(t, n)
    assert type(m.module_.encoder[0]).__name__ == "FixedLinearInput"
    m.save(tmp_path / "inv")
    pd.testing.assert_frame_equal(load_model(tmp_path / "inv").transform(t), m.transform(t))


def test_principal_directions_summed_in_blocks_equal_a_thin_svd(monkeypatch):
    """The covariance summed block by block and the SVD route give the same front (signs fixed alike)."""
    from twinpurify import invariance

    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 12)) @ rng.normal(size=(12, 12)) + 3.0
    W, var, mean = invariance.principal_directions(X, 5, prepare=lambda b: b * 2.0, block=7)
    monkeypatch.setattr(invariance, "MAX_GRAM_GENES", 4)
    W2, var2, mean2 = invariance.principal_directions(X, 5, prepare=lambda b: b * 2.0)
    np.testing.assert_allclose(W, W2, atol=1e-5)  # the SVD route works on a float32 copy
    np.testing.assert_allclose(var, var2, rtol=1e-5)
    np.testing.assert_allclose(mean, (2 * X).mean(0))
    np.testing.assert_allclose(mean2, (2 * X).mean(0), rtol=1e-6)
    Xc = 2 * X - (2 * X).mean(0)
    np.testing.assert_allclose(var, np.linalg.svd(Xc, compute_uv=False)[:5] ** 2 / 50, rtol=1e-8)
    assert (np.abs(W).argmax(1) == np.argmax(W, 1)).all()  # largest loading positive


@pytest.mark.parametrize("gram", [True, False])
def test_principal_directions_refuses_tumors_that_do_not_vary(monkeypatch, gram):
    """Constant rows, and identical rows whose covariance is only round-off, have no components."""
    from twinpurify import invariance

    if not gram:
        monkeypatch.setattr(invariance, "MAX_GRAM_GENES", 2)
    row = np.random.default_rng(1).normal(size=(1, 40)) * 3 + 5
    for X in (np.ones((6, 4)), np.tile(row, (30, 1))):
        with pytest.raises(ValueError, match="do not vary"):
            invariance.principal_directions(X, 3)


@pytest.mark.parametrize("gram", [True, False])
def test_principal_directions_cap_at_the_rank_alike_on_both_routes(monkeypatch, gram):
    from twinpurify import invariance

    if not gram:
        monkeypatch.setattr(invariance, "MAX_GRAM_GENES", 2)
    rng = np.random.default_rng(2)
    X = rng.normal(size=(30, 3)) @ rng.normal(size=(3, 20))  # rank 3 (rank 3 after centring too)
    W, var, _ = invariance.principal_directions(X, 8)
    assert W.shape == (3, 20) and var.shape == (3,)


def test_a_failed_fit_or_fit_transform_leaves_no_fitted_attribute(cohort, log_pair, fast, monkeypatch):
    """Before, a fit_transform refused after a fit left the new, unfitted preprocessor beside the old network
    (transform failed), one interrupted in training mixed the new preprocessor with the old network silently,
    and a failed first fit left n_features_in_, feature_names_in_ and genes_ (check_is_fitted passed)."""
    from sklearn.utils.validation import check_is_fitted
    from twinpurify.data import InputError

    t, n = log_pair
    fast1 = {**fast, "n_networks": 1, "max_epochs": 1}

    def unfitted(m):
        assert not [k for k in vars(m) if k.endswith("_")]
        with pytest.raises(NotFittedError):
            check_is_fitted(m)
        with pytest.raises(NotFittedError):
            m.transform(t)

    m = TwinPurify(**fast1).fit(t, n)
    with pytest.raises(InputError, match="normals look like log-scale"):
        m.fit_transform(cohort.tumors, np.log2(cohort.normals + 1))  # counts tumors, log normals
    unfitted(m)

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    m.fit(t, n)
    monkeypatch.setattr(TwinPurify, "_train", interrupted)
    with pytest.raises(KeyboardInterrupt):
        m.fit_transform(t.iloc[:30] * 3, n * 3)
    unfitted(m)
    first = TwinPurify(**fast1)
    with pytest.raises(KeyboardInterrupt):
        first.fit(t, n)
    unfitted(first)


def test_set_params_after_fit_changes_nothing_until_the_next_fit(tmp_path, log_pair, fast):
    """Before, output names and width read the new n_components (transform failed on a shape) and save wrote the
    new architecture beside the fitted weights: a folder that did not load. Parameters that act after fit
    (fill_missing, device, verbose) take effect at once."""
    t, n = log_pair
    m = TwinPurify(**{**fast, "n_networks": 1}).fit(t, n)
    Z = m.transform(t)
    m.set_params(n_components=12, encoder_input="log", n_networks=2, hidden_dims=(), fill_missing="mean")
    assert list(m.get_feature_names_out()) == list(Z.columns) and m.embedding_info()["n_components"] == 8
    pd.testing.assert_frame_equal(m.transform(t), Z)
    again = load_model(m.save(tmp_path / "m"))
    pd.testing.assert_frame_equal(again.transform(t), Z)
    assert (again.n_components, again.encoder_input, again.n_networks, again.hidden_dims) == (8, "pca", 1, (32,))
    assert again.fill_missing == "mean"
    assert m.fit(t, n).transform(t).shape == (60, 12)  # the next fit uses the new values


def test_seeded_fits_leave_the_callers_torch_stream_alone(log_pair, fast):
    """Before, fit(random_state=0) reseeded torch's global generator: the caller's torch.rand repeated."""
    import torch
    from twinpurify import AutoencoderEmbedding

    t, n = log_pair
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    TwinPurify(**{**fast, "n_networks": 1, "max_epochs": 1}).fit(t, n)
    AutoencoderEmbedding(4, hidden_dims=(8,), max_epochs=1, random_state=0, verbose=False).fit(t)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize(
    "hidden_dims,n_genes,limit",
    [
        ((16,), 10, r"the encoder's last hidden layer, of 16 units \(hidden_dims\), allows at most 16"),
        ((), 10, r"a linear encoder reading 10 principal components allows at most 10"),
    ],
)
def test_constant_columns_warning_names_the_actual_limit(log_pair, fast, hidden_dims, n_genes, limit):
    """Before, the warning always blamed the number of tumors (60 tumors span 59 directions), whatever limited
    the embedding."""
    t, n = log_pair
    kw = {**fast, "n_networks": 1, "max_epochs": 1, "hidden_dims": hidden_dims, "n_genes": n_genes}
    with pytest.warns(UserWarning, match=rf"of the 30 embedding columns are constant: .*\({limit}\)") as rec:
        TwinPurify(**{**kw, "n_components": 30}).fit(t, n)
    assert not any("training tumors span" in str(w.message) for w in rec)
