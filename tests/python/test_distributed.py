"""Data-parallel training on 2 CPU ranks (gloo) against one process on the same global batch.

The ranks are real processes (torch.multiprocessing spawn, or torchrun for the command line) talking
over gloo on a free local port, so collectives, DDP's gradient averaging and the autograd-aware gather
are exercised as they run on a cluster.
"""

import datetime
import os
import socket
import subprocess
import sys
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from twinpurify import TwinPurify, load_model
from twinpurify.datasets import simulate_cohort
from twinpurify.distributed import (
    current_ranks,
    gather_batch,
    rank_seed,
    spanning_ranks,
    synced_batchnorm,
    wrap,
)
from twinpurify.loss import barlow_twins_loss
from twinpurify.model import BarlowTwinsModule

WORLD = 2
ROWS = 24  # global batch (12 per rank)
GENES = 40
FIT = dict(n_components=4, hidden_dims=(16,), projector_dims=(16, 16), n_genes=100, max_epochs=3, batch_size=16)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _join(rank: int, port: int) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    # a rank left waiting for one that failed fails the test in a minute, not after gloo's default half hour
    dist.init_process_group("gloo", rank=rank, world_size=WORLD, timeout=datetime.timedelta(seconds=60))


def _problem():
    """A module (with BatchNorm and a content head), two fixed views and a content target per row."""
    torch.manual_seed(0)
    module = BarlowTwinsModule(GENES, [32], 8, [16, 16], target_dim=GENES)
    g = torch.Generator().manual_seed(1)
    v1, v2 = torch.randn(ROWS, GENES, generator=g), torch.randn(ROWS, GENES, generator=g)
    v2 = 0.6 * v1 + 0.8 * v2  # correlated views, so the on-diagonal term is not trivial
    target = torch.randn(ROWS, GENES, generator=g)
    return module, v1, v2, target


def _loss(module, v1, v2, target, content_weight=0.5):
    """TwinPurify's step on fixed views: Barlow Twins of the projections + content MSE of the head."""
    z, p = module(torch.cat([v1, v2]))
    p1, p2 = p.chunk(2)
    content = (module.head(z) - torch.cat([target, target])).pow(2).mean()
    return barlow_twins_loss(p1, p2, 5e-3) + content_weight * content


def _grads(module):
    return {k: v.grad.detach().clone() for k, v in module.named_parameters()}


def _detached_gather(x):
    """The known bug: other ranks' rows enter the statistics as constants (like an all_reduce outside autograd)."""
    parts = [torch.empty_like(x) for _ in range(WORLD)]
    dist.all_gather(parts, x.detach().contiguous())
    parts[dist.get_rank()] = x
    return torch.cat(parts)


def _ddp_grads(rank: int, content: float = 0.5):
    module, v1, v2, target = _problem()
    rows = slice(rank * ROWS // WORLD, (rank + 1) * ROWS // WORLD)
    with synced_batchnorm(module):
        ddp = wrap(module, torch.device("cpu"))
        with spanning_ranks():
            loss = _loss(ddp, v1[rows], v2[rows], target[rows], content)
        loss.backward()
    return module, loss


def _gradient_worker(rank: int, port: int, out: str) -> None:
    import twinpurify.loss

    _join(rank, port)
    try:
        module, loss = _ddp_grads(rank)
        buffers = {k: v.clone() for k, v in module.named_buffers()}
        right = twinpurify.loss.gather_batch
        twinpurify.loss.gather_batch = _detached_gather
        try:
            naive = _grads(_ddp_grads(rank, content=0.0)[0])
        finally:
            twinpurify.loss.gather_batch = right
        result = {"loss": loss.detach(), "grads": _grads(module), "buffers": buffers, "naive": naive}
        torch.save(result, Path(out) / f"{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_two_ranks_match_one_process_on_the_global_batch(tmp_path):
    module, v1, v2, target = _problem()
    module.train()
    loss = _loss(module, v1, v2, target)
    loss.backward()
    ref, ref_buffers = _grads(module), dict(module.named_buffers())
    module, v1, v2, target = _problem()
    _loss(module, v1, v2, target, 0.0).backward()
    ref_bt = _grads(module)  # Barlow Twins alone

    mp.spawn(_gradient_worker, args=(_free_port(), str(tmp_path)), nprocs=WORLD)
    results = [torch.load(tmp_path / f"{rank}.pt") for rank in range(WORLD)]
    # the Barlow Twins term is global, the content term each rank's own mean: the ranks' mean is the loss
    assert float(sum(r["loss"] for r in results)) / WORLD == pytest.approx(loss.item(), rel=1e-5)
    for got in results:
        for name, g in ref.items():
            assert g.abs().max() > 0, name
            torch.testing.assert_close(got["grads"][name], g, rtol=1e-4, atol=1e-6, msg=name)
        for name, b in ref_buffers.items():  # running statistics of the global batch
            torch.testing.assert_close(got["buffers"][name], b, rtol=1e-5, atol=1e-6, msg=name)
        # the negative control: with the other ranks' rows as constants, every gradient is 1 / world size of
        # the right one, which the comparison above would catch
        for name, g in ref_bt.items():
            if "head" not in name:
                torch.testing.assert_close(got["naive"][name] * WORLD, g, rtol=1e-4, atol=1e-6, msg=name)


def _gather_worker(rank: int, port: int, out: str) -> None:
    _join(rank, port)
    try:
        x = torch.full((2, 3), float(rank + 1), requires_grad=True)
        with spanning_ranks():
            y = gather_batch(x)
        (y * torch.arange(4.0).unsqueeze(1)).sum().backward()  # same loss on both ranks
        outside = gather_batch(x)  # an identity outside spanning_ranks
        torch.save({"y": y.detach(), "grad": x.grad, "outside": outside.shape}, Path(out) / f"{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_gather_orders_by_rank_and_sums_gradients(tmp_path):
    mp.spawn(_gather_worker, args=(_free_port(), str(tmp_path)), nprocs=WORLD)
    for rank in range(WORLD):
        got = torch.load(tmp_path / f"{rank}.pt")
        assert got["y"][:, 0].tolist() == [1, 1, 2, 2]
        # each rank's loss weighs its rows by 0,1 (rank 0) or 2,3 (rank 1); both ranks' losses count
        weights = torch.arange(4.0)[rank * 2 : rank * 2 + 2] * WORLD
        torch.testing.assert_close(got["grad"], weights.unsqueeze(1).expand(2, 3))
        assert tuple(got["outside"]) == (2, 3)


def _fit_worker(rank: int, port: int, out: str, n_networks: int = 1) -> None:
    _join(rank, port)
    try:
        c = simulate_cohort(n_tumors=64, n_normals=10, n_genes=150, seed=3)
        model = TwinPurify(**FIT, n_networks=n_networks, device="cpu", random_state=0, verbose=False)
        model.fit(c.tumors, c.normals)
        model.save(Path(out) / "model")  # rank 0 only
        dist.barrier()
        state = {k: v.detach().clone() for k, v in model.module_.state_dict().items()}
        Z = model.transform(c.tumors)
        torch.save({"state": state, "Z": Z, "history": model.history_}, Path(out) / f"{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
@pytest.mark.parametrize("n_networks", [1, 2])  # several networks: every member's replicas agree too
def test_distributed_fit_saves_once_and_loads_like_a_single_process_model(tmp_path, n_networks):
    mp.spawn(_fit_worker, args=(_free_port(), str(tmp_path), n_networks), nprocs=WORLD)
    r0, r1 = (torch.load(tmp_path / f"{r}.pt", weights_only=False) for r in range(WORLD))
    for name, t in r0["state"].items():
        assert torch.equal(t, r1["state"][name]), name  # identical replicas
    assert r0["history"] == r1["history"] and len(r0["history"]) == 3
    assert np.isfinite([h["loss"] for h in r0["history"]]).all()
    pd.testing.assert_frame_equal(r0["Z"], r1["Z"])
    c = simulate_cohort(n_tumors=64, n_normals=10, n_genes=150, seed=3)
    loaded = load_model(tmp_path / "model", device="cpu")
    assert current_ranks().world_size == 1
    pd.testing.assert_frame_equal(loaded.transform(c.tumors), r0["Z"], atol=1e-5, rtol=1e-5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0.pt", "1.pt", "model"]  # no leftovers of a 2nd save


def test_rank_streams_differ_and_repeat():
    assert rank_seed(0, 0) != rank_seed(0, 1)
    assert rank_seed(5, 1) == rank_seed(5, 1) and rank_seed(5, 1) != rank_seed(6, 1)
    assert 0 <= rank_seed(2**64 - 1, 3) < 2**63


@pytest.mark.slow
def test_torchrun_cli_fit_then_transform(tmp_path):
    c = simulate_cohort(n_tumors=80, n_normals=12, n_genes=150, seed=4)
    c.tumors.to_csv(tmp_path / "tumors.csv")
    c.normals.to_csv(tmp_path / "normals.csv")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        f"--nproc_per_node={WORLD}",
        f"--master_port={_free_port()}",
        "-m",
        "twinpurify",
        "fit",
        "--tumor",
        str(tmp_path / "tumors.csv"),
        "--normal",
        str(tmp_path / "normals.csv"),
        "--model",
        str(tmp_path / "model"),
        "--embedding",
        str(tmp_path / "emb.csv"),
        "--n-components",
        "4",
        "--epochs",
        "2",
        "--batch-size",
        "32",
        "--device",
        "cpu",
    ]
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.count("model saved to") == 1  # rank 0 alone reports (and saves)
    assert "2 ranks" in run.stdout
    emb = pd.read_csv(tmp_path / "emb.csv", index_col=0)
    model = load_model(tmp_path / "model", device="cpu")
    assert emb.shape == (80, 4) and model.history_ and len(model.history_) == 2
    np.testing.assert_allclose(model.transform(c.tumors).to_numpy(), emb.to_numpy(), rtol=1e-4, atol=1e-5)


def _ondisk_worker(rank: int, port: int, out: str, encoder_input: str, block_rows: int = 16) -> None:
    from twinpurify.streaming import fit_on_disk

    _join(rank, port)
    try:
        model = fit_on_disk(
            TwinPurify(**FIT, random_state=0, verbose=False, encoder_input=encoder_input),
            Path(out) / "c.h5ad",
            normal_key="sample_type",
            block_rows=block_rows,
        )
        state = {k: v.detach().clone() for k, v in model.module_.state_dict().items()}
        streamed = model.readout_
        model.fit_readout(ad.read_h5ad(Path(out) / "c.h5ad"), normal_key="sample_type")  # in memory, for reference
        readouts = {
            name: (r.coef, r.alpha, r.directions.astype(np.float64) @ r.directions.T.astype(np.float64))
            for name, r in (("streamed", streamed), ("in memory", model.readout_))
        }
        torch.save(
            {"state": state, "genes": model.genes_, "std": model.preprocessor_.std_, "readouts": readouts},
            Path(out) / f"{rank}.pt",
        )
    finally:
        dist.destroy_process_group()


def _refusal_worker(rank: int, port: int, out: str, block_rows: int, input_scale: str = "auto") -> None:
    """Fit out of core from c.h5ad and write what this rank said: the error's text, or "fitted"."""
    from twinpurify.data import InputError
    from twinpurify.streaming import fit_on_disk

    _join(rank, port)
    try:
        model = TwinPurify(**FIT, verbose=False, input_scale=input_scale)
        fit_on_disk(model, Path(out) / "c.h5ad", normal_key="sample_type", block_rows=block_rows)
        (Path(out) / f"{rank}.txt").write_text("fitted")
    except InputError as e:
        (Path(out) / f"{rank}.txt").write_text(str(e))
    finally:
        dist.destroy_process_group()


def _cohort_with(tmp_path: Path, a: ad.AnnData, inserts: dict[int, ad.AnnData]) -> None:
    """c.h5ad: the normals of `a`, then its tumors with ``inserts[k]`` (one row each) at tumor row k."""
    tumors = a[a.obs["sample_type"] != "normal"]
    rows = [tumors[i : i + 1] for i in range(tumors.n_obs)]
    for at, extra in sorted(inserts.items()):  # in ascending order each lands at its final row
        rows.insert(at, extra)
    ad.concat([a[a.obs["sample_type"] == "normal"], *rows]).write_h5ad(tmp_path / "c.h5ad")


def _said(tmp_path: Path, block_rows: int, input_scale: str = "auto") -> str:
    """What both ranks said of fitting c.h5ad, asserted to be the same."""
    mp.spawn(_refusal_worker, args=(_free_port(), str(tmp_path), block_rows, input_scale), nprocs=WORLD)
    said = [(tmp_path / f"{r}.txt").read_text() for r in range(WORLD)]
    assert said[0] == said[1]
    return said[0]


@pytest.mark.slow
@pytest.mark.parametrize("block_rows", [16, 4096])
def test_two_ranks_out_of_core_refuse_normals_given_again_as_tumors_alike(tmp_path, block_rows):
    """Normals copied among the tumors under other names: every rank finds every copy (one sum over ranks) and
    raises the same error, instead of one rank failing while the other waits — with the copies in blocks read by
    different ranks (16 rows a block: tumor rows 10 and 21 are in blocks 0 and 1), and when one rank reads
    every block and the other none (4,096 rows a block)."""
    a = simulate_cohort(n_tumors=70, n_normals=10, n_genes=150, seed=3).to_anndata()
    normals = a[a.obs["sample_type"] == "normal"]
    copies = normals[[0, 3]].copy()
    copies.obs_names = ["copy_a", "copy_b"]
    copies.obs["sample_type"] = "tumor"
    _cohort_with(tmp_path, a, {10: copies[:1], 21: copies[1:]})
    said = _said(tmp_path, block_rows)
    assert f"copy_a (normal {normals.obs_names[0]}), copy_b (normal {normals.obs_names[3]}) (2 in all)" in said


@pytest.mark.slow
def test_two_ranks_out_of_core_refuse_a_missing_value_read_by_one_rank_alike(tmp_path):
    """Tumors with a NaN in a block rank 1 reads (row 20) and in a later one rank 0 reads (row 40): both ranks raise
    the error of the first bad block (before, rank 1 raised and rank 0 waited in the next collective; a rank
    naming its own first bad block would name also_nan)."""
    a = simulate_cohort(n_tumors=70, n_normals=10, n_genes=150, seed=4).to_anndata()
    bad = a[a.obs["sample_type"] != "normal"][:2].copy()
    bad.obs_names = ["has_nan", "also_nan"]
    bad.X = np.array(bad.X, dtype=np.float32)
    bad.X[:, 5] = np.nan
    _cohort_with(tmp_path, a, {20: bad[:1], 40: bad[1:]})  # blocks 1 and 2 of 16 rows: ranks 1 and 0
    said = _said(tmp_path, 16)
    assert "missing or infinite values (NaN/Inf) in samples has_nan;" in said


@pytest.mark.slow
@pytest.mark.parametrize("input_scale", ["counts", "auto"])
def test_two_ranks_out_of_core_judge_a_block_the_scale_cannot_take_alike(tmp_path, input_scale):
    """Counts, but a tumor with negative values in a block rank 1 reads. Told "counts", both ranks refuse it by
    name; under "auto" the first block's guess ("counts") is overruled by the whole file's evidence (log2), the
    pass is read again on both ranks, and both then refuse the normals' scale alike."""
    a = simulate_cohort(n_tumors=70, n_normals=10, n_genes=150, seed=5).to_anndata()
    neg = a[a.obs["sample_type"] != "normal"][:1].copy()
    neg.obs_names = ["negative"]
    neg.X = np.array(neg.X, dtype=np.float32) - 1e4
    _cohort_with(tmp_path, a, {20: neg})
    said = _said(tmp_path, 16, input_scale)
    expected = {
        "counts": "negative values in samples negative but input_scale='counts'",
        "auto": "tumors look like log2 values but normals like counts",
    }[input_scale]
    assert expected in said


@pytest.mark.slow
@pytest.mark.parametrize("encoder_input", ["log", "pca"])
def test_two_ranks_out_of_core_merge_statistics_and_agree(tmp_path, encoder_input):
    from twinpurify.data import Preprocessor, as_matrix

    c = simulate_cohort(n_tumors=70, n_normals=10, n_genes=150, seed=3)
    c.to_anndata().write_h5ad(tmp_path / "c.h5ad")
    mp.spawn(_ondisk_worker, args=(_free_port(), str(tmp_path), encoder_input), nprocs=WORLD)
    r0, r1 = (torch.load(tmp_path / f"{r}.pt", weights_only=False) for r in range(WORLD))
    ref = Preprocessor("auto", FIT["n_genes"]).fit(as_matrix(c.tumors))
    assert r0["genes"] == r1["genes"] == ref.genes_  # statistics of all tumors, though each rank read half
    np.testing.assert_allclose(r0["std"], ref.std_, rtol=1e-4)
    for name, t in r0["state"].items():
        assert torch.equal(t, r1["state"][name]), name
    _same_readouts(r0, r1)
    if encoder_input == "pca":  # the front summed over both ranks' blocks is the front of all tumors
        mem = TwinPurify(**FIT, random_state=0, verbose=False, encoder_input="pca").fit(c.tumors, c.normals)
        ref_front = mem.module_.encoder[0]
        np.testing.assert_allclose(r0["state"]["encoder.0.weight"].numpy(), ref_front.weight.numpy(), atol=1e-4)
        np.testing.assert_allclose(r0["state"]["encoder.0.center"].numpy(), ref_front.center.numpy(), atol=1e-5)


@pytest.mark.slow
def test_out_of_core_rank_with_no_block(tmp_path):
    """70 tumors in one block of 128: rank 1 reads nothing, yet every pass (statistics, PCA front, training, the
    last step) completes and both ranks end with the same model."""
    simulate_cohort(n_tumors=70, n_normals=10, n_genes=150, seed=3).to_anndata().write_h5ad(tmp_path / "c.h5ad")
    mp.spawn(_ondisk_worker, args=(_free_port(), str(tmp_path), "pca", 128), nprocs=WORLD)
    r0, r1 = (torch.load(tmp_path / f"{r}.pt", weights_only=False) for r in range(WORLD))
    for name, t in r0["state"].items():
        assert torch.equal(t, r1["state"][name]), name
    assert r0["state"]["output.weight"].abs().sum() > 0
    _same_readouts(r0, r1)


def _same_readouts(r0: dict, r1: dict) -> None:
    """Both ranks keep one readout, summed over their blocks, and it is the one fitted in memory on all tumors."""
    for got in (r0["readouts"]["streamed"], r1["readouts"]["streamed"], r1["readouts"]["in memory"]):
        want = r0["readouts"]["in memory"]
        np.testing.assert_allclose(got[0], want[0], rtol=1e-4, atol=1e-5)  # coefficients
        assert got[1] == want[1]  # ridge strength
        np.testing.assert_allclose(got[2], want[2], atol=1e-4)  # projector on the contamination directions


def test_without_torchrun_there_is_one_rank_and_no_group(monkeypatch):
    from twinpurify.distributed import backend_for, process_group_from_env, spans_ranks

    monkeypatch.delenv("WORLD_SIZE", raising=False)
    with process_group_from_env("cpu") as ranks:
        assert (ranks.rank, ranks.world_size, ranks.active, ranks.lead) == (0, 1, False, True)
        assert not dist.is_initialized()
    with spanning_ranks():
        assert not spans_ranks()  # no group: the gather and synced BatchNorm stay identities
        x = torch.ones(3, 2)
        assert gather_batch(x) is x
    assert backend_for("cpu") == "gloo"
    assert backend_for("auto") == ("nccl" if torch.cuda.is_available() else "gloo")
