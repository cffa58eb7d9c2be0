"""Ramp the load on one page: 1, 2, 4 … connections until its latency target is missed.

In a closed loop more connections raise the rate until the server is saturated, then only the
waiting; the first step whose p95 is over the target (or whose requests fail) ends the ramp,
and the best step is the fastest one that met the target.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pagedoctor.capacity.wrk import Step

# A step may lose at most this share of its requests (errors, timeouts) and still count.
MAX_ERROR_RATE = 0.01

RunStep = Callable[[int, int], Step]  # (concurrency, seconds) -> Step


@dataclass(frozen=True)
class RampOptions:
    """The latency target and the bounds of one page's ramp."""

    p95_ms: float = 500.0
    seconds: int = 2  # per step
    max_concurrency: int = 16
    warmup_seconds: int = 1
    warmup_concurrency: int = 1
    timeout_seconds: int = 2  # wrk's: a request not answered by then has failed


@dataclass
class PageCapacity:
    """The steps measured on one page, and the best one that met the target."""

    url: str
    p95_ms: float
    steps: list[Step] = field(default_factory=list)
    complete: bool = False  # False: the time limit ended the ramp early

    @property
    def best(self) -> Step | None:
        """Return the step with the highest rate among those that met the target."""
        passed = [step for step in self.steps if meets_target(step, self.p95_ms)]
        return max(passed, key=lambda step: step.rps, default=None)


def meets_target(step: Step, p95_ms: float) -> bool:
    """Return whether ``step`` answered requests, fast enough at p95, and almost all of them."""
    return step.requests > 0 and step.p95_ms <= p95_ms and step.error_rate <= MAX_ERROR_RATE


def concurrency_steps(max_concurrency: int) -> list[int]:
    """Return 1, 2, 4 … up to ``max_concurrency``, which is always the last step."""
    steps = []
    concurrency = 1
    while concurrency < max_concurrency:
        steps.append(concurrency)
        concurrency *= 2
    return [*steps, max_concurrency]


def ramp(
    url: str,
    run_step: RunStep,
    options: RampOptions,
    *,
    deadline: float,
    progress: Callable[[Step], None] = lambda step: None,
) -> PageCapacity:
    """Warm the page up, then measure step after step until the target is missed.

    No step starts that could not end before ``deadline`` (a ``time.monotonic()`` value).
    """
    page = PageCapacity(url=url, p95_ms=options.p95_ms)
    if options.warmup_seconds and _fits(options.warmup_seconds + options.seconds, deadline):
        # Not measured: fills each worker's caches and connections, as on a live site.
        _settle(run_step(options.warmup_concurrency, options.warmup_seconds), options)
    for concurrency in concurrency_steps(options.max_concurrency):
        if not _fits(options.seconds, deadline):
            return page
        step = run_step(concurrency, options.seconds)
        page.steps.append(step)
        progress(step)
        if not meets_target(step, options.p95_ms):
            break
        _settle(step, options)
    page.complete = True
    return page


def _settle(step: Step, options: RampOptions) -> None:
    """Wait for the requests wrk left unanswered at the step's end to finish.

    They would slow the next step down. Each takes about as long as the step's slowest answer;
    with no answer at all, wait as long as a request may take.
    """
    seconds = step.max_ms / 1000 if step.requests else options.timeout_seconds
    time.sleep(min(seconds, options.timeout_seconds))


def _fits(seconds: float, deadline: float) -> bool:
    # A step overruns its duration a little (connecting, wrk's start-up and summary).
    return time.monotonic() + seconds + 1.0 <= deadline
