"""The synthetic series: the chapter's parameters, reproducible, and free of warnings."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from course_data import noise_floor_mae, synthetic_series
from course_data.series import seasonal_pattern


def test_series_is_reproducible_and_float64():
    a, b = synthetic_series(), synthetic_series()
    assert a.values.dtype == np.float64
    assert len(a.values) == 4 * 365 + 1
    np.testing.assert_array_equal(a.values, b.values)


def test_series_makes_no_numerical_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        synthetic_series(days=100_000)


def test_noise_is_the_difference_between_values_and_signal():
    s = synthetic_series()
    residual = s.values - s.signal
    assert residual.std() == pytest.approx(5.0, rel=0.05)
    assert np.abs(residual).mean() == pytest.approx(noise_floor_mae(), rel=0.05)


def test_noise_floor_is_sigma_sqrt_two_over_pi():
    assert noise_floor_mae(5.0) == pytest.approx(3.9894, abs=1e-4)


def test_seasonal_pattern_is_continuous_at_period_start_and_decays():
    phase = np.linspace(0, 0.999, 1000)
    shape = seasonal_pattern(phase)
    assert shape[0] == pytest.approx(1.0)
    assert shape[-1] == pytest.approx(np.exp(-3 * 0.999))
    assert np.all(np.diff(shape[phase >= 0.4]) < 0)


def test_zero_days_is_refused():
    with pytest.raises(ValueError, match="days must be at least 1"):
        synthetic_series(days=0)
