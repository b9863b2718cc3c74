"""PyTorch eager on the weights shipped beside an ``.onnx`` file: the torch side of
``visionplay bench``, which times it beside onnxruntime (:mod:`visionplay.bench.engines`)
and imports this module only then."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..config import DataConfig
from ..errors import VisionplayError
from .checkpoints import load_checkpoint, model_from_checkpoint
from .export import servable


def eager_model(name: str, directory: Path, device: str) -> torch.nn.Module:
    """The PyTorch model behind ``<name>.onnx``, from the weights shipped beside it."""
    path = directory / f"{name}.pt"
    if not path.is_file():
        raise VisionplayError(
            f"no weights at {path} to run {name} in PyTorch; "
            "`visionplay export --onnx` writes them beside the ONNX file"
        )
    checkpoint = load_checkpoint(path)
    cfg = DataConfig.from_dict(checkpoint["cfg"])
    model = servable(model_from_checkpoint(checkpoint), cfg, checkpoint.get("calibration"))
    return model.eval().to(device)


def eager_runner(
    name: str, directory: Path, device: str
) -> Callable[[tuple[np.ndarray, ...]], np.ndarray]:
    """The graph's inputs in, the answer back on the host (as onnxruntime's is), in
    PyTorch eager."""
    model = eager_model(name, directory, device)

    @torch.inference_mode()
    def run(inputs: tuple[np.ndarray, ...]) -> np.ndarray:
        return model(*(torch.from_numpy(x).to(device) for x in inputs)).cpu().numpy()

    return run


def cuda_available() -> bool:
    """Whether PyTorch can run on a GPU here."""
    return torch.cuda.is_available()


def torch_info() -> dict[str, Any]:
    return {"torch": torch.__version__, "torch_threads": torch.get_num_threads()}
