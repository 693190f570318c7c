"""Pathway scoring: each method against hand-computed values, gene-set forms, GMT, overlap rules."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import twinpurify as tp
from twinpurify import pathways as pw

pytest.importorskip("decoupler")

EXPR = pd.DataFrame([[1.0, 2.0, 0.0, 0.0], [0.0, 0.0, 1.0, 2.0]], index=["s1", "s2"], columns=["A", "B", "C", "D"])
SETS = {"AB": ["A", "B"], "CD": {"C": 1.0, "D": -1.0}}


def _ulm(y, w):
    """t-value of the slope of y on w (with intercept), by hand."""
    n = len(y)
    r = np.corrcoef(y, w)[0, 1]
    return r * math.sqrt((n - 2) / (1 - r * r))


def test_ulm_by_hand():
    got = pw.activity(EXPR, SETS, method="ulm", min_size=2)
    for s in EXPR.index:
        y = EXPR.loc[s].to_numpy()
        assert got.loc[s, "AB"] == pytest.approx(_ulm(y, np.array([1, 1, 0, 0.0])), rel=1e-6)
        assert got.loc[s, "CD"] == pytest.approx(_ulm(y, np.array([0, 0, 1, -1.0])), rel=1e-6)
    assert got.loc["s1", "AB"] == pytest.approx(3.0, rel=1e-6)
    assert got.attrs == {"method": "ulm", "n_genes": {"AB": 2, "CD": 2}}


def test_wmean_by_hand():
    got = pw.activity(EXPR, SETS, method="wmean", min_size=2)
    assert got.loc["s1", "AB"] == pytest.approx(1.5)  # (1 + 2) / 2
    assert got.loc["s2", "CD"] == pytest.approx(-0.5)  # (1 - 2) / (1 + 1)


def test_zscore_by_hand():
    got = pw.activity(EXPR, SETS, method="zscore", min_size=2)
    sd = EXPR.loc["s1"].std(ddof=1)  # 0.957...
    assert got.loc["s1", "AB"] == pytest.approx((1.5 - 0.75) * math.sqrt(2) / sd)
    assert got.loc["s1", "CD"] == pytest.approx((0.0 - 0.75) * math.sqrt(2) / sd)


def test_aucell_is_rank_based():
    got = pw.activity(EXPR, SETS, method="aucell", min_size=2)
    # one gene in the top 5% (n_up = 1 of 4): s1's top gene B is in AB, s2's top gene D in CD
    assert got.loc["s1"].tolist() == [1.0, 0.0] and got.loc["s2"].tolist() == [0.0, 1.0]
    shifted = pw.activity(EXPR * 3 + 7, SETS, method="aucell", min_size=2)  # monotone: unchanged
    pd.testing.assert_frame_equal(got, shifted)


def test_unknown_method():
    with pytest.raises(ValueError, match="method must be one of"):
        pw.activity(EXPR, SETS, method="gsva")


def test_gene_set_forms_agree(tmp_path):
    gmt = tmp_path / "sets.gmt"
    gmt.write_text("AB\tdesc\tA\tB\nCD\t\tC\tD\n")
    net = pd.DataFrame({"source": ["AB", "AB", "CD", "CD"], "target": ["A", "B", "C", "D"]})
    ref = pw.activity(EXPR, {"AB": ["A", "B"], "CD": ["C", "D"]}, min_size=2)
    for form in (gmt, str(gmt), net, {"AB": {"A": 1, "B": 1}, "CD": {"C": 1, "D": 1}}):
        pd.testing.assert_frame_equal(pw.activity(EXPR, form, min_size=2), ref)


@pytest.mark.parametrize(
    "text, match",
    [
        ("AB\tdesc\n", "lists no genes"),
        ("\tdesc\tA\n", "empty gene-set name"),
        ("AB\td\tA\nAB\td\tB\n", "appears twice"),
        ("\n\n", "holds no gene sets"),
    ],
)
def test_gmt_errors_name_file_and_line(tmp_path, text, match):
    f = tmp_path / "bad.gmt"
    f.write_text(text)
    with pytest.raises(pw.GeneSetError, match=match) as e:
        pw.read_gmt(f)
    assert "bad.gmt" in str(e.value)


def test_gmt_reads_windows_line_ends_and_dedups(tmp_path):
    f = tmp_path / "x.gmt"
    f.write_bytes(b"S1\tna\tA\tB\tA\r\nS2\tna\tC\r\n")
    assert pw.read_gmt(f) == {"S1": ["A", "B"], "S2": ["C"]}


def test_missing_gmt_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        pw.activity(EXPR, tmp_path / "none.gmt")


@pytest.mark.parametrize(
    "sets, match",
    [
        (pd.DataFrame({"source": ["AB"], "gene": ["A"]}), "missing"),
        (pd.DataFrame({"source": ["AB", "AB"], "target": ["A", "B"], "weight": [1, "x"]}), "non-numeric weights"),
        ({"AB": ["A", "A", "B"]}, "listed twice"),
        ({"AB": "A"}, "list of genes"),
        ([("AB", "A")], "must be a dict"),
        ({}, "empty"),
    ],
)
def test_bad_gene_sets(sets, match):
    with pytest.raises(pw.GeneSetError, match=match):
        pw.activity(EXPR, sets, min_size=1)


def test_min_size_drops_with_a_warning_naming_the_set():
    with pytest.warns(UserWarning, match=r"SMALL \(1\)"):
        got = pw.activity(EXPR, {"AB": ["A", "B"], "SMALL": ["C", "X", "Y"]}, min_size=2)
    assert list(got.columns) == ["AB"]


def test_no_overlap_is_an_error_with_a_hint():
    with pytest.raises(pw.GeneSetError, match="symbols vs Ensembl"):
        pw.activity(EXPR, {"P": ["ENSG1", "ENSG2"]}, min_size=1)
    with pytest.raises(ValueError, match="min_size"):
        pw.activity(EXPR, SETS, min_size=0)


def test_bad_expression_inputs():
    with pytest.raises(TypeError, match="DataFrame"):
        pw.activity(EXPR.to_numpy(), SETS)
    bad = EXPR.copy()
    bad.iloc[1, 0] = np.nan
    with pytest.raises(ValueError, match="s2"):
        pw.activity(bad, SETS, min_size=2)
    dup = EXPR.copy()
    dup.columns = ["A", "A", "C", "D"]
    with pytest.raises(pw.GeneSetError, match="duplicated gene"):
        pw.activity(dup, SETS, min_size=2)
    text = EXPR.astype(object)
    text.iloc[0, 0] = "high"
    with pytest.raises(TypeError, match="numbers only"):
        pw.activity(text, SETS, min_size=2)


def test_progeny_resource_is_shipped():
    net = pw.progeny()
    assert net["source"].nunique() == 14 and (net.groupby("source").size() == 100).all()
    assert {"EGFR", "Hypoxia", "p53", "TGFb"} <= set(net["source"])
    top10 = pw.progeny(10)
    assert (top10.groupby("source").size() == 10).all()
    assert set(top10["target"]) <= set(net["target"])
    with pytest.raises(ValueError, match="between 1 and 100"):
        pw.progeny(101)
    from pathlib import Path

    data = Path(pw.__file__).with_name("data")
    assert "Apache" in (data / "LICENSE-PROGENy").read_text() and "progeny" in (data / "README.md").read_text()


def test_model_pathway_activity_and_default_progeny(fast):
    """Default gene sets are PROGENy: a cohort with gene symbols is scored on all 14 pathways."""
    genes = sorted(set(pw.progeny()["target"]))[:600]
    c = tp.datasets.simulate_cohort(n_tumors=50, n_normals=10, n_genes=len(genes), seed=0)
    tumors, normals = (d.set_axis(genes, axis=1) for d in (c.tumors, c.normals))
    m = tp.PCAEmbedding(5, n_genes=None, verbose=False).fit(tumors, normals)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # some pathways may have < 5 of these genes
        act = m.pathway_activity(tumors)
    assert act.shape[0] == 50 and act.shape[1] >= 10 and act.attrs["method"] == "ulm"
    raw = m.pathway_activity(
        tumors, c.program_net().assign(target=lambda d: [genes[int(g[1:]) - 1] for g in d.target]), purified=False
    )
    assert list(raw.columns) == ["program_1", "program_2", "program_3"]


def test_tl_pathway_activity_stores_obsm_and_uns(cohort):
    ad = pytest.importorskip("anndata")
    adata = cohort.to_anndata()
    model = tp.PCAEmbedding(6, verbose=False).fit(cohort.tumors)
    tp.tl.pathway_activity(adata, model, cohort.program_net(), method="wmean", min_size=3)
    act = adata.obsm["twinpurify_pathways"]
    assert isinstance(adata, ad.AnnData) and isinstance(act, pd.DataFrame)
    assert list(act.index) == list(adata.obs_names)
    assert adata.uns["twinpurify_pathways"]["method"] == "wmean"
    assert adata.uns["twinpurify_pathways"]["pathways"] == list(act.columns)
    with pytest.raises(TypeError, match="AnnData"):
        tp.tl.pathway_activity(cohort.tumors, model)
    assert adata.uns["twinpurify_pathways"]["residual"] is False
    # the residual form needs normals: fitted with them, the scores differ from the readout's and say so
    model.fit_readout(cohort.tumors, normal=cohort.normals)
    out = tp.tl.pathway_activity(adata, model, cohort.program_net(), residual=True, min_size=3, copy=True)
    assert out.uns["twinpurify_pathways"]["residual"] is True
    want = model.pathway_activity(cohort.tumors, cohort.program_net(), residual=True, min_size=3)
    np.testing.assert_allclose(out.obsm["twinpurify_pathways"].iloc[: len(want)].to_numpy(), want.to_numpy(), rtol=1e-5)
    assert not np.allclose(out.obsm["twinpurify_pathways"].to_numpy(), act.to_numpy())


def test_gene_space_outputs_of_an_anndata_are_indexed_by_its_obs_names(cohort):
    """Before: purified_expression(adata) returned an array and pathway_activity(adata) was indexed 0..n-1, so
    pathway_vs_purity against adata.obs["purity"] plotted no point (rho nan) and pathway_heatmap an empty map."""
    pytest.importorskip("anndata")
    adata = cohort.to_anndata()
    model = tp.PCAEmbedding(5, verbose=False).fit(cohort.tumors, cohort.normals)
    P = model.purified_expression(adata)
    assert isinstance(P, pd.DataFrame) and list(P.index) == list(adata.obs_names)
    np.testing.assert_array_equal(P.to_numpy(), model.purified_expression(adata.X))
    assert list(model.log_expression(adata).index) == list(adata.obs_names)
    act = model.pathway_activity(adata, cohort.program_net(), min_size=3)
    raw = model.pathway_activity(adata, cohort.program_net(), min_size=3, purified=False)
    assert list(act.index) == list(raw.index) == list(adata.obs_names)
    fig = tp.pl.pathway_vs_purity(raw, act, adata.obs["purity"], act.columns[0])
    assert len(fig.axes[0].collections[0].get_offsets()) == adata.n_obs - adata.obs["purity"].isna().sum()
    ax = tp.pl.pathway_heatmap(act, adata.obs["subtype"])
    assert [t.get_text() for t in ax.get_xticklabels()] == sorted(adata.obs["subtype"].dropna().astype(str).unique())


@pytest.mark.slow
def test_purified_program_scores_on_the_simulator():
    """With the true program footprints: scores of purified expression (invariant projection, whose
    embedding leaks little purity) correlate less with purity than raw scores and still track the
    programs closely. (The readout alone does not track them *better*: raw weighted-footprint scores
    are already at Spearman ~0.96 here; for the residual form see the test below.)"""
    from scipy.stats import spearmanr

    c = tp.datasets.simulate_cohort(n_tumors=300, n_normals=50, n_genes=2000, seed=0)
    m = tp.InvariantProjection(64, verbose=False).fit(c.tumors, c.normals)
    raw = m.pathway_activity(c.tumors, c.program_net(), purified=False)
    pur = m.pathway_activity(c.tumors, c.program_net())
    track_raw = np.mean([spearmanr(raw[p], c.truth[p])[0] for p in raw.columns])
    track_pur = np.mean([spearmanr(pur[p], c.truth[p])[0] for p in raw.columns])
    pur_raw = np.mean([abs(spearmanr(raw[p], c.truth["purity"])[0]) for p in raw.columns])
    pur_pur = np.mean([abs(spearmanr(pur[p], c.truth["purity"])[0]) for p in raw.columns])
    assert pur_pur < pur_raw
    assert track_pur > 0.8 and track_pur > track_raw - 0.1


@pytest.mark.slow
@pytest.mark.parametrize(("platform", "seed"), [("rnaseq", 1), ("rnaseq", 3), ("microarray", 0)])
def test_residual_purified_scores_track_programs_better_and_purity_less_than_raw(platform, seed):
    """Issue 10's criterion, with TwinPurify's defaults: on the EMT-like program 2 (half its genes are
    fibroblast genes, so raw scores mix the program with the normal tissue), scores of the residual
    purified expression track the true program better and purity less than raw scores; averaged
    over the three programs they track at least as well and leak less. At this size (300 tumors,
    2,000 genes, the default gene selection) it held on each of seeds 0-4 (ad hoc; the smallest
    margins on program 2 were +0.02 tracking and -0.08 purity); two of those seeds and one
    microarray seed are kept here as a guard. It does not hold on every seed everywhere: in
    benchmarks/pathways.md (400 tumors, all 3,000 genes) seed 1 shows no gain on program 2."""
    from scipy.stats import spearmanr

    c = tp.datasets.simulate_cohort(n_tumors=300, n_normals=50, n_genes=2000, seed=seed, platform=platform)
    m = tp.TwinPurify(random_state=seed, verbose=False).fit(c.tumors, c.normals)
    scores = {
        kind: m.pathway_activity(c.tumors, c.program_net(), purified=kind != "raw", residual=kind == "residual")
        for kind in ("raw", "residual")
    }

    def track(kind, p):
        return spearmanr(scores[kind][p], c.truth[p])[0]

    def purity(kind, p):
        return abs(spearmanr(scores[kind][p], c.truth["purity"])[0])

    assert track("residual", "program_2") > track("raw", "program_2") + 0.01
    assert purity("residual", "program_2") < purity("raw", "program_2") - 0.05
    programs = list(scores["raw"].columns)
    assert np.mean([track("residual", p) for p in programs]) >= np.mean([track("raw", p) for p in programs])
    assert np.mean([purity("residual", p) for p in programs]) < np.mean([purity("raw", p) for p in programs])


def test_activity_leaves_the_callers_frame_alone():
    """Before: `activity` relabelled the caller's columns in place (integer gene IDs became strings)."""
    X = pd.DataFrame(np.random.default_rng(0).normal(size=(3, 6)), columns=[1, 2, 3, 4, 5, 6])
    before = X.copy()
    pw.activity(X, {"S": ["1", "2", "3"]}, method="wmean", min_size=2)
    pd.testing.assert_frame_equal(X, before)
    assert X.columns.tolist() == [1, 2, 3, 4, 5, 6]


def test_gmt_with_a_byte_order_mark(tmp_path):
    """Before: a UTF-8 BOM (Excel, Windows editors) stayed in the first set's name ('\\ufeffHALLMARK_A')."""
    f = tmp_path / "bom.gmt"
    f.write_bytes("HALLMARK_A\tdesc\tA\tB\nHALLMARK_B\tdesc\tC\tD\n".encode("utf-8-sig"))
    assert pw.read_gmt(f) == {"HALLMARK_A": ["A", "B"], "HALLMARK_B": ["C", "D"]}


@pytest.mark.parametrize("method", pw.METHODS)
def test_a_sample_scores_the_same_alone_as_in_its_batch(method):
    """Before: decoupler dropped the genes that are 0 in every scored sample (and all-zero samples) before
    scoring, so a sample scored alone lost its unexpressed genes (set A vanished) while in its cohort it kept
    them, and n_genes counted genes that were not scored (B's two genes unexpressed everywhere)."""
    rng = np.random.default_rng(1)
    genes = [f"G{i:02d}" for i in range(60)]
    X = pd.DataFrame(rng.normal(5, 1, size=(4, 60)), index=[f"s{i}" for i in range(4)], columns=genes)
    X.loc["s0", genes[:8]] = 0.0  # unexpressed in s0 only: all of set A, two genes of B
    X[genes[8:10]] = 0.0  # unexpressed in every sample
    sets = {"A": genes[:6], "B": genes[6:14], "C": genes[20:30]}
    batch = pw.activity(X, sets, method=method, min_size=3)
    assert list(batch.columns) == ["A", "B", "C"] and batch.attrs["n_genes"] == {"A": 6, "B": 8, "C": 10}
    for s in X.index:
        alone = pw.activity(X.loc[[s]], sets, method=method, min_size=3)
        pd.testing.assert_frame_equal(alone, batch.loc[[s]], rtol=1e-12)
        assert alone.attrs == batch.attrs
    if method == "ulm":  # the regression runs over every measured gene, unexpressed ones included
        y = X.loc["s1"].to_numpy()
        w = np.isin(genes, sets["B"]).astype(float)
        assert batch.loc["s1", "B"] == pytest.approx(_ulm(y, w), rel=1e-6)


def test_a_flat_sample_is_refused_by_name_where_its_score_is_undefined():
    """A sample with one value for every gene (an all-zero profile) has no spread to regress on, standardise by
    or rank: ULM, z-score and AUCell refuse it by name (before: a bare KeyError); its weighted mean is 0."""
    X = pd.concat([EXPR, pd.DataFrame([[0.0] * 4], index=["empty"], columns=EXPR.columns)])
    for method in ("ulm", "zscore", "aucell"):
        with pytest.raises(ValueError, match=r"one value for every gene.*\bempty\b"):
            pw.activity(X, SETS, method=method, min_size=2)
    got = pw.activity(X, SETS, method="wmean", min_size=2)
    assert got.loc["empty"].tolist() == [0.0, 0.0]
    pd.testing.assert_frame_equal(got.loc[EXPR.index], pw.activity(EXPR, SETS, method="wmean", min_size=2))


def test_aucell_does_not_depend_on_the_order_of_the_gene_columns():
    """AUCell ranks genes, and decoupler breaks ties by a seeded shuffle of column positions: before, the same
    profiles with their columns reversed scored differently (shallow log2 CPM has many exact ties)."""
    rng = np.random.default_rng(3)
    genes = [f"G{i:03d}" for i in range(200)]
    counts = rng.poisson(rng.gamma(0.5, 4, size=200), size=(3, 200)).astype(float)
    X = pd.DataFrame(np.log2(counts / counts.sum(1, keepdims=True) * 1e4 + 1), index=list("abc"), columns=genes)
    sets = {"S": genes[:30], "T": genes[100:130]}
    for method in pw.METHODS:
        ref = pw.activity(X, sets, method=method, min_size=5)
        for order in (genes[::-1], list(rng.permutation(genes))):
            pd.testing.assert_frame_equal(pw.activity(X[order], sets, method=method, min_size=5), ref, rtol=1e-12)


def test_a_set_covering_every_measured_gene_is_dropped_by_name():
    """A set holding every measured gene with one weight leaves no other gene to compare it with. Before: ULM
    crashed in decoupler ("`ps` must be within [0, 1]", naming neither the set nor the cause), z-score gave 0 and
    AUCell 1 for every sample. Now it is dropped with a warning naming it (an error when no set is left)."""
    genes = [f"G{i:02d}" for i in range(30)]
    X = pd.DataFrame(np.random.default_rng(0).normal(size=(3, 30)), index=list("abc"), columns=genes)
    for method in ("ulm", "zscore", "aucell"):
        with pytest.warns(UserWarning, match=r"1 gene set\(s\) dropped.*ALL.*every measured gene \(30\)"):
            got = pw.activity(X, {"ALL": genes, "S": genes[:5]}, method=method)
        pd.testing.assert_frame_equal(got, pw.activity(X, {"S": genes[:5]}, method=method))
        with pytest.raises(pw.GeneSetError, match=r"ALL.*no gene set left"):
            pw.activity(X, {"ALL": genes}, method=method)
    # with weights that differ the regression and the z-score are defined (AUCell ignores weights: still dropped)
    weighted = {"W": {g: 1.0 + i % 3 for i, g in enumerate(genes)}, "S": genes[:5]}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert list(pw.activity(X, weighted, method="ulm").columns) == ["S", "W"]
        assert list(pw.activity(X, weighted, method="zscore").columns) == ["S", "W"]
        everything = pw.activity(X, {"ALL": genes}, method="wmean")  # the mean of every gene: kept
    np.testing.assert_allclose(everything["ALL"], X.mean(axis=1))
    with pytest.warns(UserWarning, match="W"):
        pw.activity(X, weighted, method="aucell")


def test_gene_space_outputs_warn_about_another_scale_as_transform_does(cohort):
    """Before: `transform` warned about log2 input to a model fitted on counts, while `purified_expression`,
    `log_expression` and `pathway_activity` read it silently (as counts: wrong by several log2 units)."""
    m = tp.PCAEmbedding(4, verbose=False).fit(cohort.tumors, cohort.normals)  # counts
    logged = np.log2(cohort.tumors + 1)
    net = cohort.program_net()
    msg = "looks like log2 values but the model was fitted on counts"
    for call in (
        m.transform,
        m.purified_expression,
        lambda x: m.purified_expression(x, residual=True),
        m.log_expression,
        lambda x: m.pathway_activity(x, net, min_size=3),
        lambda x: m.pathway_activity(x, net, min_size=3, purified=False),
    ):
        with pytest.warns(UserWarning, match=msg) as seen:
            call(logged)
        assert sum(msg in str(w.message) for w in seen) == 1  # once per call
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # on the model's own scale: no warning
        m.purified_expression(cohort.tumors)
        m.log_expression(cohort.tumors)
        m.pathway_activity(cohort.tumors, net, min_size=3)


def test_tl_pathway_results_survive_an_h5ad_round_trip_with_slashes_in_set_names(cohort, tmp_path):
    """Before: uns[...]["n_genes"] was a dict keyed by pathway name, so a name with "/" (KEGG_MAPK/ERK) became
    nested h5 groups (read back as {"KEGG_MAPK": {"ERK": 10}}; future anndata refuses such keys). Now a list
    aligned with uns[...]["pathways"], as the R bridge gives it."""
    ad = pytest.importorskip("anndata")
    adata = cohort.to_anndata()
    model = tp.PCAEmbedding(5, verbose=False).fit(cohort.tumors)
    g = list(cohort.tumors.columns)
    tp.tl.pathway_activity(adata, model, {"A/B": g[:10], "TGF-beta (GO:0007179)": g[10:22]}, min_size=3)
    uns = adata.uns["twinpurify_pathways"]
    assert uns["pathways"] == ["A/B", "TGF-beta (GO:0007179)"] and list(uns["n_genes"]) == [10, 12]
    path = tmp_path / "a.h5ad"
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Forward slashes", FutureWarning)  # the obsm column "A/B" (anndata's)
        adata.write_h5ad(path)
    back = ad.read_h5ad(path).uns["twinpurify_pathways"]
    assert list(back["pathways"]) == uns["pathways"] and list(back["n_genes"]) == [10, 12]
