"""What the app's tabs share: upload handling, the classifier callback that Draw and Photo
both use, the models a tab offers and its model picker (or the message shown instead), the
example pictures, and the page script that readies every Gradio sketchpad's brush (the
Learn tab's; the Draw tab has a canvas of its own).
"""

from __future__ import annotations

import io
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from types import SimpleNamespace
from typing import Any

import gradio as gr
import numpy as np
from fastapi import HTTPException
from gradio.components.plot import PlotData

from ..admission import ADMISSION, is_large
from ..errors import EmptyInputError, InvalidInputError, ModelNotFoundError, VisionplayError
from ..inference import load
from ..locations import Folders, examples_dir, search_path, shipped_models_dir
from ..manifest import Listed, listed_models
from ..plots import encoded
from ..preprocess import open_unloaded, picture_pixels
from ..tasks import Classifier, Model

EXAMPLES = examples_dir()
SEEN_SCALE = 8  # the 28x28 model input, shown at 224x224
# What a Sketchpad's blob store may hold. Gradio's front end sends a drawing's blobs at each
# change, but its events mostly send the drawing as uploaded files: a blob stays stored until
# an event names its id, and most never are.
BLOB_BYTES = 64 << 20
MOST_BLOB_SETS = 64
MOST_LAYERS = 4  # a drawing's layers; the app's pads have one


def static_text(name: str) -> str:
    """The text of ``static/<name>``, a page part (HTML, CSS, JavaScript) shipped beside this
    module as package data: read through importlib.resources, so it is found wherever the
    package is installed."""
    return (resources.files(__package__) / "static" / name).read_text(encoding="utf-8")


# Clicks the brush of every Sketchpad marked "brush-ready" whenever it shows no drawing
# (the Learn tab's; see the script for why). Runs once at page load: `demo.load(js=...)`.
BRUSH_READY_JS = static_text("brush_ready.js")


def tolerant(image: gr.Image | gr.ImageEditor) -> gr.Image | gr.ImageEditor:
    """Let an unreadable or oversized upload reach the callback as its file path (for a
    Sketchpad, as ``{"composite": path}``, or the composite's bytes when the browser sent
    it as a blob), so the tab can say what is wrong with the file: Gradio's own decoding
    fails with a bare "Error" before our code runs, and would decode a picture of any
    size. Patched on the instance: a subclass would be taken for a custom component with
    its own front end."""
    decode = image.preprocess
    # Only an Image that hands over the file as it is reaches our reader, which decodes a
    # large JPEG reduced; Gradio decodes every pixel of what it converts itself.
    reduced = isinstance(image, gr.Image) and image.type == "filepath" and image.image_mode is None
    if isinstance(image, gr.ImageEditor):
        bound_blobs(image)

    def preprocess(payload: Any) -> Any:
        payload = with_blobs(image, payload)
        try:
            for file in uploaded_files(payload):  # headers only: too many pixels raises
                open_unloaded(file, reduced=reduced).close()
            return decode(payload)
        except Exception:  # ours for too many pixels, PIL's for a broken or non-image file
            composite = getattr(payload, "composite", None)
            if composite is not None:
                return {"composite": getattr(composite, "path", composite)}
            return getattr(payload, "path", None)

    image.preprocess = preprocess
    return image


def uploaded_files(payload: Any) -> list[str | io.BytesIO]:
    """The files of an Image's value, or of a Sketchpad's (background, layers, composite):
    uploads by path, blobs as their bytes."""
    parts = [payload, getattr(payload, "background", None), getattr(payload, "composite", None)]
    parts += getattr(payload, "layers", None) or []
    files: list[str | io.BytesIO] = []
    for part in parts:
        if isinstance(part, bytes):
            files.append(io.BytesIO(part))
        elif isinstance(getattr(part, "path", None), str):
            files.append(part.path)
    return files


def with_blobs(editor: gr.Image | gr.ImageEditor, payload: Any) -> Any:
    """A Sketchpad value that names blobs sent before (``{"id": ...}``, what the browser
    sends) as those blobs, taken out of the editor's store: left there, Gradio would look
    them up after our check, and a blob sent meanwhile under that id would go unchecked."""
    store = getattr(editor, "blob_storage", None)
    if store is None or getattr(payload, "id", None) is None:
        return payload
    blobs = store.pop(payload.id, None)
    return SimpleNamespace(  # what Gradio reads of a value that names no blobs
        id=None,
        background=getattr(blobs, "background", None),
        layers=getattr(blobs, "layers", None) or [],
        composite=getattr(blobs, "composite", None),
    )


def bound_blobs(editor: gr.ImageEditor) -> None:
    """Bound what the editor's blob route (``accept_blobs``) stores: a drawing's layers, and
    the blobs no event has taken, dropped oldest first past the bounds above. Gradio keeps
    each until an event names it, and numbers layers as the client says, so one request
    could make it hold a list of any length. Blobs are stored one at a time (Gradio's
    read-modify-write of a drawing's set would lose one sent beside it)."""
    accept, lock = editor.accept_blobs, threading.Lock()

    def accept_blobs(data: Any) -> None:
        index = data.data.get("index")
        if index and index != "null" and not (index.isdecimal() and int(index) < MOST_LAYERS):
            raise HTTPException(400, f"refused: a drawing has at most {MOST_LAYERS} layers")
        with lock:
            accept(data)
            trim_blobs(editor.blob_storage, keep=data.data.get("id"))

    accept_blobs._is_server_fn = True  # type: ignore[attr-defined]  # Gradio's mark of a route
    editor.accept_blobs = accept_blobs


def trim_blobs(store: dict[str, Any], keep: Any) -> None:
    """Drop ``store``'s oldest blob sets, but not ``keep``'s, while it holds more than
    :data:`MOST_BLOB_SETS` sets or :data:`BLOB_BYTES` bytes (ids included)."""
    sizes = {key: len(key) + blob_bytes(blobs) for key, blobs in list(store.items())}
    count, total = len(sizes), sum(sizes.values())
    for key, size in sizes.items():
        if count <= MOST_BLOB_SETS and total <= BLOB_BYTES:
            return
        if key != keep:
            store.pop(key, None)
            count, total = count - 1, total - size


def blob_bytes(blobs: Any) -> int:
    """The bytes of one drawing's blobs (background, layers, composite)."""
    parts = [blobs.background, blobs.composite, *blobs.layers]
    return sum(len(part) for part in parts if part)


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
    if isinstance(image, (str, bytes)):  # a file, or a blob sent by the browser
        return picture_pixels(image)
    if isinstance(image, np.ndarray):
        return int(np.prod(image.shape[:2]))
    size = getattr(image, "size", (0, 0))
    return size[0] * size[1] if isinstance(size, tuple) else 0


def try_load(name: str, directory: Folders) -> tuple[Model | None, str]:
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


@dataclass(frozen=True)
class Offered:
    """The models a tab offers, by name in the order it offers them, and each one's card
    (:func:`card`); ``problem`` is what the tab says instead when it offers none."""

    models: dict[str, Model]
    cards: dict[str, str]
    problem: str = ""

    @property
    def first(self) -> str:
        return next(iter(self.models))


def offered(
    directory: Folders,
    task: str,
    first: Sequence[str],
    fits: Callable[[Model], bool] | None = None,
) -> Offered:
    """Every model of ``task`` in the folders (the first folder's where several have one
    name) that ``fits`` the tab: ``first`` (the shipped ones the tab was made for) in that
    order, then the others by name. A model that cannot be read is left out, and said so
    in the server's log."""
    listed = [m for m in listed_models(search_path(directory)) if m.hidden_by is None]
    ours = [m for m in listed if m.task == task]
    ours.sort(key=lambda m: (list(first).index(m.name) if m.name in first else len(first), m.name))
    models, cards = {}, {}
    for entry in ours:
        model, _ = try_load(entry.name, directory)
        if model is not None and (fits is None or fits(model)):
            models[entry.name], cards[entry.name] = model, card(model, entry)
    if models:
        return Offered(models, cards)
    problems = "\n\n".join(try_load(name, directory)[1] for name in first)
    return Offered({}, {}, problems.strip() or f"**No {task} model here fits this tab.**")


def card(model: Model, entry: Listed) -> str:
    """A model in a line: its name, what it does, its recorded figure and where it is from
    (a folder of the server's is not named: the page may be public)."""
    figure = entry.figure or "no figure recorded"
    source = "shipped" if entry.path.parent == shipped_models_dir() else "your own"
    return f"**{model.name}** ({source}) {model.describe()}. {figure}."


def model_picker(offer: Offered, elem_id: str) -> gr.Radio:
    """A choice of the tab's models, the chosen one's card beneath it (``#ELEM_ID-card``)."""
    choice = gr.Radio(list(offer.models), value=offer.first, label="Model", elem_id=elem_id)
    shown = gr.Markdown(offer.cards[offer.first], elem_id=f"{elem_id}-card")

    def show_card(name: str) -> str:
        return offer.cards.get(name, "")

    choice.change(show_card, choice, shown, show_progress="hidden", api_name=False)
    return choice


def kept_pick(choice: gr.Radio, offer: Offered) -> gr.State:
    """The model picked in ``choice``, kept in the session: the input of a tab's API
    events whose clients name no model (they call as they did before tabs offered several;
    a State is no parameter of the API)."""
    kept = gr.State(offer.first)

    def keep(name: str) -> str:
        return name

    choice.change(keep, choice, kept, show_progress="hidden", api_name=False)
    return kept


def with_model(call: Any) -> tuple[Any, str]:
    """A page's call to a tab's server function (gr.HTML's ``server.NAME(...)``) as its
    value and the model picked: Gradio hands two arguments to Python as one list of both,
    and one as itself (no model named: the tab's first)."""
    if isinstance(call, list) and len(call) == 2 and isinstance(call[1], str):
        return call[0], call[1]
    return call, ""


def chosen(offer: Offered, name: Any) -> Model:
    """The tab's model called ``name`` (none named: its first), or a one-line error naming
    the ones it has."""
    model = offer.models.get(name or offer.first) if isinstance(name, str | None) else None
    if model is None:
        asked = repr(str(name)[:40])  # a client's value: quoted, and not all of a long one
        raise InvalidInputError(f"this tab has no model {asked}; it has {', '.join(offer.models)}")
    return model
