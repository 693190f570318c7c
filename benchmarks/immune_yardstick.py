"""What the simulator's immune yardstick measures, beside two that mixing moves less or more (issue 9, round 10).

    .venv/bin/python benchmarks/immune_yardstick.py [--seeds 0,1,2,3,4] [--likeness 0,0.8] [--out benchmarks]

The frontier scores immune retention as the CV R² of each tumor's immune *fraction*,
``(1 - purity) * immune_share``. Adding normal tissue to a tumor (what the views do, and what lower purity
is) lowers that fraction, so an embedding that is exactly invariant to normal mixing cannot read all of
it; a purity-leaky one reads part of it through purity. The yardsticks side by side:

- ``immune_R2``: the frontier's (immune cells among all cells);
- ``immune_ratio_R2``: the log ratio of immune to cancer cells, which mixing with normal tissue leaves
  unchanged (normals carry almost no immune cells in this simulator). It is not free of purity (at a given
  immune share a less pure tumor has more immune cells per cancer cell: the "true purity only" row) nor of
  subtype (the subtypes differ in immune share), so a leaky embedding reads part of it that way too;
- ``immune_share_R2``: immune cells among the non-cancer cells (moved by mixing, so a purifier is expected to
  lose it; independent of purity).

Reference rows: true purity alone and the true intrinsic profiles' top 10 principal components; and two that
say what an ideal purifier could keep (round 13), each column standardised:

- ``true mixing-invariant truth``: everything about a tumor that mixing it with normal tissue leaves unchanged
  — the intrinsic PCs, the subtype (one-hot), the log immune-to-cancer ratio and the immune share of the
  non-normal cells. An embedding exactly invariant to the views' mixing holds at most this;
- ``true intrinsic + immune fraction``: the intrinsic PCs, the subtype and the immune fraction itself (which
  mixing lowers): what the frontier's yardsticks ask to keep.

Methods as in `subtype_gap.py`, plus the autoencoder. 400 tumors, 60 normals, 3,000 genes; the default simulator and the
one whose tumor biology also points at normal tissue (``normal_likeness`` 0.8).

Writes immune_yardstick.csv (every run; rows of other seeds already there are kept) and
immune_yardstick.md (mean ± sd over seeds, per simulator).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import twinpurify as tp
from twinpurify.io import atomic_path
from twinpurify.metrics import cv_r2

sys.path.insert(0, str(Path(__file__).resolve().parent))
from subtype_gap import K, merge_runs, methods  # noqa: E402

SKIP = {"true composition only"}  # holds the immune fraction itself


def targets(truth: pd.DataFrame) -> dict[str, np.ndarray]:
    """The three immune yardsticks' targets (and purity), from a simulated cohort's truth."""
    purity = truth["purity"].to_numpy(np.float64)
    return {
        "purity": purity,
        "immune": truth["immune_fraction"].to_numpy(np.float64),
        "immune_ratio": np.log(truth["immune_fraction"].to_numpy(np.float64) / purity),
        "immune_share": truth["immune_fraction"].to_numpy(np.float64) / (1 - purity),
    }


def oracles(c: tp.datasets.SimulatedCohort) -> dict[str, np.ndarray]:
    """Truth-built embeddings: what an exactly mixing-invariant embedding could hold at best, and what the
    yardsticks ask to keep (the immune fraction instead of the invariant ratio); columns standardised."""
    t = c.truth
    purity, immune = t["purity"].to_numpy(np.float64), t["immune_fraction"].to_numpy(np.float64)
    base = [c.intrinsic_components(10).to_numpy(np.float64), pd.get_dummies(t["subtype"]).to_numpy(np.float64)]
    ratio = immune / purity
    built = {
        "true mixing-invariant truth": np.column_stack([*base, np.log(ratio), ratio / (1 + ratio)]),
        "true intrinsic + immune fraction": np.column_stack([*base, immune]),
    }
    return {k: (Z - Z.mean(0)) / Z.std(0) for k, Z in built.items()}


def rows(seed: int, likeness: float, references_only: bool = False) -> list[dict]:
    c = tp.datasets.simulate_cohort(n_tumors=400, n_normals=60, n_genes=3000, seed=seed, normal_likeness=likeness)
    y = targets(c.truth)
    make = {k: v for k, v in methods(seed).items() if k not in SKIP}
    make["autoencoder"] = lambda: tp.AutoencoderEmbedding(K, random_state=seed, verbose=False)
    if references_only:
        make = {}
    out = []
    for name, build in make.items():
        if name == "true intrinsic PCs (10)":
            Z = c.intrinsic_components(10).to_numpy(np.float64)
        else:
            assert build is not None
            Z = np.asarray(build().fit(c.tumors, c.normals).transform(c.tumors), dtype=np.float64)
        out.append({"likeness": likeness, "seed": seed, "method": name, **scores(Z, y, seed)})
        print(f"likeness {likeness} seed {seed} {name}: {out[-1]['immune_ratio_R2']:.3f}", flush=True)
    out.append(
        {"likeness": likeness, "seed": seed, "method": "true purity only", **scores(y["purity"][:, None], y, seed)}
    )
    out += [
        {"likeness": likeness, "seed": seed, "method": name, **scores(Z, y, seed)} for name, Z in oracles(c).items()
    ]
    return out


def scores(Z: np.ndarray, y: dict[str, np.ndarray], seed: int) -> dict[str, float]:
    return {f"{k}_R2": cv_r2(Z, v, seed=seed) for k, v in y.items()}


def summarise(df: pd.DataFrame) -> str:
    cols = [c for c in df.columns if c not in ("likeness", "seed", "method")]
    parts = []
    for likeness, d in df.groupby("likeness", sort=False):
        lines = [
            f"Simulator normal_likeness {likeness:g} (seeds {', '.join(map(str, sorted(d['seed'].unique())))})",
            "",
        ]
        lines += ["| method | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
        for name, g in d.groupby("method", sort=False):
            lines.append(
                f"| {name} | " + " | ".join(f"{g[c].mean():.3f} ± {g[c].std(ddof=1):.3f}" for c in cols) + " |"
            )
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--likeness", default="0,0.8")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent))
    ap.add_argument("--render-only", action="store_true", help="rewrite the .md from the .csv")
    ap.add_argument(
        "--references-only", action="store_true", help="score only the truth-built rows (others in the .csv kept)"
    )
    a = ap.parse_args(argv)
    out = Path(a.out)
    if a.render_only:
        df = pd.read_csv(out / "immune_yardstick.csv")
    else:
        warnings.simplefilter("ignore")  # the probes' convergence notes
        df = pd.DataFrame(
            [
                r
                for lk in a.likeness.split(",")
                for s in a.seeds.split(",")
                for r in rows(int(s), float(lk), a.references_only)
            ]
        )
        df = merge_runs(out / "immune_yardstick.csv", df, ["likeness", "seed", "method"])
    with atomic_path(out / "immune_yardstick.md") as tmp:
        tmp.write_text(summarise(df) + "\n")


if __name__ == "__main__":
    main()
