"""Issue 9, round 10: three changes that a first look (seed 0) put off the round-8 line, each on 5 seeds.

    .venv/bin/python benchmarks/sweep_round10.py --data-dir ../shared/data --workers 2 --out DIR
        [--seeds 0,1,2,3,4] [--cohorts simulated,...] [--only NAME;NAME]
    .venv/bin/python benchmarks/sweep_round10.py --render-only   # sweep_round10.csv (+ round 8's rows) -> .md

Variants, each applied by patching the package for the fit only (a context manager, restored after each
job, so that a pool worker's next job sees the package unchanged; see round 8's note):

- ``invariant front``: the encoder's fixed first layer holds the top 18 directions of the closed-form
  invariant projection (`twinpurify.invariance.invariant_directions`, shrinkage 4) instead of the tumors'
  top 18 principal components; everything else is the round-7 defaults. The package's
  ``encoder_input="invariant"`` reads 256 such directions (round 3); here the width matches the PCA front.
- ``mixing-fraction penalty``: a term added to the loss, weight 10: the in-batch R² of each view's mixing
  fraction regressed (ridge 1e-3, standardised columns) on its embedding before the projector — an
  explicit penalty on what the embedding says about how much normal tissue was mixed in, which the
  Barlow Twins loss only asks of the projector's output (round 7).
- ``32 kept``: ``n_networks=3, beta_max=0.9`` with the last step keeping 32 of the members' 54 trained
  dimensions instead of 16 (more room for the subtype signal the 128-dimensional baselines keep).

Rows without these names are round 8's (`sweep_round8.csv`: same seeds and scoring), shown beside them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "python"))

from sweep_variants import fit_and_score, main_beside_round8  # noqa: E402

FRONT_WIDTH = 18  # the defaults' trained width: 16 kept + 2 dropped
FRONT_SHRINKAGE = 4.0
PENALTY = 10.0
WIDE_KEEP = 32
CANDIDATE = dict(n_networks=3, beta_max=0.9)

VARIANTS: dict[str, tuple[dict[str, Any], str]] = {  # name: (estimator settings, patch)
    "TP invariant front (18 dirs, shrinkage 4)": (
        dict(encoder_input="invariant", invariant_shrinkage=FRONT_SHRINKAGE),
        "front",
    ),
    "TP n_networks 3, beta 0.9, invariant front": (
        dict(encoder_input="invariant", invariant_shrinkage=FRONT_SHRINKAGE, **CANDIDATE),
        "front",
    ),
    "TP mixing-fraction penalty 10": ({}, "penalty"),
    "TP n_networks 3, beta 0.9, 32 kept": (CANDIDATE, "wide"),
}


@contextmanager
def narrow_invariant_front() -> Iterator[None]:
    """While open, ``encoder_input="invariant"`` reads FRONT_WIDTH invariant directions, not 256."""
    from twinpurify import estimator

    original = estimator.invariant_directions
    estimator.invariant_directions = lambda Xs, D, k, shrinkage, rank: original(Xs, D, FRONT_WIDTH, shrinkage, rank)
    try:
        yield
    finally:
        estimator.invariant_directions = original


def fraction_r2(z: Any, y: Any) -> Any:
    """In-batch R² of `y` from the standardised columns of `z` (ridge 1e-3), differentiable in `z`."""
    import torch

    z, y = z.float(), y.float()
    zc = z - z.mean(0)
    zs = zc / (zc.std(0) + 1e-6)
    yc = y - y.mean()
    a = zs.T @ zs / len(y) + 1e-3 * torch.eye(zs.shape[1], device=z.device)
    w = torch.linalg.solve(a, zs.T @ yc / len(y))
    return (yc @ (zs @ w)) / (yc @ yc + 1e-12)


@contextmanager
def mixing_fraction_penalty() -> Iterator[None]:
    """While open, the loss adds PENALTY x the R² of each view's mixing fraction from its embedding.

    The fractions are the views' own: read by replaying the generator's first draw of each call (the
    generator's state is saved and restored, so the views drawn are the ones the fit would draw anyway).
    """
    import torch
    from twinpurify import augment, objective

    seen: dict[str, Any] = {}
    view_call, terms, loss = (
        augment.ViewGenerator.__call__,
        objective.TwinPurifyObjective.terms,
        objective.TwinPurifyObjective.__call__,
    )

    def views(self: Any, tumor_lin: Any, generator: Any, beta_scale: Any = None, repeats: int = 1) -> Any:
        state = generator.get_state()
        beta = torch.rand(len(tumor_lin) * int(repeats), device=tumor_lin.device, generator=generator)
        generator.set_state(state)
        beta = beta * self.config.beta_max
        seen["beta"] = beta if beta_scale is None else beta * beta_scale
        return view_call(self, tumor_lin, generator, beta_scale, repeats)

    class Capture(torch.nn.Module):
        def __init__(self, module: Any):
            super().__init__()
            self.inner, self.n_networks, self.head = module, getattr(module, "n_networks", 1), module.head

        def forward(self, v: Any) -> Any:
            z, p = self.inner(v)
            seen["z"] = z
            return z, p

    def with_penalty(self: Any, module: Any, tumor_lin: Any, generator: Any) -> Any:
        out = terms(self, Capture(module), tumor_lin, generator)
        z, beta = seen["z"], seen["beta"]
        blocks = [z] if z.dim() == 2 else list(z)
        out["mixing"] = sum(fraction_r2(zk, bk) for zk, bk in zip(blocks, beta.chunk(len(blocks))))
        return out

    def call(self: Any, module: Any, tumor_lin: Any, generator: Any) -> Any:
        t = self.terms(module, tumor_lin, generator)
        return self.invariance_weight * t["invariance"] + PENALTY * t["mixing"]

    augment.ViewGenerator.__call__ = views  # type: ignore[method-assign]
    objective.TwinPurifyObjective.terms = with_penalty  # type: ignore[method-assign]
    objective.TwinPurifyObjective.__call__ = call  # type: ignore[method-assign]
    try:
        yield
    finally:
        augment.ViewGenerator.__call__ = view_call  # type: ignore[method-assign]
        objective.TwinPurifyObjective.terms = terms  # type: ignore[method-assign]
        objective.TwinPurifyObjective.__call__ = loss  # type: ignore[method-assign]


@contextmanager
def wider_last_step() -> Iterator[None]:
    """While open, the last step keeps WIDE_KEEP directions (the output layer and names widened to match)."""
    from twinpurify import estimator
    from twinpurify.model import BarlowTwinsModule

    cls = estimator.TwinPurify
    build, n_out, solve = cls._build, cls._n_out, estimator.MixingMoments.solve

    def wide_build(self: Any, n_genes: int) -> Any:
        return BarlowTwinsModule(
            n_genes,
            list(self.hidden_dims),
            self._width,
            list(self.projector_dims),
            0,
            invariant_dims=self._invariant_dims,
            output_dims=WIDE_KEEP,
            n_networks=int(self.n_networks),
        )

    cls._build = wide_build  # type: ignore[method-assign]
    cls._n_out = lambda self: WIDE_KEEP  # type: ignore[method-assign]
    estimator.MixingMoments.solve = lambda self, keep, **kw: solve(self, WIDE_KEEP, **kw)  # type: ignore[method-assign]
    try:
        yield
    finally:
        cls._build, cls._n_out = build, n_out  # type: ignore[method-assign]
        estimator.MixingMoments.solve = solve  # type: ignore[method-assign]


PATCHES = {"front": narrow_invariant_front, "penalty": mixing_fraction_penalty, "wide": wider_last_step}


def job(cname: str, seed: int, variant: str, root: str) -> list[dict[str, Any]]:
    import twinpurify as tp

    settings, patch = VARIANTS[variant]

    def build(seed: int, n_genes: int) -> Any:
        return tp.TwinPurify(random_state=seed, device="cpu", n_genes=n_genes, verbose=False, **settings)

    return fit_and_score(cname, seed, variant, root, build, PATCHES[patch]())


def main() -> None:
    main_beside_round8(
        "sweep_round10",
        __doc__,
        list(VARIANTS),
        job,
        "Seeds 0-4, this project's 2-core CPU machine (2 processes, one torch thread each; torch 2.13, numpy 1.26), "
        "2026-11-28. Rows without 'invariant front', 'penalty' or 'kept' are round 8's (`sweep_round8.csv`: same "
        "seeds and scoring). `32 kept` has 32 dimensions, every other TwinPurify row 16.\n",
    )


if __name__ == "__main__":
    main()
