"""Networks: the encoder (whose output is the purified embedding), the projector, the decoder."""
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


class BarlowTwinsModule(nn.Module):
    """Encoder genes -> hidden -> embedding, projector embedding -> proj -> proj."""

    def __init__(self, n_genes: int, hidden_dims: list[int], n_components: int, projector_dims: list[int]):
        super().__init__()
        self.encoder = mlp([n_genes, *hidden_dims, n_components])
        self.projector = mlp([n_components, *projector_dims]) if projector_dims else nn.Identity()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encoder(x)
        return z, self.projector(z)


class AutoencoderModule(nn.Module):
    """The same encoder shape, trained to reconstruct its input (the paper's autoencoder baseline)."""

    def __init__(self, n_genes: int, hidden_dims: list[int], n_components: int):
        super().__init__()
        self.encoder = mlp([n_genes, *hidden_dims, n_components])
        self.decoder = mlp([n_components, *reversed(hidden_dims), n_genes])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encoder(x)
        return z, self.decoder(z)
