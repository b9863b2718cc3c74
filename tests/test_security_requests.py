"""What one request may make the server do (issue 33): outputs named once each, forecasts
within the stated limits answered with bounded work, one session per model file, and no
OpenAPI schema served."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
from fastapi.testclient import TestClient

import visionplay
from visionplay import inference, series
from visionplay.bench.inputs import EXAMPLES, digit_drawing, png_bytes
from visionplay.inference import list_exported
from visionplay.serve.protocol import HTTPError, read_request
from visionplay.serve.rest import create_app

SHIPPED = list_exported()
ZEROS = {"name": "image", "datatype": "FP32", "shape": [1, 1, 28, 28], "data": [0.0] * 784}


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app()) as client:
        yield client


def rss_mb() -> int:
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith("VmRSS")).split()[1]) // 1024


# Outputs


@pytest.mark.parametrize(
    ("outputs", "message"),
    [
        ([{"name": "scores"}] * 2, "'outputs' names 'scores' twice"),
        ([{"name": "probabilities"}] * 1000, "'outputs' names 1,000 outputs; mnist gives 3"),
        (
            [{"name": "logits"}],
            "mnist has no output 'logits' for this input; it gives probabilities, labels, scores",
        ),
    ],
)
def test_repeated_or_unknown_outputs_are_refused_before_anything_runs(client, outputs, message):
    body = {"inputs": [ZEROS], "outputs": outputs}
    with pytest.raises(HTTPError, match=message):  # read_request runs nothing
        read_request(visionplay.load("mnist"), body, 64)
    answer = client.post("/v2/models/mnist/infer", json=body)
    assert answer.status_code == 400 and answer.json() == {"error": answer.json()["error"]}
    assert message.split(";")[0] in answer.json()["error"] and "\n" not in answer.text


def test_each_output_once_still_answers_in_the_asked_order(client):
    body = {"inputs": [ZEROS], "outputs": [{"name": "scores"}, {"name": "labels"}]}
    answer = client.post("/v2/models/mnist/infer", json=body).json()
    assert [o["name"] for o in answer["outputs"]] == ["scores", "labels"]


def example_bytes(name: str) -> bytes:
    shipped = sorted(EXAMPLES.glob(f"{name}-*"))
    return shipped[0].read_bytes() if shipped else png_bytes(digit_drawing())


@pytest.mark.parametrize("name", SHIPPED)
def test_the_outputs_checked_are_those_each_model_gives(name):
    model = visionplay.load(name)
    arrays = type(model).example_inputs(model.cfg, 1)
    assert list(model.tensor_outputs(*arrays)) == list(model.output_names(False))
    if model.bytes_input is not None:
        produced = model.picture_outputs([example_bytes(name)])
        assert list(produced) == list(model.output_names(True))


# Forecasts within the limits


def growing_window(model, inputs: np.ndarray, steps: int, reach: int | None = None) -> np.ndarray:
    """The roll-out as it was: the series and its forecasts re-read whole each run (the
    latest ``reach`` of them, where given); a scaled forecaster's scaled each run, with
    the season its first run found."""
    window, made = inputs, np.empty((len(inputs), 0), np.float32)
    seasons = None
    while made.shape[1] < steps:
        latest = window[:, -reach:] if reach else window
        if model.scaled:
            how = model.cfg.settings
            scaled = series.scale_windows(
                latest, how.horizon, how.context, seasons, described=how.described
            )
            seasons = scaled.seasons
            ahead = scaled.restore(model.run(scaled.inputs[:, :, None]))
        else:
            ahead = model.run(latest[:, :, None])
        ahead = ahead[:, : steps - made.shape[1]]
        made = np.concatenate([made, ahead], axis=1)
        window = np.concatenate([window, ahead], axis=1)
    return made


@pytest.mark.parametrize(("rows", "length", "steps"), [(1, 50, 10), (2, 300, 95), (1, 9000, 95)])
def test_forecasts_are_the_same_numbers_as_before(rows, length, steps):
    model = visionplay.load("timeseries")
    inputs = series.generate(rows, length, seed=length)
    expected = growing_window(model, inputs, steps)
    np.testing.assert_array_equal(model.forecast_batch(inputs, steps), expected)


def test_a_series_and_its_forecast_past_the_graphs_length_read_the_latest_values():
    model = visionplay.load("timeseries")
    values = series.generate(1, 9_990, seed=5)
    made = model.forecast_batch(values, 30)  # runs over 9,990, then 10,000, then 10,000
    expected = growing_window(model, values, 30, reach=series.MAX_LENGTH)
    np.testing.assert_array_equal(made, expected)


@pytest.mark.slow
def test_the_longest_series_and_steps_the_limits_allow_forecast():
    values = series.generate(1, 9_990, seed=6)[0]
    made = visionplay.load("timeseries").forecast(values, 1000)
    assert made.shape == (1000,) and np.isfinite(made).all()


def test_both_routes_forecast_within_the_limits(client):
    values = series.generate(1, 9_990, seed=7)[0]
    text = ",".join(map(str, values.tolist()))
    answer = client.post("/predict/timeseries?steps=30", content=text)
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["forecast"]) == 30
    tensor = {"name": "series", "datatype": "FP32", "shape": [1, 9_990, 1], "data": values.tolist()}
    body = {"inputs": [tensor], "parameters": {"steps": 30}}
    answer = client.post("/v2/models/timeseries/infer", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["outputs"][0]["shape"] == [1, 30]


def test_work_is_the_values_the_runs_read(monkeypatch):
    model = visionplay.load("timeseries")
    read = []
    real_run, real_scale = model.run, series.scale_windows
    monkeypatch.setattr(model, "run", lambda batch: read.append(batch.size) or real_run(batch))
    # a scaled forecaster's numpy reads the series each run too
    monkeypatch.setattr(
        series, "scale_windows", lambda x, *a, **k: read.append(x.size) or real_scale(x, *a, **k)
    )
    for rows, length, steps in ((1, 50, 10), (2, 300, 95), (1, 9_990, 30)):
        read.clear()
        model.forecast_batch(series.generate(rows, length, seed=1), steps)
        assert sum(read) == model.work(length, rows, steps=steps)
    # one run of 9,990, then 10,000 (and a scaled forecaster's graph its window each run)
    window = model.context + 2 if model.scaled else 0
    assert model.work(9_990, steps=1000) == 100 * (10_000 + window) - 10
    assert visionplay.load("mnist").work(784, rows=8) == 8 * 784


# The model cache


def test_a_file_that_changes_keeps_one_session(tmp_path):
    copy = tmp_path / "copy.onnx"
    shutil.copy(inference.resolve("mnist"), copy)
    first = inference.load(copy)
    before = rss_mb()
    try:
        for change in range(1, 41):
            os.utime(copy, ns=(10**18 + change, 10**18 + change))
            latest = inference.load(copy)
        growth = rss_mb() - before
        held = [model for key, (_, model) in inference._cache.items() if key[0] == str(copy)]
        assert held == [latest] and latest is not first
        assert growth < 60, f"40 changes of one file grew the process by {growth} MB"
    finally:
        for key in [k for k in inference._cache if k[0] == str(copy)]:
            del inference._cache[key]


# No schema


def test_no_openapi_schema_or_docs_are_served(client):
    for path in ("/openapi.json", "/docs", "/redoc"):
        assert client.get(path).status_code == 404
