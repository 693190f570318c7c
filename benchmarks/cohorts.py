"""Read the real cohorts of ../shared/data in place (never copied into the repository).

Each folder holds expression.csv.gz (samples x genes, log2 scale) and samples.csv (sample_type and
labels); see ../shared/data/README.md for the protocol (tuning vs held-out cohorts).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
TUNING = ["tcga_brca_divergence", "tcga_brca_paired_metagsca"]
HELD_OUT_TCGA = [
    f"tcga_{c}_paired_metagsca"
    for c in ["coad", "hnsc", "kirc", "kirp", "lihc", "luad", "lusc", "prad", "stad", "thca"]
]
HELD_OUT = HELD_OUT_TCGA + ["gse42568_breast_gsstda"]


@dataclass
class Cohort:
    name: str
    tumors: pd.DataFrame  # samples x genes, log2 as shipped
    normals: pd.DataFrame
    labels: pd.DataFrame  # one row per tumor
    dropped_genes: list[str]

    @property
    def subtype_column(self) -> str | None:
        for col in ["pam50_brca2015", "subtype_mrna_pancan", "pam50_genefu"]:
            if col in self.labels and self.labels[col].notna().sum() >= 20:
                return col
        return None


def data_dir(arg: str | None = None) -> Path:
    d = Path(arg or os.environ.get("TWINPURIFY_DATA_DIR", DEFAULT_DATA_DIR))
    if not (d / "README.md").is_file():
        raise SystemExit(f"no cohort folder at {d}; pass --data-dir pointing at shared/data")
    return d


def load_cohort(name: str, root: Path) -> Cohort:
    folder = root / name
    expr = pd.read_csv(folder / "expression.csv.gz", index_col=0)
    samples = pd.read_csv(folder / "samples.csv", index_col=0)
    samples = samples.loc[expr.index]
    # COAD and STAD ship empty cells: drop those genes explicitly (no silent imputation).
    missing = expr.columns[expr.isna().any()].tolist()
    expr = expr.drop(columns=missing)
    is_tumor = (samples["sample_type"] == "tumor").to_numpy()
    return Cohort(name, expr[is_tumor], expr[~is_tumor], samples[is_tumor].copy(), missing)


def immune_score(tumors: pd.DataFrame) -> pd.Series | None:
    """Mean standardised log expression of immune marker genes present in the cohort.

    Markers: the ESTIMATE immune signature's best-known members plus pan-leukocyte genes
    (Yoshihara et al., Nat Commun 2013, doi:10.1038/ncomms3612); only genes present are used.
    """
    markers = [
        "PTPRC",
        "CD2",
        "CD3D",
        "CD3E",
        "CD3G",
        "CD247",
        "CD8A",
        "CD48",
        "CD52",
        "CD53",
        "CCL5",
        "CXCL9",
        "CXCL10",
        "GZMA",
        "GZMB",
        "GZMK",
        "PRF1",
        "LCK",
        "ITK",
        "IL2RG",
        "LCP2",
        "CORO1A",
        "HLA-DRA",
        "HLA-DPA1",
        "CD74",
        "LAPTM5",
        "FCER1G",
        "TYROBP",
        "SASH3",
        "CD37",
        "IKZF1",
    ]
    present = [g for g in markers if g in tumors.columns]
    if len(present) < 3:
        return None
    x = tumors[present]
    return ((x - x.mean()) / x.std().replace(0, np.nan)).mean(axis=1).rename("immune_score")


# ---- yardsticks that bulk expression does not define by construction (issue 9) -------------------
BRCA_CLUSTERS = {
    "CNV Clusters": "cluster_CNV",
    "DNA.Methylation Clusters": "cluster_meth",
    "Protein Clusters": "cluster_protein",
}
PANCAN_CLUSTERS = {
    "Subtype_CNA": "cluster_CNV",
    "Subtype_DNAmeth": "cluster_meth",
    "Subtype_protein": "cluster_protein",
}


def add_external_labels(c: Cohort, root: Path) -> Cohort:
    """Join ABSOLUTE purity (copy-number based), LUMP purity (leukocyte CpG methylation) and copy-number /
    methylation / protein clusters.

    ABSOLUTE and LUMP: `tcga_purity/purity.csv.gz`, on the first 15 characters of the barcode (patient + sample
    code). Clusters: BRCA from `brca.subtype.csv.gz` by patient; other cancers from `pancan2018.csv.gz`
    (tumor rows) by patient. Non-TCGA cohorts are returned unchanged.
    """
    lab = c.labels
    if not str(lab.index[0]).startswith("TCGA-"):
        return c
    key15 = pd.Index([str(s)[:15] for s in lab.index])
    patient = pd.Index([str(s)[:12] for s in lab.index])
    pur = pd.read_csv(root / "tcga_purity" / "purity.csv.gz")
    pur = pur.assign(k=pur["sample_id"].str[:15]).drop_duplicates("k").set_index("k")
    lab = lab.copy()
    for est in ("ABSOLUTE", "LUMP"):
        lab[f"purity_{est}"] = pur[est].reindex(key15).to_numpy()
    sub_dir = root / "tcga_subtypes_tcgabiolinks"
    if "brca" in c.name:
        t = pd.read_csv(sub_dir / "brca.subtype.csv.gz").drop_duplicates("patient").set_index("patient")
        cols = BRCA_CLUSTERS
    else:
        t = pd.read_csv(sub_dir / "pancan2018.csv.gz")
        ids = t["pan.samplesID"].astype(str)
        t = t[(ids.str.len() == 12) | (ids.str[13:15] == "01")]
        t = t.assign(patient=t["pan.samplesID"].str[:12]).drop_duplicates("patient").set_index("patient")
        cols = PANCAN_CLUSTERS
    for src, dst in cols.items():
        if src in t:
            col = t[src].where(t[src].astype(str) != "NA")
            lab[dst] = col.reindex(patient).to_numpy()
    return Cohort(c.name, c.tumors, c.normals, lab, c.dropped_genes)
