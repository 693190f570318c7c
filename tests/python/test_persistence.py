"""Guarded writes and checked loads: no save destroys a user's files, no damaged folder loads silently."""

import hashlib
import json
import shutil

import numpy as np
import pandas as pd
import pytest
from twinpurify import PCAEmbedding, TwinPurify, load_model
from twinpurify.cli import main
from twinpurify.params import ParameterError
from twinpurify.persistence import ModelFormatError, is_model_folder


def _digest(folder):
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def pca(log_pair):
    return PCAEmbedding(3, verbose=False).fit(log_pair[0])


@pytest.mark.parametrize("overwrite", [False, True])
def test_save_never_replaces_a_folder_of_user_files(tmp_path, pca, overwrite):
    user = tmp_path / "results"
    user.mkdir()
    (user / "table.csv").write_text("a,b\n1,2\n")
    (user / "config.json").write_text("{}")  # looks a bit like a model, but is not one
    before = _digest(user)
    with pytest.raises(FileExistsError, match="does not hold a TwinPurify model"):
        pca.save(user, overwrite=overwrite)
    assert _digest(user) == before


def test_save_refuses_a_file_and_replaces_only_models(tmp_path, pca, log_pair):
    f = tmp_path / "data.csv"
    f.write_text("x")
    with pytest.raises(FileExistsError, match="is a file"):
        pca.save(f, overwrite=True)
    assert f.read_text() == "x"
    empty = tmp_path / "empty"
    empty.mkdir()
    pca.save(empty)  # an empty folder may be used
    assert is_model_folder(empty)
    with pytest.raises(FileExistsError, match="already holds a model"):
        pca.save(empty)
    other = PCAEmbedding(2, verbose=False).fit(log_pair[0])
    other.save(empty, overwrite=True)
    assert load_model(empty).components_.shape[0] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv", "empty"]  # no temporary leftovers


def test_save_to_the_working_directory(tmp_path, pca, log_pair, monkeypatch):
    """Before, `save(".")` in an empty folder made its temporary folder inside the target (`Path(".").name` is empty),
    then refused the target as holding that folder; resolved, a swap would have left the process in a deleted folder.
    The working directory is now filled in place."""
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    assert pca.save(".") == here.resolve()
    assert is_model_folder(here) and load_model(".").components_.shape[0] == 3
    with pytest.raises(FileExistsError, match="already holds a model"):
        pca.save(".")
    PCAEmbedding(2, verbose=False).fit(log_pair[0]).save(".", overwrite=True)
    assert load_model(".").components_.shape[0] == 2 and load_model(here).components_.shape[0] == 2
    assert sorted(p.name for p in here.iterdir()) == ["config.json", "weights.safetensors"]
    assert [p.name for p in tmp_path.iterdir()] == ["here"]  # no temporary leftovers beside it
    (here / "inner").mkdir()  # `inner/..` is the working directory, no longer a model folder: refused
    with pytest.raises(FileExistsError, match="does not hold a TwinPurify model"):
        pca.save("inner/..", overwrite=True)
    assert sorted(p.name for p in here.iterdir()) == ["config.json", "inner", "weights.safetensors"]


def test_leftovers_of_interrupted_saves_are_cleaned(tmp_path, pca):
    target = tmp_path / "model"
    stale = tmp_path / ".model.twinpurify-tmp-abc123"  # what a kill -9 during a save leaves
    stale.mkdir()
    (stale / "weights.safetensors").write_bytes(b"partial")
    replaced = tmp_path / ".model.twinpurify-tmp-def456"  # killed while swapping: the old model moved aside
    pca.save(replaced / "x")
    foreign = tmp_path / ".model.twinpurify-tmp-notes"  # other content stays, whatever the name
    foreign.mkdir()
    (foreign / "keep.txt").write_text("keep")
    pca.save(target)
    assert not stale.exists() and not replaced.exists() and (foreign / "keep.txt").read_text() == "keep"


def test_saving_never_removes_the_users_copies_beside_the_model(tmp_path, pca):
    """Before, any `.<name>.*` folder holding only model files was taken for a leftover and deleted: a user's
    `.model.backup` copy of the model, at every save to `model` (with or without overwrite), and with glob
    characters in the name other folders too (`run[1]` matched `.run1.*`)."""
    pca.save(tmp_path / "model")
    copies = [tmp_path / ".model.backup", tmp_path / ".model.2024-01-01", tmp_path / ".run1.keep"]
    for c in copies:
        shutil.copytree(tmp_path / "model", c)
    before = {c.name: _digest(c) for c in copies}
    load_model(tmp_path / "model").save(tmp_path / "model", overwrite=True)
    pca.save(tmp_path / "model2")
    pca.save(tmp_path / "run[1]")
    assert {c.name: _digest(c) for c in copies} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["model", "model2", "run[1]", *before])


def _damage(folder, fn):
    cfg_path = folder / "config.json"
    cfg = json.loads(cfg_path.read_text())
    out = fn(cfg)
    cfg_path.write_text(json.dumps(out))


@pytest.mark.parametrize(
    "edit,match",
    [
        (lambda c: [c], "expected a JSON object"),
        (lambda c: {**c, "format_version": "1"}, "format_version must be a positive integer"),
        (lambda c: {k: v for k, v in c.items() if k != "params"}, "missing keys params"),
        (
            lambda c: {**c, "preprocessor": {**c["preprocessor"], "genes_": c["preprocessor"]["genes_"][::-1]}},
            "gene list does not match",
        ),
        (
            lambda c: {**c, "preprocessor": {**c["preprocessor"], "genes_": c["preprocessor"]["genes_"][:-1]}},
            "config.json lists",
        ),
        (lambda c: {**c, "params": {**c["params"], "bogus": 1}}, "parameters bogus are unknown"),
        (lambda c: {**c, "module": "os"}, "unknown model class"),
        (lambda c: {**c, "weights_sha256": "0" * 64}, "checksum does not match"),
    ],
)
def test_damaged_config_is_named(tmp_path, pca, edit, match):
    pca.save(tmp_path / "m")
    _damage(tmp_path / "m", edit)
    with pytest.raises(ModelFormatError, match=match) as err:
        load_model(tmp_path / "m")
    assert str(tmp_path / "m") in str(err.value)


def test_damaged_weights_are_named(tmp_path, pca):
    from safetensors.numpy import load_file, save_file

    pca.save(tmp_path / "m")
    w = tmp_path / "m" / "weights.safetensors"
    w.write_bytes(w.read_bytes()[:100])  # truncated
    with pytest.raises(ModelFormatError, match="checksum does not match"):
        load_model(tmp_path / "m")
    for key, bad, match in [("components", np.nan, "non-finite"), ("preprocessor.std", 0.0, "non-positive")]:
        pca.save(tmp_path / key, overwrite=True)
        w = tmp_path / key / "weights.safetensors"
        arrays = load_file(str(w))
        arrays[key] = np.full_like(arrays[key], bad)
        save_file(arrays, str(w))
        _damage(tmp_path / key, lambda c: {k: v for k, v in c.items() if k != "weights_sha256"})
        with pytest.raises(ModelFormatError, match=match):
            load_model(tmp_path / key)
    pca.save(tmp_path / "t", overwrite=True)
    (tmp_path / "t" / "weights.safetensors").write_bytes(b"garbage")
    _damage(tmp_path / "t", lambda c: {k: v for k, v in c.items() if k != "weights_sha256"})
    with pytest.raises(ModelFormatError, match="unreadable weights"):
        load_model(tmp_path / "t")


def test_folders_written_before_checksums_and_modules_still_load(tmp_path, log_pair, fast):
    t, n = log_pair
    m = TwinPurify(**fast, encoder_input="log").fit(t, n)  # what every model was before encoder_input existed
    m.save(tmp_path / "m")
    legacy = ("weights_sha256", "module")
    _damage(
        tmp_path / "m",
        lambda c: (
            {k: v for k, v in c.items() if k not in legacy}
            | {
                "params": {
                    k: v
                    for k, v in c["params"].items()
                    if k not in ("invariance_weight", "content_weight", "encoder_input")
                }
            }
        ),
    )
    again = load_model(tmp_path / "m")
    assert again.content_weight == 0.0 and again.encoder_input == "log"  # the meaning those folders had
    pd.testing.assert_frame_equal(again.transform(t), m.transform(t))


def test_cli_outputs_never_replace_inputs(tmp_path, cohort, capsys):
    data = tmp_path / "data"
    data.mkdir()
    cohort.tumors.to_csv(data / "t.csv")
    cohort.normals.to_csv(data / "n.csv")
    before = _digest(data)
    fast = ["--n-components", "3", "--epochs", "1", "--quiet"]
    base = ["fit", "--tumor", str(data / "t.csv"), "--normal", str(data / "n.csv")]
    for extra, match in [
        (["--model", str(data)], "would overwrite the input"),
        (["--model", str(data / "t.csv")], "would overwrite the input"),
        (["--model", str(tmp_path / "m"), "--embedding", str(data / "t.csv")], "would overwrite"),
        (["--model", str(tmp_path / "m"), "--embedding", str(tmp_path / "m")], "same path"),
    ]:
        assert main([*base, *extra, "--overwrite", *fast]) == 2
        assert match in capsys.readouterr().err
    assert _digest(data) == before
    assert main([*base, "--model", str(tmp_path / "m"), "--embedding", str(tmp_path / "e.csv"), *fast]) == 0
    assert main([*base, "--model", str(tmp_path / "m2"), "--embedding", str(tmp_path / "e.csv"), *fast]) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err
    assert not (tmp_path / "m2").exists()  # refused before training, nothing written
    tr = ["transform", "--model", str(tmp_path / "m"), "--input", str(data / "t.csv")]
    assert main([*tr, "--output", str(data / "t.csv"), "--overwrite"]) == 2
    assert "would overwrite the input" in capsys.readouterr().err
    assert main([*tr, "--output", str(tmp_path / "m" / "config.json"), "--overwrite"]) == 2
    assert main([*tr, "--output", str(tmp_path / "e.csv")]) == 2
    assert main([*tr, "--output", str(tmp_path / "e.csv"), "--overwrite"]) == 0
    assert _digest(data) == before


def test_saved_files_follow_the_umask(tmp_path, pca):
    import os

    old = os.umask(0o022)
    try:
        pca.save(tmp_path / "m")
    finally:
        os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "m").iterdir()}
    assert modes == {"config.json": 0o644, "weights.safetensors": 0o644}
    assert (tmp_path / "m").stat().st_mode & 0o777 == 0o755


def test_numpy_integer_parameters_save_and_load(tmp_path, log_pair, fast):
    """They pass the schema as integers; before, save failed after training (int64 is not JSON serializable)."""
    t, n = log_pair
    ints = dict(n_components=np.int64(4), random_state=np.int64(0), hidden_dims=(np.int64(16),))
    m = TwinPurify(**{**fast, "n_networks": 1, "max_epochs": 1, **ints}).fit(t, n)
    again = load_model(m.save(tmp_path / "m"))
    assert (again.n_components, again.random_state, again.hidden_dims) == (4, 0, (16,))
    pd.testing.assert_frame_equal(again.transform(t), m.transform(t))


def test_save_writes_the_parameters_of_the_fit(tmp_path, pca):
    """A set_params since fit describes the next fit, not these weights (PCA: n_genes chose the genes)."""
    pca.set_params(n_genes=10, n_components=2)
    again = load_model(pca.save(tmp_path / "m"))
    assert (again.n_genes, again.n_components) == (3000, 3) and again.components_.shape[0] == 3


@pytest.fixture
def tiny_neural(tmp_path, log_pair, fast):
    """A one-network TwinPurify fitted on the CPU, saved under tmp_path / "m"."""
    m = TwinPurify(**{**fast, "n_networks": 1, "max_epochs": 1, "device": "cpu"}).fit(*log_pair)
    return m, m.save(tmp_path / "m")


def test_a_bad_device_at_load_is_named_not_blamed_on_the_folder(tiny_neural):
    """Before, load_model(path, device="gpu") said the weights did not fit config.json (ModelFormatError)."""
    _, path = tiny_neural
    with pytest.raises(ParameterError, match="device='gpu' is not allowed"):
        load_model(path, device="gpu")
    with pytest.raises(RuntimeError, match="device='cuda:99'"):  # a device this machine does not have
        load_model(path, device="cuda:99")
    _damage(path, lambda c: {**c, "params": {**c["params"], "device": "gpu"}})  # a hand-edited folder
    with pytest.raises(ModelFormatError, match=r"config.json: device='gpu' is not allowed"):
        load_model(path)


def test_a_model_fitted_on_a_gpu_loads_on_a_machine_without_it(tiny_neural, log_pair):
    """Before, a folder saved with device="cuda" failed to load on a CPU-only machine (an R session reading a
    GPU-fitted model on a laptop), blaming the weights; they do not depend on the device."""
    import torch

    m, path = tiny_neural
    for saved in ["cuda:99"] + ([] if torch.cuda.is_available() else ["cuda"]):
        _damage(path, lambda c, saved=saved: {**c, "params": {**c["params"], "device": saved}})
        with pytest.warns(
            UserWarning, match=rf"saved with device='{saved}', which this machine does not have; loading it on the CPU"
        ):
            again = load_model(path)
        assert again.device == "cpu" and again.device_ == "cpu"
        pd.testing.assert_frame_equal(again.transform(log_pair[0]), m.transform(log_pair[0]))
