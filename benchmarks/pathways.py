"""Pathway scores on raw vs purified expression (issue 10): simulator and the breast cohorts.

    .venv/bin/python benchmarks/pathways.py --data-dir ../shared/data [--seeds 0,1,2] [--out benchmarks]
        [--only "MODEL;MODEL"]   # fit only these models; their rows replace theirs in the existing pathways.csv

For each model (PCA, invariant projection, TwinPurify with the round-7 defaults, pinned, and with the defaults
since round 11, the latter rows added on their own with --only; all genes kept, n_genes=None) the
pathways are scored with `model.pathway_activity` (ULM) on the samples' own log2 profiles
(``purified=False``, "raw"), on the model's purified expression (the readout alone, "purified") and
on its residual form (``residual=True``, "residual"), and compared; one model-free row ("no embedding",
"directions removed": the profile minus its part along the same contamination directions) shows what
the embedding adds to the residual form:

- simulator, RNA-seq and microarray platforms and the normal-likeness simulator (true program
  footprints as the net, `SimulatedCohort.program_net`): Spearman of each program's score with the
  true program (higher is better) and |Spearman| with purity (lower), averaged over the programs and
  for the EMT-like program 2 alone (half its genes are fibroblast genes: the one raw scores confound
  with the normal tissue); and what the expression itself still holds: CV R² of purity (lower), the
  immune fraction and, on the normal-likeness simulator, the tumors' normal-likeness (higher) from
  its top 20 principal components;
- TCGA-BRCA (paired, 113 tumors) and GSE42568 (104 tumors; microarray), PROGENy's 14 pathways:
  mean |Spearman| of the scores with copy-number (ABSOLUTE) purity, macro-F1 of PAM50 / copy-number
  clusters / grade from the 14 scores (CV logistic probe), C-index of a Cox model on them.

Writes pathways.csv (every run), pathways.md (mean ± sd over seeds) and pathways.png.
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd
import twinpurify as tp
from scipy.stats import spearmanr
from twinpurify.io import atomic_path, write_table
from twinpurify.metrics import c_index, macro_f1
from twinpurify.pathways import activity, progeny

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cohorts import add_external_labels, data_dir, load_cohort  # noqa: E402
from pins import ROUND7  # noqa: E402

TP = "TwinPurify (round-7 defaults)"
TP_NOW = "TwinPurify (defaults since round 11)"
MODELS = ["PCA", "invariant projection", TP, TP_NOW]  # the order of the table's rows, then the two below

K = 128


def models(seed: int, only: Optional[list[str]] = None) -> dict[str, tp.base.BaseEmbedder]:
    """The compared models (those named in `only`, when given)."""
    q = dict(verbose=False, n_genes=None)
    every = {
        "PCA": tp.PCAEmbedding(K, **q),
        "invariant projection": tp.InvariantProjection(K, **q),
        TP: tp.TwinPurify(random_state=seed, **ROUND7, **q),  # 16 dimensions
        TP_NOW: tp.TwinPurify(random_state=seed, **q),
    }
    assert list(every) == MODELS
    return {k: m for k, m in every.items() if only is None or k in only}


def mean_abs_rho(act: pd.DataFrame, y: pd.Series) -> float:
    ok = y.notna().to_numpy()
    return float(np.nanmean([abs(spearmanr(act[c].to_numpy()[ok], y.to_numpy()[ok])[0]) for c in act.columns]))


KINDS = ("raw", "purified", "residual", "directions removed")
NO_EMBEDDING = "no embedding"  # the model-free row: the profile minus its part along the contamination directions


def expression(m: tp.base.BaseEmbedder, X: pd.DataFrame, kind: str) -> pd.DataFrame:
    """The samples' log2 expression of the model's genes in one of the compared forms."""
    if kind == "raw":
        return m.log_expression(X)
    if kind in ("purified", "residual"):
        return m.purified_expression(X, residual=kind == "residual")
    pp, Q = m.preprocessor_, m.readout_.directions  # "directions removed": no embedding involved
    Xs = (m.log_expression(X).to_numpy() - pp.mean_) / pp.std_
    return pd.DataFrame((Xs - (Xs @ Q) @ Q.T) * pp.std_ + pp.mean_, index=X.index, columns=m.genes_)


def pc_r2(E: pd.DataFrame, y: pd.Series, k: int = 20) -> float:
    """CV R² of `y` from the expression's top `k` principal components (ridge): signal the profile still holds."""
    from sklearn.decomposition import PCA
    from sklearn.linear_model import RidgeCV
    from sklearn.metrics import r2_score
    from sklearn.model_selection import KFold, cross_val_predict

    F = PCA(k, random_state=0).fit_transform(E.to_numpy(np.float64))
    pred = cross_val_predict(
        RidgeCV(alphas=np.logspace(-3, 3, 13)), F, y.to_numpy(), cv=KFold(5, shuffle=True, random_state=0)
    )
    return float(r2_score(y.to_numpy(), pred))


def simulator_rows(
    seed: int, platform: str = "rnaseq", normal_likeness: float = 0.0, only: Optional[list[str]] = None
) -> list[dict]:
    q = dict(n_tumors=400, n_normals=60, n_genes=3000, seed=seed, platform=platform, normal_likeness=normal_likeness)
    c = tp.datasets.simulate_cohort(**q)
    # the ceiling: the same cancer cells without normal or immune cells (same seed and cancer profiles, purity ~1, count noise redrawn)
    twin = tp.datasets.simulate_cohort(**q, purity_range=(0.99, 0.999))
    net = c.program_net()
    cohort = "simulated" + ("" if platform == "rnaseq" else f"_{platform}") + ("_likeness" if normal_likeness else "")
    rows = []
    # (name, model, samples, the forms scored)
    fitted = [(name, m.fit(c.tumors, c.normals), c.tumors, KINDS[:3]) for name, m in models(seed, only).items()]
    if only is None:  # the model-free row (the round-7 model's preprocessing and directions) and the ceiling
        fitted.append((NO_EMBEDDING, dict((n, m) for n, m, _, _ in fitted)[TP], c.tumors, KINDS[3:]))
        twin_model = tp.PCAEmbedding(K, verbose=False, n_genes=None).fit(twin.tumors)
        fitted.append(("pure-tumor twin (ceiling)", twin_model, twin.tumors, KINDS[:1]))
    for name, m, X, kinds in fitted:
        for kind in kinds:
            E = expression(m, X, kind)
            act = activity(E, net)
            row = {
                "cohort": cohort,
                "model": name,
                "scores": kind,
                "seed": seed,
                "program_rho": float(np.mean([spearmanr(act[p], c.truth[p])[0] for p in act.columns])),
                "purity_rho": mean_abs_rho(act, c.truth["purity"]),
                "program_2_rho": float(spearmanr(act["program_2"], c.truth["program_2"])[0]),
                "program_2_purity_rho": mean_abs_rho(act[["program_2"]], c.truth["purity"]),
                "subtype_F1": macro_f1(act.to_numpy(), c.truth["subtype"], seed=seed),
                "PC_purity_R2": pc_r2(E, c.truth["purity"]),
                "PC_immune_R2": pc_r2(E, c.truth["immune_fraction"]),
            }
            if normal_likeness:
                row["PC_likeness_R2"] = pc_r2(E, c.truth["normal_likeness"])
            rows.append(row)
    return rows


def cohort_rows(name: str, root: Path, seed: int, only: Optional[list[str]] = None) -> list[dict]:
    c = add_external_labels(load_cohort(name, root), root)
    lab = c.labels
    rows = []
    for mname, m in models(seed, only).items():
        if mname not in (TP, TP_NOW) and seed != 0:  # deterministic methods: once
            continue
        m.fit(c.tumors, c.normals)
        for model_name, kind in [(mname, k) for k in KINDS[:3]] + ([(NO_EMBEDDING, KINDS[3])] * (mname == "PCA")):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # pathways with < 5 measured genes are dropped (stated below)
                act = activity(expression(m, c.tumors, kind), progeny())
            row = {"cohort": name, "model": model_name, "scores": kind, "seed": seed, "n_pathways": act.shape[1]}
            if "purity_ABSOLUTE" in lab:
                row["purity_rho"] = mean_abs_rho(act, lab["purity_ABSOLUTE"])
            for col, key in (("pam50_brca2015", "PAM50_F1"), ("pam50_genefu", "PAM50_F1"), ("cluster_CNV", "CNV_F1")):
                if col in lab:
                    row[key] = macro_f1(act.to_numpy(), lab[col], seed=0)
            if "grade" in lab:
                row["grade_F1"] = macro_f1(act.to_numpy(), lab["grade"], seed=0)
            t = lab["os_time_days"] if "os_time_days" in lab else lab.get("os_time_months")
            if t is not None:
                row["C_index"] = c_index(act.to_numpy(), t, lab["os_event"], seed=0)
            rows.append(row)
    return rows


def summarise(df: pd.DataFrame) -> str:
    out = []
    metrics = [c for c in df.columns if c not in ("cohort", "model", "scores", "seed", "n_pathways")]
    for cohort, d in df.groupby("cohort", sort=False):
        cols = [m for m in metrics if d[m].notna().any()]
        out.append(
            f"\n**{cohort}**"
            + (
                f" ({int(d['n_pathways'].max())} PROGENy pathways scored)"
                if "n_pathways" in d and d["n_pathways"].notna().any()
                else ""
            )
            + "\n"
        )
        out.append("| model | scores | " + " | ".join(f"{m} {'↓' if 'purity' in m else '↑'}" for m in cols) + " |")
        out.append("|---|---|" + "---:|" * len(cols))
        for (model, kind), g in d.groupby(["model", "scores"], sort=False):
            cells = [f"{g[m].mean():.3f} ± {g[m].std(ddof=1) if len(g) > 1 else 0:.3f}" for m in cols]
            out.append(f"| {model} | {kind} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def plot(df: pd.DataFrame, path: Path) -> None:
    from matplotlib.figure import Figure

    panels = [
        (c, m)
        for c in df["cohort"].unique()
        for m in ("purity_rho", "program_rho", "program_2_rho", "PAM50_F1", "grade_F1")
    ]
    panels = [(c, m) for c, m in panels if m in df and df.loc[df["cohort"] == c, m].notna().any()]
    rows = 1 if len(panels) <= 5 else 2
    cols = -(-len(panels) // rows)
    fig = Figure(figsize=(3.0 * cols, 3.4 * rows))
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    for ax, (c, m) in zip(axes, panels):
        d = df[df["cohort"] == c].groupby(["model", "scores"], sort=False)[m].agg(["mean", "std"]).reset_index()
        names = list(d["model"].unique())
        x = np.arange(len(names))
        for i, kind in enumerate(KINDS):  # the ceiling has raw scores only, the model-free row its own kind
            e = d[d["scores"] == kind].set_index("model").reindex(names)
            color = ["0.6", "C0", "C1", "C2"][i]
            ax.bar(x + (i - 1.5) * 0.2, e["mean"], 0.2, yerr=e["std"].fillna(0), label=kind, color=color)
        ax.set_xticks(x, names, rotation=30, ha="right", fontsize=7)
        ax.set_title(f"{c.replace('_paired_metagsca', '').replace('_breast_gsstda', '')}\n{m}", fontsize=8)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent))
    ap.add_argument("--render-only", action="store_true", help="rebuild pathways.md/.png from pathways.csv")
    ap.add_argument("--only", help="models to fit, separated by ';'; their rows replace theirs in pathways.csv")
    a = ap.parse_args(argv)
    out = Path(a.out)
    if a.render_only:
        render(pd.read_csv(out / "pathways.csv"), out)
        return
    logging.getLogger("twinpurify").setLevel(logging.WARNING)
    root = data_dir(a.data_dir)
    only = a.only.split(";") if a.only else None
    if only is not None:  # checked before hours of fitting
        if set(only) - set(MODELS):
            raise SystemExit(f"--only: unknown models {sorted(set(only) - set(MODELS))}; known: {MODELS}")
        if {"PCA", TP} & set(only):  # the model-free rows are built from their fits
            raise SystemExit(f"--only: {NO_EMBEDDING!r} rows come from the PCA and {TP!r} fits; rerun everything")
        if not (out / "pathways.csv").is_file():
            raise SystemExit(f"--only adds rows to {out / 'pathways.csv'}, which does not exist; rerun everything")
    rows: list[dict] = []
    for seed in [int(s) for s in a.seeds.split(",")]:
        for platform, likeness in (("rnaseq", 0.0), ("microarray", 0.0), ("rnaseq", 0.8)):
            rows += simulator_rows(seed, platform, likeness, only)
        for name in ("tcga_brca_paired_metagsca", "gse42568_breast_gsstda"):
            rows += cohort_rows(name, root, seed, only)
        print(f"seed {seed} done", flush=True)
    df = pd.DataFrame(rows)
    if only is not None:  # the other models' rows as they were
        old = pd.read_csv(out / "pathways.csv")
        df = pd.concat([old[~old["model"].isin(only)], df], ignore_index=True)
    df = df.round(4)  # as the CSV keeps them, so that --render-only gives the same table
    write_table(df.set_index("cohort"), out / "pathways.csv")
    render(df, out)


def render(df: pd.DataFrame, out: Path) -> None:
    order = {m: i for i, m in enumerate([*MODELS, NO_EMBEDDING, "pure-tumor twin (ceiling)"])}
    df = df.iloc[np.argsort(df["model"].map(order).to_numpy(), kind="stable")]  # rows added with --only: in place
    with atomic_path(out / "pathways.md") as tmp:
        tmp.write_text(summarise(df) + "\n")
    plot(df, out / "pathways.png")


if __name__ == "__main__":
    main()
