"""The report's ``capacity`` section, and the ``pagedoctor.report/1`` document that holds it.

Plain data, built once: the terminal table and ``--json`` both read it, so they cannot
disagree. The shape is documented in docs/report-schema.md and docs/capacity.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pagedoctor
from pagedoctor.capacity.model import (
    PeakModel,
    headroom,
    naive_required_rps,
    naive_views_per_day,
)
from pagedoctor.capacity.pages import fixed_twins
from pagedoctor.capacity.ramp import MAX_ERROR_RATE, PageCapacity
from pagedoctor.capacity.wrk import Step


@dataclass(frozen=True)
class RunInfo:
    """How the pages were measured: the server, the load generator, the bounds."""

    server: str  # e.g. "gunicorn 27.0.1"
    workers: int
    host: str
    load_generator: str  # e.g. "wrk debian/4.1.0-3+b2"
    step_seconds: int
    warmup_seconds: int
    max_concurrency: int
    timeout_seconds: int
    time_limit_seconds: int
    elapsed_seconds: float


def capacity_section(
    pages: list[PageCapacity],
    *,
    unmeasured: list[str],
    model: PeakModel,
    target_views_per_day: int,
    p95_ms: float,
    run: RunInfo,
) -> dict[str, Any]:
    """Return the ``capacity`` section for the measured ``pages``."""
    measured = [page.url for page in pages]
    by_url = {page.url: page for page in pages}
    return {
        "target": {
            "p95_ms": p95_ms,
            "views_per_day": target_views_per_day,
            "max_error_rate": MAX_ERROR_RATE,
        },
        "model": {
            "peak_hour_percent": model.peak_hour_percent,
            "burst": model.burst,
            "peak_factor": round(model.peak_factor, 3),
            "required_rps": round(model.required_rps(target_views_per_day), 3),
            "naive_required_rps": round(naive_required_rps(target_views_per_day), 3),
        },
        "run": {
            "server": run.server,
            "workers": run.workers,
            "host": run.host,
            "load_generator": run.load_generator,
            "step_seconds": run.step_seconds,
            "warmup_seconds": run.warmup_seconds,
            "max_concurrency": run.max_concurrency,
            "timeout_seconds": run.timeout_seconds,
            "time_limit_seconds": run.time_limit_seconds,
            "elapsed_seconds": round(run.elapsed_seconds, 1),
            "cores": os.cpu_count(),
        },
        "pages": [_page(page, model, target_views_per_day) for page in pages],
        "unmeasured": list(unmeasured),
        "pairs": [_pair(by_url[slow], by_url[fixed]) for slow, fixed in fixed_twins(measured)],
    }


def _page(page: PageCapacity, model: PeakModel, target: int) -> dict[str, Any]:
    best = page.best
    rps = best.rps if best else 0.0
    naive, peak = naive_views_per_day(rps), model.views_per_day(rps)
    return {
        "url": page.url,
        "complete": page.complete,
        "best": _step(best) if best else None,
        "rps": round(rps, 1),
        "views_per_day": {"naive": int(naive), "peak": int(peak)},
        "headroom": {
            "naive": round(headroom(naive, target), 2),
            "peak": round(headroom(peak, target), 2),
        },
        "steps": [_step(step) for step in page.steps],
    }


def _step(step: Step) -> dict[str, Any]:
    # With no request answered there are no latencies: null, not a flattering 0.
    answered = step.requests > 0
    return {
        "concurrency": step.concurrency,
        "requests": step.requests,
        "seconds": round(step.seconds, 3),
        "rps": round(step.rps, 1),
        "p50_ms": round(step.p50_ms, 1) if answered else None,
        "p95_ms": round(step.p95_ms, 1) if answered else None,
        "p99_ms": round(step.p99_ms, 1) if answered else None,
        "max_ms": round(step.max_ms, 1) if answered else None,
        "errors": step.errors,
        "timeouts": step.timeouts,
    }


def _pair(slow: PageCapacity, fixed: PageCapacity) -> dict[str, Any]:
    slow_rps = slow.best.rps if slow.best else 0.0
    fixed_rps = fixed.best.rps if fixed.best else 0.0
    return {
        "slow": slow.url,
        "fixed": fixed.url,
        # None when the slow page met the target at no rate: no finite ratio exists.
        "rps_ratio": round(fixed_rps / slow_rps, 2) if slow_rps else None,
    }


def capacity_report(site: dict[str, str], section: dict[str, Any]) -> dict[str, Any]:
    """Return a ``pagedoctor.report/1`` document whose only news is its ``capacity`` section."""
    from pagedoctor.report.json import SCHEMA

    return {
        "schema": SCHEMA,
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "pagedoctor": pagedoctor.__version__,
        "site": dict(site),
        "pages": [],
        "findings": [],
        "capacity": section,
    }
