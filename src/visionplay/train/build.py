"""The model as it is trained, checkpointed and exported: a registry architecture with its
input normalisation in front."""

from __future__ import annotations

from typing import Any

from torch import nn

from ..models.common import Normalized, with_normalization
from ..models.registry import create_model, get_config


def build_model(name: str, **kwargs: Any) -> Normalized:
    """Registry architecture ``name`` behind its normalisation: [0, 1] pixels go in.
    ``model.normalize`` and ``model.net`` are its two parts."""
    return with_normalization(create_model(name, **kwargs), get_config(name))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
