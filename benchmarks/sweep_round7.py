"""Issue 9, round 7: variants around the PCA-front defaults, on the simulator and both TCGA-BRCA folders.

    .venv/bin/python benchmarks/sweep_round7.py --data-dir ../shared/data --workers 16 --out DIR
        [--seeds 0,1,2] [--only NAME;NAME] [--cohorts simulated,tcga_brca_paired_metagsca,...]
    .venv/bin/python benchmarks/sweep_round7.py --render-only   # sweep_round7.csv -> sweep_round7.md

Every (cohort, seed, variant) is one job in a process pool (one torch thread each), so the grid runs
on a many-core machine in minutes; rows are written to ``DIR/sweep_round7.csv`` as jobs finish (a run
cut short keeps what it finished; rows of an earlier run that this one does not redo are kept).
Scores: the simulator's `score_simulated` yardsticks (no C-index where scikit-survival is missing) and
`run_cohorts.score` on the real folders. Only the tuning cohorts (../shared/data/README.md) are
allowed here.

"post-IP" rows add a linear step after the network: the invariant projection solved in the
embedding (tumor covariance of the embedding against the covariance of how mixed views of each
tumor move it), keeping the `keep` most invariant of its directions. It is an equivalent of
`twinpurify.rotation` written before it (same eigenproblem, ridge and scaling; its views are drawn
with the training seed, 8 per tumor). Each network is scored plain and with a few `keep`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "python"))

from pins import ROUND6  # noqa: E402

TUNING_COHORTS = [
    "simulated",
    "tcga_brca_paired_metagsca",
    "tcga_brca_divergence",
    "simulated_150",
    "simulated_800",
    "simulated_likeness",  # 400 tumors with normal_likeness=0.8 (TUNING.md, round 5)
    "simulated_microarray",  # 400 tumors measured as microarray intensities
]

PCA = dict(encoder_input="pca", **ROUND6)  # the round-6 defaults every variant starts from
VARIANTS: dict[str, dict[str, Any]] = {
    "TP round-6 defaults": {},
    "TP beta 0.7": dict(beta_max=0.7),
    "TP beta 0.9": dict(beta_max=0.9),
    "TP 24 dims, beta 0.9": dict(n_components=24, beta_max=0.9),
    "TP 32 dims, beta 0.9": dict(n_components=32, beta_max=0.9),
    "TP lambda 0.02": dict(lambd=0.02),
    "TP projector 512x2": dict(projector_dims=(512, 512)),
    "TP hidden 1024": dict(hidden_dims=(1024,)),
    "TP no mask/noise": dict(mask_prob=0.0, noise_std=0.0),
    "TP n_mix 1": dict(n_mix=1),
    "TP clean anchor": dict(clean_anchor=True),
    "TP invariance 3": dict(invariance_weight=3.0),
    "TP 2x steps": dict(max_epochs="x2"),
    "TP 18 dims": dict(n_components=18),
    "TP 20 dims": dict(n_components=20),
    "TP 18 dims, beta 0.7": dict(n_components=18, beta_max=0.7),
    "TP 20 dims, beta 0.7": dict(n_components=20, beta_max=0.7),
    "TP beta 0.9, 2x steps": dict(beta_max=0.9, max_epochs="x2"),
}
POST_IP_SHRINK = 0.1


def post_ip_keeps(k: int) -> list[int]:
    """Directions kept by the post-IP rows of a k-dimensional network: drop 2, 4 or 6 (and keep 16 of more)."""
    return sorted({k - 2, k - 4, k - 6, *([16] if k > 16 else [])})


BASELINES = ["PCA, 16 dims", "invariant projection, 16 dims", "invariant projection", "normal-difference"]


@cache
def cohort(name: str, seed: int, root: str) -> Any:
    import twinpurify as tp
    from cohorts import add_external_labels, load_cohort

    if name == "simulated_likeness":
        return tp.datasets.simulate_cohort(n_tumors=400, n_normals=60, n_genes=3000, seed=seed, normal_likeness=0.8)
    if name == "simulated_microarray":
        return tp.datasets.simulate_cohort(n_tumors=400, n_normals=60, n_genes=3000, seed=seed, platform="microarray")
    if name.startswith("simulated"):
        n = int(name.split("_")[1]) if "_" in name else 400
        return tp.datasets.simulate_cohort(n_tumors=n, n_normals=60, n_genes=3000, seed=seed)
    return add_external_labels(load_cohort(name, Path(root)), Path(root))


def tumors_normals(c: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    return c.tumors, c.normals


def baseline(name: str, common: dict[str, Any]) -> Any:
    """The baseline rows of the sweeps (rounds 7 and 8), or None for a TwinPurify variant."""
    import twinpurify as tp

    makers = {
        "raw": lambda: tp.RawProfiles(**common),
        "PCA, 16 dims": lambda: tp.PCAEmbedding(16, **common),
        "invariant projection, 16 dims": lambda: tp.InvariantProjection(16, **common),
        "invariant projection": lambda: tp.InvariantProjection(128, **common),
        "normal-difference": lambda: tp.NormalDifference(128, **common),
    }
    return makers[name]() if name in makers else None


def make(name: str, seed: int, n_genes: int, n_tumors: int) -> Any:
    import twinpurify as tp

    common: dict[str, Any] = dict(n_genes=n_genes, verbose=False)
    base = baseline(name, common)
    if base is not None:
        return base
    kw = {**PCA, **VARIANTS[name]}
    if kw.get("max_epochs") == "x2":
        from twinpurify.train import auto_schedule

        kw["max_epochs"] = 2 * auto_schedule(n_tumors).epochs
    return tp.TwinPurify(random_state=seed, device="cpu", **kw, **common)


def post_ip(
    model: Any, tumors: pd.DataFrame, normals: pd.DataFrame, keep: int, shrink: float, seed: int, joint: bool = False
):
    """The invariant projection solved in the embedding: keep the `keep` most mixing-invariant directions.

    joint: solve it over the embedding beside the encoder's input principal components (each block scaled
    to unit total variance), so the linear step can combine the network's invariants with the PCs.
    """
    from twinpurify.data import as_matrix
    from twinpurify.invariance import mixing_perturbations

    pp = model.preprocessor_
    Xs = pp.transform(as_matrix(tumors, "tumor"), "X", "error").astype(np.float32)
    Ns = pp.transform(as_matrix(normals, "normal"), "X", "error").astype(np.float64)
    normal_log = Ns * pp.std_ + pp.mean_
    draws = 8
    D = mixing_perturbations(
        Xs.astype(np.float64), normal_log, pp.mean_, pp.std_, model.beta_max, model.n_mix, draws, seed
    )

    def feats(x: np.ndarray) -> np.ndarray:
        z = model._embed(x).astype(np.float64)
        if not joint:
            return z
        import torch

        with torch.no_grad():
            p = model.module_.encoder[0](torch.from_numpy(x)).double().numpy()
        return np.hstack([z / scale[0], p / scale[1]])

    if joint:
        import torch

        z0 = model._embed(Xs).astype(np.float64)
        with torch.no_grad():
            p0 = model.module_.encoder[0](torch.from_numpy(Xs)).double().numpy()
        scale = [np.sqrt(((z0 - z0.mean(0)) ** 2).sum(1).mean()), np.sqrt(((p0 - p0.mean(0)) ** 2).sum(1).mean())]
    return keep_invariant(feats(Xs), feats((np.tile(Xs, (draws, 1)) + D).astype(np.float32)), draws, keep, shrink)


def keep_invariant(Zt: np.ndarray, Zv: np.ndarray, draws: int, keep: int, shrink: float) -> np.ndarray:
    """The tumors' embedding `Zt` projected on its `keep` most mixing-invariant directions.

    `Zv` embeds `draws` mixed views of every tumor (view block j: one view of each tumor, in order); the
    generalised eigenproblem of tumor covariance against the views' displacement covariance (ridge
    `shrink` times its mean eigenvalue), each kept direction scaled to tumor variance w / w_max.
    """
    from scipy.linalg import eigh

    Dz = Zv - np.tile(Zt, (draws, 1))
    Zc = Zt - Zt.mean(0)
    A = Zc.T @ Zc / len(Zc)
    B = Dz.T @ Dz / len(Dz)
    B += shrink * np.trace(B) / len(B) * np.eye(len(B))
    w, v = eigh(A, B)
    order = np.argsort(-w)[:keep]
    V = v[:, order]
    V /= np.sqrt((V * (A @ V)).sum(0))  # unit tumor variance per kept direction
    return Zc @ V * np.sqrt(w[order] / w[order].max())


def job(cname: str, seed: int, variant: str, root: str) -> list[dict[str, Any]]:
    import torch

    torch.set_num_threads(1)
    logging.getLogger("twinpurify").setLevel(logging.WARNING)
    from run_cohorts import score
    from twinpurify import metrics
    from twinpurify.metrics import score_simulated

    try:
        import sksurv  # noqa: F401
    except ImportError:  # a machine without scikit-survival: no C-index rather than no row
        metrics.c_index = lambda *a, **k: float("nan")

    c = cohort(cname, seed, root)
    t, n = tumors_normals(c)
    n_genes = min(3000, t.shape[1])
    t0 = time.perf_counter()
    model = make(variant, seed, n_genes, len(t))
    Z = np.asarray(model.fit_transform(t, n))
    fit_s = time.perf_counter() - t0
    embeddings = {variant: Z}
    if variant in VARIANTS:
        for keep in post_ip_keeps(Z.shape[1]):
            embeddings[f"{variant} + post-IP keep {keep}"] = post_ip(model, t, n, keep, POST_IP_SHRINK, seed)
        if variant in ("TP round-6 defaults", "TP beta 0.7"):
            for keep in (12, 16):
                E = post_ip(model, t, n, keep, POST_IP_SHRINK, seed, joint=True)
                embeddings[f"{variant} + joint post-IP keep {keep}"] = E
    rows = []
    for name, E in embeddings.items():
        s = score_simulated(E, c, seed=seed) if cname.startswith("simulated") else score(cname, c, E, seed)
        rows.append({"cohort": cname, "method": name, "seed": seed, "fit_s": fit_s, **s})
    return rows


SIM_COLS = ["purity_R2", "normal_R2", "programs_R2", "intrinsic_R2", "subtype_F1", "immune_R2", "C_index"]
REAL_COLS = [
    "purity_R2",
    "purity_ABSOLUTE_R2",
    "cluster_CNV_F1",
    "cluster_meth_F1",
    "cluster_protein_F1",
    "subtype_F1",
    "C_index",
]
HEADS = {
    "purity_R2": "purity ↓",
    "normal_R2": "normal fraction ↓",
    "programs_R2": "programs ↑",
    "intrinsic_R2": "intrinsic ↑",
    "subtype_F1": "subtype ↑",
    "immune_R2": "immune ↑",
    "purity_ABSOLUTE_R2": "ABSOLUTE ↓",
    "cluster_CNV_F1": "CNV clusters ↑",
    "cluster_meth_F1": "methylation clusters ↑",
    "cluster_protein_F1": "protein clusters ↑",
    "C_index": "C ↑",
}
REAL_HEADS = {**HEADS, "purity_R2": "CPE ↓", "subtype_F1": "PAM50 ↑"}


ROUND7_NOTE = (
    "<!-- written by benchmarks/sweep_round7.py --render-only from sweep_round7.csv -->\n",
    "Seeds 0-2 (one run of the deterministic baselines on the real folders); run on 2026-11-27 on the host "
    "CPUs of a lent H200 machine (16 processes, one thread each; torch 2.11, numpy 2.5), where "
    "scikit-survival was missing, so there is no C-index column. `+ post-IP keep k`: the network's "
    "embedding followed by the invariant projection solved in the embedding, keeping k directions (the step "
    "`drop_mixing_dims` now makes part of the model); `+ joint post-IP`: solved over the embedding beside the "
    'encoder\'s input PCs. "TP 18 dims, beta 0.7 + post-IP keep 16" is what the round-7 defaults do.\n',
)


def render_tables(df: pd.DataFrame, path: Path, note: str) -> None:
    """`note`, then one table per cohort: mean over seeds (± sd for the first column), rows by purity leakage."""
    parts = [note]
    for cohort in dict.fromkeys(df["cohort"]):
        x = df[df["cohort"] == cohort]
        sim = cohort.startswith("simulated")
        cols = [c for c in (SIM_COLS if sim else REAL_COLS) if c in x and x[c].notna().any()]
        heads = HEADS if sim else REAL_HEADS
        g = x.groupby("method")[cols]
        mean, sd = g.mean(), g.std()
        mean = mean.sort_values(cols[0])
        lines = [
            f"\n### {cohort}\n",
            "| method | " + " | ".join(heads[c] for c in cols) + " |",
            "|---|" + "---:|" * len(cols),
        ]
        for m, r in mean.iterrows():
            first = f"{r[cols[0]]:.3f}" + (f" ± {sd.loc[m, cols[0]]:.3f}" if pd.notna(sd.loc[m, cols[0]]) else "")
            lines.append(f"| {m} | {first} | " + " | ".join(f"{r[c]:.3f}" for c in cols[1:]) + " |")
        parts.append("\n".join(lines) + "\n")
    from twinpurify.io import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(parts))


def plan_jobs(cohorts: str, seeds: str, only: str | None, baselines: list[str], variants: list[str]) -> list[tuple]:
    """(cohort, seed, method) for every job of a sweep, from the command line's comma/semicolon lists.

    Only the tuning cohorts are allowed; seed-major, so a run cut short has every method on the first seeds;
    the deterministic baselines run once (first seed) on the real folders.
    """
    names = [*baselines, *variants]
    if only:
        names = [x for x in names if x in only.split(";")]
    chosen = cohorts.split(",")
    if set(chosen) - set(TUNING_COHORTS):
        raise SystemExit(f"only the tuning cohorts may be swept: {TUNING_COHORTS}")
    seed_list = [int(x) for x in seeds.split(",")]
    return [
        (cname, seed, v)
        for seed in seed_list
        for cname in chosen
        for v in names
        if not (v in baselines and not cname.startswith("simulated") and seed != seed_list[0])
    ]


def run_jobs(fn: Any, jobs: list[tuple], out: Path, workers: int) -> None:
    """Run ``fn(*args)`` for every job in a process pool; each returns rows, written to `out` as they come.

    Rows of an earlier run are kept unless this run redoes them (same cohort, method and seed); a job
    that fails is reported and skipped, so one broken variant does not lose the others.
    """
    old = pd.read_csv(out) if out.is_file() else None
    rows: list[dict[str, Any]] = []
    with ProcessPoolExecutor(workers) as ex:
        futs = {ex.submit(fn, *args): args for args in jobs}
        for f in as_completed(futs):
            try:
                r = f.result()
            except Exception as e:  # noqa: BLE001 - one broken variant must not lose the others
                print("FAILED", futs[f][:3], repr(e), flush=True)
                continue
            rows.extend(r)
            for x in r:
                print(
                    x["cohort"], x["seed"], x["method"], {k: round(v, 3) for k, v in x.items() if isinstance(v, float)}
                )
            sys.stdout.flush()
            df = pd.DataFrame(rows)
            if old is not None:
                key = ["cohort", "method", "seed"]
                df = pd.concat([old[~old.set_index(key).index.isin(df.set_index(key).index)], df], ignore_index=True)
            df.to_csv(out, index=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--render-only", action="store_true", help="rebuild sweep_round7.md from sweep_round7.csv")
    ap.add_argument("--data-dir")
    ap.add_argument("--out", default=str(HERE))
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--only", default=None)
    ap.add_argument("--cohorts", default=",".join(TUNING_COHORTS[:5]))  # round 7 ran without the likeness one
    a = ap.parse_args()
    if a.render_only:
        render_tables(
            pd.read_csv(Path(a.out) / "sweep_round7.csv"), Path(a.out) / "sweep_round7.md", "\n".join(ROUND7_NOTE)
        )
        return
    if not a.data_dir:
        raise SystemExit("--data-dir is required (the shared/data folder)")
    jobs = plan_jobs(a.cohorts, a.seeds, a.only, BASELINES, list(VARIANTS))
    jobs.sort(key=lambda j: j[0] != "simulated_800")  # the longest first, for the pool's balance
    run_jobs(job, [(c, sd, v, a.data_dir) for c, sd, v in jobs], Path(a.out) / "sweep_round7.csv", a.workers)


if __name__ == "__main__":
    main()
