"""The Generate tab: the class-conditional GANs draw pictures of a class on request; a
strip walks from one seed's latent vector to another's; the dataset's shipped classifier
reads what was drawn and the tab frames each picture by whether it was read as asked."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import gradio as gr
import numpy as np
from PIL import Image

from .. import errors
from ..admission import ADMISSION, is_large
from ..errors import MAX_SEED, InvalidInputError, VisionplayError, shown
from ..tasks import Classifier, Generator, picture_grid
from .widgets import try_load

GENERATE_MODELS = ("mnist_gan", "fashion_gan")  # registry keys, in the order the tab offers them
# The sheets go out at their own size (a PNG three times larger takes several times longer
# to encode) and the page enlarges them without blurring their pixels.
PIXELATED = "<style>#generate-grid img, #generate-strip img {image-rendering: pixelated}</style>"
MOST_PICTURES = 64  # the most one request draws (and the bench asks for)
RIGHT, WRONG = (40, 170, 70), (210, 50, 50)  # frame colours: read as asked, or not
CORES = os.cpu_count() or 1


def checked_seed(seed: float | None) -> int:
    """A seed a user asked for (a whole number, 0 or more), or a one-line error."""
    try:
        return errors.checked_seed(seed)
    except InvalidInputError:  # in the tab's words, as a pop-up
        raise gr.Error(
            f"A seed is a whole number from 0 to {MAX_SEED:,}; got {shown(seed)}"
        ) from None


def checked(count: float | None, seed: float | None) -> tuple[int, int]:
    """The count (1 to MOST_PICTURES) and seed a user asked for, or a one-line error."""
    if count is None or not 1 <= count <= MOST_PICTURES or count != int(count):
        raise gr.Error(f"How many must be a whole number from 1 to {MOST_PICTURES}; got {count}")
    return int(count), checked_seed(seed)


def framed(pictures: np.ndarray, right: np.ndarray, columns: int) -> Image.Image:
    """Each picture in a green (read as asked) or red frame, as one RGB sheet."""
    count, height, width = pictures.shape
    tiles = np.empty((count, height + 4, width + 4, 3), np.uint8)
    tiles[:] = np.where(right[:, None, None, None], RIGHT, WRONG)
    tiles[:, 2:-2, 2:-2] = pictures[..., None]
    return picture_grid(tiles, columns, gap=0)


def read_line(asked: str, reader_labels: tuple[str, ...], index: int, reads: np.ndarray) -> str:
    """How many were read as ``asked`` ("61 of 64 read as 7"), and what the others were."""
    line = f"**{int((reads == index).sum())} of {len(reads)}** read as {asked}"
    others = {reader_labels[i]: int((reads == i).sum()) for i in np.unique(reads[reads != index])}
    if others:
        line += "; the others as " + ", ".join(f"{k} ({n})" for k, n in others.items())
    return line


def read_across_cores(
    reader: Classifier, batch: np.ndarray, pool: ThreadPoolExecutor
) -> np.ndarray:
    """``reader.run(batch)`` (its scores), a share of the batch on each core: the server
    gives each session one thread, to answer requests side by side, and a lone request
    of many pictures would otherwise leave the other cores idle."""
    shares = np.array_split(batch, min(len(batch), CORES))
    return np.concatenate(list(pool.map(reader.run, shares)))


def generate_tab(directory: str | os.PathLike | None) -> None:
    loaded = {name: try_load(name, directory) for name in GENERATE_MODELS}
    models: dict[str, Generator] = {n: m for n, (m, _) in loaded.items() if m is not None}
    readers: dict[str, Classifier | None] = {
        name: try_load(model.cfg.extra.get("reader", ""), directory)[0]
        for name, model in models.items()
    }
    cores = ThreadPoolExecutor(max_workers=CORES, thread_name_prefix="reader")
    with gr.Tab("Generate", id="generate"):
        if not models:
            gr.Markdown("\n\n".join(problem for _, problem in loaded.values()))
            return
        first = next(iter(models))
        with gr.Row():
            with gr.Column(scale=2):
                choice = gr.Radio(
                    list(models), value=first, label="Model", elem_id="generate-model"
                )
                # The choices follow the model; the generator itself checks what comes in.
                label = gr.Dropdown(
                    list(models[first].labels),
                    value=models[first].labels[0],
                    label="Class",
                    allow_custom_value=True,
                    elem_id="generate-class",
                )
                count = gr.Slider(
                    1, MOST_PICTURES, value=16, step=1, label="How many", elem_id="generate-count"
                )
                with gr.Row():
                    seed = gr.Number(
                        0, precision=0, minimum=0, label="Seed", elem_id="generate-seed"
                    )
                    new_seed = gr.Button("New seed", elem_id="generate-new-seed")
                draw = gr.Button("Generate", variant="primary", elem_id="generate-draw")
                gr.Markdown("Walk from this seed to another:")
                with gr.Row():
                    seed_to = gr.Number(
                        1, precision=0, minimum=0, label="To seed", elem_id="generate-seed-to"
                    )
                    walk = gr.Button("Walk", elem_id="generate-walk")
                missing = [problem for model, problem in loaded.values() if model is None]
                if missing:
                    gr.Markdown("\n\n".join(missing))
            with gr.Column(scale=3):
                gr.HTML(PIXELATED)
                grid = gr.Image(
                    label="Samples",
                    type="pil",
                    format="png",
                    interactive=False,
                    height=480,
                    buttons=["download"],
                    elem_id="generate-grid",
                )
                read = gr.Button("Read them", elem_id="generate-read")
                verdict = gr.Markdown("", elem_id="generate-verdict")
                # The grid on screen and what it was drawn for: "Read them" reads those very
                # pictures, unless the controls have changed since.
                on_screen = gr.State(None)
                strip = gr.Image(
                    label="Walk",
                    type="pil",
                    format="png",
                    interactive=False,
                    height=120,
                    buttons=["download"],
                    elem_id="generate-strip",
                )

        def pictures(name: str, asked: str, how_many: float, seed_value: float) -> np.ndarray:
            many, from_seed = checked(how_many, seed_value)
            try:
                with ADMISSION.turn(is_large(rows=many)):
                    return models[name].generate([asked] * many, seed=from_seed)
            except VisionplayError as err:
                raise gr.Error(str(err)) from None

        def columns(how_many: int) -> int:
            return min(8, how_many)

        def on_draw(name: str, asked: str, how_many: float, seed_value: float):
            made = pictures(name, asked, how_many, seed_value)
            asked_for = (name, asked, how_many, seed_value)
            return picture_grid(made, columns(len(made))), "", (asked_for, made)

        def on_read(name: str, asked: str, how_many: float, seed_value: float, shown):
            many, _ = checked(how_many, seed_value)  # before its turn, which it sizes
            with ADMISSION.turn(is_large(rows=many)):
                return read_shown(name, asked, how_many, seed_value, shown)

        def read_shown(name: str, asked: str, how_many: float, seed_value: float, shown):
            asked_for = (name, asked, how_many, seed_value)
            if shown is None or shown[0] != asked_for:  # the grid on screen is another one
                shown = (asked_for, pictures(name, asked, how_many, seed_value))
            made = shown[1]
            reader = readers[name]
            if reader is None:
                raise gr.Error(f"The classifier that reads {name}'s pictures is not available")
            scores = read_across_cores(reader, made[:, None].astype(np.float32) / 255, cores)
            reads = scores.argmax(1)
            index = int(models[name].class_indices([asked])[0])
            sheet = framed(made, reads == index, columns(len(made)))
            line = read_line(models[name].labels[index], reader.labels, index, reads)
            return sheet, line, shown

        def on_walk(name: str, asked: str, seed_value: float, to_value: float):
            start, end = checked_seed(seed_value), checked_seed(to_value)
            try:
                with ADMISSION.turn(large=False):  # eight pictures
                    made = models[name].walk(asked, start, end, steps=8)
            except VisionplayError as err:
                raise gr.Error(str(err)) from None
            return picture_grid(made, columns=len(made))

        def on_model(name: str):
            labels = list(models[name].labels)
            return gr.Dropdown(choices=labels, value=labels[0])

        inputs = [choice, label, count, seed]
        draw.click(on_draw, inputs, [grid, verdict, on_screen], api_name="generate")
        read.click(
            on_read, [*inputs, on_screen], [grid, verdict, on_screen], api_name="generate_read"
        )
        walk.click(on_walk, [choice, label, seed, seed_to], strip, api_name="generate_walk")
        new_seed.click(
            lambda: int(np.random.default_rng().integers(MAX_SEED)), None, seed, api_name=False
        )
        choice.change(on_model, choice, label, api_name=False)
