"""TwinPurify: tumor-intrinsic embeddings of bulk transcriptomes with Barlow Twins.

Zheng & Bryson, "TwinPurify", arXiv 2601.18640 (2026).
"""

from __future__ import annotations

from . import datasets, pathways, pl, tl
from ._version import __version__
from .base import load_model
from .baselines import (
    AutoencoderEmbedding,
    ContrastivePCA,
    InvariantProjection,
    NormalDifference,
    PCAEmbedding,
    RawProfiles,
)
from .data import InputError
from .estimator import TwinPurify
from .settings import settings

__all__ = [
    "TwinPurify",
    "PCAEmbedding",
    "ContrastivePCA",
    "NormalDifference",
    "InvariantProjection",
    "AutoencoderEmbedding",
    "RawProfiles",
    "InputError",
    "load_model",
    "datasets",
    "pathways",
    "tl",
    "pl",
    "settings",
    "__version__",
]
