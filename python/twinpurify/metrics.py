"""Cross-validated probes that score an embedding: what it keeps and what it leaks.

Every probe is refit inside each fold (scaler and model in one pipeline), so no score sees its
test samples during fitting.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegressionCV, RidgeCV
from sklearn.metrics import f1_score, r2_score
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

RIDGE_ALPHAS = np.logspace(-4, 3, 15)


class GlobalScaler(TransformerMixin, BaseEstimator):
    """Centre each feature, then divide all by one number (the features' root-mean-square).

    Unlike per-feature standardisation this keeps the embedding's own geometry: PCA's noise
    components stay small instead of being blown up to unit variance, and every method gets the
    same regularisation grid on a comparable overall scale.
    """

    def fit(self, X, y=None):
        X = np.asarray(X, dtype=np.float64)
        self.mean_ = X.mean(0)
        self.scale_ = float(np.sqrt(((X - self.mean_) ** 2).sum(1).mean())) or 1.0
        return self

    def transform(self, X):
        return (np.asarray(X, dtype=np.float64) - self.mean_) / self.scale_


def _probe(model) -> Pipeline:
    return make_pipeline(GlobalScaler(), model)


def _clean(Z, y) -> tuple[np.ndarray, np.ndarray]:
    Z = np.asarray(Z, dtype=np.float64)
    y = np.asarray(y)
    keep = pd.notna(y) if y.dtype == object else np.isfinite(y.astype(float)) if y.dtype.kind in "fiu" else pd.notna(y)
    return Z[keep], y[keep]


def cv_r2(Z, y, folds: int = 5, seed: int = 0) -> float:
    """Cross-validated R^2 of a ridge regression of y on the embedding (alpha chosen inside each fold).

    How much of a continuous variable a linear probe can read off the embedding, without the
    probe seeing its test samples: features are centred and globally scaled (`GlobalScaler`) and
    the ridge penalty chosen among ``RIDGE_ALPHAS`` (efficient leave-one-out), both within each
    training fold; R^2 is computed once over all out-of-fold predictions. Samples with a missing
    `y` are left out.

    Parameters
    ----------
    Z : array-like of shape (n_samples, n_dims)
        The embedding (or any feature matrix).
    y : array-like of shape (n_samples,)
        The continuous target; NaN where unknown.
    folds : int, default 5
        Number of shuffled K-fold splits.
    seed : int, default 0
        Seed of the fold shuffling.

    Returns
    -------
    float
        Out-of-fold R^2: 1 is perfect, 0 is no better than the mean, and it can be negative.

    See Also
    --------
    purity_leakage : the same probe with purity as the target.

    Examples
    --------
    >>> import twinpurify as tp
    >>> from twinpurify import metrics
    >>> c = tp.datasets.simulate_cohort(n_tumors=40, n_normals=8, n_genes=100, seed=0)
    >>> Z = tp.PCAEmbedding(5, verbose=False).fit_transform(c.tumors)
    >>> r2 = metrics.cv_r2(Z, c.truth["immune_fraction"])
    >>> round(r2, 2)
    0.46
    """
    Z, y = _clean(Z, y)
    y = y.astype(float)
    pred = cross_val_predict(
        _probe(RidgeCV(alphas=RIDGE_ALPHAS)), Z, y, cv=KFold(folds, shuffle=True, random_state=seed)
    )
    return float(r2_score(y, pred))


def purity_leakage(Z, purity, folds: int = 5, seed: int = 0) -> float:
    """How much purity can be read off the embedding (CV R^2; lower is purer).

    The headline leakage score of a purified embedding: `cv_r2` with purity as the target.
    Compare it with the same score on the raw profiles (`twinpurify.RawProfiles`) of the same
    samples.

    Parameters
    ----------
    Z : array-like of shape (n_samples, n_dims)
        The embedding.
    purity : array-like of shape (n_samples,)
        Tumor purity (e.g. from ABSOLUTE or ESTIMATE); NaN where unknown.
    folds : int, default 5
        Number of shuffled K-fold splits.
    seed : int, default 0
        Seed of the fold shuffling.

    Returns
    -------
    float
        Out-of-fold R^2 of purity (can be negative).

    See Also
    --------
    twinpurify.pl.purity_diagnostic : plots it beside per-dimension correlations.

    Examples
    --------
    >>> import twinpurify as tp
    >>> from twinpurify import metrics
    >>> c = tp.datasets.simulate_cohort(n_tumors=40, n_normals=8, n_genes=100, seed=0)
    >>> Z = tp.PCAEmbedding(5, verbose=False).fit_transform(c.tumors)
    >>> round(metrics.purity_leakage(Z, c.truth["purity"]), 2)
    0.84
    """
    return cv_r2(Z, purity, folds, seed)


def macro_f1(Z, labels, folds: int = 5, seed: int = 0, exclude: Optional[list[str]] = None) -> float:
    """Cross-validated macro-F1 of a logistic-regression probe (classes under `folds` members dropped).

    The L2 strength is chosen by an inner 3-fold CV inside each outer fold, on globally scaled
    features (see `GlobalScaler`), so no method is favoured by the scale it happens to have.
    Use it to check that an embedding keeps discrete biology such as subtypes.

    Parameters
    ----------
    Z : array-like of shape (n_samples, n_dims)
        The embedding.
    labels : array-like of shape (n_samples,)
        Class of each sample (compared as strings); missing values are left out.
    folds : int, default 5
        Number of stratified, shuffled outer folds; classes with fewer members are dropped.
    seed : int, default 0
        Seed of the outer fold shuffling.
    exclude : list of str, optional
        Classes to leave out (e.g. ``["Normal"]`` for PAM50's normal-like class).

    Returns
    -------
    float
        Macro-averaged F1 of the out-of-fold predictions; NaN when fewer than two classes remain.

    Examples
    --------
    >>> import twinpurify as tp
    >>> from twinpurify import metrics
    >>> c = tp.datasets.simulate_cohort(n_tumors=40, n_normals=8, n_genes=100, seed=0)
    >>> Z = tp.PCAEmbedding(5, verbose=False).fit_transform(c.tumors)
    >>> round(metrics.macro_f1(Z, c.truth["subtype"]), 2)
    0.45
    """
    y, pred = class_predictions(Z, labels, folds, seed, exclude)
    if len(np.unique(y)) < 2:
        return float("nan")
    return float(f1_score(y, pred, average="macro"))


def class_predictions(
    Z, labels, folds: int = 5, seed: int = 0, exclude: Optional[list[str]] = None
) -> tuple[np.ndarray, np.ndarray]:
    """The out-of-fold classes behind `macro_f1`: (true labels, predicted labels) of the samples it scores.

    Same cleaning, class filter and probe as `macro_f1`, so per-class scores (e.g.
    ``f1_score(y, pred, average=None)``) add up to its number. Fewer than two classes left: the
    labels and no prediction (an empty array).
    """
    Z, y = _clean(Z, labels)
    y = y.astype(str)
    keep = np.ones(len(y), bool)
    if exclude:
        keep &= ~np.isin(y, exclude)
    counts = pd.Series(y[keep]).value_counts()
    keep &= np.isin(y, counts[counts >= folds].index)
    Z, y = Z[keep], y[keep]
    if len(np.unique(y)) < 2:
        return y, np.array([], dtype=y.dtype)
    probe = _probe(LogisticRegressionCV(Cs=np.logspace(-1, 4, 6), cv=3, max_iter=5000, scoring="f1_macro"))
    pred = cross_val_predict(probe, Z, y, cv=StratifiedKFold(folds, shuffle=True, random_state=seed))
    return y, pred


def c_index(Z, time, event, folds: int = 5, seed: int = 0, n_pcs: int = 10, alpha: float = 1.0) -> float:
    """Cross-validated Harrell's C of a ridge Cox model on the embedding's top principal components.

    The PCs are taken of the globally scaled embedding (its own geometry), then standardised.

    Needs scikit-survival. The Cox model's prediction is a risk score (higher = earlier event),
    which is what concordance_index_censored expects. Use it to check that an embedding keeps
    prognostic signal; samples with a missing time or event, or a time that is not positive, are
    left out.

    Parameters
    ----------
    Z : array-like of shape (n_samples, n_dims)
        The embedding.
    time : array-like of shape (n_samples,)
        Follow-up time (positive).
    event : array-like of shape (n_samples,)
        1 (or True) when the event was observed, 0 when censored.
    folds : int, default 5
        Number of folds, stratified by event and shuffled.
    seed : int, default 0
        Seed of the fold shuffling and of the PCA.
    n_pcs : int, default 10
        Principal components the Cox model uses (fewer when the embedding or a training fold is smaller).
    alpha : float, default 1.0
        Ridge penalty of the Cox model.

    Returns
    -------
    float
        Harrell's concordance index of the out-of-fold risk scores (0.5 is chance).

    Raises
    ------
    ImportError
        When scikit-survival is not installed (``pip install 'twinpurify[bench]'``).
    """
    from sklearn.decomposition import PCA
    from sksurv.linear_model import CoxPHSurvivalAnalysis
    from sksurv.metrics import concordance_index_censored

    Z = np.asarray(Z, dtype=np.float64)
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    ok = np.isfinite(time) & np.isfinite(event) & (time > 0)
    Z, time, event = Z[ok], time[ok], event[ok].astype(bool)
    risk = np.empty(len(time))
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    for train, test in cv.split(Z, event):
        k = min(n_pcs, Z.shape[1], len(train) - 1)
        pipe = make_pipeline(GlobalScaler(), PCA(k, random_state=seed), StandardScaler())
        Ztr = pipe.fit_transform(Z[train])
        y = np.array(list(zip(event[train], time[train])), dtype=[("event", bool), ("time", float)])
        cox = CoxPHSurvivalAnalysis(alpha=alpha).fit(Ztr, y)
        risk[test] = cox.predict(pipe.transform(Z[test]))
    return float(concordance_index_censored(event, time, risk)[0])


def purity_spearman(Z, purity) -> tuple[float, float]:
    """Mean and max absolute Spearman correlation of the embedding's dimensions with purity."""
    from scipy.stats import spearmanr

    Z, p = _clean(Z, purity)
    rho = np.array([spearmanr(Z[:, j], p.astype(float))[0] for j in range(Z.shape[1])])
    rho = np.abs(np.nan_to_num(rho))
    return float(rho.mean()), float(rho.max())


def score_embedding(
    Z,
    truth: pd.DataFrame,
    *,
    purity: str = "purity",
    subtype: Optional[str] = "subtype",
    continuous: Optional[list[str]] = None,
    survival: Optional[tuple[str, str]] = None,
    exclude_subtypes: Optional[list[str]] = None,
    seed: int = 0,
) -> dict[str, float]:
    """All probes at once, for the tables of the demo and the benchmarks."""
    out: dict[str, float] = {"purity_R2": purity_leakage(Z, truth[purity], seed=seed)}
    if subtype is not None:
        out["subtype_F1"] = macro_f1(Z, truth[subtype], seed=seed)
        if exclude_subtypes:
            out["subtype_F1_noNL"] = macro_f1(Z, truth[subtype], seed=seed, exclude=exclude_subtypes)
    for col in continuous or []:
        out[f"{col}_R2"] = cv_r2(Z, truth[col], seed=seed)
    if survival is not None:
        out["C_index"] = c_index(Z, truth[survival[0]], truth[survival[1]], seed=seed)
    return out


def score_simulated(Z, cohort, seed: int = 0, n_intrinsic_pcs: int = 5) -> dict[str, float]:
    """Every yardstick of the frontier benchmark on a `datasets.SimulatedCohort`.

    Leakage (lower is purer): ``purity_R2`` and ``normal_R2`` (the normal-tissue fraction).
    Kept biology (higher is better): ``programs_R2`` (mean over the continuous intrinsic programs),
    ``intrinsic_R2`` (mean over the top principal components of the true cancer-cell profiles),
    ``subtype_F1``, ``immune_R2`` (immune fraction) and ``C_index``.

    Use it to place a method on the purity-versus-biology frontier of the simulator, where the
    truth is known.

    Parameters
    ----------
    Z : array-like of shape (n_tumors, n_dims)
        Embedding of ``cohort.tumors``, in the same order.
    cohort : twinpurify.datasets.SimulatedCohort
        The simulated cohort, with its truth and intrinsic profiles.
    seed : int, default 0
        Seed of every probe's folds.
    n_intrinsic_pcs : int, default 5
        Principal components of the true intrinsic profiles averaged in ``intrinsic_R2``.

    Returns
    -------
    dict of str to float
        The scores above; ``C_index`` only when scikit-survival is installed.

    See Also
    --------
    cv_r2, macro_f1, c_index : the probes behind each score.

    Examples
    --------
    >>> import twinpurify as tp
    >>> from twinpurify import metrics
    >>> c = tp.datasets.simulate_cohort(n_tumors=40, n_normals=8, n_genes=100, seed=0)
    >>> Z = tp.PCAEmbedding(5, verbose=False).fit_transform(c.tumors)
    >>> scores = metrics.score_simulated(Z, c)
    >>> list(scores)[:6]
    ['purity_R2', 'normal_R2', 'programs_R2', 'intrinsic_R2', 'subtype_F1', 'immune_R2']
    >>> round(scores["purity_R2"], 2)
    0.84
    """
    truth = cohort.truth
    programs = [c for c in truth.columns if c.startswith("program_")]
    ipcs = cohort.intrinsic_components(n_intrinsic_pcs)
    out = {
        "purity_R2": cv_r2(Z, truth["purity"], seed=seed),
        "normal_R2": cv_r2(Z, truth["normal_fraction"], seed=seed),
        "programs_R2": float(np.mean([cv_r2(Z, truth[p], seed=seed) for p in programs])),
        "intrinsic_R2": float(np.mean([cv_r2(Z, ipcs[c], seed=seed) for c in ipcs.columns])),
        "subtype_F1": macro_f1(Z, truth["subtype"], seed=seed),
        "immune_R2": cv_r2(Z, truth["immune_fraction"], seed=seed),
    }
    try:
        out["C_index"] = c_index(Z, truth["os_time"], truth["os_event"], seed=seed)
    except ImportError:  # scikit-survival is an optional extra
        pass
    return out
