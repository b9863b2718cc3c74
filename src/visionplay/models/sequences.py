"""Forecasters: a series (N, steps, 1) in, the next ``horizon`` values (N, horizon) out.

"Seed NNN" names one of the five tutorials the project follows: see docs/tutorials.md.
"""

from __future__ import annotations

import inspect
from dataclasses import replace
from typing import Any

import torch
from torch import nn

from ..config import TIMESERIES, TIMESERIES_SCALED, DataConfig
from .registry import get_entry, register_model


def forecast_config(name: str, **kwargs: Any) -> DataConfig:
    """The data config of forecaster ``name`` built with ``kwargs``, known before it is
    built, from the builder's arguments: ``horizon`` (values forecast at once) and
    ``window``, the latest values a window model reads (its ``history``; None for a model
    that reads the whole series)."""
    arguments = inspect.signature(get_entry(name).builder).bind(**kwargs)
    arguments.apply_defaults()
    cfg = get_entry(name).cfg
    horizon, window = arguments.arguments["horizon"], arguments.arguments.get("history")
    return replace(cfg, settings=replace(cfg.settings, horizon=horizon, window=window))


class Recurrent(nn.Module):
    """A stack of recurrent layers read at the last step, then a linear head: any input
    length works, so the exported graph keeps a dynamic ``steps`` axis."""

    CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
    window = None  # reads the whole series

    def __init__(self, cell: str, hidden: int, layers: int, horizon: int) -> None:
        super().__init__()
        self.rnn = self.CELLS[cell](1, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, horizon)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


class Naive(nn.Module):
    """The last value, repeated ``horizon`` times: the baseline to beat (no parameters)."""

    window = None

    def __init__(self, horizon: int) -> None:
        super().__init__()
        self.horizon = horizon

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, -1, :].expand(-1, self.horizon)


class Linear(nn.Module):
    """The flattened window of the last ``history`` values -> the forecast."""

    def __init__(self, history: int, horizon: int) -> None:
        super().__init__()
        self.window = history  # reads only the latest ``history`` values
        self.head = nn.Linear(history, horizon)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x[:, -self.window :, 0])


@register_model(TIMESERIES)
def naive(horizon: int = 1) -> nn.Module:
    """Naive baseline: tomorrow is today (the last value, repeated)."""
    return Naive(horizon)


@register_model(TIMESERIES)
def linear(horizon: int = 1, history: int = 50) -> nn.Module:
    """Linear baseline: the 50-step window, flattened, through one linear layer."""
    return Linear(history, horizon)


@register_model(TIMESERIES)
def rnn(horizon: int = 1, hidden: int = 20, layers: int = 2) -> nn.Module:
    """Simple RNN (seed 003): two tanh layers of 20, the last state to the forecast."""
    return Recurrent("rnn", hidden, layers, horizon)


@register_model(TIMESERIES)
def lstm(horizon: int = 1, hidden: int = 20, layers: int = 2) -> nn.Module:
    """LSTM (seed 003): two layers of 20."""
    return Recurrent("lstm", hidden, layers, horizon)


@register_model(TIMESERIES)
def gru(horizon: int = 1, hidden: int = 20, layers: int = 2) -> nn.Module:
    """GRU (seed 003): two layers of 20."""
    return Recurrent("gru", hidden, layers, horizon)


@register_model(TIMESERIES_SCALED)
def timeseries(horizon: int = 10, hidden: int = 64, layers: int = 2) -> nn.Module:
    """The shipped forecaster: a two-layer LSTM of 64, the next 10 values at once, of any
    series: it reads windows as ``series.scale_windows`` leaves them (season, level and
    scale taken out in numpy, and put back after).

    Longer horizons roll it forward on its own forecasts (``ForecastModel.forecast``)."""
    return Recurrent("lstm", hidden, layers, horizon)
