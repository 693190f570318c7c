import numpy as np
import pytest
import torch
from twinpurify.augment import ViewConfig, ViewGenerator, mix_with_normals


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_mixing_happens_in_linear_space():
    t_log = torch.tensor([[10.0, 2.0]])
    n_log = torch.tensor([[2.0, 10.0]])
    mixed = mix_with_normals(
        torch.exp2(t_log), torch.exp2(n_log), torch.tensor([0.5]), torch.ones(1, 1), torch.zeros(1, 1, dtype=torch.long)
    )
    # 0.5 * 2^10 + 0.5 * 2^2 = 514 in linear space; averaging logs would give 2^6 = 64.
    assert torch.allclose(mixed, torch.tensor([[514.0, 514.0]]))
    assert torch.log2(mixed)[0, 0].item() == pytest.approx(np.log2(514))


def test_convex_combination_of_several_normals():
    n_lin = torch.tensor([[1.0, 0.0], [0.0, 1.0], [3.0, 3.0]])
    w = torch.tensor([[0.25, 0.75]])
    idx = torch.tensor([[0, 2]])
    out = mix_with_normals(torch.zeros(1, 2), n_lin, torch.tensor([1.0]), w, idx)
    assert torch.allclose(out, torch.tensor([[0.25 + 2.25, 2.25]]))


def test_zero_fraction_without_noise_is_identity():
    rng = np.random.default_rng(0)
    t_log = torch.tensor(rng.uniform(0, 10, (5, 7)), dtype=torch.float32)
    n_log = torch.tensor(rng.uniform(0, 10, (3, 7)), dtype=torch.float32)
    mean, std = t_log.mean(0), t_log.std(0)
    views = ViewGenerator(n_log, mean, std, ViewConfig(beta_max=0.0, mask_prob=0.0, noise_std=0.0))
    out = views(torch.exp2(t_log), _gen())
    assert torch.allclose(out, (t_log - mean) / std, atol=1e-5)


def test_views_move_towards_the_normals():
    t_log = torch.full((200, 4), 10.0)
    n_log = torch.full((2, 4), 0.0)
    views = ViewGenerator(
        n_log, torch.zeros(4), torch.ones(4), ViewConfig(beta_max=0.5, n_mix=2, mask_prob=0.0, noise_std=0.0)
    )
    out = views(torch.exp2(t_log), _gen())
    # log2((1 - b) 1024 + b) for b in [0, 0.5): between log2(512.5) and 10
    assert (out <= 10.0 + 1e-5).all() and (out >= np.log2(512.5) - 1e-4).all()
    assert out.std() > 0.1  # the fractions differ between samples


def test_masking_and_noise_rates():
    t_log = torch.zeros(500, 200)
    views = ViewGenerator(
        torch.zeros(2, 200), torch.zeros(200), torch.ones(200), ViewConfig(beta_max=0.0, mask_prob=0.2, noise_std=0.0)
    )
    out = views(torch.exp2(t_log + 1.0), _gen())  # standardised value is 1 everywhere before masking
    assert (out == 0).float().mean().item() == pytest.approx(0.2, abs=0.01)
    views = ViewGenerator(
        torch.zeros(2, 200), torch.zeros(200), torch.ones(200), ViewConfig(beta_max=0.0, mask_prob=0.0, noise_std=0.3)
    )
    out = views(torch.exp2(t_log), _gen())
    assert out.std().item() == pytest.approx(0.3, rel=0.05)


def test_same_seed_same_views():
    t = torch.rand(6, 5) * 100 + 1
    v = ViewGenerator(torch.rand(4, 5) * 5, torch.zeros(5), torch.ones(5), ViewConfig())
    assert torch.equal(v(t, _gen(3)), v(t, _gen(3)))
    assert not torch.equal(v(t, _gen(3)), v(t, _gen(4)))


@pytest.mark.parametrize(
    "bad", [dict(beta_max=1.0), dict(beta_max=-0.1), dict(n_mix=0), dict(mask_prob=1.0), dict(noise_std=-1)]
)
def test_bad_config(bad):
    with pytest.raises(ValueError):
        ViewConfig(**bad).validate()


def test_beta_scale_zero_gives_an_unmixed_anchor_view():
    t_log = torch.rand(4, 6) * 8 + 1
    n_log = torch.zeros(3, 6)
    v = ViewGenerator(n_log, torch.zeros(6), torch.ones(6), ViewConfig(beta_max=0.9, mask_prob=0.0, noise_std=0.0))
    scale = torch.tensor([0.0, 0.0, 1.0, 1.0])
    out = v(torch.exp2(t_log), _gen(), scale)
    assert torch.allclose(out[:2], t_log[:2], atol=1e-5)  # anchors untouched
    assert not torch.allclose(out[2:], t_log[2:], atol=1e-3)  # the others mixed


def test_mask_and_noise_against_hand_computed_values():
    from scipy.stats import norm
    from twinpurify.augment import mask_and_noise

    p, sd = 0.25, 0.5
    x = torch.tensor([[1.0, 2.0, 3.0, 4.0]])
    u = torch.tensor([[0.1, 0.7, 0.2, 0.25]])
    # below p: masked, noise from u / p; at or above p: kept, noise from (u - p) / (1 - p)
    v = np.array([0.1 / p, (0.7 - p) / (1 - p), 0.2 / p, 2.0**-24])
    expected = np.array([0.0, 2.0, 0.0, 4.0]) + sd * norm.ppf(v)
    out = mask_and_noise(x, u.clone(), p, sd)
    assert out is x  # in place
    np.testing.assert_allclose(out.numpy()[0], expected, rtol=1e-4, atol=1e-4)
    # mask only, noise only
    assert torch.equal(mask_and_noise(torch.ones(1, 4), u.clone(), p, 0.0), torch.tensor([[0.0, 1.0, 0.0, 1.0]]))
    noise_only = mask_and_noise(torch.zeros(1, 4), u.clone(), 0.0, sd)
    np.testing.assert_allclose(noise_only.numpy()[0], sd * norm.ppf(u.numpy()[0]), rtol=1e-4, atol=1e-4)


def test_mask_and_noise_are_independent_and_have_the_stated_distributions():
    from scipy.stats import kstest
    from twinpurify.augment import mask_and_noise, uniforms

    p, sd = 0.2, 0.3
    u = uniforms((400, 500), _gen(0), torch.device("cpu"))
    x = mask_and_noise(torch.full((400, 500), 5.0), u, p, sd).numpy().ravel()
    masked = np.abs(x) < 2.5  # masked entries are 0 + noise, kept ones 5 + noise
    assert masked.mean() == pytest.approx(p, abs=0.005)
    noise_masked, noise_kept = x[masked] / sd, (x[~masked] - 5.0) / sd
    # within each branch the noise is standard normal (it would not be if the mask's uniform were reused raw)
    assert kstest(noise_masked, "norm").pvalue > 1e-3
    assert kstest(noise_kept, "norm").pvalue > 1e-3
    assert abs(noise_masked.mean() - noise_kept.mean()) < 0.02


def test_cpu_uniforms_are_midpoints_of_a_16_bit_grid_and_reproducible():
    from twinpurify.augment import uniforms

    cpu = torch.device("cpu")
    g1, g2 = _gen(5), _gen(5)
    a = uniforms((300, 7), g1, cpu).numpy()
    b = uniforms((300, 7), g2, cpu, out=np.empty((300, 7), np.float32)).numpy()
    assert np.array_equal(a, b)
    k = a * 65536 - 0.5
    assert np.array_equal(k, np.round(k)) and k.min() >= 0 and k.max() <= 65535
    assert 0.0 < a.min() and a.max() < 1.0 and a.mean() == pytest.approx(0.5, abs=0.02)
    assert not np.array_equal(uniforms((300, 7), g1, cpu).numpy(), a)  # the generator moved on
    assert uniforms((0, 7), g1, cpu).shape == (0, 7)


def test_views_do_not_depend_on_the_cpu_block_size(monkeypatch):
    import twinpurify.augment as augment

    t = torch.rand(37, 11) * 100 + 1
    v = ViewGenerator(torch.rand(4, 11) * 5, torch.zeros(11), torch.ones(11), ViewConfig())
    whole = v(t, _gen(2))
    monkeypatch.setattr(augment, "_CPU_BLOCK", 30)  # two rows per block, the last block a single row
    assert torch.equal(v(t, _gen(2)), whole)


def test_mix_with_normals_writes_into_out():
    n_lin = torch.tensor([[1.0, 0.0], [0.0, 1.0], [3.0, 3.0]])
    out = torch.full((1, 2), -1.0)
    res = mix_with_normals(
        torch.zeros(1, 2), n_lin, torch.tensor([1.0]), torch.tensor([[0.25, 0.75]]), torch.tensor([[0, 2]]), out=out
    )
    assert res.data_ptr() == out.data_ptr()
    assert torch.allclose(out, torch.tensor([[2.5, 2.25]]))


def test_repeats_equal_views_of_the_stacked_batch():
    t = torch.rand(9, 13) * 50 + 1
    v = ViewGenerator(torch.rand(5, 13) * 5, torch.zeros(13), torch.ones(13), ViewConfig())
    scale = torch.linspace(0, 1, 18)
    assert torch.equal(v(t, _gen(4), scale, repeats=2), v(torch.cat([t, t]), _gen(4), scale))
    assert v(t, _gen(4), repeats=3).shape == (27, 13)


@pytest.mark.parametrize("p", [0.0, 0.1])
def test_mask_and_noise_stay_finite_at_the_ends_of_torch_rand(p):
    """On an accelerator the uniforms come from torch.rand: multiples of 2**-24, 0 included."""
    from twinpurify.augment import mask_and_noise

    u = torch.tensor([[0.0, 2.0**-24, p, 1.0 - 2.0**-24, 0.5]])
    out = mask_and_noise(torch.zeros(1, 5), u, p, 1.0)
    assert torch.isfinite(out).all()
    assert out.abs().max().item() < 5.4  # the quantile of 2**-24 is about 5.3 sd
