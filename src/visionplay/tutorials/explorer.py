"""The torch and onnx side of the Learn tab's model explorer: what the registry says of an
architecture, its layer table (:func:`..train.summary.layer_table`, built with torch), and
the operator sets an exported ONNX file imports (read with onnx).

The tab imports this only when the explorer is used: listing the registry imports the
models, and so torch, which the other tabs never need.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..models.registry import get_entry, list_models
from ..train.summary import Layer, layer_table


@dataclass(frozen=True)
class Architecture:
    """A registered architecture as the explorer shows it: its registry description and
    its leaf layers, in the order they run."""

    name: str
    description: str
    layers: tuple[Layer, ...]

    @property
    def parameters(self) -> int:
        return sum(layer.parameters for layer in self.layers)


def architecture_names() -> list[str]:
    """Every registered architecture's name, for the explorer's choices."""
    return list_models()


def architecture(name: str) -> Architecture | None:
    """``name``'s description and layer table; None when no architecture has that name
    (checked here: the registry's own error would quote the whole name)."""
    if name not in list_models():
        return None
    return Architecture(name, get_entry(name).description, layer_table(name))


def onnx_opsets(path: str | os.PathLike) -> str:
    """The operator sets the ONNX file at ``path`` imports, as "ai.onnx 17, ..." (its
    external weights, if any, are not read)."""
    import onnx

    proto = onnx.load(str(path), load_external_data=False)
    return ", ".join(f"{o.domain or 'ai.onnx'} {o.version}" for o in proto.opset_import)
