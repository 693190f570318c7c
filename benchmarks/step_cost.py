"""Measured per-step cost of TwinPurify training, the input for the multi-GPU projection in RESULTS.md.

Part 1 times the training step alone (views + forward + backward + AdamW, data already on the device)
for several input widths and per-device batch sizes. Part 2 fits a synthetic on-disk cohort with
`twinpurify.streaming.fit_on_disk` on the same device, to see whether reading and preparing blocks on
the host keeps up with the device (the time the loop waited for data).

    python benchmarks/step_cost.py [--device cuda] [--genes 3000,20000] [--batches 256,1024,4096]
                                   [--stream-rows 100000] [--stream-genes 20000] [--out step_cost.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

from pins import ROUND5  # run as a script: this folder is on sys.path

HERE = Path(__file__).resolve().parent


def _sync(device):
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def step_cost(genes: int, batch: int, device: str, steps: int = 20, normals: int = 300) -> dict:
    """Seconds per optimiser step of the network of the defaults to round 5 (one network, 128 dims) with `genes` inputs,
    `batch` tumors."""
    import torch
    from twinpurify.augment import ViewConfig, ViewGenerator
    from twinpurify.model import BarlowTwinsModule
    from twinpurify.objective import TwinPurifyObjective
    from twinpurify.train import autocast_context

    dev = torch.device(device)
    g = torch.Generator(device=dev).manual_seed(0)
    module = BarlowTwinsModule(genes, [512], 128, [128, 128]).to(dev)
    views = ViewGenerator(
        torch.randn(normals, genes, device=dev, generator=g) + 6,
        torch.full((genes,), 6.0, device=dev),
        torch.ones(genes, device=dev),
        ViewConfig(),
    )
    objective = TwinPurifyObjective(views)
    data = torch.exp2(torch.randn(batch * 4, genes, device=dev, generator=g) + 6)
    opt = torch.optim.AdamW(module.parameters(), lr=1e-3)

    def one(i: int) -> None:
        x = data[(i % 4) * batch : (i % 4 + 1) * batch]
        with autocast_context(dev, True):
            loss = objective(module, x, g)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for i in range(3):
        one(i)
    _sync(dev)
    t0 = time.perf_counter()
    for i in range(steps):
        one(i)
    _sync(dev)
    dt = (time.perf_counter() - t0) / steps
    params = sum(p.numel() for p in module.parameters())
    return {"genes": genes, "batch": batch, "s_per_step": dt, "samples_per_s": batch / dt, "params": params}


def write_h5ad(n: int, genes: int, folder: Path) -> tuple[Path, float]:
    """A dense .h5ad of n x genes log2-like values, written block by block; returns it and the seconds taken."""
    import numpy as np
    from twinpurify.ondisk import H5adWriter

    rng = np.random.default_rng(0)
    names = [f"G{j}" for j in range(genes)]
    path = folder / "tumors.h5ad"
    t0 = time.perf_counter()
    with H5adWriter(path, n, names) as w:
        for s in range(0, n, 4096):
            b = min(4096, n - s)
            w.write(6 + rng.standard_normal((b, genes), dtype=np.float32), [f"T{i}" for i in range(s, s + b)])
    return path, time.perf_counter() - t0


def stream_fit(path: Path, write_s: float, n_genes: int, device: str, batch: int) -> dict:
    """One epoch of fit_on_disk from `path` on `device`; `n_genes` 0 = every gene as input."""
    import numpy as np
    import pandas as pd
    from twinpurify import TwinPurify
    from twinpurify.ondisk import Rows
    from twinpurify.streaming import fit_on_disk

    with Rows(path) as rows:
        n, genes = rows.n, len(rows.genes)
        names = rows.genes
    rng = np.random.default_rng(1)
    normal = pd.DataFrame(6.5 + rng.standard_normal((300, genes), dtype=np.float32), columns=names)
    model = TwinPurify(  # the network the committed costs measured (the defaults to round 5)
        **ROUND5,
        n_genes=n_genes or None,
        batch_size=batch,
        max_epochs=1,
        device=device,
        random_state=0,
        verbose=False,
    )
    t0 = time.perf_counter()
    fit_on_disk(model, path, normal, block_rows=4096)
    total = time.perf_counter() - t0
    return {
        "rows": n,
        "genes": genes,
        "input_genes": len(model.genes_),
        "batch": batch,
        "file_GB": n * genes * 4 / 1e9,
        "write_s": write_s,
        "fit_s": total,
        "scan_s": model.stream_scan_s_,
        "wait_s": model.stream_wait_s_,
        "train_samples_per_s": n / (total - model.stream_scan_s_),
    }


def main() -> None:
    import torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--genes", default="3000,20000")
    ap.add_argument("--batches", default="256,1024,4096")
    ap.add_argument("--stream-rows", type=int, default=100000)
    ap.add_argument("--stream-genes", type=int, default=20000)
    ap.add_argument("--stream-batch", type=int, default=1024)
    ap.add_argument("--stream-n-genes", default="3000,0", help="model input widths to stream (0 = all genes)")
    ap.add_argument("--out", default=str(HERE / "step_cost.json"))
    a = ap.parse_args()
    info = {
        "device": torch.cuda.get_device_name() if a.device.startswith("cuda") else platform.processor() or "cpu",
        "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "host_cpus": __import__("os").cpu_count(),
    }
    steps = []
    for genes in [int(x) for x in a.genes.split(",")]:
        for batch in [int(x) for x in a.batches.split(",")]:
            r = step_cost(genes, batch, a.device)
            print(json.dumps(r), flush=True)
            steps.append(r)
    streamed = []
    if a.stream_rows:
        with tempfile.TemporaryDirectory() as tmp:
            path, write_s = write_h5ad(a.stream_rows, a.stream_genes, Path(tmp))
            for k in [int(x) for x in a.stream_n_genes.split(",")]:
                r = stream_fit(path, write_s, k, a.device, a.stream_batch)
                print(json.dumps(r), flush=True)
                streamed.append(r)
    Path(a.out).write_text(json.dumps({**info, "steps": steps, "streamed": streamed}, indent=1))
    print(json.dumps(info), file=sys.stderr)


if __name__ == "__main__":
    main()
