"""The last mixing step (twinpurify.rotation): the eigenproblem against a reference, its invariances, and the
fitted layer doing what it is for (the dropped directions are the ones the cohort's mixing moves most)."""

import numpy as np
import pytest
import torch
import twinpurify as tp
from scipy.linalg import eigh
from twinpurify import load_model
from twinpurify.rotation import MixingMoments, accumulate


def _moments(z, d, block=None) -> MixingMoments:
    m = MixingMoments(z.shape[1])
    if block is None:
        m.add(z, d)
    else:
        for i in range(0, len(z), block):
            m.add(z[i : i + block], d[(i * len(d)) // len(z) : ((i + block) * len(d)) // len(z)])
    return m


@pytest.fixture
def toy():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(200, 5)) * [3.0, 2.0, 1.5, 1.0, 0.5] + 7.0
    d = rng.normal(size=(400, 5)) * [0.1, 2.0, 0.2, 0.05, 1.0]  # mixing moves dims 1 and 4 most
    return z, d


def test_solve_matches_the_generalised_eigenproblem_written_out(toy):
    z, d = toy
    weight, center = _moments(z, d).solve(3, shrinkage=0.1)
    A = np.cov(z.T, bias=True)
    B = d.T @ d / len(d)
    B += 0.1 * np.trace(B) / 5 * np.eye(5)
    w, v = eigh(A, B)
    order = np.argsort(-w)[:3]
    np.testing.assert_allclose(center, z.mean(0))
    for j, i in enumerate(order):  # the same directions up to sign, scaled to tumor variance w / w_max
        ref = v[:, i] / np.sqrt(v[:, i] @ A @ v[:, i]) * np.sqrt(w[i] / w[order[0]])
        np.testing.assert_allclose(weight[j] * np.sign(weight[j] @ ref), ref, rtol=1e-8, atol=1e-10)
    proj = (z - center) @ weight.T
    np.testing.assert_allclose(proj.var(0), w[order] / w[order[0]], rtol=1e-8)
    assert weight[:, 1].__abs__().max() < 0.2 and weight[:, 4].__abs__().max() < 0.2  # the mixed dims dropped


def test_blocks_flat_round_trip_and_linear_reparametrisation_invariance(toy):
    z, d = toy
    whole, parts = _moments(z, d), _moments(z, d, block=37)
    for a in ("sum", "zz", "dd"):
        np.testing.assert_allclose(getattr(whole, a), getattr(parts, a))
    again = MixingMoments(5)
    again.set_flat(whole.flat())
    np.testing.assert_array_equal(again.solve(3)[0], whole.solve(3)[0])
    # without ridge the kept embedding does not depend on how the network parametrised its dimensions
    M = np.random.default_rng(1).normal(size=(5, 5))
    w1, c1 = whole.solve(3, shrinkage=0.0)
    w2, c2 = _moments(z @ M, d @ M).solve(3, shrinkage=0.0)
    np.testing.assert_allclose(np.abs((z - c1) @ w1.T), np.abs((z @ M - c2) @ w2.T), rtol=1e-6, atol=1e-8)


def test_a_large_offset_does_not_cancel_the_covariance(toy):
    """Sums about a shift near the data: the same layer at an offset of 1e8 as at 0 (raw sums would lose it)."""
    z, d = toy
    w0, c0 = _moments(z, d).solve(3)
    far = MixingMoments(5, shift=z.mean(0) + 1e8)
    far.add(z + 1e8, d)
    w1, c1 = far.solve(3)
    np.testing.assert_allclose(np.abs(w1), np.abs(w0), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(c1, c0 + 1e8)


def test_fewer_tumors_than_dimensions_give_constant_columns():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(3, 6))
    weight, center = _moments(z, rng.normal(size=(6, 6))).solve(5)
    proj = (z - center) @ weight.T
    assert np.isfinite(weight).all()
    np.testing.assert_allclose(proj[:, 2:], 0.0, atol=1e-12)  # 3 centred tumors span 2 directions
    assert (proj[:, :2].var(0) > 0).all()


def test_solve_refuses_what_it_cannot_do(toy):
    z, d = toy
    with pytest.raises(ValueError, match=r"keep must be in \[1, 5\], got 6"):
        _moments(z, d).solve(6)
    with pytest.raises(ValueError, match="at least 2 tumors and 1 view"):
        MixingMoments(5).solve(2)


def test_accumulate_measures_mixing_only(fast_cohort):
    """The training views without masking or noise: a tumor mixed with itself does not move, however strong
    the training views' masking and noise (which do move it: the negative control)."""
    from twinpurify.augment import ViewConfig, ViewGenerator

    one = torch.tensor(np.log2(fast_cohort.tumors.to_numpy()[:1] + 1.0), dtype=torch.float32)
    same = one.repeat(5, 1)  # one profile as every tumor and every normal: mixing changes nothing
    mean, std = same.mean(0), torch.ones(same.shape[1])
    train = ViewGenerator(same, mean, std, ViewConfig(0.9, 2, 0.5, 2.0))
    views = train.mixing_only()
    assert (views.config.beta_max, views.config.n_mix) == (0.9, 2)
    assert (views.config.mask_prob, views.config.noise_std) == (0.0, 0.0) and train.config.noise_std == 2.0
    moved = {}
    for name, gen in [("mixing only", views), ("training views", train)]:
        m = MixingMoments(same.shape[1])
        accumulate(m, lambda x: x, torch.exp2(same), gen, torch.Generator().manual_seed(0), block=2)
        assert m.n == 5 and m.n_views == 5 * 8
        moved[name] = np.abs(m.dd).max()
    assert moved["mixing only"] < 1e-8 and moved["training views"] > 1.0


def test_collapsed_embedding_is_refused():
    z = np.ones((10, 4))
    with pytest.raises(ValueError, match="does not vary across the training tumors"):
        _moments(z, np.random.default_rng(0).normal(size=(20, 4))).solve(2)


def test_a_failed_last_step_leaves_the_estimator_unfitted(fast_cohort, monkeypatch):
    from sklearn.exceptions import NotFittedError
    from twinpurify import rotation

    def broken(self, keep, shrinkage=0.1, blocks=1):
        raise MemoryError("simulated")

    monkeypatch.setattr(rotation.MixingMoments, "solve", broken)
    m = tp.TwinPurify(4, **{**FAST, "max_epochs": 2})
    with pytest.raises(MemoryError):
        m.fit(fast_cohort.tumors, fast_cohort.normals)
    with pytest.raises(NotFittedError):
        m.transform(fast_cohort.tumors)


@pytest.fixture(scope="module")
def fast_cohort():
    return tp.datasets.simulate_cohort(n_tumors=80, n_normals=12, n_genes=150, seed=3)


FAST = dict(
    hidden_dims=(32,), projector_dims=(32, 32), max_epochs=20, random_state=0, verbose=False, device="cpu", n_networks=1
)  # one network: the layer shapes below are those of a single member


def test_fitted_layer_keeps_the_most_invariant_directions(fast_cohort, tmp_path):
    """Against the network's full width, the kept embedding moves less under the cohort's mixing per unit of
    tumor variance, and saving and loading gives the same numbers."""
    c = fast_cohort
    m = tp.TwinPurify(6, drop_mixing_dims=3, **FAST).fit(c.tumors, c.normals)
    out = m.module_.output
    assert out is not None and tuple(out.weight.shape) == (6, 9)
    pp = m.preprocessor_
    from twinpurify.data import as_matrix

    Xs = torch.from_numpy(pp.transform(as_matrix(c.tumors, "tumor"), "X", "error"))
    normals = torch.from_numpy(pp.transform(as_matrix(c.normals, "normal"), "X", "error") * pp.std_ + pp.mean_)
    from twinpurify.augment import ViewConfig, ViewGenerator

    config = ViewConfig(m.beta_max, m.n_mix, 0.0, 0.0)
    views = ViewGenerator(normals, torch.from_numpy(pp.mean_), torch.from_numpy(pp.std_), config)
    full, kept = MixingMoments(9), MixingMoments(6)
    lin = torch.exp2(Xs * torch.from_numpy(pp.std_) + torch.from_numpy(pp.mean_))
    with torch.no_grad():
        m.module_.eval()
        accumulate(full, m.module_.encoder, lin, views, torch.Generator().manual_seed(5))
        accumulate(kept, m.module_.embedding_module(), lin, views, torch.Generator().manual_seed(5))

    def ratio(mm: MixingMoments) -> float:  # mixing variance per unit of tumor variance
        cov = mm.zz / mm.n - np.outer(mm.sum / mm.n, mm.sum / mm.n)
        return float(np.trace(np.linalg.solve(cov, mm.dd / mm.n_views)))

    assert ratio(kept) < 0.5 * ratio(full) * 6 / 9
    Z = m.transform(c.tumors)
    np.testing.assert_allclose(
        Z.to_numpy(),
        (m.module_.encoder(Xs).detach().numpy() - out.center.numpy()) @ out.weight.numpy().T,
        rtol=1e-4,
        atol=1e-5,
    )
    m.save(tmp_path / "m")
    np.testing.assert_array_equal(load_model(tmp_path / "m").transform(c.tumors).to_numpy(), Z.to_numpy())


def test_no_drop_is_the_network_output(fast_cohort):
    c = fast_cohort
    m = tp.TwinPurify(6, drop_mixing_dims=0, **FAST).fit(c.tumors, c.normals)
    assert m.module_.output is None and m.module_.encoder[0].weight.shape[0] == 6
    assert m.module_.embedding_module() is m.module_.encoder


@pytest.mark.parametrize("encoder_input", ["log", "invariant"])
def test_last_step_with_other_encoder_inputs(fast_cohort, encoder_input):
    """The step does not depend on the encoder's input: log profiles, or the invariant front (content head)."""
    c = fast_cohort
    extra = dict(content_weight=1.0) if encoder_input == "invariant" else {}
    m = tp.TwinPurify(5, drop_mixing_dims=2, encoder_input=encoder_input, **extra, **FAST).fit(c.tumors, c.normals)
    assert tuple(m.module_.output.weight.shape) == (5, 7)
    Z = m.transform(c.tumors)
    assert Z.shape == (len(c.tumors), 5) and np.isfinite(Z.to_numpy()).all()


@pytest.mark.parametrize("bad", [-1, 2.5, True, "2", None])
def test_drop_mixing_dims_is_validated(bad):
    from twinpurify.params import ParameterError

    with pytest.raises(ParameterError, match="drop_mixing_dims"):
        tp.TwinPurify(drop_mixing_dims=bad)._validate_params()


def test_fewer_tumors_than_dimensions_warn_and_give_constant_columns():
    c = tp.datasets.simulate_cohort(n_tumors=8, n_normals=4, n_genes=100, seed=0)
    warning = r"3 of the 10 .* along 7 directions .*\(8 training tumors span at most 7\); .*<= 7"
    with pytest.warns(UserWarning, match=warning):
        m = tp.TwinPurify(10, **{**FAST, "batch_size": 8, "max_epochs": 3}).fit(c.tumors, c.normals)
    Z = m.transform(c.tumors).to_numpy()
    assert np.isfinite(Z).all() and (Z.std(0) < 1e-6).sum() == 3
