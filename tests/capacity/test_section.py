"""The report's capacity section, and its table, from measured steps."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from pagedoctor.capacity.model import PeakModel
from pagedoctor.capacity.ramp import PageCapacity
from pagedoctor.capacity.section import RunInfo, capacity_report, capacity_section
from pagedoctor.capacity.terminal import render_capacity
from pagedoctor.capacity.wrk import Step

RUN = RunInfo(
    server="gunicorn 23.0.0",
    workers=5,
    host="127.0.0.1",
    load_generator="wrk 4.1.0",
    step_seconds=2,
    warmup_seconds=1,
    max_concurrency=16,
    timeout_seconds=2,
    time_limit_seconds=300,
    elapsed_seconds=12.34,
)


def step(concurrency: int, requests: int, p95_ms: float) -> Step:
    return Step(
        concurrency=concurrency,
        requests=requests,
        seconds=2.0,
        p50_ms=p95_ms / 2,
        p95_ms=p95_ms,
        p99_ms=p95_ms,
        max_ms=p95_ms,
        bad_status=0,
        socket_errors=0,
        timeouts=0,
    )


def pages() -> list[PageCapacity]:
    slow = PageCapacity("/pizzas/", 500, [step(1, 40, 80), step(2, 60, 190), step(4, 50, 900)])
    fixed = PageCapacity("/fixed/pizzas/", 500, [step(1, 200, 20), step(2, 300, 40)])
    never = PageCapacity("/report/", 500, [step(1, 0, 0)])
    for page in (slow, fixed, never):
        page.complete = True
    return [slow, fixed, never]


def section(model: PeakModel | None = None) -> dict[str, object]:
    return capacity_section(
        pages(),
        unmeasured=["/fixed/report/"],
        model=model or PeakModel(),
        target_views_per_day=100_000,
        p95_ms=500,
        run=RUN,
    )


def test_each_page_is_its_best_rate_as_views_a_day() -> None:
    model = PeakModel(peak_hour_percent=20, burst=2)
    data = section(model)
    slow, fixed, never = data["pages"]  # type: ignore[misc]
    # /pizzas/: 60 requests in 2 s at 2 connections is the best rate that met p95 <= 500 ms.
    assert slow["rps"] == 30.0
    assert slow["best"]["concurrency"] == 2
    assert slow["views_per_day"] == {"naive": 30 * 86_400, "peak": int(model.views_per_day(30))}
    assert slow["headroom"]["naive"] == pytest.approx(30 * 86_400 / 100_000, abs=0.01)
    assert fixed["rps"] == 150.0
    assert never["best"] is None
    assert never["views_per_day"] == {"naive": 0, "peak": 0}
    # No answer in the step: no latency to report, rather than a flattering 0.
    assert never["steps"][0]["p95_ms"] is None


def test_the_section_states_its_model_target_and_bounds() -> None:
    data = section()
    assert data["model"] == {
        "peak_hour_percent": 10.0,
        "burst": 3.0,
        "peak_factor": 7.2,
        "required_rps": 8.333,
        "naive_required_rps": 1.157,
    }
    assert data["target"] == {"p95_ms": 500, "views_per_day": 100_000, "max_error_rate": 0.01}
    assert data["run"]["load_generator"] == "wrk 4.1.0"  # type: ignore[index]
    assert data["unmeasured"] == ["/fixed/report/"]
    assert data["pairs"] == [{"slow": "/pizzas/", "fixed": "/fixed/pizzas/", "rps_ratio": 5.0}]


def test_the_report_is_a_report_1_document_with_the_section_added() -> None:
    site = {"settings": "x.settings", "database": "sqlite", "cache": "locmem"}
    report = capacity_report(site, section())
    assert report["schema"] == "pagedoctor.report/1"
    assert report["site"] == site
    assert report["pages"] == []
    assert report["findings"] == []
    assert json.loads(json.dumps(report))["capacity"]["pages"][0]["url"] == "/pizzas/"


def test_the_table_shows_pages_twins_and_the_model() -> None:
    out = io.StringIO()
    render_capacity(section(), console=Console(file=out, width=120))
    text = out.getvalue()
    assert "Capacity at p95 <= 500 ms" in text
    assert "/fixed/pizzas/" in text
    assert "5.0x" in text  # the fixed twin's gain
    assert "8.333 req/s" in text
    assert "1.157 req/s" in text
    assert "Not measured (time limit): /fixed/report/" in text
    report_row = next(line for line in text.splitlines() if line.strip().startswith("/report/"))
    assert "none" in report_row
    assert ">2,000" in report_row
