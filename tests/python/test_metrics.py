import numpy as np
import pandas as pd
import pytest
from twinpurify import metrics as M


@pytest.fixture
def toy():
    rng = np.random.default_rng(0)
    n = 200
    purity = rng.uniform(0.3, 0.9, n)
    subtype = np.repeat(["A", "B", "C", "D"], n // 4)
    noise = rng.normal(size=(n, 10))
    return rng, purity, subtype, noise


def test_purity_leakage_sees_purity_only_when_present(toy):
    rng, purity, _, noise = toy
    assert M.purity_leakage(np.column_stack([purity, noise]), purity) > 0.95
    assert M.purity_leakage(noise, purity) < 0.05


def test_macro_f1_and_exclusion(toy):
    rng, _, subtype, noise = toy
    onehot = pd.get_dummies(subtype).to_numpy(float) * 3
    assert M.macro_f1(np.column_stack([onehot, noise]), subtype) > 0.95
    assert M.macro_f1(noise, subtype) < 0.45
    assert M.macro_f1(np.column_stack([onehot, noise]), subtype, exclude=["D"]) > 0.95
    labels = subtype.astype(object)
    labels[:3] = None  # missing labels are dropped
    assert np.isfinite(M.macro_f1(np.column_stack([onehot, noise]), labels))


def test_class_predictions_are_what_macro_f1_scores(toy):
    from sklearn.metrics import f1_score

    rng, _, subtype, noise = toy
    Z = np.column_stack([pd.get_dummies(subtype).to_numpy(float) * 0.5, noise])  # partly separable
    labels = subtype.astype(object)
    labels[:3] = None
    y, pred = M.class_predictions(Z, labels, seed=3, exclude=["D"])
    assert len(y) == len(pred) == 197 - 50 and set(y) == {"A", "B", "C"}  # missing and excluded rows left out
    assert f1_score(y, pred, average="macro") == M.macro_f1(Z, labels, seed=3, exclude=["D"])
    y1, p1 = M.class_predictions(Z, np.repeat("A", len(Z)))  # one class: nothing to predict
    assert len(y1) == len(Z) and len(p1) == 0 and np.isnan(M.macro_f1(Z, np.repeat("A", len(Z))))


def test_global_scaler_keeps_geometry():
    X = np.array([[1.0, 10.0], [3.0, 30.0], [8.0, 80.0]])
    Xs = M.GlobalScaler().fit_transform(X)
    np.testing.assert_allclose(Xs[:, 1] / Xs[:, 0], 10.0)  # relative scales kept (no per-feature whitening)
    np.testing.assert_allclose((Xs**2).sum(1).mean(), 1.0)


def test_c_index_direction(toy):
    rng, _, _, noise = toy
    risk = rng.normal(size=200)
    time = rng.exponential(np.exp(-1.5 * risk))
    event = rng.uniform(size=200) < 0.8
    Z = np.column_stack([risk, noise[:, :3]])
    assert M.c_index(Z, time, event) > 0.7  # a risk-carrying embedding scores above chance, not below
    assert 0.35 < M.c_index(noise, time, event) < 0.65


def test_spearman(toy):
    _, purity, _, noise = toy
    mean_rho, max_rho = M.purity_spearman(np.column_stack([purity, noise]), purity)
    assert max_rho == pytest.approx(1.0) and mean_rho < 0.3
