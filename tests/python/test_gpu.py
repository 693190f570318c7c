"""GPU checks: run where CUDA is present (the device tool's machines); skipped on CPU-only CI."""

import numpy as np
import pytest
import torch
from twinpurify import TwinPurify

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")]


def test_cuda_fit_bf16_and_cpu_reload(tmp_path, log_pair, fast):
    t, n = log_pair
    m = TwinPurify(**{**fast, "device": "cuda"}).fit(t, n)
    assert m.device_.startswith("cuda")
    Z = m.transform(t)
    assert np.isfinite(Z.to_numpy()).all()
    m.save(tmp_path / "m")
    cpu = TwinPurify.load(tmp_path / "m", device="cpu")
    np.testing.assert_allclose(cpu.transform(t).to_numpy(), Z.to_numpy(), rtol=1e-3, atol=1e-3)
