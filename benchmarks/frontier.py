"""The purity-vs-biology frontier on the simulated cohort with known truth (issue 9).

    .venv/bin/python benchmarks/frontier.py [--seeds 0,1,2] [--n-tumors 400] [--n-genes 3000] [--out benchmarks]

Every method and every TwinPurify variant tried is fitted on the same simulated cohorts (one per seed)
and scored with `twinpurify.metrics.score_simulated`: leakage of purity and of the normal-tissue
fraction (lower is purer), recovery of the intrinsic programs and of the top principal components of
the true cancer-cell profiles, subtype F1, immune-fraction R^2 and C-index (higher is better).
Writes `frontier.csv` (every run), `frontier.md` (mean ± sd over seeds) and `frontier.png`
(purity leakage against intrinsic recovery, one point per method, error bars = sd over seeds).
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import twinpurify as tp
from pins import ROUND6, ROUND7  # run as a script (or imported with this folder on sys.path)
from twinpurify.baselines import InvariantProjection, NormalDifference
from twinpurify.io import atomic_path, write_table
from twinpurify.metrics import score_simulated

K = 128
HYBRID = dict(content_weight=1.0, invariance_weight=0.2, beta_max=0.9)
# the encoder reads the purity-free normal-difference representation, linear map, content head
# the encoder reads the closed-form invariant coordinates, linear map, content head = those coordinates
IP_LINEAR = dict(encoder_input="invariant", hidden_dims=(), content_weight=1.0, lr=3e-3, mask_prob=0.0, noise_std=0.0)
ND_LINEAR = dict(encoder_input="normal_difference", hidden_dims=(), content_weight=1.0, lr=3e-3)


def tp_log(*args, **kw) -> tp.TwinPurify:
    """TwinPurify reading standardised log2 profiles: the encoder input of every variant before round 6."""
    return tp.TwinPurify(*args, **{"encoder_input": "log", **ROUND6, **kw})


def tp_r6(*args, **kw) -> tp.TwinPurify:
    """TwinPurify as round 6 ran it: the PCA front, no last mixing step, beta_max 0.5 unless given."""
    return tp.TwinPurify(*args, **{"encoder_input": "pca", **ROUND6, **kw})


def methods(seed: int) -> dict[str, Callable[[], tp.base.BaseEmbedder]]:
    """Name -> factory. Baselines first, then the TwinPurify variants tried."""
    q = dict(verbose=False)
    return {
        "raw": lambda: tp.RawProfiles(**q),
        "PCA": lambda: tp.PCAEmbedding(K, **q),
        "cPCA": lambda: tp.ContrastivePCA(K, **q),
        "normal-difference": lambda: NormalDifference(K, **q),
        "invariant projection": lambda: InvariantProjection(K, **q),
        "invariant projection, shrinkage 0.01": lambda: InvariantProjection(K, shrinkage=0.01, **q),
        "invariant projection, shrinkage 0.5": lambda: InvariantProjection(K, shrinkage=0.5, **q),
        "invariant projection, shrinkage 2": lambda: InvariantProjection(K, shrinkage=2.0, **q),
        "invariant projection, shrinkage 4": lambda: InvariantProjection(K, shrinkage=4.0, **q),
        "invariant projection, shrinkage 10": lambda: InvariantProjection(K, shrinkage=10.0, **q),
        **{
            f"invariant projection, beta 0.9, shrinkage {sh}": (
                lambda sh=sh: InvariantProjection(K, beta_max=0.9, shrinkage=sh, **q)
            )
            for sh in (0.5, 1.0, 2.0, 4.0)
        },
        "autoencoder": lambda: tp.AutoencoderEmbedding(K, random_state=seed, **q),
        "TP default": lambda: tp.TwinPurify(random_state=seed, **q),
        "TP defaults of round 7 (16 of 18 dims, beta 0.7)": lambda: tp.TwinPurify(random_state=seed, **ROUND7, **q),
        "TP PCA front, 16 dims (defaults of round 6)": lambda: tp_r6(16, random_state=seed, **q),
        "TP log input, 128 dims (defaults to round 5)": lambda: tp_log(K, random_state=seed, **q),
        "TP noise 0.5": lambda: tp_log(K, noise_std=0.5, random_state=seed, **q),
        "TP hybrid (BT 0.2 + content 1, beta 0.9)": lambda: tp_log(K, random_state=seed, **HYBRID, **q),
        "TP hybrid, ND input": lambda: tp_log(
            K, random_state=seed, encoder_input="normal_difference", lr=3e-3, **HYBRID, **q
        ),
        "TP invariant input, BT 0.2 + content 1": lambda: tp_log(
            K, random_state=seed, encoder_input="invariant", content_weight=1.0, invariance_weight=0.2, **q
        ),
        "TP IP-linear, content only": lambda: tp_log(K, random_state=seed, invariance_weight=0.0, **IP_LINEAR, **q),
        **{
            f"TP IP-linear, content only, front {f:g}": (
                lambda f=f: tp_log(K, random_state=seed, invariance_weight=0.0, invariant_shrinkage=f, **IP_LINEAR, **q)
            )
            for f in (0.5, 2.0, 4.0)
        },
        "TP IP-linear, content only, beta 0.9": lambda: tp_log(
            K, random_state=seed, invariance_weight=0.0, **{**IP_LINEAR, "beta_max": 0.9}, **q
        ),
        **{
            f"TP IP-linear, content only, front {f}, beta {b}": (
                lambda f=f, b=b: tp_log(
                    K,
                    random_state=seed,
                    invariance_weight=0.0,
                    invariant_shrinkage=f,
                    **{**IP_LINEAR, "beta_max": b},
                    **q,
                )
            )
            for f, b in [(2.0, 0.9), (4.0, 0.9), (10.0, 0.9), (2.0, 0.7), (4.0, 0.7)]
        },
        "TP IP-MLP, content only": lambda: tp_log(
            K,
            random_state=seed,
            encoder_input="invariant",
            content_weight=1.0,
            invariance_weight=0.0,
            mask_prob=0.0,
            noise_std=0.0,
            lr=3e-3,
            **q,
        ),
        "TP IP-linear, BT 0.01": lambda: tp_log(K, random_state=seed, invariance_weight=0.01, **IP_LINEAR, **q),
        "TP IP-linear, BT 0.05": lambda: tp_log(K, random_state=seed, invariance_weight=0.05, **IP_LINEAR, **q),
        "TP IP-linear, BT 0.2": lambda: tp_log(K, random_state=seed, invariance_weight=0.2, **IP_LINEAR, **q),
        "TP IP-linear, BT 1": lambda: tp_log(K, random_state=seed, invariance_weight=1.0, **IP_LINEAR, **q),
        "TP IP-linear, BT 0.2, beta 0.9": lambda: tp_log(
            K, random_state=seed, invariance_weight=0.2, **{**IP_LINEAR, "beta_max": 0.9}, **q
        ),
        "TP IP-MLP, BT 0.2, no mask/noise": lambda: tp_log(
            K,
            random_state=seed,
            encoder_input="invariant",
            content_weight=1.0,
            invariance_weight=0.2,
            mask_prob=0.0,
            noise_std=0.0,
            **q,
        ),
        "TP log input, no mask/noise": lambda: tp_log(K, random_state=seed, mask_prob=0.0, noise_std=0.0, **q),
        "TP ND-linear, content only": lambda: tp_log(
            K, random_state=seed, invariance_weight=0.0, beta_max=0.3, **ND_LINEAR, **q
        ),
        "TP ND-linear, BT 0.05, beta 0.3": lambda: tp_log(
            K, random_state=seed, invariance_weight=0.05, beta_max=0.3, **ND_LINEAR, **q
        ),
        "TP ND-linear, BT 0.2, beta 0.3": lambda: tp_log(
            K, random_state=seed, invariance_weight=0.2, beta_max=0.3, **ND_LINEAR, **q
        ),
        "TP ND-linear, BT 0.2, beta 0.9": lambda: tp_log(
            K, random_state=seed, invariance_weight=0.2, beta_max=0.9, **ND_LINEAR, **q
        ),
        "TP ND-linear, BT 1, beta 0.9": lambda: tp_log(
            K, random_state=seed, invariance_weight=1.0, beta_max=0.9, **ND_LINEAR, **q
        ),
        # round 6: Barlow Twins over the tumors' top principal components (as many as embedding dimensions),
        # with the baselines and the default encoder at the same, smaller embedding size for a fair comparison
        **{f"PCA, {d} dims": (lambda d=d: tp.PCAEmbedding(d, **q)) for d in (16, 32)},
        "normal-difference, 16 dims": lambda: NormalDifference(16, **q),
        **{
            f"invariant projection, 16 dims, shrinkage {sh:g}": (
                lambda sh=sh: InvariantProjection(16, shrinkage=sh, **q)
            )
            for sh in (0.25, 1.0, 4.0)
        },
        "TP log input, 16 dims": lambda: tp_log(16, random_state=seed, **q),
        **{f"TP PCA front, {d} dims": (lambda d=d: tp_r6(d, random_state=seed, **q)) for d in (24, 32)},
        "TP PCA front, 16 dims, beta 0.9": lambda: tp_r6(16, beta_max=0.9, random_state=seed, **q),
        # round 7: the last mixing step (twinpurify.rotation) and stronger mixing, one at a time
        "TP PCA front, 16 dims, beta 0.7": lambda: tp_r6(16, beta_max=0.7, random_state=seed, **q),
        "TP PCA front, 16 of 18 dims kept (beta 0.5)": lambda: tp_r6(16, drop_mixing_dims=2, random_state=seed, **q),
    }


METRICS = ["purity_R2", "normal_R2", "programs_R2", "intrinsic_R2", "subtype_F1", "immune_R2", "C_index"]
ARROWS = {"purity_R2": "↓", "normal_R2": "↓"}


def summarise(df: pd.DataFrame) -> str:
    order = list(dict.fromkeys(df["method"]))
    g = df.groupby("method")
    ms = [m for m in METRICS if m in df and df[m].notna().any()]  # C_index needs scikit-survival
    head = "| method | " + " | ".join(f"{m} {ARROWS.get(m, '↑')}" for m in ms) + " | fit (s) |"
    lines = [head, "|---|" + "---:|" * (len(ms) + 1)]
    for name in order:
        d = g.get_group(name)
        cells = [f"{d[m].mean():.3f} ± {d[m].std(ddof=1) if len(d) > 1 else 0:.3f}" for m in ms]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {d['fit_s'].mean():.1f} |")
    return "\n".join(lines)


def plot(df: pd.DataFrame, path: Path) -> None:
    from matplotlib import colormaps
    from matplotlib.figure import Figure  # the object API: no backend switch

    cmap = colormaps["tab20"]
    fig = Figure(figsize=(14, 5.2))
    for ax, y in zip(fig.subplots(1, 2), ["intrinsic_R2", "programs_R2"]):
        for i, (name, d) in enumerate(df.groupby("method", sort=False)):
            ax.errorbar(
                d["purity_R2"].mean(),
                d[y].mean(),
                xerr=d["purity_R2"].std(ddof=1) if len(d) > 1 else 0,
                yerr=d[y].std(ddof=1) if len(d) > 1 else 0,
                fmt="os^Dv<>phX"[i % 10],
                ms=6,
                capsize=2,
                label=name,
                color=cmap(i % 20),
            )
        ax.set_xlabel("purity leakage: CV R² of purity (lower is purer)")
        ax.set_ylabel(
            {
                "intrinsic_R2": "intrinsic recovery: mean CV R² of true intrinsic PCs",
                "programs_R2": "mean CV R² of the intrinsic programs",
            }[y]
        )
        ax.grid(alpha=0.3)
    fig.suptitle("Frontier on the simulated cohort (mean ± sd over seeds); better = up and left")
    fig.tight_layout(rect=(0, 0, 0.8, 1))
    fig.legend(*fig.axes[0].get_legend_handles_labels(), fontsize=7, loc="center right")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--n-tumors", type=int, default=400)
    ap.add_argument("--n-normals", type=int, default=60)
    ap.add_argument("--n-genes", type=int, default=3000)
    ap.add_argument("--normal-likeness", type=float, default=0.0, help="simulate_cohort's normal_likeness")
    ap.add_argument("--name", default="frontier", help="file stem of the outputs (<name>.csv/.md/.png)")
    ap.add_argument("--methods", default=None, help="semicolon-separated subset of the method names")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent))
    ap.add_argument("--append", action="store_true", help="add to (replace same method/seed rows of) <name>.csv")
    ap.add_argument("--render-only", action="store_true", help="rebuild <name>.md/.png from <name>.csv")
    a = ap.parse_args(argv)
    logging.getLogger("twinpurify").setLevel(logging.WARNING)
    out = Path(a.out)
    if a.render_only:
        render(with_cohort(pd.read_csv(out / f"{a.name}.csv")), out, a.name)
        return
    if a.normal_likeness and a.name == "frontier":
        raise SystemExit("--normal-likeness needs --name: the frontier.* files hold the default simulator's frontier")
    unknown = sorted(set(a.methods.split(";")) - set(methods(0))) if a.methods else []
    if unknown:
        raise SystemExit(f"unknown method names: {'; '.join(unknown)} (see methods() in this file)")
    cohort = {
        "n_tumors": a.n_tumors,
        "n_normals": a.n_normals,
        "n_genes": a.n_genes,
        "normal_likeness": a.normal_likeness,
    }
    if a.methods and not a.append and (out / f"{a.name}.csv").is_file():
        raise SystemExit(
            f"{a.name}.csv exists: --methods without --append would replace it with a subset; add --append"
        )
    old = with_cohort(pd.read_csv(out / f"{a.name}.csv")) if a.append and (out / f"{a.name}.csv").is_file() else None
    if old is not None:
        theirs = old[list(cohort)].drop_duplicates().to_dict("records")
        if theirs != [cohort]:
            raise SystemExit(
                f"{a.name}.csv holds runs on other cohorts {theirs}; this run is {cohort}: use another --name"
            )
    rows = []
    for seed in [int(s) for s in a.seeds.split(",")]:
        c = tp.datasets.simulate_cohort(
            n_tumors=a.n_tumors, n_normals=a.n_normals, n_genes=a.n_genes, normal_likeness=a.normal_likeness, seed=seed
        )
        for name, make in methods(seed).items():
            if a.methods and name not in a.methods.split(";"):
                continue
            t0 = time.perf_counter()
            Z = np.asarray(make().fit_transform(c.tumors, c.normals))
            fit_s = time.perf_counter() - t0
            s = score_simulated(Z, c, seed=seed)
            rows.append({"method": name, "seed": seed, **cohort, "fit_s": fit_s, **s})
            print(f"seed {seed} {name:<42s} " + " ".join(f"{k} {v:.3f}" for k, v in s.items()), flush=True)
            df = pd.DataFrame(rows)
            if old is not None:
                keep = ~old.set_index(["method", "seed"]).index.isin(df.set_index(["method", "seed"]).index)
                df = pd.concat([old[keep], df], ignore_index=True)
            write_table(df.round({m: 4 for m in [*METRICS, "fit_s"]}).set_index("method"), out / f"{a.name}.csv")
    render(df, out, a.name)


def with_cohort(df: pd.DataFrame) -> pd.DataFrame:
    """Rows written before the cohort columns existed were all run on the default cohort (60 normals, 3000 genes)."""
    for col, default in {"n_normals": 60, "n_genes": 3000, "normal_likeness": 0.0}.items():
        df[col] = df[col].fillna(default) if col in df else default
    return df


def render(df: pd.DataFrame, out: Path, name: str) -> None:
    """`<name>.md` and `.png`; the cohort described is the one recorded in the rows (one only)."""
    cohorts = df[["n_tumors", "n_normals", "n_genes", "normal_likeness"]].drop_duplicates()
    if len(cohorts) != 1:
        raise SystemExit(f"{name}.csv mixes cohorts:\n{cohorts.to_string(index=False)}")
    c = cohorts.iloc[0]
    order = [m for m in methods(0) if m in set(df["method"])]
    df = df.set_index("method").loc[order].reset_index()
    seeds = ",".join(str(s) for s in sorted(df["seed"].unique()))
    with atomic_path(out / f"{name}.md") as tmp:
        tmp.write_text(
            f"Simulated cohort: {int(c.n_tumors)} tumors, {int(c.n_normals)} normals, {int(c.n_genes)} genes"
            + (f", normal_likeness {c.normal_likeness:g}" if c.normal_likeness else "")
            + "; "
            f"seeds {seeds}; {K} dimensions unless the method's name says otherwise (`TP default`, the defaults "
            "since round 11: three networks of 18 dimensions, beta_max 0.9, the last step keeping 16; `TP defaults of "
            "round 7`: one network, beta_max 0.7, 16 of 18 kept); "
            "CV probes as in twinpurify.metrics.\n\n" + summarise(df) + "\n"
        )
    plot(df, out / f"{name}.png")


if __name__ == "__main__":
    main()
