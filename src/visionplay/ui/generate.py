"""The Generate tab: a class-conditional generator (``#generate-model``: any in the model
folders, the shipped GANs first) draws pictures of a class on request; a strip walks from
one seed's latent vector to another's; the classifier the generator's file names reads
what was drawn and the tab frames each picture by whether it was read as asked."""

from __future__ import annotations

from functools import partial

import gradio as gr
import numpy as np
from PIL import Image

from .. import errors
from ..admission import ADMISSION, is_large
from ..errors import MAX_SEED, InvalidInputError, VisionplayError, shown
from ..locations import Folders
from ..tasks import Classifier, Generator
from ..tasks.generation import GRID, MOST_IN_GRID, WALK_STEPS, picture_grid
from .widgets import model_picker, offered, try_load

GENERATE_MODELS = ("mnist_gan", "fashion_gan")  # registry keys, in the order the tab offers them
# The sheets go out at their own size (a PNG three times larger takes several times longer
# to encode) and the page enlarges them without blurring their pixels.
PIXELATED = "<style>#generate-grid img, #generate-strip img {image-rendering: pixelated}</style>"
RIGHT, WRONG = (40, 170, 70), (210, 50, 50)  # frame colours: read as asked, or not
COLUMNS = 8  # the most pictures in a row of the grid

Generators = dict[str, Generator]
Readers = dict[str, Classifier | None]


def checked_seed(seed: float | None) -> int:
    """A seed a user asked for (a whole number, 0 or more), or a one-line error."""
    try:
        return errors.checked_seed(seed)
    except InvalidInputError:  # in the tab's words, as a pop-up
        raise gr.Error(
            f"A seed is a whole number from 0 to {MAX_SEED:,}; got {shown(seed)}"
        ) from None


def checked(count: float | None, seed: float | None) -> tuple[int, int]:
    """The count (1 to MOST_IN_GRID) and seed a user asked for, or a one-line error."""
    if count is None or not 1 <= count <= MOST_IN_GRID or count != int(count):
        raise gr.Error(f"How many must be a whole number from 1 to {MOST_IN_GRID}; got {count}")
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


def pictures(model: Generator, asked: str, how_many: float, seed_value: float) -> np.ndarray:
    """The pictures asked for, drawn in their turn, or a one-line error."""
    many, from_seed = checked(how_many, seed_value)
    try:
        with ADMISSION.turn(is_large(rows=many)):
            return model.generate([asked] * many, seed=from_seed)
    except VisionplayError as err:
        raise gr.Error(str(err)) from None


def on_draw(models: Generators, name: str, asked: str, how_many: float, seed_value: float):
    """The grid of pictures, no verdict yet, and what is on screen (for "Read them")."""
    made = pictures(models[name], asked, how_many, seed_value)
    asked_for = (name, asked, how_many, seed_value)
    return picture_grid(made, min(COLUMNS, len(made))), "", (asked_for, made)


def on_read(
    models: Generators,
    readers: Readers,
    name: str,
    asked: str,
    how_many: float,
    seed_value: float,
    on_screen,
):
    """The pictures on screen (drawn anew if the controls have changed since), each framed
    by whether the dataset's classifier reads it as asked, and the count in words."""
    many, _ = checked(how_many, seed_value)  # before its turn, which it sizes
    with ADMISSION.turn(is_large(rows=many)):
        asked_for = (name, asked, how_many, seed_value)
        if on_screen is None or on_screen[0] != asked_for:  # the grid on screen is another one
            on_screen = (asked_for, pictures(models[name], asked, how_many, seed_value))
        made = on_screen[1]
        reader = readers[name]
        if reader is None:
            raise gr.Error(f"The classifier that reads {name}'s pictures is not available")
        reads = reader.run(made[:, None].astype(np.float32) / 255).argmax(1)
    index = int(models[name].class_indices([asked])[0])
    sheet = framed(made, reads == index, min(COLUMNS, len(made)))
    line = read_line(models[name].labels[index], reader.labels, index, reads)
    return sheet, line, on_screen


def on_walk(models: Generators, name: str, asked: str, seed_value: float, to_value: float):
    """A strip of one class's pictures, walking from one seed's latent vector to another's."""
    start, end = checked_seed(seed_value), checked_seed(to_value)
    try:
        with ADMISSION.turn(large=False):  # a strip is a few pictures
            made = models[name].walk(asked, start, end, steps=WALK_STEPS)
    except VisionplayError as err:
        raise gr.Error(str(err)) from None
    return picture_grid(made, columns=len(made))


def on_model(models: Generators, name: str):
    """The class choices of the model chosen."""
    labels = list(models[name].labels)
    return gr.Dropdown(choices=labels, value=labels[0])


def new_seed() -> int:
    return int(np.random.default_rng().integers(MAX_SEED))


def sheet(label: str, height: int, elem_id: str) -> gr.Image:
    """A sheet of pictures the tab draws: shown as PNG, to download, not to upload."""
    return gr.Image(
        label=label,
        type="pil",
        format="png",
        interactive=False,
        height=height,
        buttons=["download"],
        elem_id=elem_id,
    )


def generate_tab(directory: Folders) -> None:
    offer = offered(directory, "generation", GENERATE_MODELS)
    models: Generators = offer.models  # type: ignore[assignment]  # the task's own class
    readers: Readers = {
        name: try_load(model.cfg.settings.reader, directory)[0] for name, model in models.items()
    }
    with gr.Tab("Generate", id="generate"):
        if not models:
            gr.Markdown(offer.problem)
            return
        first = offer.first
        with gr.Row():
            with gr.Column(scale=2):
                choice = model_picker(offer, "generate-model")
                # The choices follow the model; the generator itself checks what comes in.
                label = gr.Dropdown(
                    list(models[first].labels),
                    value=models[first].labels[0],
                    label="Class",
                    allow_custom_value=True,
                    elem_id="generate-class",
                )
                count = gr.Slider(
                    1, MOST_IN_GRID, value=GRID, step=1, label="How many", elem_id="generate-count"
                )
                with gr.Row():
                    seed = gr.Number(
                        0, precision=0, minimum=0, label="Seed", elem_id="generate-seed"
                    )
                    new_seed_button = gr.Button("New seed", elem_id="generate-new-seed")
                draw = gr.Button("Generate", variant="primary", elem_id="generate-draw")
                gr.Markdown("Walk from this seed to another:")
                with gr.Row():
                    seed_to = gr.Number(
                        1, precision=0, minimum=0, label="To seed", elem_id="generate-seed-to"
                    )
                    walk = gr.Button("Walk", elem_id="generate-walk")
            with gr.Column(scale=3):
                gr.HTML(PIXELATED)
                grid = sheet("Samples", 480, "generate-grid")
                read = gr.Button("Read them", elem_id="generate-read")
                verdict = gr.Markdown("", elem_id="generate-verdict")
                # The grid on screen and what it was drawn for: "Read them" reads those very
                # pictures, unless the controls have changed since.
                on_screen = gr.State(None)
                strip = sheet("Walk", 120, "generate-strip")

        inputs = [choice, label, count, seed]
        draw.click(
            partial(on_draw, models), inputs, [grid, verdict, on_screen], api_name="generate"
        )
        read.click(
            partial(on_read, models, readers),
            [*inputs, on_screen],
            [grid, verdict, on_screen],
            api_name="generate_read",
        )
        walk.click(
            partial(on_walk, models),
            [choice, label, seed, seed_to],
            strip,
            api_name="generate_walk",
        )
        new_seed_button.click(new_seed, None, seed, api_name=False)
        choice.change(partial(on_model, models), choice, label, api_name=False)
