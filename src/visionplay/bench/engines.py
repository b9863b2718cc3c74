"""onnxruntime beside PyTorch eager on the same weights and inputs, one model on one
device; and ``load(name).predict`` end to end on the model's example input."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..inference import load
from .timing import IDLE_S, measure, percentiles, time_calls


def bench_model(
    name: str, directory: Path, runs: int, warmup: int, batch: int, device: str = "cpu"
) -> dict[str, Any]:
    """onnxruntime vs PyTorch eager for one model on one device."""
    from ..train.compare import eager_runner  # torch: only when the models part runs

    providers = ["CUDAExecutionProvider"] if device == "cuda" else ["CPUExecutionProvider"]
    model = load(name, directory, providers=providers)
    run_torch = eager_runner(name, directory, device)
    shape = tuple(model.cfg.input_size)
    # The graph's inputs (a generator's are two), random of their kind.
    one, many = (type(model).example_inputs(model.cfg, n) for n in (1, batch))

    def run_onnx(inputs: tuple[np.ndarray, ...]) -> np.ndarray:
        return model.session.run(None, dict(zip(model.input_names(), inputs, strict=True)))[0]

    result: dict[str, Any] = {"model": name, "device": device, "input": list(shape)}
    # PyTorch's OpenMP workers spin for a while after their last parallel region; on 2 cores
    # that halved onnxruntime's speed when it was timed right after a PyTorch call. So each
    # engine is timed after a pause, onnxruntime before PyTorch has run at all.
    for engine, call in (("onnxruntime", run_onnx), ("torch", run_torch)):
        time.sleep(IDLE_S)
        result[engine] = measure(call, one, many, runs, warmup)
    result["max_abs_diff"] = float(np.abs(run_onnx(many) - run_torch(many)).max())
    result["speedup_p50"] = round(result["torch"]["p50_ms"] / result["onnxruntime"]["p50_ms"], 2)
    result["speedup_batch"] = round(
        result["onnxruntime"]["batch_per_s"] / result["torch"]["batch_per_s"], 2
    )
    if device == "cpu":
        example = model.example()
        result["predict"] = percentiles(
            time_calls(lambda: model.predict(example), max(10, runs // 4), 3)
        )
    return result


def cuda_available() -> bool:
    """Whether both engines can run on the GPU here."""
    import onnxruntime as ort

    from ..train.compare import cuda_available as torch_cuda

    return "CUDAExecutionProvider" in ort.get_available_providers() and torch_cuda()


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    import onnxruntime as ort

    from ..train.compare import torch_info

    return {
        "cpus": os.cpu_count(),
        **torch_info(),
        "onnxruntime": ort.__version__,
        "providers": ort.get_available_providers(),
    }
