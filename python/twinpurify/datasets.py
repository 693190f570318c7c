"""A built-in simulated cohort with known truth, for the demo, the tests, tuning and the frontier benchmark.

Bulk tumors are built the way real ones are: in linear expression space, a fraction `purity` of
cancer cells, and the rest split between immune cells and several normal-tissue cell types. What
makes it hard enough to separate methods (the plain version let every method reach subtype F1 1.0):

- **several normal-tissue cell types** (epithelium, fibroblasts, adipocytes) whose proportions vary
  from sample to sample, and differ on average between the tumor microenvironment and the adjacent
  normals (tumors carry more fibroblasts), so the normals are a good but imperfect background;
- **immune cells the adjacent normals barely contain**, whose share of the non-cancer part differs
  by subtype (as in breast cancer, where basal tumors are more inflamed);
- **subtle intrinsic biology**: discrete subtypes of moderate effect, continuous programs of small
  effect (one of them, EMT-like, uses genes that fibroblasts also express, so removing everything
  stromal removes it too), and patient-private variation (gene-wise and low-rank);
- **purity 0.2-0.95**, subtype-dependent, and negative-binomial count noise (or microarray-like
  log2 intensities with `platform="microarray"`).

The truth kept per tumor: purity, the normal-tissue and immune fractions, subtype, programs and
survival, plus the true intrinsic (cancer-cell) log2 profile, from which the frontier benchmark takes
the top principal components that a purified embedding should recover.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd

NORMAL_CELL_TYPES = ("epithelium", "fibroblast", "adipocyte")
IMMUNE_CELL_TYPES = ("T_cell", "macrophage")
PLATFORMS = ("rnaseq", "microarray")


@dataclass
class SimulatedCohort:
    """A simulated tumor/normal cohort and its truth.

    Attributes
    ----------
    tumors, normals : pandas.DataFrame
        Samples x genes: integer counts (``platform="rnaseq"``) or log2 intensities (``"microarray"``).
    truth : pandas.DataFrame
        One row per tumor: ``purity``, ``normal_fraction``, ``immune_fraction``, ``subtype``,
        ``program_1``..``program_k``, ``os_time``, ``os_event``.
    genes : pandas.DataFrame
        One row per gene: ``role`` ('subtype_k', 'program_k', 'normal', 'immune' or 'other') and
        ``cell_type`` (the normal or immune cell type a marker belongs to, else '') and ``loading``
        (a program gene's change in log2 expression per unit of its program, else 0).
    intrinsic : pandas.DataFrame
        Tumors x genes: the true log2 expression of each tumor's cancer cells (no normal tissue, no
        immune cells, no measurement noise).
    """

    tumors: pd.DataFrame
    normals: pd.DataFrame
    truth: pd.DataFrame
    genes: pd.DataFrame
    intrinsic: Optional[pd.DataFrame] = None

    def to_anndata(self):
        """One AnnData with tumors and normals, `obs['sample_type']` in {'tumor', 'normal'}."""
        import anndata as ad

        X = pd.concat([self.tumors, self.normals])
        obs = pd.DataFrame(index=X.index)
        obs["sample_type"] = ["tumor"] * len(self.tumors) + ["normal"] * len(self.normals)
        obs = obs.join(self.truth)
        return ad.AnnData(X.to_numpy(np.float32), obs=obs, var=self.genes.copy())

    def program_net(self) -> pd.DataFrame:
        """The true program footprints as a gene-set net (source = program, target = gene, weight = loading).

        The simulator's counterpart of PROGENy: score it with `twinpurify.pathways.activity` and
        compare with ``truth["program_k"]``.
        """
        g = self.genes[self.genes["role"].str.startswith("program_")]
        return pd.DataFrame(
            {"source": g["role"].to_numpy(), "target": g.index.to_numpy(), "weight": g["loading"].to_numpy()}
        )

    def intrinsic_components(self, n: int = 5, n_genes: int = 2000) -> pd.DataFrame:
        """Scores of the top `n` principal components of the true intrinsic profiles.

        Taken over the `n_genes` most variable genes of the intrinsic profiles, each standardised:
        what a purified embedding should let a linear probe read back.
        """
        if self.intrinsic is None:
            raise ValueError("this cohort carries no intrinsic profiles")
        x = self.intrinsic.to_numpy(np.float64)
        sd = x.std(0)
        keep = np.sort(np.argsort(-sd)[: min(n_genes, x.shape[1])])
        xs = (x[:, keep] - x[:, keep].mean(0)) / np.maximum(sd[keep], 1e-9)
        u, s, _ = np.linalg.svd(xs, full_matrices=False)
        k = min(n, len(s))
        return pd.DataFrame(u[:, :k] * s[:k], index=self.intrinsic.index, columns=[f"iPC{i + 1}" for i in range(k)])


def _check_args(
    n_tumors: int,
    n_normals: int,
    n_genes: int,
    n_subtypes: int,
    n_programs: int,
    purity_range: tuple[float, float],
    platform: str,
) -> None:
    if n_tumors < 4 or n_normals < 2 or n_genes < 50:
        raise ValueError(f"need at least 4 tumors, 2 normals and 50 genes, got {n_tumors}, {n_normals}, {n_genes}")
    if not 2 <= n_subtypes <= 8:
        raise ValueError(f"n_subtypes must be between 2 and 8, got {n_subtypes}")
    if not 1 <= n_programs <= 6:
        raise ValueError(f"n_programs must be between 1 and 6, got {n_programs}")
    lo, hi = purity_range
    if not 0.0 < lo < hi < 1.0:
        raise ValueError(f"purity_range must satisfy 0 < low < high < 1, got {purity_range}")
    if platform not in PLATFORMS:
        raise ValueError(f"platform must be one of {PLATFORMS}, got {platform!r}")


def simulate_cohort(
    n_tumors: int = 400,
    n_normals: int = 60,
    n_genes: int = 2000,
    n_subtypes: int = 4,
    n_programs: int = 3,
    purity_range: tuple[float, float] = (0.2, 0.95),
    library_size: float = 2e6,
    dispersion: float = 0.15,
    subtype_effect: float = 1.0,
    program_effect: float = 1.0,
    platform: str = "rnaseq",
    seed: int = 0,
    normal_likeness: float = 0.0,
) -> SimulatedCohort:
    """Simulate a tumor/normal cohort with a known tumor-intrinsic truth (genes named ``G0001``...).

    Parameters
    ----------
    n_tumors, n_normals, n_genes : int, default 400, 60, 2000
        Cohort size.
    n_subtypes : int, default 4
        Discrete intrinsic subtypes (unequal sizes, subtype-dependent purity and immune share).
    n_programs : int, default 3
        Continuous intrinsic programs; program 1 is proliferation-like (drives survival), program 2
        is EMT-like (shares genes with fibroblasts).
    purity_range : (float, float), default (0.2, 0.95)
        Range of the cancer-cell fraction.
    library_size, dispersion : float, default 2e6, 0.15
        Mean library size and negative-binomial dispersion (RNA-seq only).
    subtype_effect, program_effect : float, default 1.0
        Multipliers of the subtype and program effect sizes (lower = subtler biology).
    platform : {"rnaseq", "microarray"}, default "rnaseq"
        Integer counts, or log2 intensities with background and additive noise.
    seed : int, default 0
        Random seed; the same seed gives the same cohort.
    normal_likeness : float, default 0.0
        Strength of a tumor-intrinsic differentiation axis that points at normal tissue: each tumor's
        cancer cells move (in log2) a fraction ``normal_likeness * d`` of the way towards the normal
        epithelium's profile, with ``d`` in [0, 1] drawn per tumor around a subtype mean (some subtypes
        are more normal-like than others, as luminal breast tumors are). With 0 the direction "tumor minus
        normal" is almost purely a purity axis, which real cohorts do not show
        (benchmarks/TUNING.md, round 5); ``d`` is recorded as ``truth["normal_likeness"]`` when > 0. Drawn
        from its own random stream, so a seed's subtypes, programs and composition are the same as with 0
        (the count noise and survival times, drawn after, are not).

    Returns
    -------
    SimulatedCohort
        Tumors and normals (samples x genes), the per-tumor truth, per-gene roles and the true
        intrinsic profiles.

    See Also
    --------
    twinpurify.metrics.score_simulated : scores an embedding against this truth.

    Examples
    --------
    >>> import twinpurify as tp
    >>> c = tp.datasets.simulate_cohort(n_tumors=40, n_normals=8, n_genes=100, seed=0)
    >>> c.tumors.shape, c.normals.shape
    ((40, 100), (8, 100))
    >>> list(c.tumors.columns[:2])
    ['G0001', 'G0002']
    >>> list(c.truth.columns[:4])
    ['purity', 'normal_fraction', 'immune_fraction', 'subtype']
    """
    _check_args(n_tumors, n_normals, n_genes, n_subtypes, n_programs, purity_range, platform)
    if not 0.0 <= normal_likeness <= 1.0:
        raise ValueError(f"normal_likeness must be between 0 and 1, got {normal_likeness}")
    rng = np.random.default_rng(seed)
    g = n_genes
    base = rng.normal(3.0, 2.0, g)  # log2 abundance of a gene in a generic cell
    role = np.array(["other"] * g, dtype=object)
    cell_type = np.array([""] * g, dtype=object)

    n_sub = max(6, g // 60)
    n_prog = max(6, g // 40)
    n_mark = max(8, g // 30)
    sizes = [n_sub] * n_subtypes + [n_prog] * n_programs + [n_mark] * (len(NORMAL_CELL_TYPES) + len(IMMUNE_CELL_TYPES))
    perm = rng.permutation(g)
    blocks = np.split(perm[: sum(sizes)], np.cumsum(sizes)[:-1])
    sub_genes = blocks[:n_subtypes]
    prog_genes = blocks[n_subtypes : n_subtypes + n_programs]
    markers = dict(zip(NORMAL_CELL_TYPES + IMMUNE_CELL_TYPES, blocks[n_subtypes + n_programs :]))
    for ct in NORMAL_CELL_TYPES:
        role[markers[ct]], cell_type[markers[ct]] = "normal", ct
    for ct in IMMUNE_CELL_TYPES:
        role[markers[ct]], cell_type[markers[ct]] = "immune", ct
    if n_programs >= 2:  # EMT-like: half of its genes are fibroblast genes that cancer cells switch on
        half = len(prog_genes[1]) // 2
        prog_genes[1] = np.concatenate([prog_genes[1][:half], markers["fibroblast"][: len(prog_genes[1]) - half]])
    for k, b in enumerate(sub_genes):
        role[b] = f"subtype_{k + 1}"
    for k, b in enumerate(prog_genes):
        role[b], cell_type[b] = f"program_{k + 1}", ""

    # ---- cell-type reference profiles (log2)
    normal_ref = {}
    for ct in NORMAL_CELL_TYPES:
        prof = base + rng.normal(0, 0.6, g)
        prof[markers[ct]] += rng.uniform(2.0, 4.5, len(markers[ct]))
        normal_ref[ct] = prof
    immune_ref = {}
    for ct in IMMUNE_CELL_TYPES:
        prof = base - 0.5 + rng.normal(0, 0.6, g)
        prof[markers[ct]] += rng.uniform(3.0, 5.0, len(markers[ct]))
        immune_ref[ct] = prof
    cancer_shared = base + rng.normal(0, 0.6, g)
    for ct in NORMAL_CELL_TYPES:
        cancer_shared[markers[ct]] -= rng.uniform(0.5, 2.0, len(markers[ct]))

    # ---- tumors: subtype, programs, private variation
    weights = np.linspace(1.6, 0.6, n_subtypes)
    subtype = rng.choice(n_subtypes, n_tumors, p=weights / weights.sum())
    programs = rng.normal(0, 1, (n_tumors, n_programs))
    cancer = np.tile(cancer_shared, (n_tumors, 1))
    for k, b in enumerate(sub_genes):
        effect = subtype_effect * rng.uniform(0.3, 1.0, len(b)) * rng.choice([-1, 1], len(b), p=[0.3, 0.7])
        cancer[np.ix_(subtype == k, b)] += effect
    program_loading = np.zeros(g)
    for k, b in enumerate(prog_genes):
        loading = program_effect * rng.uniform(0.25, 0.7, len(b)) * rng.choice([-1, 1], len(b))
        cancer[:, b] += np.outer(programs[:, k], loading)
        program_loading[b] = loading
    private = rng.normal(0, 0.25, (n_tumors, g)) + rng.normal(0, 1, (n_tumors, 2)) @ rng.normal(0, 0.15, (2, g))
    cancer += private
    if normal_likeness > 0:  # own stream: the cohort's other draws stay those of `seed`
        side = np.random.default_rng([seed, 7919])
        d_mean = np.linspace(0.1, 0.7, n_subtypes)[side.permutation(n_subtypes)][subtype]
        likeness = np.clip(d_mean + side.normal(0, 0.15, n_tumors), 0.0, 1.0)
        cancer += normal_likeness * likeness[:, None] * (normal_ref["epithelium"] - cancer_shared)

    # ---- composition: purity (subtype-dependent), immune share (subtype-dependent), normal-tissue mix
    lo, hi = purity_range
    shift = np.linspace(0.05, -0.1, n_subtypes)[subtype]
    purity = np.clip(lo + (hi - lo) * rng.beta(3.0, 2.0, n_tumors) + shift, lo, hi)
    imm_mean = np.linspace(0.15, 0.45, n_subtypes)[rng.permutation(n_subtypes)][subtype]
    immune_share = rng.beta(6 * imm_mean, 6 * (1 - imm_mean))
    tme_mix = rng.dirichlet(4 * np.array([0.3, 0.5, 0.2]), n_tumors)  # the microenvironment: fibroblast-rich
    adj_mix = rng.dirichlet(4 * np.array([0.45, 0.25, 0.3]), n_normals)  # adjacent normal tissue
    imm_mix_t = rng.dirichlet([3.0, 2.0], n_tumors)

    def tissue_lin(mix: np.ndarray) -> np.ndarray:
        """Each sample's normal tissue in linear space, cell types with patient-level variation."""
        out = np.zeros((mix.shape[0], g))
        for j, ct in enumerate(NORMAL_CELL_TYPES):
            prof = normal_ref[ct] + rng.normal(0, 0.2, (mix.shape[0], g))
            out += mix[:, [j]] * np.exp2(prof)
        return out

    def immune_lin(mix: np.ndarray) -> np.ndarray:
        return sum(
            mix[:, [j]] * np.exp2(immune_ref[ct] + rng.normal(0, 0.2, (mix.shape[0], g)))
            for j, ct in enumerate(IMMUNE_CELL_TYPES)
        )

    immune_fraction = (1 - purity) * immune_share
    normal_fraction = (1 - purity) * (1 - immune_share)
    lin_t = (
        purity[:, None] * np.exp2(cancer)
        + immune_fraction[:, None] * immune_lin(imm_mix_t)
        + normal_fraction[:, None] * tissue_lin(tme_mix)
    )
    imm_n = rng.beta(1, 25, n_normals)[:, None]  # adjacent normals carry little immune content
    lin_n = (1 - imm_n) * tissue_lin(adj_mix) + imm_n * immune_lin(rng.dirichlet([3.0, 2.0], n_normals))

    def measure(lin: np.ndarray) -> np.ndarray:
        if platform == "rnaseq":
            lib = library_size * rng.lognormal(0, 0.3, (lin.shape[0], 1))
            mu = lin / lin.sum(1, keepdims=True) * lib
            lam = rng.gamma(1.0 / dispersion, mu * dispersion)
            return rng.poisson(lam).astype(np.float64)
        # microarray: saturating log2 intensities over a background, with additive noise
        scaled = lin / np.median(lin.sum(1)) * 4e5
        return np.log2(scaled + 32.0) + rng.normal(0, 0.15, lin.shape)

    genes = [f"G{j + 1:04d}" for j in range(g)]
    t_names = [f"T{i + 1:04d}" for i in range(n_tumors)]
    tumors = pd.DataFrame(measure(lin_t), index=t_names, columns=genes)
    normals = pd.DataFrame(measure(lin_n), index=[f"N{i + 1:04d}" for i in range(n_normals)], columns=genes)

    # ---- survival: proliferation-like program 1 and low immune raise the hazard; subtypes differ
    z_imm = (immune_fraction - immune_fraction.mean()) / immune_fraction.std()
    risk = 0.7 * programs[:, 0] - 0.5 * z_imm + np.linspace(-0.4, 0.4, n_subtypes)[subtype]
    event_time = rng.exponential(2000 * np.exp(-risk))
    censor = rng.uniform(300, 4000, n_tumors)
    truth = pd.DataFrame(
        {
            "purity": purity,
            "normal_fraction": normal_fraction,
            "immune_fraction": immune_fraction,
            "subtype": pd.Categorical([f"S{k + 1}" for k in subtype]),
            **{f"program_{k + 1}": programs[:, k] for k in range(n_programs)},
            "os_time": np.minimum(event_time, censor).round(1),
            "os_event": (event_time <= censor).astype(int),
        },
        index=t_names,
    )
    if normal_likeness > 0:
        truth["normal_likeness"] = likeness
    gene_df = pd.DataFrame(
        {"role": role, "cell_type": cell_type, "loading": program_loading}, index=pd.Index(genes, name="gene")
    )
    intrinsic = pd.DataFrame(cancer, index=t_names, columns=genes)
    return SimulatedCohort(tumors, normals, truth, gene_df, intrinsic)
