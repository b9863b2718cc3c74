"""The Gradio app: a thin layer of tabs over :func:`visionplay.load`.

Each tab loads its model when the app is built; a model that is missing or broken turns
its tab into a message saying how to make it, and the other tabs keep working.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from . import series
from .errors import EmptyInputError, ModelNotFoundError, VisionplayError
from .faces import draw_faces
from .inference import ForecastModel, KeypointModel, Model, load
from .learn import learn_tab
from .locations import examples_dir
from .preprocess import open_image, open_unloaded

DRAW_HINT = "Draw a digit anywhere on the canvas: any size, any stroke."
PHOTO_HINT = "Upload, paste or take a photo of one garment or object."
FACE_HINT = "Upload, paste or take a picture with one or more faces in it."
NO_FACE = (
    "**No face found.** The detector finds upright, roughly frontal faces at least "
    "8 % of the picture's shorter side across."
)
SERIES_HINT = (
    "Press **New series** for one from the generator, or paste numbers (commas, spaces or "
    "new lines), or upload a one-column CSV."
)
PHOTO_MODELS = ("fashion_mnist", "cifar10")  # registry keys, in the order the tab offers them
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


def enlarge(array: np.ndarray, scale: int = SEEN_SCALE) -> np.ndarray:
    """(C, H, W) floats in [0, 1] -> uint8 picture, each pixel a scale x scale block."""
    pixels = np.uint8(np.round(np.clip(array, 0, 1) * 255))
    pixels = pixels[0] if pixels.shape[0] == 1 else pixels.transpose(1, 2, 0)
    return pixels.repeat(scale, axis=0).repeat(scale, axis=1)


def classify(
    model: Model, value: Any, top_k: int, hint: str = DRAW_HINT
) -> tuple[dict | None, np.ndarray | None, str]:
    """Label scores, the input the model saw, and a message (empty when all went well)."""
    image = as_image(value)
    if image is None:
        return None, None, hint
    try:
        seen = model.prepare(image)
    except EmptyInputError:
        return None, None, hint
    except VisionplayError as err:
        return None, None, f"**Could not read that picture:** {err}"
    top = model.predict_prepared(seen[None], top_k)[0]
    return {p.label: p.score for p in top}, enlarge(seen), ""


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


def draw_tab(directory: str | os.PathLike | None) -> None:
    model, problem = try_load("mnist", directory)
    with gr.Tab("Draw", id="mnist"):
        if model is None:
            gr.Markdown(problem)
            return
        with gr.Row():
            with gr.Column(scale=3):
                sketch = tolerant(
                    gr.Sketchpad(
                        label="Draw a digit",
                        type="numpy",
                        image_mode="RGBA",
                        canvas_size=(400, 400),
                        brush=gr.Brush(default_size=18, colors=["#000000"], color_mode="fixed"),
                        layers=False,
                        transforms=(),
                        height=500,  # room for the whole 400x400 canvas at 100 %
                        elem_id="digit-sketchpad",
                        elem_classes=["brush-ready"],
                    )
                )
                clear = gr.Button("Clear", elem_id="digit-clear")
            with gr.Column(scale=2):
                label = gr.Label(num_top_classes=3, label="Prediction", elem_id="digit-label")
                gr.Markdown("What the model sees (28x28):")
                seen = gr.Image(
                    show_label=False,
                    type="numpy",
                    format="png",  # lossless blocks, and faster to encode than webp
                    interactive=False,
                    height=224,
                    buttons=[],
                    elem_id="digit-seen",
                )
                message = gr.Markdown(DRAW_HINT, elem_id="digit-message")

        def read(value: Any) -> tuple[dict | None, np.ndarray | None, str]:
            return classify(model, value, top_k=3)

        # Only the newest drawing matters: later strokes replace queued ones.
        sketch.change(
            read, sketch, [label, seen, message],
            trigger_mode="always_last", show_progress="hidden", api_name="draw",
        )  # fmt: skip
        clear.click(lambda: (None, None, None, DRAW_HINT), None, [sketch, label, seen, message],
                    api_name=False)  # fmt: skip


def photo_tab(directory: str | os.PathLike | None) -> None:
    loaded = {name: try_load(name, directory) for name in PHOTO_MODELS}
    models = {name: model for name, (model, _) in loaded.items() if model is not None}
    with gr.Tab("Photo", id="photo"):
        if not models:
            gr.Markdown("\n\n".join(problem for _, problem in loaded.values()))
            return
        with gr.Row():
            with gr.Column(scale=3):
                # A file path keeps the upload as it is (mode, bit depth, EXIF) for our reader.
                photo = tolerant(gr.Image(
                    label="Photo", type="filepath", image_mode=None,
                    sources=["upload", "clipboard", "webcam"], elem_id="photo-input",
                ))  # fmt: skip
                choice = gr.Radio(
                    list(models), value=next(iter(models)), label="Model", elem_id="photo-model"
                )
                missing = [problem for model, problem in loaded.values() if model is None]
                if missing:
                    gr.Markdown("\n\n".join(missing))
                examples = sorted(EXAMPLES.glob("*.png"))
                example_rows = [[str(p), p.stem.split("-")[0]] for p in examples]
                example_rows = [row for row in example_rows if row[1] in models]
                if example_rows:
                    gr.Examples(example_rows, [photo, choice], label="Examples")
            with gr.Column(scale=2):
                label = gr.Label(num_top_classes=5, label="Prediction", elem_id="photo-label")
                gr.Markdown("What the model sees:")
                seen = gr.Image(
                    show_label=False, type="numpy", format="png", interactive=False,
                    height=224, buttons=[], elem_id="photo-seen",
                )  # fmt: skip
                message = gr.Markdown(PHOTO_HINT, elem_id="photo-message")

        def read(value: Any, name: str) -> tuple[dict | None, np.ndarray | None, str]:
            return classify(models[name], value, top_k=5, hint=PHOTO_HINT)

        outputs = [label, seen, message]
        photo.change(read, [photo, choice], outputs, show_progress="hidden", api_name="photo")
        choice.change(read, [photo, choice], outputs, show_progress="hidden", api_name=False)


def mark_faces(
    model: KeypointModel, value: Any, lines: bool, found: list | None = None
) -> tuple[Any, str, list | None]:
    """The picture with every face's box and points drawn, a count (or why not), and the
    faces, which a later call with ``found`` draws again without detecting them again."""
    if value is None:
        return None, FACE_HINT, None
    try:
        picture = open_image(value)
        found = model.predict(picture) if found is None else found
    except VisionplayError as err:
        return None, f"**Could not read that picture:** {err}", None
    if not found:
        return picture.convert("RGB"), NO_FACE, found
    count = f"**{len(found)} faces found**" if len(found) > 1 else "**1 face found**"
    return draw_faces(picture, found, lines=lines), count, found


def face_tab(directory: str | os.PathLike | None) -> None:
    model, problem = try_load("face_keypoints", directory)
    with gr.Tab("Face", id="face_keypoints"):
        if model is None:
            gr.Markdown(problem)
            return
        with gr.Row():
            with gr.Column():
                photo = tolerant(gr.Image(
                    label="Picture", type="filepath", image_mode=None,
                    sources=["upload", "clipboard", "webcam"], elem_id="face-input",
                ))  # fmt: skip
                lines = gr.Checkbox(
                    value=True, label="Join the points (jaw, brows, nose, eyes, lips)",
                    elem_id="face-lines",
                )  # fmt: skip
                examples = sorted(EXAMPLES.glob("face_keypoints-*.jpg"))
                if examples:
                    gr.Examples([[str(p)] for p in examples], [photo], label="Examples")
            with gr.Column():
                marked = gr.Image(
                    label="Faces and their 68 points", type="pil", interactive=False,
                    buttons=["download"], elem_id="face-output",
                )  # fmt: skip
                message = gr.Markdown(FACE_HINT, elem_id="face-message")

        # The picture on show and its faces: toggling the lines only redraws them (the
        # Haar detection is most of a request's time).
        faces = gr.State(None)

        def read(value: Any, join: bool, seen: tuple | None = None) -> tuple[Any, str, tuple]:
            known = seen[1] if seen and seen[0] == value else None  # None: detect them
            drawn, text, found = mark_faces(model, value, join, known)
            return drawn, text, (value, found)

        outputs = [marked, message, faces]
        photo.change(read, [photo, lines], outputs, show_progress="hidden", api_name="faces")
        lines.change(read, [photo, lines, faces], outputs, show_progress="hidden", api_name=False)


def series_text(values: np.ndarray) -> str:
    return ", ".join(f"{v:.4f}" for v in values)


def new_series(seed: float | None) -> tuple[str, list[float], int]:
    """A series from the seed's generator: 50 values shown, the next 10 kept as truth."""
    seed = int(seed or 0)
    values = series.generate(1, series.HISTORY + 10, seed=seed)[0]
    return series_text(values[: series.HISTORY]), values.tolist(), seed + 1


def load_csv(path: str) -> tuple[str, list[float]]:
    """The uploaded CSV's numbers into the series box (its problem as a pop-up error)."""
    try:
        values = series.read_csv_column(Path(path).read_bytes())
    except VisionplayError as err:
        raise gr.Error(f"Could not read that CSV: {err}") from None
    return series_text(values), []


def forecast_view(
    model: ForecastModel, text: str | None, steps: int, generated: list[float]
) -> tuple[Any, str]:
    """The history, the model's forecast, both baselines and (for a generated series) the
    truth, as long-form rows for the tab's LinePlot (drawn in the browser: a tenth of the
    server's time of a matplotlib figure); or a message saying what is wrong."""
    import pandas as pd  # Gradio's own dependency

    if not text or not text.strip():
        return None, SERIES_HINT
    try:
        values = model.prepare(text)[:, 0]
        forecast = model.forecast(values, int(steps))
    except VisionplayError as err:
        return None, f"**Cannot forecast that:** {err}"
    steps = len(forecast)
    # The last known value starts every line ahead, so each joins the history.
    start = np.arange(len(values) - 1, len(values) + steps)
    last = values[-1:]
    lines = {"history": (np.arange(len(values)), values)}
    history = np.asarray(generated[: len(values)], np.float32)
    if len(generated) >= len(values) + steps and np.allclose(history, values, atol=1e-3):
        truth = np.asarray(generated[len(values) : len(values) + steps])
        lines["truth"] = (start, np.concatenate([last, truth]))
    lines["naive"] = (start, np.concatenate([last, series.naive(values[None], steps)[0]]))
    lines["linear"] = (start, np.concatenate([last, series.linear_baseline(values, steps)]))
    lines[model.name] = (start, np.concatenate([last, forecast]))
    rows = pd.concat(
        pd.DataFrame({"step": x, "value": np.asarray(y, np.float64), "line": name})
        for name, (x, y) in lines.items()
    )
    message = f"**Next {steps}:** " + ", ".join(f"{v:.3f}" for v in forecast)
    warning = series.outside_learnt_range(values)
    return rows, message + (f"\n\n**Careful:** {warning}." if warning else "")


def forecast_tab(directory: str | os.PathLike | None) -> None:
    model, problem = try_load("timeseries", directory)
    with gr.Tab("Forecast", id="timeseries"):
        if model is None:
            gr.Markdown(problem)
            return
        generated = gr.State([])
        with gr.Row():
            with gr.Column():
                text = gr.Textbox(label="Series", lines=4, elem_id="series-input",
                                  placeholder="0.1, 0.25, 0.31, ...")  # fmt: skip
                with gr.Row():
                    fresh = gr.Button("New series", elem_id="series-new")
                    seed = gr.Number(value=0, precision=0, label="Seed", minimum=0)
                upload = gr.File(label="One-column CSV", file_types=[".csv", ".txt"],
                                 type="filepath")  # fmt: skip
                steps = gr.Slider(1, 10, value=10, step=1, label="Steps ahead")
                go = gr.Button("Forecast", variant="primary", elem_id="series-forecast")
            with gr.Column():
                plot = gr.LinePlot(
                    x="step", y="value", color="line", label="Forecast", color_title="",
                    color_map={"history": "#4d4d4d", "truth": "#2ca02c", "naive": "#aaaaaa",
                               "linear": "#ff7f0e", model.name: "#1f77b4"},
                    elem_id="series-plot",
                )  # fmt: skip
                message = gr.Markdown(SERIES_HINT, elem_id="series-message")

        def read(values: str | None, horizon: int, truth: list[float]) -> tuple[Any, str]:
            return forecast_view(model, values, horizon, truth)

        inputs, outputs = [text, steps, generated], [plot, message]
        fresh.click(new_series, seed, [text, generated, seed], api_name="new_series").then(
            read, inputs, outputs, api_name=False
        )
        upload.upload(load_csv, upload, [text, generated], api_name=False).success(
            read, inputs, outputs, api_name=False
        )
        go.click(read, inputs, outputs, api_name="forecast")
        text.submit(read, inputs, outputs, api_name=False)
        steps.release(read, inputs, outputs, api_name=False)


def build_app(directory: str | os.PathLike | None = None, keep_uploads_s: int = 300) -> gr.Blocks:
    """All tabs over the models in ``directory`` (default :func:`.inference.models_dir`).
    Uploads and answers written to Gradio's temp folder are deleted once older than
    ``keep_uploads_s`` (checked as often): the browser shows an upload from there while
    its user looks at it, so not at the end of the request."""
    with gr.Blocks(title="visionplay", delete_cache=(keep_uploads_s, keep_uploads_s)) as demo:
        gr.Markdown("# visionplay\nSmall vision models, live, through onnxruntime.")
        with gr.Tabs():
            draw_tab(directory)
            photo_tab(directory)
            face_tab(directory)
            forecast_tab(directory)
            learn_tab(directory)
        demo.load(None, js=BRUSH_READY_JS)
    return demo
