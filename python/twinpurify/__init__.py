"""TwinPurify: tumor-intrinsic embeddings of bulk transcriptomes with Barlow Twins.

Zheng & Bryson, "TwinPurify", arXiv 2601.18640 (2026).
"""
from __future__ import annotations

import logging

__version__ = "0.1.0"

from .baselines import (AutoencoderEmbedding, ContrastivePCA, InvariantProjection, NormalDifference,  # noqa: E402
                        PCAEmbedding, RawProfiles)
from .base import load_model  # noqa: E402
from .data import InputError  # noqa: E402
from .estimator import TwinPurify  # noqa: E402
from . import datasets, tl  # noqa: E402


def _default_handler() -> None:
    """Messages (scale detected, genes dropped) go to stderr unless the user configures logging.

    Silence them with logging.getLogger("twinpurify").setLevel(logging.WARNING).
    """
    log = logging.getLogger("twinpurify")
    if not log.handlers:
        h = logging.StreamHandler()
        h.setFormatter(logging.Formatter("twinpurify: %(message)s"))
        log.addHandler(h)
        log.setLevel(logging.INFO)


_default_handler()

__all__ = ["TwinPurify", "PCAEmbedding", "ContrastivePCA", "NormalDifference", "InvariantProjection",
           "AutoencoderEmbedding", "RawProfiles",
           "InputError", "load_model", "datasets", "tl", "__version__"]
