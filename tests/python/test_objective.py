"""TwinPurify's objective: each term against its formula, weights, and the content target."""

import pytest
import torch
from twinpurify.augment import ViewConfig, ViewGenerator
from twinpurify.loss import barlow_twins_loss
from twinpurify.model import BarlowTwinsModule
from twinpurify.objective import TwinPurifyObjective
from twinpurify.targets import normal_difference


def _setup(content_weight=0.5, invariance_weight=2.0):
    torch.manual_seed(0)
    g = 20
    normal_log = torch.rand(6, g) * 4
    mean, std = torch.full((g,), 2.0), torch.full((g,), 1.5)
    views = ViewGenerator(normal_log, mean, std, ViewConfig(0.5, 2, 0.0, 0.0))
    obj = TwinPurifyObjective(
        views,
        lambd=0.01,
        invariance_weight=invariance_weight,
        content_weight=content_weight,
        normal_mean_lin=torch.exp2(normal_log).mean(0),
        target_mean=torch.full((g,), 0.1),
        target_std=torch.full((g,), 0.2),
    )
    module = BarlowTwinsModule(g, [16], 4, [8], target_dim=g)
    tumors = torch.exp2(torch.rand(10, g) * 4)
    return obj, module, tumors, views


def test_terms_match_their_formulas():
    obj, module, tumors, views = _setup()
    terms = obj.terms(module, tumors, torch.Generator().manual_seed(3))
    # redo by hand with the same random stream
    v = views(torch.cat([tumors, tumors]), torch.Generator().manual_seed(3))
    z, p = module(v)
    p1, p2 = p.chunk(2)
    assert torch.allclose(terms["invariance"], barlow_twins_loss(p1, p2, 0.01))
    target = (normal_difference(tumors, obj.normal_mean_lin) - 0.1) / 0.2
    expected = ((module.head(z) - torch.cat([target, target])) ** 2).mean()
    assert torch.allclose(terms["content"], expected)


def test_weights_combine_linearly():
    obj, module, tumors, _ = _setup(content_weight=0.5, invariance_weight=2.0)
    terms = obj.terms(module, tumors, torch.Generator().manual_seed(4))
    total = obj(module, tumors, torch.Generator().manual_seed(4))
    assert torch.allclose(total, 2.0 * terms["invariance"] + 0.5 * terms["content"])


def test_no_content_term_when_weight_zero_and_errors():
    obj, module, tumors, _ = _setup(content_weight=0.0)
    assert set(obj.terms(module, tumors, torch.Generator().manual_seed(0))) == {"invariance"}
    obj.content_weight = 1.0
    with pytest.raises(RuntimeError, match="no head"):
        obj.terms(BarlowTwinsModule(tumors.shape[1], [16], 4, [8]), tumors, torch.Generator().manual_seed(0))
    obj.normal_mean_lin = None
    with pytest.raises(RuntimeError, match="normal_mean_lin"):
        obj.target(tumors)


def test_content_term_trains_the_head_toward_the_target():
    obj, module, tumors, _ = _setup(content_weight=1.0, invariance_weight=0.0)
    opt = torch.optim.Adam(module.parameters(), lr=1e-2)
    first = None
    for i in range(150):
        loss = obj(module, tumors, torch.Generator().manual_seed(i))
        first = float(loss.detach()) if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.3 * first


def test_normal_difference_input_layer_matches_the_target_formula():
    from twinpurify.model import NormalDifferenceInput

    torch.manual_seed(1)
    g = 12
    layer = NormalDifferenceInput(g)
    log_mean, log_std = torch.rand(g) * 3, torch.rand(g) + 0.5
    nmean, tmean, tstd = torch.rand(g) * 5, torch.rand(g) * 0.1, torch.rand(g) + 0.2
    layer.set_statistics(log_mean, log_std, nmean, tmean, tstd)
    xs = torch.randn(7, g)
    lin = torch.exp2(xs * log_std + log_mean)
    expected = (normal_difference(lin, nmean) - tmean) / tstd
    assert torch.allclose(layer(xs), expected, atol=1e-5)
    assert not any(p.requires_grad for p in layer.parameters())  # buffers only: nothing to train
    assert set(layer.state_dict()) == {"log_mean", "log_std", "normal_mean_lin", "target_mean", "target_std"}
