"""Every TwinPurify setting of tuning rounds 7-14 (no sweep in round 13) on one frontier plot (issue 9), per simulator.

    .venv/bin/python benchmarks/sweeps_frontier.py [--out benchmarks]

Reads the sweeps' own rows (`sweep_round7.csv` to `sweep_round14.csv`, no round 13; 3 seeds in round 7, 5 after) and,
for the two baselines the sweeps do not run, contrastive PCA and the autoencoder, `frontier.csv` (3 seeds, the
same 400-tumor simulator). Three panels against purity leakage: intrinsic recovery, subtype F1 and immune R²
(issue 9's bar asks for less leakage with no less of each). Grey: every other TwinPurify setting tried
(variants, post-hoc steps); coloured, mean ± sd over seeds: the baselines, the defaults (round 7's own row for
them is folded into the later rounds' rows), the candidate of round 8 and the variants of rounds 9-12. Writes sweeps_frontier.png (the default simulator) and
sweeps_frontier_likeness.png (normal_likeness 0.8; no round-7 rows, no cPCA / autoencoder there).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from twinpurify.io import atomic_path

HERE = Path(__file__).resolve().parent
HIGHLIGHT = [
    "raw",
    "PCA, 16 dims",
    "normal-difference",
    "invariant projection",
    "cPCA",
    "autoencoder",
    "TP defaults (round 7)",
    "TP n_networks 3, beta 0.9",
    "TP purity-aware mixing",
    "TP n_networks 3, beta 0.9, purity-aware mixing",
    "TP invariant front (18 dirs, shrinkage 4)",
    "TP n_networks 3, beta 0.9, invariant front",
    "TP n_networks 3, beta 0.9, 32 kept",
    "TP mixing-fraction penalty 10",
    "TP contrastive-PCA front (18 dirs, alpha 1)",
    "TP n_networks 3, two-sided mixing (-0.45 to 0.9)",
    "TP n_networks 5, beta 0.9",
    "TP content head on PCs (weight 1, invariance 0.1), beta 0.9",
    "TP n_networks 3 (PCs, invariant, PCs), beta 0.9",
]
ROUNDS = (7, 8, 9, 10, 11, 12, 14)  # round 13 was a diagnostic without a sweep
LABELS = {"TP n_networks 3, beta 0.9": "TP n_networks 3, beta 0.9 (the defaults since round 11)"}
SAME_AS = {"TP 18 dims, beta 0.7 + post-IP keep 16": "TP defaults (round 7)"}  # round 7's name for the defaults
COLOURS = [*[f"C{i}" for i in range(10)], "black", "olive", "navy", "teal", "gold", "maroon", "lime", "purple", "cyan"]
MARKERS = "os^Dv<>phX*Pd8Hx+12"
PANELS = {
    "intrinsic_R2": "intrinsic recovery (mean CV R² of true intrinsic PCs)",
    "subtype_F1": "subtype macro-F1",
    "immune_R2": "immune-fraction CV R²",
}


def rows(cohort: str) -> pd.DataFrame:
    """The cohort's rows of every sweep, plus cPCA and the autoencoder from the frontier (default simulator)."""
    parts = []
    for r in ROUNDS:
        d = pd.read_csv(HERE / f"sweep_round{r}.csv")
        parts.append(d[d["cohort"] == cohort].assign(round=r))
    if cohort == "simulated":
        f = pd.read_csv(HERE / "frontier.csv")
        parts.append(f[f["method"].isin(["cPCA", "autoencoder"])].assign(cohort=cohort, round=0))
    df = pd.concat(parts, ignore_index=True).replace({"method": SAME_AS})
    # a method rerun in a later round (baselines, the defaults) keeps its latest round's seeds only
    latest = df.groupby("method")["round"].transform("max")
    return df[df["round"] == latest]


def plot(df: pd.DataFrame, path: Path, title: str) -> None:
    from matplotlib.figure import Figure  # the object API: no backend switch

    fig = Figure(figsize=(18, 5.6))
    means = df.groupby("method")[["purity_R2", *PANELS]].mean()
    sds = df.groupby("method")[["purity_R2", *PANELS]].std(ddof=1)
    shown = [m for m in HIGHLIGHT if m in means.index]
    for ax, (y, label) in zip(fig.subplots(1, 3), PANELS.items()):
        other = means.drop(index=shown)
        ax.scatter(
            other["purity_R2"],
            other[y],
            s=10,
            color="0.75",
            label=f"other TwinPurify settings, rounds {ROUNDS[0]}-{ROUNDS[-1]}",
        )
        for i, m in enumerate(shown):
            ax.errorbar(
                means.loc[m, "purity_R2"],
                means.loc[m, y],
                xerr=sds.loc[m, "purity_R2"],
                yerr=sds.loc[m, y],
                fmt=MARKERS[i % len(MARKERS)],
                ms=7 if m.startswith("TP") else 6,
                capsize=2,
                label=LABELS.get(m, m),
                color=COLOURS[i % len(COLOURS)],
            )
        ax.set_xlabel("purity leakage: CV R² of purity (lower is purer)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    fig.suptitle(f"{title} (mean ± sd over seeds); better = up and left")
    fig.tight_layout(rect=(0, 0, 0.82, 1))
    fig.legend(*fig.axes[0].get_legend_handles_labels(), fontsize=7, loc="center right")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(HERE))
    a = ap.parse_args(argv)
    out = Path(a.out)
    plot(
        rows("simulated"),
        out / "sweeps_frontier.png",
        f"Every setting of rounds {ROUNDS[0]}-{ROUNDS[-1]}, simulator (400 tumors)",
    )
    plot(
        rows("simulated_likeness"),
        out / "sweeps_frontier_likeness.png",
        f"Rounds 8-{ROUNDS[-1]}, simulator with normal_likeness 0.8",
    )


if __name__ == "__main__":
    main()
