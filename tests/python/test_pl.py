"""Plots return Figures/Axes, draw into given axes, and never switch matplotlib's backend."""

import matplotlib
import numpy as np
import pandas as pd
import pytest
import twinpurify as tp
from matplotlib.axes import Axes
from matplotlib.figure import Figure


@pytest.fixture(scope="module")
def fitted(cohort):
    m = tp.TwinPurify(6, hidden_dims=(32,), projector_dims=(32, 32), max_epochs=4, random_state=0, verbose=False)
    Z = m.fit_transform(cohort.tumors, cohort.normals)
    return m, Z


def test_plots_return_objects_and_keep_the_backend(fitted, cohort, tmp_path):
    matplotlib.use("svg")  # any non-Agg backend: a notebook's inline backend must survive every call
    m, Z = fitted
    ax = tp.pl.embedding(Z, color=cohort.truth["purity"], title="TP")
    assert isinstance(ax, Axes) and ax.get_title() == "TP" and len(ax.collections) == 1
    ax2 = tp.pl.embedding(Z, color=cohort.truth["subtype"])
    assert len(ax2.collections) == cohort.truth["subtype"].nunique()  # one scatter per category
    ax3 = tp.pl.loss_curve(m)
    ys = ax3.lines[0].get_ydata()
    np.testing.assert_allclose(ys, [h["loss"] for h in m.history_])
    raw = tp.RawProfiles(n_genes=100, verbose=False).fit_transform(cohort.tumors)
    fig = tp.pl.purity_diagnostic(Z, cohort.truth["purity"], raw=raw)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    heights = [b.get_height() for b in fig.axes[1].patches]
    assert heights[0] > heights[1]  # raw profiles leak more purity than the embedding on this cohort
    grid = tp.pl.embeddings({"raw": raw, "TP": Z}, cohort.truth["purity"], cohort.truth["subtype"], title="t")
    assert isinstance(grid, Figure) and len(grid.axes) >= 4
    out = tp.pl.save(grid, tmp_path / "grid.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert matplotlib.get_backend().lower() == "svg"


def test_draws_into_a_given_axes_and_refuses_unfitted(cohort):
    fig = Figure()
    ax = fig.subplots()
    assert tp.pl.embedding(np.random.default_rng(0).normal(size=(20, 5)), ax=ax) is ax
    with pytest.raises(ValueError, match="no training history"):
        tp.pl.loss_curve(tp.PCAEmbedding(3))


def test_pathway_heatmap_means_per_group_and_skips_missing_labels():
    act = pd.DataFrame({"P1": [1.0, 3.0, 5.0, 7.0], "P2": [0.0, 0.0, 2.0, 2.0]}, index=list("abcd"))
    act.attrs["method"] = "ulm"
    groups = pd.Series(["x", "x", "y", None], index=list("abcd"))
    ax = tp.pl.pathway_heatmap(act, groups, scale=False)
    img = ax.get_images()[0].get_array()
    assert img.shape == (2, 2)  # pathways x groups; the unlabelled sample d is left out
    np.testing.assert_allclose(np.asarray(img), [[2.0, 5.0], [0.0, 2.0]])
    assert "ulm" in ax.get_title()


def test_pathway_vs_purity_reports_spearman_and_names_missing_pathways():
    idx = [f"s{i}" for i in range(6)]
    purity = pd.Series(np.linspace(0.3, 0.9, 6), index=idx)
    raw = pd.DataFrame({"TGFb": purity.to_numpy()}, index=idx)  # rises with purity
    pur = pd.DataFrame({"TGFb": purity.to_numpy()[::-1]}, index=idx)  # falls with it
    fig = tp.pl.pathway_vs_purity(raw, pur, purity, "TGFb")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["raw: Spearman ρ = 1.00", "purified: Spearman ρ = -1.00"]
    with pytest.raises(KeyError, match="'EGFR' is not among the raw scores"):
        tp.pl.pathway_vs_purity(raw, pur, purity, "EGFR")


def test_series_are_aligned_to_the_embedding_by_sample_name(cohort):
    """Before, embedding(), embeddings() and purity_diagnostic() read a Series by position: a clinical table in
    another order coloured and correlated the wrong samples (mean |rho| 0.11 where the truth is 0.29)."""
    Z = tp.PCAEmbedding(5, verbose=False).fit_transform(cohort.tumors)
    purity = cohort.truth["purity"]
    shuffled = purity.sample(frac=1, random_state=1)
    ax = tp.pl.embedding(Z, color=shuffled)
    np.testing.assert_allclose(ax.collections[0].get_array(), purity.to_numpy())  # in Z's order
    title = tp.pl.purity_diagnostic(Z, purity).axes[0].get_title()
    assert tp.pl.purity_diagnostic(Z, shuffled).axes[0].get_title() == title
    raw = tp.RawProfiles(n_genes=50, verbose=False).fit_transform(cohort.tumors)
    ordered = tp.pl.purity_diagnostic(Z, purity, raw=raw)
    again = tp.pl.purity_diagnostic(Z, shuffled, raw=raw.loc[shuffled.index])  # raw aligned by name too
    assert [p.get_height() for p in again.axes[1].patches] == [p.get_height() for p in ordered.axes[1].patches]
    grid = tp.pl.embeddings({"PCA": Z}, shuffled, cohort.truth["subtype"].loc[shuffled.index])
    np.testing.assert_allclose(grid.axes[0].collections[0].get_array(), purity.to_numpy())
    some = tp.pl.embedding(Z, color=purity.iloc[:30])  # samples the Series lacks are drawn apart
    assert [len(c.get_offsets()) for c in some.collections] == [30, len(Z) - 30]


def test_values_that_do_not_fit_the_samples_are_refused_by_name(cohort):
    """Before: matplotlib's or NumPy's own errors (a 'c' argument of 30 elements, a boolean index mismatch)."""
    Z = tp.PCAEmbedding(5, verbose=False).fit_transform(cohort.tumors)
    purity = cohort.truth["purity"]
    n = len(Z)
    with pytest.raises(ValueError, match=f"color has 30 values but there are {n} samples"):
        tp.pl.embedding(Z, color=purity.to_numpy()[:30])
    with pytest.raises(ValueError, match=f"purity has 30 values but there are {n} samples"):
        tp.pl.purity_diagnostic(Z, purity.to_numpy()[:30])
    with pytest.raises(ValueError, match=r"purity: none of its \d+ index names \(e.g. 0, 1, 2"):
        tp.pl.purity_diagnostic(Z, purity.reset_index(drop=True))
    with pytest.raises(ValueError, match="subtype: none of its"):
        tp.pl.embeddings({"PCA": Z}, purity, cohort.truth["subtype"].reset_index(drop=True))
    with pytest.raises(ValueError, match=f"color: its index repeats sample names \\(e.g. {purity.index[0]}"):
        tp.pl.embedding(Z, color=pd.concat([purity, purity.iloc[:1]]))
    with pytest.raises(ValueError, match=f"raw: lacks 1 of the embedding's samples \\(e.g. {Z.index[0]}\\)"):
        tp.pl.purity_diagnostic(Z, purity, raw=Z.iloc[1:])
    act = pd.DataFrame({"P1": np.arange(n, dtype=float)}, index=Z.index)
    with pytest.raises(ValueError, match="groups: none of its"):  # before: an empty heat map
        tp.pl.pathway_heatmap(act, cohort.truth["subtype"].reset_index(drop=True))
    with pytest.raises(ValueError, match="raw and purified share no sample name"):  # before: rho = nan, no points
        tp.pl.pathway_vs_purity(act, act.reset_index(drop=True), purity, "P1")
