"""Command line: `twinpurify demo | fit | transform`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from .data import InputError
from .params import ParameterError
from .persistence import ModelFormatError, check_distinct, check_model_target

if TYPE_CHECKING:  # pragma: no cover
    from .estimator import TwinPurify


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="twinpurify",
        description="Tumor-intrinsic embeddings of bulk tumor transcriptomes (Barlow Twins with the cohort's "
        "adjacent normals as background). Tables are samples x genes (first column = sample names) "
        "as .csv/.tsv/.txt (optionally .gz), .parquet or .h5ad.",
    )
    p.add_argument("--version", action="store_true", help="print the version and exit")
    sub = p.add_subparsers(dest="command")

    d = sub.add_parser("demo", help="fit every method on the built-in simulated cohort and print the comparison")
    d.add_argument(
        "--out",
        default="twinpurify-demo",
        help="folder for demo_results.csv/.md and the demo_*.png figures (existing ones only with --overwrite)",
    )
    d.add_argument("--n-tumors", type=int, default=400)
    d.add_argument("--n-normals", type=int, default=60)
    d.add_argument("--n-genes", type=int, default=2000)
    d.add_argument("--epochs", default="auto", help="training epochs of the neural methods (default: auto)")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--quiet", action="store_true", help="no progress bars")
    d.add_argument("--overwrite", action="store_true", help="replace the demo's files in an existing --out folder")

    f = sub.add_parser("fit", help="fit a model on tumors and normals; save it and (optionally) the embedding")
    src = f.add_argument_group("input (either --tumor and --normal, or --input with --samples or an .h5ad obs column)")
    src.add_argument("--tumor", help="tumor expression table")
    src.add_argument("--normal", help="adjacent-normal expression table")
    src.add_argument("--input", help="one expression table (or .h5ad) holding tumors and normals")
    src.add_argument("--samples", help="sample sheet for --input: first column sample names")
    src.add_argument(
        "--normal-key", default="sample_type", help="sample-sheet / obs column telling normals (default sample_type)"
    )
    src.add_argument("--normal-value", default="normal", help="value of that column for normals (default 'normal')")
    f.add_argument("--model", required=True, help="output folder for the model (config.json + weights.safetensors)")
    f.add_argument(
        "--embedding",
        help="also write the tumors' embedding (not the normals') to this table, outside the --model folder",
    )
    # options named after the engine's parameters take their meaning and allowed values from the schema
    _schema_option(f, "--n-components", "n_components", int)
    _schema_option(f, "--n-genes", "n_genes", int, none="or 0 for all genes")
    _schema_option(f, "--input-scale", "input_scale", str)
    _schema_option(f, "--epochs", "max_epochs", str)
    _schema_option(f, "--batch-size", "batch_size", str)
    _schema_option(f, "--beta-max", "beta_max", float)
    _schema_option(
        f,
        "--encoder-input",
        "encoder_input",
        str,
        extra=(
            " ('log' with --n-components 128 --beta-max 0.5 --drop-mixing-dims 0 --n-networks 1: the defaults"
            " to round 5)"
        ),
    )
    _schema_option(
        f, "--drop-mixing-dims", "drop_mixing_dims", int, extra=" (0: the embedding is the network's output)"
    )
    _schema_option(f, "--n-networks", "n_networks", int, extra=" (each trained on its own views; one last step)")
    _schema_option(f, "--device", "device", str)
    _schema_option(
        f, "--seed", "random_state", int, default=0, none="(the command line always seeds: another seed, another draw)"
    )
    f.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing model folder (only one holding a model) and embedding file",
    )
    _out_of_core(f, "the tumors (--tumor or --input, an .h5ad, .zarr or .parquet) are")
    _shared(f, "with --out-of-core: the --normal table only")

    t = sub.add_parser("transform", help="embed samples with a saved model")
    t.add_argument("--model", required=True, help="model folder written by `twinpurify fit` (or R's saveTwinPurify)")
    t.add_argument("--input", required=True, help="expression table to embed")
    t.add_argument("--output", required=True, help="embedding table to write")
    t.add_argument(
        "--fill-missing",
        choices=["error", "mean"],
        default=None,
        help="missing genes: error (default) or fill with the training mean",
    )
    t.add_argument("--device", default=None)
    t.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    _out_of_core(t, "--input (an .h5ad, .zarr or .parquet) is")
    _shared(t, "not with --out-of-core: an on-disk input is samples x genes")
    return p


def _out_of_core(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "--out-of-core",
        action="store_true",
        help=f"{what} read from disk in blocks, so memory does not grow with the number of samples",
    )
    p.add_argument("--block-rows", type=_positive_int, default=2048, help="rows read at a time with --out-of-core")


def _positive_int(v: str) -> int:
    """argparse's type of counts: 0 or a negative number is refused naming the option (before: a traceback)."""
    try:
        n = int(v)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {v!r}")
    return n


def _shared(p: argparse.ArgumentParser, ooc_rows: str) -> None:
    p.add_argument(
        "--genes-as-rows",
        action="store_true",
        help=f"tables have genes as rows and samples as columns ({ooc_rows})",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars or messages")


def _int_or_auto(v: str, flag: str = "--epochs/--batch-size") -> object:
    if v == "auto":
        return v
    try:
        return int(v)
    except ValueError:
        raise InputError(f"{flag}: expected a whole number or 'auto', got {v!r}") from None


#: what `twinpurify demo` writes into its --out folder
DEMO_FILES = ("demo_results.csv", "demo_results.md", "demo_embeddings.png", "demo_loss.png", "demo_purity.png")


def _cmd_demo(a: argparse.Namespace) -> int:
    from .demo import format_table, run_demo

    out = Path(a.out)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"--out {out} is a file; give a folder for the demo's results")
    there = [name for name in DEMO_FILES if (out / name).exists()]
    if there and not a.overwrite:  # checked before the minutes of fitting, not after
        raise FileExistsError(f"--out {out} already holds {', '.join(there)}; pass --overwrite to replace them")

    print(f"TwinPurify demo: simulated cohort of {a.n_tumors} tumors and {a.n_normals} normals x {a.n_genes} genes")
    table = run_demo(a.out, a.n_tumors, a.n_normals, a.n_genes, a.seed, _int_or_auto(a.epochs), verbose=not a.quiet)
    print()
    print(format_table(table))
    print(
        "\npurity R²: CV R² of the true purity from the embedding (leakage, lower is better); subtype F1: CV "
        "macro-F1;\nimmune / program R²: CV R² of the true immune fraction and intrinsic programs (higher is better)."
    )
    print(f"results: {Path(a.out) / 'demo_results.csv'}   figure: {Path(a.out) / 'demo_embeddings.png'}")
    return 0


def _schema_option(
    parser: argparse.ArgumentParser,
    flag: str,
    param: str,
    kind: type,
    default: object = None,
    extra: str = "",
    none: str = "",
) -> None:
    """An option whose help, choices and default come from twinpurify.params and TwinPurify's signature.

    A command line cannot pass None: for a parameter that takes it, the schema's mentions of None are left out
    of the help and `none` says what the option gives instead (e.g. "or 0 for all genes").
    """
    import re

    from .estimator import TwinPurify
    from .params import SCHEMA

    p = SCHEMA[param]
    if default is None:
        default = TwinPurify().get_params()[param]
    what, allowed = p.help, p.describe()
    if p.none_ok:
        what = re.sub(r" \(None: [^)]*\)", "", what)
        allowed = allowed.replace(" or None", "") + (f" {none}" if none else "")
    parser.add_argument(
        flag,
        type=kind,
        default=default,
        choices=list(p.choices) if p.kind == "choice" and not p.prefix_choices else None,
        help=f"{what}{extra}; {allowed} (default {default!r}; parameter {param})",
    )


def _check_output_file(path: Optional[str], overwrite: bool, flag: str, model: Optional[str] = None) -> None:
    """An output table needs a known suffix, may replace an existing file only with --overwrite, never a folder,
    and may not lie inside the `model` folder (written by `fit`: a later --overwrite would find a folder holding
    more than a model, and refuse it; read by `transform`: the table would land in a model folder). Checked
    before any data is read or any training starts."""
    from .io import _kind

    if not path:
        return
    p = Path(path)
    try:
        _kind(p)  # an unknown file type is refused now, not once the model is trained and saved
    except InputError as exc:
        raise InputError(f"{flag} {exc}") from None
    if model and Path(model).resolve() in p.resolve().parents:
        raise FileExistsError(
            f"{flag} {p} is inside the --model folder {model}, which holds the model only; write it elsewhere"
        )
    if p.is_dir():
        raise FileExistsError(f"{flag} {p} is a folder; give a file name such as {p / 'embedding.csv'}")
    if p.exists() and not overwrite:
        raise FileExistsError(f"{flag} {p} exists; pass --overwrite to replace it")


def _check_inputs(a: argparse.Namespace) -> None:
    """Inputs of `fit` that exclude each other are refused, naming both options, rather than one of them dropped."""
    for flag, given in (("--tumor", a.tumor), ("--normal", a.normal)):
        if given and a.input:
            raise InputError(
                f"{flag} and --input cannot be given together: give --tumor and --normal (two tables), or --input "
                "alone (one table whose normals --samples or an obs column marks)"
            )
    if a.samples and not a.input:
        raise InputError("--samples goes with --input (the one table it labels), not with --tumor and --normal")


def _check_device(device: Optional[str]) -> None:
    """A device this machine cannot use is refused in the command line's one line, before any file is read."""
    from .params import check_value
    from .train import resolve_device

    if device is None:
        return
    check_value("device", device)  # ParameterError naming the parameter, not torch's parse error
    try:
        resolve_device(device)
    except RuntimeError as exc:
        raise ParameterError(f"--device: {exc}") from None


def _cmd_fit(a: argparse.Namespace) -> int:
    """Fit; under ``torchrun`` (WORLD_SIZE > 1) every rank trains and rank 0 alone saves and reports."""
    from .distributed import process_group_from_env

    _check_device(a.device)  # also before joining the process group, whose backend follows the device
    with process_group_from_env(a.device) as ranks:
        if not ranks.lead:
            a.quiet = True
        return _fit(a, ranks.world_size, ranks.lead)


def _saved(model: TwinPurify, a: argparse.Namespace) -> None:
    """Save from rank 0; the other ranks wait for the model folder, then leave (the embedding is rank 0's)."""
    from .distributed import barrier

    model.save(a.model, overwrite=a.overwrite)
    barrier()


def _fit(a: argparse.Namespace, world_size: int = 1, lead: bool = True) -> int:
    import pandas as pd

    from .estimator import TwinPurify
    from .io import read_h5ad, read_samples_split, read_table, write_table

    params = dict(
        n_components=a.n_components,
        n_genes=a.n_genes or None,
        input_scale=a.input_scale,
        max_epochs=_int_or_auto(a.epochs, "--epochs"),
        batch_size=_int_or_auto(a.batch_size, "--batch-size"),
        device=a.device,
        random_state=a.seed,
        verbose=not a.quiet,
        beta_max=a.beta_max,
        encoder_input=a.encoder_input,
        drop_mixing_dims=a.drop_mixing_dims,
        n_networks=a.n_networks,
    )
    TwinPurify(**params)._validate_params()  # bad values are refused before any file is read
    _check_inputs(a)
    # every output path is checked before any data is read or any training starts
    check_distinct(
        {"--model": a.model, "--embedding": a.embedding},
        {"--tumor": a.tumor, "--normal": a.normal, "--input": a.input, "--samples": a.samples},
    )
    check_model_target(a.model, a.overwrite)
    _check_output_file(a.embedding, a.overwrite, "--embedding", model=a.model)
    model = TwinPurify(**params)
    if a.out_of_core:
        return _fit_out_of_core(a, model, world_size, lead)
    if a.tumor and a.normal:
        tumor, normal = read_table(a.tumor, a.genes_as_rows), read_table(a.normal, a.genes_as_rows)
    elif a.input and a.input.endswith(".h5ad") and not a.samples:
        from .data import split_anndata

        adata = read_h5ad(a.input)
        if a.normal_key not in adata.obs.columns:
            raise InputError(f"{a.input}: obs has no column {a.normal_key!r}; set --normal-key")
        t_m, n_m = split_anndata(adata, a.normal_key, a.normal_value)  # refuses missing labels, naming samples
        tumor = pd.DataFrame(t_m.values, index=t_m.samples, columns=t_m.genes)
        normal = pd.DataFrame(n_m.values, index=n_m.samples, columns=n_m.genes)
    elif a.input:
        samples = pd.read_csv(a.samples, sep=None, engine="python", index_col=0) if a.samples else None
        tumor, normal = read_samples_split(read_table(a.input, a.genes_as_rows), samples, a.normal_key, a.normal_value)
    else:
        raise InputError("give --tumor and --normal, or --input (with --samples unless it is an .h5ad)")
    Z = model.fit_transform(tumor, normal)
    _saved(model, a)
    where = f"{world_size} ranks ({model.device_})" if world_size > 1 else model.device_
    if not a.quiet:
        info = model.embedding_info()
        print(
            f"fitted on {tumor.shape[0]} tumors / {normal.shape[0]} normals, {info['n_genes']} genes "
            f"({info['input_scale']}), {info['epochs']} epochs on {where}; model saved to {a.model}"
        )
    if a.embedding and lead:
        write_table(Z, a.embedding)
        if not a.quiet:
            print(f"embedding ({Z.shape[0]} x {Z.shape[1]}) written to {a.embedding}")
    return 0


def _fit_out_of_core(a: argparse.Namespace, model: TwinPurify, world_size: int, lead: bool) -> int:
    from .io import read_table
    from .streaming import fit_on_disk, transform_on_disk, tumor_rows

    source = a.tumor or a.input
    if not source or (a.tumor and not a.normal):
        raise InputError(
            "--out-of-core: give --tumor (.h5ad/.zarr/.parquet) and --normal, or --input (.h5ad/.zarr/.parquet "
            "with an obs or annotation column that marks the normals)"
        )
    if a.samples:
        raise InputError(
            "--samples cannot be used with --out-of-core: the normals of an on-disk --input are marked by its own "
            "obs or annotation column (--normal-key), or give them as --normal"
        )
    if a.genes_as_rows and not a.normal:
        raise InputError(
            "--genes-as-rows with --out-of-core reads the --normal table only; an on-disk --input or --tumor is "
            "always samples x genes"
        )
    normal = read_table(a.normal, a.genes_as_rows) if a.normal else None  # the normals are held in memory
    key = None if a.normal else a.normal_key
    fit_on_disk(model, source, normal, normal_key=key, normal_value=a.normal_value, block_rows=a.block_rows)
    _saved(model, a)
    if not a.quiet:
        print(
            f"fitted out of core on {world_size} rank(s), waiting {model.stream_wait_s_:.1f} s for data; "
            f"model saved to {a.model}"
        )
    if a.embedding and lead:
        tumors = tumor_rows(source, key, a.normal_value)  # the tumors only, as an in-memory fit writes
        try:
            transform_on_disk(model, tumors, a.embedding, block_rows=a.block_rows, overwrite=a.overwrite)
            if not a.quiet:
                print(f"embedding of the {tumors.n} tumors in {source} written to {a.embedding}")
        finally:
            tumors.close()
    return 0


def _cmd_transform(a: argparse.Namespace) -> int:
    from .base import load_model
    from .io import read_table, write_table

    if a.out_of_core and a.genes_as_rows:
        raise InputError(
            "--genes-as-rows cannot be used with transform --out-of-core: an on-disk input is samples x genes"
        )
    _check_device(a.device)
    check_distinct({"--output": a.output}, {"--input": a.input, "--model": a.model})
    _check_output_file(a.output, a.overwrite, "--output", model=a.model)
    model = load_model(a.model, device=a.device)
    if a.fill_missing:
        model.set_params(fill_missing=a.fill_missing)
    if a.out_of_core:
        from .streaming import transform_on_disk

        transform_on_disk(model, a.input, a.output, block_rows=a.block_rows, overwrite=a.overwrite)
        if not a.quiet:
            print(f"embedding of {a.input} written to {a.output}")
        return 0
    Z = model.transform(read_table(a.input, a.genes_as_rows))
    write_table(Z, a.output)
    if not a.quiet:
        print(f"embedding ({Z.shape[0]} x {Z.shape[1]}) written to {a.output}")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = _parser()
    a = parser.parse_args(argv)
    if a.version:
        from . import __version__

        print(f"twinpurify {__version__}")
        return 0
    if a.command is None:
        parser.print_help()
        return 2
    from .settings import settings

    before = settings.verbosity
    settings.verbosity = 0 if getattr(a, "quiet", False) else 2  # a program, not a library: show notes
    try:
        return {"demo": _cmd_demo, "fit": _cmd_fit, "transform": _cmd_transform}[a.command](a)
    except (InputError, ModelFormatError, ParameterError, FileNotFoundError, FileExistsError) as exc:
        print(f"twinpurify {a.command}: error: {exc}", file=sys.stderr)
        return 2
    finally:
        settings.verbosity = before


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
