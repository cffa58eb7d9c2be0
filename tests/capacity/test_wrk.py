"""wrk against a real gunicorn: what one step measures, and how failures are counted."""

from __future__ import annotations

import socket

import pytest

from pagedoctor.capacity.errors import LoadError
from pagedoctor.capacity.server import Server
from pagedoctor.capacity.wrk import run_step, wrk_version
from tests.capacity.conftest import only_once_per_matrix

pytestmark = only_once_per_matrix


def test_a_step_measures_rate_and_latency(wrk: str, demo_server: Server) -> None:
    step = run_step(
        wrk, demo_server.base_url + "/fixed/", concurrency=2, seconds=1, timeout_seconds=2
    )
    assert step.concurrency == 2
    assert step.requests > 0
    assert step.seconds == pytest.approx(1.0, abs=0.5)
    assert step.rps == pytest.approx(step.requests / step.seconds)
    assert 0 < step.p50_ms <= step.p95_ms <= step.p99_ms <= step.max_ms
    # A sync gunicorn worker closes each connection after answering; wrk must not count that.
    assert step.errors == 0
    assert step.error_rate == 0


def test_error_pages_count_as_failed_requests(wrk: str, demo_server: Server) -> None:
    step = run_step(
        wrk, demo_server.base_url + "/no-such-page/", concurrency=1, seconds=1, timeout_seconds=2
    )
    assert step.requests > 0
    assert step.bad_status == step.requests
    assert step.error_rate == 1.0


def test_a_server_that_is_not_there_is_a_clear_error(wrk: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free once the socket closes: nobody listens there
    with pytest.raises(LoadError, match=f"wrk could not load http://127.0.0.1:{port}/: .*refused"):
        run_step(wrk, f"http://127.0.0.1:{port}/", concurrency=1, seconds=1, timeout_seconds=1)


def test_the_version_names_wrk(wrk: str) -> None:
    assert wrk_version(wrk).startswith("wrk ")
