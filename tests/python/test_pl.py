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
