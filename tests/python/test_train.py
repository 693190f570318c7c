import math

import pytest
import torch
from twinpurify.train import Schedule, TensorBatches, adamw, train_module


def _params():
    torch.manual_seed(0)
    return torch.nn.Linear(5, 3)


def test_adamw_is_fused_on_cpu_and_matches_the_loop_implementation():
    a, b = _params(), _params()
    fused = adamw(a.parameters(), 1e-2, 0.1, torch.device("cpu"))
    assert fused.defaults["fused"] is True
    loop = torch.optim.AdamW(b.parameters(), lr=1e-2, weight_decay=0.1)
    x = torch.randn(16, 5, generator=torch.Generator().manual_seed(1))
    for _ in range(5):
        for m, opt in ((a, fused), (b, loop)):
            opt.zero_grad()
            m(x).pow(2).sum().backward()
            opt.step()
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_adamw_falls_back_where_no_fused_kernel_exists(monkeypatch):
    calls = []
    real = torch.optim.AdamW

    def picky(params, **kw):
        calls.append(kw.get("fused"))
        if kw.get("fused"):
            raise RuntimeError("fused=True requires all the params to be floating point Tensors of supported devices")
        return real(params, **kw)

    monkeypatch.setattr(torch.optim, "AdamW", picky)
    opt = adamw(_params().parameters(), 1e-3, 0.0, torch.device("cpu"))
    assert calls == [True, None] and not opt.defaults.get("fused")
    calls.clear()
    adamw(_params().parameters(), 1e-3, 0.0, torch.device("meta"))  # no fused kernel asked for
    assert calls == [None]


def test_tensor_batches_cover_each_row_once_per_epoch():
    data = torch.arange(10.0).unsqueeze(1).repeat(1, 3)
    batches = TensorBatches(data, Schedule(4, 1, 2), torch.Generator().manual_seed(0))
    rows = torch.cat(list(batches.epoch()))[:, 0]
    assert len(rows) == 8 and len(set(rows.tolist())) == 8  # two full batches, no row twice
    assert torch.equal(
        torch.cat(list(TensorBatches(data, Schedule(4, 1, 2), torch.Generator().manual_seed(0)).epoch())),
        torch.cat(list(TensorBatches(data, Schedule(4, 1, 2), torch.Generator().manual_seed(0)).epoch())),
    )


def test_train_module_lowers_a_simple_loss():
    m = _params()
    data = torch.randn(64, 5, generator=torch.Generator().manual_seed(2))

    def step(module, batch, generator):
        return module(batch).pow(2).mean()

    hist = train_module(
        m,
        data,
        step,
        Schedule(16, 20, 4),
        lr=1e-2,
        weight_decay=0.0,
        generator=torch.Generator().manual_seed(3),
        progress=False,
    )
    assert len(hist) == 20 and all(math.isfinite(h["loss"]) for h in hist)
    assert hist[-1]["loss"] < 0.5 * hist[0]["loss"]
    with pytest.raises(FloatingPointError, match="diverged"):
        train_module(
            m,
            data,
            lambda *a: torch.tensor(float("nan"), requires_grad=True),
            Schedule(16, 1, 4),
            lr=1e-2,
            weight_decay=0.0,
            generator=torch.Generator(),
            progress=False,
        )
