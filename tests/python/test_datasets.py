import numpy as np

from twinpurify.datasets import simulate_cohort


def test_shapes_truth_and_reproducibility():
    a = simulate_cohort(n_tumors=50, n_normals=10, n_genes=120, seed=5)
    b = simulate_cohort(n_tumors=50, n_normals=10, n_genes=120, seed=5)
    assert a.tumors.shape == (50, 120) and a.normals.shape == (10, 120)
    assert a.tumors.equals(b.tumors)
    assert (a.tumors.to_numpy() == np.round(a.tumors.to_numpy())).all() and (a.tumors.to_numpy() >= 0).all()
    assert set(a.truth.columns) >= {"purity", "subtype", "immune_fraction", "program_1", "os_time", "os_event"}
    assert a.truth.purity.between(0.15, 0.98).all()
    assert set(a.genes.role) >= {"normal", "immune", "subtype_1", "program_1", "other"}


def test_normal_genes_follow_purity():
    c = simulate_cohort(n_tumors=300, n_normals=20, n_genes=400, seed=2)
    cpm = np.log2(c.tumors.div(c.tumors.sum(1), axis=0) * 1e6 + 1)
    normal_score = cpm.loc[:, c.genes.role == "normal"].mean(1)
    assert np.corrcoef(normal_score, c.truth.purity)[0, 1] < -0.7  # contamination is real in the simulation
