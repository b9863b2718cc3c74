"""Timing a call: durations after warm-up, their p50/p95, and batch-1 latency beside
batched throughput."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

IDLE_S = 0.5  # pause before timing an engine, longer than OpenMP's spin-wait (0.2 s)


def percentiles(seconds: Sequence[float]) -> dict[str, float]:
    """p50 and p95 of a list of durations, in milliseconds."""
    p50, p95 = np.percentile(np.asarray(seconds) * 1000, [50, 95])
    return {"p50_ms": round(float(p50), 3), "p95_ms": round(float(p95), 3)}


def latency_figures(latencies_ms: Sequence[float], most: bool = False) -> dict[str, float]:
    """p50 and p95 (with ``most``, the largest too) of latencies measured in milliseconds
    (a page's), to a tenth of one; none of them for no latencies."""
    if not latencies_ms:
        return {}
    p50, p95 = np.percentile(latencies_ms, [50, 95])
    figures = {"p50_ms": round(float(p50), 1), "p95_ms": round(float(p95), 1)}
    return figures | ({"max_ms": round(max(latencies_ms), 1)} if most else {})


def time_calls(call: Callable[[], Any], runs: int, warmup: int) -> list[float]:
    """Durations of ``runs`` calls, after ``warmup`` untimed ones."""
    for _ in range(warmup):
        call()
    durations = []
    for _ in range(runs):
        began = time.perf_counter()
        call()
        durations.append(time.perf_counter() - began)
    return durations


def measure(
    call: Callable[[Any], Any],
    one: tuple[np.ndarray, ...],
    many: tuple[np.ndarray, ...],
    runs: int,
    warmup: int,
) -> dict[str, float]:
    """Latency at batch 1 and items per second at the batch size of ``many`` (the graph's
    inputs, each of that batch)."""
    latency = percentiles(time_calls(lambda: call(one), runs, warmup))
    batch_runs = max(3, runs // 10)
    per_batch = np.median(time_calls(lambda: call(many), batch_runs, max(1, warmup // 10)))
    return {**latency, "batch_per_s": round(len(many[0]) / float(per_batch), 1)}
