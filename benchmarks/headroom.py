"""How much biology is there left to win on the simulator? Reference points beside the frontier (issue 9).

    .venv/bin/python benchmarks/headroom.py [--seeds 0,1,2] [--n-tumors 400] [--out benchmarks]

The frontier (`frontier.py`) asks whether a method leaks less purity *and* keeps more intrinsic signal
than the baselines. This script measures where that question's limits are on the same simulated cohorts:

- **pure-tumor twin**: `simulate_cohort` with the same seed and `purity_range=(0.99, 0.999)` draws the
  same cancer-cell profiles, subtypes and programs (asserted: the intrinsic profiles are equal) and
  measures them with the same count-noise model (the noise itself is redrawn: Poisson draws use a
  rate-dependent amount of randomness), so PCA of the twin is what the tumors would give without any
  normal or immune cells;
- **truth + immune fraction**: the top 40 PCs of the true cancer-cell profiles plus the true immune
  fraction, the representation that keeps exactly what the benchmark rewards: its purity R^2 is the
  leakage floor for any method that keeps immune signal;
- **de-attenuation with the true non-normal share**: an oracle given each tumor's true share p of cells
  that the normals do not explain (cancer + immune, i.e. 1 - normal fraction; the normals' mean profile as
  the contaminant), which undoes, gene by gene, the compression
  that mixing makes in log space: the mean cancer profile c is fitted by least squares from
  x = p c + (1 - p) n in linear space, and each tumor's log deviation from its expected profile is divided
  by the cancer share a = p c / (p c + (1 - p) n) of that gene (a >= `--min-share`), then PCA. It tells
  whether knowing the composition exactly would recover the biology that contamination costs PCA;
- PCA and the invariant projection of the real (contaminated) tumors, for reference;
- **the same de-attenuation with an estimated share** (no oracle): each tumor's share is its projection
  onto the mean tumor's difference from the mean normal (linear space, genes weighted by 1 / (tumor mean +
  normal mean)), scaled so that the 95th percentile (before clipping to [0.05, 1]) is 0.95, minimum
  cancer share 0.3 or 0.5; then PCA, or the invariant projection's eigenproblem solved on that
  representation, with views mixed in CPM space (beta ~ U(0, 0.5), background = plain mean of 3 random
  normals; the package's views use Dirichlet weights) and passed through the same map. This is the
  nonlinear step that a linear projection of log profiles cannot take.

With `--data-dir`, the estimated-share variants also run on the two TCGA-BRCA tuning folders (the real
data decide, as for every variant tried). Writes `headroom.csv` / `headroom.md` (mean ± sd over seeds)
and, with `--data-dir`, `headroom_brca.csv` / `headroom_brca.md`.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import twinpurify as tp
from frontier import METRICS  # the frontier's yardsticks, in its order
from sklearn.decomposition import PCA
from twinpurify.datasets import SimulatedCohort
from twinpurify.io import atomic_path, write_table
from twinpurify.metrics import score_simulated

K = 128


def cpm(counts: np.ndarray) -> np.ndarray:
    x = np.asarray(counts, dtype=np.float64)
    return x / x.sum(1, keepdims=True) * 1e6


def pca_scores(L: np.ndarray, k: int = K) -> np.ndarray:
    """PCA of per-gene standardised values, as the package's PCA baseline does."""
    L = L - L.mean(0)
    L = L / np.maximum(L.std(0), 1e-8)
    return PCA(min(k, *L.shape), random_state=0).fit_transform(L)


def cancer_mean(lin: np.ndarray, normal_mean: np.ndarray, share: np.ndarray) -> np.ndarray:
    """Least-squares mean cancer profile c of x = p c + (1 - p) n (linear space), clipped at 0."""
    p = np.asarray(share, dtype=np.float64)[:, None]
    return np.maximum((p * (lin - (1 - p) * normal_mean)).sum(0) / (p**2).sum(), 0.0)


def deattenuate(
    lin: np.ndarray, normal_mean: np.ndarray, cancer: np.ndarray, share: np.ndarray, min_share: float
) -> np.ndarray:
    """Log2 profiles with each gene's deviation from its expected value divided by its cancer share."""
    p = np.asarray(share, dtype=np.float64)[:, None]
    expected = p * cancer + (1 - p) * normal_mean
    a = np.maximum(p * cancer / np.maximum(expected, 1e-12), min_share)
    return np.log2(cancer + 1) + (np.log2(lin + 1) - np.log2(expected + 1)) / a


def deattenuated(tumor_cpm: np.ndarray, normal_cpm: np.ndarray, share: np.ndarray, min_share: float) -> np.ndarray:
    """The oracle: de-attenuation with a given (true) share per tumor (see module doc)."""
    n = normal_cpm.mean(0)
    return deattenuate(tumor_cpm, n, cancer_mean(tumor_cpm, n, share), share, min_share)


class Deattenuation:
    """The estimated-share de-attenuation map (module doc), fitted on a cohort's tumors and normals."""

    def __init__(self, min_share: float = 0.3, anchor: float = 0.95):
        self.min_share, self.anchor = min_share, anchor

    def fit(self, tumor_lin: np.ndarray, normal_lin: np.ndarray) -> Deattenuation:
        self.n = normal_lin.mean(0)
        m = tumor_lin.mean(0)
        self.w = 1.0 / np.maximum(m + self.n, 1e-12)
        self.d = (m - self.n) * self.w
        self.k = self.anchor / np.quantile(self.relative(tumor_lin), 0.95)  # before clipping
        self.c = cancer_mean(tumor_lin, self.n, self.share(tumor_lin))
        return self

    def relative(self, lin: np.ndarray) -> np.ndarray:
        """Projection on the mean tumor's difference from the mean normal (1 = the mean tumor)."""
        return ((lin - self.n) * self.w) @ self.d / (self.d @ self.d)

    def share(self, lin: np.ndarray) -> np.ndarray:
        return np.clip(self.relative(lin) * self.k, 0.05, 1.0)

    def __call__(self, lin: np.ndarray) -> np.ndarray:
        return deattenuate(lin, self.n, self.c, self.share(lin), self.min_share)


def invariant_on(f, tumor_lin: np.ndarray, normal_lin: np.ndarray, genes: np.ndarray, shrinkage: float, seed: int):
    """The invariant projection solved on the representation f (views mixed in linear space, then f)."""
    from twinpurify.invariance import invariant_directions

    F = f(tumor_lin)[:, genes]
    mu, sd = F.mean(0), np.maximum(F.std(0), 1e-8)
    Xs = (F - mu) / sd
    rng = np.random.default_rng(seed)
    D = []
    for _ in range(4):  # beta ~ U(0, 0.5) as InvariantProjection; backgrounds = plain mean of 3 random normals
        b = rng.uniform(0, 0.5, (len(tumor_lin), 1))
        bg = normal_lin[rng.integers(0, len(normal_lin), (len(tumor_lin), 3))].mean(1)
        D.append((f((1 - b) * tumor_lin + b * bg)[:, genes] - mu) / sd - Xs)
    comps, _ = invariant_directions(Xs, np.concatenate(D), K, shrinkage, 256)
    return Xs @ comps.T


def estimated(tumor_lin: np.ndarray, normal_lin: np.ndarray, genes: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    f3 = Deattenuation(0.3).fit(tumor_lin, normal_lin)
    f5 = Deattenuation(0.5).fit(tumor_lin, normal_lin)
    return {
        "de-attenuation, estimated share, PCA": pca_scores(f3(tumor_lin)[:, genes]),
        **{
            f"de-attenuation, estimated share, + invariant projection (shrinkage {sh:g}, min share {f.min_share})": (
                invariant_on(f, tumor_lin, normal_lin, genes, sh, seed)
            )
            for f, sh in [(f3, 2.0), (f3, 4.0), (f5, 4.0)]
        },
    }


def references(c: SimulatedCohort, twin: SimulatedCohort, min_share: float) -> dict[str, np.ndarray]:
    t, n = cpm(c.tumors.to_numpy()), cpm(c.normals.to_numpy())
    genes = np.argsort(-np.log2(t + 1).var(0))[:3000]
    truth = c.truth
    share = 1.0 - truth["normal_fraction"].to_numpy()  # what the normals do not explain: cancer + immune
    q = dict(verbose=False)
    return {
        "PCA": tp.PCAEmbedding(K, **q).fit_transform(c.tumors).to_numpy(),
        "invariant projection": tp.InvariantProjection(K, **q).fit_transform(c.tumors, c.normals).to_numpy(),
        "pure-tumor twin, PCA": tp.PCAEmbedding(K, **q).fit_transform(twin.tumors).to_numpy(),
        "truth: intrinsic PCs + immune fraction": np.c_[
            pca_scores(c.intrinsic.to_numpy(), 40), 30 * truth["immune_fraction"].to_numpy()
        ],
        "oracle: de-attenuation with the true non-normal share": pca_scores(
            deattenuated(t, n, share, min_share)[:, genes]
        ),
        **estimated(t, n, genes, 0),
    }


def table(df: pd.DataFrame) -> str:
    """A plain markdown table (no tabulate dependency)."""
    cells = [[f"{v:.3f}" if isinstance(v, float) else str(v) for v in row] for row in df.itertuples(index=False)]
    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---:|" * len(df.columns)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in cells])


def summarise(df: pd.DataFrame, metrics: list[str] = METRICS) -> str:
    ms = [m for m in metrics if m in df and df[m].notna().any()]
    head = "| reference | " + " | ".join(f"{m} {'↓' if 'purity' in m or m == 'normal_R2' else '↑'}" for m in ms)
    lines = [head + " |", "|---|" + "---:|" * len(ms)]
    for name, d in df.groupby("method", sort=False):
        if len(d) > 1:
            sd = d[ms].std(ddof=1)
            cells = [f"{d[m].mean():.3f} ± {sd[m]:.3f}" for m in ms]
        else:  # one deterministic run
            cells = [f"{d[m].iloc[0]:.3f}" for m in ms]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--n-tumors", type=int, default=400)
    ap.add_argument("--n-genes", type=int, default=3000)
    ap.add_argument("--min-share", type=float, default=0.3, help="the oracle's smallest cancer share per gene")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent))
    ap.add_argument("--data-dir", default=None, help="shared/data: also run the two TCGA-BRCA tuning folders")
    a = ap.parse_args(argv)
    logging.getLogger("twinpurify").setLevel(logging.WARNING)
    rows, axis = [], []
    for seed in [int(s) for s in a.seeds.split(",")]:
        kw = dict(n_tumors=a.n_tumors, n_normals=60, n_genes=a.n_genes, seed=seed)
        c = tp.datasets.simulate_cohort(**kw)
        twin = tp.datasets.simulate_cohort(**kw, purity_range=(0.99, 0.999))
        if not np.array_equal(c.intrinsic.to_numpy(), twin.intrinsic.to_numpy()):
            raise RuntimeError("the pure-tumor twin no longer shares the cohort's cancer profiles")
        for likeness in (0.0, 0.8):  # how well the share estimate tracks purity, without and with normal-likeness
            cl = c if likeness == 0 else tp.datasets.simulate_cohort(**kw, normal_likeness=likeness)
            t, n = cpm(cl.tumors.to_numpy()), cpm(cl.normals.to_numpy())
            est = pd.Series(Deattenuation().fit(t, n).share(t), index=cl.truth.index)
            axis.append(
                {
                    "normal_likeness": likeness,
                    "seed": seed,
                    "r with 1 - normal fraction": np.corrcoef(est, 1 - cl.truth["normal_fraction"])[0, 1],
                    "Spearman with purity": est.corr(cl.truth["purity"], method="spearman"),
                }
            )
            print(axis[-1], flush=True)
        for name, Z in references(c, twin, a.min_share).items():
            s = score_simulated(Z, c, seed=seed)
            rows.append({"method": name, "seed": seed, **s})
            print(f"seed {seed} {name:<42s} " + " ".join(f"{k} {v:.3f}" for k, v in s.items()), flush=True)
    df = pd.DataFrame(rows)
    out = Path(a.out)
    write_table(df.round(4).set_index("method"), out / "headroom.csv")
    with atomic_path(out / "headroom.md") as tmp:
        tmp.write_text(
            f"Simulated cohorts: {a.n_tumors} tumors, 60 normals, {a.n_genes} genes; seeds {a.seeds}; "
            f"the same cohorts and probes as the frontier.\n\n" + summarise(df) + "\n\n"
            "How well the one-line share estimate (module doc) tracks the truth, per seed "
            "(`normal_likeness` 0 = the default simulator):\n\n" + table(pd.DataFrame(axis)) + "\n"
        )
    if a.data_dir:
        brca(a.data_dir, out)


def brca(folder: str, out: Path) -> None:
    """The estimated-share variants against PCA and the invariant projection on the TCGA-BRCA tuning folders."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from cohorts import TUNING, add_external_labels, data_dir, load_cohort
    from run_cohorts import score

    root, rows, rhos = data_dir(folder), [], []
    for name in TUNING:
        c = add_external_labels(load_cohort(name, root), root)
        logv = c.tumors.to_numpy(np.float64)
        genes = np.argsort(-logv.var(0))[:3000]
        t, n = np.exp2(logv), np.exp2(c.normals.to_numpy(np.float64))
        q = dict(verbose=False, n_genes=min(3000, logv.shape[1]))
        embeddings = {
            "PCA": tp.PCAEmbedding(K, **q).fit_transform(c.tumors).to_numpy(),
            "invariant projection": tp.InvariantProjection(K, **q).fit_transform(c.tumors, c.normals).to_numpy(),
            **estimated(t, n, genes, 0),
        }
        rows += [{"cohort": name, "method": m, **score(name, c, Z, 0)} for m, Z in embeddings.items()]
        share = Deattenuation().fit(t, n).share(t)
        for col in ("purity_ABSOLUTE", "purity_CPE"):
            ok = c.labels[col].notna().to_numpy()
            rho = pd.Series(share[ok]).corr(pd.Series(c.labels[col].to_numpy()[ok]), method="spearman")
            rhos.append(f"{name} {col} {rho:.3f}")
            print(rhos[-1], flush=True)
    df = pd.DataFrame(rows)
    write_table(df.round(4).set_index("method"), out / "headroom_brca.csv")
    cols = ["purity_R2", "purity_ABSOLUTE_R2", "cluster_CNV_F1", "cluster_meth_F1", "cluster_protein_F1", "subtype_F1"]
    text = "".join(
        f"#### {name}\n\n" + summarise(d, [*cols, "C_index"]).replace("| reference |", "| method |") + "\n\n"
        for name, d in df.groupby("cohort", sort=False)
    )
    with atomic_path(out / "headroom_brca.md") as tmp:
        tmp.write_text(
            "One deterministic run per method (seed 0); purity_R2 is CPE. Spearman of the estimated share with "
            "published purity: " + "; ".join(rhos) + ".\n\n" + text
        )


if __name__ == "__main__":
    main()
