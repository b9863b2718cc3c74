"""What the app's tabs share: upload handling, the classifier callback that Draw and Photo
both use, loading a tab's model (or the message shown instead), the example pictures, and
the page script that readies every Gradio sketchpad's brush (the Learn tab's; the Draw tab
has a canvas of its own).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import gradio as gr
import numpy as np
from gradio.components.plot import PlotData

from ..admission import ADMISSION, is_large
from ..errors import EmptyInputError, ModelNotFoundError, VisionplayError
from ..inference import load
from ..locations import examples_dir
from ..plots import encoded
from ..preprocess import open_unloaded, picture_pixels
from ..tasks import Classifier, Model

EXAMPLES = examples_dir()
SEEN_SCALE = 8  # the 28x28 model input, shown at 224x224

# Gradio 6.31 has no option for a Sketchpad's starting tool: whenever its value is empty (page
# load, Clear, its own trash button) it switches to the "image" tool, shows "select the draw tool
# to start" and ignores strokes. So click the brush of every pad marked "brush-ready" whenever
# that hint (.empty) shows; watching the whole page also covers tabs that render later.
BRUSH_READY_JS = """() => {
  const arm = () => {
    for (const pad of document.querySelectorAll(".brush-ready")) {
      const brush = pad.querySelector('.toolbar-wrap button[aria-label="Brush"]');
      if (pad.querySelector(".empty")) brush?.click();
    }
  };
  new MutationObserver(arm).observe(document.body, {childList: true, subtree: true});
  arm();
}"""


def tolerant(image: gr.Image | gr.ImageEditor) -> gr.Image | gr.ImageEditor:
    """Let an unreadable or oversized upload reach the callback as its file path (for a
    Sketchpad, as ``{"composite": path}``), so the tab can say what is wrong with the file:
    Gradio's own decoding fails with a bare "Error" before our code runs, and would decode
    a picture of any size. Patched on the instance: a subclass would be taken for a custom
    component with its own front end."""
    decode = image.preprocess

    def preprocess(payload: Any) -> Any:
        try:
            for path in uploaded_paths(payload):  # headers only: too many pixels raises
                open_unloaded(path).close()
            return decode(payload)
        except Exception:  # ours for too many pixels, PIL's for a broken or non-image file
            composite = getattr(payload, "composite", None)
            if composite is not None:
                return {"composite": getattr(composite, "path", None)}
            return getattr(payload, "path", None)

    image.preprocess = preprocess
    return image


def uploaded_paths(payload: Any) -> list[str]:
    """The files of an Image's value, or of a Sketchpad's (background, layers, composite)."""
    parts = [payload, getattr(payload, "background", None), getattr(payload, "composite", None)]
    parts += getattr(payload, "layers", None) or []
    return [part.path for part in parts if isinstance(getattr(part, "path", None), str)]


def as_image(value: Any) -> Any:
    """The picture inside a Gradio ImageEditor/Sketchpad value (its composite), or None."""
    if isinstance(value, dict):
        value = value.get("composite")
    return value


def plotted(fig: Any) -> PlotData:
    """A matplotlib figure as a ``gr.Plot`` value, rendered now under the plots' lock.
    Given the figure itself, Gradio would render it after the tab's function returns, in
    its postprocess, outside the lock, beside other requests' drawing."""
    return PlotData(type="matplotlib", plot=encoded(fig))


def enlarge(array: np.ndarray, scale: int = SEEN_SCALE) -> np.ndarray:
    """(C, H, W) floats in [0, 1] -> uint8 picture, each pixel a scale x scale block."""
    pixels = np.uint8(np.round(np.clip(array, 0, 1) * 255))
    pixels = pixels[0] if pixels.shape[0] == 1 else pixels.transpose(1, 2, 0)
    return pixels.repeat(scale, axis=0).repeat(scale, axis=1)


def classify(
    model: Classifier, value: Any, top_k: int, hint: str, scale: int = SEEN_SCALE
) -> tuple[dict | None, np.ndarray | None, str]:
    """Label scores, the input the model saw (8-bit, each pixel ``scale`` x ``scale``), and
    a message (empty when all went well; ``hint`` when there is nothing to read)."""
    image = as_image(value)
    if image is None:
        return None, None, hint
    with ADMISSION.turn(is_large(pixels=pixels_of(image))):
        try:
            seen = model.prepare(image)
        except EmptyInputError:
            return None, None, hint
        except VisionplayError as err:
            return None, None, f"**Could not read that picture:** {err}"
        top = model.predict_prepared(seen[None], top_k)[0]
    return {p.label: p.score for p in top}, enlarge(seen, scale), ""


def pixels_of(image: Any) -> int:
    """The pixels a tab's picture holds (a file's counted from its header), for its turn."""
    if isinstance(image, str):
        return picture_pixels(image)
    if isinstance(image, np.ndarray):
        return int(np.prod(image.shape[:2]))
    size = getattr(image, "size", (0, 0))
    return size[0] * size[1] if isinstance(size, tuple) else 0


def try_load(name: str, directory: str | os.PathLike | None) -> tuple[Model | None, str]:
    """The model, or None and what its tab says instead. The tab's words name no folder
    of the server; the whole error (where it looked) goes to the server's log."""
    try:
        return load(name, directory), ""
    except VisionplayError as err:
        print(f"visionplay: the {name} model is not available: {err}", file=sys.stderr)
        what = "is missing" if isinstance(err, ModelNotFoundError) else "cannot be read"
        return None, (
            f"**The {name} model is not available:** its file `{name}.onnx` {what}. Make it "
            f"with `visionplay export --onnx` (the server's log says where it looked)."
        )
