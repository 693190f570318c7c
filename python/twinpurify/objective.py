"""TwinPurify's training objective, as a callable the training loop invokes once per batch.

Two terms, both computed on views that mix each tumor with the cohort's own normals:

- **invariance** (Barlow Twins): the two views' projections must be perfectly cross-correlated
  dimension by dimension and decorrelated across dimensions, so the embedding cannot depend on how
  much, or which, normal tissue was mixed in;
- **content**: a head must predict, from each view's embedding, the tumor's purity-free target
  (its unit-length difference from the mean normal, standardised per gene; `twinpurify.targets`).

Invariance alone can be satisfied by discarding tumor biology along with the normal tissue (it does
not say what to keep); the content term says what to keep, and its target carries no purity scale.
Kept as a class, not a closure, so it can be tested on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import torch
from torch import nn

from .augment import ViewGenerator
from .loss import barlow_twins_loss
from .targets import normal_difference


@dataclass
class TwinPurifyObjective:
    """loss = invariance_weight * BarlowTwins(p1, p2) + content_weight * mean over views of MSE(head(z), target).

    views: makes standardised mixed views from linear-space tumors.
    normal_mean_lin, target_mean, target_std: define the content target (None disables the term).
    """

    views: ViewGenerator
    lambd: float = 5e-3
    invariance_weight: float = 1.0
    content_weight: float = 0.0
    normal_mean_lin: Optional[torch.Tensor] = None
    target_mean: Optional[torch.Tensor] = None
    target_std: Optional[torch.Tensor] = None
    clean_anchor: bool = False
    target_fn: Optional[Callable[[torch.Tensor], torch.Tensor]] = None  # replaces the default target

    def target(self, tumor_lin: torch.Tensor) -> torch.Tensor:
        """The standardised purity-free target of clean (unmixed) tumors."""
        if self.target_fn is not None:
            return self.target_fn(tumor_lin)
        if self.normal_mean_lin is None or self.target_mean is None or self.target_std is None:
            raise RuntimeError("the content term needs normal_mean_lin, target_mean and target_std")
        return (normal_difference(tumor_lin, self.normal_mean_lin) - self.target_mean) / self.target_std

    def terms(self, module: nn.Module, tumor_lin: torch.Tensor, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """Each term of the loss for one batch of linear-space tumors (unweighted)."""
        b = len(tumor_lin)
        k = int(getattr(module, "n_networks", 1))  # several networks: a view pair of their own each
        scale = None
        if self.clean_anchor:  # the first view of each pair is never mixed (beta scaled by 0)
            pair = torch.cat([torch.zeros(b, device=tumor_lin.device), torch.ones(b, device=tumor_lin.device)])
            scale = pair.repeat(k)
        v = self.views(tumor_lin, generator, scale, repeats=2 * k)  # every view in one pass
        z, p = module(v)
        if k == 1:
            p1, p2 = p.chunk(2)
            out = {"invariance": barlow_twins_loss(p1, p2, self.lambd)}
        else:  # (k, 2b, width): the members' losses summed, so each gets the gradient it would get alone
            losses = [barlow_twins_loss(pk[:b], pk[b:], self.lambd) for pk in p]
            out = {"invariance": torch.stack(losses).sum()}
        if self.content_weight > 0:
            head = getattr(module, "head", None)
            if head is None:
                raise RuntimeError("content_weight > 0 but the module has no head")
            t = self.target(tumor_lin)
            pred = head(z).float()
            out["content"] = (pred - torch.cat([t, t])).pow(2).mean()
        return out

    def __call__(self, module: nn.Module, tumor_lin: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        terms = self.terms(module, tumor_lin, generator)
        loss = self.invariance_weight * terms["invariance"]
        if "content" in terms:
            loss = loss + self.content_weight * terms["content"]
        return loss
