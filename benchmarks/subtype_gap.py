"""Where TwinPurify's subtype F1 gap on the simulator lies (issue 9): per-subtype F1, and F1 with the true
composition added as features.

    .venv/bin/python benchmarks/subtype_gap.py [--seeds 0,1,2,3,4] [--out benchmarks]

Simulator of the frontier (400 tumors, 60 normals, 3,000 genes). Its subtypes differ in purity by
construction (S4, the smallest, is the least pure) and in immune share, so composition alone separates
them above chance. For each method: macro-F1 of the CV logistic probe (`twinpurify.metrics.macro_f1`),
the same probe with the true purity, normal-tissue and immune fractions appended (how much of a gap is
the composition cue a leaky embedding keeps), and each subtype's own F1 (from the same out-of-fold predictions,
`twinpurify.metrics.class_predictions`). Reference rows: the true composition alone and the true
intrinsic profiles' top 10 principal components.

Writes subtype_gap.csv (every run) and subtype_gap.md (mean ± sd over seeds).
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import pandas as pd
import twinpurify as tp
from sklearn.metrics import f1_score
from twinpurify.io import atomic_path, write_table
from twinpurify.metrics import class_predictions, macro_f1

K = 128
COMPOSITION = ["purity", "normal_fraction", "immune_fraction"]


def methods(seed: int) -> dict[str, Optional[Callable[[], tp.base.BaseEmbedder]]]:
    q = dict(verbose=False)
    return {
        "TP defaults": lambda: tp.TwinPurify(random_state=seed, **q),
        "TP n_networks 3, beta 0.9": lambda: tp.TwinPurify(random_state=seed, n_networks=3, beta_max=0.9, **q),
        "invariant projection": lambda: tp.InvariantProjection(K, **q),
        "normal-difference": lambda: tp.NormalDifference(K, **q),
        "cPCA": lambda: tp.ContrastivePCA(K, **q),
        "PCA, 16 dims": lambda: tp.PCAEmbedding(16, **q),
        "raw": lambda: tp.RawProfiles(**q),
        "true composition only": None,
        "true intrinsic PCs (10)": None,
    }


def per_subtype_f1(Z: np.ndarray, y: pd.Series, seed: int) -> dict[str, float]:
    """Each subtype's F1 from the very out-of-fold predictions `macro_f1` scores."""
    truth, pred = class_predictions(Z, y, seed=seed)
    labels = sorted(np.unique(truth))
    return {f"F1_{s}": float(v) for s, v in zip(labels, f1_score(truth, pred, average=None, labels=labels))}


def rows(seed: int) -> list[dict]:
    c = tp.datasets.simulate_cohort(n_tumors=400, n_normals=60, n_genes=3000, seed=seed)
    y = c.truth["subtype"].astype(str)
    comp = c.truth[COMPOSITION].to_numpy(np.float64)
    out = []
    for name, make in methods(seed).items():
        if name == "true composition only":
            Z = comp
        elif name == "true intrinsic PCs (10)":
            Z = c.intrinsic_components(10).to_numpy(np.float64)
        else:
            assert make is not None
            Z = np.asarray(make().fit(c.tumors, c.normals).transform(c.tumors), dtype=np.float64)
        row = {
            "seed": seed,
            "method": name,
            "subtype_F1": macro_f1(Z, y, seed=seed),
            "with_composition_F1": macro_f1(np.column_stack([Z, comp]), y, seed=seed),
            **per_subtype_f1(Z, y, seed),
        }
        out.append(row)
        print(f"seed {seed} {name}: {row['subtype_F1']:.3f}", flush=True)
    return out


def summarise(df: pd.DataFrame) -> str:
    cols = [c for c in df.columns if c not in ("seed", "method")]
    lines = ["| method | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    for name, g in df.groupby("method", sort=False):
        lines.append(f"| {name} | " + " | ".join(f"{g[c].mean():.3f} ± {g[c].std(ddof=1):.3f}" for c in cols) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent))
    a = ap.parse_args(argv)
    warnings.simplefilter("ignore")  # the probes' convergence notes
    df = pd.DataFrame([r for s in a.seeds.split(",") for r in rows(int(s))])
    out = Path(a.out)
    write_table(df.round(4).set_index("method"), out / "subtype_gap.csv")
    with atomic_path(out / "subtype_gap.md") as tmp:
        tmp.write_text(summarise(df) + "\n")


if __name__ == "__main__":
    main()
