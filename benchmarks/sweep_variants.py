"""What the sweeps from round 9 on share: one patched fit scored as a row, and a command line that runs a
variant grid and renders it beside round 8's rows (same seeds and scoring).

A variant is tried by patching the package for the fit only (a context manager); the patch is left before
scoring, so a pool worker's next job sees the package unchanged (round 8's first run did not, and its
"defaults" rows were another variant's).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "python"))

from pins import ROUND7  # noqa: E402
from sweep_round7 import cohort, plan_jobs, render_tables, run_jobs, tumors_normals  # noqa: E402
from twinpurify.io import atomic_path  # noqa: E402

ROUND8_ROWS = [
    "TP defaults (round 7)",
    "TP n_networks 3, beta 0.9",
    "raw",
    "PCA, 16 dims",
    "invariant projection",
    "normal-difference",
]
COHORTS = "simulated,simulated_likeness,tcga_brca_paired_metagsca,tcga_brca_divergence"


def fit_and_score(
    cname: str,
    seed: int,
    variant: str,
    root: str,
    settings: dict[str, Any],
    patch: Any = None,
    keep_embedding: bool = False,
) -> list[dict[str, Any]]:
    """One sweep row: the cohort loaded, a TwinPurify with the round-7 defaults changed by `settings` fitted
    (inside the context manager `patch` when given) and scored.

    Every variant of these sweeps is a change to the round-7 defaults (`pins.ROUND7`), so its rows stay what
    they measured whatever the package's defaults become. With `keep_embedding` the row also holds the
    embedding under ``"_embedding"``, for a sweep that scores more (the caller removes it before the row is
    written)."""
    import torch
    import twinpurify as tp

    torch.set_num_threads(1)
    logging.getLogger("twinpurify").setLevel(logging.WARNING)
    from contextlib import nullcontext

    from run_cohorts import score
    from twinpurify.metrics import score_simulated

    c = cohort(cname, seed, root)
    t, n = tumors_normals(c)
    t0 = time.perf_counter()
    with patch if patch is not None else nullcontext():
        model = tp.TwinPurify(
            random_state=seed, device="cpu", n_genes=min(3000, t.shape[1]), verbose=False, **{**ROUND7, **settings}
        )
        Z = np.asarray(model.fit_transform(t, n))
    fit_s = time.perf_counter() - t0
    s = score_simulated(Z, c, seed=seed) if cname.startswith("simulated") else score(cname, c, Z, seed)
    row = {"cohort": cname, "method": variant, "seed": seed, "fit_s": fit_s, **s}
    return [{**row, "_embedding": Z} if keep_embedding else row]


def main_beside_round8(
    name: str,
    doc: str,
    variants: list[str],
    job: Callable[..., list[dict[str, Any]]],
    note: str,
    extra: Callable[[Path], str] | None = None,
) -> None:
    """The command line of a sweep `name` (e.g. "sweep_round9"): run `variants` with `job`, or, with
    --render-only, write NAME.md from NAME.csv beside round 8's reference rows, under `note`; `extra`, given
    the CSV, returns more Markdown for the end of NAME.md."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--render-only", action="store_true")
    ap.add_argument("--data-dir")
    ap.add_argument("--out", default=str(HERE))
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--only", help="variant names separated by ';'")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--cohorts", default=COHORTS)
    a = ap.parse_args()
    csv = Path(a.out) / f"{name}.csv"
    if a.render_only:
        new = pd.read_csv(csv)
        old = pd.read_csv(HERE / "sweep_round8.csv")
        old = old[old["method"].isin(ROUND8_ROWS) & old["cohort"].isin(new["cohort"].unique())]
        head = f"<!-- written by benchmarks/{name}.py --render-only from {name}.csv and sweep_round8.csv -->\n\n"
        md = Path(a.out) / f"{name}.md"
        render_tables(pd.concat([new, old], ignore_index=True), md, head + note)
        if extra is not None:
            with atomic_path(md) as tmp:
                tmp.write_text(md.read_text() + extra(csv))
        return
    if not a.data_dir:
        raise SystemExit("--data-dir is required (the shared/data folder)")
    jobs = plan_jobs(a.cohorts, a.seeds, a.only, [], variants)  # refuses cohorts other than the tuning ones
    jobs.sort(key=lambda j: -(2 if j[0].startswith("simulated") else 1) * (3 if "n_networks" in j[2] else 1))
    run_jobs(job, [(c, sd, v, a.data_dir) for c, sd, v in jobs], csv, a.workers)
