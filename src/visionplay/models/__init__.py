"""Architectures, registered in :mod:`visionplay.registry` on import (needs torch)."""

from . import digits, faces, garments, objects, sequences, tutorials  # noqa: F401  (register on import)
from .common import Normalize, with_normalization

__all__ = ["Normalize", "with_normalization"]
