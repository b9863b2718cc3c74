"""Reconstruction: a picture in, a picture of the same size out."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..config import DataConfig
from ..preprocess import ImageLike
from .base import Figure, Model


class Reconstructor(Model):
    """A picture in, a picture of the same size out (the tutorials' unpooling autoencoder;
    none ships). An answer is the (C, H, W) float array."""

    task = "reconstruction"
    figure = Figure("MSE", "mse", higher_is_better=False)
    answer_key = "images"

    @classmethod
    def output_shape(cls, cfg: DataConfig) -> tuple[int, ...]:
        return tuple(cfg.input_size)

    def predict_batch(self, images: Iterable[ImageLike]) -> list[np.ndarray]:
        arrays = [self.prepare(image) for image in images]
        return list(self.run(np.stack(arrays))) if arrays else []

    def to_json(self, answer: np.ndarray) -> list:
        return answer.tolist()

    def to_text(self, answer: np.ndarray) -> list[str]:
        return [
            f"a {'x'.join(map(str, answer.shape))} picture, values "
            f"{answer.min():.3f} to {answer.max():.3f}"
        ]
