"""A built-in simulated cohort with known truth, for the demo, the tests and tuning.

Bulk tumors are built the way real ones are: in linear expression space, a fraction `purity` of
cancer cells (subtype programs plus continuous intrinsic programs) and the rest split between
immune cells and the same normal tissue that the adjacent-normal samples are drawn from; then
library sizes and negative-binomial count noise. Subtypes differ a little in purity, as in real
breast cancer, so removing purity without losing subtype is a real test.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class SimulatedCohort:
    """tumors / normals: samples x genes counts; truth: per-tumor purity, subtype, immune, programs, survival."""

    tumors: pd.DataFrame
    normals: pd.DataFrame
    truth: pd.DataFrame
    genes: pd.DataFrame

    def to_anndata(self):
        """One AnnData with tumors and normals, `obs['sample_type']` in {'tumor', 'normal'}."""
        import anndata as ad

        X = pd.concat([self.tumors, self.normals])
        obs = pd.DataFrame(index=X.index)
        obs["sample_type"] = ["tumor"] * len(self.tumors) + ["normal"] * len(self.normals)
        obs = obs.join(self.truth)
        return ad.AnnData(X.to_numpy(np.float32), obs=obs, var=self.genes.copy())


def simulate_cohort(n_tumors: int = 400, n_normals: int = 60, n_genes: int = 2000, n_subtypes: int = 4,
                    n_programs: int = 3, purity_range: tuple[float, float] = (0.3, 0.95),
                    library_size: float = 2e6, dispersion: float = 0.1, seed: int = 0) -> SimulatedCohort:
    """Simulate a tumor/normal cohort as integer counts (genes named `G0001`...).

    Gene roles: 'subtype' (up in one subtype's cancer cells), 'program' (follows a continuous
    intrinsic program), 'normal' (high in normal tissue), 'immune' (high in immune cells), 'other'.
    """
    if n_tumors < 4 or n_normals < 2 or n_genes < 50:
        raise ValueError("need at least 4 tumors, 2 normals and 50 genes")
    rng = np.random.default_rng(seed)
    g = n_genes
    base = rng.normal(3.0, 1.8, g)  # log2 abundance of a gene in all cells
    role = np.array(["other"] * g, dtype=object)
    perm = rng.permutation(g)
    n_sub = max(10, g // 20)
    n_prog = max(10, g // 25)
    n_norm = max(20, g // 8)
    n_imm = max(10, g // 25)
    blocks = np.split(perm[: n_subtypes * n_sub + n_programs * n_prog + n_norm + n_imm],
                      np.cumsum([n_sub] * n_subtypes + [n_prog] * n_programs + [n_norm]))
    sub_genes, prog_genes = blocks[:n_subtypes], blocks[n_subtypes:n_subtypes + n_programs]
    norm_genes, imm_genes = blocks[-2], blocks[-1]
    for k, b in enumerate(sub_genes):
        role[b] = f"subtype_{k + 1}"
    for k, b in enumerate(prog_genes):
        role[b] = f"program_{k + 1}"
    role[norm_genes] = "normal"
    role[imm_genes] = "immune"

    # Cell-type reference profiles (log2).
    normal_log = base.copy()
    normal_log[norm_genes] += rng.uniform(2.0, 4.0, len(norm_genes))
    cancer_shared = base.copy()
    cancer_shared[norm_genes] -= rng.uniform(0.5, 2.0, len(norm_genes))
    immune_log = base - 1.0
    immune_log[imm_genes] += rng.uniform(3.0, 5.0, len(imm_genes))

    # Tumors: subtype (with subtype-dependent purity), programs, immune share of the non-cancer part.
    weights = np.linspace(1.5, 0.7, n_subtypes)
    subtype = rng.choice(n_subtypes, n_tumors, p=weights / weights.sum())
    lo, hi = purity_range
    shift = np.linspace(0.05, -0.08, n_subtypes)[subtype]  # e.g. a low-purity 'normal-like' subtype
    purity = np.clip(rng.beta(4, 2, n_tumors) * (hi - lo) + lo + shift, 0.15, 0.98)
    programs = rng.normal(0, 1, (n_tumors, n_programs))
    immune_share = rng.beta(2, 5, n_tumors)

    cancer = np.tile(cancer_shared, (n_tumors, 1)) + rng.normal(0, 0.25, (n_tumors, g))
    for k, b in enumerate(sub_genes):
        cancer[np.ix_(subtype == k, b)] += rng.uniform(1.0, 2.5, len(b))
    for k, b in enumerate(prog_genes):
        cancer[:, b] += np.outer(programs[:, k], rng.uniform(0.4, 1.0, len(b)) * rng.choice([-1, 1], len(b)))
    # Normal tissue varies between patients (e.g. more or less adipose).
    normal_var = rng.normal(0, 1, (n_tumors + n_normals, 1)) * rng.normal(0, 0.4, (1, g)) * (role == "normal")
    tissue = normal_log + rng.normal(0, 0.2, (n_tumors + n_normals, g)) + normal_var
    lin_t = (purity[:, None] * np.exp2(cancer)
             + ((1 - purity) * immune_share)[:, None] * np.exp2(immune_log)
             + ((1 - purity) * (1 - immune_share))[:, None] * np.exp2(tissue[:n_tumors]))
    # Adjacent normals carry a little immune content of their own.
    imm_n = rng.beta(1, 12, n_normals)[:, None]
    lin_n = (1 - imm_n) * np.exp2(tissue[n_tumors:]) + imm_n * np.exp2(immune_log)

    def counts(lin: np.ndarray) -> np.ndarray:
        lib = library_size * rng.lognormal(0, 0.25, (lin.shape[0], 1))
        mu = lin / lin.sum(1, keepdims=True) * lib
        lam = rng.gamma(1.0 / dispersion, mu * dispersion)
        return rng.poisson(lam).astype(np.float64)

    genes = [f"G{j + 1:04d}" for j in range(g)]
    tumors = pd.DataFrame(counts(lin_t), index=[f"T{i + 1:04d}" for i in range(n_tumors)], columns=genes)
    normals = pd.DataFrame(counts(lin_n), index=[f"N{i + 1:04d}" for i in range(n_normals)], columns=genes)

    # Survival: proliferation-like program 1 and low immune raise the hazard; subtypes differ.
    risk = 0.8 * programs[:, 0] - 0.6 * (immune_share - immune_share.mean()) / immune_share.std() \
        + np.linspace(-0.4, 0.4, n_subtypes)[subtype]
    event_time = rng.exponential(2000 * np.exp(-risk))
    censor = rng.uniform(300, 4000, n_tumors)
    truth = pd.DataFrame({
        "purity": purity,
        "subtype": pd.Categorical([f"S{k + 1}" for k in subtype]),
        "immune_fraction": (1 - purity) * immune_share,
        **{f"program_{k + 1}": programs[:, k] for k in range(n_programs)},
        "os_time": np.minimum(event_time, censor).round(1),
        "os_event": (event_time <= censor).astype(int),
    }, index=tumors.index)
    gene_df = pd.DataFrame({"role": role}, index=pd.Index(genes, name="gene"))
    return SimulatedCohort(tumors, normals, truth, gene_df)
