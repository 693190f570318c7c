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

Also the round-10 variant with the best subtype F1 (`sweep_round10.py`, fitted inside its patch).

Writes subtype_gap.csv (every run; rows of other seeds already there are kept) and subtype_gap.md (mean ± sd
over seeds).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import pandas as pd
import twinpurify as tp
from sklearn.metrics import f1_score
from twinpurify.io import atomic_path, write_table
from twinpurify.metrics import class_predictions, macro_f1

sys.path.insert(0, str(Path(__file__).resolve().parent))  # sweep_round10, for the patched variant
from pins import ROUND7  # noqa: E402

K = 128
COMPOSITION = ["purity", "normal_fraction", "immune_fraction"]
PATCHED = ["TP invariant front (18 dirs, shrinkage 4)"]  # round 10's best subtype F1 (sweep_round10.py)


def methods(seed: int) -> dict[str, Optional[Callable[[], tp.base.BaseEmbedder]]]:
    q = dict(verbose=False)
    return {
        "TP defaults (round 7)": lambda: tp.TwinPurify(random_state=seed, **ROUND7, **q),
        "TP n_networks 3, beta 0.9": lambda: tp.TwinPurify(random_state=seed, n_networks=3, beta_max=0.9, **q),
        "invariant projection": lambda: tp.InvariantProjection(K, **q),
        "normal-difference": lambda: tp.NormalDifference(K, **q),
        "cPCA": lambda: tp.ContrastivePCA(K, **q),
        "PCA, 16 dims": lambda: tp.PCAEmbedding(16, **q),
        "raw": lambda: tp.RawProfiles(**q),
        "true composition only": None,
        "true intrinsic PCs (10)": None,
    }


def patched_variant(name: str, seed: int, c: tp.datasets.SimulatedCohort) -> np.ndarray:
    """The training tumors' embedding by a variant of `sweep_round10.py` (fitted inside its patch)."""
    import sweep_round10

    settings, patch = sweep_round10.VARIANTS[name]
    with sweep_round10.PATCHES[patch]():
        model = tp.TwinPurify(random_state=seed, verbose=False, **{**ROUND7, **settings}).fit(c.tumors, c.normals)
        return np.asarray(model.transform(c.tumors), dtype=np.float64)


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
    made = list(methods(seed).items())
    for name, make in [*made[:2], *((v, None) for v in PATCHED), *made[2:]]:
        if name == "true composition only":
            Z = comp
        elif name == "true intrinsic PCs (10)":
            Z = c.intrinsic_components(10).to_numpy(np.float64)
        elif name in PATCHED:
            Z = patched_variant(name, seed, c)
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


def merge_runs(path: Path, df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """`df` rounded to 4 decimals, with the rows of an earlier run in `path` that this one did not redo (so
    that runs over different seeds, e.g. one process each, add up); written to `path` and returned."""
    df = df.round(4)
    if path.is_file():
        old = pd.read_csv(path)
        redone = old.set_index(keys).index.isin(df.set_index(keys).index)
        df = pd.concat([old[~redone], df], ignore_index=True)
    write_table(df.set_index("method"), path)
    return df


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent))
    a = ap.parse_args(argv)
    warnings.simplefilter("ignore")  # the probes' convergence notes
    out = Path(a.out)
    df = pd.DataFrame([r for s in a.seeds.split(",") for r in rows(int(s))])
    df = merge_runs(out / "subtype_gap.csv", df, ["seed", "method"])
    with atomic_path(out / "subtype_gap.md") as tmp:
        tmp.write_text(summarise(df) + "\n")


if __name__ == "__main__":
    main()
