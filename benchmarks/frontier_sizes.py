"""Merge `frontier_sweep.sh` results over cohort sizes and render them (issue 9, round 3).

    .venv/bin/python benchmarks/frontier_sizes.py SWEEP_DIR [SWEEP_DIR ...] [--out benchmarks]
    .venv/bin/python benchmarks/frontier_sizes.py --render-only

Each SWEEP_DIR holds frontier_<n>.csv files (one per number of simulated tumors). Rows of the same
method, size and seed in a later directory replace earlier ones. Writes frontier_sizes.csv,
frontier_sizes.md (mean ± sd over seeds, per size) and frontier_sizes.png (purity leakage against
intrinsic recovery, one panel per size).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from frontier import METRICS, summarise
from twinpurify.io import atomic_path, write_table

HERE = Path(__file__).resolve().parent


def merge(dirs: list[Path]) -> pd.DataFrame:
    parts = [pd.read_csv(f) for d in dirs for f in sorted(d.glob("frontier_*.csv"))]
    df = pd.concat(parts, ignore_index=True)
    return df.drop_duplicates(["method", "n_tumors", "seed"], keep="last").reset_index(drop=True)


def render(df: pd.DataFrame, out: Path) -> None:
    text = [
        "Simulated cohorts of 150, 400 and 800 tumors (60 normals, 3000 genes), seeds "
        + ",".join(str(s) for s in sorted(df["seed"].unique()))
        + "; 128 dimensions unless the method's name says otherwise (`TP default`, the defaults since round 11: "
        "three networks of 18 dimensions, beta_max 0.9, the last step keeping the 16 most mixing-invariant of their "
        "54; `TP defaults of round 7`: one network, beta_max 0.7, 16 of 18 kept); rows sorted by purity leakage. "
        "Written by benchmarks/frontier_sizes.py from benchmarks/frontier_sweep.sh runs (round 3, on an H200) and, "
        'for the rows of rounds 6, 7 and 11 (`TP default`, "16 dims", "round 7"), `frontier.py --n-tumors N` on the '
        "2-core CPU machine (400 tumors: the rows of frontier.csv).\n"
    ]
    for n, d in df.groupby("n_tumors"):
        order = d.groupby("method")["purity_R2"].mean().sort_values().index
        d = d.set_index("method").loc[order].reset_index()
        text.append(f"\n### {n} tumors\n\n" + summarise(d))
    with atomic_path(out / "frontier_sizes.md") as tmp:
        tmp.write_text("\n".join(text) + "\n")
    plot(df, out / "frontier_sizes.png")


def plot(df: pd.DataFrame, path: Path) -> None:
    from matplotlib.figure import Figure

    sizes = sorted(df["n_tumors"].unique())
    fig = Figure(figsize=(5.2 * len(sizes), 4.6))

    def family(m: str) -> tuple[str, str]:
        if m.startswith("invariant projection"):
            return "C0", "o"
        if m.startswith("TP IP-linear, content only"):
            return "C3", "s"
        if m.startswith("TP"):
            return "C1", "^"
        return "0.3", "D"

    for ax, n in zip(fig.subplots(1, len(sizes)), sizes):
        g = df[df["n_tumors"] == n].groupby("method")[["purity_R2", "intrinsic_R2"]]
        mean, sd = g.mean(), g.std(ddof=1).fillna(0)
        for m in mean.index:
            color, marker = family(m)
            ax.errorbar(
                mean.loc[m, "purity_R2"],
                mean.loc[m, "intrinsic_R2"],
                xerr=sd.loc[m, "purity_R2"],
                yerr=sd.loc[m, "intrinsic_R2"],
                fmt=marker,
                color=color,
                ms=5,
                capsize=2,
            )
        ip = mean[mean.index.str.startswith("invariant projection")].sort_values("purity_R2")
        ax.plot(ip["purity_R2"], ip["intrinsic_R2"], color="C0", lw=0.8, alpha=0.6)
        lc = mean[mean.index.str.startswith("TP IP-linear, content only")].sort_values("purity_R2")
        ax.plot(lc["purity_R2"], lc["intrinsic_R2"], color="C3", lw=0.8, alpha=0.6, ls="--")
        ax.set_title(f"{n} tumors", fontsize=10)
        ax.set_xlabel("purity leakage (CV R², lower is purer)")
        ax.set_ylabel("intrinsic recovery (CV R² of true intrinsic PCs)")
        ax.grid(alpha=0.3)
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], color="C0", marker="o", label="invariant projection (shrinkage curve)"),
        Line2D([], [], color="C3", marker="s", ls="--", label="TwinPurify, learned invariance (content term)"),
        Line2D([], [], color="C1", marker="^", ls="", label="other TwinPurify variants"),
        Line2D([], [], color="0.3", marker="D", ls="", label="PCA / normal-difference"),
    ]
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=8)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dirs", nargs="*", type=Path)
    ap.add_argument("--out", type=Path, default=HERE)
    ap.add_argument("--render-only", action="store_true")
    a = ap.parse_args(argv)
    if a.render_only:
        df = pd.read_csv(a.out / "frontier_sizes.csv")
    else:
        df = merge(a.dirs)
        write_table(
            df[["method", "n_tumors", "seed", "fit_s", *[m for m in METRICS if m in df]]].set_index("method"),
            a.out / "frontier_sizes.csv",
        )
    render(df, a.out)


if __name__ == "__main__":
    main()
