"""A broad synthetic family of series for a forecaster that reads any series: trends
(straight, damped, bending), seasons of several periods, additive and multiplicative,
level shifts, autoregressive noise, random walks (drifting, with momentum in their steps,
sometimes growing geometrically, as economic series do), and Gaussian-process samples of
kernels combined at random in the manner of KernelSynth (Ansari et al., 2024, Chronos).
numpy only; seeded, so every run sees the same series.
"""

from __future__ import annotations

import numpy as np

LENGTH = 200  # values per series: a history long enough to find a season of up to 47
PERIODS = (4, 7, 12, 12, 13, 24, 52)  # the calendar's, and random ones beside them


def family(count: int, length: int = LENGTH, seed: int = 0) -> np.ndarray:
    """``count`` series (count, length), float64, shuffled: a third kernel mixtures (8
    samples of each mixture: a covariance costs far more than a sample), a quarter random
    walks, the rest built from parts. Without the walks a smooth kernel sample teaches
    that a run of rises goes on; on a walk it need not, and the last value is hard to beat."""
    rng = np.random.default_rng(seed)
    mixtures = -(-count // 24)
    walks = count // 4
    made = [kernel_synth(rng, length, 8) for _ in range(mixtures)]
    made += [walk(rng, length)[None] for _ in range(walks)]
    made += [structural(rng, length)[None] for _ in range(count - 8 * mixtures - walks)]
    return rng.permutation(np.concatenate(made))[:count]


def period(rng: np.random.Generator) -> int:
    return int(rng.choice(PERIODS)) if rng.random() < 0.6 else int(rng.integers(2, 40))


def ar_noise(rng: np.random.Generator, length: int) -> np.ndarray:
    """AR(2) noise of unit innovations, sometimes integrated (a random walk)."""
    phi1, phi2 = rng.uniform(-0.5, 0.95), rng.uniform(-0.3, 0.3) * (rng.random() < 0.3)
    if abs(phi1) + abs(phi2) >= 0.98:
        phi2 = 0.0
    e = rng.normal(size=length + 50)
    x = np.zeros_like(e)
    for i in range(2, len(e)):
        x[i] = phi1 * x[i - 1] + phi2 * x[i - 2] + e[i]
    x = x[50:]
    return np.cumsum(x) * 0.3 if rng.random() < 0.25 else x


def walk(rng: np.random.Generator, length: int) -> np.ndarray:
    """A random walk whose steps drift (or not) and follow an AR(1) (momentum, or its
    reverse), now and then with a weak season on top or growing geometrically."""
    phi = rng.uniform(-0.3, 0.8) if rng.random() < 0.7 else 0.0
    drift = rng.normal() * rng.choice([0.0, 0.1, 0.3, 1.0])
    e = rng.normal(size=length + 50)
    steps = np.zeros_like(e)
    for i in range(1, len(e)):
        steps[i] = phi * steps[i - 1] + e[i]
    values = np.cumsum(steps[50:] + drift)
    if rng.random() < 0.2:
        t = np.arange(length)
        values += values.std() * rng.uniform(0.05, 0.3) * np.sin(2 * np.pi * t / period(rng))
    if rng.random() < 0.3:  # growing by a share of itself, as money and prices do
        values = np.exp(values / max(1e-9, np.abs(values).max()) * rng.uniform(0.3, 2))
    return rng.normal() * 10 ** rng.uniform(-1, 3) + values * 10 ** rng.uniform(-1, 2)


def structural(rng: np.random.Generator, length: int) -> np.ndarray:
    """Level + trend + season + level shifts + noise, each present or not at random."""
    t = np.arange(length, dtype=np.float64)
    trend = np.zeros(length)
    if rng.random() < 0.6:
        slope = rng.normal() * rng.choice([0.005, 0.02, 0.05])
        if rng.random() < 0.3:  # damped: the slope fades
            trend = slope * (1 - rng.uniform(0.9, 0.995) ** t) / (1 - rng.uniform(0.9, 0.995))
        else:
            trend = slope * t
        if rng.random() < 0.2:  # the slope changes once
            bend = int(rng.integers(length // 4, length))
            trend[bend:] += rng.normal() * 0.03 * (t[bend:] - bend)
    season = np.zeros(length)
    if rng.random() < 0.6:
        p = period(rng)
        for k in range(1, int(rng.integers(1, 4)) + 1):
            season += rng.normal() / k * np.sin(2 * np.pi * k * t / p + rng.uniform(0, 2 * np.pi))
        season *= rng.uniform(0.3, 2.0) / max(1e-9, season.std())
    shifts = np.zeros(length)
    for _ in range(int(rng.random() < 0.2) + int(rng.random() < 0.05)):
        shifts[int(rng.integers(1, length)) :] += rng.normal() * 2
    noise = ar_noise(rng, length) * rng.choice([0.05, 0.2, 0.5, 1.0])
    if rng.random() < 0.3:  # multiplicative: the season and noise grow with the level
        level = np.exp(trend * 0.5 + shifts * 0.1)
        values = level * (1 + 0.3 * season / max(1.0, np.abs(season).max()) + 0.05 * noise)
    else:
        values = trend + season + shifts + noise
    return rng.normal() * 10 ** rng.uniform(-1, 3) + values * 10 ** rng.uniform(-1, 2)


def kernel_synth(rng: np.random.Generator, length: int, samples: int) -> np.ndarray:
    """``samples`` Gaussian-process samples (samples, length) of 1 to 3 kernels joined at
    random by + or *, each on its own level and scale."""
    t = np.linspace(0, 1, length)[:, None]
    gap = t - t.T

    def kernel() -> np.ndarray:
        kind = rng.integers(5)
        if kind == 0:  # smooth wiggles
            return np.exp(-0.5 * (gap / rng.choice([0.02, 0.05, 0.1, 0.3, 1.0])) ** 2)
        if kind == 1:  # a season
            p = period(rng) / length
            return np.exp(-2 * np.sin(np.pi * np.abs(gap) / p) ** 2 / rng.uniform(0.5, 2) ** 2)
        if kind == 2:  # a trend
            return (t - rng.uniform(-1, 1)) * (t.T - rng.uniform(-1, 1)) + 0.1
        if kind == 3:  # rational quadratic: wiggles of many lengths
            a, scale = rng.uniform(0.5, 2), rng.choice([0.05, 0.1, 0.3])
            return (1 + gap**2 / (2 * a * scale**2)) ** -a
        return np.eye(length) * rng.uniform(0.01, 0.3)  # white noise

    cov = kernel()
    for _ in range(int(rng.integers(0, 3))):
        cov = cov + kernel() if rng.random() < 0.5 else cov * kernel()
    cov += 1e-6 * np.eye(length)
    draws = rng.normal(size=(length, samples))
    try:
        made = (np.linalg.cholesky(cov) @ draws).T
    except np.linalg.LinAlgError:
        made = draws.T
    levels = rng.normal(size=(samples, 1)) * 10 ** rng.uniform(-1, 3, (samples, 1))
    return levels + made * 10 ** rng.uniform(-1, 2, (samples, 1))
