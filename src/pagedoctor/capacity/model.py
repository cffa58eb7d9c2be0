"""Requests per second <-> views per day, naively and under a peak model.

Naive: a day's views spread evenly over its 86,400 seconds, so 100,000 views a day is 1.16
requests a second. Sites are never that even, so the peak model says how traffic bunches up:

- ``peak_hour_percent``: the share of the day's views that arrive in its busiest hour
  (an even day gives every hour 100 / 24 = 4.17 %);
- ``burst``: how many times that hour's average rate the busiest moments reach.

The server must keep up with the busiest moments, so the rate it must sustain for V views a
day is ``V * peak_hour_percent / 100 / 3600 * burst``, and a server that sustains R requests a
second serves ``R * 3600 * 100 / (peak_hour_percent * burst)`` views a day. A view is one
request of the measured page; static files are assumed to be served by something else.
"""

from __future__ import annotations

from dataclasses import dataclass

from pagedoctor.capacity.errors import CapacityError

SECONDS_PER_DAY = 86_400
SECONDS_PER_HOUR = 3_600
EVEN_HOUR_PERCENT = 100 / 24


@dataclass(frozen=True)
class PeakModel:
    """How a day's views bunch up: the busiest hour's share of them, and bursts within it."""

    peak_hour_percent: float = 10.0
    burst: float = 3.0

    def __post_init__(self) -> None:
        if not EVEN_HOUR_PERCENT <= self.peak_hour_percent <= 100:
            raise CapacityError(
                f"--peak-hour-percent must be between {EVEN_HOUR_PERCENT:.2f} (an even day) and "
                f"100 (the whole day in one hour), got {self.peak_hour_percent:g}"
            )
        if self.burst < 1:
            raise CapacityError(
                f"--burst must be at least 1 (the peak hour's own average), got {self.burst:g}"
            )

    @property
    def peak_factor(self) -> float:
        """Return how many times the day's average rate the busiest moments reach."""
        return self.peak_hour_percent / EVEN_HOUR_PERCENT * self.burst

    def required_rps(self, views_per_day: float) -> float:
        """Return the requests per second needed to serve ``views_per_day`` at its peaks."""
        return views_per_day * self.peak_hour_percent / 100 / SECONDS_PER_HOUR * self.burst

    def views_per_day(self, rps: float) -> float:
        """Return the views a day whose peaks a server sustaining ``rps`` keeps up with."""
        return rps * SECONDS_PER_HOUR * 100 / (self.peak_hour_percent * self.burst)


def naive_required_rps(views_per_day: float) -> float:
    """Return the average requests per second of ``views_per_day`` spread evenly."""
    return views_per_day / SECONDS_PER_DAY


def naive_views_per_day(rps: float) -> float:
    """Return the views a day of ``rps`` requests a second kept up all day long."""
    return rps * SECONDS_PER_DAY


def headroom(views_per_day: float, target: float) -> float:
    """Return how many times ``target`` views a day the capacity covers (1.0: exactly)."""
    return views_per_day / target
