"""Issue 9, round 14: views mixed with normal profiles drawn closer to the mean normal, on 5 seeds.

    .venv/bin/python benchmarks/sweep_round14.py --data-dir ../shared/data --workers 2 --out DIR
        [--seeds 0,1,2,3,4] [--cohorts simulated,...] [--only NAME;NAME]
    .venv/bin/python benchmarks/sweep_round14.py --render-only   # sweep_round14.csv (+ round 8's rows) -> .md

Round 13 found that on TCGA tumors the defaults remove the leukocyte content with the purity (methylation-based
``1 - LUMP``: the paired BRCA folder keeps 77% of raw's R², the divergence folder 44%, held-out cohorts almost
none), and that those cohorts' adjacent normals carry as much leukocyte-marker expression as the tumors. A view
mixes a tumor with a Dirichlet blend of three of the cohort's normals, so it moves the tumor along two kinds of
direction: towards normal tissue as a whole (what lower purity is), and along the normals' differences from one
another (which normal, with how many leukocytes, adipocytes or fibroblasts). The invariance removes both. The
variant here keeps the first and shrinks the second: every normal profile the views draw from is replaced, in
linear space, by ``mean + s * (normal - mean)`` (``mean`` the normals' mean profile; ``s`` = 1 is the defaults,
``s`` = 0 mixes every view with the mean normal alone). The last step, which measures how mixing moves the
embedding, sees the same views.

- ``background shrinkage s``: the defaults (``n_networks=3, beta_max=0.9``) with the normals shrunk by ``s``.
- ``TP n_networks 3, beta 0.9, leukocyte-scored``: the defaults unpatched, rerun for the leukocyte columns
  (round 8's rows of the same settings have no leukocyte scores); the recorded run gave it the TCGA-BRCA folders
  only (``--cohorts`` of the first command below), the simulators having round 8's rows.

The recorded run (``sweep_round14.csv``)::

    sweep_round14.py --data-dir ../shared/data --workers 2 --cohorts tcga_brca_paired_metagsca,tcga_brca_divergence
    sweep_round14.py --data-dir ../shared/data --workers 2 --cohorts simulated,simulated_likeness \
        --only "TP n_networks 3, beta 0.9, background shrinkage 0.5;TP n_networks 3, beta 0.9, background shrinkage 0"

Every TCGA row also carries round 13's methylation-based scores (`leukocyte.py`: ``1 - LUMP``, ABSOLUTE beyond
LUMP, leukocytes per cancer cell). Rows without these names are round 8's (`sweep_round8.csv`: same seeds and
scoring), shown beside them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "python"))

from sweep_variants import fit_and_score, main_beside_round8  # noqa: E402

CANDIDATE = dict(n_networks=3, beta_max=0.9)
REFERENCE = "TP n_networks 3, beta 0.9, leukocyte-scored"
VARIANTS: dict[str, float] = {  # name: background shrinkage (1 = unpatched)
    "TP n_networks 3, beta 0.9, background shrinkage 0.5": 0.5,
    "TP n_networks 3, beta 0.9, background shrinkage 0": 0.0,
    REFERENCE: 1.0,
}
LEUKOCYTE_COLS = {
    "leukocyte_R2": "leukocyte (1 - LUMP) ↑",
    "nonimmune_R2": "ABSOLUTE beyond LUMP ↓",
    "leukocyte_ratio_R2": "leukocytes per cancer cell",
}


@contextmanager
def shrunk_backgrounds(s: float) -> Iterator[None]:
    """While open, every `ViewGenerator` mixes with normal profiles shrunk towards their mean by `s`, in linear
    space (``mean + s * (normal - mean)``: non-negative for 0 <= s <= 1, the same mean, `s` times the spread)."""
    from twinpurify import augment

    original = augment.ViewGenerator.__init__

    def init(self: Any, normal_log2: Any, mean: Any, std: Any, config: Any) -> None:
        original(self, normal_log2, mean, std, config)
        centre = self.normal_lin.mean(0, keepdim=True)
        self.normal_lin = centre + s * (self.normal_lin - centre)

    with patch.object(augment.ViewGenerator, "__init__", init):
        yield


def job(cname: str, seed: int, variant: str, root: str) -> list[dict[str, Any]]:
    from leukocyte import score as leukocyte_score
    from sweep_round7 import cohort

    s = VARIANTS[variant]
    rows = fit_and_score(
        cname, seed, variant, root, CANDIDATE, shrunk_backgrounds(s) if s < 1 else nullcontext(), keep_embedding=True
    )
    Z = rows[0].pop("_embedding")
    if not cname.startswith("simulated"):
        rows[0].update(leukocyte_score(cohort(cname, seed, root), Z))
    return rows


def leukocyte_tables(csv: Path) -> str:
    """The methylation-based columns of the TCGA rows, mean ± sd over seeds."""
    df = pd.read_csv(csv)
    df = df[df["cohort"].str.startswith("tcga") & df["leukocyte_R2"].notna()]
    parts = ["\n## Methylation-based immune scores (`leukocyte.py`'s columns; ABSOLUTE and CPE are above)\n"]
    for cohort, d in df.groupby("cohort", sort=False):
        lines = [f"\n### {cohort}\n", "| method | " + " | ".join(LEUKOCYTE_COLS.values()) + " | runs |"]
        lines.append("|---|" + "---:|" * (len(LEUKOCYTE_COLS) + 1))
        for m, g in d.groupby("method", sort=False):
            cells = [f"{g[c].mean():.3f} ± {g[c].std():.3f}" for c in LEUKOCYTE_COLS]
            lines.append(f"| {m} | " + " | ".join(cells) + f" | {len(g)} |")
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def main() -> None:
    main_beside_round8(
        "sweep_round14",
        __doc__,
        list(VARIANTS),
        job,
        "Seeds 0-4, this project's 2-core CPU machine (2 processes, one torch thread each; torch 2.13, numpy 1.26), "
        "2026-11-28. Rows without 'background shrinkage' or 'leukocyte-scored' are round 8's "
        "(`sweep_round8.csv`: same seeds and scoring).\n",
        extra=leukocyte_tables,
    )


if __name__ == "__main__":
    main()
