"""TwinPurify: tumor-intrinsic embeddings of bulk transcriptomes with Barlow Twins.

Zheng & Bryson, "TwinPurify", arXiv 2601.18640 (2026).
"""

from __future__ import annotations

__version__ = "0.1.0"

from . import datasets, tl  # noqa: E402
from .base import load_model  # noqa: E402
from .baselines import (
    AutoencoderEmbedding,
    ContrastivePCA,
    InvariantProjection,
    NormalDifference,  # noqa: E402
    PCAEmbedding,
    RawProfiles,
)
from .data import InputError  # noqa: E402
from .estimator import TwinPurify  # noqa: E402
from .settings import settings  # noqa: E402

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
    "tl",
    "settings",
    "__version__",
]
