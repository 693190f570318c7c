"""Kept for scripts written against 0.1.0: `plot_embeddings` now builds `twinpurify.pl.embeddings` and
saves it, without switching matplotlib's backend."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import pl


def plot_embeddings(embeddings: Mapping[str, Any], purity: Any, subtype: Any, path: Any, title: str = "") -> Path:
    """A 2 x n grid of embeddings coloured by purity and subtype, written to `path` (see `twinpurify.pl`)."""
    return pl.save(pl.embeddings(embeddings, purity, subtype, title=title), path)
