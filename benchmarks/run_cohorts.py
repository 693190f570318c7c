"""Does purification work on real cohorts? Every method on the same genes, scored by CV probes.

    .venv/bin/python benchmarks/run_cohorts.py --data-dir ../shared/data [--cohorts tuning|heldout|all|NAME,...]
        [--seeds 5] [--heldout-seeds 3] [--out benchmarks]

Writes `cohorts_<set>.csv` (every score of every run) and `cohorts_<set>.md` (tables, mean and
standard deviation over seeds for the neural methods), plus a PNG per tuning cohort. The tuning
cohorts (simulated, tcga_brca_divergence, tcga_brca_paired_metagsca) are the only ones defaults
were chosen on; everything else is held out (../shared/data/README.md).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import twinpurify as tp  # noqa: E402
from cohorts import HELD_OUT, TUNING, Cohort, add_external_labels, data_dir, load_cohort  # noqa: E402
from frontier import IP_LINEAR as LEARNED_INV  # noqa: E402  (the same learned-invariance variant)
from pins import ROUND6, ROUND7  # noqa: E402
from twinpurify import metrics as M  # noqa: E402
from twinpurify.io import atomic_path, write_table  # noqa: E402
from twinpurify.neural import NeuralEmbedder  # noqa: E402
from twinpurify.plotting import plot_embeddings  # noqa: E402

N_COMPONENTS = 128
# variants tried while tuning: run on the tuning cohorts only (the held-out protocol runs the final defaults)
EXPERIMENTAL = {
    "invariant projection, beta 0.9",
    "TP learned invariance (front 2)",
    "TP learned invariance (beta 0.9)",
    "TwinPurify, log input, 128 dims (defaults to round 5)",
    "PCA, 16 dims",
    "invariant projection, 16 dims",
    "TwinPurify, log input, 16 dims",
    "TP PCA front (16 dims, beta 0.9)",
}
OLD_DEFAULTS = dict(encoder_input="log", **ROUND6)  # what TwinPurify read before round 6 (with 128 dimensions)


def simulated_cohort() -> tuple[Cohort, pd.DataFrame]:
    c = tp.datasets.simulate_cohort(n_tumors=400, n_normals=60, n_genes=2000, seed=0)
    labels = c.truth.rename(columns={"purity": "purity_CPE"})
    return Cohort("simulated", c.tumors, c.normals, labels, []), labels


def methods(seed: int, n_genes: int | None) -> dict[str, tp.base.BaseEmbedder]:
    common = dict(n_genes=n_genes, verbose=False)
    return {
        "raw": tp.RawProfiles(**common),
        "PCA": tp.PCAEmbedding(N_COMPONENTS, **common),
        "cPCA": tp.ContrastivePCA(N_COMPONENTS, **common),
        "normal-difference": tp.NormalDifference(N_COMPONENTS, **common),
        "invariant projection": tp.InvariantProjection(N_COMPONENTS, **common),
        # issue 9, round 4: the baseline with the stronger mixing that looked better on the simulator
        "invariant projection, beta 0.9": tp.InvariantProjection(N_COMPONENTS, beta_max=0.9, **common),
        "autoencoder": tp.AutoencoderEmbedding(N_COMPONENTS, random_state=seed, **common),
        "TwinPurify": tp.TwinPurify(random_state=seed, **common),
        "TwinPurify, defaults of round 7 (16 of 18 dims, beta 0.7)": tp.TwinPurify(
            random_state=seed, **ROUND7, **common
        ),
        "TwinPurify, defaults of round 6 (PCA front, 16 dims)": tp.TwinPurify(
            16, encoder_input="pca", random_state=seed, **ROUND6, **common
        ),
        "TwinPurify, log input, 128 dims (defaults to round 5)": tp.TwinPurify(
            N_COMPONENTS, random_state=seed, **OLD_DEFAULTS, **common
        ),
        # issue 9, round 3: learned mixing invariance on the closed-form invariant front-end (benchmarks/TUNING.md)
        "TP learned invariance (front 2)": tp.TwinPurify(
            N_COMPONENTS,
            random_state=seed,
            invariant_shrinkage=2.0,
            invariance_weight=0.0,
            **{**ROUND6, **LEARNED_INV},
            **common,
        ),
        "TP learned invariance (beta 0.9)": tp.TwinPurify(
            N_COMPONENTS,
            random_state=seed,
            invariance_weight=0.0,
            **{**ROUND6, **LEARNED_INV, "beta_max": 0.9},
            **common,
        ),
        # issue 9, round 6: the baselines and the earlier (log-input) network at the defaults' 16 dimensions
        "PCA, 16 dims": tp.PCAEmbedding(16, **common),
        "invariant projection, 16 dims": tp.InvariantProjection(16, **common),
        "TwinPurify, log input, 16 dims": tp.TwinPurify(16, random_state=seed, **OLD_DEFAULTS, **common),
        "TP PCA front (16 dims, beta 0.9)": tp.TwinPurify(
            16, encoder_input="pca", beta_max=0.9, drop_mixing_dims=0, n_networks=1, random_state=seed, **common
        ),
    }


def score(name: str, c: Cohort, Z, seed: int) -> dict[str, float]:
    lab = c.labels
    out: dict[str, float] = {}
    pur = "purity_CPE" if lab.get("purity_CPE", pd.Series(dtype=float)).notna().sum() >= 20 else "purity_ESTIMATE"
    if pur in lab and lab[pur].notna().sum() >= 20:
        out["purity_R2"] = M.purity_leakage(Z, lab[pur])
        out["purity_rho"] = M.purity_spearman(Z, lab[pur])[0]
    if lab.get("purity_ABSOLUTE", pd.Series(dtype=float)).notna().sum() >= 20:
        out["purity_ABSOLUTE_R2"] = M.purity_leakage(Z, lab["purity_ABSOLUTE"])
    for col in ("cluster_CNV", "cluster_meth", "cluster_protein"):
        if col in lab and lab[col].notna().sum() >= 20:
            out[f"{col}_F1"] = M.macro_f1(Z, lab[col])
    sub = "subtype" if name == "simulated" else c.subtype_column
    if sub:
        out["subtype_F1"] = M.macro_f1(Z, lab[sub])
        if sub in ("pam50_brca2015", "pam50_genefu") or (
            sub == "subtype_mrna_pancan" and "Normal" in set(lab[sub].dropna())
        ):
            out["subtype_F1_noNormal"] = M.macro_f1(Z, lab[sub], exclude=["Normal"])
    if "grade" in lab:
        out["grade_F1"] = M.macro_f1(Z, lab["grade"].astype("Int64").astype(str).replace("<NA>", np.nan))
    if name == "simulated":
        out["immune_R2"] = M.cv_r2(Z, lab["immune_fraction"])
        out["programs_R2"] = float(np.mean([M.cv_r2(Z, lab[p]) for p in lab.columns if p.startswith("program_")]))
        out["C_index"] = M.c_index(Z, lab["os_time"], lab["os_event"])
    else:
        # No immune score on real data: a marker-gene score is a linear function of the raw genes, so raw
        # profiles would win it by construction (../shared/data/README.md). Immune retention is scored on
        # the simulator, whose immune fractions are known.
        for t, e, key in [
            ("os_time_days", "os_event", "C_index"),
            ("os_time_months", "os_event", "C_index"),
            ("rfs_time_months", "rfs_event", "C_index_RFS"),
        ]:
            if t in lab and lab[t].notna().sum() >= 30 and lab[e].sum() >= 10:
                out[key] = M.c_index(Z, lab[t], lab[e])
    return out


def figures_only(name: str, root: Path | None, figure_dir: Path) -> None:
    """Redraw a tuning cohort's figure (raw, PCA, TwinPurify seed 0) without scoring."""
    c = simulated_cohort()[0] if name == "simulated" else load_cohort(name, root)
    n_genes = min(3000, c.tumors.shape[1])
    figs = {
        m: np.asarray(model.fit_transform(c.tumors, c.normals))
        for m, model in methods(0, n_genes).items()
        if m in ("raw", "PCA", "TwinPurify")
    }
    draw_figure(name, c, figs, figure_dir)


def draw_figure(name: str, c: Cohort, figs: dict[str, np.ndarray], figure_dir: Path) -> None:
    sub = "subtype" if name == "simulated" else c.subtype_column
    plot_embeddings(
        figs,
        c.labels["purity_CPE"],
        c.labels[sub],
        figure_dir / f"embeddings_{name}.png",
        title=f"{name}: top-two PCs of each representation",
    )


def run_cohort(
    name: str, root: Path | None, seeds: list[int], figure_dir: Path | None, only: list[str] | None = None
) -> list[dict]:
    c = simulated_cohort()[0] if name == "simulated" else add_external_labels(load_cohort(name, root), root)
    n_genes = min(3000, c.tumors.shape[1])
    rows, figs = [], {}
    print(
        f"== {name}: {c.tumors.shape[0]} tumors, {c.normals.shape[0]} normals, {c.tumors.shape[1]} genes"
        + (f" ({len(c.dropped_genes)} genes with missing values dropped)" if c.dropped_genes else ""),
        flush=True,
    )
    for seed in seeds:
        for mname, model in methods(seed, n_genes).items():
            if not isinstance(model, NeuralEmbedder) and seed != seeds[0]:
                continue  # deterministic methods: one run
            if only and mname not in only:
                continue
            if mname in EXPERIMENTAL and name not in ["simulated", *TUNING]:
                continue
            t0 = time.perf_counter()
            Z = model.fit_transform(c.tumors, c.normals)
            fit_s = time.perf_counter() - t0
            s = score(name, c, Z, seed)
            rows.append({"cohort": name, "method": mname, "seed": seed, "fit_s": fit_s, **s})
            print(f"   {mname:<12s} seed {seed}: " + ", ".join(f"{k} {v:.3f}" for k, v in s.items()), flush=True)
            if seed == seeds[0] and mname in ("raw", "PCA", "TwinPurify"):
                figs[mname] = np.asarray(Z)
    if figure_dir is not None and name in ["simulated", *TUNING] and not only:
        draw_figure(name, c, figs, figure_dir)
    return rows


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    metrics = [c for c in df.columns if c not in ("cohort", "method", "seed")]
    g = df.groupby(["cohort", "method"], sort=False)[metrics]
    mean, sd, n = g.mean(), g.std(), g.size()
    out = mean.copy()
    for col in metrics:
        out[col] = [
            "" if pd.isna(m) else (f"{m:.3f} ± {s:.3f}" if k > 1 and not pd.isna(s) else f"{m:.3f}")
            for m, s, k in zip(mean[col], sd[col], n)
        ]
    out["runs"] = n
    return out


ARROWS = {
    "purity_R2": "purity R² (CPE) ↓",
    "purity_ABSOLUTE_R2": "purity R² (ABSOLUTE) ↓",
    "cluster_CNV_F1": "CNV cluster F1 ↑",
    "cluster_meth_F1": "methylation cluster F1 ↑",
    "cluster_protein_F1": "protein cluster F1 ↑",
    "purity_rho": "mean abs. Spearman with purity ↓",
    "subtype_F1": "subtype F1 ↑",
    "subtype_F1_noNormal": "subtype F1 w/o Normal-like ↑",
    "grade_F1": "grade F1 ↑",
    "immune_R2": "immune R² ↑",
    "programs_R2": "programs R² ↑",
    "C_index": "C-index (OS) ↑",
    "C_index_RFS": "C-index (RFS) ↑",
}
# Fit times are kept in the CSV but not in the tables: these runs share the machine with other work;
# speed is measured on its own in speed.py.


def to_markdown(summary: pd.DataFrame) -> str:
    blocks = []
    for cohort, sub in summary.groupby(level=0, sort=False):
        sub = sub.droplevel(0)
        cols = [c for c in ARROWS if c in sub.columns and (sub[c] != "").any()]
        lines = [
            f"#### {cohort}",
            "",
            "| method | " + " | ".join(ARROWS[c] for c in cols) + " | runs |",
            "|---|" + "---:|" * (len(cols) + 1),
        ]
        for m, r in sub.iterrows():
            lines.append(f"| {m} | " + " | ".join(r[c] for c in cols) + f" | {r['runs']} |")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data-dir", default=None, help="the shared/data folder (default ../shared/data or $TWINPURIFY_DATA_DIR)"
    )
    ap.add_argument(
        "--cohorts", default="tuning", help="tuning, heldout, all, or a comma-separated list of folder names"
    )
    ap.add_argument("--seeds", type=int, default=5, help="seeds of the neural methods on tuning cohorts")
    ap.add_argument("--heldout-seeds", type=int, default=3, help="seeds of the neural methods on held-out cohorts")
    ap.add_argument("--out", default=str(HERE))
    ap.add_argument("--render-only", action="store_true", help="rebuild the .md table from an existing .csv")
    ap.add_argument(
        "--methods",
        default=None,
        help="semicolon-separated subset of methods; with an existing "
        "cohorts_<set>.csv their rows are replaced and the others kept",
    )
    ap.add_argument("--figures-only", action="store_true", help="only redraw the tuning cohorts' figures")
    a = ap.parse_args()
    logging.getLogger("twinpurify").setLevel(logging.WARNING)
    sets = {"tuning": ["simulated", *TUNING], "heldout": HELD_OUT, "all": ["simulated", *TUNING, *HELD_OUT]}
    names = sets.get(a.cohorts, a.cohorts.split(","))
    label = a.cohorts if a.cohorts in sets else "custom"
    out = Path(a.out)
    if a.render_only:
        render(pd.read_csv(out / f"cohorts_{label}.csv", index_col=0), out / f"cohorts_{label}.md", a.cohorts)
        return
    root = data_dir(a.data_dir)
    if a.figures_only:
        for name in names:
            if name in ["simulated", *TUNING]:
                figures_only(name, root, out)
        return
    rows = []
    only = a.methods.split(";") if a.methods else None
    old = None
    if only and (out / f"cohorts_{label}.csv").is_file():
        old = pd.read_csv(out / f"cohorts_{label}.csv", index_col=0)
        old = old[~old["method"].isin(only)]
    for name in names:
        n_seeds = a.seeds if name in ["simulated", *TUNING] else a.heldout_seeds
        rows += run_cohort(name, root, list(range(n_seeds)), out, only)
        df = pd.DataFrame(rows)
        if old is not None:
            order = list(dict.fromkeys(methods(0, None)))
            df = pd.concat([old, df], ignore_index=True)
            df["_o"] = df["method"].map(order.index)
            rank = {c: i for i, c in enumerate(dict.fromkeys(old["cohort"]))}
            df["_c"] = df["cohort"].map(rank).fillna(len(rank))
            df = df.sort_values(["_c", "_o", "seed"], kind="stable").drop(columns=["_o", "_c"]).reset_index(drop=True)
        write_table(df, out / f"cohorts_{label}.csv")  # after every cohort: partial results survive
        render(df, out / f"cohorts_{label}.md", a.cohorts)
    print(f"wrote {out / f'cohorts_{label}.md'}")


def render(df: pd.DataFrame, path: Path, which: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(
            f"<!-- written by benchmarks/run_cohorts.py --cohorts {which}, "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} -->\n\n" + to_markdown(summarise(df))
        )


if __name__ == "__main__":
    main()
