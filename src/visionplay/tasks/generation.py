"""Generation: a class-conditional generator draws pictures of the classes asked for."""

from __future__ import annotations

import codecs
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..config import DataConfig
from ..errors import InvalidInputError, shown
from .base import MOST_AT_ONCE, Figure, Model, listed

LONGEST_LABEL = 100  # the most of a label a generator reads; no class has a longer name
# A grid of pictures (the Generate tab, GET /generate): the most one request draws, and how
# many when it does not say; a walk's pictures when it does not say.
MOST_IN_GRID = 64
GRID = 16
WALK_STEPS = 8
MOST_SCALE = 8  # the most a grid is enlarged (each pixel a square of that side)


class Generator(Model):
    """A class-conditional generator: a latent vector ``z`` and a class ``label`` in, a
    picture in [0, 1] out. :meth:`generate` draws pictures of the classes asked for, the
    latent vectors drawn from ``seed`` (same seed, same pictures); :meth:`walk` goes from
    one seed's latent vector to another's. An answer is an (N, H, W) uint8 array."""

    task = "generation"
    figure = Figure(
        "read as asked",
        "conditional_accuracy",
        higher_is_better=True,
        evaluated=("conditional_accuracy",),
        percent=True,
    )
    inputs = ("z", "label")
    output_name = "pictures"
    takes_pixels = False
    answer_key = "pictures"
    options = ("seed",)

    def __init__(self, path: Path, session: Any) -> None:
        super().__init__(path, session)
        self.latent = int(self.cfg.input_size[0])
        self.picture_size = tuple(self.cfg.settings.picture_size)

    @classmethod
    def output_shape(cls, cfg: DataConfig) -> tuple[int, ...]:
        return tuple(cfg.settings.picture_size)

    def describe(self) -> str:
        height, width = self.picture_size[-2:]
        return f"draws {width}x{height} pictures of {listed(self.labels)}"

    @classmethod
    def describe_input(cls, cfg: DataConfig) -> str:
        return (
            f"z: float32 [batch, {cfg.input_size[0]}], standard normal; label: int64 "
            f"[batch], the class index (0 to {cfg.num_classes - 1})"
        )

    @classmethod
    def example_inputs(cls, cfg: DataConfig, count: int, seed: int = 0) -> tuple[np.ndarray, ...]:
        z = np.random.default_rng(seed).standard_normal((count, cfg.input_size[0]), np.float32)
        return z, np.arange(count, dtype=np.int64) % cfg.num_classes

    # Running

    def checked(self, *inputs: np.ndarray) -> tuple[np.ndarray, ...]:
        """(N, latent) floats and N class indices (or names), as the graph takes them:
        its ``run`` turns them into (N, C, H, W) pictures in [0, 1]."""
        z, labels = inputs
        z = np.asarray(z, dtype=np.float32)
        self.check_shapes([list(z.shape)])
        if not np.isfinite(z).all():
            raise InvalidInputError(f"{self.name}'s z must hold finite numbers")
        return z, self.class_indices(labels, len(z))

    def check_shapes(self, shapes: Sequence[list[int]]) -> None:
        """z's shape; its rows are counted with the labels (:meth:`class_indices`)."""
        shape = shapes[0]
        if len(shape) != 2 or shape[1] != self.latent:
            raise InvalidInputError(
                f"{self.name} takes z of shape (N, {self.latent}); got {tuple(shape)}"
            )

    def class_indices(self, labels: Any, count: int | None = None) -> np.ndarray:
        """Class indices (int64) for ``labels``: indices or label names, ``count`` of
        them if given; anything else is refused with the classes it could be."""
        if isinstance(labels, (str, int, np.integer)):
            labels = [labels]
        labels = list(np.asarray(labels, dtype=object).reshape(-1)) if len(labels) else []
        if count is not None and len(labels) != count:
            raise InvalidInputError(
                f"{self.name} needs one label per z: {count} z, {len(labels)} labels"
            )
        if not 1 <= len(labels) <= MOST_AT_ONCE:
            raise InvalidInputError(
                f"{self.name} draws 1 to {MOST_AT_ONCE} pictures at once; {len(labels)} asked for"
            )
        return np.array([self._class_index(label) for label in labels], dtype=np.int64)

    def _class_index(self, label: Any) -> int:
        if isinstance(label, os.PathLike):  # the command line's: a file holding a label, or one
            path = Path(label)
            label = path.read_bytes()[: LONGEST_LABEL + 1] if path.is_file() else str(path)
        if isinstance(label, bytes):  # a request's body: the label as text
            label = self._label_text(label)
        if isinstance(label, str) and len(label) <= LONGEST_LABEL:  # a longer one is no class
            if label in self.labels:
                return self.labels.index(label)
            if label.strip().isdigit():
                label = int(label)
        whole = isinstance(label, (int, np.integer)) and not isinstance(label, bool)
        if whole and 0 <= label < len(self.labels):
            return int(label)
        choices = ", ".join(f"{i} ({name})" for i, name in enumerate(self.labels))
        asked = repr(shown(label)) if isinstance(label, str) else shown(label)
        raise InvalidInputError(f"{self.name} has no class {asked}; its classes: {choices}")

    def _label_text(self, data: bytes) -> str:
        """A label sent as bytes, as text; a picture (any bytes not UTF-8) is refused
        for what it is, not quoted back as a class that does not exist."""
        start = data[: LONGEST_LABEL * 4 + 4]  # a longer label is no class either
        try:  # not final: a character the cut split in two is no fault of the sender's
            text = codecs.getincrementaldecoder("utf-8")().decode(start, final=False)
            return text.strip()[: LONGEST_LABEL + 1]
        except UnicodeDecodeError:
            raise InvalidInputError(
                f"{self.name} is a generator: it takes a class (a name or an index, as text), "
                f"not a picture or other binary data; its classes: {', '.join(self.labels)}"
            ) from None

    def latents(self, seed: int, count: int) -> np.ndarray:
        """``count`` latent vectors drawn from ``seed``: the first rows are the same
        whatever the count, so one seed always starts the same way."""
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise InvalidInputError(f"seed must be a whole number, 0 or more; got {seed!r}")
        return np.random.default_rng(int(seed)).standard_normal((count, self.latent), np.float32)

    def generate(self, labels: Any, seed: int = 0) -> np.ndarray:
        """Pictures of the classes ``labels`` (indices or names, or one of them), as an
        (N, H, W) uint8 array; the latent vectors come from ``seed``."""
        indices = self.class_indices(labels)
        return self.to_uint8(self.run(self.latents(seed, len(indices)), indices))

    def walk(self, label: Any, seed_from: int, seed_to: int, steps: int = WALK_STEPS) -> np.ndarray:
        """``steps`` pictures of one class, its latent vector walking along the great circle
        (slerp) from ``seed_from``'s first vector to ``seed_to``'s: (steps, H, W) uint8."""
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
            raise InvalidInputError(f"steps must be a whole number; got {steps!r}")
        if not 2 <= steps <= MOST_IN_GRID:
            raise InvalidInputError(f"a walk takes 2 to {MOST_IN_GRID} steps; got {steps}")
        start, end = self.latents(seed_from, 1)[0], self.latents(seed_to, 1)[0]
        z = slerp(start, end, np.linspace(0.0, 1.0, steps, dtype=np.float32))
        return self.to_uint8(self.run(z, self.class_indices([label] * steps)))

    @staticmethod
    def to_uint8(pictures: np.ndarray) -> np.ndarray:
        """(N, 1, H, W) floats in [0, 1] -> (N, H, W) uint8."""
        return np.round(np.clip(pictures[:, 0], 0.0, 1.0) * 255).astype(np.uint8)

    def predict(self, label: Any, seed: int = 0) -> np.ndarray:
        """One picture of ``label``: the first of :meth:`generate`'s for ``seed``."""
        return self.generate([label], seed)[0]

    def predict_batch(self, labels: Iterable[Any], seed: int = 0) -> list[np.ndarray]:
        """For each label, the picture :meth:`predict` draws (all from ``seed``'s first
        latent vector); :meth:`generate` draws a different one for each."""
        indices = self.class_indices(list(labels))
        z = np.repeat(self.latents(seed, 1), len(indices), axis=0)
        return list(self.to_uint8(self.run(z, indices)))

    # Answers

    def to_json(self, answer: np.ndarray) -> list:
        return np.asarray(answer).tolist()

    def to_text(self, answer: np.ndarray) -> list[str]:
        return [
            f"a {'x'.join(map(str, answer.shape))} picture, values {answer.min()} to {answer.max()}"
        ]

    def example(self) -> str:
        return self.labels[0]


def slerp(start: np.ndarray, end: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Points along the great circle from ``start`` to ``end`` (the usual path through a
    Gaussian latent space: a straight line would pass through improbably short vectors)."""
    cos = np.dot(start, end) / (np.linalg.norm(start) * np.linalg.norm(end))
    angle = float(np.arccos(np.clip(cos, -1.0, 1.0)))
    if angle < 1e-6:
        return np.outer(1 - t, start) + np.outer(t, end)
    weights_start = np.sin((1 - t) * angle) / np.sin(angle)
    weights_end = np.sin(t * angle) / np.sin(angle)
    return (np.outer(weights_start, start) + np.outer(weights_end, end)).astype(np.float32)


def picture_grid(
    pictures: np.ndarray, columns: int | None = None, gap: int = 2, scale: int = 1
) -> Image.Image:
    """(N, H, W) uint8 pictures (or (N, H, W, 3): RGB) as one image, in rows of ``columns``
    (default: a square-ish grid), ``gap`` pixels apart, each pixel then a ``scale`` x
    ``scale`` square (1 to :data:`MOST_SCALE`)."""
    if isinstance(scale, bool) or not isinstance(scale, int) or not 1 <= scale <= MOST_SCALE:
        raise InvalidInputError(f"scale must be a whole number from 1 to {MOST_SCALE}")
    count, height, width = pictures.shape[:3]
    columns = columns or int(np.ceil(np.sqrt(count)))
    rows = -(-count // columns)
    sheet = np.zeros(
        (rows * (height + gap) + gap, columns * (width + gap) + gap, *pictures.shape[3:]), np.uint8
    )
    for i, picture in enumerate(pictures):
        top, left = gap + (i // columns) * (height + gap), gap + (i % columns) * (width + gap)
        sheet[top : top + height, left : left + width] = picture
    grid = Image.fromarray(sheet)
    if scale == 1:
        return grid
    return grid.resize((grid.width * scale, grid.height * scale), Image.Resampling.NEAREST)
