import json
import re

import numpy as np
import pandas as pd
import pytest
from twinpurify import TwinPurify
from twinpurify.cli import main

FAST = ["--n-components", "4", "--epochs", "2", "--quiet"]


@pytest.fixture
def files(tmp_path, cohort):
    cohort.tumors.to_csv(tmp_path / "tumors.csv")
    cohort.normals.to_csv(tmp_path / "normals.tsv.gz", sep="\t")
    both = pd.concat([cohort.tumors, cohort.normals])
    both.to_parquet(tmp_path / "all.parquet")
    sheet = pd.DataFrame(
        {"sample_type": ["tumor"] * len(cohort.tumors) + ["normal"] * len(cohort.normals)}, index=both.index
    )
    sheet.to_csv(tmp_path / "samples.csv")
    both.T.to_csv(tmp_path / "genes_by_samples.csv")
    return tmp_path


def test_fit_and_transform_files(files, cohort):
    assert (
        main(
            [
                "fit",
                "--tumor",
                str(files / "tumors.csv"),
                "--normal",
                str(files / "normals.tsv.gz"),
                "--model",
                str(files / "m"),
                "--embedding",
                str(files / "emb.csv"),
                *FAST,
            ]
        )
        == 0
    )
    emb = pd.read_csv(files / "emb.csv", index_col=0)
    assert emb.shape == (60, 4) and list(emb.index) == list(cohort.tumors.index)
    cfg = json.loads((files / "m" / "config.json").read_text())
    assert cfg["class"] == "TwinPurify" and cfg["params"]["n_components"] == 4
    assert cfg["params"]["encoder_input"] == "pca"  # the default
    log_args = ["fit", "--tumor", str(files / "tumors.csv"), "--normal", str(files / "normals.tsv.gz")]
    assert main([*log_args, "--model", str(files / "m_log"), "--encoder-input", "log", *FAST]) == 0
    assert json.loads((files / "m_log" / "config.json").read_text())["params"]["encoder_input"] == "log"
    assert (cfg["params"]["drop_mixing_dims"], cfg["params"]["beta_max"], cfg["params"]["n_networks"]) == (2, 0.9, 3)
    assert main([*log_args, "--model", str(files / "m_nodrop"), "--drop-mixing-dims", "0", *FAST]) == 0
    assert json.loads((files / "m_nodrop" / "config.json").read_text())["params"]["drop_mixing_dims"] == 0
    assert main([*log_args, "--model", str(files / "m_bad"), "--drop-mixing-dims", "-1", *FAST]) == 2
    assert not (files / "m_bad").exists()  # refused before anything was written
    assert main([*log_args, "--model", str(files / "m_two"), "--n-networks", "2", *FAST]) == 0
    assert json.loads((files / "m_two" / "config.json").read_text())["params"]["n_networks"] == 2
    assert main([*log_args, "--model", str(files / "m_bad"), "--n-networks", "0", *FAST]) == 2
    assert not (files / "m_bad").exists()
    assert (
        main(
            [
                "transform",
                "--model",
                str(files / "m"),
                "--input",
                str(files / "tumors.csv"),
                "--output",
                str(files / "again.parquet"),
                "--quiet",
            ]
        )
        == 0
    )
    again = pd.read_parquet(files / "again.parquet")
    np.testing.assert_allclose(again.to_numpy(), emb.to_numpy(), rtol=1e-5, atol=1e-6)


def test_fit_one_table_with_sample_sheet_and_genes_as_rows(files):
    assert (
        main(
            [
                "fit",
                "--input",
                str(files / "all.parquet"),
                "--samples",
                str(files / "samples.csv"),
                "--model",
                str(files / "m1"),
                *FAST,
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "fit",
                "--input",
                str(files / "genes_by_samples.csv"),
                "--genes-as-rows",
                "--samples",
                str(files / "samples.csv"),
                "--model",
                str(files / "m2"),
                *FAST,
            ]
        )
        == 0
    )
    assert TwinPurify.load(files / "m2").n_features_in_ == 200


def test_fit_h5ad(files, cohort):
    cohort.to_anndata().write_h5ad(files / "c.h5ad")
    assert (
        main(
            [
                "fit",
                "--input",
                str(files / "c.h5ad"),
                "--model",
                str(files / "m"),
                "--embedding",
                str(files / "e.tsv"),
                *FAST,
            ]
        )
        == 0
    )
    assert pd.read_csv(files / "e.tsv", sep="\t", index_col=0).shape == (60, 4)


def test_errors_are_reported_not_raised(files, capsys):
    assert main(["fit", "--tumor", str(files / "tumors.csv"), "--model", str(files / "m"), *FAST]) == 2
    assert "give --tumor and --normal" in capsys.readouterr().err
    assert main(["fit", "--input", str(files / "all.parquet"), "--model", str(files / "m"), *FAST]) == 2
    assert "needs a sample sheet" in capsys.readouterr().err
    assert (
        main(
            [
                "fit",
                "--tumor",
                str(files / "nope.csv"),
                "--normal",
                str(files / "normals.tsv.gz"),
                "--model",
                str(files / "m"),
                *FAST,
            ]
        )
        == 2
    )
    assert "no such file" in capsys.readouterr().err
    assert (
        main(
            [
                "transform",
                "--model",
                str(files / "missing"),
                "--input",
                str(files / "tumors.csv"),
                "--output",
                str(files / "o.csv"),
            ]
        )
        == 2
    )
    assert "not a saved TwinPurify model" in capsys.readouterr().err
    (files / "m").mkdir()
    (files / "m" / "notes.txt").write_text("mine")
    assert (
        main(
            [
                "fit",
                "--tumor",
                str(files / "tumors.csv"),
                "--normal",
                str(files / "normals.tsv.gz"),
                "--model",
                str(files / "m"),
                "--overwrite",
                *FAST,
            ]
        )
        == 2
    )
    assert "does not hold a TwinPurify model" in capsys.readouterr().err
    assert (files / "m" / "notes.txt").read_text() == "mine"
    assert main(["transform", "--model", str(files / "m"), "--input", str(files / "x.xlsx"), "--output", "o.csv"]) == 2


def test_demo_small(tmp_path, capsys):
    assert (
        main(
            [
                "demo",
                "--out",
                str(tmp_path),
                "--n-tumors",
                "80",
                "--n-normals",
                "12",
                "--n-genes",
                "150",
                "--epochs",
                "3",
                "--quiet",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "| TwinPurify |" in out and "purity R²" in out
    table = pd.read_csv(tmp_path / "demo_results.csv", index_col=0)
    assert list(table.index) == [
        "raw profiles",
        "PCA",
        "contrastive PCA",
        "normal-difference",
        "invariant projection",
        "autoencoder",
        "TwinPurify",
    ]
    assert table[["purity_R2", "subtype_F1", "immune_R2", "program_R2", "intrinsic_R2"]].notna().all().all()
    for name in ("demo_embeddings.png", "demo_loss.png", "demo_purity.png"):
        png = (tmp_path / name).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_help_and_version(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "demo" in capsys.readouterr().out
    assert main(["--version"]) == 0
    assert main([]) == 2


def test_python_dash_m_prints_the_single_source_version():
    import subprocess
    import sys

    from twinpurify._version import __version__

    out = subprocess.run([sys.executable, "-m", "twinpurify", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"twinpurify {__version__}"
    import importlib.metadata

    assert importlib.metadata.version("twinpurify") == __version__  # pyproject reads the same file


def test_fit_checks_its_outputs_before_training(files, capsys):
    """Before, `--embedding emb.xlsx` was refused only after training and saving the model (a rerun then found the
    folder taken), and `--embedding` inside the `--model` folder was written there, so a later --overwrite run
    refused the folder as holding more than a model."""
    base = ["fit", "--tumor", str(files / "tumors.csv"), "--normal", str(files / "normals.tsv.gz")]
    for out, match in [
        (str(files / "emb.xlsx"), "--embedding .*emb.xlsx: unknown file type"),
        (str(files / "m9" / "emb.csv"), "--embedding .*emb.csv is inside the --model folder"),
    ]:
        assert main([*base, "--model", str(files / "m9"), "--embedding", out, *FAST]) == 2
        assert re.search(match, capsys.readouterr().err)
        assert not (files / "m9").exists()  # nothing trained, nothing written
    assert main([*base, "--model", str(files / "m9"), *FAST]) == 0
    transform = ["transform", "--model", str(files / "m9"), "--input", str(files / "tumors.csv"), "--quiet"]
    assert main([*transform, "--output", str(files / "m9" / "emb.csv")]) == 2  # before: written into the model
    assert "is inside the --model folder" in capsys.readouterr().err
    assert main([*transform, "--output", str(files / "emb.xlsx")]) == 2
    assert "--output" in capsys.readouterr().err
    assert sorted(p.name for p in (files / "m9").iterdir()) == ["config.json", "weights.safetensors"]


def test_conflicting_inputs_are_refused_naming_both_options(files, cohort, capsys):
    """Before, each path dropped one input silently: `--input c.h5ad --normal n` trained on the obs column in memory
    and, out of core, on every row of the file as a tumor; `--tumor t --input c.h5ad` dropped --tumor."""
    cohort.to_anndata().write_h5ad(files / "c.h5ad")
    h5ad, tumors, normals = str(files / "c.h5ad"), str(files / "tumors.csv"), str(files / "normals.tsv.gz")
    for args, match in [
        (["--input", h5ad, "--normal", normals], "--normal and --input cannot be given together"),
        (["--input", h5ad, "--normal", normals, "--out-of-core"], "--normal and --input cannot be given together"),
        (["--tumor", tumors, "--input", h5ad], "--tumor and --input cannot be given together"),
        (["--tumor", tumors, "--input", h5ad, "--out-of-core"], "--tumor and --input cannot be given together"),
        (["--tumor", tumors, "--normal", normals, "--samples", str(files / "samples.csv")], "--samples goes with"),
    ]:
        assert main(["fit", *args, "--model", str(files / "m"), *FAST]) == 2, args
        assert re.search(match, capsys.readouterr().err), args
        assert not (files / "m").exists()  # refused before anything was read or written


def test_a_device_this_machine_lacks_is_one_line_before_any_file_is_read(files, cohort, capsys, monkeypatch):
    """Before, `--device cuda` on a CPU-only machine gave a RuntimeError traceback, and only after the data was read
    (out of core after a full statistics pass); `transform --device gpu` a traceback from torch."""
    import torch
    import twinpurify.streaming as streaming

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # a CPU-only machine, wherever the test runs
    monkeypatch.setattr(streaming, "fit_preprocessor", lambda *a, **k: pytest.fail("the file was scanned"))
    missing = str(files / "missing.csv")  # read before the device was looked at, this would be the error
    for extra in ([], ["--out-of-core"]):
        args = ["fit", "--tumor", missing, "--normal", missing, "--model", str(files / "m"), "--device", "cuda"]
        assert main([*args, *extra, *FAST]) == 2
        assert "--device: device='cuda' but this torch" in capsys.readouterr().err
        assert not (files / "m").exists()
    pair = ["--tumor", str(files / "tumors.csv"), "--normal", str(files / "normals.tsv.gz")]
    assert main(["fit", *pair, "--model", str(files / "m"), *FAST]) == 0
    for device, match in [("cuda", "sees no CUDA device"), ("gpu", "device='gpu' is not allowed")]:
        transform = ["transform", "--model", str(files / "m"), "--input", missing, "--output", str(files / "o.csv")]
        assert main([*transform, "--device", device]) == 2
        err = capsys.readouterr().err
        assert err.startswith("twinpurify transform: error: ") and match in err and len(err.splitlines()) == 1
    cohort.to_anndata().write_h5ad(files / "c.h5ad")
    with pytest.raises(RuntimeError, match="sees no CUDA device"):  # out of core, before the statistics pass
        streaming.fit_on_disk(TwinPurify(n_components=4, device="cuda"), files / "c.h5ad", normal_key="sample_type")


def test_options_taking_none_in_python_say_what_the_command_line_takes(capsys):
    """The command line cannot pass None, which the help offered for --n-genes and --seed."""
    with pytest.raises(SystemExit):
        main(["fit", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    n_genes = text.split("--n-genes N_GENES ")[1].split("--input-scale")[0]
    seed = text.split("--seed SEED ")[1].split("--overwrite")[0]
    assert "None" not in n_genes and "0 for all genes" in n_genes
    assert "None" not in seed and "always seeds" in seed


def test_n_genes_zero_keeps_every_gene(files):
    args = ["fit", "--tumor", str(files / "tumors.csv"), "--normal", str(files / "normals.tsv.gz")]
    assert main([*args, "--model", str(files / "all"), "--n-genes", "0", *FAST]) == 0
    model = TwinPurify.load(files / "all")
    assert model.n_genes is None and len(model.genes_) == 200


def test_demo_refuses_to_replace_its_files_unless_told(tmp_path, capsys):
    """Before, `demo --out` replaced whatever demo files the folder held, after minutes of fitting."""
    (tmp_path / "demo_results.csv").write_text("mine")
    assert main(["demo", "--out", str(tmp_path), "--n-tumors", "40", "--quiet"]) == 2
    assert "already holds demo_results.csv; pass --overwrite" in capsys.readouterr().err
    assert (tmp_path / "demo_results.csv").read_text() == "mine"
    (tmp_path / "file").write_text("mine")
    assert main(["demo", "--out", str(tmp_path / "file"), "--quiet"]) == 2
    assert "is a file" in capsys.readouterr().err
