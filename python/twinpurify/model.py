"""Networks: the encoder, the fixed first and last layers around it (`embedding_module` gives the purified
embedding), the projector, the decoder."""

from __future__ import annotations

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


class BarlowTwinsModule(nn.Module):
    """Encoder genes -> hidden -> embedding, projector embedding -> proj -> proj.

    With `normal_difference_input`, the encoder starts with `NormalDifferenceInput`.
    With `target_dim`, a head embedding -> hidden -> target predicts each tumor's purity-free target
    (`twinpurify.targets`) from the embedding of a mixed view; it exists only for training.
    With `output_dims`, a fixed last layer (`output`, filled after training by `twinpurify.rotation`)
    keeps that many of the `n_components` trained dimensions; training never goes through it.
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
    ):
        super().__init__()
        if invariant_dims:  # closed-form directions (invariant or principal) as a fixed first layer
            self.encoder = nn.Sequential(
                FixedLinearInput(n_genes, invariant_dims), *mlp([invariant_dims, *hidden_dims, n_components])
            )
        else:
            self.encoder = mlp([n_genes, *hidden_dims, n_components])
        if normal_difference_input:  # the purity-free representation is the encoder's first layer
            self.encoder = nn.Sequential(NormalDifferenceInput(n_genes), *self.encoder)
        self.projector = mlp([n_components, *projector_dims]) if projector_dims else nn.Identity()
        self.head = mlp([n_components, *reversed(hidden_dims), target_dim]) if target_dim else None
        self.output = FixedLinearInput(n_components, output_dims) if output_dims else None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encoder(x)
        return z, self.projector(z)

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
