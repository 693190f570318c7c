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
