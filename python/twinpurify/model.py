"""Networks: the encoder, the fixed first and last layers around it (`embedding_module` gives the purified
embedding), the projector, the decoder."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def mlp(sizes: list[int], last_activation: bool = False) -> nn.Sequential:
    """Linear -> BatchNorm -> ReLU blocks; the last layer plain unless `last_activation`."""
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1], bias=i == len(sizes) - 2 and not last_activation))
        if i < len(sizes) - 2 or last_activation:
            layers += [nn.BatchNorm1d(sizes[i + 1]), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class NormalDifferenceInput(nn.Module):
    """A fixed first layer: standardised log2 profile -> standardised purity-free target.

    Holds only buffers (the preprocessing mean/sd, the mean normal in linear space and the target's
    per-gene mean/sd), so it is saved with the weights and an encoder that starts with it maps new
    samples exactly as it maps training views. See `twinpurify.targets`.
    """

    log_mean: torch.Tensor
    log_std: torch.Tensor
    normal_mean_lin: torch.Tensor
    target_mean: torch.Tensor
    target_std: torch.Tensor

    def __init__(self, n_genes: int):
        super().__init__()
        for name in ("log_mean", "log_std", "normal_mean_lin", "target_mean", "target_std"):
            self.register_buffer(name, torch.zeros(n_genes) if "mean" in name else torch.ones(n_genes))

    def set_statistics(
        self,
        log_mean: torch.Tensor,
        log_std: torch.Tensor,
        normal_mean_lin: torch.Tensor,
        target_mean: torch.Tensor,
        target_std: torch.Tensor,
    ) -> None:
        for name, value in zip(
            ("log_mean", "log_std", "normal_mean_lin", "target_mean", "target_std"),
            (log_mean, log_std, normal_mean_lin, target_mean, target_std),
        ):
            getattr(self, name).copy_(value)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lin = torch.exp2(x.float() * self.log_std + self.log_mean)
        d = lin - self.normal_mean_lin
        d = d / d.norm(dim=1, keepdim=True).clamp_min(1e-12)
        return ((d - self.target_mean) / self.target_std).to(x.dtype)


class FixedLinearInput(nn.Module):
    """A fixed linear layer (x - center) @ weight.T: buffers only, saved with the weights.

    As the encoder's first layer it carries closed-form directions in (the invariant directions or the
    tumors' top principal components, `twinpurify.invariance`); as `BarlowTwinsModule.output` it keeps the
    embedding's most mixing-invariant directions (`twinpurify.rotation`). `n_genes` is its input width.
    """

    weight: torch.Tensor
    center: torch.Tensor

    def __init__(self, n_genes: int, n_out: int):
        super().__init__()
        self.register_buffer("weight", torch.zeros(n_out, n_genes))
        self.register_buffer("center", torch.zeros(n_genes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.center.to(x.dtype)) @ self.weight.to(x.dtype).T


class Members(nn.Module):
    """Several encoder bodies over the same input, their outputs side by side (`n_networks` > 1).

    At inference every member reads the same rows; in training each member reads its own views
    (`BarlowTwinsModule.forward`), so the members are trained as independent networks that share
    only their fixed first layer and the order of the batches.
    """

    def __init__(self, bodies: Sequence[nn.Module]):
        super().__init__()
        self.bodies = nn.ModuleList(bodies)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([b(x) for b in self.bodies], dim=1)


class BarlowTwinsModule(nn.Module):
    """Encoder genes -> hidden -> embedding, projector embedding -> proj -> proj.

    With `normal_difference_input`, the encoder starts with `NormalDifferenceInput`.
    With `target_dim`, a head embedding -> hidden -> target predicts each tumor's purity-free target
    (`twinpurify.targets`) from the embedding of a mixed view; it exists only for training.
    With `output_dims`, a fixed last layer (`output`, filled after training by `twinpurify.rotation`)
    keeps that many of the ``n_components * n_networks`` trained dimensions; training never goes through it.
    With `n_networks` > 1 the encoder's trainable part and the projector exist that many times
    (`Members`, `projectors`): the embedding before `output` is the members' `n_components`-wide
    embeddings side by side, and `forward` takes one view pair per member.
    """

    def __init__(
        self,
        n_genes: int,
        hidden_dims: list[int],
        n_components: int,
        projector_dims: list[int],
        target_dim: int = 0,
        normal_difference_input: bool = False,
        invariant_dims: int = 0,
        output_dims: int = 0,
        n_networks: int = 1,
    ):
        super().__init__()
        if n_networks > 1 and target_dim:
            raise ValueError("the content head is not available with several networks (n_networks > 1)")
        self.n_networks = int(n_networks)
        fixed: list[nn.Module] = [NormalDifferenceInput(n_genes)] if normal_difference_input else []
        if invariant_dims:  # closed-form directions (invariant or principal) as a fixed first layer
            fixed.append(FixedLinearInput(n_genes, invariant_dims))
        width_in = invariant_dims or n_genes
        if n_networks == 1:  # the layout of every folder written before n_networks: layers in one Sequential
            self.encoder = nn.Sequential(*fixed, *mlp([width_in, *hidden_dims, n_components]))
            self.projector = mlp([n_components, *projector_dims]) if projector_dims else nn.Identity()
        else:
            bodies = [mlp([width_in, *hidden_dims, n_components]) for _ in range(n_networks)]
            self.encoder = nn.Sequential(*fixed, Members(bodies))
            self.projectors = nn.ModuleList(
                mlp([n_components, *projector_dims]) if projector_dims else nn.Identity() for _ in range(n_networks)
            )
        self.n_fixed = len(fixed)
        self.head = mlp([n_components, *reversed(hidden_dims), target_dim]) if target_dim else None
        self.output = FixedLinearInput(n_components * n_networks, output_dims) if output_dims else None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One network: (embedding, projection) of the rows. Several: `x` holds ``n_networks`` equal blocks
        of rows (member k reads block k) and both outputs are stacked, shape (n_networks, rows, width)."""
        if self.n_networks == 1:
            z = self.encoder(x)
            return z, self.projector(z)
        h = self.encoder[: self.n_fixed](x)
        members = self.encoder[self.n_fixed]
        assert isinstance(members, Members)
        zs = [body(part) for body, part in zip(members.bodies, h.chunk(self.n_networks))]
        return torch.stack(zs), torch.stack([proj(z) for proj, z in zip(self.projectors, zs)])

    def embedding_module(self) -> nn.Module:
        """Standardised profiles -> the embedding users get (the encoder, then `output` when there is one)."""
        return self.encoder if self.output is None else nn.Sequential(self.encoder, self.output)


class AutoencoderModule(nn.Module):
    """The same encoder shape, trained to reconstruct its input (the paper's autoencoder baseline)."""

    def __init__(self, n_genes: int, hidden_dims: list[int], n_components: int):
        super().__init__()
        self.encoder = mlp([n_genes, *hidden_dims, n_components])
        self.decoder = mlp([n_components, *reversed(hidden_dims), n_genes])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encoder(x)
        return z, self.decoder(z)

    def embedding_module(self) -> nn.Module:
        return self.encoder
