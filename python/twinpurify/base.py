"""What every embedding method shares: input handling, the fit/transform contract and persistence.

Models are saved as a folder holding `config.json` (hyper-parameters, genes, preprocessing, history)
and `weights.safetensors` (tensors only), written to a temporary folder and renamed into place, so
an interrupted save never leaves a half-written model where a good one was. No pickle anywhere.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError

from .io import default_mode
from .data import InputError, Matrix, Preprocessor, align_pair, as_matrix, check_orientation, check_training_pair, split_anndata

FORMAT_VERSION = 1
PathLike = Union[str, os.PathLike]


def _version() -> str:
    from . import __version__
    return __version__


class BaseEmbedder(TransformerMixin, BaseEstimator):
    """fit(tumor, normal) / transform(X) on samples x genes data; subclasses implement `_fit_values`."""

    #: column prefix of DataFrame output
    prefix = "dim"
    #: whether the method uses the normals (all but raw/PCA/AE do)
    needs_normal = True

    # ---- input handling ---------------------------------------------------------------------
    def _training_inputs(self, tumor: Any, normal: Any, normal_key: Optional[str], normal_value: Any,
                         layer: Optional[str]) -> tuple[Matrix, Optional[Matrix]]:
        from .data import _is_anndata

        if _is_anndata(tumor) and normal is None and normal_key is not None:
            t, n = split_anndata(tumor, normal_key, normal_value, layer)
        else:
            t = as_matrix(tumor, "tumor", layer=layer)
            n = None if normal is None else as_matrix(normal, "normal", layer=layer)
        if getattr(self, "check_orientation", True):
            check_orientation(t, "tumor")
        if n is None:
            if self.needs_normal:
                raise InputError(f"{type(self).__name__} needs normal samples: fit(tumor, normal), or an AnnData "
                                 "with normal_key/normal_value")
        else:
            t, n = align_pair(t, n)
            check_training_pair(t, n)
        return t, n

    def fit(self, tumor: Any, normal: Any = None, *, normal_key: Optional[str] = None,
            normal_value: Any = "normal", layer: Optional[str] = None) -> "BaseEmbedder":
        """Fit on tumors (samples x genes) with the cohort's adjacent normals as background.

        `tumor` may also be one AnnData holding both, split by `normal_key` == `normal_value` in `.obs`.
        """
        self._fit_matrices(*self._training_inputs(tumor, normal, normal_key, normal_value, layer))
        return self

    def fit_transform(self, tumor: Any, normal: Any = None, *, normal_key: Optional[str] = None,  # type: ignore[override]
                      normal_value: Any = "normal", layer: Optional[str] = None) -> Any:
        """Fit, then embed the training tumors."""
        t, n = self._training_inputs(tumor, normal, normal_key, normal_value, layer)
        self._fit_matrices(t, n)
        return self._output(t)

    def _fit_matrices(self, t: Matrix, n: Optional[Matrix]) -> None:
        self.preprocessor_ = Preprocessor(getattr(self, "input_scale", "auto"), getattr(self, "n_genes", None),
                                          getattr(self, "fill_missing", "error"))
        log = logging.getLogger("twinpurify")
        level = log.level
        if not getattr(self, "verbose", True):
            log.setLevel(max(level, logging.WARNING))  # verbose=False: keep warnings, drop notes
        try:
            self.preprocessor_.fit(t, n)
        finally:
            log.setLevel(level)
        self.n_features_in_ = t.shape[1]
        if t.named_genes:
            self.feature_names_in_ = np.asarray(t.genes, dtype=object)
        self.genes_ = list(self.preprocessor_.genes_)
        self._fit_values(t, n)

    def _check_fitted(self) -> None:
        if not hasattr(self, "preprocessor_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet; call fit(tumor, normal) first")

    def transform(self, X: Any, layer: Optional[str] = None, fill_missing: Optional[str] = None) -> Any:
        """Embed any samples that carry the model's genes; DataFrame in, DataFrame out.

        Genes are matched by name when both sides have names. Missing genes are an error naming
        them unless `fill_missing="mean"` (here, or as the estimator's parameter) fills them with
        the training mean, i.e. zero after standardisation.
        """
        self._check_fitted()
        return self._output(as_matrix(X, "X", layer=layer), fill_missing)

    def _output(self, m: Matrix, fill_missing: Optional[str] = None) -> Any:
        policy = fill_missing or getattr(self, "fill_missing", None)  # set_params after fit takes effect
        Z = self._embed(self.preprocessor_.transform(m, "X", policy))
        if m.frame:
            return pd.DataFrame(Z, index=pd.Index(m.samples), columns=self.component_names())
        return Z

    def component_names(self) -> list[str]:
        k = self._n_out()
        return [f"{self.prefix}{i + 1}" for i in range(k)]

    def _n_out(self) -> int:
        return int(getattr(self, "n_components"))

    # ---- subclass hooks -------------------------------------------------------------------------
    def _fit_values(self, tumor: Matrix, normal: Optional[Matrix]) -> None:
        raise NotImplementedError

    def _embed(self, Xs: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _state_arrays(self) -> dict[str, np.ndarray]:
        return {}

    def _fitted_config(self) -> dict:
        return {}

    def _restore(self, fitted: dict, arrays: dict[str, np.ndarray]) -> None:
        pass

    # ---- persistence ----------------------------------------------------------------------------
    def save(self, path: PathLike, overwrite: bool = False) -> Path:
        """Write the fitted model to folder `path` (config.json + weights.safetensors), atomically."""
        from safetensors.numpy import save_file

        self._check_fitted()
        path = Path(path)
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
        params = self.get_params(deep=False)
        config = {
            "format_version": FORMAT_VERSION,
            "twinpurify_version": _version(),
            "class": type(self).__name__,
            "params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in params.items()},
            "preprocessor": self.preprocessor_.to_config(),
            "n_features_in_": int(self.n_features_in_),
            "fitted": self._fitted_config(),
        }
        arrays = {**self.preprocessor_.arrays(), **self._state_arrays()}
        arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
        try:
            with open(tmp / "config.json", "w") as fh:
                json.dump(config, fh, indent=1)
            save_file(arrays, str(tmp / "weights.safetensors"))
            os.chmod(tmp, default_mode(directory=True))
            _replace_dir(tmp, path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return path

    @classmethod
    def load(cls, path: PathLike, device: Optional[str] = None) -> "BaseEmbedder":
        """Load a model written by `save` (from Python or from R)."""
        from safetensors.numpy import load_file

        path = Path(path)
        cfg_file = path / "config.json"
        if not cfg_file.is_file():
            raise FileNotFoundError(f"{path} is not a saved TwinPurify model (no config.json)")
        with open(cfg_file) as fh:
            config = json.load(fh)
        if config.get("format_version", 0) > FORMAT_VERSION:
            raise ValueError(f"{path} was saved by a newer twinpurify (format {config['format_version']})")
        klass = _registry().get(config.get("class"))
        if klass is None:
            raise ValueError(f"{path}: unknown model class {config.get('class')!r}")
        if cls is not BaseEmbedder and not issubclass(klass, cls):
            raise TypeError(f"{path} holds a {klass.__name__}, not a {cls.__name__}")
        params = dict(config["params"])
        if device is not None and "device" in params:
            params["device"] = device
        model = klass(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in params.items()})
        arrays = load_file(str(path / "weights.safetensors"))
        model.preprocessor_ = Preprocessor.from_config(config["preprocessor"], arrays)
        model.n_features_in_ = config["n_features_in_"]
        if model.preprocessor_.named_genes_:
            model.feature_names_in_ = np.asarray(model.preprocessor_.genes_in_, dtype=object)
        model.genes_ = list(model.preprocessor_.genes_)
        model._restore(config["fitted"], arrays)
        return model


def _replace_dir(src: Path, dst: Path) -> None:
    if dst.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{dst.name}.old.", dir=dst.parent))
        os.replace(dst, old / "x")
        os.replace(src, dst)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(src, dst)


def _registry() -> dict[str, type]:
    from . import baselines, estimator
    classes = [estimator.TwinPurify, baselines.RawProfiles, baselines.PCAEmbedding,
               baselines.ContrastivePCA, baselines.NormalDifference, baselines.InvariantProjection,
               baselines.AutoencoderEmbedding]
    return {c.__name__: c for c in classes}


def load_model(path: PathLike, device: Optional[str] = None) -> BaseEmbedder:
    """Load any saved TwinPurify or baseline model."""
    return BaseEmbedder.load(path, device=device)
