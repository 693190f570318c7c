"""Plots return Figures/Axes, draw into given axes, and never switch matplotlib's backend."""

import matplotlib
import numpy as np
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
