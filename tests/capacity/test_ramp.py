"""The ramp: 1, 2, 4 … connections, stopped by the latency target, errors or the time limit."""

from __future__ import annotations

import time

import pytest

from pagedoctor.capacity.ramp import RampOptions, RunStep, concurrency_steps, meets_target, ramp
from pagedoctor.capacity.server import Server
from pagedoctor.capacity.wrk import Step, run_step
from tests.capacity.conftest import only_once_per_matrix


def make_step(*, requests: int = 100, p95_ms: float = 50.0, errors: int = 0) -> Step:
    return Step(
        concurrency=1,
        requests=requests,
        seconds=1.0,
        p50_ms=p95_ms / 2,
        p95_ms=p95_ms,
        p99_ms=p95_ms,
        max_ms=p95_ms,
        bad_status=errors,
        socket_errors=0,
        timeouts=0,
    )


@pytest.mark.parametrize(
    ("limit", "steps"),
    [(1, [1]), (2, [1, 2]), (16, [1, 2, 4, 8, 16]), (12, [1, 2, 4, 8, 12])],
)
def test_concurrency_doubles_up_to_the_limit(limit: int, steps: list[int]) -> None:
    assert concurrency_steps(limit) == steps


def test_a_step_meets_the_target_only_fast_answered_and_almost_error_free() -> None:
    assert meets_target(make_step(p95_ms=500), 500)
    assert not meets_target(make_step(p95_ms=501), 500)
    assert not meets_target(make_step(requests=0, p95_ms=0), 500)  # nothing came back
    assert meets_target(make_step(requests=100, errors=1), 500)  # 1%: tolerated
    assert not meets_target(make_step(requests=100, errors=2), 500)


def _runner(wrk: str, server: Server, path: str) -> RunStep:
    def step(concurrency: int, seconds: int) -> Step:
        return run_step(
            wrk, server.base_url + path, concurrency=concurrency, seconds=seconds, timeout_seconds=2
        )

    return step


@only_once_per_matrix
def test_the_ramp_climbs_while_the_target_is_met(wrk: str, demo_server: Server) -> None:
    options = RampOptions(p95_ms=60_000, seconds=1, max_concurrency=2, warmup_seconds=0)
    page = ramp(
        "/fixed/", _runner(wrk, demo_server, "/fixed/"), options, deadline=time.monotonic() + 60
    )
    assert [step.concurrency for step in page.steps] == [1, 2]
    assert page.complete
    assert page.best is max(page.steps, key=lambda step: step.rps)


@only_once_per_matrix
def test_the_first_step_over_the_target_ends_the_ramp(wrk: str, demo_server: Server) -> None:
    options = RampOptions(p95_ms=0.001, seconds=1, max_concurrency=16, warmup_seconds=0)
    page = ramp(
        "/pizzas/", _runner(wrk, demo_server, "/pizzas/"), options, deadline=time.monotonic() + 60
    )
    assert [step.concurrency for step in page.steps] == [1]
    assert page.steps[0].requests > 0
    assert page.complete
    assert page.best is None


@only_once_per_matrix
def test_no_step_starts_that_would_end_after_the_deadline(wrk: str, demo_server: Server) -> None:
    options = RampOptions(p95_ms=60_000, seconds=1, max_concurrency=2, warmup_seconds=1)
    started = time.monotonic()
    page = ramp("/", _runner(wrk, demo_server, "/"), options, deadline=started + 1.5)
    assert page.steps == []
    assert not page.complete
    assert time.monotonic() - started < 1.0  # not even the warm-up ran
