"""Issue 9, round 10: other encoder fronts, a penalty on the mixing fraction and a wider last step, on 5 seeds.

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
- ``contrastive-PCA front``: the fixed first layer holds the 18 leading directions of the tumors' minus the
  normals' covariance (alpha 1, as `ContrastivePCA`) instead of the tumors' principal components.
- ``mixed front``: half the front from each: the 9 leading principal components and the 9 leading
  invariant-projection directions (shrinkage 4), the second block scaled to the first's mean variance.
- ``32 kept``: ``n_networks=3, beta_max=0.9`` with the last step keeping 32 of the members' 54 trained
  dimensions instead of 16 (more room for the subtype signal the 128-dimensional baselines keep).

Rows without these names are round 8's (`sweep_round8.csv`: same seeds and scoring), shown beside them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from unittest.mock import patch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "python"))

from sweep_variants import fit_and_score, main_beside_round8  # noqa: E402

FRONT_WIDTH = 18  # the defaults' trained width: 16 kept + 2 dropped (n_components + drop_mixing_dims)
FRONT_SHRINKAGE = 4.0
PENALTY = 10.0
WIDE_KEEP = 32
CPCA_ALPHA = 1.0
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
    "TP contrastive-PCA front (18 dirs, alpha 1)": ({}, "contrastive"),
    "TP mixed front (9 PCs + 9 invariant dirs)": ({}, "mixed"),
    "TP mixing-fraction penalty 10": ({}, "penalty"),
    "TP n_networks 3, beta 0.9, 32 kept": (dict(n_components=WIDE_KEEP, **CANDIDATE), "wide"),
}


@contextmanager
def narrow_invariant_front() -> Iterator[None]:
    """While open, ``encoder_input="invariant"`` reads FRONT_WIDTH invariant directions (the defaults' network
    width, ``n_components + drop_mixing_dims``), not 256.

    The directions come from mixing perturbations drawn at the estimator's own `beta_max`, so a variant
    with another `beta_max` also has another front.
    """
    from twinpurify import estimator

    original = estimator.invariant_directions

    def narrow(Xs: Any, D: Any, k: int, shrinkage: float, rank: int) -> Any:
        return original(Xs, D, FRONT_WIDTH, shrinkage, rank)

    with patch.object(estimator, "invariant_directions", narrow):
        yield


@contextmanager
def recorded_views(seen: dict[str, Any]) -> Iterator[None]:
    """While open, the estimator's view generator records into `seen` what the fit builds it from: the normals
    (log2), the standardisation (`mean`, `std`) and the view settings (`config`), for fronts that need them."""
    from twinpurify import estimator

    class Recording(estimator.ViewGenerator):  # type: ignore[misc,valid-type]
        def __init__(self, normal_log2: Any, mean: Any, std: Any, config: Any):
            seen.update(normal_log2=normal_log2.cpu().numpy(), mean=mean.cpu().numpy(), std=std.cpu().numpy())
            seen["config"] = config
            super().__init__(normal_log2, mean, std, config)

    with patch.object(estimator, "ViewGenerator", Recording):
        yield


@contextmanager
def contrastive_front() -> Iterator[None]:
    """While open, ``encoder_input="pca"`` reads the leading directions of the tumors' minus the normals'
    covariance (contrastive PCA, alpha 1, both on the tumors' standardisation) instead of the tumors' PCs.

    The normals are the fit's own, recorded when the estimator builds its view generator from them.
    """
    import numpy as np
    from twinpurify import estimator

    seen: dict[str, Any] = {}

    def contrastive(t_log: Any, k: int, prepare: Any) -> Any:
        Xt, Xn = prepare(t_log).astype(np.float64), prepare(seen["normal_log2"]).astype(np.float64)
        center = Xt.mean(0)
        At, An = Xt - center, Xn - Xn.mean(0)
        w, v = np.linalg.eigh(At.T @ At / len(At) - CPCA_ALPHA * (An.T @ An) / len(An))
        order = np.argsort(-w)[:k]
        W = v[:, order].T
        W = W * np.sign(W[np.arange(len(W)), np.abs(W).argmax(1)])[:, None]  # a fixed sign per direction
        return W, w[order], center

    with ExitStack() as stack:
        stack.enter_context(recorded_views(seen))
        stack.enter_context(patch.object(estimator, "principal_directions", contrastive))
        yield


@contextmanager
def mixed_front() -> Iterator[None]:
    """While open, ``encoder_input="pca"`` reads the tumors' leading principal components for half the width and
    the leading invariant-projection directions (shrinkage FRONT_SHRINKAGE) for the other half, the second block
    scaled to the first's mean variance; the normals, standardisation and mixing settings are the fit's own,
    recorded when the estimator builds its view generator (the perturbations are drawn with seed 0).
    """
    import numpy as np
    from twinpurify import estimator

    seen: dict[str, Any] = {}
    original = estimator.principal_directions

    def mixed(t_log: Any, k: int, prepare: Any) -> Any:
        W1, ev1, center = original(t_log, k - k // 2, prepare)
        W2, ev2 = invariant_block(t_log, k // 2, prepare, seen, float(np.mean(ev1)))
        return np.vstack([W1, W2]), np.concatenate([ev1, ev2]), center

    with ExitStack() as stack:
        stack.enter_context(recorded_views(seen))
        stack.enter_context(patch.object(estimator, "principal_directions", mixed))
        yield


def invariant_block(t_log: Any, k: int, prepare: Any, seen: dict[str, Any], mean_variance: float) -> Any:
    """(directions, variances) of the k leading invariant-projection directions (shrinkage FRONT_SHRINKAGE), scaled
    so that their mean variance is `mean_variance` (a block of principal components'), from the tumors' log2
    values and what `recorded_views` saw of the fit (its normals, standardisation and view settings; the
    perturbations are drawn with seed 0)."""
    import numpy as np
    from twinpurify.invariance import invariant_directions, mixing_perturbations

    Xs = prepare(t_log).astype(np.float64)
    cfg = seen["config"]
    D = mixing_perturbations(Xs, seen["normal_log2"], seen["mean"], seen["std"], cfg.beta_max, cfg.n_mix, 4, 0)
    W, ev = invariant_directions(Xs, D, k, FRONT_SHRINKAGE, 256)
    r = mean_variance / float(np.mean(ev))
    return W * np.sqrt(r), ev * r


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

    The fractions are the views' own, collected from `twinpurify.augment.mix_with_normals` (called block by
    block in row order); the rest of the loss (Barlow Twins, and the content term when it is on) is unchanged.
    """
    import torch
    from twinpurify import augment, objective

    seen: dict[str, Any] = {"beta": []}
    mix, view_call, terms = (
        augment.mix_with_normals,
        augment.ViewGenerator.__call__,
        objective.TwinPurifyObjective.terms,
    )

    def mix_and_keep(tumor_lin: Any, normal_lin: Any, beta: Any, *args: Any, **kwargs: Any) -> Any:
        seen["beta"].append(beta)
        return mix(tumor_lin, normal_lin, beta, *args, **kwargs)

    def views(self: Any, *args: Any, **kwargs: Any) -> Any:
        seen["beta"] = []
        return view_call(self, *args, **kwargs)

    class Capture(torch.nn.Module):
        def __init__(self, module: Any):
            super().__init__()
            self.inner, self.n_networks = module, getattr(module, "n_networks", 1)
            self.head = getattr(module, "head", None)

        def forward(self, v: Any) -> Any:
            z, p = self.inner(v)
            seen["z"] = z
            return z, p

    def with_penalty(self: Any, module: Any, tumor_lin: Any, generator: Any) -> Any:
        out = terms(self, Capture(module), tumor_lin, generator)
        z, beta = seen["z"], torch.cat(seen["beta"])
        blocks = [z] if z.dim() == 2 else list(z)
        out["mixing"] = sum(fraction_r2(zk, bk) for zk, bk in zip(blocks, beta.chunk(len(blocks))))
        return out

    def loss(self: Any, module: Any, tumor_lin: Any, generator: Any) -> Any:
        t = self.terms(module, tumor_lin, generator)
        total = self.invariance_weight * t["invariance"] + PENALTY * t["mixing"]
        return total + self.content_weight * t["content"] if "content" in t else total

    with ExitStack() as stack:
        stack.enter_context(patch.object(augment, "mix_with_normals", mix_and_keep))
        stack.enter_context(patch.object(augment.ViewGenerator, "__call__", views))
        stack.enter_context(patch.object(objective.TwinPurifyObjective, "terms", with_penalty))
        stack.enter_context(patch.object(objective.TwinPurifyObjective, "__call__", loss))
        yield


@contextmanager
def wider_last_step() -> Iterator[None]:
    """While open, the network keeps the width of the settings' ``n_components + drop_mixing_dims`` (18)
    while ``n_components`` (WIDE_KEEP, given with the variant's settings) sets how many directions the
    last step keeps: the front, the members and their training are those of the 16-dimensional settings."""
    from twinpurify import estimator

    with patch.object(estimator.TwinPurify, "_width", property(lambda self: FRONT_WIDTH)):
        yield


PATCHES = {
    "contrastive": contrastive_front,
    "front": narrow_invariant_front,
    "mixed": mixed_front,
    "penalty": mixing_fraction_penalty,
    "wide": wider_last_step,
}


def job(cname: str, seed: int, variant: str, root: str) -> list[dict[str, Any]]:
    settings, patch = VARIANTS[variant]
    return fit_and_score(cname, seed, variant, root, settings, PATCHES[patch]())


def main() -> None:
    main_beside_round8(
        "sweep_round10",
        __doc__,
        list(VARIANTS),
        job,
        "Seeds 0-4, this project's 2-core CPU machine (2 processes, one torch thread each; torch 2.13, numpy 1.26), "
        "2026-11-28. Rows without 'front', 'penalty' or 'kept' are round 8's (`sweep_round8.csv`: same "
        "seeds and scoring). `32 kept` has 32 dimensions, every other TwinPurify row 16.\n",
    )


if __name__ == "__main__":
    main()
