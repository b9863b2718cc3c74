"""Classification: pictures in, class probabilities out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..config import DataConfig
from ..preprocess import ImageLike
from .base import Figure, Model, listed

TOP_K = 3  # classes an answer names when the caller does not say


@dataclass(frozen=True)
class Prediction:
    """One class and its probability."""

    label: str
    score: float
    index: int


class Classifier(Model):
    """Pictures in, class probabilities out (a softmax ends the graph); an answer is the
    top ``top_k`` :class:`Prediction` s, most likely first."""

    task = "classification"
    figure = Figure("accuracy", "acc", higher_is_better=True, evaluated=("accuracy",), percent=True)
    output_name = "probabilities"
    softmax = True
    answer_key = "predictions"
    options = ("top_k",)
    bytes_input = "an encoded picture: probabilities and the top labels"

    @classmethod
    def output_shape(cls, cfg: DataConfig) -> tuple[int, ...]:
        return (cfg.num_classes,)

    def predict(self, image: ImageLike, top_k: int = TOP_K) -> list[Prediction]:
        """Top-``top_k`` classes for one picture (path, bytes, PIL image or array)."""
        return self.predict_batch([image], top_k)[0]

    def predict_batch(
        self, images: Iterable[ImageLike], top_k: int = TOP_K
    ) -> list[list[Prediction]]:
        """Top-``top_k`` classes for each picture, in one forward pass."""
        arrays = [self.prepare(image) for image in images]
        return self.predict_prepared(np.stack(arrays), top_k) if arrays else []

    def predict_prepared(self, batch: np.ndarray, top_k: int = TOP_K) -> list[list[Prediction]]:
        """Top-``top_k`` classes for a batch already made by :meth:`prepare`."""
        return [self._top(p, top_k) for p in self.run(batch)]

    def _top(self, probabilities: np.ndarray, top_k: int) -> list[Prediction]:
        order = np.argsort(probabilities)[::-1][: max(1, top_k)]
        return [Prediction(self.labels[i], float(probabilities[i]), int(i)) for i in order]

    def describe(self) -> str:
        channels, height, width = self.cfg.input_size
        colour = "grey" if channels == 1 else "colour"
        return f"reads a {width}x{height} {colour} picture as one of {listed(self.labels)}"

    def to_json(self, answer: list[Prediction]) -> list[dict[str, Any]]:
        return [{"label": p.label, "score": p.score, "index": p.index} for p in answer]

    def to_text(self, answer: list[Prediction]) -> list[str]:
        return ["  ".join(f"{p.label} {p.score:.3f}" for p in answer)]

    def output_names(self, pictures: bool) -> tuple[str, ...]:
        return ("probabilities", "labels", "scores")

    def tensor_outputs(self, *inputs: np.ndarray, top_k: int = TOP_K) -> dict[str, np.ndarray]:
        probabilities = self.run(*inputs)
        order = np.argsort(-probabilities, axis=1)[:, :top_k]
        return {
            "probabilities": probabilities,
            "labels": np.array([[self.labels[i] for i in row] for row in order], dtype=object),
            "scores": np.take_along_axis(probabilities, order, axis=1),
        }
