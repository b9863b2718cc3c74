"""The architectures (torch), each registered by its module on import; the registry is
read through this package, so it always holds them all."""

# The registry first: the modules below register into it as they are imported.
from .registry import create_model, get_config, get_entry, list_models, register_model  # noqa: I001
from . import detectors, digits, faces, garments, generators, objects, sequences, tutorials  # noqa: F401,E501  (register on import)
from .common import Normalize, with_normalization

__all__ = [
    "Normalize",
    "create_model",
    "get_config",
    "get_entry",
    "list_models",
    "register_model",
    "with_normalization",
]
