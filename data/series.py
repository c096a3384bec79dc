"""The chapter's synthetic daily series: trend + yearly seasonality + Gaussian noise.

The parameters are those of the chapter, so the numbers on the forecasting page can be compared
with the original text. The seasonal shape is evaluated only where it is used, so no branch of
it can overflow (the original evaluated `exp` on every element of both branches).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DAYS = 4 * 365 + 1
PERIOD = 365
BASELINE = 10.0
SLOPE = 0.05
AMPLITUDE = 40.0
NOISE_LEVEL = 5.0
SEED = 42
SPLIT_TIME = 1100


@dataclass(frozen=True)
class Series:
    """A series with its time index, and the noise-free signal it was drawn from."""

    time: np.ndarray
    values: np.ndarray
    signal: np.ndarray
    noise_level: float


def seasonal_pattern(season_time: np.ndarray) -> np.ndarray:
    """One season's shape: a cosine for the first 40 % of the period, then an exponential decay.

    `season_time` is the phase in [0, 1). Each branch is computed only on its own elements.
    """
    season_time = np.asarray(season_time, dtype="float64")
    out = np.empty_like(season_time)
    rising = season_time < 0.4
    out[rising] = np.cos(season_time[rising] * 2 * np.pi)
    out[~rising] = np.exp(-3 * season_time[~rising])
    return out


def synthetic_series(
    days: int = DAYS,
    *,
    baseline: float = BASELINE,
    slope: float = SLOPE,
    amplitude: float = AMPLITUDE,
    period: int = PERIOD,
    noise_level: float = NOISE_LEVEL,
    seed: int = SEED,
) -> Series:
    """The chapter's series, reproducible for a given seed (float64 throughout)."""
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    time = np.arange(days, dtype="float64")
    signal = baseline + slope * time + amplitude * seasonal_pattern((time % period) / period)
    # the chapter draws its noise with the legacy generator; keep it so the series is the same
    noise = np.random.RandomState(seed).standard_normal(days) * noise_level
    return Series(time=time, values=signal + noise, signal=signal, noise_level=noise_level)


def noise_floor_mae(noise_level: float = NOISE_LEVEL) -> float:
    """The smallest expected MAE any forecaster can reach: E|ε| = σ·√(2/π) for ε ~ N(0, σ²)."""
    return noise_level * float(np.sqrt(2 / np.pi))
