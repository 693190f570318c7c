"""Saving and loading models: guarded writes, checked loads, no pickle.

A model folder holds `config.json` (hyper-parameters, genes, preprocessing, history, the class and
module that wrote it, a SHA-256 of the weights) and `weights.safetensors` (tensors only).

Why the guards: a save with ``overwrite=True`` replaces a folder, and a wrong path must never cost
a user their files. Only a folder that already holds a TwinPurify model (config.json with a
``format_version``, nothing but model files) or an empty folder may be replaced; a regular file or
a folder of anything else is refused. The new folder is written next to the target under a
temporary name and renamed into place, so an interrupted save leaves the old model intact (the working
directory, ``save(".")``, is filled in place instead, config.json last: renamed, the process would be left in a
deleted folder).
Temporary folders are named ``.<name>.twinpurify-tmp-<random>``; leftovers of interrupted saves
(such folders holding only model files) are removed by the next save to the same path. Nothing
else is: a user's own ``.<name>.backup`` copy of a model is theirs, whatever it holds.

Why the checks: a damaged folder (hand-edited JSON, a truncated or altered weights file, NaN
weights) must fail at load with a message naming the folder and the problem, not load silently or
fail later with a library error.
"""

from __future__ import annotations

import glob
import hashlib
import importlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Union

import numpy as np

from .data import _preview
from .io import default_mode
from .settings import warn_user

if TYPE_CHECKING:  # pragma: no cover
    from .base import BaseEmbedder

FORMAT_VERSION = 1
CONFIG = "config.json"
WEIGHTS = "weights.safetensors"
MODEL_FILES = frozenset({CONFIG, WEIGHTS})
REQUIRED_KEYS = ("format_version", "class", "params", "preprocessor", "n_features_in_", "fitted")
# Folders written before the module was stored in config.json name only the class.
LEGACY_MODULES = {
    "TwinPurify": "twinpurify.estimator",
    "RawProfiles": "twinpurify.baselines",
    "PCAEmbedding": "twinpurify.baselines",
    "ContrastivePCA": "twinpurify.baselines",
    "AutoencoderEmbedding": "twinpurify.baselines",
}
PathLike = Union[str, os.PathLike]
#: what the temporary folders of a save carry after ``.<name>.``: only folders named so are ever cleaned up
TEMP_MARK = "twinpurify-tmp-"


class ModelFormatError(ValueError):
    """A model folder that is missing, damaged or not a TwinPurify model; the message names the folder."""


# ---- guarded writes -------------------------------------------------------------------------------
def is_model_folder(path: PathLike) -> bool:
    """True for a folder holding only model files, with a config.json that has a format_version."""
    p = Path(path)
    if not p.is_dir() or p.is_symlink():
        return False
    names = {c.name for c in p.iterdir()}
    if CONFIG not in names or not names <= MODEL_FILES:
        return False
    try:
        with open(p / CONFIG) as fh:
            cfg = json.load(fh)
    except (OSError, ValueError):
        return False
    return isinstance(cfg, dict) and "format_version" in cfg


def check_model_target(path: PathLike, overwrite: bool) -> Path:
    """Refuse a save target that would destroy anything but a previous model (call before any work).

    Returns the target; ``.`` and paths ending in ``..`` resolved, so that it has a name and a parent beside which
    the save writes (before, ``save(".")`` made its temporary folder inside the target)."""
    p = Path(path)
    if p.name in ("", ".."):
        p = p.resolve()
    if p.is_symlink() or (p.exists() and not p.is_dir()):
        raise FileExistsError(
            f"{p} is a file, not a model folder; a model is saved as a folder "
            "(config.json + weights.safetensors): choose another path"
        )
    if p.is_dir():
        empty = not any(p.iterdir())
        if not empty and not is_model_folder(p):
            raise FileExistsError(
                f"{p} is a folder that does not hold a TwinPurify model (it has "
                f"{_preview(sorted(c.name for c in p.iterdir()), limit=4)}); refusing to replace it, "
                "even with overwrite: choose a new or empty folder"
            )
        if not empty and not overwrite:
            raise FileExistsError(f"{p} already holds a model; pass overwrite=True to replace it")
    return p


def check_distinct(outputs: dict[str, Optional[PathLike]], inputs: dict[str, Optional[PathLike]]) -> None:
    """No output may be an input, contain one (a folder output), or be another output."""
    ins = {k: Path(v).resolve() for k, v in inputs.items() if v}
    outs = {k: Path(v).resolve() for k, v in outputs.items() if v}
    for ko, po in outs.items():
        for ki, pi in ins.items():
            if po == pi or po in pi.parents:
                raise FileExistsError(f"{ko} {po} would overwrite the input {ki} {pi}; choose another path")
    seen: dict[Path, str] = {}
    for ko, po in outs.items():
        if po in seen:
            raise FileExistsError(f"{ko} and {seen[po]} are the same path {po}")
        seen[po] = ko


def _temp_prefix(target: Path) -> str:
    """Name prefix of the temporary folders a save of `target` makes beside it (see `TEMP_MARK`)."""
    return f".{target.name}.{TEMP_MARK}"


def _clean_leftovers(target: Path) -> None:
    """Remove the temporary folders of interrupted saves to `target` that hold nothing but model files.

    Only folders named by `_temp_prefix` (the name matched literally: ``run[1]`` is no pattern) are
    candidates, so a user's ``.model.backup`` or ``.model.2024-01-01`` copy of a model is never touched.
    """
    for cand in target.parent.glob(glob.escape(_temp_prefix(target)) + "*"):
        if not cand.is_dir() or cand.is_symlink():
            continue
        inner = [c for c in cand.iterdir()]
        ours = all(c.name in MODEL_FILES for c in inner) or (
            len(inner) == 1 and inner[0].name == "x" and (is_model_folder(inner[0]) or not any(inner[0].iterdir()))
        )
        if ours:
            shutil.rmtree(cand, ignore_errors=True)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_model(model: BaseEmbedder, path: PathLike, overwrite: bool = False) -> Path:
    """Write a fitted model to folder `path`, atomically and only over a previous model (see module doc)."""
    from safetensors.numpy import save_file

    from . import __version__

    p = check_model_target(path, overwrite)
    params = model._params_of_fit()  # not get_params(): a set_params since fit does not describe these weights
    config: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "twinpurify_version": __version__,
        "class": type(model).__name__,
        "module": type(model).__module__,
        "params": {k: _plain(v) for k, v in params.items()},
        "preprocessor": model.preprocessor_.to_config(),
        "n_features_in_": int(model.n_features_in_),
        "fitted": model._fitted_config(),
    }
    readout = getattr(model, "readout_", None)
    if readout is not None:
        config["readout"] = readout.config()
    arrays = {**model.preprocessor_.arrays(), **model._state_arrays(), **(readout.arrays() if readout else {})}
    arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    p.parent.mkdir(parents=True, exist_ok=True)
    _clean_leftovers(p)
    tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(p), dir=p.parent))
    try:
        save_file(arrays, str(tmp / WEIGHTS))
        config["weights_sha256"] = _sha256(tmp / WEIGHTS)
        with open(tmp / CONFIG, "w") as fh:
            json.dump(config, fh, indent=1)
        for f in (tmp / WEIGHTS, tmp / CONFIG):  # safetensors writes 0600; the folder follows the umask like any file
            os.chmod(f, default_mode())
        os.chmod(tmp, default_mode(directory=True))
        check_model_target(p, overwrite)  # again: the folder may have changed while we wrote
        _replace_dir(tmp, p)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return p


def _plain(value: Any) -> Any:
    """A parameter value as JSON writes it: tuples as lists, NumPy scalars (``np.int64(4)``, which pass the
    schema as integers) as Python numbers, inside sequences too."""
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _is_working_dir(p: Path) -> bool:
    try:
        return p.resolve() == Path.cwd().resolve()
    except OSError:  # no working directory left
        return False


def _replace_dir(src: Path, dst: Path) -> None:
    if dst.is_dir() and _is_working_dir(dst):
        # the working directory (`save(".")`) is filled, not swapped: a swapped one would leave the process in a
        # deleted folder. The weights first, config.json last: a folder with a new config.json holds the new model
        for name in (WEIGHTS, CONFIG):
            os.replace(src / name, dst / name)
        src.rmdir()
    elif dst.exists():
        old = Path(tempfile.mkdtemp(prefix=_temp_prefix(dst), dir=dst.parent))
        os.replace(dst, old / "x")
        os.replace(src, dst)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(src, dst)


# ---- checked loads --------------------------------------------------------------------------------
def read_config(path: PathLike) -> dict:
    """config.json of a model folder, checked for the keys and types every loader relies on."""
    p = Path(path)
    cfg_file = p / CONFIG
    if not cfg_file.is_file():
        raise FileNotFoundError(f"{p} is not a saved TwinPurify model (no {CONFIG})")
    try:
        with open(cfg_file) as fh:
            cfg = json.load(fh)
    except ValueError as e:
        raise ModelFormatError(f"{cfg_file}: not valid JSON ({e})") from None
    if not isinstance(cfg, dict):
        raise ModelFormatError(f"{cfg_file}: expected a JSON object, found a {type(cfg).__name__}")
    missing = [k for k in REQUIRED_KEYS if k not in cfg]
    if missing:
        raise ModelFormatError(f"{cfg_file}: missing keys {', '.join(missing)}")
    fv = cfg["format_version"]
    if not isinstance(fv, int) or isinstance(fv, bool) or fv < 1:
        raise ModelFormatError(f"{cfg_file}: format_version must be a positive integer, got {fv!r}")
    if fv > FORMAT_VERSION:
        raise ModelFormatError(f"{p} was saved by a newer twinpurify (format {fv}; this one reads {FORMAT_VERSION})")
    for key, kind in (("params", dict), ("preprocessor", dict), ("fitted", dict), ("class", str)):
        if not isinstance(cfg[key], kind):
            raise ModelFormatError(f"{cfg_file}: {key!r} must be a {kind.__name__}, got {type(cfg[key]).__name__}")
    pp = cfg["preprocessor"]
    genes = pp.get("genes_")
    if not isinstance(genes, list) or not genes or not all(isinstance(g, str) for g in genes):
        raise ModelFormatError(f"{cfg_file}: preprocessor.genes_ must be a non-empty list of gene names")
    if len(set(genes)) != len(genes):
        raise ModelFormatError(f"{cfg_file}: preprocessor.genes_ has duplicated genes")
    return cfg


def resolve_class(cfg: dict, where: Path) -> type[BaseEmbedder]:
    """The estimator class named in config.json, imported from twinpurify's own modules only."""
    from .base import BaseEmbedder

    name = cfg["class"]
    module = cfg.get("module") or LEGACY_MODULES.get(name)
    if not isinstance(module, str) or not (module == "twinpurify" or module.startswith("twinpurify.")):
        raise ModelFormatError(f"{where}: unknown model class {name!r} (module {module!r})")
    try:
        klass = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        raise ModelFormatError(f"{where}: unknown model class {name!r} in {module}") from None
    if not (isinstance(klass, type) and issubclass(klass, BaseEmbedder)):
        raise ModelFormatError(f"{where}: {module}.{name} is not a TwinPurify model class")
    return klass


def read_arrays(path: Path, cfg: dict) -> dict[str, np.ndarray]:
    """The weights, verified against the stored checksum, the config's gene count and finiteness."""
    from safetensors.numpy import load_file

    wfile = path / WEIGHTS
    if not wfile.is_file():
        raise ModelFormatError(f"{path}: no {WEIGHTS}")
    want = cfg.get("weights_sha256")
    if want is not None and _sha256(wfile) != want:
        raise ModelFormatError(f"{wfile}: checksum does not match config.json (the file was changed or truncated)")
    try:
        arrays = load_file(str(wfile))
    except Exception as e:  # safetensors raises its own error types for truncated/garbled files
        raise ModelFormatError(f"{wfile}: unreadable weights file ({e})") from None
    pp = cfg["preprocessor"]
    genes = pp["genes_"]
    for key in ("preprocessor.mean", "preprocessor.std", "preprocessor.gene_index"):
        if key not in arrays:
            raise ModelFormatError(f"{wfile}: no array {key!r}")
        if arrays[key].shape != (len(genes),):
            raise ModelFormatError(
                f"{wfile}: array {key!r} has shape {arrays[key].shape}, but config.json lists {len(genes)} genes"
            )
    for k, v in arrays.items():
        if v.dtype.kind == "f" and not np.isfinite(v).all():
            raise ModelFormatError(f"{wfile}: array {k!r} holds non-finite values")
    if not (arrays["preprocessor.std"] > 0).all():
        raise ModelFormatError(f"{wfile}: non-positive gene standard deviations")
    genes_in, idx = pp.get("genes_in_"), arrays["preprocessor.gene_index"]
    if (
        not isinstance(genes_in, list)
        or len(idx)
        and (idx.min() < 0 or idx.max() >= len(genes_in))
        or [genes_in[i] for i in idx] != genes
    ):
        raise ModelFormatError(
            f"{path / CONFIG}: the gene list does not match the stored gene index "
            "(reordered or edited genes_ / genes_in_)"
        )
    return arrays


def load_model(path: PathLike, device: Optional[str] = None, expect: Optional[type] = None) -> BaseEmbedder:
    """Load any saved TwinPurify or baseline model (from Python or R), checked (see module doc)."""
    from .data import Preprocessor

    p = Path(path)
    cfg = read_config(p)
    klass = resolve_class(cfg, p)
    if expect is not None and not issubclass(klass, expect):
        raise TypeError(f"{p} holds a {klass.__name__}, not a {expect.__name__}")
    if device is not None:  # a bad value is the caller's, not the folder's: named before the weights are read
        from .params import check_value

        check_value("device", device)
    arrays = read_arrays(p, cfg)
    params = dict(cfg["params"])
    if "device" in params:
        params["device"] = _load_device(p, params["device"], device)
    known = klass._get_param_names()
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ModelFormatError(f"{p / CONFIG}: parameters {', '.join(unknown)} are unknown to {klass.__name__}")
    for k, v in klass.legacy_params.items():  # folders from before a parameter existed keep its old meaning
        params.setdefault(k, v)
    model = klass(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in params.items()})
    model._record_fit_params()  # the folder's parameters are those of the fit
    try:
        model.preprocessor_ = Preprocessor.from_config(cfg["preprocessor"], arrays)
        model.n_features_in_ = cfg["n_features_in_"]
        if model.preprocessor_.named_genes_:
            model.feature_names_in_ = np.asarray(model.preprocessor_.genes_in_, dtype=object)
        model.genes_ = list(model.preprocessor_.genes_)
        model._restore(cfg["fitted"], arrays)
        if "readout.coef" in arrays:  # folders written before readouts existed have none (fit_readout adds one)
            from .readout import Readout

            rcfg = cfg.get("readout", {})
            n_out = len(model.component_names())  # raw profiles: one output per gene
            model.readout_ = Readout.from_saved(
                arrays, rcfg if isinstance(rcfg, dict) else {}, n_out, len(model.genes_)
            )
    except (KeyError, RuntimeError, TypeError, ValueError) as e:
        if isinstance(e, ModelFormatError):
            raise
        raise ModelFormatError(f"{p}: the weights do not fit the model described in config.json ({e})") from None
    return model


def _load_device(where: Path, saved: Any, override: Optional[str]) -> Any:
    """The device to load a neural model onto.

    An explicit `override` must be usable here (an error naming it otherwise). Without one, the saved
    device is kept when this machine has it; a model fitted on a GPU and loaded where there is none (a
    laptop, an R session reading a saved model) is loaded on the CPU with a warning, since the weights do
    not depend on the device they were trained on.
    """
    from .params import ParameterError, check_value
    from .train import device_available, resolve_device

    if override is not None:
        resolve_device(override)  # RuntimeError naming the device this machine cannot use
        return override
    try:
        check_value("device", saved)
    except ParameterError as e:
        raise ModelFormatError(f"{where / CONFIG}: {e}") from None
    if device_available(saved):
        return saved
    warn_user(
        f"{where} was saved with device={saved!r}, which this machine does not have; loading it on the CPU "
        "(the weights do not depend on the device; pass device= to choose another)",
    )
    return "cpu"
