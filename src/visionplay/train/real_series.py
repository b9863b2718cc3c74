"""Real series for reporting how a forecaster does zero-shot: the classic series that ship
with statsmodels, each with its own season, scored by the issue's protocol (10 steps ahead
from 6 origins 10 apart, ending at the series' end) beside naive, seasonal naive and a
damped Holt-Winters fitted per series and origin. Never used to train or tune anything.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from .. import series
from ..errors import VisionplayError

STEPS = 10


@dataclass(frozen=True)
class RealSeries:
    name: str
    values: np.ndarray
    season: int | None  # the period the series is known to have (None: none)
    about: str


def statsmodels_datasets() -> ModuleType:
    """statsmodels' datasets module, or one line saying what to install."""
    try:
        from statsmodels import datasets
    except ImportError:
        raise VisionplayError(
            "the real series come with statsmodels, of the training side: "
            'pip install "visionplay[train]"'
        ) from None
    return datasets


def column(dataset: ModuleType, name: str) -> np.ndarray:
    """One column of a statsmodels dataset, as float64."""
    return dataset.load_pandas().data[name].to_numpy(np.float64)


def real_series() -> list[RealSeries]:
    """statsmodels' own series (no download), as the issue reads them. All were printed
    while the forecaster was made, none trained on: the first ten from the start; the
    quarterly eight after them were held out from its first version, and looking at them
    once showed that the training family had too few random walks."""
    datasets = statsmodels_datasets()

    co2 = datasets.co2.load_pandas().data["co2"].interpolate().bfill().to_numpy()
    elnino = datasets.elnino.load_pandas().data.iloc[:, 1:].to_numpy().ravel()
    macro, rates = datasets.macrodata, datasets.interest_inflation
    quarterly = ("realgdp", "realcons", "realinv", "cpi", "unemp", "tbilrate")
    held_out_once = ("realgovt", "realdpi", "m1", "infl", "realint", "pop")
    return [
        RealSeries("sunspots", column(datasets.sunspots, "SUNACTIVITY"), 11, "yearly"),
        RealSeries("nile", column(datasets.nile, "volume"), None, "yearly"),
        RealSeries("co2", co2[::4], 13, "every 4th week"),
        RealSeries("elnino", elnino, 12, "monthly"),
        *(
            RealSeries(name, column(macro, name), 4, "quarterly")
            for name in quarterly + held_out_once
        ),
        *(
            RealSeries(f"inflation {name}", column(rates, name), 4, "quarterly, Germany")
            for name in ("Dp", "R")
        ),
    ]


def generated_series(seed: int = 2024, length: int = 160) -> list[RealSeries]:
    """Series of processes whose best forecast is known, drawn here (by code apart from the
    training family's, from a seed of their own): a walk's is its last value, a drifting
    walk's adds the drift, a seasonal series' repeats its season. One draw each."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)

    def ar1(phi: float) -> np.ndarray:
        x = np.zeros(length)
        for i in range(1, length):
            x[i] = phi * x[i - 1] + rng.normal()
        return x

    def walk(drift: float = 0.0, momentum: float = 0.0) -> np.ndarray:
        return 100 + np.cumsum(ar1(momentum) + drift)  # its steps are an AR(1)

    def seasonal(period: int, trend: float = 0.0) -> np.ndarray:
        shape = np.sin(2 * np.pi * t / period) + 0.5 * np.cos(4 * np.pi * t / period)
        return 20 + trend * t + 3 * shape + rng.normal(size=length)

    growth = np.exp(0.01 * t + np.cumsum(rng.normal(0, 0.01, length)))
    return [
        RealSeries("random walk", walk(), None, "generated"),
        RealSeries("drifting walk", walk(drift=0.5), None, "generated"),
        RealSeries("walk with momentum", walk(momentum=0.6), None, "generated"),
        RealSeries("AR(1), 0.8", 50 + ar1(0.8), None, "generated"),
        RealSeries("season of 12, noise", seasonal(12), 12, "generated"),
        RealSeries("season of 4, trend", seasonal(4, trend=0.05), 4, "generated"),
        RealSeries(
            "growing season of 12",
            growth * (1 + 0.2 * np.sin(2 * np.pi * t / 12)),
            12,
            "generated",
        ),
    ]


def holt_winters(history: np.ndarray, steps: int, season: int | None) -> np.ndarray:
    """Damped-trend Holt-Winters (additive season where there is one), fitted to
    ``history`` alone: the per-series model a zero-shot forecaster is compared with."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter on short histories
        fitted = ExponentialSmoothing(
            history,
            trend="add",
            damped_trend=True,
            seasonal="add" if season else None,
            seasonal_periods=season,
        ).fit()
    return np.asarray(fitted.forecast(steps))


def score(
    forecasters: dict[str, Callable[[np.ndarray, int], np.ndarray]], values: np.ndarray
) -> dict[str, float]:
    """Each forecaster's mean absolute error by the protocol, as a multiple of naive's."""
    errors = {
        name: float(series.backtest_errors(forecast, values, STEPS).mean())
        for name, forecast in forecasters.items()
    }
    naive = errors["naive"]
    return {name: round(error / naive, 4) for name, error in errors.items()}


def report(
    model: Callable[[np.ndarray, int], np.ndarray], cases: list[RealSeries], fitted: bool = True
) -> dict:
    """Per series: the model, naive, seasonal naive and (``fitted``) Holt-Winters, as
    multiples of naive; and the issue's targets over all series."""
    rows = []
    for case in cases:
        forecasters = {
            "naive": lambda h, k: series.naive(h[None], k)[0],
            "seasonal_naive": lambda h, k, s=case.season: series.seasonal_naive(h[None], k, s)[0],
            "model": model,
        }
        if fitted:
            forecasters["holt_winters"] = lambda h, k, s=case.season: holt_winters(h, k, s)
        rows.append(
            {
                "series": case.name,
                "about": case.about,
                "season": case.season,
                **score(forecasters, case.values),
            }
        )
    seasonal = np.array([row["seasonal_naive"] for row in rows])
    with np.errstate(divide="ignore"):  # a series seasonal naive forecasts exactly
        relative = np.array([row["model"] for row in rows]) / seasonal
    summary = {
        "geometric_mean_vs_seasonal_naive": round(float(np.exp(np.log(relative).mean())), 4),
        "share_better_than_seasonal_naive": round(float((relative < 1).mean()), 4),
        "worst_vs_naive": max(row["model"] for row in rows),
    }
    if fitted:
        with np.errstate(divide="ignore"):
            hw = np.array([row["holt_winters"] for row in rows]) / seasonal
        summary["holt_winters_geometric_mean_vs_seasonal_naive"] = round(
            float(np.exp(np.log(hw).mean())), 4
        )
    return {
        "protocol": f"{STEPS} steps from {series.BACKTEST_ORIGINS} origins {STEPS} apart, "
        "MAE as a multiple of naive's",
        "series": rows,
        **summary,
    }


def table(real: dict) -> str:
    fitted = "holt_winters" in real["series"][0]
    lines = [
        "| series | season | model | naive | seasonal naive |"
        + (" Holt-Winters |" if fitted else ""),
        "| --- | --- | --- | --- | --- |" + (" --- |" if fitted else ""),
    ]
    for r in real["series"]:
        lines.append(
            f"| {r['series']} ({r['about']}) | {r['season'] or '-'} | {r['model']:.2f}x | 1.00x | "
            f"{r['seasonal_naive']:.2f}x |" + (f" {r['holt_winters']:.2f}x |" if fitted else "")
        )
    lines.append(
        "\nmodel vs seasonal naive: geometric mean "
        f"{real['geometric_mean_vs_seasonal_naive']:.2f}x, "
        f"better on {real['share_better_than_seasonal_naive']:.0%} of series, worst "
        f"{real['worst_vs_naive']:.2f}x naive"
    )
    return "\n".join(lines)
