"""Layer tables: each layer's output shape and parameter count for an architecture's
natural input, as the tutorials print them."""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..models.registry import create_model, get_config, get_entry, list_models
from ..tasks import task_class


@dataclass(frozen=True)
class Layer:
    name: str
    kind: str
    output_shape: tuple[int, ...]
    parameters: int


def summarize(name: str, **kwargs: Any) -> list[Layer]:
    """The leaf layers of the bare architecture ``name`` in the order they run, for one
    example input of its task (a 50-step series for forecasters, z and a class for
    generators). Built on PyTorch's meta device, whose tensors have shapes but no storage,
    so the largest architecture's weights cost no memory; one whose forward needs real
    values is built on the CPU instead."""
    try:
        return trace(name, "meta", **kwargs)
    except (NotImplementedError, RuntimeError):  # what a meta tensor asked for a value raises
        return trace(name, "cpu", **kwargs)


def trace(name: str, device: str, **kwargs: Any) -> list[Layer]:
    """:func:`summarize` on ``device``: each leaf layer's output shape, as hooks see it."""
    with torch.device(device):
        model = create_model(name, **kwargs).eval()
    cfg = get_config(name)
    inputs = task_class(cfg.task).example_inputs(cfg, 1)
    sample = [torch.from_numpy(x).to(device) for x in inputs]
    layers: dict[str, Layer] = {}

    def record(module_name: str):
        def hook(module: nn.Module, _inputs, output) -> None:
            if module_name in layers:  # test-time augmentation runs a layer more than once
                return
            first = output[0] if isinstance(output, tuple) else output
            own = sum(p.numel() for p in module.parameters(recurse=False))
            layers[module_name] = Layer(module_name, type(module).__name__, tuple(first.shape), own)

        return hook

    leaves = [(n, m) for n, m in model.named_modules() if n and not list(m.children())]
    handles = [
        module.register_forward_hook(record(module_name))
        for module_name, module in leaves or [(type(model).__name__, model)]
    ]
    try:
        with torch.no_grad():
            model(*sample)
    finally:
        for handle in handles:
            handle.remove()
    return list(layers.values())


# Even on the meta device a large architecture takes a while to build: the app's explorer
# builds one at a time, and each name once.
_ONE_AT_A_TIME = threading.Lock()


def layer_table(name: str) -> tuple[Layer, ...]:
    """:func:`summarize` of the bare architecture ``name``, computed once per process and
    one architecture at a time: its layers never change."""
    with _ONE_AT_A_TIME:
        return _layer_table(name)


@functools.cache  # keyed by registered names only: an unknown name raises, and is not kept
def _layer_table(name: str) -> tuple[Layer, ...]:
    return tuple(summarize(name))


def format_summary(name: str, layers: list[Layer], total: int) -> str:
    rows = [
        (layer.name, layer.kind, str(layer.output_shape), f"{layer.parameters:,}")
        for layer in layers
    ]
    header = ("layer", "type", "output shape", "parameters")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    line = "  ".join(f"{{:<{w}}}" for w in widths[:3]) + f"  {{:>{widths[3]}}}"
    out = [f"{name}: {get_entry(name).description}", line.format(*header)]
    out += [line.format(*row) for row in rows]
    out.append(f"total parameters: {total:,}")
    return "\n".join(out)


def list_table() -> str:
    rows = [
        (name, get_config(name).dataset, get_config(name).task, get_entry(name).description)
        for name in list_models()
    ]
    width = max(len(r[0]) for r in rows)
    data = max(len(r[1]) for r in rows)
    return "\n".join(f"{n:<{width}}  {d:<{data}}  {t:<14}  {desc}" for n, d, t, desc in rows)
