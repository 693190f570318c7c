"""Out-of-core fitting and transforming from .h5ad files, checked against the in-memory estimator."""

import warnings

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from twinpurify import TwinPurify, load_model
from twinpurify.data import InputError, Preprocessor, as_matrix
from twinpurify.datasets import simulate_cohort
from twinpurify.ondisk import H5adWriter, Rows
from twinpurify.streaming import StreamBatches, fit_on_disk, fit_preprocessor, prefetched, transform_on_disk
from twinpurify.train import auto_schedule

FIT = dict(n_components=4, hidden_dims=(16,), projector_dims=(16, 16), n_genes=80, max_epochs=2, random_state=0)


@pytest.fixture(scope="module")
def big():
    return simulate_cohort(n_tumors=150, n_normals=20, n_genes=200, seed=5)


@pytest.fixture
def h5ad(tmp_path, big):
    path = tmp_path / "cohort.h5ad"
    big.to_anndata().write_h5ad(path)
    return path


@pytest.fixture
def tumors_h5ad(tmp_path, big):
    """The tumors alone, for fits given their normals as a separate table."""
    path = tmp_path / "tumors.h5ad"
    ad.AnnData(big.tumors.astype(np.float32)).write_h5ad(path)
    return path


def test_streamed_statistics_equal_preprocessor_fit(tmp_path, big):
    path = tmp_path / "t.h5ad"
    with H5adWriter(path, len(big.tumors), list(big.tumors.columns), chunk_rows=16) as w:
        for i in range(0, len(big.tumors), 40):
            w.write(big.tumors.to_numpy()[i : i + 40], list(big.tumors.index[i : i + 40]))
    ref = Preprocessor("auto", 50).fit(as_matrix(big.tumors), as_matrix(big.normals))
    with Rows(path) as rows:
        assert rows.n == 150 and rows.genes == list(big.tumors.columns)
        assert rows.samples(3, 5) == list(big.tumors.index[3:5])
        got = fit_preprocessor(Preprocessor("auto", 50), rows, np.arange(200), rows.genes, None, block_rows=7)
    assert got.scale_ == ref.scale_ == "counts"
    assert got.genes_ == ref.genes_
    np.testing.assert_allclose(got.mean_, ref.mean_, rtol=1e-5)
    np.testing.assert_allclose(got.std_, ref.std_, rtol=1e-4)
    assert ad.read_h5ad(path).to_df().equals(big.tumors.astype(np.float32))  # the writer makes real h5ad


def _write_h5ad(x: np.ndarray, path) -> ad.AnnData:
    """`x` (samples s0, s1, ... x genes g0, g1, ...) written as .h5ad; the AnnData returned."""
    adata = ad.AnnData(x, obs=pd.DataFrame(index=[f"s{i}" for i in range(x.shape[0])]))
    adata.var_names = [f"g{j}" for j in range(x.shape[1])]
    adata.write_h5ad(path)
    return adata


def _streamed_statistics(rows: Rows, scale: str) -> Preprocessor:
    """`fit_preprocessor` on every gene of `rows`, in blocks of 16 rows, without normals."""
    return fit_preprocessor(
        Preprocessor(scale, None), rows, np.arange(len(rows.genes)), rows.genes, None, block_rows=16
    )


def test_first_block_misleading_scale_is_read_again(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 10, size=(60, 30)).astype(np.float32)  # integers up to 9: looks like log2 values
    x[50:] = rng.integers(0, 5000, size=(10, 30))  # ... until the last rows: counts
    adata = _write_h5ad(x, tmp_path / "x.h5ad")
    with Rows(tmp_path / "x.h5ad") as rows:
        pp = _streamed_statistics(rows, "auto")
    ref = Preprocessor("auto", None).fit(as_matrix(adata))
    assert pp.scale_ == ref.scale_ == "counts"
    np.testing.assert_allclose(pp.std_, ref.std_, rtol=1e-4)


def test_a_block_the_first_guess_cannot_transform_is_judged_by_the_whole_file(tmp_path):
    """First rows of integers up to 50 look like counts; later ones hold negative values, which counts cannot:
    the whole file is log2, so the pass is read again as log2 instead of refusing "negative counts" at the
    first negative block. Told the values are counts, the same file is refused, naming the block's samples."""
    rng = np.random.default_rng(1)
    x = rng.integers(0, 51, size=(48, 20)).astype(np.float32)
    x[32:] = rng.normal(0, 2, size=(16, 20))
    adata = _write_h5ad(x, tmp_path / "x.h5ad")
    with Rows(tmp_path / "x.h5ad") as rows:
        pp = _streamed_statistics(rows, "auto")
        ref = Preprocessor("auto", None).fit(as_matrix(adata))
        assert pp.scale_ == ref.scale_ == "log2"
        np.testing.assert_allclose(pp.mean_, ref.mean_, rtol=1e-5)  # the statistics of the second pass, whole
        np.testing.assert_allclose(pp.std_, ref.std_, rtol=1e-4)
        with pytest.raises(InputError, match="s32"):
            _streamed_statistics(rows, "counts")


def test_sparse_x_and_subsets_read_the_right_rows(tmp_path, big):
    adata = big.to_anndata()
    adata.X = sp.csr_matrix(adata.X)
    adata.write_h5ad(tmp_path / "s.h5ad")
    rows = Rows(tmp_path / "s.h5ad").subset(np.array([2, 3, 7, 160]))
    np.testing.assert_array_equal(rows.read(1, 4), adata.X[[3, 7, 160]].toarray())
    assert rows.samples(0, 2) == [adata.obs_names[2], adata.obs_names[3]]
    assert list(rows.obs_column("sample_type")[[0, 169]]) == ["tumor", "normal"]


def test_fit_on_disk_then_transform_like_in_memory(tmp_path, h5ad, big):
    mem = TwinPurify(**FIT, verbose=False).fit(big.tumors, big.normals)
    model = fit_on_disk(TwinPurify(**FIT, verbose=False), h5ad, normal_key="sample_type", block_rows=32)
    assert model.genes_ == mem.genes_  # same gene choice and statistics as in memory
    np.testing.assert_allclose(model.preprocessor_.std_, mem.preprocessor_.std_, rtol=1e-4)
    assert len(model.history_) == 2 and np.isfinite(model.history_[-1]["loss"])
    assert model.stream_wait_s_ >= 0

    Z = model.transform(big.tumors)
    for name in ("emb.h5ad", "emb.parquet", "emb.csv.gz"):
        out = transform_on_disk(model, h5ad, tmp_path / name, block_rows=50)
        got = ad.read_h5ad(out).to_df() if name.endswith("h5ad") else None
        if name.endswith("parquet"):
            got = pd.read_parquet(out)
        elif got is None:
            got = pd.read_csv(out, index_col=0)
        assert got.shape == (170, 4) and list(got.columns) == list(Z.columns)
        np.testing.assert_allclose(got.loc[Z.index].to_numpy(), Z.to_numpy(), rtol=1e-4, atol=1e-5)
    model.save(tmp_path / "model")
    again = load_model(tmp_path / "model")
    np.testing.assert_allclose(again.transform(big.tumors).to_numpy(), Z.to_numpy(), rtol=1e-5, atol=1e-6)


def test_a_seeded_fit_on_disk_repeats_and_leaves_the_callers_torch_stream_alone(h5ad, big):
    """The seed initialises the weights without resetting torch's global generator (the caller's torch.rand
    repeated after a seeded fit), and the fit's parameters stay those of the fit after a set_params."""
    fit = dict(FIT, n_networks=1, max_epochs=1, verbose=False)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    a = fit_on_disk(TwinPurify(**fit), h5ad, normal_key="sample_type", block_rows=64)
    assert torch.equal(torch.rand(3), expected)
    b = fit_on_disk(TwinPurify(**fit), h5ad, normal_key="sample_type", block_rows=64)
    pd.testing.assert_frame_equal(a.transform(big.tumors), b.transform(big.tumors))
    assert a.set_params(n_components=6).transform(big.tumors).shape == (len(big.tumors), 4)


def test_fit_on_disk_fits_the_readout_fit_readout_fits_in_memory(h5ad, big):
    """The readout of an out-of-core fit (three more passes over the blocks) is the one `fit_readout` fits on the
    same model with the tumors and normals in memory: coefficients, strength and contamination directions."""
    model = fit_on_disk(TwinPurify(**FIT, verbose=False), h5ad, normal_key="sample_type", block_rows=32)
    streamed = model.readout_
    assert streamed is not None and streamed.directions is not None
    model.fit_readout(big.tumors, normal=big.normals)
    mem = model.readout_
    assert streamed.alpha == mem.alpha
    np.testing.assert_allclose(streamed.coef, mem.coef, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(streamed.intercept, mem.intercept, rtol=1e-4, atol=1e-5)
    Q1, Q2 = streamed.directions.astype(np.float64), mem.directions.astype(np.float64)
    np.testing.assert_allclose(Q1 @ Q1.T, Q2 @ Q2.T, atol=1e-4)  # the same span, whatever the signs
    model.readout_ = streamed
    assert model.purified_expression(big.tumors.iloc[:5], residual=True).shape == (5, len(model.genes_))


def test_a_refit_out_of_core_replaces_the_readout_of_an_in_memory_fit(h5ad, big):
    first = TwinPurify(**FIT, verbose=False).fit(big.tumors.iloc[:60], big.normals)
    refit = fit_on_disk(first, h5ad, normal_key="sample_type", block_rows=64)
    fresh = fit_on_disk(TwinPurify(**FIT, verbose=False), h5ad, normal_key="sample_type", block_rows=64)
    np.testing.assert_array_equal(refit.readout_.coef, fresh.readout_.coef)  # nothing of the first fit is left


def test_fit_on_disk_refuses_normals_that_are_tumors_of_the_file(h5ad, tumors_h5ad, big):
    """The cohort file holds the normals too: given again as the normals table, they would be trained on as tumors."""
    with pytest.raises(InputError, match=r"under one name\): N0001, N0002, .* \(20 in all\)"):
        fit_on_disk(TwinPurify(**FIT, verbose=False), h5ad, big.normals)
    renamed = big.normals.set_axis([f"x{i}" for i in range(len(big.normals))], axis=0)  # other names, no clash
    numbered = big.normals.iloc[:3].reset_index(drop=True)  # "0", "1", "2": not among the file's names
    fit_on_disk(TwinPurify(**FIT, verbose=False), tumors_h5ad, pd.concat([renamed, numbered]), block_rows=64)


def test_fit_on_disk_refuses_a_tumor_given_again_as_a_normal_under_another_name(tumors_h5ad, big, monkeypatch):
    """As in memory, a tumor row of the file equal to a normal row is refused whatever the two are named: the one
    pass that fits the statistics compares every block (here the copies sit in two different blocks)."""
    copies = big.tumors.iloc[[5, 70]].set_axis(["normal_a", "normal_b"], axis=0)
    import twinpurify.streaming as streaming

    monkeypatch.setattr(streaming, "StreamBatches", lambda *a, **k: pytest.fail("training was set up"))
    with pytest.raises(
        InputError,
        match=rf"{big.tumors.index[5]} \(normal normal_a\), {big.tumors.index[70]} "
        r"\(normal normal_b\) \(2 in all\)",
    ):
        fit_on_disk(TwinPurify(**FIT, verbose=False), tumors_h5ad, pd.concat([big.normals, copies]), block_rows=64)


def test_transfer_to_a_cohort_with_other_genes(tmp_path, tumors_h5ad, big):
    model = fit_on_disk(TwinPurify(**FIT, verbose=False), tumors_h5ad, big.normals.iloc[:, 10:], block_rows=64)
    assert model.n_features_in_ == 190  # the genes tumors and normals share
    other = big.to_anndata()[:, 5:].copy()  # drops 5 genes, some of them possibly the model's
    other.write_h5ad(tmp_path / "other.h5ad")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = transform_on_disk(model, tmp_path / "other.h5ad", tmp_path / "o.parquet", fill_missing="mean")
        ref = model.transform(other.to_df(), fill_missing="mean")
    np.testing.assert_allclose(pd.read_parquet(out).to_numpy(), ref.to_numpy(), rtol=1e-4, atol=1e-5)


def test_fit_on_disk_pca_front_equals_the_in_memory_front(tmp_path, h5ad, big):
    """encoder_input='pca' out of core: the covariance summed over blocks gives the in-memory front."""
    model = fit_on_disk(
        TwinPurify(**FIT, encoder_input="pca", verbose=False), h5ad, normal_key="sample_type", block_rows=32
    )
    mem = TwinPurify(**FIT, encoder_input="pca", verbose=False).fit(big.tumors, big.normals)
    got, ref = model.module_.encoder[0], mem.module_.encoder[0]
    assert got.weight.shape == (FIT["n_components"] + model.drop_mixing_dims, FIT["n_genes"])
    last = model.module_.output  # the last mixing step, from one more pass over the file
    trained = (FIT["n_components"] + 2) * model.n_networks  # every member's dimensions side by side
    assert last is not None and tuple(last.weight.shape) == (FIT["n_components"], trained)
    assert torch.isfinite(last.weight).all() and last.weight.abs().sum() > 0
    from twinpurify.data import as_matrix

    Xs = torch.from_numpy(model.preprocessor_.transform(as_matrix(big.tumors, "tumor"), "X", "error"))
    with torch.no_grad():  # transform goes through the streamed layer
        expected = (model.module_.encoder.eval()(Xs) - last.center) @ last.weight.T
    np.testing.assert_allclose(model.transform(big.tumors).to_numpy(), expected.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got.weight.numpy(), ref.weight.numpy(), atol=1e-4)
    np.testing.assert_allclose(got.center.numpy(), ref.center.numpy(), atol=1e-5)
    model.save(tmp_path / "model")
    again = load_model(tmp_path / "model")
    pd.testing.assert_frame_equal(again.transform(big.tumors), model.transform(big.tumors))


def test_out_of_core_refuses_what_it_cannot_do(h5ad, tumors_h5ad, big, monkeypatch):
    with pytest.raises(InputError, match="content_weight"):
        fit_on_disk(TwinPurify(**FIT, content_weight=1.0, n_networks=1), tumors_h5ad, big.normals)
    with pytest.raises(InputError, match="encoder_input='invariant'"):
        fit_on_disk(TwinPurify(**FIT, encoder_input="invariant"), tumors_h5ad, big.normals)
    import twinpurify.streaming as streaming

    monkeypatch.setattr(streaming, "MAX_GRAM_GENES", 50)
    monkeypatch.setattr(streaming, "fit_preprocessor", lambda *a, **k: pytest.fail("the file was scanned first"))
    with pytest.raises(InputError, match="at most 50 genes; this fit would select 80: set n_genes"):
        fit_on_disk(TwinPurify(**FIT, encoder_input="pca"), tumors_h5ad, big.normals)
    with pytest.raises(InputError, match="normal_key"):
        fit_on_disk(TwinPurify(**FIT), tumors_h5ad)
    with pytest.raises(InputError, match=r"no sample has sample_type == 'adjacent' \(values present: tumor, normal"):
        fit_on_disk(TwinPurify(**FIT), h5ad, normal_key="sample_type", normal_value="adjacent")


def test_fit_on_disk_refuses_normals_given_twice(h5ad, big, monkeypatch):
    """Normals given as a table and through normal_key, as `fit` refuses them (before: the key ignored, the file's own
    normals trained on as tumors)."""
    import twinpurify.streaming as streaming

    monkeypatch.setattr(streaming, "fit_preprocessor", lambda *a, **k: pytest.fail("the file was scanned"))
    with pytest.raises(InputError, match="give the normals either as `normal` or through `normal_key`, not both"):
        fit_on_disk(TwinPurify(**FIT), h5ad, big.normals, normal_key="sample_type")


def test_bad_block_arguments_are_named(tmp_path, h5ad, big, monkeypatch, capsys):
    """Before: block_rows=0 a range() traceback, block_rows=-5 a misleading message about the scale, window_blocks=0
    an empty AssertionError; --block-rows 0 / -5 on the command line the same."""
    import twinpurify.streaming as streaming
    from twinpurify.cli import main
    from twinpurify.params import ParameterError

    monkeypatch.setattr(streaming, "fit_preprocessor", lambda *a, **k: pytest.fail("the file was scanned"))
    bad = [("block_rows", 0), ("block_rows", -5), ("block_rows", 2.5), ("block_rows", True), ("window_blocks", 0)]
    bad += [("window_blocks", -1), ("prefetch", 0), ("prefetch", "4")]
    for key, value in bad:
        with pytest.raises(ParameterError, match=rf"{key} must be a positive whole number, got {value!r}"):
            fit_on_disk(TwinPurify(**FIT), h5ad, normal_key="sample_type", **{key: value})
    for value in (0, -5, 2.5):
        with pytest.raises(ParameterError, match=rf"block_rows must be a positive whole number, got {value!r}"):
            transform_on_disk(TwinPurify(**FIT), h5ad, tmp_path / "e.csv", block_rows=value)
    assert not (tmp_path / "e.csv").exists()
    for value in ("0", "-5", "x"):
        for command in (["fit", "--input", str(h5ad)], ["transform", "--input", str(h5ad), "--output", "e.csv"]):
            with pytest.raises(SystemExit) as exited:
                main([*command, "--model", str(tmp_path / "m"), "--out-of-core", "--block-rows", value, "--quiet"])
            assert exited.value.code == 2
            assert f"argument --block-rows: expected a positive whole number, got {value!r}" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_fit_on_disk_names_the_samples_without_a_label(tmp_path, big):
    """Missing labels in an on-disk cohort's obs column are refused naming the column, how many and which samples,
    as in memory (test_data.py, test_io.py); before: "obs['sample_type'] is missing for some samples"."""
    adata = big.to_anndata()
    adata.obs["sample_type"] = adata.obs["sample_type"].astype(object)
    adata.obs.iloc[[3, 7], adata.obs.columns.get_loc("sample_type")] = None
    adata.write_h5ad(tmp_path / "c.h5ad")
    table = pd.concat([big.tumors, big.normals]).astype(np.float32)
    table.insert(0, "sample_type", adata.obs["sample_type"].to_numpy())
    table.to_parquet(tmp_path / "c.parquet", row_group_size=32)
    for path in (tmp_path / "c.h5ad", tmp_path / "c.parquet"):
        with pytest.raises(
            InputError, match=rf"{path.name}: column 'sample_type' is missing for 2 samples \(T0004, T0008\); label"
        ):
            fit_on_disk(TwinPurify(**FIT), path, normal_key="sample_type")


def test_nullable_boolean_and_integer_obs_columns_read_out_of_core_as_in_memory(tmp_path, big):
    """anndata writes pandas' nullable boolean and Int64 columns as groups of values and mask; before, reading one
    out of core raised h5py's TypeError (in memory they worked)."""
    normal = (big.to_anndata().obs["sample_type"] == "normal").to_numpy()
    for dtype, value in (("boolean", True), ("Int64", 1)):
        adata = big.to_anndata()
        adata.obs["is_normal"] = pd.array(normal, dtype="boolean").astype(dtype)
        adata.write_h5ad(tmp_path / f"{dtype}.h5ad")
        with Rows(tmp_path / f"{dtype}.h5ad") as rows:
            assert list(rows.obs_column("is_normal")) == [str(value if v else type(value)(0)) for v in normal]
        model = fit_on_disk(TwinPurify(**FIT), tmp_path / f"{dtype}.h5ad", normal_key="is_normal", normal_value=value)
        ref = TwinPurify(**FIT).fit(adata, normal_key="is_normal", normal_value=value)
        np.testing.assert_allclose(model.preprocessor_.mean_, ref.preprocessor_.mean_, rtol=1e-4)
        adata.obs.iloc[[3, 7], adata.obs.columns.get_loc("is_normal")] = pd.NA  # a missing label, as in memory
        adata.write_h5ad(tmp_path / f"{dtype}_na.h5ad")
        with pytest.raises(InputError, match=r"column 'is_normal' is missing for 2 samples \(T0004, T0008\)"):
            fit_on_disk(TwinPurify(**FIT), tmp_path / f"{dtype}_na.h5ad", normal_key="is_normal", normal_value=value)


class _Counter:
    """`n` rows whose single value is the row number."""

    genes = ["g"]

    def __init__(self, n: int = 1000):
        self.n = n

    def read(self, start, stop):
        return np.arange(start, stop, dtype=np.float32)[:, None]


def _batches(rows, sched, ranks=None, **kw):
    """StreamBatches over `rows` as they are read (no preparation), seed 3, on the CPU."""
    return StreamBatches(rows, lambda v, a, b: v, sched, seed=3, device=torch.device("cpu"), ranks=ranks, **kw)


@pytest.mark.parametrize(
    "n, batch_size, block_rows, window_blocks",
    [
        (1000, 100, 64, 4),  # many blocks, whole batches
        (60, "auto", 2048, 4),  # one block (fewer than a window): before, the window listed it 4 times
        (1000, "auto", 2048, 4),  # one block, 1000 % 256 = 232 rows in a last, short batch
        (1000, "auto", 64, 4),  # 16 blocks, the last of 40 rows, and a short last batch
        (5000, "auto", 2048, 4),  # 3 blocks; before, 11% of the rows unseen an epoch
        (257, "auto", 2048, 4),  # a lone leftover row: in the last batch (in memory it is skipped)
        (1000, "auto", 100, 3),  # a window of 3 blocks of 100 rows: batches span windows
    ],
)
def test_stream_batches_visit_every_row_once_per_epoch(n, batch_size, block_rows, window_blocks):
    """One pass over the tumors an epoch, as in memory: every row once, none repeated, fresh orders."""
    sched = auto_schedule(n, batch_size, 2)
    sb = _batches(_Counter(n), sched, block_rows=block_rows, window_blocks=window_blocks)
    seen = []
    for _ in range(2):
        batches = list(sb.epoch())
        assert len(batches) == sched.steps_per_epoch
        sizes = [len(b) for b in batches]
        assert sizes[:-1] == [sched.batch_size] * (len(sizes) - 1)
        assert sizes[-1] == n - (len(sizes) - 1) * sched.batch_size >= 2  # the rows left, as many as in memory
        seen.append(torch.cat(batches).flatten())
        assert sorted(seen[-1].tolist()) == list(range(n))
    assert not torch.equal(seen[0], seen[1])  # a fresh order each epoch
    assert sb.wait_s > 0


@pytest.mark.parametrize(
    "n, world, batch_size, block_rows",
    [
        (1001, 2, "auto", 2048),
        (60, 2, "auto", 2048),
        (5000, 3, "auto", 2048),
        (70, 4, "auto", 2048),
        (20000, 2, "auto", 2048),
        (10, 3, 3, 2048),  # blocks of 1 and 2 rows dealt at random: before, one rank's share fell short, a 0-row batch
        (6, 2, 2, 2),  # blocks of 1 and 2 rows: likewise
        (51082, 6, "auto", 2048),  # 256 % 6 = 4 rows a step unused: before, piled into a last batch of 155 rows
        (1000, 3, 100, 64),
    ],
)
def test_stream_batches_of_several_ranks_take_as_many_rows_each_step_and_none_twice(n, world, batch_size, block_rows):
    """Each rank yields the same number of batches of the same size at each step (the global batch's contract),
    none empty and the last no larger than memory's last global batch split among the ranks, reads each of its
    blocks at most once, and leaves out at most the rows the docstring says: the ``batch_size % world_size``
    rows a step the global batch cannot split, spread over the ranks, and a row where shares differ (before,
    1001 rows on 2 ranks made blocks of 500, 500 and 1 row, and the rank dealt the 1-row block repeated it 128
    times a batch; blocks dealt at random left one rank's share short of the steps, and batch_size % world_size
    rows a step swelled the last batch)."""
    import math

    from twinpurify.distributed import Ranks

    sched = auto_schedule(n, batch_size, 2, world_size=world)
    steps, bs = sched.steps_per_epoch, sched.batch_size
    share = bs // world
    for epoch in range(3):
        per_rank = []
        for r in range(world):
            sb = _batches(_Counter(n), sched, Ranks(r, world), block_rows=block_rows)
            sb.epochs_done = epoch
            per_rank.append([b.flatten() for b in sb.epoch()])
        sizes = {tuple(len(b) for b in batches) for batches in per_rank}
        assert len(sizes) == 1  # alike on every rank
        mine = next(iter(sizes))
        assert len(mine) == steps and min(mine) >= 1
        assert mine[:-1] == (share,) * (steps - 1)
        assert mine[-1] <= max(1, (n - (steps - 1) * bs) // world)  # no more than memory's last batch, split
        if batch_size != "auto" or n == 51082:
            assert mine[-1] <= share
        rows = torch.cat([torch.cat(batches) for batches in per_rank]).long()
        assert len(torch.unique(rows)) == len(rows)  # no row twice in an epoch, on any rank
        # each rank holds n // world rows or one more, and leaves out at most the docstring's bound of them
        assert -(-n // world) - sum(mine) <= math.ceil((steps - 1) * (bs % world) / world) + 1


def test_stream_batches_stop_reading_once_the_epochs_batches_are_out():
    """13 rows a global batch on 7 ranks use 7 of them a step: a rank's batches take 54 of its 100 rows, read in
    6 blocks of 10; the 4 blocks left are not read into a growing carry (before: all read, 46 rows carried)."""
    from twinpurify.distributed import Ranks

    class Reads(_Counter):
        def read(self, start, stop):
            self.rows_read = getattr(self, "rows_read", 0) + stop - start
            return super().read(start, stop)

    sched = auto_schedule(700, 13, 1, world_size=7)
    rows = Reads(700)
    sb = StreamBatches(
        rows, lambda v, a, b: v, sched, 0, torch.device("cpu"), Ranks(2, 7), block_rows=10, window_blocks=1
    )
    sizes = [len(b) for b in sb.epoch()]
    assert sizes == [1] * 54 and rows.rows_read == 60


def test_stream_batches_refuse_a_schedule_the_ranks_cannot_give_a_row_each_step():
    """A schedule not from auto_schedule, with more steps than a rank's rows, is refused naming batch_size and
    world_size (before: batches of 0 rows)."""
    from twinpurify.distributed import Ranks
    from twinpurify.train import Schedule

    with pytest.raises(ValueError, match=r"batch_size=4, world_size=2: 5 steps"):
        StreamBatches(_Counter(6), lambda v, a, b: v, Schedule(4, 1, 5), 0, torch.device("cpu"), Ranks(0, 2))


def test_prefetch_raises_the_producers_error_and_stops_early():
    def broken():
        yield 1
        raise ValueError("disk on fire")

    it = prefetched(broken(), 2)
    assert next(it) == 1
    with pytest.raises(ValueError, match="on fire"):
        next(it)
    first = next(prefetched(iter(range(10**9)), 2))  # leaving early ends the thread
    assert first == 0


def test_cli_out_of_core_fit_and_transform(tmp_path, h5ad, big):
    from twinpurify.cli import main

    big.normals.to_csv(tmp_path / "normals.csv")
    fit = ["fit", "--input", str(h5ad), "--out-of-core", "--block-rows", "40", "--model", str(tmp_path / "m")]
    fit += ["--embedding", str(tmp_path / "e.h5ad"), "--n-components", "4", "--epochs", "2", "--quiet"]
    assert main(fit) == 0
    model = load_model(tmp_path / "m")
    emb = ad.read_h5ad(tmp_path / "e.h5ad").to_df()
    assert list(emb.index) == list(big.tumors.index)  # the tumors only, as in memory (before: normals too)
    Z = model.transform(big.tumors)
    np.testing.assert_allclose(emb.to_numpy(), Z.to_numpy(), rtol=1e-4, atol=1e-5)
    out = tmp_path / "t.tsv"
    assert (
        main(
            ["transform", "--model", str(tmp_path / "m"), "--input", str(h5ad), "--output", str(out)]
            + ["--out-of-core", "--quiet"]
        )
        == 0
    )
    every = pd.read_csv(out, sep="\t", index_col=0)  # transform embeds every sample of its input
    assert len(every) == 170
    np.testing.assert_allclose(every.loc[emb.index].to_numpy(), emb.to_numpy(), rtol=1e-5, atol=1e-6)
    assert main(["fit", "--tumor", str(h5ad), "--out-of-core", "--model", str(tmp_path / "m2"), "--quiet"]) == 2


def test_cli_out_of_core_refuses_the_flags_it_cannot_honour(tmp_path, h5ad, tumors_h5ad, big, capsys):
    """Before, --samples (even a missing file) and --genes-as-rows were ignored with --out-of-core: the sheet's labels
    unused, a genes x samples normals table read as samples x genes. --genes-as-rows now reads the --normal table
    (held in memory) as it does in memory; the on-disk input is samples x genes, so with --input alone it is refused."""
    from twinpurify.cli import main

    big.normals.T.to_csv(tmp_path / "normals_t.csv")
    fast = ["--n-components", "4", "--epochs", "2", "--quiet"]
    ooc = ["--out-of-core", "--block-rows", "40", *fast]
    m = str(tmp_path / "m")
    for args, match in [
        (
            ["--input", str(h5ad), "--samples", str(tmp_path / "nope.csv")],
            "--samples cannot be used with --out-of-core",
        ),
        (["--input", str(h5ad), "--genes-as-rows"], "--genes-as-rows with --out-of-core reads the --normal table"),
    ]:
        assert main(["fit", *args, "--model", m, *ooc]) == 2, args
        assert match in capsys.readouterr().err
        assert not (tmp_path / "m").exists()
    args = ["--tumor", str(tumors_h5ad), "--normal", str(tmp_path / "normals_t.csv"), "--genes-as-rows"]
    assert main(["fit", *args, "--model", m, *ooc]) == 0
    assert load_model(m).n_features_in_ == big.tumors.shape[1]
    transform = ["transform", "--model", m, "--input", str(h5ad), "--output", str(tmp_path / "e.csv"), "--out-of-core"]
    assert main([*transform, "--genes-as-rows", "--quiet"]) == 2
    assert "--genes-as-rows cannot be used with transform --out-of-core" in capsys.readouterr().err
    assert not (tmp_path / "e.csv").exists()


@pytest.mark.filterwarnings("ignore:Writing zarr v2 data")
def test_zarr_store_reads_and_fits_like_h5ad(tmp_path, h5ad, big):
    adata = big.to_anndata()
    adata.write_zarr(tmp_path / "cohort.zarr")
    with Rows(tmp_path / "cohort.zarr") as z, Rows(h5ad) as h:
        assert z.n == h.n and z.genes == h.genes and z.samples(5, 9) == h.samples(5, 9)
        np.testing.assert_array_equal(z.read(100, 165), h.read(100, 165))
        assert list(z.obs_column("sample_type")) == list(h.obs_column("sample_type"))
    fz = fit_on_disk(TwinPurify(**FIT, verbose=False), tmp_path / "cohort.zarr", normal_key="sample_type")
    fh = fit_on_disk(TwinPurify(**FIT, verbose=False), h5ad, normal_key="sample_type")
    assert fz.history_ == fh.history_  # same rows in the same blocks: the same fit
    out = transform_on_disk(fz, tmp_path / "cohort.zarr", tmp_path / "z.parquet")
    np.testing.assert_allclose(
        pd.read_parquet(out).loc[big.tumors.index], fz.transform(big.tumors), rtol=1e-4, atol=1e-5
    )


@pytest.fixture
def parquet(tmp_path, big):
    """The same cohort as `h5ad`, as a samples-in-rows .parquet table in row groups of 32 samples."""
    X = pd.concat([big.tumors, big.normals]).astype(np.float32)
    X.insert(0, "sample_type", ["tumor"] * len(big.tumors) + ["normal"] * len(big.normals))
    path = tmp_path / "cohort.parquet"
    X.to_parquet(path, row_group_size=32)
    return path


def test_parquet_table_reads_and_fits_like_h5ad(tmp_path, parquet, h5ad, big):
    from twinpurify.io import read_table
    from twinpurify.ondisk import ParquetRows, open_rows

    with open_rows(parquet) as p, Rows(h5ad) as h:
        assert isinstance(p, ParquetRows)
        assert p.n == h.n and p.genes == h.genes and p.samples(5, 9) == h.samples(5, 9)
        np.testing.assert_array_equal(p.read(20, 101), h.read(20, 101))  # spans four row groups
        np.testing.assert_array_equal(p.read(33, 34), h.read(33, 34))
        assert list(p.obs_column("sample_type")) == list(h.obs_column("sample_type"))
        # in memory too, the stored index names the samples, not the first text column (was: 'tumor', 'normal')
        table = read_table(parquet)
        assert list(table.index) == list(big.tumors.index) + list(big.normals.index) == p.samples(0, p.n)
        assert list(table.columns[1:]) == list(big.tumors.columns) and table.columns[0] == "sample_type"
        sub = p.subset(np.array([3, 40, 41, 150]))
        assert sub.samples(0, 4) == [h.samples(i, i + 1)[0] for i in (3, 40, 41, 150)]
        np.testing.assert_array_equal(sub.read(1, 4), h.read(0, 170)[[40, 41, 150]])
    fp = fit_on_disk(TwinPurify(**FIT, verbose=False), parquet, normal_key="sample_type")
    fh = fit_on_disk(TwinPurify(**FIT, verbose=False), h5ad, normal_key="sample_type")
    assert fp.history_ == fh.history_  # same rows in the same blocks: the same fit
    out = transform_on_disk(fp, parquet, tmp_path / "p.tsv")
    np.testing.assert_allclose(
        pd.read_csv(out, sep="\t", index_col=0).loc[big.tumors.index], fp.transform(big.tumors), rtol=1e-4, atol=1e-5
    )


def test_parquet_errors_name_the_file_and_the_fix(tmp_path, parquet, monkeypatch):
    import twinpurify.ondisk as ondisk
    from twinpurify.ondisk import ParquetRows, open_rows

    monkeypatch.setattr(ondisk, "MAX_GROUP_VALUES", 32 * 200 - 1)  # one row group of 32 x 200 is one too many
    with pytest.raises(InputError, match=r"cohort.parquet: row groups of up to 32 rows x 200 genes.*row_group_size="):
        ParquetRows(parquet)
    monkeypatch.undo()
    with pytest.raises(InputError, match="no layers"):
        open_rows(parquet, layer="counts")
    with ParquetRows(parquet) as p, pytest.raises(InputError, match="no annotation column 'kind'.*sample_type"):
        p.obs_column("kind")
    pd.DataFrame({"name": ["a", "b"], "kind": ["x", "y"]}).to_parquet(tmp_path / "text.parquet")
    with pytest.raises(InputError, match="text.parquet: no numeric columns"):
        ParquetRows(tmp_path / "text.parquet")
    (tmp_path / "broken.parquet").write_text("not parquet")
    with pytest.raises(InputError, match="broken.parquet: not a readable .parquet file"):
        ParquetRows(tmp_path / "broken.parquet")
    with pytest.raises(InputError, match="out-of-core input must be"):
        fit_on_disk(TwinPurify(**FIT), tmp_path / "cohort.feather", normal_key="sample_type")


def test_parquet_without_a_stored_index_names_samples_by_row(tmp_path, big):
    from twinpurify.io import read_table
    from twinpurify.ondisk import ParquetRows, open_rows

    big.tumors.iloc[:10].reset_index(drop=True).to_parquet(tmp_path / "t.parquet", row_group_size=4)
    with ParquetRows(tmp_path / "t.parquet") as p:
        assert p.samples(2, 6) == ["2", "3", "4", "5"]
        np.testing.assert_array_equal(p.read(0, 10), big.tumors.iloc[:10].to_numpy(np.float32))
    # a first non-numeric column names the rows, as read_table does for a table in memory (.pq too)
    named = big.tumors.iloc[:10].rename_axis("sample").reset_index()
    named.insert(1, "batch", "b1")
    named.to_parquet(tmp_path / "n.pq", index=False, row_group_size=4)
    with open_rows(tmp_path / "n.pq") as p:
        assert isinstance(p, ParquetRows)
        assert p.samples(2, 6) == list(read_table(tmp_path / "n.pq").index[2:6]) == list(big.tumors.index[2:6])
        assert p.genes == list(big.tumors.columns) and list(p.obs_column("batch")) == ["b1"] * 10
    # a label column first and no stored index: the labels would name the samples; refused, not merged
    named.drop(columns="sample").assign(batch=["b1", "b2"] * 5)[["batch", *big.tumors.columns]].to_parquet(
        tmp_path / "dup.parquet", index=False
    )
    with pytest.raises(InputError, match="dup.parquet: duplicated sample names b1, b2"):
        read_table(tmp_path / "dup.parquet")


def test_parquet_with_an_integer_id_column_and_no_index_is_refused_like_csv(tmp_path, big):
    from twinpurify.io import read_table
    from twinpurify.ondisk import ParquetRows

    t = big.tumors.iloc[:10].copy()
    t.insert(0, "patient_id", np.arange(100000, 100010))  # an integer sample ID, written without the index
    t.to_parquet(tmp_path / "t.parquet", index=False)
    t.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(InputError, match="t.csv: the first column holds numbers"):
        read_table(tmp_path / "t.csv")
    msg = r"t.parquet: the samples are not named.*'patient_id' holds distinct numbers \(100000, 100001, ...\).*index"
    with pytest.raises(InputError, match=msg):
        read_table(tmp_path / "t.parquet")
    with pytest.raises(InputError, match=msg):
        ParquetRows(tmp_path / "t.parquet")
    with pytest.raises(InputError, match=msg):
        fit_on_disk(TwinPurify(**FIT), tmp_path / "t.parquet", big.normals)
    # the ID as the stored index, or row numbers in the first column, still read
    t.set_index("patient_id").to_parquet(tmp_path / "i.parquet")
    assert list(read_table(tmp_path / "i.parquet").columns) == list(big.tumors.columns)
    with ParquetRows(tmp_path / "i.parquet") as p:
        assert p.genes == list(big.tumors.columns) and p.samples(0, 2) == ["100000", "100001"]
    t.assign(patient_id=np.arange(10)).to_parquet(tmp_path / "r.parquet", index=False)
    assert read_table(tmp_path / "r.parquet").shape == (10, 201)
    with ParquetRows(tmp_path / "r.parquet") as p:
        assert len(p.genes) == 201
    # a numeric table written with index=False (pyarrow, polars, R arrow): rows by number, every column a gene
    big.tumors.iloc[:10].to_parquet(tmp_path / "g.parquet", index=False)
    assert list(read_table(tmp_path / "g.parquet").columns) == list(big.tumors.columns)
    with ParquetRows(tmp_path / "g.parquet") as p:
        assert p.genes == list(big.tumors.columns) and p.samples(0, 2) == ["0", "1"]
    # nor is a gene whose symbol starts like an ID (ID1), nor an ID-named column of repeated values
    t.rename(columns={"patient_id": "ID1"}).to_parquet(tmp_path / "id1.parquet", index=False)
    assert read_table(tmp_path / "id1.parquet").columns[0] == "ID1"
    t.assign(patient_id=np.repeat([5, 9], 5)).to_parquet(tmp_path / "rep.parquet", index=False)
    assert read_table(tmp_path / "rep.parquet").shape == (10, 201)
    for other in ("SampleID", "sample id", "barcode", "id"):
        t.rename(columns={"patient_id": other}).to_parquet(tmp_path / "o.parquet", index=False)
        with pytest.raises(InputError, match="are not named"):
            read_table(tmp_path / "o.parquet")


def test_on_disk_cohorts_with_repeated_gene_names_are_refused_naming_them(tmp_path, big):
    import pyarrow as pa
    import pyarrow.parquet as pq
    from twinpurify.ondisk import ParquetRows

    t = big.tumors.iloc[:20].astype(np.float32)
    genes = list(t.columns)
    genes[5] = genes[4]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # anndata warns of the repeated var names
        ad.AnnData(t.set_axis(genes, axis=1)).write_h5ad(tmp_path / "dup.h5ad")
    msg = f"duplicate gene names: {genes[4]}; gene names must be unique"
    with pytest.raises(InputError, match=msg):
        TwinPurify(**FIT).fit(t.set_axis(genes, axis=1), big.normals)  # the in-memory message
    msg = "dup.h5ad: " + msg
    with pytest.raises(InputError, match=msg):
        Rows(tmp_path / "dup.h5ad")
    with pytest.raises(InputError, match=msg):
        fit_on_disk(TwinPurify(**FIT), tmp_path / "dup.h5ad", big.normals)
    columns = [pa.array(list(t.index))] + [pa.array(t.iloc[:, j].to_numpy()) for j in range(t.shape[1])]
    pq.write_table(pa.table(columns, names=["sample", *genes]), tmp_path / "dup.parquet")
    with pytest.raises(InputError, match=f"dup.parquet: duplicate gene names: {genes[4]}"):
        ParquetRows(tmp_path / "dup.parquet")


def test_cli_out_of_core_reads_parquet(tmp_path, parquet):
    from twinpurify.cli import main

    fit = ["fit", "--input", str(parquet), "--out-of-core", "--block-rows", "40", "--model", str(tmp_path / "m")]
    assert main(fit + ["--n-components", "4", "--epochs", "2", "--quiet"]) == 0
    out = tmp_path / "e.tsv"
    argv = ["transform", "--model", str(tmp_path / "m"), "--input", str(parquet), "--output", str(out)]
    assert main(argv + ["--out-of-core", "--quiet"]) == 0
    emb = pd.read_csv(out, sep="\t", index_col=0)
    assert emb.shape == (170, 4) and emb.index[0] == "T0001"


def test_transform_on_disk_never_replaces_its_input_or_an_unasked_file(tmp_path, h5ad, parquet):
    model = fit_on_disk(TwinPurify(**FIT, verbose=False), h5ad, normal_key="sample_type")
    before = {p: p.read_bytes() for p in (h5ad, parquet)}
    for src in (h5ad, parquet):
        with pytest.raises(InputError, match="would replace the input it is read from"):
            transform_on_disk(model, src, src, overwrite=True)
    with Rows(h5ad) as opened, pytest.raises(InputError, match="would replace the input"):
        transform_on_disk(model, opened, h5ad, overwrite=True)
    mine = tmp_path / "mine.tsv"
    mine.write_text("a user's file\n")
    with pytest.raises(FileExistsError, match="mine.tsv exists; pass overwrite=True"):
        transform_on_disk(model, h5ad, mine)
    assert mine.read_text() == "a user's file\n"
    assert all(p.read_bytes() == b for p, b in before.items())
    out = transform_on_disk(model, h5ad, mine, overwrite=True)  # asked for: replaced
    assert pd.read_csv(out, sep="\t", index_col=0).shape == (170, 4)
    with Rows(h5ad) as opened:  # a caller's open source is left open
        transform_on_disk(model, opened, tmp_path / "again.tsv")
        assert opened.read(0, 1).shape == (1, 200)


def test_transform_on_disk_refuses_repeated_sample_names(tmp_path, h5ad, big):
    model = fit_on_disk(TwinPurify(**FIT, verbose=False), h5ad, normal_key="sample_type")
    X = big.tumors.iloc[:60].astype(np.float32)
    X.index = [f"s{i % 50}" for i in range(60)]  # s0..s9 repeat, in a later block than their first use
    X.to_parquet(tmp_path / "dup.parquet", row_group_size=16)
    out = tmp_path / "emb.tsv"
    with pytest.raises(
        InputError, match=r"dup.parquet: duplicate sample names: s0, s1, s2.*sample names must be unique"
    ):
        transform_on_disk(model, tmp_path / "dup.parquet", out, block_rows=32)
    assert not out.exists() and list(tmp_path.glob("*emb*")) == []  # no output, no partial file
    with pytest.raises(InputError, match="duplicate sample names: s0"):  # repeats inside one block too
        transform_on_disk(model, tmp_path / "dup.parquet", out, block_rows=4096)


def test_fit_on_disk_refuses_repeated_sample_names_before_any_pass(tmp_path, big, monkeypatch, capsys):
    """As in memory: before, an out-of-core fit trained and saved on a file repeating a sample name, and only the
    embedding of `fit --out-of-core --embedding` then failed on it (exit 2 after the model was written)."""
    import twinpurify.streaming as streaming
    from twinpurify.cli import main

    adata = big.to_anndata()
    adata.obs_names = [*adata.obs_names[:100], adata.obs_names[3], *adata.obs_names[101:]]  # in another block
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # anndata warns about the names it writes
        adata.write_h5ad(tmp_path / "dup.h5ad")
    table = pd.concat([big.tumors, big.normals]).astype(np.float32).set_axis(adata.obs_names, axis=0)
    table.insert(0, "sample_type", adata.obs["sample_type"].astype(str).to_numpy())
    table.to_parquet(tmp_path / "dup.parquet", row_group_size=32)
    args = ["fit", "--input", str(tmp_path / "dup.h5ad"), "--out-of-core", "--block-rows", "32", "--model"]
    args += [str(tmp_path / "m"), "--embedding", str(tmp_path / "e.csv"), "--epochs", "2", "--quiet"]
    with monkeypatch.context() as patched:
        patched.setattr(streaming, "fit_preprocessor", lambda *a, **k: pytest.fail("the file was scanned"))
        for path in (tmp_path / "dup.h5ad", tmp_path / "dup.parquet"):
            with pytest.raises(InputError, match=rf"{path.name}: duplicate sample names: T0004; sample names must"):
                fit_on_disk(TwinPurify(**FIT), path, normal_key="sample_type", block_rows=32)
        assert main(args) == 2
    assert "duplicate sample names: T0004" in capsys.readouterr().err
    assert not (tmp_path / "m").exists() and not (tmp_path / "e.csv").exists()


def test_h5ad_writer_does_not_replace_an_existing_file(tmp_path):
    mine = tmp_path / "mine.h5ad"
    mine.write_bytes(b"a user's file")
    with pytest.raises(FileExistsError, match="mine.h5ad exists; pass overwrite=True"):
        H5adWriter(mine, 2, ["a", "b"])
    assert mine.read_bytes() == b"a user's file"
    with H5adWriter(mine, 1, ["a", "b"], overwrite=True) as w:
        w.write(np.ones((1, 2), np.float32), ["s1"])
    with Rows(mine) as r:
        assert r.samples(0, 1) == ["s1"] and r.genes == ["a", "b"]


def test_a_failed_pass_after_training_leaves_the_model_unfitted(h5ad, big, monkeypatch):
    from sklearn.exceptions import NotFittedError
    from twinpurify import rotation

    def broken(self, keep, shrinkage=0.1, blocks=1):
        raise OSError("simulated read error")

    monkeypatch.setattr(rotation.MixingMoments, "solve", broken)
    model = TwinPurify(**FIT, verbose=False)
    with pytest.raises(OSError, match="simulated"):
        fit_on_disk(model, h5ad, normal_key="sample_type", block_rows=32)
    with pytest.raises(NotFittedError):
        model.transform(big.tumors)


@pytest.mark.parametrize("problem", ["refused data", "unavailable device", "no such file"])
def test_a_failed_refit_on_disk_forgets_the_earlier_fit(tmp_path, big, problem):
    """Failures before training (a file that is not there, data refused in the statistics pass, a device this
    machine lacks) leave no half of the new fit beside the old network: the estimator is unfitted, as after a
    failed in-memory fit."""
    from sklearn.exceptions import NotFittedError

    model = TwinPurify(**{**FIT, "n_genes": 60}, n_networks=1, verbose=False).fit(big.tumors, big.normals)
    tumors = big.tumors.astype(np.float32)
    path = tmp_path / "tumors.h5ad"
    expected: tuple[type[BaseException], str] = (InputError, "missing or infinite values")
    if problem == "refused data":
        tumors.iloc[3, 5] = np.nan
    elif problem == "unavailable device":
        model.set_params(n_genes=40, device="cuda:99")
        expected = (RuntimeError, "cuda:99")
    else:
        path, expected = tmp_path / "absent.h5ad", (InputError, "absent.h5ad: no such file")
    ad.AnnData(tumors).write_h5ad(tmp_path / "tumors.h5ad")
    with pytest.raises(expected[0], match=expected[1]):
        fit_on_disk(model, path, big.normals, block_rows=32)
    assert not [k for k in vars(model) if k.endswith("_")]
    with pytest.raises(NotFittedError):
        model.transform(big.tumors)


def test_fit_on_disk_leaves_a_source_the_caller_opened_open(tumors_h5ad, big):
    """Like transform_on_disk: the caller opened it, the caller closes it (a fit used to close it)."""
    with Rows(tumors_h5ad) as rows:
        fit_on_disk(TwinPurify(**FIT, n_networks=1, verbose=False), rows, big.normals, block_rows=32)
        assert rows.read(0, 2).shape == (2, big.tumors.shape[1])


def test_fit_on_disk_judges_shared_genes_and_count_like_values_as_in_memory(tmp_path, big):
    """Tumors and normals sharing under half of the smaller gene set are refused, and non-integer counts detected as
    linear warn, as `fit` does in memory (test_data.py)."""
    expected = big.tumors.astype(np.float32)
    expected.iloc[:, ::4] += 0.37  # RSEM-like expected counts: mostly whole numbers
    ad.AnnData(expected).write_h5ad(tmp_path / "expected.h5ad")
    versioned = big.normals.rename(columns=lambda g: g if g < "G0091" else g + ".1")  # another gene-ID system
    with pytest.raises(InputError, match=r"share only 90 of the tumors' 200 genes \(110 tumor-only \(e.g. G0091"):
        fit_on_disk(TwinPurify(**FIT), tmp_path / "expected.h5ad", versioned)
    with pytest.warns(UserWarning, match="taken as linear .* whole numbers"):
        fit_on_disk(TwinPurify(**FIT, verbose=False), tmp_path / "expected.h5ad", big.normals + 0.5)


def test_in_memory_and_on_disk_fits_judge_mismatched_gene_ids_alike(tumors_h5ad, big):
    """`fit` and `fit_on_disk` refuse, or warn about, the same normals with the same message: no gene shared,
    under half of the smaller set shared (another ID system), more than a tenth of the tumors' genes dropped
    (`data.match_genes` judges both). The warned normals are one sample, refused after the warning."""
    renamed = big.normals.rename(columns=lambda g: g + "_x")
    versioned = big.normals.rename(columns=lambda g: g if g < "G0091" else g + ".1")
    for normals in (renamed, versioned):
        with pytest.raises(InputError) as memory:
            TwinPurify(**FIT).fit(big.tumors, normals)
        with pytest.raises(InputError) as disk:
            fit_on_disk(TwinPurify(**FIT), tumors_h5ad, normals)
        assert str(disk.value) == str(memory.value)
    panel = big.normals.iloc[:1, :150]
    with pytest.warns(UserWarning, match="share 150 of the tumors' 200 genes") as memory, pytest.raises(InputError):
        TwinPurify(**FIT).fit(big.tumors, panel)
    with pytest.warns(UserWarning, match="share 150 of the tumors' 200 genes") as disk, pytest.raises(InputError):
        fit_on_disk(TwinPurify(**FIT), tumors_h5ad, panel)
    assert [str(w.message) for w in disk] == [str(w.message) for w in memory]


def test_a_float_obs_column_with_nan_labels_is_refused_out_of_core_as_in_memory(tmp_path, big):
    """A float label column (1.0 normal, 0.0 tumor) with NaN for unknown samples: in memory the NaN samples are
    refused by name; out of core they were read as the text 'nan' and trained as tumors."""
    adata = big.to_anndata()
    label = (adata.obs["sample_type"] == "normal").to_numpy(float)
    label[[3, 7]] = np.nan
    adata.obs["is_normal"] = label
    adata.write_h5ad(tmp_path / "f.h5ad")
    missing = r"column 'is_normal' is missing for 2 samples \(T0004, T0008\)"
    with pytest.raises(InputError, match=missing):
        TwinPurify(**FIT).fit(adata, normal_key="is_normal", normal_value=1.0)
    with pytest.raises(InputError, match=missing):
        fit_on_disk(TwinPurify(**FIT), tmp_path / "f.h5ad", normal_key="is_normal", normal_value=1.0)
    with Rows(tmp_path / "f.h5ad") as rows:  # the known labels read as in memory
        assert rows.obs_column("is_normal")[0] == str(label[0])


def test_a_row_source_of_the_callers_own_needs_no_obs_names(tmp_path, big):
    """`RowSource` is what `fit_on_disk` asks of an opened cohort; a source the caller wrote with those members
    only is accepted, and a missing label is still refused naming the samples (read through `samples`)."""
    from twinpurify.ondisk import RowSource
    from twinpurify.streaming import _normal_rows

    adata = big.to_anndata()
    adata.obs.iloc[[3, 7], adata.obs.columns.get_loc("sample_type")] = np.nan
    adata.write_h5ad(tmp_path / "c.h5ad")

    class Own:  # delegates to Rows, without obs_names
        def __init__(self, inner):
            self.inner, self.path, self.genes = inner, inner.path, inner.genes

        n = property(lambda self: self.inner.n)

        def subset(self, rows):
            return Own(self.inner.subset(rows))

        def obs_column(self, key):
            return self.inner.obs_column(key)

        def samples(self, start, stop):
            return self.inner.samples(start, stop)

        def read(self, start, stop):
            return self.inner.read(start, stop)

        def close(self):
            self.inner.close()

    with Rows(tmp_path / "c.h5ad") as inner:
        own = Own(inner)
        assert isinstance(own, RowSource)
        with pytest.raises(InputError, match=r"column 'sample_type' is missing for 2 samples \(T0004, T0008\)"):
            _normal_rows(own, "sample_type", "normal")
