"""The Forecast tab: a series (generated, typed or uploaded as CSV), the next steps of the
forecaster picked (``#series-model``: any in the model folders, timeseries first), and the
two baselines beside them on one plot.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from .. import series
from ..admission import ADMISSION, is_large
from ..errors import MAX_SEED, VisionplayError, checked_seed
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
    model: ForecastModel, text: str | None, steps: int, generated: list[float]
) -> tuple[Any, str]:
    """The history, the model's forecast, both baselines and (for a generated series) the
    truth, as long-form rows for the tab's LinePlot (drawn in the browser, which spares the
    server a matplotlib figure); or a message saying what is wrong."""
    import pandas as pd  # Gradio's own dependency

    if not text or not text.strip():
        return None, SERIES_HINT
    try:
        values = model.prepare(series.parse_series(text))[:, 0]  # a str would be a path
        with ADMISSION.turn(is_large(values=model.work(len(values), steps=int(steps)))):
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
                        "linear": "#ff7f0e",
                        **dict.fromkeys(offer.models, "#1f77b4"),
                    },
                    elem_id="series-plot",
                )
                message = gr.Markdown(SERIES_HINT, elem_id="series-message")

        def read(
            values: str | None, horizon: int, truth: list[float], name: str = ""
        ) -> tuple[Any, str]:
            try:
                model = chosen(offer, name or offer.first)
            except VisionplayError as err:
                return None, f"**{err}**"
            return forecast_view(model, values, horizon, truth)

        inputs, outputs = [text, steps, generated, kept_pick(choice, offer)], [plot, message]
        fresh.click(new_series, seed, [text, generated, seed], api_name="new_series").success(
            read, inputs, outputs, api_name=False
        )
        upload.upload(load_csv, upload, [text, generated], api_name=False).success(
            read, inputs, outputs, api_name=False
        )
        go.click(read, inputs, outputs, api_name="forecast")
        text.submit(read, inputs, outputs, api_name=False)
        steps.release(read, inputs, outputs, api_name=False)
        choice.change(read, [text, steps, generated, choice], outputs, api_name=False)
