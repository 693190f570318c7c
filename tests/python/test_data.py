import warnings

import numpy as np
import pandas as pd
import pytest
from twinpurify import InputError, PCAEmbedding, TwinPurify
from twinpurify.data import as_matrix, detect_scale, to_log2


def fit(t, n, **kw):
    params = dict(n_components=4, hidden_dims=(8,), projector_dims=(8,), max_epochs=1, verbose=False)
    return TwinPurify(**{**params, **kw}).fit(t, n)


def test_nan_named(log_pair):
    t, n = log_pair
    bad = t.copy()
    bad.iloc[2, 5] = np.nan
    with pytest.raises(InputError, match=rf"NaN.*samples {bad.index[2]}.*genes {bad.columns[5]}"):
        fit(bad, n)
    bad.iloc[2, 5] = np.inf
    with pytest.raises(InputError, match="Inf"):
        fit(bad, n)


def test_negative_counts(cohort):
    t = cohort.tumors.copy()
    t.iloc[3, 0] = -1
    with pytest.raises(InputError, match=rf"negative values in samples {t.index[3]}"):
        fit(t, cohort.normals, input_scale="counts")


def test_too_few_normals(log_pair):
    t, n = log_pair
    with pytest.raises(InputError, match="at least 2 normal samples to mix views from, got 1"):
        fit(t, n.iloc[:1])


def test_samples_given_as_tumors_and_as_normals_are_refused(log_pair):
    t, n = log_pair
    twice = pd.concat([n, t.iloc[:2]])  # two tumors also passed as normals
    with pytest.raises(InputError, match=rf"under one name\): {t.index[0]}, {t.index[1]} \(2 in all"):
        fit(t, twice)
    renamed = pd.concat([n, t.iloc[:1].rename(index={t.index[0]: "N_x"})])  # the same profile under another name
    with pytest.raises(InputError, match=rf"under one name\): {t.index[0]} \(normal N_x\)"):
        fit(t, renamed)
    rounded = pd.concat([n, t.iloc[:1].round(3)])  # the same name, rounded on the way (e.g. a CSV)
    with pytest.raises(InputError, match=rf"under one name\): {t.index[0]} \("):
        fit(t, rounded)
    every = pd.concat([t, n]).reset_index(drop=True)  # one table of row numbers, every tumor among the "normals"
    with pytest.raises(InputError, match="identical profiles"):
        fit(every.iloc[: len(t)], every)


def test_shared_names_of_different_samples_are_not_refused(log_pair):
    """Row numbers of frames built from arrays (shuffled or split too) and a paired design naming a tumor and
    its normal by the patient repeat names across the sets; the samples differ, so the fit goes on."""
    t, n = log_pair
    fit(t.reset_index(drop=True), n.reset_index(drop=True))  # was refused as "are samples in columns?"
    fit(t.reset_index(drop=True).sample(frac=1, random_state=0), n.reset_index(drop=True).iloc[2:])
    fit(t, n.set_axis(t.index[: len(n)], axis=0))  # normals named after their patients' tumors
    with pytest.raises(InputError, match="are samples in columns"):  # ... but transposed: genes in rows
        fit(t.T.iloc[:, : len(n)], n.set_axis(t.index[: len(n)], axis=0).T)


def test_no_shared_genes(log_pair):
    t, n = log_pair
    with pytest.raises(InputError, match="share no gene names"):
        fit(t, n.rename(columns=lambda g: g + "_x"))


def test_partial_overlap_uses_shared_genes(log_pair, caplog):
    t, n = log_pair
    m = fit(t, n.iloc[:, :190])
    assert m.n_features_in_ == 190
    assert "using the 190 genes shared by tumor and normal (10 tumor-only (e.g. G0191" in caplog.text


def test_normals_sharing_few_of_the_tumors_genes_warn_or_are_refused(log_pair):
    """Before, any overlap was taken with a note at INFO level (unseen by default; shown even with verbose=False
    in R): normals sharing 6 of 80 genes, the sign of two gene-ID systems, fitted on those 6."""
    t, n = log_pair
    with pytest.warns(
        UserWarning,
        match=r"share 150 of the tumors' 200 genes; the fit uses those and drops 50 "
        r"tumor-only \(e.g. G0151, G0152, G0153 and 47 more\) and 0 normal-only",
    ):
        assert fit(t, n.iloc[:, :150]).n_features_in_ == 150
    renamed = n.rename(columns=lambda g: g if g < "G0010" else g + ".1")  # versioned IDs on most genes
    with pytest.raises(
        InputError,
        match=r"share only 9 of the tumors' 200 genes \(191 tumor-only \(e.g. G0010, "
        r"G0011, G0012 and 188 more\) and 191 normal-only \(e.g. G0010.1",
    ):
        fit(t, renamed)
    # normals measured on a subset of the tumors' genes, every one matched (protein-coding genes only, a panel):
    # not an ID mismatch, so a warning whatever the share
    with pytest.warns(UserWarning, match=r"share 60 of the tumors' 200 genes; .* and 0 normal-only"):
        assert fit(t, n.iloc[:, :60]).n_features_in_ == 60


def test_duplicates(log_pair):
    t, n = log_pair
    with pytest.raises(InputError, match="duplicate gene names: G0001"):
        fit(t.rename(columns={"G0002": "G0001"}), n)
    with pytest.raises(InputError, match=f"duplicate sample names: {t.index[0]}"):
        fit(t.rename(index={t.index[1]: t.index[0]}), n)


def test_zero_variance_genes_dropped_with_message(log_pair, caplog):
    t, n = log_pair
    t = t.copy()
    t["G0007"] = 3.0
    m = fit(t, n)
    assert "G0007" not in m.genes_
    assert "dropping 1 zero-variance genes: G0007" in caplog.text


def test_orientation_detected():
    rng = np.random.default_rng(0)
    genes_by_samples = rng.normal(5, 1, (3000, 40))
    with pytest.raises(InputError, match="looks like genes as rows"):
        fit(genes_by_samples, rng.normal(5, 1, (3000, 40)))
    t = pd.DataFrame(
        rng.normal(5, 1, (30, 50)), columns=[f"g{i}" for i in range(50)], index=[f"T{i}" for i in range(30)]
    )
    n = pd.DataFrame(rng.normal(5, 1, (5, 50)), columns=t.columns, index=[f"N{i}" for i in range(5)])
    with pytest.raises(InputError, match="are samples in columns"):
        fit(t.T, n.T)
    with pytest.raises(InputError, match="are genes in rows"):
        fit(t.to_numpy().T, n.to_numpy().T)


def test_empty_and_non_numeric(log_pair):
    t, n = log_pair
    with pytest.raises(InputError, match="empty matrix"):
        fit(t.iloc[:0], n)
    bad = t.copy()
    bad["label"] = "x"
    with pytest.raises(InputError, match="non-numeric columns label"):
        fit(bad, n)
    with pytest.raises(InputError, match="not numeric"):
        as_matrix(np.array([["a", "b"], ["c", "d"]]))
    with pytest.raises(InputError, match="not numeric|cannot be read"):
        as_matrix({"a": 1})
    with pytest.raises(InputError, match="needs normal samples"):
        fit(t, None)


def test_a_missing_layer_and_nullable_missing_values_are_named(cohort):
    """Before: a bare KeyError 'nope'; pandas' Int64/Float64 columns holding pd.NA were "not numeric"."""
    pytest.importorskip("anndata")
    adata = cohort.to_anndata()
    adata.layers["counts"] = adata.X.copy()
    with pytest.raises(InputError, match=r"X: the AnnData has no layer 'nope' \(its layers: counts\)"):
        as_matrix(adata, "X", layer="nope")
    del adata.layers["counts"]
    with pytest.raises(InputError, match=r"no layer 'counts' \(it has no layers\)"):
        as_matrix(adata, "X", layer="counts")
    t = cohort.tumors.astype("Int64")
    t.iloc[2, 5] = pd.NA
    with pytest.raises(
        InputError,
        match=rf"1 missing or infinite values \(NaN\) in samples {t.index[2]} and genes "
        rf"{t.columns[5]}",
    ):
        fit(t, cohort.normals)
    floats = cohort.tumors.astype("Float64")
    np.testing.assert_array_equal(as_matrix(floats).values, as_matrix(cohort.tumors).values)


def test_non_integer_counts_taken_as_linear_warn(cohort):
    """RSEM expected counts (mostly whole, some fractions) are detected as linear: no library-size normalisation.
    Before, only an INFO note said so; TPM-like values, whole by chance only, do not warn."""
    expected = cohort.tumors.astype(float)
    expected.iloc[:, ::4] += 0.37  # reads shared between genes: a quarter of the genes get fractions
    normals = cohort.normals.astype(float) + 0.5
    with pytest.warns(
        UserWarning,
        match=r"taken as linear .* \d+% of the non-zero values are whole numbers, .* set "
        r"input_scale='counts'",
    ):
        fit(expected, normals)
    assert fit(expected, normals, input_scale="counts").preprocessor_.scale_ == "counts"  # the way out
    tpm = cohort.tumors.div(cohort.tumors.sum(1), axis=0) * 1e6
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fit(tpm, cohort.normals.div(cohort.normals.sum(1), axis=0) * 1e6).preprocessor_.scale_ == "linear"


def test_scale_detection(cohort, log_pair):
    assert detect_scale(cohort.tumors.to_numpy()) == "counts"
    assert detect_scale(log_pair[0].to_numpy()) == "log2"
    assert detect_scale(np.array([[-2.0, 5.0]])) == "log2"
    assert detect_scale(np.array([[0.5, 1500.25]])) == "linear"
    x = np.array([[10.0, 30.0, 60.0]])
    np.testing.assert_allclose(to_log2(x, "counts", ["s"], "t"), np.log2(x / 100 * 1e6 + 1), rtol=1e-6)


def test_counts_and_their_log_give_the_same_model(cohort, log_pair, caplog):
    a = fit(cohort.tumors, cohort.normals, random_state=0, verbose=True)
    assert "detected integer counts" in caplog.text
    b = fit(*log_pair, random_state=0)
    assert a.preprocessor_.scale_ == "counts" and b.preprocessor_.scale_ == "log2"
    np.testing.assert_allclose(a.transform(cohort.tumors), b.transform(log_pair[0]), rtol=1e-3, atol=1e-3)


def test_counts_are_normalised_by_the_library_of_every_input_gene(cohort, log_pair):
    """Before, counts were divided by the total of the n_genes selected columns only: the training tumors'
    standardised values averaged 1-3 instead of 0, and every gene carried the selected genes' share of the
    library, which tracks purity (Spearman -0.88 here)."""
    from scipy.stats import spearmanr
    from twinpurify import RawProfiles

    raw = RawProfiles(n_genes=40, verbose=False)
    Xs = raw.fit_transform(cohort.tumors)  # the standardised profiles every encoder reads
    np.testing.assert_allclose(Xs.mean(0), 0, atol=1e-4)
    genes = raw.genes_
    cpm = cohort.tumors[genes].div(cohort.tumors.sum(1), axis=0) * 1e6  # per million of all 200 genes
    logx = raw.log_expression(cohort.tumors)
    np.testing.assert_allclose(logx, np.log2(cpm + 1), rtol=1e-5, atol=1e-5)
    share = np.log2(cohort.tumors[genes].sum(1) / cohort.tumors.sum(1))
    assert abs(spearmanr(share, cohort.truth["purity"])[0]) > 0.8  # what dividing by the selected genes added
    np.testing.assert_allclose(np.median(logx - np.log2(cpm + 1), axis=1), 0, atol=1e-5)  # no per-sample offset
    # the whole fit (views mixing tumors and normals included) sees what log2 CPM of all genes gives it
    a = fit(cohort.tumors, cohort.normals, n_genes=50, random_state=0)
    b = fit(*log_pair, n_genes=50, random_state=0)
    assert a.genes_ == b.genes_
    np.testing.assert_allclose(a.transform(cohort.tumors), b.transform(log_pair[0]), rtol=1e-3, atol=1e-3)


def test_library_sizes_of_a_new_cohort_cover_the_genes_the_model_was_fitted_on(cohort):
    """Genes the model never saw do not enter a new cohort's library; lacking many training genes warns."""
    from twinpurify import RawProfiles

    raw = RawProfiles(n_genes=40, verbose=False).fit(cohort.tumors)
    extra = cohort.tumors.assign(**{f"new{i}": 5000 for i in range(20)})  # counts of genes the model never saw
    pd.testing.assert_frame_equal(raw.transform(extra), raw.transform(cohort.tumors))
    unused = [g for g in cohort.tumors.columns if g not in raw.genes_]
    with pytest.warns(
        UserWarning, match=rf"X: 60 of the 200 genes the model was fitted on are missing \(e.g. {unused[0]}"
    ):
        raw.transform(cohort.tumors.drop(columns=unused[:60]))


def test_models_saved_before_whole_library_normalisation_embed_as_trained(cohort, tmp_path):
    """A folder without preprocessor.library_ keeps dividing counts by its selected genes' total, with a warning."""
    import json

    from twinpurify import RawProfiles, load_model

    raw = RawProfiles(n_genes=40, verbose=False).fit(cohort.tumors)
    raw.save(tmp_path / "m")
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    assert cfg["preprocessor"].pop("library_") == "input"
    (tmp_path / "m" / "config.json").write_text(json.dumps(cfg))
    with pytest.warns(UserWarning, match="normalises counts by the total of its 40 selected genes, not of all 200"):
        old = load_model(tmp_path / "m")
    sel = cohort.tumors[raw.genes_]
    np.testing.assert_allclose(
        old.log_expression(cohort.tumors), np.log2(sel.div(sel.sum(1), axis=0) * 1e6 + 1), rtol=1e-5
    )


def test_outputs_keep_the_callers_sample_index(cohort):
    """Before, an int64 index (patient IDs 1001..) came back as the strings '1001'.., so joining the embedding
    with a clinical table matched no sample; scikit-learn's set_output(transform="pandas") keeps it."""
    t = cohort.tumors.set_axis(pd.Index(np.arange(1001, 1001 + len(cohort.tumors)), name="patient"), axis=0)
    n = cohort.normals.set_axis(pd.RangeIndex(5001, 5001 + len(cohort.normals)), axis=0)
    m = PCAEmbedding(4, verbose=False)
    for Z in (m.fit_transform(t, n), m.transform(t), m.purified_expression(t), m.log_expression(t)):
        pd.testing.assert_index_equal(Z.index, t.index)
    assert m.transform(t).join(cohort.truth["purity"].set_axis(t.index)).notna().all().all()
    both = pd.concat([t, n])
    mask = np.r_[np.zeros(len(t), bool), np.ones(len(n), bool)]
    pd.testing.assert_index_equal(m.fit_transform(both, normal_mask=mask).index, both.index)
    clash = t.iloc[:6].set_axis(pd.Index([1, "1", 2, 3, 4, 5], dtype=object), axis=0)  # unique, but not as names
    with pytest.raises(InputError, match="duplicate sample names: 1; sample names must be unique"):
        m.transform(clash)


def test_wrong_column_count_without_names(cohort):
    m = fit(cohort.tumors.to_numpy(), cohort.normals.to_numpy())
    with pytest.raises(InputError, match="X has 199 features, but TwinPurify is expecting 200 features"):
        m.transform(cohort.tumors.to_numpy()[:, 1:])


def test_bad_parameters(log_pair):
    t, n = log_pair
    with pytest.raises(ValueError, match="input_scale='log10' is not allowed"):
        fit(t, n, input_scale="log10")
    with pytest.raises(ValueError, match="beta_max"):
        fit(t, n, beta_max=1.5)


def test_more_shape_and_value_errors(cohort, log_pair):
    t, n = log_pair
    with pytest.raises(InputError, match="expected a 2-D samples x genes matrix, got 1"):
        as_matrix(np.ones(5))
    with pytest.raises(InputError, match="values are boolean"):
        as_matrix(np.ones((3, 3), dtype=bool))
    zero = cohort.tumors.copy()
    zero.iloc[4] = 0
    with pytest.raises(InputError, match=f"samples with zero total counts: {zero.index[4]}"):
        fit(zero, cohort.normals, input_scale="counts")
    flat = t.copy()
    flat.loc[:, :] = 2.0
    with pytest.raises(InputError, match="every gene has zero variance"):
        fit(flat, n)
    with pytest.raises(InputError, match="at least 4 tumor samples to train on, got 3"):
        fit(t.iloc[:3], n)
    with pytest.raises(ValueError, match="n_genes=1 is not allowed"):
        fit(t, n, n_genes=1)
    with pytest.raises(ValueError, match="fill_missing='zero' is not allowed"):
        fit(t, n, fill_missing="zero")
    with pytest.raises(ValueError, match="n_components=0 is not allowed"):
        fit(t, n, n_components=0)


def test_fill_mean_with_counts_is_cpm_of_the_genes_present_and_the_training_mean(cohort, tmp_path):
    """A count model embeds a cohort lacking selected genes with fill_missing="mean" as log input filled alike:
    the genes present per million of their own total, the missing ones at the training mean of log2 CPM, in
    memory and out of core (before: refused, "cannot be used with count input")."""
    import copy

    import anndata as ad
    from twinpurify.streaming import transform_on_disk

    m = fit(cohort.tumors, cohort.normals, n_genes=100, random_state=0)
    assert m.preprocessor_.scale_ == "counts"
    unselected = [g for g in m.preprocessor_.genes_in_ if g not in set(m.genes_)]
    lacking = cohort.tumors.drop(columns=[m.genes_[0], m.genes_[7], unselected[0]])
    filled = m.transform(lacking, fill_missing="mean")
    logged = np.log2(lacking.div(lacking.sum(axis=1), axis=0) * 1e6 + 1)  # CPM of the genes present
    as_log = copy.deepcopy(m)
    as_log.preprocessor_.scale_ = "log2"
    pd.testing.assert_frame_equal(filled, as_log.transform(logged, fill_missing="mean"), atol=1e-5, rtol=1e-5)
    ad.AnnData(lacking.astype(np.float32)).write_h5ad(tmp_path / "lacking.h5ad")
    transform_on_disk(m, tmp_path / "lacking.h5ad", tmp_path / "z.csv", fill_missing="mean")
    on_disk = pd.read_csv(tmp_path / "z.csv", index_col=0)
    np.testing.assert_allclose(on_disk.to_numpy(), filled.to_numpy(), atol=1e-5, rtol=1e-5)
    with pytest.warns(UserWarning, match="16 of the model's 100 genes are missing and filled with the training mean"):
        m.transform(cohort.tumors.drop(columns=m.genes_[:16]), fill_missing="mean")
    with pytest.raises(InputError, match="2 of the model's 100 genes are missing"):
        m.transform(lacking)  # the policy still defaults to an error
    m.preprocessor_.library_ = "selected"  # a folder saved before library sizes: its library was the selected genes
    with pytest.raises(InputError, match="cannot be used with count input on a model saved before library sizes"):
        m.transform(lacking, fill_missing="mean")


def test_scale_is_detected_on_every_row_not_the_first_ones(cohort):
    from twinpurify.data import detect_scale

    logged = np.log2(cohort.tumors.to_numpy() + 1)
    mixed = np.concatenate(
        [logged[:300] if len(logged) >= 300 else np.tile(logged, (6, 1))[:300], cohort.tumors.to_numpy()[:5] + 0.5]
    )  # linear rows after 300 log rows
    assert detect_scale(mixed[:300]) == "log2"
    assert detect_scale(mixed) == "linear"
    assert detect_scale(np.random.default_rng(0).poisson(50, (10, 40)).astype(float)) == "counts"  # shallow counts


def test_tumors_and_normals_on_different_scales_are_refused(cohort):
    logged = np.log2(cohort.normals.div(cohort.normals.sum(1), axis=0) * 1e6 + 1)
    with pytest.raises(InputError, match="tumors look like integer counts but normals look like log-scale"):
        fit(cohort.tumors, logged)
    fit(cohort.tumors.astype(float), np.exp2(logged) - 1, input_scale="linear")  # given scale: the user decides


def test_transform_warns_when_the_scale_differs_from_the_model(cohort):
    m = fit(cohort.tumors, cohort.normals)
    assert m.preprocessor_.scale_ == "counts"
    logged = np.log2(cohort.tumors.div(cohort.tumors.sum(1), axis=0) * 1e6 + 1)
    with pytest.warns(UserWarning, match="looks like log2 values but the model was fitted on counts"):
        m.transform(logged)


def test_fill_mean_needs_a_minimum_gene_overlap(log_pair):
    t, n = log_pair
    m = fit(t, n, n_genes=100)
    genes = m.genes_
    few = t.drop(columns=genes[:60])  # 40% of the model's genes left
    with pytest.raises(InputError, match="only 40 of the model's 100 genes \\(40%\\) are present"):
        m.transform(few, fill_missing="mean")
    some = t.drop(columns=genes[:20])
    with pytest.warns(UserWarning, match="20 of the model's 100 genes are missing"):
        m.transform(some, fill_missing="mean")


def test_missing_normal_labels_in_anndata_are_refused(cohort):
    pytest.importorskip("anndata")
    adata = cohort.to_anndata()
    adata.obs["sample_type"] = adata.obs["sample_type"].astype(object)
    adata.obs.iloc[[3, 7], adata.obs.columns.get_loc("sample_type")] = np.nan
    with pytest.raises(InputError, match="missing for 2 samples \\(T0004, T0008\\)"):
        TwinPurify(n_components=4, max_epochs=1, verbose=False).fit(adata, normal_key="sample_type")


def test_normal_key_is_refused_rather_than_ignored(cohort):
    """Before, fit() silently ignored normal_key when the normals also came another way or the input was no AnnData."""
    pytest.importorskip("anndata")
    adata = cohort.to_anndata()
    both = pd.concat([cohort.tumors, cohort.normals])
    mask = np.r_[np.zeros(len(cohort.tumors), bool), np.ones(len(cohort.normals), bool)]
    est = PCAEmbedding(4, verbose=False)
    for call, message in [
        (lambda: est.fit(cohort.tumors, normal_key="sample_type"), "needs an AnnData"),
        (lambda: est.fit(adata, normal=cohort.normals, normal_key="sample_type"), "not both"),
        (lambda: est.fit(cohort.tumors, cohort.normals, normal_key="sample_type"), "not both"),
        (lambda: est.fit(both, normal_mask=mask, normal_key="sample_type"), "not both"),
        (lambda: est.fit_transform(adata, normal=cohort.normals, normal_key="sample_type"), "not both"),
    ]:
        with pytest.raises(InputError, match=message):
            call()
    assert est.fit(adata, normal_key="sample_type").n_features_in_ == cohort.tumors.shape[1]


def test_small_paired_cohort_given_genes_by_samples_is_caught(cohort):
    t = cohort.tumors.to_numpy()[:12, :150].T  # 150 genes x 12 tumors
    n = cohort.normals.to_numpy()[:12, :150].T  # 150 genes x 12 paired normals
    with pytest.raises(InputError, match="are genes in rows"):
        fit(t, n)


@pytest.mark.parametrize("named", [False, True])
@pytest.mark.parametrize("order", ["C", "F"])
def test_selected_training_rows_are_contiguous(named, order):
    """Training gathers rows of the selected matrix every step; a column-major one made each gather strided."""
    from twinpurify.data import Preprocessor

    rng = np.random.default_rng(0)
    values = np.asarray(rng.uniform(1, 10, (30, 12)).astype(np.float32), order=order)
    x = pd.DataFrame(values, columns=[f"g{j}" for j in range(12)]) if named else values
    m = as_matrix(x)
    pp = Preprocessor(input_scale="log2", n_genes=7)
    pp.fit(m)
    sel = pp.select(m)
    assert sel.flags.c_contiguous
    np.testing.assert_array_equal(sel, values[:, pp.gene_index_])
