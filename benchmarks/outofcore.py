"""Out-of-core fitting: peak memory against the number of tumors, and throughput, on synthetic .h5ad cohorts.

For each size a synthetic cohort (low-rank log2 expression plus noise, float32, dense X chunked by
rows) is written to disk a block at a time, then fitted by `twinpurify.streaming.fit_on_disk` in its
own subprocess, so the peak RSS is that fit's alone. Reported: the streaming statistics pass, the
training time and samples/s, how long the training loop waited for data, RSS before the fit (torch
and the normals loaded) and peak RSS, and the share of the machine's measured matmul ceiling.

    .venv/bin/python benchmarks/outofcore.py [--sizes 50000,100000,200000] [--genes 5000] [--epochs 1]
                                             [--settings round5|defaults] [--folder /tmp/twinpurify-ooc] [--keep]

With ``--settings round5`` (the committed `outofcore_cpu` table) the network is the defaults to round 5 (log
input, 128 dimensions; `pins.ROUND5`); with ``defaults`` it is today's `TwinPurify()` (the PCA front, three
networks, the last step and the readout's passes), written to `outofcore_defaults_cpu`; the share of the matmul
ceiling is computed for the round-5 network only (its FLOPs per row are counted layer by layer).
Writes benchmarks/outofcore_cpu.csv and outofcore_cpu.md (or outofcore_defaults_cpu.*). Files are read back mostly from the page
cache (the machine's RAM exceeds one file), so this measures the pipeline, not the disk.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

from pins import ROUND5  # run as a script: this folder is on sys.path

HERE = Path(__file__).resolve().parent


def rss_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def write_cohort(n: int, g: int, folder: Path, seed: int = 0) -> tuple[Path, Path]:
    """Tumors as an .h5ad written block by block; 300 normals as a parquet table (they live in memory)."""
    import numpy as np
    import pandas as pd
    from twinpurify.ondisk import H5adWriter

    rng = np.random.default_rng(seed)
    rank = 20
    centre = rng.normal(6, 1, g).astype(np.float32)
    loadings = rng.normal(0, 0.3, (rank, g)).astype(np.float32)
    genes = [f"G{j}" for j in range(g)]
    tumors = folder / f"tumors_{n}x{g}.h5ad"
    with H5adWriter(tumors, n, genes, chunk_rows=256) as out:
        for start in range(0, n, 8192):
            b = min(8192, n - start)
            scores = rng.standard_normal((b, rank), dtype=np.float32)
            noise = rng.standard_normal((b, g), dtype=np.float32)
            out.write(centre + scores @ loadings + 0.3 * noise, [f"T{i}" for i in range(start, start + b)])
    normals = folder / f"normals_{g}.parquet"
    values = centre + 0.5 + 0.3 * rng.standard_normal((300, g), dtype=np.float32)
    pd.DataFrame(values, index=[f"N{i}" for i in range(300)], columns=genes).to_parquet(normals)
    return tumors, normals


SETTINGS = {"round5": ROUND5, "defaults": {}}
PASSES = {  # what `stream_scan_s_` sums for each network (see `twinpurify.streaming.fit_on_disk`)
    "round5": "the statistics (with the tumor/normal copies check) and the readout's three",
    "defaults": "the statistics (with the tumor/normal copies check), the PCA front's, the last step's and the "
    "readout's three",
}


def one_fit(tumors: str, normals: str, epochs: int, settings: str) -> dict:
    import pandas as pd
    import torch
    from twinpurify import TwinPurify
    from twinpurify.streaming import fit_on_disk

    normal = pd.read_parquet(normals)
    before = rss_mib()
    model = TwinPurify(
        **SETTINGS[settings],
        max_epochs=epochs,
        random_state=0,
        verbose=False,
        device="cpu",
    )
    t0 = time.perf_counter()
    fit_on_disk(model, tumors, normal)
    train = time.perf_counter() - t0 - model.stream_scan_s_
    return {
        "rss_before_mib": round(before, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "scan_s": round(model.stream_scan_s_, 2),
        "train_s": round(train, 2),
        "wait_s": round(model.stream_wait_s_, 2),
        "epochs": model.n_epochs_,
        "batch": model.batch_size_,
        "genes_used": len(model.genes_),
        "threads": torch.get_num_threads(),
        "settings": settings,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="50000,100000,200000")
    ap.add_argument("--genes", type=int, default=5000)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--settings", choices=sorted(SETTINGS), default="round5")
    ap.add_argument("--folder", default="/tmp/twinpurify-ooc")
    ap.add_argument("--keep", action="store_true", help="keep the synthetic files")
    ap.add_argument("--one", nargs=4, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print(json.dumps(one_fit(a.one[0], a.one[1], int(a.one[2]), a.one[3])))
        return
    sys.path.insert(0, str(HERE))
    from speed import flops_per_row, matmul_ceiling

    folder = Path(a.folder)
    made_folder = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    ceiling = matmul_ceiling("cpu")
    for n in [int(s) for s in a.sizes.split(",")]:
        t0 = time.perf_counter()
        tumors, normals = write_cohort(n, a.genes, folder)
        write_s = time.perf_counter() - t0
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        run = subprocess.run(
            [sys.executable, __file__, "--one", str(tumors), str(normals), str(a.epochs), a.settings],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        r = json.loads(run.stdout.strip().splitlines()[-1])
        sps = n * r["epochs"] / r["train_s"]
        share = float("nan")
        if a.settings == "round5":  # 3 x forward FLOPs of encoder and projector, two views per sample (speed.py)
            flops = flops_per_row([r["genes_used"], 512, 128, 128, 128])[0] * 2 * n * r["epochs"] / r["train_s"]
            share = round(flops / ceiling, 3)
        row = {
            "tumors": n,
            "genes": a.genes,
            "file_GiB": round(tumors.stat().st_size / 2**30, 2),
            "write_s": round(write_s, 1),
            **r,
            "samples_per_s": round(sps, 1),
            "share_of_ceiling": share,
            "ceiling_GFLOPs": round(ceiling / 1e9, 1),
        }
        print(json.dumps(row), flush=True)
        rows.append(row)
        if not a.keep:  # only the files this script wrote; --folder may hold the user's own
            tumors.unlink()
            normals.unlink(missing_ok=True)
    write_results(rows, a)
    if not a.keep and made_folder and not any(folder.iterdir()):
        folder.rmdir()


def write_results(rows: list[dict], a: argparse.Namespace) -> None:
    import pandas as pd
    import torch

    name = "outofcore_cpu" if a.settings == "round5" else f"outofcore_{a.settings}_cpu"
    pd.DataFrame(rows).to_csv(HERE / f"{name}.csv", index=False)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    network = {
        "round5": "The defaults to round 5 (log input, 128 dims, hidden 512",
        "defaults": "Today's `TwinPurify()` defaults (PCA front, three networks, 16 dims kept",
    }[a.settings]
    lines = [
        f"Run {stamp} on {platform.node()}: {os.cpu_count()} CPU cores, {platform.machine()}, no GPU; torch "
        f"{torch.__version__}, {rows[0]['threads']} torch threads. {network}, top "
        f"{rows[0]['genes_used']:,} of {a.genes:,} genes, batch {rows[0]['batch']}), {a.epochs} epoch(s), fitted by "
        "`twinpurify.streaming.fit_on_disk` "
        "from a dense .h5ad (chunks of 256 rows) with 300 normals in memory; each size in a fresh process. "
        f"Passes besides training: {PASSES[a.settings]}.",
        "",
        "| tumors x genes | file GiB | passes besides training (s) | training (s) | samples/s | loop waited for data (s) "
        "| share of matmul ceiling | RSS before fit (MiB) | peak RSS (MiB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        share = "n/a" if r["share_of_ceiling"] != r["share_of_ceiling"] else f"{r['share_of_ceiling']:.0%}"
        lines.append(
            f"| {r['tumors']:,} x {r['genes']:,} | {r['file_GiB']} | {r['scan_s']} | {r['train_s']} | "
            f"{r['samples_per_s']} | {r['wait_s']} | {share} | {r['rss_before_mib']} | "
            f"{r['peak_rss_mib']} |"
        )
    (HERE / f"{name}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
