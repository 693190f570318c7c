"""Issue 9, round 11: views that also span purer versions of each tumor, and a five-member ensemble, on 5 seeds.

    .venv/bin/python benchmarks/sweep_round11.py --data-dir ../shared/data --workers 2 --out DIR
        [--seeds 0,1,2,3,4] [--cohorts simulated,...] [--only NAME;NAME]
    .venv/bin/python benchmarks/sweep_round11.py --render-only   # sweep_round11.csv (+ round 8's rows) -> .md

Round 9 located TwinPurify's subtype-F1 gap in the least pure tumors: a view mixes a tumor that is already
~45% non-cancer with up to 70-90% more normal tissue, where its subtype genes are diluted most. Purity-aware
mixing (round 9) diluted those tumors less but made the views' spread depend on purity, and leaked it.
Variants here (each a patch of the package for the fit only, restored after each job):

- ``two-sided mixing (lo to hi)``: each view's fraction is drawn from U(lo, hi) with lo < 0 instead of
  U(0, hi): a negative fraction moves the tumor *away* from its background normal profile in linear
  space, ``x + |beta| (x - background)``, i.e. towards a purer version of itself (values clipped at the
  smallest linear value of the rows being mixed: the tumors of one CPU block of the batch, or the whole batch on
  an accelerator; the pseudo-count floor on count data). The views then cover the mixing line on both sides
  of every tumor, by the same amount whatever its purity, and are on average less diluted than one-sided
  views of the same span. The last step (which measures how mixing moves the embedding) sees the same
  two-sided perturbations.
- ``n_networks 5, beta 0.9``: the package's ensemble with five members instead of three (round 8's x5 was in
  the discarded run only).
- ``invariant front, 32 dirs``: round 10's invariant front (shrinkage 4) read 32 directions wide instead of 18, into
  the same 18 trained dimensions (more of the subtype signal the 128-dimensional baselines keep, if the network
  can pick it out).
- ``n_networks 3, beta 0.9, own 18 PCs each``: the front holds the tumors' 54 leading principal components and each
  member reads its own block of 18 (the first the defaults' front, the others the next components); the last
  step keeps 16 of the 54 trained dimensions. Simulators only.
- ``view noise 1 / 3.3``: the views' Gaussian noise raised from 0.1 to 1 and 3.3 gene standard deviations (3.3^2 is
  about the variance of the 13th-18th principal components on the simulator, where its spectrum flattens), so the
  front's low-variance components carry little the two views share: a variance preference inside the front, which
  round 6 found gene-space noise not to give a network over all genes. Simulators only.

Rows without these names are round 8's (`sweep_round8.csv`: same seeds and scoring), shown beside them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from pathlib import Path
from typing import Any
from unittest.mock import patch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "python"))

import sweep_round10  # noqa: E402
from pins import ROUND7  # noqa: E402
from sweep_round10 import FRONT_SHRINKAGE, FRONT_WIDTH  # noqa: E402
from sweep_variants import fit_and_score, main_beside_round8  # noqa: E402

CANDIDATE = dict(n_networks=3, beta_max=0.9)
WIDE_FRONT = 32
VARIANTS: dict[str, tuple[dict[str, Any], str, float]] = {  # name: (estimator settings, patch, lowest view fraction)
    "TP two-sided mixing (-0.35 to 0.7)": ({}, "two-sided", -0.35),
    "TP two-sided mixing (-0.7 to 0.7)": ({}, "two-sided", -0.7),
    "TP n_networks 3, two-sided mixing (-0.45 to 0.9)": (CANDIDATE, "two-sided", -0.45),
    "TP n_networks 5, beta 0.9": (dict(n_networks=5, beta_max=0.9), "", 0.0),
    "TP invariant front, 32 dirs (shrinkage 4)": (
        dict(encoder_input="invariant", invariant_shrinkage=FRONT_SHRINKAGE),
        "wide front",
        0.0,
    ),
    "TP n_networks 3, beta 0.9, own 18 PCs each": (CANDIDATE, "blocks", 0.0),
    "TP view noise 1": (dict(noise_std=1.0), "", 0.0),
    "TP view noise 3.3": (dict(noise_std=3.3), "", 0.0),
}


@contextmanager
def two_sided_mixing(low: float, high: float) -> Iterator[None]:
    """While open, a view fraction drawn as U(0, high) by the package is used as U(low, high).

    `high` is the estimator's `beta_max`. The map is affine in the drawn fraction, so the random stream, the
    normals chosen and their weights are those of the one-sided views; only the fractions move.
    """
    from twinpurify import augment

    original = augment.mix_with_normals

    def mix(tumor_lin: Any, normal_lin: Any, beta: Any, weights: Any, index: Any, out: Any = None) -> Any:
        x = original(tumor_lin, normal_lin, low + beta * ((high - low) / high), weights, index, out=out)
        return x.clamp_min_(float(tumor_lin.min()))

    with patch.object(augment, "mix_with_normals", mix):
        yield


@contextmanager
def wide_invariant_front() -> Iterator[None]:
    """While open, ``encoder_input="invariant"`` reads WIDE_FRONT invariant directions (round 10's front, wider)."""
    with ExitStack() as stack:
        stack.enter_context(patch.object(sweep_round10, "FRONT_WIDTH", WIDE_FRONT))
        stack.enter_context(sweep_round10.narrow_invariant_front())
        yield


@contextmanager
def own_block_each() -> Iterator[None]:
    """While open, the PCA front is ``n_networks`` x FRONT_WIDTH components wide and member k reads only its
    block k of FRONT_WIDTH of them (the others zeroed), so the members see different components."""
    from twinpurify import estimator, model

    original = estimator.principal_directions

    def wider(t_log: Any, k: int, prepare: Any) -> Any:
        return original(t_log, int(CANDIDATE["n_networks"]) * FRONT_WIDTH, prepare)

    with ExitStack() as stack:
        stack.enter_context(patch.object(estimator, "principal_directions", wider))
        stack.enter_context(patch.object(model.Members, "forward", read_own_block))
        yield


def read_own_block(self: Any, x: Any) -> Any:
    """`twinpurify.model.Members.forward` with member k reading only block k of the front's equal blocks (the
    others zeroed), so that members see different directions."""
    import torch

    width = x.shape[1] // len(self.bodies)
    outs = []
    for k, body in enumerate(self.bodies):
        mask = torch.zeros(x.shape[1], dtype=x.dtype, device=x.device)
        mask[k * width : (k + 1) * width] = 1
        outs.append(body(x * mask))
    return torch.cat(outs, dim=1)


def job(cname: str, seed: int, variant: str, root: str) -> list[dict[str, Any]]:
    settings, kind, low = VARIANTS[variant]
    high = float({**ROUND7, **settings}["beta_max"])
    patches = {
        "two-sided": lambda: two_sided_mixing(low, high),
        "wide front": wide_invariant_front,
        "blocks": own_block_each,
        "": nullcontext,
    }
    return fit_and_score(cname, seed, variant, root, settings, patches[kind]())


def main() -> None:
    main_beside_round8(
        "sweep_round11",
        __doc__,
        list(VARIANTS),
        job,
        "Seeds 0-4, this project's 2-core CPU machine (2 processes, one torch thread each; torch 2.13, numpy 1.26), "
        "2026-11-28. Rows without 'two-sided', 'n_networks 5', '32 dirs', 'own 18 PCs' or 'view noise' are round 8's (`sweep_round8.csv`: same "
        "seeds and scoring).\n",
    )


if __name__ == "__main__":
    main()
