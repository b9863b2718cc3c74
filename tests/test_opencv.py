"""Every shipped ONNX file opens in OpenCV's DNN module and answers as onnxruntime does.

onnxruntime is the runtime, but many users load ONNX files with ``cv2.dnn.readNetFromONNX``;
a runtime that crashes on a file is a defect in the file. OpenCV runs in a child process, so
that a crash while reading fails the test instead of killing pytest.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import visionplay
from visionplay.inference import list_exported
from visionplay.locations import models_dir

BATCHES = (1, 4)  # the batch axis is dynamic: one picture, and several
# Of the output's own scale (at least 1): a detector's rows hold box offsets in input pixels
# and logits, where float32 rounding alone is larger than on a probability.
TOLERANCE = 1e-4

# The child: read the file, run each input, save the outputs. Only cv2 and numpy. Inputs go
# in as a user has them: a generator's labels as int64, which OpenCV 4.14 and 5.1 accept.
CHILD = """
import sys
import cv2
import numpy as np

net = cv2.dnn.readNetFromONNX(sys.argv[1])
inputs = np.load(sys.argv[2])
outputs = {}
for key in sorted({k.split(".")[0] for k in inputs.files}):  # "batch1.z", "batch1.label"
    for name in [k for k in inputs.files if k.split(".")[0] == key]:
        net.setInput(inputs[name], name.split(".", 1)[1])
    outputs[key] = net.forward()
np.savez(sys.argv[3], **outputs)
"""

SHIPPED = list_exported()
OPENCV_MAJOR = int(cv2.__version__.split(".")[0])


def opencv_outputs(path: Path, inputs: dict[str, np.ndarray], tmp: Path) -> dict[str, np.ndarray]:
    """OpenCV's outputs for ``inputs``, computed in a child process."""
    np.savez(tmp / "inputs.npz", **inputs)
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(tmp / "inputs.npz"), str(tmp / "out.npz")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == 0, (
        f"OpenCV {cv2.__version__} failed on {path.name} ({how_it_ended(child.returncode)}): "
        f"{child.stderr.strip()[-2000:]}"
    )
    with np.load(tmp / "out.npz") as saved:
        return {key: saved[key] for key in saved.files}


def how_it_ended(returncode: int) -> str:
    """``exit 1``, or the signal that killed the child (``SIGSEGV``: OpenCV crashed)."""
    return signal.Signals(-returncode).name if returncode < 0 else f"exit {returncode}"


def random_inputs(model: visionplay.Model) -> dict[str, tuple[np.ndarray, ...]]:
    """The graph's inputs, of its kind (pixels in [0, 1], a series within [-1, 1], a
    latent vector and a class), at each batch size."""
    batches = {f"batch{n}": type(model).example_inputs(model.cfg, n) for n in BATCHES}
    if model.task == "forecast":
        batches = {key: (2 * x - 1,) for key, (x,) in batches.items()}
    return batches


@pytest.mark.skipif(not SHIPPED, reason="no exported models")
@pytest.mark.parametrize("name", SHIPPED)
def test_opencv_matches_onnxruntime(name, tmp_path):
    model = visionplay.load(name)
    if model.steps_axis is not None and OPENCV_MAJOR < 5:
        # OpenCV 4.x imports an LSTM only with a fixed sequence length; the forecaster's
        # steps axis is dynamic (any series length), which 5.x runs.
        pytest.skip(f"OpenCV {cv2.__version__} cannot import a recurrent layer on a dynamic axis")
    inputs = random_inputs(model)
    named = {
        f"{key}.{input_name}": x
        for key, batch in inputs.items()
        for input_name, x in zip(model.input_names(), batch, strict=True)
    }
    got = opencv_outputs(models_dir() / f"{name}.onnx", named, tmp_path)
    for key, batch in inputs.items():
        expected = model.run(*batch)
        assert got[key].size == expected.size, f"{key}: {got[key].shape} vs {expected.shape}"
        diff = float(np.abs(got[key].reshape(expected.shape) - expected).max())
        scale = max(1.0, float(np.abs(expected).max()))
        assert diff <= TOLERANCE * scale, (
            f"{name} {key}: OpenCV differs from onnxruntime by {diff:.2e} "
            f"(outputs up to {scale:.3g})"
        )
