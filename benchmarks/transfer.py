"""Cross-platform transfer: fit on TCGA-BRCA RNA-seq, embed GSE42568 microarrays (and the reverse).

    .venv/bin/python benchmarks/transfer.py --data-dir ../shared/data [--seeds 3]

Both cohorts are restricted to their shared genes. RNA-seq log2 and fRMA log2 values sit on
different baselines, so before transforming a cohort with a model fitted on the other, each gene
of the target is shifted (in log2, i.e. a per-gene scale factor in linear space) so that its tumor
mean matches the training tumors' mean; this is stated in the results. Scores are computed on the
target cohort's tumors with the same probes as everywhere else, and compared with a model fitted
on the target itself and with the target's raw profiles.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import twinpurify as tp  # noqa: E402
from cohorts import data_dir, load_cohort  # noqa: E402
from run_cohorts import ARROWS, score, summarise  # noqa: E402
from twinpurify.io import atomic_path, write_table  # noqa: E402


def align(target: pd.DataFrame, source_tumors: pd.DataFrame, target_tumors: pd.DataFrame) -> pd.DataFrame:
    """Shift each gene of `target` so the target tumors' mean equals the source tumors' mean (log2)."""
    return target + (source_tumors.mean() - target_tumors.mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--source", default="tcga_brca_paired_metagsca")
    ap.add_argument("--target", default="gse42568_breast_gsstda")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--out", default=str(HERE))
    ap.add_argument("--render-only", action="store_true", help="rebuild transfer.md from transfer.csv")
    a = ap.parse_args()
    if a.render_only:
        df = pd.read_csv(Path(a.out) / "transfer.csv", index_col=0)
        print(render(df, int(df["n_shared_genes"].iloc[0]), Path(a.out)))
        return
    logging.getLogger("twinpurify").setLevel(logging.WARNING)
    root = data_dir(a.data_dir)
    src, tgt = load_cohort(a.source, root), load_cohort(a.target, root)
    genes = [g for g in src.tumors.columns if g in set(tgt.tumors.columns)]
    print(f"{len(genes)} genes shared by {a.source} and {a.target}", flush=True)
    for c in (src, tgt):
        c.tumors, c.normals = c.tumors[genes], c.normals[genes]
    rows = []
    for fit_on, embed in [(src, tgt), (tgt, src)]:
        label = f"{fit_on.name} -> {embed.name}"
        shifted = align(embed.tumors, fit_on.tumors, embed.tumors)
        rows.append(
            {
                "direction": label,
                "method": "raw (target)",
                "seed": 0,
                **score(embed.name, embed, tp.RawProfiles(n_genes=None, verbose=False).fit_transform(embed.tumors), 0),
            }
        )
        for seed in range(a.seeds):
            t0 = time.perf_counter()
            own = tp.TwinPurify(n_genes=None, random_state=seed, verbose=False).fit_transform(
                embed.tumors, embed.normals
            )
            rows.append(
                {
                    "direction": label,
                    "method": "TwinPurify fitted on target",
                    "seed": seed,
                    **score(embed.name, embed, own, seed),
                }
            )
            model = tp.TwinPurify(n_genes=None, random_state=seed, verbose=False).fit(fit_on.tumors, fit_on.normals)
            moved = model.transform(shifted)
            rows.append(
                {
                    "direction": label,
                    "method": "TwinPurify transferred",
                    "seed": seed,
                    **score(embed.name, embed, moved, seed),
                }
            )
            print(f"  {label} seed {seed} done in {time.perf_counter() - t0:.0f}s", flush=True)
    df = pd.DataFrame(rows)
    df["n_shared_genes"] = len(genes)
    write_table(df, Path(a.out) / "transfer.csv")
    print(render(df, len(genes), Path(a.out)))


def render(df: pd.DataFrame, n_genes: int, out: Path) -> str:
    summary = summarise(df.rename(columns={"direction": "cohort"}))
    lines = [
        f"<!-- written by benchmarks/transfer.py, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} -->",
        "",
        f"{n_genes} shared genes; before transforming, each target gene is shifted (log2) so that its tumor mean "
        "matches the training cohort's. 'raw (target)' and 'fitted on target' use the target cohort itself.",
        "",
    ]
    for direction, sub in summary.groupby(level=0, sort=False):
        sub = sub.droplevel(0)
        cols = [c for c in ARROWS if c in sub.columns and (sub[c] != "").any()]
        lines += [
            f"#### {direction}",
            "",
            "| method | " + " | ".join(ARROWS[c] for c in cols) + " | runs |",
            "|---|" + "---:|" * (len(cols) + 1),
        ]
        lines += [f"| {m} | " + " | ".join(r[c] for c in cols) + f" | {r['runs']} |" for m, r in sub.iterrows()]
        lines.append("")
    text = "\n".join(lines)
    with atomic_path(out / "transfer.md") as tmp:
        tmp.write_text(text)
    return text


if __name__ == "__main__":
    main()
