"""Time series: seed 003's generator, the split, the baselines and input checking.
numpy only, so serving needs no torch.

A series is a sum of two sines with random frequencies and phases plus uniform noise,
sampled at ``steps`` points of t in [0, 1]; models read the first ``history`` values and
forecast what follows.

"Seed NNN" names one of the five tutorials the project follows: see docs/tutorials.md.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from dataclasses import dataclass

import numpy as np

from .errors import EmptyInputError, InvalidInputError

HISTORY = 50  # input steps in the seed's setting
SPLIT = (7000, 2000, 1000)  # train, validation, test
MIN_LENGTH, MAX_LENGTH = 10, 10_000
# The generator's values never leave +-(0.5 + 0.2 + 0.05): the range the forecasters learnt.
GENERATOR_BOUND = 0.75


def generate(count: int, steps: int, seed: int = 0) -> np.ndarray:
    """``count`` series of ``steps`` values, float32 (count, steps), as seed 003 makes them:
    0.5 sin((t - o1)(10 f1 + 10)) + 0.2 sin((t - o2)(20 f2 + 20)) + 0.1 (U[0,1) - 0.5)."""
    rng = np.random.default_rng(seed)
    freq1, freq2, offset1, offset2 = rng.random((4, count, 1))
    t = np.linspace(0, 1, steps)
    series = 0.5 * np.sin((t - offset1) * (freq1 * 10 + 10))
    series += 0.2 * np.sin((t - offset2) * (freq2 * 20 + 20))
    series += 0.1 * (rng.random((count, steps)) - 0.5)
    return series.astype(np.float32)


@dataclass(frozen=True)
class Split:
    """Inputs (n, history) and targets (n, horizon) of one split."""

    inputs: np.ndarray
    targets: np.ndarray


def make_splits(horizon: int, seed: int = 0, count: int = sum(SPLIT)) -> dict[str, Split]:
    """The seed's data for a ``horizon``-step job: ``count`` series of 50 + horizon steps,
    split 70/20/10 % into train, validation and test."""
    series = generate(count, HISTORY + horizon, seed)
    ends = np.cumsum(SPLIT) * count // sum(SPLIT)
    parts = np.split(series, ends[:-1])
    return {
        name: Split(part[:, :HISTORY], part[:, HISTORY:])
        for name, part in zip(("train", "val", "test"), parts, strict=True)
    }


def naive(inputs: np.ndarray, steps: int) -> np.ndarray:
    """The last value, repeated: what any forecaster must beat."""
    return np.repeat(inputs[:, -1:], steps, axis=1)


def fit_linear(inputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Least squares from the last ``history`` values (and a bias) to the targets:
    weights (history + 1, horizon)."""
    design = np.hstack([inputs, np.ones((len(inputs), 1), inputs.dtype)])
    weights, *_ = np.linalg.lstsq(design, targets, rcond=None)
    return weights.astype(np.float32)


def linear(inputs: np.ndarray, weights: np.ndarray) -> np.ndarray:
    history = weights.shape[0] - 1
    window = inputs[:, -history:]
    return window @ weights[:-1] + weights[-1]


def check_values(values, min_length: int = MIN_LENGTH, max_length: int = MAX_LENGTH) -> np.ndarray:
    """A 1-D float32 series of a length a model can read, or a clear error."""
    if isinstance(values, str):
        values = parse_numbers(values)
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInputError("a series must be a list of numbers") from None
    if array.ndim == 2 and 1 in array.shape:
        array = array.ravel()
    if array.ndim != 1:
        raise InvalidInputError(f"a series must be one-dimensional; got shape {array.shape}")
    if array.size == 0:
        raise EmptyInputError("the series is empty")
    if not np.isfinite(array).all():
        bad = int(np.flatnonzero(~np.isfinite(array))[0])
        raise InvalidInputError(f"value {bad + 1} of the series is not a finite number")
    if array.size < min_length:
        raise InvalidInputError(
            f"the series has {array.size} values; at least {min_length} are needed"
        )
    if array.size > max_length:
        raise InvalidInputError(f"the series has {array.size} values; at most {max_length}")
    return array.astype(np.float32)


def outside_learnt_range(values: np.ndarray, margin: float = 1.5) -> str | None:
    """A warning when ``values`` go well beyond the generator's range (a price, a
    temperature): the forecasters never saw such values, and their forecast is not to be
    trusted there. None for a series of the generator's kind."""
    low, high = float(np.min(values)), float(np.max(values))
    if max(abs(low), abs(high)) <= margin * GENERATOR_BOUND:
        return None
    return (
        f"these values run from {low:.4g} to {high:.4g}; the forecaster and the linear "
        f"baseline learnt seed 003's series, which stay within +-{GENERATOR_BOUND}, so "
        "their forecasts here are guesses (the naive one holds on any scale)"
    )


_SEPARATORS = re.compile(r"[\s,;]+")


MAX_TEXT = 500_000  # ample for 10,000 values written out in full
_NUMBER_RUNS = re.compile(rb"[0-9.eE+-]+")


def bounded_text(data: bytes | str) -> str:
    """A series' text, refused before any parsing when it is longer than :data:`MAX_TEXT`:
    memory stays bounded, and so do the CSV reader's fields."""
    if len(data) > MAX_TEXT:
        raise InvalidInputError(
            f"the series text is {len(data):,} characters; at most {MAX_TEXT:,} are read"
        )
    return data.decode("utf-8-sig", errors="replace") if isinstance(data, bytes) else data


def parse_numbers(text: str) -> np.ndarray:
    """Numbers separated by commas, semicolons, spaces or new lines."""
    text = bounded_text(text)
    tokens = [t for t in _SEPARATORS.split(text.strip()) if t]
    if not tokens:
        raise EmptyInputError("no numbers given")
    values = []
    for position, token in enumerate(tokens, start=1):
        try:
            values.append(float(token))
        except ValueError:
            raise InvalidInputError(f"item {position}, {token[:20]!r}, is not a number") from None
    return np.array(values)


def count_values(data: bytes) -> int:
    """How many numbers a series sent as text holds at most (its runs of number
    characters), counted without parsing any: what its forecast will read, known early."""
    return len(_NUMBER_RUNS.findall(data[: MAX_TEXT + 1]))


def read_csv_column(data: bytes | str) -> np.ndarray:
    """The numbers of a one-column CSV (a header line is skipped)."""
    text = bounded_text(data)
    try:
        rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    except csv.Error as err:  # a field longer than the reader takes, a stray NUL
        raise InvalidInputError(f"the CSV file cannot be read: {err}") from None
    if not rows:
        raise EmptyInputError("the CSV file is empty")
    if any(len([c for c in row if c.strip()]) > 1 for row in rows):
        raise InvalidInputError("the CSV file must have one column of numbers")
    cells = [next(c for c in row if c.strip()).strip() for row in rows]
    try:
        float(cells[0])
    except ValueError:
        cells = cells[1:]  # a header
    return parse_numbers("\n".join(cells)) if cells else parse_numbers("")


def parse_series(data: bytes | str) -> np.ndarray:
    """A series sent as text: numbers separated by commas, spaces or new lines, a one-column
    CSV (with or without a header), or a JSON list of numbers (what a forecast's JSON is)."""
    text = bounded_text(data)
    if text.lstrip().startswith("["):
        return parse_json_list(text)
    try:
        return parse_numbers(text)
    except InvalidInputError as first:
        try:
            return read_csv_column(text)
        except InvalidInputError:
            raise first from None


def parse_json_list(text: str) -> np.ndarray:
    """A JSON list of numbers, e.g. ``[0.1, 0.25]``."""
    if len(text) > MAX_TEXT:  # refused before parsing: memory stays bounded
        raise InvalidInputError(
            f"the series text is {len(text):,} characters; at most {MAX_TEXT:,} are read"
        )
    try:
        values = json.loads(text)
    except (ValueError, RecursionError):  # lists nested past Python's depth: no series
        raise InvalidInputError("the series starts as JSON but is not JSON") from None
    numbers = isinstance(values, list) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
    )
    if not numbers:
        raise InvalidInputError("a series sent as JSON must be one list of numbers")
    if not values:
        raise EmptyInputError("no numbers given")
    return np.array(values, dtype=np.float64)


def read_series_file(path: str | os.PathLike) -> np.ndarray:
    """A series from a text or CSV file (:func:`parse_series`); named by its base name only
    in errors."""
    name = os.path.basename(path)
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_TEXT + 1)
    except OSError as err:
        raise InvalidInputError(f"{name} cannot be read: {err.strerror or 'not a file'}") from None
    try:
        return parse_series(data)
    except InvalidInputError as err:
        raise type(err)(f"{name}: {err}") from None


_linear_cache: dict[tuple[int, int], np.ndarray] = {}


def linear_baseline(values: np.ndarray, steps: int) -> np.ndarray:
    """The least-squares linear forecaster of the generator's training split, on the last
    min(50, len) values of one series; fitted once per window and horizon (milliseconds)."""
    window = min(HISTORY, len(values))
    if (window, steps) not in _linear_cache:
        train = make_splits(steps)["train"]
        _linear_cache[window, steps] = fit_linear(train.inputs[:, -window:], train.targets)
    return linear(np.asarray(values, np.float32)[None, -window:], _linear_cache[window, steps])[0]
