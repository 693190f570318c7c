"""What every embedding method shares: input handling, the fit/transform contract and persistence.

Models are saved as a folder holding `config.json` (hyper-parameters, genes, preprocessing, history)
and `weights.safetensors` (tensors only), written to a temporary folder and renamed into place, so
an interrupted save never leaves a half-written model where a good one was. No pickle anywhere.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError

from .data import (
    InputError,
    Matrix,
    Preprocessor,
    align_pair,
    as_matrix,
    check_orientation,
    check_pair_orientation,
    check_training_pair,
    detect_scale,
    split_by_key,
)
from .genespace import GeneSpaceMixin
from .settings import quiet, warn_user

PathLike = Union[str, os.PathLike]


def _version() -> str:
    from . import __version__

    return __version__


class BaseEmbedder(GeneSpaceMixin, TransformerMixin, BaseEstimator):
    """fit(tumor, normal) / transform(X) on samples x genes data; subclasses implement `_fit_values`."""

    #: column prefix of DataFrame output
    prefix = "dim"
    #: whether the method uses the normals (all but raw/PCA/AE do)
    needs_normal = True

    # ---- input handling ---------------------------------------------------------------------
    @staticmethod
    def _is_matrix_like(y: Any) -> bool:
        """A second positional argument with two dimensions is the normals (the original fit(tumor, normal))."""
        from .data import _is_anndata

        if y is None:
            return False
        if _is_anndata(y) or isinstance(y, pd.DataFrame):
            return True
        import scipy.sparse as sp

        if sp.issparse(y):
            return True
        shape = getattr(y, "shape", None)  # attribute access only: no array-function dispatch
        if isinstance(shape, tuple):
            return len(shape) == 2
        try:
            return np.asarray(y).ndim == 2  # through __array__ only: works for any array-like
        except (TypeError, ValueError):
            return False

    def _split_inputs(self, tumor: Any, y: Any, normal: Any, normal_mask: Any) -> tuple[Any, Any, Optional[np.ndarray]]:
        """Resolve the ways normals can be given; returns (tumors, normals, mask over the rows of `tumor`).

        A 2-D `y` is the normals only when they are not given by keyword: a Pipeline passes its target as
        `y` (a multi-output target is 2-D too) while the normals come as ``tp__normal_mask``; otherwise `y`
        is ignored, as unsupervised scikit-learn estimators do.
        """
        if normal is None and normal_mask is None and self._is_matrix_like(y):
            normal = y
        if normal_mask is None:
            return tumor, normal, None
        if normal is not None:
            raise InputError("give the normals either as normal= (a matrix) or as normal_mask= (rows of X), not both")
        mask = np.asarray(normal_mask)
        n_rows = tumor.shape[0] if hasattr(tumor, "shape") else len(tumor)
        if mask.ndim != 1 or mask.shape[0] != n_rows or mask.dtype != bool:
            raise InputError(
                f"normal_mask must be a boolean vector with one value per row of X ({n_rows}), "
                f"got {mask.dtype} of shape {mask.shape}"
            )
        return tumor, mask, mask

    def _training_inputs(
        self, tumor: Any, normal: Any, normal_key: Optional[str], normal_value: Any, layer: Optional[str]
    ) -> tuple[Matrix, Optional[Matrix]]:
        n: Optional[Matrix]
        if normal_key is not None:  # refused with normals of another form or input that is not an AnnData
            t, n = split_by_key(tumor, normal, normal_key, normal_value, layer)
        elif isinstance(normal, np.ndarray) and normal.dtype == bool and normal.ndim == 1:  # normal_mask
            both = as_matrix(tumor, "X", layer=layer)
            t, n = both.subset(~normal), both.subset(normal)
        else:
            t = as_matrix(tumor, "tumor", layer=layer)
            n = None if normal is None else as_matrix(normal, "normal", layer=layer)
        if t.shape[0] < 2:
            raise InputError(f"tumor: need at least 2 samples to fit, got {t.shape[0]} sample(s)")
        if getattr(self, "check_orientation", True):
            check_orientation(t, "tumor")
        if n is None:
            if self.needs_normal:
                raise InputError(
                    f"{type(self).__name__} needs normal samples: fit(tumor, normal), fit(X, normal_mask=...), "
                    "or an AnnData with normal_key/normal_value"
                )
        else:
            if getattr(self, "check_orientation", True):
                check_pair_orientation(t, n)
            t, n = align_pair(t, n)
            check_training_pair(t, n)
        return t, n

    def fit(
        self,
        tumor: Any,
        y: Any = None,
        *,
        normal: Any = None,
        normal_mask: Any = None,
        normal_key: Optional[str] = None,
        normal_value: Any = "normal",
        layer: Optional[str] = None,
    ) -> BaseEmbedder:
        """Fit on tumors (samples x genes) with the cohort's adjacent normals as background.

        Parameters
        ----------
        tumor : array-like, DataFrame, sparse matrix or AnnData of shape (n_samples, n_genes)
            The tumors; or all samples, with `normal_mask`; or one AnnData split by `normal_key`.
        y : matrix or None
            A 2-D second argument is the normals, as in ``fit(tumor, normal)``, unless the normals are
            given as `normal` or `normal_mask`: then `y` is a Pipeline's target and is ignored, as a 1-D
            `y` always is (scikit-learn's convention for unsupervised estimators).
        normal : matrix, optional
            The normals (samples x genes), by keyword.
        normal_mask : array of bool of shape (n_samples,), optional
            Marks the rows of `tumor` that are normals; the rest are the tumors. This is the form that
            works inside ``Pipeline`` and ``GridSearchCV`` (``pipe.fit(X, y, tp__normal_mask=mask)``):
            scikit-learn slices it with the rows of each fold.
        normal_key, normal_value : str, default None, "normal"
            With an AnnData: the `.obs` column and value that mark normals (refused with other input,
            or together with `normal` / `normal_mask`).
        layer : str, optional
            AnnData layer to use instead of `.X`.

        Returns
        -------
        self

        Notes
        -----
        Hyper-parameters are checked first: a refused value leaves the estimator as it was. A fit that
        fails after that (refused data, an interrupted or failed training) leaves it unfitted, also when it
        was fitted before: an estimator never holds half of one fit and half of another.
        """
        self._validate_params()
        try:
            tumor, normal, _ = self._split_inputs(tumor, y, normal, normal_mask)
            self._fit_matrices(*self._training_inputs(tumor, normal, normal_key, normal_value, layer))
        except BaseException:
            self._forget_fit()
            raise
        return self

    def _forget_fit(self) -> None:
        """After a failed fit: no fitted attribute left (every ``name_``, and the hyper-parameters of the fit),
        so the estimator cannot look fitted half-way nor mix a new preprocessor with an earlier network."""
        for name in [k for k in self.__dict__ if k.endswith("_") and not k.startswith("__")]:
            delattr(self, name)
        self.__dict__.pop("_fitted_params", None)

    def __sklearn_is_fitted__(self) -> bool:
        """Fitted once `fit` (or `load`) has set the preprocessor; a failed fit removes it (`_forget_fit`)."""
        return "preprocessor_" in self.__dict__

    # ---- hyper-parameters of the fit -----------------------------------------------------------------
    #: parameters that act after fit (at transform or load), so a set_params after fit takes effect at once;
    #: every other parameter shaped the fitted model and takes effect at the next fit
    live_params: frozenset[str] = frozenset({"device", "fill_missing", "verbose"})

    def _record_fit_params(self) -> None:
        """Keep the hyper-parameters this fit uses: output names and width, and `save`, read these, so that a
        `set_params` after fit cannot describe a model other than the fitted one."""
        self._fitted_params = self.get_params(deep=False)

    def _fitted_param(self, name: str) -> Any:
        """The value `name` had when the model was fitted (the current one for a model fitted before this
        was recorded, or for parameters in `live_params`)."""
        if name in self.live_params:
            return getattr(self, name)
        return self.__dict__.get("_fitted_params", {}).get(name, getattr(self, name))

    def _params_of_fit(self) -> dict[str, Any]:
        """The hyper-parameters of the fitted model, as `save` writes them: those of its fit, with the current
        `live_params`; they differ from `get_params` only after a `set_params` since `fit`."""
        return {k: self._fitted_param(k) for k in self.get_params(deep=False)}

    def fit_transform(
        self,
        tumor: Any,
        y: Any = None,
        *,
        normal: Any = None,
        normal_mask: Any = None,
        normal_key: Optional[str] = None,
        normal_value: Any = "normal",
        layer: Optional[str] = None,
    ) -> Any:
        """Fit, then embed: the training tumors, or every row of `tumor` when `normal_mask` is given
        (one output row per input row, as a Pipeline step must). A failure leaves the estimator unfitted,
        as in `fit`."""
        self._validate_params()
        try:
            tumor, normal, mask = self._split_inputs(tumor, y, normal, normal_mask)
            t, n = self._training_inputs(tumor, normal, normal_key, normal_value, layer)
            self._fit_matrices(t, n)
            return self._output(as_matrix(tumor, "X", layer=layer) if mask is not None else t)
        except BaseException:
            self._forget_fit()
            raise

    def __sklearn_tags__(self):  # scikit-learn >= 1.6
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # sparse input is densified (expression matrices are dense after log)
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the output columns (e.g. TP1..TP16, PC1.., or the genes for raw profiles)."""
        self._check_fitted()
        return np.asarray(self.component_names(), dtype=object)

    def _validate_params(self) -> None:
        """Every hyper-parameter against `twinpurify.params.SCHEMA`, before any data is touched."""
        from .params import validate

        validate(self.get_params(deep=False), type(self).__name__)

    def _fit_matrices(self, t: Matrix, n: Optional[Matrix]) -> None:
        self._record_fit_params()
        self.preprocessor_ = Preprocessor(
            getattr(self, "input_scale", "auto"), getattr(self, "n_genes", None), getattr(self, "fill_missing", "error")
        )
        with quiet(not getattr(self, "verbose", True)):  # verbose=False: keep warnings, drop notes (this call)
            self.preprocessor_.fit(t, n)
        self.n_features_in_ = t.shape[1]
        if t.named_genes:
            self.feature_names_in_ = np.asarray(t.genes, dtype=object)
        self.genes_ = list(self.preprocessor_.genes_)
        self._fit_values(t, n)
        self._fit_readout_matrix(t, required=False, normal=n)  # the way back to genes (purified_expression)

    def _check_fitted(self) -> None:
        if not self.__sklearn_is_fitted__():
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet; call fit(tumor, normal) first"
            )

    def transform(self, X: Any, layer: Optional[str] = None, fill_missing: Optional[str] = None) -> Any:
        """Embed any samples that carry the model's genes; DataFrame in, DataFrame out.

        Genes are matched by name when both sides have names. Missing genes are an error naming
        them unless `fill_missing="mean"` (here, or as the estimator's parameter) fills them with
        the training mean, i.e. zero after standardisation. Counts are normalised by each sample's
        total over the genes the model was fitted on (`feature_names_in_`), so give counts of all of
        those, not only of the selected `genes_`: a cut-down matrix gets other library sizes (a warning
        when more than a tenth of them are missing).
        """
        self._check_fitted()
        return self._output(as_matrix(X, "X", layer=layer), fill_missing)

    def _output(self, m: Matrix, fill_missing: Optional[str] = None) -> Any:
        policy = fill_missing or getattr(self, "fill_missing", None)  # set_params after fit takes effect
        if not (m.named_genes and self.preprocessor_.named_genes_) and m.shape[1] != self.n_features_in_:
            raise InputError(
                f"X has {m.shape[1]} features, but {type(self).__name__} is expecting {self.n_features_in_} "
                "features as input (without gene names the columns must be the training columns, in order)"
            )
        self._warn_unnamed(m)
        self._warn_scale(m)
        Z = self._embed(self.preprocessor_.transform(m, "X", policy))
        Z = Z.astype(np.float64) if m.float64 else Z.astype(np.float32, copy=False)  # float64 in, float64 out
        if m.frame:
            return pd.DataFrame(Z, index=m.sample_index(), columns=self.component_names())
        return Z

    def _warn_unnamed(self, m: Matrix) -> None:
        """Warn when genes can only be matched by position because one side has no gene names.

        As scikit-learn warns (in the same words), since a matrix in another gene order would be embedded
        silently wrong; a warning, not an error, because arrays in the training order are a legitimate use.
        """
        fitted = self.preprocessor_.named_genes_
        if fitted == m.named_genes:
            return
        name = type(self).__name__
        if fitted:
            what = (
                f"X does not have valid feature names, but {name} was fitted with feature names: its "
                f"{m.shape[1]} columns are taken as the model's training genes, in their training order; pass "
                "a DataFrame (or AnnData) with gene names to match genes by name"
            )
        else:
            what = (
                f"X has feature names, but {name} was fitted without feature names: its genes are matched by "
                "column position, not by name (fit on a DataFrame or AnnData to match genes by name)"
            )
        warn_user(what)

    def _warn_scale(self, m: Matrix) -> Optional[str]:
        """Warn when new samples look like another scale than the model was fitted on (e.g. log2 into counts).

        Returns the scale the samples look like (None when not checked: no samples, or no fitted scale).
        """
        fitted = self.preprocessor_.scale_
        if not m.shape[0] or fitted is None:
            return None
        seen = detect_scale(m.values)
        if seen != fitted:
            warn_user(
                f"the input looks like {seen} values but the model was fitted on {fitted} input; "
                "transform data on the scale the model was trained on",
            )
        return seen

    def component_names(self) -> list[str]:
        k = self._n_out()
        return [f"{self.prefix}{i + 1}" for i in range(k)]

    def _n_out(self) -> int:
        return int(self._fitted_param("n_components"))

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

    # ---- persistence (see twinpurify.persistence) ------------------------------------------------
    #: values for parameters that model folders written before the parameter existed do not store
    legacy_params: dict[str, Any] = {}

    def save(self, path: PathLike, overwrite: bool = False) -> Path:
        """Write the fitted model to folder `path` (config.json + weights.safetensors), atomically.

        Only a folder holding a previous model (or an empty folder) is replaced, and only with
        ``overwrite=True``; a file or a folder of anything else is refused. config.json records the
        hyper-parameters the model was fitted with: a `set_params` since `fit` takes effect at the next
        fit (and is not saved), except for ``device``, ``fill_missing`` and ``verbose``, which act at once.
        """
        from .persistence import save_model

        self._check_fitted()
        return save_model(self, path, overwrite)

    @classmethod
    def load(cls, path: PathLike, device: Optional[str] = None) -> BaseEmbedder:
        """Load a model written by `save` (from Python or from R); damaged folders raise ModelFormatError."""
        from .persistence import load_model as _load

        return _load(path, device, expect=None if cls is BaseEmbedder else cls)


def load_model(path: PathLike, device: Optional[str] = None) -> BaseEmbedder:
    """Load any saved TwinPurify or baseline model.

    The class is read from the folder's ``config.json``, so one call loads whatever `save` wrote
    (from Python or from R) without knowing the model type in advance; ``SomeClass.load(path)`` does
    the same but also checks the class. The folder is checked on the way in: a missing, damaged or
    altered model fails here, with a message naming the folder and the problem.

    Parameters
    ----------
    path : str or os.PathLike
        The model folder written by `save` (``config.json`` and ``weights.safetensors``).
    device : str or None, default None
        For neural models, the device to load onto ("cpu", "cuda", ...), replacing the saved
        ``device`` parameter. None keeps the saved one where this machine has it; a model saved with
        a device this machine lacks (fitted on a GPU, loaded on a laptop) loads on the CPU, with a
        warning naming the saved device. Ignored by models without a device.

    Returns
    -------
    BaseEmbedder
        The fitted model (`TwinPurify`, `PCAEmbedding`, ...), ready for `transform`.

    Raises
    ------
    FileNotFoundError
        When `path` holds no ``config.json``.
    twinpurify.params.ParameterError
        When `device` is not a device name ("auto", "cpu", "cuda", "cuda:N", "mps").
    RuntimeError
        When `device` names a device this machine does not have.
    twinpurify.persistence.ModelFormatError
        When the folder is damaged or not a TwinPurify model: invalid or incomplete
        ``config.json``, a newer format version, an unknown class, missing, altered or non-finite
        weights, or weights that do not fit the configuration.

    See Also
    --------
    TwinPurify.save : writes the folder (all models have `save`).

    Examples
    --------
    >>> import os, tempfile
    >>> import twinpurify as tp
    >>> c = tp.datasets.simulate_cohort(n_tumors=40, n_normals=8, n_genes=100, seed=0)
    >>> pca = tp.PCAEmbedding(5, verbose=False).fit(c.tumors)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     folder = pca.save(os.path.join(d, "pca_model"))
    ...     model = tp.load_model(folder)
    >>> type(model).__name__
    'PCAEmbedding'
    >>> bool((model.transform(c.tumors) == pca.transform(c.tumors)).all().all())
    True
    """
    from .persistence import load_model as _load

    return _load(path, device)
