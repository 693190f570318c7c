"""The purity-free target shared by the NormalDifference baseline and TwinPurify's content head."""

import numpy as np
import torch
from twinpurify.targets import TargetScaler, normal_difference, normal_difference_np


def test_unit_length_and_purity_invariance():
    rng = np.random.default_rng(0)
    normal = rng.uniform(1, 50, 30)
    cancer = rng.uniform(1, 50, 30)
    # a tumor of purity p whose normal tissue is the mean normal: x = p c + (1 - p) n
    tumors = np.stack([p * cancer + (1 - p) * normal for p in (0.2, 0.5, 0.9)])
    t = normal_difference_np(tumors, normal)
    np.testing.assert_allclose(np.linalg.norm(t, axis=1), 1.0)
    np.testing.assert_allclose(t, np.tile(t[0], (3, 1)), atol=1e-12)  # purity gone
    expected = (cancer - normal) / np.linalg.norm(cancer - normal)  # hand-computed
    np.testing.assert_allclose(t[0], expected, atol=1e-12)


def test_torch_and_numpy_agree():
    rng = np.random.default_rng(1)
    x, n = rng.uniform(0, 10, (5, 12)), rng.uniform(0, 10, 12)
    a = normal_difference(torch.tensor(x, dtype=torch.float32), torch.tensor(n, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(a, normal_difference_np(x, n), rtol=1e-5, atol=1e-6)


def test_target_scaler_standardises():
    rng = np.random.default_rng(2)
    t = rng.normal(3, 2, (40, 6))
    s = TargetScaler.fit(t)
    z = s.transform(t)
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(0), 1, atol=1e-5)
