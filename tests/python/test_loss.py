import numpy as np
import pytest
import torch
from twinpurify.loss import barlow_twins_loss


def reference_loss(z1, z2, lambd, eps=1e-5):
    """The Barlow Twins formula written out element by element."""
    z1, z2 = np.asarray(z1, np.float64), np.asarray(z2, np.float64)
    n, d = z1.shape
    a = (z1 - z1.mean(0)) / (z1.std(0) + eps)
    b = (z2 - z2.mean(0)) / (z2.std(0) + eps)
    total = 0.0
    for i in range(d):
        for j in range(d):
            c = sum(a[k, i] * b[k, j] for k in range(n)) / n
            total += (1 - c) ** 2 if i == j else lambd * c**2
    return total


@pytest.mark.parametrize("lambd", [0.0, 5e-3, 0.5])
def test_matches_reference_formula(lambd):
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(12, 5, generator=g), torch.randn(12, 5, generator=g)
    got = barlow_twins_loss(z1, z2, lambd).item()
    assert got == pytest.approx(reference_loss(z1.numpy(), z2.numpy(), lambd), rel=1e-4)


def test_identical_decorrelated_views_give_zero():
    # Orthogonal, centred columns: C is the identity, so the loss is zero.
    x = np.random.default_rng(0).normal(size=(64, 6))
    q, _ = np.linalg.qr(x - x.mean(0))  # orthonormal columns inside the centred subspace
    z = torch.tensor(q, dtype=torch.float32)
    assert barlow_twins_loss(z, z, 1.0).item() < 1e-3


def test_loss_is_float32_for_bf16_inputs():
    z1 = torch.randn(16, 4).bfloat16()
    z2 = torch.randn(16, 4).bfloat16()
    out = barlow_twins_loss(z1, z2)
    assert out.dtype == torch.float32
    assert out.item() == pytest.approx(reference_loss(z1.float().numpy(), z2.float().numpy(), 5e-3), rel=1e-3)


def test_gradients_flow():
    z1 = torch.randn(8, 3, requires_grad=True)
    barlow_twins_loss(z1, torch.randn(8, 3)).backward()
    assert torch.isfinite(z1.grad).all() and z1.grad.abs().sum() > 0


@pytest.mark.parametrize("shape1,shape2", [((4, 3), (4, 2)), ((1, 3), (1, 3)), ((4,), (4,))])
def test_bad_shapes(shape1, shape2):
    with pytest.raises(ValueError):
        barlow_twins_loss(torch.randn(*shape1), torch.randn(*shape2))
