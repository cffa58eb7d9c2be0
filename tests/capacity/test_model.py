from __future__ import annotations

import pytest

from pagedoctor.capacity.errors import CapacityError
from pagedoctor.capacity.model import (
    PeakModel,
    headroom,
    naive_required_rps,
    naive_views_per_day,
)


def test_the_talks_arithmetic_is_the_naive_one() -> None:
    # 100,000 views a day spread over 86,400 seconds: the talk's "1.2 a second".
    assert naive_required_rps(100_000) == pytest.approx(1.1574, abs=1e-4)
    assert naive_views_per_day(1.0) == 86_400


def test_the_peak_model_needs_the_busiest_moments_rate() -> None:
    model = PeakModel(peak_hour_percent=10, burst=3)
    # 10,000 views in the peak hour is 2.78/s on average there, bursting to 8.33/s.
    assert model.required_rps(100_000) == pytest.approx(8.3333, abs=1e-4)
    assert model.peak_factor == pytest.approx(7.2)
    assert model.required_rps(100_000) == pytest.approx(
        naive_required_rps(100_000) * model.peak_factor
    )


@pytest.mark.parametrize(("percent", "burst"), [(10, 3), (100 / 24, 1), (25, 2.5), (100, 10)])
def test_views_per_day_and_required_rate_are_inverses(percent: float, burst: float) -> None:
    model = PeakModel(peak_hour_percent=percent, burst=burst)
    assert model.views_per_day(model.required_rps(123_456)) == pytest.approx(123_456)


def test_an_even_day_without_bursts_is_the_naive_model() -> None:
    even = PeakModel(peak_hour_percent=100 / 24, burst=1)
    assert even.views_per_day(5.0) == pytest.approx(naive_views_per_day(5.0))


def test_headroom_is_capacity_over_target() -> None:
    assert headroom(250_000, 100_000) == 2.5
    assert headroom(50_000, 100_000) == 0.5


@pytest.mark.parametrize(
    ("percent", "burst", "message"),
    [
        (3, 3, "--peak-hour-percent must be between 4.17 \\(an even day\\) and 100"),
        (101, 3, "--peak-hour-percent must be between"),
        (10, 0.5, "--burst must be at least 1"),
    ],
)
def test_an_impossible_model_is_refused(percent: float, burst: float, message: str) -> None:
    with pytest.raises(CapacityError, match=message):
        PeakModel(peak_hour_percent=percent, burst=burst)
