"""Several networks side by side (`n_networks`): each member trained on its own views, one last step over all.

The loss is checked against the members' Barlow Twins losses written out, the block scaling of the last
step against a rescaled member, and the fitted model for shape, save/load, reproducibility, out-of-core
training and the errors it must raise."""

import numpy as np
import pytest
import torch
import twinpurify as tp
from twinpurify import load_model
from twinpurify.augment import ViewConfig, ViewGenerator
from twinpurify.loss import barlow_twins_loss
from twinpurify.model import BarlowTwinsModule, Members
from twinpurify.objective import TwinPurifyObjective
from twinpurify.params import ParameterError
from twinpurify.rotation import MixingMoments

FAST = dict(hidden_dims=(32,), projector_dims=(32, 32), max_epochs=4, random_state=0, verbose=False, device="cpu")


def _views(g=20):
    torch.manual_seed(0)
    normal_log = torch.rand(6, g) * 4
    return ViewGenerator(normal_log, torch.full((g,), 2.0), torch.full((g,), 1.5), ViewConfig(0.5, 2, 0.1, 0.1))


@pytest.mark.parametrize("clean_anchor", [False, True])
def test_loss_is_the_sum_of_each_members_loss_on_its_own_view_pair(clean_anchor):
    views = _views()
    torch.manual_seed(1)
    module = BarlowTwinsModule(20, [16], 4, [8], n_networks=3)
    tumors = torch.exp2(torch.rand(10, 20) * 4)
    obj = TwinPurifyObjective(views, lambd=0.01, clean_anchor=clean_anchor)
    got = obj.terms(module, tumors, torch.Generator().manual_seed(3))["invariance"]
    # by hand, same random stream: six views per tumor, member k reads views 2k and 2k + 1; with a clean
    # anchor the first view of every member's pair is unmixed
    scale = torch.cat([torch.zeros(10), torch.ones(10)]).repeat(3) if clean_anchor else None
    v = views(torch.cat([tumors] * 6), torch.Generator().manual_seed(3), scale)
    if clean_anchor:  # unmixed views differ from their tumor only by masking and noise
        assert (v[:10] - (torch.log2(tumors) - 2.0) / 1.5).abs().mean() < (v[10:20] - v[:10]).abs().mean()
    members = list(zip(module.encoder[0].bodies, module.projectors))
    losses = []
    for k, (body, proj) in enumerate(members):
        p = proj(body(v[20 * k : 20 * (k + 1)]))
        losses.append(barlow_twins_loss(p[:10], p[10:], 0.01))
    assert torch.allclose(got, sum(losses))
    # each member gets the gradient of its own loss only: trained as if alone
    params = list(members[1][0].parameters())
    alone = torch.autograd.grad(losses[1], params, retain_graph=True)
    together = torch.autograd.grad(got, params)
    for a, b in zip(alone, together):
        torch.testing.assert_close(a, b)
    # the embedding users get reads every member on the same rows, side by side
    x = torch.randn(5, 20)
    module.eval()
    z = module.encoder(x)
    assert z.shape == (5, 12)
    assert torch.allclose(z[:, 4:8], module.encoder[0].bodies[1](x))


def test_one_network_keeps_the_layout_of_older_folders():
    keys = set(BarlowTwinsModule(20, [16], 4, [8], invariant_dims=6, output_dims=3).state_dict())
    assert {"encoder.0.weight", "encoder.1.weight", "projector.0.weight", "output.weight"} <= keys
    assert not any("bodies" in k or "projectors" in k for k in keys)
    two = BarlowTwinsModule(20, [16], 4, [8], invariant_dims=6, output_dims=3, n_networks=2)
    assert isinstance(two.encoder[1], Members) and tuple(two.output.weight.shape) == (3, 8)


def test_block_scaling_makes_the_step_blind_to_a_members_scale():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(300, 6)) * [3.0, 2.0, 1.0, 2.5, 1.5, 0.5]
    d = rng.normal(size=(600, 6)) * [0.1, 1.5, 0.2, 0.3, 0.1, 1.0]
    scale = np.array([1.0, 1.0, 1.0, 50.0, 50.0, 50.0])  # the second member's embedding 50 times larger

    def kept(z, d, blocks):
        m = MixingMoments(6)
        m.add(z, d)
        w, c = m.solve(3, blocks=blocks)
        return (z - c) @ w.T

    same, scaled = kept(z, d, 2), kept(z * scale, d * scale, 2)
    scaled *= np.sign((scaled * same).sum(0))  # directions are defined up to sign
    np.testing.assert_allclose(scaled, same, rtol=1e-8, atol=1e-10)
    # without it the ridge weighs the members by their scale, and the kept embedding changes
    assert not np.allclose(kept(z * scale, d * scale, 1), kept(z, d, 1), atol=1e-3)
    m = MixingMoments(6)
    m.add(z, d)
    with pytest.raises(ValueError, match="blocks must divide the width 6"):
        m.solve(3, blocks=4)
    dead = MixingMoments(6)  # the second member collapsed: its embedding is the same for every tumor
    dead.add(z * [1, 1, 1, 0, 0, 0], d)
    with pytest.raises(ValueError, match="network\\(s\\) 2 of 2 collapsed"):
        dead.solve(3, blocks=2)


def test_fit_save_load_and_refit_reproduce(cohort, tmp_path):
    c = cohort
    m = tp.TwinPurify(4, n_networks=3, **FAST).fit(c.tumors, c.normals)
    Z = m.transform(c.tumors)
    assert Z.shape == (len(c.tumors), 4) and np.isfinite(Z.to_numpy()).all()
    bodies = m.module_.encoder[1].bodies
    assert len(bodies) == 3 and tuple(m.module_.output.weight.shape) == (4, 18)
    assert not torch.allclose(bodies[0][0].weight, bodies[1][0].weight)  # members start apart (own init)
    m.save(tmp_path / "m")
    again = load_model(tmp_path / "m", device="cpu")
    assert again.n_networks == 3
    np.testing.assert_array_equal(again.transform(c.tumors).to_numpy(), Z.to_numpy())
    refit = tp.TwinPurify(4, n_networks=3, **FAST).fit(c.tumors, c.normals)
    np.testing.assert_array_equal(refit.transform(c.tumors).to_numpy(), Z.to_numpy())


def test_several_networks_without_a_dropped_dimension_still_get_a_last_step(cohort):
    c = cohort
    m = tp.TwinPurify(4, n_networks=2, drop_mixing_dims=0, clean_anchor=True, **FAST).fit(c.tumors, c.normals)
    assert tuple(m.module_.output.weight.shape) == (4, 8) and m.transform(c.tumors).shape == (len(c.tumors), 4)


def test_several_networks_with_the_log_input(cohort):
    c = cohort
    m = tp.TwinPurify(4, n_networks=2, encoder_input="log", **FAST).fit(c.tumors, c.normals)
    assert isinstance(m.module_.encoder[0], Members) and m.transform(c.tumors).shape == (len(c.tumors), 4)


@pytest.mark.parametrize("bad", [0, -1, 65, 1.5, "3"])
def test_n_networks_is_validated(bad):
    with pytest.raises(ParameterError, match="n_networks"):
        tp.TwinPurify(n_networks=bad)._validate_params()


def test_content_head_with_several_networks_is_refused_before_any_data_is_read():
    bad = tp.TwinPurify(4, n_networks=2, content_weight=1.0, **FAST)
    with pytest.raises(ParameterError, match=r"content_weight=1.0 with n_networks=2: the content head is not"):
        bad._validate_params()
    with pytest.raises(ParameterError, match="content_weight=1.0 with n_networks=2"):
        bad.fit("/no/such/file.csv", "/no/such/normals.csv")  # refused before the paths are looked at
    with pytest.raises(ValueError, match="content head is not available with several networks"):
        BarlowTwinsModule(20, [16], 4, [8], target_dim=20, n_networks=2)  # the module refuses it too


def test_out_of_core_fit_trains_every_member(tmp_path, cohort):
    ad = pytest.importorskip("anndata")
    from twinpurify.streaming import fit_on_disk

    c = cohort
    adata = ad.AnnData(
        X=np.vstack([c.tumors.to_numpy(), c.normals.to_numpy()]).astype(np.float32),
        obs={"sample_type": ["tumor"] * len(c.tumors) + ["normal"] * len(c.normals)},
    )
    adata.obs_names = [*c.tumors.index, *c.normals.index]
    adata.var_names = list(c.tumors.columns)
    path = tmp_path / "cohort.h5ad"
    adata.write_h5ad(path)
    m = fit_on_disk(tp.TwinPurify(4, n_networks=2, **FAST), path, normal_key="sample_type", block_rows=32)
    assert len(m.module_.encoder[1].bodies) == 2 and tuple(m.module_.output.weight.shape) == (4, 12)
    assert np.isfinite(m.transform(c.tumors).to_numpy()).all()
