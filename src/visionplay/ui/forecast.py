"""The Forecast tab: a series (generated, typed or uploaded as CSV), the next steps of the
forecaster picked (``#series-model``: any in the model folders, timeseries first), and the
baselines beside them on one plot (naive, seasonal naive with the season found from the
series or given, linear); a backtest on the series' own last values says how the model did
there against the baselines.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from .. import series
from ..admission import ADMISSION, is_large
from ..errors import MAX_SEED, InvalidInputError, VisionplayError, checked_seed
from ..locations import Folders
from ..tasks import ForecastModel
from .widgets import chosen, kept_pick, model_picker, offered

SERIES_HINT = (
    "Press **New series** for one from the generator, or paste numbers (commas, spaces or "
    "new lines), or upload a one-column CSV."
)


def series_text(values: np.ndarray) -> str:
    return ", ".join(f"{v:.4f}" for v in values)


def new_series(seed: float | None) -> tuple[str, list[float], int]:
    """A series from the seed's generator: 50 values shown, the next 10 kept as truth; and
    the seed to offer next."""
    try:
        seed = checked_seed(0 if seed is None else seed)
    except VisionplayError as err:
        raise gr.Error(f"No series for that seed: {err}") from None
    values = series.generate(1, series.HISTORY + 10, seed=seed)[0]
    return series_text(values[: series.HISTORY]), values.tolist(), (seed + 1) % (MAX_SEED + 1)


def load_csv(path: str) -> tuple[str, list[float]]:
    """The uploaded CSV's numbers into the series box (its problem as a pop-up error)."""
    try:
        values = series.read_csv_column(Path(path).read_bytes())
    except VisionplayError as err:
        raise gr.Error(f"Could not read that CSV: {err}") from None
    return series_text(values), []


def forecast_view(
    model: ForecastModel,
    text: str | None,
    steps: int,
    generated: list[float],
    season: float | None = None,
) -> tuple[Any, str]:
    """The history, the model's forecast, the baselines and (for a generated series) the
    truth, as long-form rows for the tab's LinePlot (drawn in the browser, which spares the
    server a matplotlib figure), and what the backtest found; or a message saying what is
    wrong. ``season``: the series' season in steps (1: none; None or 0: found from the
    series, as the page's empty number field sends 0)."""
    import pandas as pd  # Gradio's own dependency

    if not text or not text.strip():
        return None, SERIES_HINT
    try:
        values = model.prepare(series.parse_series(text))[:, 0]  # a str would be a path
        season, season_note = chosen_season(values, season)
        with ADMISSION.turn(is_large(values=model.work(len(values), steps=int(steps)))):
            forecast = model.forecast(values, int(steps), season=season or 0)
            check = backtest(model, values, len(forecast), season)
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
    if season:
        made = series.seasonal_naive(values[None], steps, season)[0]
        lines["seasonal naive"] = (start, np.concatenate([last, made]))
    # The linear baseline learnt seed 003's range: drawn only for series within it.
    outside = series.outside_learnt_range(values)
    if outside is None:
        lines["linear"] = (start, np.concatenate([last, series.linear_baseline(values, steps)]))
    lines[model.name] = (start, np.concatenate([last, forecast]))
    rows = pd.concat(
        pd.DataFrame({"step": x, "value": np.asarray(y, np.float64), "line": name})
        for name, (x, y) in lines.items()
    )
    notes = [f"**Next {steps}:** " + ", ".join(f"{v:.4g}" for v in forecast), season_note]
    if np.ptp(values) == 0:
        notes.append(
            "**A constant series:** every value is the same, so every forecaster repeats it; "
            "there is nothing here to learn from."
        )
    else:
        notes.append(check)
    if outside is not None:
        if model.scaled:
            notes.append(
                "The linear baseline is not drawn: it learnt seed 003's series, which stay "
                f"within +-{series.GENERATOR_BOUND}."
            )
        else:
            notes.append(f"**Careful:** {outside}.")
    return rows, "\n\n".join(notes)


def chosen_season(values: np.ndarray, given: float | None) -> tuple[int | None, str]:
    """The season to forecast with (None: none) and a line saying where it came from."""
    if not given:  # none given: the page's empty number field sends 0
        found = series.find_season(values)
        if found:
            return found, f"**Season:** {found} steps, found from the series."
        return None, "**Season:** none found in the series."
    if not math.isfinite(given) or given != int(given) or given < 0:
        raise InvalidInputError(f"a season is a whole number of steps; got {given:g}")
    season = int(given)
    if season == 1:
        return None, "**Season:** none (as asked: 1 step)."
    needed = series.SEASONS_NEEDED * season
    if len(values) < needed:
        raise InvalidInputError(
            f"a season of {season} steps needs at least {needed} values to be seen "
            f"({series.SEASONS_NEEDED} seasons); the series has {len(values)}"
        )
    return season, f"**Season:** {season} steps, as given."


def backtest(model: ForecastModel, values: np.ndarray, steps: int, season: int | None) -> str:
    """How the model and the baselines did on the series' own last values: forecasts of
    ``steps`` from up to six earlier points, each reading only what came before it."""
    origins = min(series.BACKTEST_ORIGINS, (len(values) - model.min_length) // steps)
    if origins < 1:
        return (
            f"**No backtest:** the series is too short to check the forecasters on its own "
            f"last values ({model.min_length + steps} values at least)."
        )
    forecasters = {
        model.name: lambda h, k: model.forecast(h, k, season=season or 0),
        "naive": lambda h, k: series.naive(h[None], k)[0],
    }
    if season:
        forecasters["seasonal naive"] = lambda h, k: series.seasonal_naive(h[None], k, season)[0]
    errors = {
        name: float(series.backtest_errors(forecast, values, steps, origins).mean())
        for name, forecast in forecasters.items()
    }
    told = ", ".join(f"{name} {error:.4g}" for name, error in errors.items())
    said = (
        f"**Backtest** on the last {origins * steps} values ({origins} forecast"
        f"{'s' * (origins > 1)} of {steps}, each from only the values before it), mean "
        f"absolute error: {told}."
    )
    best = min(errors, key=errors.get)
    if best != model.name and errors[best] < errors[model.name]:
        return (
            f"{said}\n\n**A baseline did better on this series:** {best} erred less than "
            f"{model.name} on its last values; trust {best} over the model here."
        )
    return f"{said} {model.name} did best there."


def forecast_tab(directory: Folders) -> None:
    offer = offered(directory, "forecast", ("timeseries",))
    with gr.Tab("Forecast", id="timeseries"):
        if not offer.models:
            gr.Markdown(offer.problem)
            return
        generated = gr.State([])
        with gr.Row():
            with gr.Column():
                text = gr.Textbox(
                    label="Series",
                    lines=4,
                    elem_id="series-input",
                    placeholder="0.1, 0.25, 0.31, ...",
                )
                with gr.Row():
                    fresh = gr.Button("New series", elem_id="series-new")
                    # new_series checks it, quoting at most a little of a bad one:
                    # Gradio's own range check would quote all of it.
                    seed = gr.Number(value=0, precision=0, label="Seed")
                upload = gr.File(
                    label="One-column CSV", file_types=[".csv", ".txt"], type="filepath"
                )
                steps = gr.Slider(1, 10, value=10, step=1, label="Steps ahead")
                season = gr.Number(
                    value=None,
                    precision=0,
                    label="Season in steps (empty or 0: found from the series; 1: none)",
                    elem_id="series-season",
                )
                choice = model_picker(offer, "series-model")
                go = gr.Button("Forecast", variant="primary", elem_id="series-forecast")
            with gr.Column():
                plot = gr.LinePlot(
                    x="step",
                    y="value",
                    color="line",
                    label="Forecast",
                    color_title="",
                    color_map={
                        "history": "#4d4d4d",
                        "truth": "#2ca02c",
                        "naive": "#aaaaaa",
                        "seasonal naive": "#9467bd",
                        "linear": "#ff7f0e",
                        **dict.fromkeys(offer.models, "#1f77b4"),
                    },
                    elem_id="series-plot",
                )
                message = gr.Markdown(SERIES_HINT, elem_id="series-message")

        def read(
            values: str | None,
            horizon: int,
            truth: list[float],
            period: float | None = None,
            name: str = "",
        ) -> tuple[Any, str]:
            try:
                model = chosen(offer, name)
            except VisionplayError as err:
                return None, f"**{err}**"
            return forecast_view(model, values, horizon, truth, period)

        shown = [text, steps, generated, season]
        inputs, outputs = [*shown, kept_pick(choice, offer)], [plot, message]
        fresh.click(new_series, seed, [text, generated, seed], api_name="new_series").success(
            read, inputs, outputs, api_name=False
        )
        upload.upload(load_csv, upload, [text, generated], api_name=False).success(
            read, inputs, outputs, api_name=False
        )
        go.click(read, inputs, outputs, api_name="forecast")
        text.submit(read, inputs, outputs, api_name=False)
        steps.release(read, inputs, outputs, api_name=False)
        season.submit(read, inputs, outputs, api_name=False)
        choice.change(read, [*shown, choice], outputs, api_name=False)
