"""Where a default training step's time goes on a CPU, before and after the throughput work of issue 14.

Times each part of one TwinPurify step at TCGA width (3,000 selected genes, batches of 256 tumors, 100
normals; the default network): gathering the batch, making the two views, forward and loss, backward,
optimiser. "before" rebuilds the earlier view code (a torch uniform for the mask and a torch normal for the
noise over the whole batch, a (batch, k, genes) gather of normals, a concatenated batch) and torch's default
AdamW; "now" is the package. Mean +- sd over repeats of 40 steps after a warm-up, same process and machine.

    .venv/bin/python benchmarks/step_breakdown.py [--repeats 5] [--genes 3000] [--batch 256]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _views_before(views, tumor_lin, generator):
    """The view generation this package used until 2026-11-27, kept here only to time it."""
    import torch

    cfg = views.config
    b, g = tumor_lin.shape
    m = views.normal_lin.shape[0]
    k = min(cfg.n_mix, m)
    beta = torch.rand(b, generator=generator) * cfg.beta_max
    index = torch.randint(0, m, (b, k), generator=generator)
    weights = -torch.log(torch.rand(b, k, generator=generator).clamp_min(1e-12))
    weights = weights / weights.sum(1, keepdim=True)
    background = torch.einsum("bk,bkg->bg", weights, views.normal_lin[index])
    mixed = (1.0 - beta.unsqueeze(1)) * tumor_lin + beta.unsqueeze(1) * background
    x = (torch.log2(mixed) - views.mean) / views.std
    x = x * (torch.rand(b, g, generator=generator) >= cfg.mask_prob)
    return x + cfg.noise_std * torch.randn(b, g, generator=generator)


def breakdown(variant: str, genes: int, batch: int, steps: int, repeats: int) -> dict:
    import torch
    from twinpurify.augment import ViewConfig, ViewGenerator
    from twinpurify.loss import barlow_twins_loss
    from twinpurify.model import BarlowTwinsModule
    from twinpurify.train import adamw

    dev = torch.device("cpu")
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    module = BarlowTwinsModule(genes, [512], 128, [128, 128])
    views = ViewGenerator(
        torch.randn(100, genes, generator=g) + 6, torch.full((genes,), 6.0), torch.ones(genes), ViewConfig()
    )
    data = torch.exp2(torch.randn(10000, genes, generator=g) + 6)
    before = variant == "before"
    opt = torch.optim.AdamW(module.parameters(), lr=1e-3) if before else adamw(module.parameters(), 1e-3, 0.0, dev)
    parts = ("batch", "views", "forward + loss", "backward", "optimiser")
    spent = dict.fromkeys(parts, 0.0)

    def step(record: bool) -> None:
        t0 = time.perf_counter()
        idx = torch.randint(0, len(data), (batch,), generator=g)
        x = data[idx] if before else data.index_select(0, idx)
        t1 = time.perf_counter()
        v = _views_before(views, torch.cat([x, x]), g) if before else views(x, g, repeats=2)
        t2 = time.perf_counter()
        _, p = module(v)
        p1, p2 = p.chunk(2)
        loss = barlow_twins_loss(p1, p2, 5e-3)
        t3 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        t4 = time.perf_counter()
        opt.step()
        t5 = time.perf_counter()
        if record:
            for name, a, b in zip(parts, (t0, t1, t2, t3, t4), (t1, t2, t3, t4, t5)):
                spent[name] += b - a

    for _ in range(5):
        step(False)
    per_repeat = []
    for _ in range(repeats):
        snapshot = dict(spent)
        for _ in range(steps):
            step(True)
        per_repeat.append({k: (spent[k] - snapshot[k]) / steps * 1e3 for k in parts})
    return {k: [r[k] for r in per_repeat] for k in parts}


def main() -> None:
    import torch
    from speed import flops_per_row, matmul_ceiling  # this folder is on sys.path when run as a script

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--genes", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=256)
    a = ap.parse_args()
    dims = [a.genes, 512, 128, 128, 128]
    three_fwd, done = flops_per_row(dims)
    performed = done * 2 * a.batch  # FLOPs autograd performs per step (two views per tumor)
    results: dict[str, dict[str, list[float]]] = {"before": {}, "now": {}}
    for _ in range(a.repeats):  # interleaved, so a slow spell of a shared machine hits both alike
        for v in results:
            for part, vals in breakdown(v, a.genes, a.batch, a.steps, 1).items():
                results[v].setdefault(part, []).extend(vals)
    top = matmul_ceiling("cpu")
    rows = []
    for v, parts in results.items():
        totals = [sum(vals) for vals in zip(*parts.values())]
        cells = [f"{statistics.mean(x):.1f} ± {statistics.stdev(x):.1f}" for x in parts.values()]
        shares = [performed / (t / 1e3) / top for t in totals]
        rows.append(
            f"| {v} | " + " | ".join(cells) + f" | {statistics.mean(totals):.1f} ± {statistics.stdev(totals):.1f} | "
            f"{statistics.mean(shares):.0%} | {statistics.mean(shares) * three_fwd / done:.0%} |"
        )
    text = "\n".join(
        [
            f"### One training step on cpu ({os.cpu_count()} cores, {platform.processor() or platform.machine()})",
            "",
            f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads; {a.genes:,} genes, batches of {a.batch} (two views each), "
            f"default network; ms per step, mean ± sd over {a.repeats} repeats of {a.steps} steps; "
            f"matmul ceiling {top / 1e12:.3f} TFLOP/s (best of 5). Share = FLOPs per step / step time / ceiling, "
            "counting what autograd performs, and (last column) the usual 3 x forward.",
            "",
            "| code | batch | views | forward + loss | backward | optimiser | step | share (performed) | share (3 x fwd) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
            *rows,
            "",
        ]
    )
    (HERE / "step_breakdown_cpu.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
