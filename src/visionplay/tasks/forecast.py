"""Forecasting: a series in, its next values out."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import series
from ..config import DataConfig
from ..errors import InvalidInputError
from .base import Axis, Figure, Model

MOST_STEPS = 1000  # values one forecast may ask for


class ForecastModel(Model):
    """A forecaster: ``forecast(values, steps)`` continues a 1-D series. Up to the model's
    horizon it answers in one pass; beyond, it rolls forward on its own forecasts. A series
    may be numbers, the bytes of a text, CSV or JSON file (what a REST body holds; the JSON
    is a list of numbers, as :meth:`to_json` writes), or a file's path: a ``str`` is a path,
    as it is for a picture."""

    task = "forecast"
    figure = Figure("MSE", "mse", higher_is_better=False, evaluated=("ten_mse",))
    inputs = ("series",)
    output_name = "forecast"
    takes_pixels = False
    steps_axis = Axis("steps", 2, series.MAX_LENGTH)
    answer_key = "forecast"
    options = ("steps",)
    max_request_values = series.MAX_LENGTH

    def __init__(self, path: Path, session: Any) -> None:
        super().__init__(path, session)
        self.horizon = int(self.cfg.settings.horizon)
        steps = self.session.get_inputs()[0].shape[1]
        # A window model (the linear baseline) reads a fixed number of the latest values.
        self.window = self.cfg.settings.window or (steps if isinstance(steps, int) else None)
        self.min_length = max(series.MIN_LENGTH, self.window or 0)
        self.scaled = bool(self.cfg.settings.scaled)
        self.context = self.cfg.settings.context

    @classmethod
    def output_shape(cls, cfg: DataConfig) -> tuple[int, ...]:
        return (cfg.settings.horizon,)

    def describe(self) -> str:
        reads = f"the latest {self.window} values" if self.window else "the whole series"
        return f"forecasts {self.horizon} values at a pass from {reads}"

    @classmethod
    def describe_input(cls, cfg: DataConfig) -> str:
        return "float32 [batch, steps, 1]: the series so far, any number of steps"

    def prepare(self, values: Any) -> np.ndarray:
        """The (steps, 1) float32 array the model reads, or a clear error."""
        if isinstance(values, (str, os.PathLike)):
            values = series.read_series_file(values)
        elif isinstance(values, bytes):
            values = series.parse_series(values)
        return series.check_values(values, min_length=self.min_length)[:, None]

    def check_shapes(self, shapes: Sequence[list[int]]) -> None:
        (shape,) = shapes
        if len(shape) != 3 or shape[2] != 1 or not 2 <= shape[1] <= series.MAX_LENGTH:
            raise InvalidInputError(
                f"{self.name} takes a batch of shape (N, steps, 1), one "
                f"channel, 2 to {series.MAX_LENGTH:,} steps; got "
                f"{tuple(shape)}"
            )

    def forecast(
        self, values: Any, steps: int | None = None, season: int | None = None
    ) -> np.ndarray:
        """The next ``steps`` values (default: the model's horizon) after ``values``;
        ``season``: the series' season in steps (0: none) for a scaled forecaster, which
        otherwise finds it from the series."""
        return self.forecast_batch(self.prepare(values)[None, :, 0], steps, season)[0]

    def forecast_batch(
        self, inputs: np.ndarray, steps: int | None = None, season: int | None = None
    ) -> np.ndarray:
        """(n, steps_in) series of equal length -> (n, steps) forecasts."""
        steps = self.horizon if steps is None else steps
        if (
            isinstance(steps, bool)
            or not isinstance(steps, (int, np.integer))
            or not 1 <= steps <= MOST_STEPS
        ):
            raise InvalidInputError(
                f"steps must be a whole number from 1 to {MOST_STEPS}; got {steps!r}"
            )
        window = np.asarray(inputs, dtype=np.float32)
        if window.ndim != 2 or not self.min_length <= window.shape[1] <= series.MAX_LENGTH:
            raise InvalidInputError(
                f"{self.name} needs series of {self.min_length} to {series.MAX_LENGTH:,} "
                f"values; got an array of shape {window.shape}"
            )
        seasons = None if season is None else [season] * len(window)
        made: list[np.ndarray] = []
        for _ in range(self.runs(steps)):
            window = window[:, -self.reach :]  # older values are never read again
            if self.scaled:
                scaled = series.scale_windows(
                    window, self.horizon, self.context, seasons, self.cfg.settings.described
                )
                seasons = scaled.seasons  # found once: the forecasts appended keep it
                made.append(scaled.restore(self.run(scaled.inputs[:, :, None])))
            else:
                made.append(self.run(window[:, :, None]))
            window = np.concatenate([window, made[-1]], axis=1)
        return np.concatenate(made, axis=1)[:, :steps]

    @property
    def reach(self) -> int:
        """The most latest values one run reads: the model's window, else as many as its
        graph takes (a series and its own forecasts may together hold more)."""
        return self.window or series.MAX_LENGTH

    def runs(self, steps: int) -> int:
        """The model runs a forecast of ``steps`` values takes: one per horizon."""
        return -(-steps // self.horizon)

    def work(self, values: int, rows: int = 1, steps: int | None = None) -> int:
        """The values the model reads in all to forecast ``steps`` after ``rows`` series of
        ``values`` values: its runs' lengths, summed. A run's time grows with its length, so
        this, not the runs alone, is what a forecast costs."""
        steps = self.horizon if steps is None else steps
        read = sum(min(values + i * self.horizon, self.reach) for i in range(self.runs(steps)))
        if self.scaled:  # numpy reads the series each run, the graph its scaled window
            described = 2 if self.cfg.settings.described else 0
            read += self.runs(steps) * ((self.context or values) + described)
        return rows * read

    def predict(self, values: Any, steps: int | None = None) -> np.ndarray:
        return self.forecast(values, steps)

    def predict_batch(self, inputs: Iterable[Any], steps: int | None = None) -> list[np.ndarray]:
        """Forecasts for several series (of any lengths: each runs on its own)."""
        return [self.forecast(values, steps) for values in inputs]

    def to_json(self, answer: np.ndarray) -> list[float]:
        return answer.tolist()

    def to_text(self, answer: np.ndarray) -> list[str]:
        return [f"next {len(answer)}: " + ", ".join(f"{v:.4f}" for v in answer)]

    def tensor_outputs(
        self, *inputs: np.ndarray, steps: int | None = None
    ) -> dict[str, np.ndarray]:
        (batch,) = self.checked(*inputs)
        return {self.output_name: self.forecast_batch(batch[:, :, 0], steps)}

    def example(self) -> np.ndarray:
        """A series from the generator the forecasters learnt, as long as they were taught."""
        return series.generate(1, self.cfg.input_size[0], seed=0)[0]
