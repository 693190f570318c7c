"""A model folder written by twinpurify 0.1.0 (format 1, before checksums, module names and the
content/encoder options) is committed under tests/python/data/model_format1: it must load and transform
identically forever, and default training on its data must reproduce a committed embedding.

That second embedding is `expected_refit_embedding.csv`. It equalled `expected_embedding.csv` until views
drew their mask and noise from one 16-bit uniform per entry (CHANGELOG, "Throughput"): the same distribution
from another random stream, so it was regenerated then, on purpose, and must only change on purpose."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
from twinpurify import TwinPurify, load_model

HERE = Path(__file__).parent / "data" / "model_format1"
# the round-6 defaults' encoder (encoder_input="pca"), fitted on the same data on 2 threads (twinpurify 0.99 dev,
# 2026-11-27): its fixed first layer and its training must stay what they are unless changed on purpose
PCA_FRONT = Path(__file__).parent / "data" / "model_pca_front"


def test_format1_folder_loads_and_transforms_identically():
    cfg = json.loads((HERE / "model" / "config.json").read_text())
    assert cfg["format_version"] == 1 and "weights_sha256" not in cfg and "module" not in cfg
    model = load_model(HERE / "model", device="cpu")
    assert isinstance(model, TwinPurify) and model.content_weight == 0.0 and model.encoder_input == "log"
    tumors = pd.read_csv(HERE / "tumors.csv", index_col=0)
    expected = pd.read_csv(HERE / "expected_embedding.csv", index_col=0)
    got = model.transform(tumors)
    assert list(got.columns) == list(expected.columns) and list(got.index) == list(expected.index)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-5, atol=1e-6)


def _refit(folder: Path) -> TwinPurify:
    """Fit with the folder's stored parameters on the stored data, on 2 threads as the folders were written.

    Float32 reductions split over another thread count round differently, and three epochs amplify that to
    ~1e-3. Parameters added since a folder was written keep the meaning it had (`legacy_params`).
    """
    import torch

    cfg = json.loads((folder / "config.json").read_text())
    stored = {k: tuple(v) if isinstance(v, list) else v for k, v in cfg["params"].items()}
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        return TwinPurify(**{**TwinPurify.legacy_params, **stored}).fit(
            pd.read_csv(HERE / "tumors.csv", index_col=0), pd.read_csv(HERE / "normals.csv", index_col=0)
        )
    finally:
        torch.set_num_threads(threads)


def test_default_training_still_reproduces_the_committed_model():
    """Refitting with the stored parameters on the stored data gives the committed refit (CPU, same seed)."""
    Z = _refit(HERE / "model").transform(pd.read_csv(HERE / "tumors.csv", index_col=0))
    expected = pd.read_csv(HERE / "expected_refit_embedding.csv", index_col=0)
    np.testing.assert_allclose(Z.to_numpy(), expected.to_numpy(), rtol=1e-4, atol=1e-4)


def test_pca_front_folder_loads_transforms_and_refits_identically():
    """The default encoder input: a committed folder loads with its front and embeds as committed; refitting
    with its stored parameters on the stored data reproduces that embedding."""
    model = load_model(PCA_FRONT / "model", device="cpu")
    assert model.encoder_input == "pca" and tuple(model.module_.encoder[0].weight.shape) == (4, 60)
    tumors = pd.read_csv(HERE / "tumors.csv", index_col=0)
    expected = pd.read_csv(PCA_FRONT / "expected_embedding.csv", index_col=0)
    np.testing.assert_allclose(model.transform(tumors).to_numpy(), expected.to_numpy(), rtol=1e-5, atol=1e-5)
    refit = _refit(PCA_FRONT / "model")
    np.testing.assert_allclose(
        refit.module_.encoder[0].weight.numpy(), model.module_.encoder[0].weight.numpy(), atol=1e-5
    )
    np.testing.assert_allclose(refit.transform(tumors).to_numpy(), expected.to_numpy(), rtol=1e-4, atol=1e-4)


# the round-7 defaults (drop_mixing_dims=2, beta_max=0.7): the fixed last layer is saved as module.output.*
MIXING_STEP = Path(__file__).parent / "data" / "model_mixing_step"


def _loads_transforms_and_refits_identically(folder: Path) -> TwinPurify:
    """The folder loads and embeds as committed; refitting with its stored parameters on the stored data
    reproduces its last layer and its embedding. Returns the loaded model for folder-specific checks."""
    model = load_model(folder / "model", device="cpu")
    tumors = pd.read_csv(HERE / "tumors.csv", index_col=0)
    expected = pd.read_csv(folder / "expected_embedding.csv", index_col=0)
    np.testing.assert_allclose(model.transform(tumors).to_numpy(), expected.to_numpy(), rtol=1e-5, atol=1e-5)
    refit = _refit(folder / "model")
    np.testing.assert_allclose(refit.module_.output.weight.numpy(), model.module_.output.weight.numpy(), atol=1e-4)
    np.testing.assert_allclose(refit.transform(tumors).to_numpy(), expected.to_numpy(), rtol=1e-4, atol=1e-4)
    return model


def test_mixing_step_folder_loads_transforms_and_refits_identically():
    """The default last layer."""
    model = _loads_transforms_and_refits_identically(MIXING_STEP)
    assert model.drop_mixing_dims == 2 and model.beta_max == 0.7
    assert tuple(model.module_.encoder[0].weight.shape) == (6, 60)
    assert tuple(model.module_.output.weight.shape) == (4, 6)


def test_folders_from_before_the_mixing_step_load_without_it():
    """Older folders have no drop_mixing_dims: they keep the meaning they had (no last layer)."""
    for folder in (HERE / "model", PCA_FRONT / "model"):
        assert "drop_mixing_dims" not in json.loads((folder / "config.json").read_text())["params"]
        model = load_model(folder, device="cpu")
        assert model.drop_mixing_dims == 0 and model.module_.output is None


# n_networks=2 (round 8): the members' bodies and projectors are saved as module.encoder.1.bodies.* and
# module.projectors.*; written like the folder above, with n_networks=2 added (2 threads, 2026-11-28)
NETWORKS = Path(__file__).parent / "data" / "model_networks"


def test_networks_folder_loads_transforms_and_refits_identically():
    model = _loads_transforms_and_refits_identically(NETWORKS)
    assert model.n_networks == 2 and len(model.module_.encoder[1].bodies) == 2
    assert tuple(model.module_.output.weight.shape) == (4, 12)


def test_folders_from_before_n_networks_load_with_one():
    for folder in (HERE / "model", PCA_FRONT / "model", MIXING_STEP / "model"):
        assert "n_networks" not in json.loads((folder / "config.json").read_text())["params"]
        assert load_model(folder, device="cpu").n_networks == 1
