"""The series generator, input checks, forecasters end to end, and the Forecast tab."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from gradio_client import Client
from test_trainer import trainer

import visionplay
from visionplay import series
from visionplay.cli.main import main as cli
from visionplay.errors import EmptyInputError, InvalidInputError
from visionplay.ui.forecast import SERIES_HINT, backtest, forecast_view


def test_generator_follows_the_seed_formula():
    values = series.generate(5, 51, seed=3)
    assert values.shape == (5, 51) and values.dtype == np.float32
    rng = np.random.default_rng(3)
    f1, f2, o1, o2 = rng.random((4, 5, 1))
    t = np.linspace(0, 1, 51)
    smooth = 0.5 * np.sin((t - o1) * (f1 * 10 + 10)) + 0.2 * np.sin((t - o2) * (f2 * 20 + 20))
    noise = values - smooth
    assert np.abs(noise).max() <= 0.05 + 1e-6  # 0.1 * (U[0, 1) - 0.5)
    np.testing.assert_array_equal(values, series.generate(5, 51, seed=3))
    assert not np.array_equal(values, series.generate(5, 51, seed=4))


def test_splits_are_seven_two_one_thousand():
    splits = series.make_splits(10)
    assert [len(splits[k].inputs) for k in ("train", "val", "test")] == [7000, 2000, 1000]
    assert splits["test"].inputs.shape == (1000, 50) and splits["test"].targets.shape == (1000, 10)


@pytest.mark.parametrize(
    ("given", "error", "message"),
    [
        ("", EmptyInputError, "no numbers"),
        ("1, 2, banana", InvalidInputError, "item 3, 'banana'"),
        ([0.1] * 5, InvalidInputError, "5 values; at least 10"),
        ([0.1] * 20 + [float("nan")], InvalidInputError, "value 21 .* not a finite"),
        ([[1, 2], [3, 4]], InvalidInputError, "one-dimensional"),
        (np.zeros(20_000), InvalidInputError, "at most 10000"),
        ([], EmptyInputError, "empty"),
    ],
)
def test_bad_series_get_clear_messages(given, error, message):
    with pytest.raises(error, match=message):
        series.check_values(given)


def test_csv_column_with_header_and_mistakes():
    np.testing.assert_allclose(series.read_csv_column(b"value\n1\n2.5\n-3\n"), [1, 2.5, -3])
    with pytest.raises(InvalidInputError, match="one column"):
        series.read_csv_column("1,2\n3,4\n")
    with pytest.raises(EmptyInputError):
        series.read_csv_column(b"")


def test_baselines():
    inputs = np.arange(100, dtype=np.float32).reshape(2, 50)
    np.testing.assert_array_equal(series.naive(inputs, 3), [[49, 49, 49], [99, 99, 99]])
    weights = series.fit_linear(inputs, inputs[:, -1:] + 1)
    np.testing.assert_allclose(series.linear(inputs, weights), [[50], [100]], atol=1e-3)


def seasonal(length: int, period: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    return 5 + 0.05 * t + np.sin(2 * np.pi * t / period) + 0.2 * rng.normal(size=length)


@pytest.mark.parametrize("period", [4, 7, 12, 13, 24])
def test_the_season_is_found_from_the_series(period):
    assert series.find_season(seasonal(10 * period, period)) == period


def test_no_season_where_there_is_none_or_too_little_of_it():
    rng = np.random.default_rng(1)
    assert series.find_season(rng.normal(size=300)) is None
    assert series.find_season(np.cumsum(rng.normal(size=300))) is None
    assert series.find_season(np.full(50, 3.0)) is None
    assert series.find_season(np.arange(50.0)) is None
    # three seasons of 12 are not enough to believe in one
    assert series.find_season(seasonal(36, 12)) is None
    # seed 003's sines last longer than a quarter of its 50 values
    found = [series.find_season(v) for v in series.make_splits(10)["test"].inputs[:200]]
    assert found.count(None) >= 190


def test_seasonal_naive_and_the_profile():
    values = np.arange(24.0) % 12 + 0.5 * (np.arange(24) // 12)
    np.testing.assert_array_equal(
        series.seasonal_naive(values[None], 14, 12)[0], np.r_[values[12:], values[12:14]]
    )
    np.testing.assert_array_equal(series.seasonal_naive(values[None], 3, None), [[11.5] * 3])
    profile = series.seasonal_profile(np.tile([1.0, 2, 3, 0], 10) + 7, 4)
    np.testing.assert_allclose(profile, [-0.5, 0.5, 1.5, -1.5], atol=1e-9)


def test_windows_are_scaled_and_put_back():
    values = seasonal(120, 12)
    scaled = series.scale_windows(values[None], 10, context=50)
    assert scaled.seasons == (12,) and scaled.inputs.shape == (1, 50)
    assert scaled.inputs[0, -1] == 0 and scaled.inputs.std() == pytest.approx(1, rel=1e-5)
    # an answer of zeros: the last season-adjusted value, the season put back
    profile = series.seasonal_profile(values, 12)
    expected = values[-1] - profile[119 % 12] + profile[np.arange(120, 130) % 12]
    np.testing.assert_allclose(scaled.restore(np.zeros((1, 10))), [expected], rtol=1e-6)
    # the same series on another level and scale reads the same
    moved = series.scale_windows(1000 + 300 * values[None], 10, context=50)
    np.testing.assert_allclose(moved.inputs, scaled.inputs, atol=1e-4)
    # a short series is padded with its first value; a constant one forecasts itself
    short = series.scale_windows(values[None, :20], 10, context=50)
    assert short.inputs.shape == (1, 50) and (short.inputs[0, :31] == short.inputs[0, 30]).all()
    # described: the scale and the level lead, the same window after them
    told = series.scale_windows(1000 + 300 * values[None], 10, context=50, described=True)
    np.testing.assert_allclose(told.inputs[:, 2:], scaled.inputs, atol=1e-4)
    level, scale = told.level[0, 0], told.scale[0, 0]
    np.testing.assert_allclose(told.inputs[0, :2], [np.log10(scale) / 3, level / scale / 10])
    flat = series.scale_windows(np.full((1, 30), 7.0), 10, context=50)
    np.testing.assert_allclose(flat.restore(np.ones((1, 10))), np.full((1, 10), 7.0), atol=1e-4)


def test_training_targets_and_serving_meet_on_the_same_numbers():
    """The trainer's scaled targets, put back by serving's restore, are the true values."""
    module = trainer("timeseries")
    how = visionplay.config.TIMESERIES_SCALED.settings
    values = np.stack([seasonal(130, 12, seed=s) for s in range(3)])
    data = module.as_served(values[:, :120], values[:, 120:], how)
    inputs, goal = (t.numpy() for t in data.tensors)
    scaled = series.scale_windows(values[:, :120], how.horizon, how.context, described=True)
    np.testing.assert_array_equal(inputs[:, :, 0], scaled.inputs)
    np.testing.assert_allclose(scaled.restore(goal), values[:, 120:], rtol=1e-5)


def test_backtest_on_the_series_own_last_values():
    values = np.arange(100.0)
    errors = series.backtest_errors(lambda h, k: series.naive(h[None], k)[0], values, 10, 6)
    np.testing.assert_array_equal(errors, np.tile(np.arange(1.0, 11), (6, 1)))
    with pytest.raises(InvalidInputError, match="needs more than 61 values"):
        series.backtest_errors(lambda h, k: h[-k:], values[:60], 10, 6)


@pytest.fixture(scope="module")
def exported_forecasters(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    for arch in (
        ["--arch", "lstm", "--horizon", "1"],
        ["--arch", "timeseries"],
        ["--arch", "linear"],
    ):
        trainer("timeseries").main([*arch, "--dry-run", "--out", str(runs)])
    out = tmp_path_factory.mktemp("exported")
    dry_runs = sorted(map(str, (runs / "dry-run").glob("*/*.pt")))  # named: export takes them
    assert len(dry_runs) == 3 and cli(["export", "--onnx", *dry_runs, "--out", str(out)]) == 0
    return runs / "dry-run", out


def test_any_length_in_and_the_asked_steps_out(exported_forecasters):
    runs, out = exported_forecasters
    model = visionplay.load("timeseries", out)
    assert isinstance(model, visionplay.ForecastModel) and model.horizon == 10
    checkpoint = torch.load(runs / "timeseries" / "timeseries.pt", weights_only=False)
    from visionplay.train.checkpoints import model_from_checkpoint

    net = model_from_checkpoint(checkpoint)
    assert model.scaled  # it reads each window scaled, as it learnt
    for length in (10, 50, 333):
        values = series.generate(1, length, seed=length)[0]
        scaled = series.scale_windows(values[None], 10, model.context, described=True)
        with torch.no_grad():
            answer = net(torch.from_numpy(scaled.inputs)[:, :, None]).numpy()
        np.testing.assert_allclose(model.forecast(values), scaled.restore(answer)[0], atol=1e-4)
        assert model.forecast(list(values), steps=3).shape == (3,)


def test_longer_horizons_roll_out_on_their_own_forecasts(exported_forecasters):
    _, out = exported_forecasters
    one_step = visionplay.load("lstm", out)
    values = series.generate(1, 50, seed=1)[0]
    rolled = one_step.forecast(values, steps=4)
    window = list(values)
    for step in range(4):
        next_value = one_step.forecast(window, steps=1)[0]
        assert rolled[step] == pytest.approx(next_value, abs=1e-6)
        window.append(next_value)
    with pytest.raises(InvalidInputError, match="steps must be"):
        one_step.forecast(values, steps=0)


def test_a_window_model_reads_the_latest_values(exported_forecasters):
    _, out = exported_forecasters
    window = visionplay.load("linear", out)  # its graph takes exactly 50 steps
    assert window.window == 50
    values = series.generate(1, 80, seed=2)[0]
    np.testing.assert_allclose(window.forecast(values, 1), window.forecast(values[-50:], 1))
    assert window.forecast(values, steps=4).shape == (4,)
    with pytest.raises(InvalidInputError, match="at least 50"):
        window.forecast(values[:20])


def test_eval_prints_one_table_with_the_baselines(exported_forecasters, capsys):
    _, out = exported_forecasters
    assert cli(["eval", str(out / "timeseries.onnx"), "--compare", str(out), "--limit", "50"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    names = [row["model"] for row in report["table"]]
    assert names == ["naive (last value)", "linear (least squares)", "timeseries", "linear", "lstm"]
    naive, linear = report["table"][:2]
    assert linear["next_mse"] < naive["next_mse"]
    assert "| model | outputs | parameters |" in captured.err
    # zero-shot on statsmodels' real series, as multiples of naive (no fits under --limit)
    real = report["real_series"]["series"]
    assert [r["series"] for r in real[:5]] == ["sunspots", "nile", "co2", "elnino", "realgdp"]
    assert all(r["naive"] == 1 and "holt_winters" not in r for r in real)
    assert real[1]["seasonal_naive"] == 1  # the Nile has no season: seasonal naive is naive
    assert "| sunspots (yearly) | 11 |" in captured.err
    assert "| m1 (quarterly) | 4 |" in captured.err
    # and on generated processes, apart
    generated = captured.err.split("Generated")[1]
    assert "| random walk (generated) | - |" in generated and "sunspots" not in generated
    rows = report["generated_series"]["series"]
    assert rows[0]["series"] == "random walk" and rows[0]["seasonal_naive"] == 1


def test_generated_series_are_drawn_the_same_every_time():
    from visionplay.train import real_series

    first, again = real_series.generated_series(), real_series.generated_series()
    assert [c.name for c in first] == [c.name for c in again]
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a.values, b.values)
    assert all(len(c.values) > 6 * real_series.STEPS for c in first)


def test_real_series_are_scored_as_multiples_of_naive():
    from visionplay.train import real_series

    periodic = 10 + np.tile([0.0, 3, 1, 5], 30) + 0.01 * np.random.default_rng(0).normal(size=120)
    case = real_series.RealSeries("periodic", periodic, 4, "made up")
    report = real_series.report(lambda h, k: np.full(k, h.mean()), [case], fitted=True)
    (row,) = report["series"]
    assert row["naive"] == 1 and row["seasonal_naive"] < 0.02
    assert row["holt_winters"] < 0.05  # a fitted season finds it too
    assert 0.3 < row["model"] < 1 and report["share_better_than_seasonal_naive"] == 0
    assert report["worst_vs_naive"] == row["model"]


# The shipped forecaster and its tab.


def test_the_shipped_forecaster_reads_any_level_and_scale():
    """A series near 300 or 10,000 is forecast on its own level: what once came out
    near 0 (the forecaster knew only values within +-0.75)."""
    model = visionplay.load("timeseries")
    t = np.arange(80)
    for level, size in ((300, 20), (10_000, 500), (-50, 0.1)):
        values = level + size * (np.sin(2 * np.pi * t / 16) + 0.01 * t)
        forecast = model.forecast(values)
        truth = level + size * (
            np.sin(2 * np.pi * np.arange(80, 90) / 16) + 0.01 * np.arange(80, 90)
        )
        assert np.abs(forecast - truth).mean() < 0.2 * size


def test_shipped_forecaster_beats_the_baselines():
    model = visionplay.load("timeseries")
    test = series.make_splits(1)["test"]
    predicted = model.forecast_batch(test.inputs[:300], 1)
    mse = float(((predicted - test.targets[:300]) ** 2).mean())
    naive = float(((series.naive(test.inputs[:300], 1) - test.targets[:300]) ** 2).mean())
    assert mse < naive / 4


def test_forecast_tab_over_http(app_url):
    client = Client(app_url, verbose=False)
    text, seed = client.predict(7, api_name="/new_series")  # the truth stays in the tab
    assert len(series.parse_numbers(text)) == 50 and seed == 8
    plot, message = client.predict(text, 5, api_name="/forecast")
    next_line = message.split("\n\n")[0]
    assert plot is not None and len(next_line.split(",")) == 5
    assert "**Backtest** on the last 30 values" in message
    plot, message = client.predict(text, 5, 1, api_name="/forecast")  # the season, given
    assert plot is not None and "**Season:** none (as asked: 1 step)." in message
    prices = ", ".join(str(100 + v) for v in series.parse_numbers(text))
    plot, message = client.predict(prices, 5, api_name="/forecast")
    assert plot is not None and "linear baseline is not drawn" in message
    plot, message = client.predict("1, 2, three", 5, api_name="/forecast")
    assert plot is None and "item 3, 'three'" in message
    plot, message = client.predict("", 5, api_name="/forecast")
    assert plot is None and message == SERIES_HINT


def lines_of(rows) -> set[str]:
    return set(rows["line"])


def test_the_tab_finds_the_season_and_draws_seasonal_naive():
    model = visionplay.load("timeseries")
    text = ", ".join(f"{300 + 40 * v:.3f}" for v in seasonal(120, 12))
    rows, message = forecast_view(model, text, 10, [])
    assert "**Season:** 12 steps, found from the series." in message
    assert lines_of(rows) == {"history", "naive", "seasonal naive", "timeseries"}
    assert "mean absolute error: timeseries" in message and "seasonal naive" in message
    assert forecast_view(model, text, 10, [], 0)[1] == message  # what an empty field sends
    rows, message = forecast_view(model, text, 10, [], 1)
    assert "**Season:** none (as asked: 1 step)." in message
    assert "seasonal naive" not in lines_of(rows)
    rows, message = forecast_view(model, text, 10, [], 7)
    assert "**Season:** 7 steps, as given." in message
    rows, message = forecast_view(model, text, 10, [], 40)
    assert rows is None and "a season of 40 steps needs at least 160 values" in message


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("1, 2, 3", "3 values; at least 10"),
        ("1, 2, , 4, 5, 6, 7, 8, 9, 10, 11", "value 3 is missing (an empty field)"),
        ("1\n2\n\n3\n4\n5\n6\n7\n8\n9\n10\n11", "line 3 is empty"),
        ("5, NA, " + "5, " * 20, "value 2 is missing (NA)"),
    ],
)
def test_the_tab_says_what_is_wrong_with_a_series(text, said):
    rows, message = forecast_view(visionplay.load("timeseries"), text, 10, [])
    assert rows is None and message.startswith("**Cannot forecast that:**") and said in message


def test_a_constant_or_short_series_is_said_to_be_so():
    model = visionplay.load("timeseries")
    rows, message = forecast_view(model, "4, " * 30, 10, [])
    assert "**A constant series:**" in message and "Backtest" not in message
    np.testing.assert_allclose(model.forecast([4.0] * 30), 4.0, rtol=1e-5)
    rows, message = forecast_view(model, ", ".join(map(str, range(15))), 10, [])
    assert "**No backtest:** the series is too short" in message


class Stub:
    """A forecaster of known answers for the backtest's verdicts."""

    name, min_length = "stub", 10

    def __init__(self, answer):
        self.answer = answer

    def forecast(self, history, steps, season=None):
        return self.answer(history, steps)


def test_the_backtest_says_plainly_when_a_baseline_did_better():
    values = 100 + np.arange(80.0)
    zeros = Stub(lambda history, steps: np.zeros(steps))
    said = backtest(zeros, values, 10, None)
    assert "**Backtest** on the last 60 values (6 forecasts of 10" in said
    assert "**A baseline did better on this series:** naive erred less than stub" in said
    exact = Stub(lambda history, steps: history[-1] + np.arange(1.0, steps + 1))
    said = backtest(exact, values, 10, None)
    assert "stub 0, naive 5.5." in said and said.endswith("stub did best there.")
    # seasonal naive is among the baselines where there is a season
    periodic = np.tile(np.arange(7.0), 12)
    said = backtest(zeros, periodic, 10, 7)
    assert "seasonal naive 0" in said and "seasonal naive erred less than stub" in said
