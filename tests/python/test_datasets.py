import numpy as np
import pandas as pd
import pytest
from twinpurify.datasets import NORMAL_CELL_TYPES, simulate_cohort


def test_shapes_truth_and_reproducibility():
    a = simulate_cohort(n_tumors=50, n_normals=10, n_genes=120, seed=5)
    b = simulate_cohort(n_tumors=50, n_normals=10, n_genes=120, seed=5)
    assert a.tumors.shape == (50, 120) and a.normals.shape == (10, 120) and a.intrinsic.shape == (50, 120)
    assert a.tumors.equals(b.tumors) and a.intrinsic.equals(b.intrinsic)
    assert (a.tumors.to_numpy() == np.round(a.tumors.to_numpy())).all() and (a.tumors.to_numpy() >= 0).all()
    assert set(a.truth.columns) >= {
        "purity",
        "normal_fraction",
        "immune_fraction",
        "subtype",
        "program_1",
        "os_time",
        "os_event",
    }
    assert a.truth.purity.between(0.2, 0.95).all()
    # the three fractions partition each tumor
    np.testing.assert_allclose(a.truth[["purity", "normal_fraction", "immune_fraction"]].sum(1), 1.0)
    assert set(a.genes.role) >= {"normal", "immune", "subtype_1", "program_1", "other"}
    assert set(a.genes.cell_type[a.genes.role == "normal"]) == set(NORMAL_CELL_TYPES)


def test_normal_genes_follow_purity():
    c = simulate_cohort(n_tumors=300, n_normals=20, n_genes=400, seed=2)
    cpm = np.log2(c.tumors.div(c.tumors.sum(1), axis=0) * 1e6 + 1)
    normal_score = cpm.loc[:, c.genes.role == "normal"].mean(1)
    assert np.corrcoef(normal_score, c.truth.purity)[0, 1] < -0.6  # contamination is real in the simulation


def test_immune_cells_are_scarce_in_adjacent_normals():
    c = simulate_cohort(n_tumors=200, n_normals=40, n_genes=600, seed=3)
    cpm = lambda df: np.log2(df.div(df.sum(1), axis=0) * 1e6 + 1)  # noqa: E731
    imm = c.genes.role == "immune"
    score_t, score_n = cpm(c.tumors).loc[:, imm].mean(1), cpm(c.normals).loc[:, imm].mean(1)
    assert score_t.mean() > score_n.mean() + 0.3
    assert score_n.quantile(0.9) < score_t.quantile(0.5)
    assert np.corrcoef(score_t, c.truth.immune_fraction)[0, 1] > 0.6
    # and the immune share differs by subtype
    share = c.truth.immune_fraction / (1 - c.truth.purity)
    means = share.groupby(c.truth.subtype, observed=True).mean()
    assert means.max() - means.min() > 0.1


def test_intrinsic_profiles_carry_the_programs_and_components():
    c = simulate_cohort(n_tumors=300, n_normals=20, n_genes=600, seed=4)
    prog = c.genes.index[c.genes.role == "program_1"]
    x = c.intrinsic[prog]
    # program 1 genes follow program 1 in the cancer cells (sign per gene)
    r = np.array([abs(np.corrcoef(x[gname], c.truth.program_1)[0, 1]) for gname in prog])
    assert np.median(r) > 0.4
    pcs = c.intrinsic_components(4)
    assert pcs.shape == (300, 4)
    v = pcs.var().to_numpy()
    assert np.all(np.diff(v) <= 1e-9)  # ordered by variance
    np.testing.assert_allclose(np.corrcoef(pcs.to_numpy().T), np.eye(4), atol=1e-8)  # uncorrelated


def test_microarray_platform_is_log_scale():
    c = simulate_cohort(n_tumors=30, n_normals=8, n_genes=100, platform="microarray", seed=0)
    v = c.tumors.to_numpy()
    assert v.min() > 3 and v.max() < 25 and not np.allclose(v, np.round(v))


def test_normal_likeness_is_an_intrinsic_axis_towards_normal_tissue():
    kw = dict(n_tumors=300, n_normals=30, n_genes=600, seed=6)
    a, b = simulate_cohort(**kw), simulate_cohort(**kw, normal_likeness=0.8)
    # its own random stream: subtypes, programs and composition are the draws of the same seed
    assert "normal_likeness" not in a.truth
    same = ["purity", "normal_fraction", "immune_fraction", "subtype", "program_1", "program_2", "program_3"]
    pd.testing.assert_frame_equal(a.truth[same], b.truth[same])
    d = b.truth["normal_likeness"].to_numpy()
    assert d.min() >= 0 and d.max() <= 1 and d.std() > 0.1
    means = b.truth["normal_likeness"].groupby(b.truth.subtype, observed=True).mean()
    assert means.max() - means.min() > 0.2  # some subtypes are more normal-like than others
    # the change to the cancer cells is one gene vector, scaled per tumor by 0.8 * d
    delta = (b.intrinsic - a.intrinsic).to_numpy()
    s = np.linalg.svd(delta, compute_uv=False)
    assert s[1] < 1e-8 * s[0]
    v = delta[np.argmax(d)] / (0.8 * d.max())
    np.testing.assert_allclose(delta, 0.8 * np.outer(d, v), atol=1e-9)

    def tumor_minus_normal_score(c):
        cpm = c.tumors.div(c.tumors.sum(1), axis=0).to_numpy() * 1e6
        n = c.normals.div(c.normals.sum(1), axis=0).to_numpy().mean(0) * 1e6
        m = cpm.mean(0)
        w = 1 / (m + n)
        score = pd.Series(((cpm - n) * w) @ ((m - n) * w))
        return score.corr(pd.Series(c.truth.purity.to_numpy()), method="spearman")

    # without it, "tumor minus normal" is nearly a purity axis; with it, much less so (as in TCGA-BRCA)
    assert tumor_minus_normal_score(a) > 0.7 > 0.5 > tumor_minus_normal_score(b)


@pytest.mark.parametrize(
    "kw,match",
    [
        (dict(n_tumors=3), "at least 4 tumors"),
        (dict(n_subtypes=1), "n_subtypes"),
        (dict(n_programs=0), "n_programs"),
        (dict(purity_range=(0.5, 0.4)), "purity_range"),
        (dict(platform="nanostring"), "platform"),
        (dict(normal_likeness=1.5), "normal_likeness must be between 0 and 1"),
        (dict(normal_likeness=-0.1), "normal_likeness"),
    ],
)
def test_bad_arguments_are_named(kw, match):
    with pytest.raises(ValueError, match=match):
        simulate_cohort(**{**dict(n_tumors=20, n_normals=5, n_genes=60), **kw})
