"""scikit-learn compliance: check_estimator, Pipeline, GridSearchCV, set_output, dtype, feature names."""

import warnings

import numpy as np
import pandas as pd
import pytest
import twinpurify as tp
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import check_estimator

FAST_TP = dict(n_components=4, hidden_dims=(8,), projector_dims=(8,), max_epochs=2, random_state=0, verbose=False)
NO_NORMALS = [
    tp.PCAEmbedding(2, n_genes=None, check_orientation=False, verbose=False),
    tp.RawProfiles(n_genes=None, check_orientation=False, verbose=False),
    tp.AutoencoderEmbedding(
        2, hidden_dims=(4,), n_genes=None, max_epochs=2, random_state=0, check_orientation=False, verbose=False
    ),
]
NEED_NORMALS = [
    tp.ContrastivePCA(2, n_genes=None, check_orientation=False, verbose=False),
    tp.NormalDifference(2, n_genes=None, check_orientation=False, verbose=False),
    tp.InvariantProjection(2, n_genes=None, check_orientation=False, verbose=False),
    tp.TwinPurify(**FAST_TP, n_genes=None, check_orientation=False),
]


def _reason(exc):
    """The exception's message and those it was raised from (check_estimator wraps the original error)."""
    parts = []
    while exc is not None and len(parts) < 5:
        parts.append(str(exc))
        exc = exc.__cause__ or exc.__context__
    return " | ".join(parts)


def _run(est):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return check_estimator(est, on_fail=None)


@pytest.mark.slow
@pytest.mark.parametrize("est", NO_NORMALS, ids=lambda e: type(e).__name__)
def test_check_estimator_passes(est):
    failed = [(r["check_name"], str(r["exception"])[:200]) for r in _run(est) if r["status"] == "failed"]
    assert not failed, failed


@pytest.mark.slow
@pytest.mark.parametrize("est", NEED_NORMALS, ids=lambda e: type(e).__name__)
def test_check_estimator_fails_only_for_want_of_normals(est):
    """Not applicable, with the reason: these methods are defined by the normals, which check_estimator never
    passes (it calls fit(X) or fit(X, y)); every check that fits must fail with the documented message, and
    every other check must pass."""
    results = _run(est)
    failed = [r for r in results if r["status"] == "failed"]
    other = [
        (r["check_name"], str(r["exception"])[:200])
        for r in failed
        if "needs normal samples" not in _reason(r["exception"])
    ]
    assert not other, other
    assert len(results) - len(failed) >= 5  # the checks that do not fit still run and pass


@pytest.fixture(scope="module")
def data(cohort):
    X = pd.concat([cohort.tumors, cohort.normals])
    mask = np.r_[np.zeros(len(cohort.tumors), bool), np.ones(len(cohort.normals), bool)]
    y = np.r_[cohort.truth["subtype"].astype(str).to_numpy(), np.array(["N"] * len(cohort.normals))]
    return X, mask, y


def test_pipeline_fits_and_scores_with_a_normal_mask(data):
    X, mask, y = data
    pipe = Pipeline([("tp", tp.TwinPurify(**FAST_TP)), ("clf", LogisticRegression(max_iter=500))])
    pipe.fit(X, y, tp__normal_mask=mask)
    assert 0.0 <= pipe.score(X, y) <= 1.0
    assert pipe.named_steps["tp"].transform(X).shape == (len(X), 4)


def test_pipeline_with_a_two_dimensional_target(data):
    """A 2-D y is a Pipeline's (multi-output) target when the normals come as normal_mask; before, it was taken
    for the normals ("normals given twice")."""
    X, mask, _ = data
    Y = pd.DataFrame(np.random.default_rng(0).random((len(X), 2)), index=X.index, columns=["program_1", "program_2"])
    alone = tp.TwinPurify(**FAST_TP).fit(X, normal_mask=mask).transform(X)
    for y in (Y, Y[["program_1"]], Y.to_numpy()):
        pipe = Pipeline([("tp", tp.TwinPurify(**FAST_TP)), ("r", Ridge())]).fit(X, y, tp__normal_mask=mask)
        assert len(pipe.predict(X)) == len(X)
        pd.testing.assert_frame_equal(pipe.named_steps["tp"].transform(X), alone)  # the normals of the mask


def test_grid_search_slices_the_normal_mask_per_fold(data):
    X, mask, y = data
    pipe = Pipeline([("tp", tp.TwinPurify(**FAST_TP)), ("clf", LogisticRegression(max_iter=500))])
    gs = GridSearchCV(pipe, {"tp__n_components": [3, 4]}, cv=3).fit(X, y, tp__normal_mask=mask)
    assert set(gs.cv_results_["param_tp__n_components"]) == {3, 4}
    assert np.isfinite(gs.cv_results_["mean_test_score"]).all()


def test_fit_forms_agree_and_bad_masks_are_named(data, cohort):
    X, mask, _ = data
    a = tp.TwinPurify(**FAST_TP).fit(cohort.tumors, cohort.normals).transform(cohort.tumors)
    b = tp.TwinPurify(**FAST_TP).fit(X, normal_mask=mask).transform(cohort.tumors)
    c = tp.TwinPurify(**FAST_TP).fit(cohort.tumors, normal=cohort.normals).transform(cohort.tumors)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c)
    full = tp.TwinPurify(**FAST_TP).fit_transform(X, normal_mask=mask)
    assert full.shape[0] == len(X)  # one row per input row, as a Pipeline step must return
    with pytest.raises(tp.InputError, match="normal_mask must be a boolean vector with one value per row"):
        tp.TwinPurify(**FAST_TP).fit(X, normal_mask=mask[:-1])
    with pytest.raises(tp.InputError, match="not both"):
        tp.TwinPurify(**FAST_TP).fit(cohort.tumors, normal=cohort.normals, normal_mask=mask[: len(cohort.tumors)])
    with pytest.raises(tp.InputError, match="needs normal samples"):
        tp.TwinPurify(**FAST_TP).fit(cohort.tumors, np.zeros(len(cohort.tumors)))  # a 1-D y is not normals


def test_dtype_feature_names_and_set_output(cohort):
    t64, n64 = cohort.tumors.to_numpy(np.float64), cohort.normals.to_numpy(np.float64)
    m = tp.TwinPurify(**FAST_TP).fit(t64, n64)
    assert m.transform(t64).dtype == np.float64
    assert m.transform(t64.astype(np.float32)).dtype == np.float32
    assert list(m.get_feature_names_out()) == ["TP1", "TP2", "TP3", "TP4"]
    m.set_output(transform="pandas")
    out = m.transform(t64)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == ["TP1", "TP2", "TP3", "TP4"]


def test_genes_matched_by_position_warn_as_scikit_learn_does(cohort):
    """A model fitted with gene names embedding an array (or the reverse) matches genes by position: before,
    silently (an array in another gene order was embedded wrong without a word)."""
    named = tp.PCAEmbedding(3, verbose=False).fit(cohort.tumors)
    with pytest.warns(UserWarning, match="X does not have valid feature names, but PCAEmbedding was fitted with"):
        Z = named.transform(cohort.tumors.to_numpy())
    np.testing.assert_allclose(Z, named.transform(cohort.tumors).to_numpy())
    unnamed = tp.PCAEmbedding(3, verbose=False).fit(cohort.tumors.to_numpy())
    with pytest.warns(UserWarning, match="X has feature names, but PCAEmbedding was fitted without feature names"):
        unnamed.transform(cohort.tumors)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # names on both sides, or on neither: nothing to say
        named.transform(cohort.tumors)
        unnamed.transform(cohort.tumors.to_numpy())
