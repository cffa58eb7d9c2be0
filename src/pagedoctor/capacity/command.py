"""``pagedoctor capacity``: serve the site, ramp the load on each page, turn it into views a day."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from django.conf import settings
from django.db import connections
from rich.console import Console

from pagedoctor.capacity.errors import CapacityError
from pagedoctor.capacity.model import PeakModel
from pagedoctor.capacity.pages import choose_pages, loopback_host
from pagedoctor.capacity.ramp import PageCapacity, RampOptions, meets_target, ramp
from pagedoctor.capacity.section import RunInfo, capacity_report, capacity_section
from pagedoctor.capacity.server import (
    Server,
    ServerOptions,
    check_pages,
    default_workers,
    gunicorn_version,
    serve,
)
from pagedoctor.capacity.terminal import render_capacity
from pagedoctor.capacity.wrk import Step, find_wrk, run_step, wrk_version
from pagedoctor.cli import DEMO_SETTINGS


def run_capacity(options: dict[str, Any], *, stdout: TextIO) -> int:
    """Measure the pages ``options`` ask for; return 0 if each was measured in full, else 1."""
    console = Console(file=stdout, highlight=False)
    try:
        return _measure(options, console)
    except KeyboardInterrupt:
        console.print("Interrupted; the server was stopped.", markup=False)
        return 130


def _measure(options: dict[str, Any], console: Console) -> int:
    host = loopback_host(options.get("host") or "127.0.0.1")
    if options.get("json") and not Path(options["json"]).resolve().parent.is_dir():
        # Found out now, not after minutes of load.
        raise CapacityError(f"cannot write the report to {options['json']!r}: no such folder")
    model = PeakModel(
        peak_hour_percent=options.get("peak_hour_percent") or 10.0,
        burst=options.get("burst") or 3.0,
    )
    load = _Load(find_wrk(), _ramp_options(options))
    server = ServerOptions(
        settings_module=_settings_module(),
        host=host,
        port=options.get("port") or 0,
        workers=options.get("workers") or default_workers(),
    )
    server_version = gunicorn_version()
    urls = _pages(options, console, demo=server.settings_module == DEMO_SETTINGS)
    console.print(
        f"Measuring {len(urls)} pages of {server.settings_module} under gunicorn "
        f"({server.workers} workers) on {host}, with wrk …",
        markup=False,
    )
    started = time.monotonic()
    time_limit = options.get("time_limit") or 300
    pages = _measure_pages(urls, server, load, deadline=started + time_limit, console=console)
    run = RunInfo(
        server=f"gunicorn {server_version}",
        workers=server.workers,
        host=host,
        load_generator=wrk_version(load.wrk),
        step_seconds=load.ramp.seconds,
        warmup_seconds=load.ramp.warmup_seconds,
        max_concurrency=load.ramp.max_concurrency,
        timeout_seconds=load.ramp.timeout_seconds,
        time_limit_seconds=time_limit,
        elapsed_seconds=time.monotonic() - started,
    )
    unmeasured = urls[len(pages) :]
    section = capacity_section(
        pages,
        unmeasured=unmeasured,
        model=model,
        target_views_per_day=options.get("target_views_per_day") or 100_000,
        p95_ms=load.ramp.p95_ms,
        run=run,
    )
    render_capacity(section, console=console)
    if options.get("json"):
        from pagedoctor.audit.runner import site_info

        _write_json(options["json"], capacity_report(site_info(), section), console)
    return 0 if not unmeasured and all(page.complete for page in pages) else 1


def _ramp_options(options: dict[str, Any]) -> RampOptions:
    workers = options.get("workers") or default_workers()
    p95_ms = options.get("p95_ms") or 500.0
    return RampOptions(
        p95_ms=p95_ms,
        seconds=options.get("duration") or 2,
        max_concurrency=options.get("max_concurrency") or 16,
        warmup_seconds=options.get("warmup", 1),
        # As many connections as workers, so that every worker warms its own caches up.
        warmup_concurrency=workers,
        # Twice the target, so that a slow answer is measured rather than cut off.
        timeout_seconds=max(2, math.ceil(2 * p95_ms / 1000)),
    )


def _pages(options: dict[str, Any], console: Console, *, demo: bool) -> list[str]:
    """Return the pages to measure; prepare the demo shop's database when it is the site."""
    from pagedoctor.conf import conf

    urls = choose_pages(
        options.get("urls") or [],
        urls_file=options.get("urls_file"),
        demo=demo,
        audit_urls=conf.AUDIT_URLS,
    )
    if demo:
        from pagedoctor.audit.command import prepare_demo

        prepare_demo(console, products=options.get("products"))
        connections.close_all()  # the server's workers open their own
    if settings.DEBUG:
        console.print(
            "DEBUG is on: Django keeps every query in memory and renders errors in full, so "
            "these numbers are lower than production's.",
            markup=False,
        )
    return urls


@dataclass(frozen=True)
class _Load:
    """wrk, and how each step of a ramp runs it."""

    wrk: str
    ramp: RampOptions

    def step(self, url: str, concurrency: int, seconds: int) -> Step:
        return run_step(
            self.wrk,
            url,
            concurrency=concurrency,
            seconds=seconds,
            timeout_seconds=self.ramp.timeout_seconds,
        )


def _measure_pages(
    urls: list[str], server: ServerOptions, load: _Load, *, deadline: float, console: Console
) -> list[PageCapacity]:
    """Ramp the load on each page in turn, until the pages or the time run out."""
    pages: list[PageCapacity] = []
    for url in urls:
        if time.monotonic() + load.ramp.seconds + 3 > deadline:
            break
        # A fresh server per page: requests of the last page still running (wrk leaves some
        # behind at each step's end) must not slow the next page down.
        with serve(server) as running:
            if not pages:
                check_pages(running, urls)
            pages.append(_ramp_page(running, url, load, deadline=deadline, console=console))
    return pages


def _ramp_page(
    server: Server, url: str, load: _Load, *, deadline: float, console: Console
) -> PageCapacity:
    def step(concurrency: int, seconds: int) -> Step:
        return load.step(server.base_url + url, concurrency, seconds)

    return ramp(
        url, step, load.ramp, deadline=deadline, progress=_progress(console, url, load.ramp)
    )


def _settings_module() -> str:
    module = getattr(settings, "SETTINGS_MODULE", None)
    if not module:
        raise CapacityError(
            "pagedoctor capacity starts gunicorn with the site's settings module, and these "
            "settings have none (settings.configure()); pass --settings or set "
            "DJANGO_SETTINGS_MODULE"
        )
    return str(module)


def _progress(console: Console, url: str, options: RampOptions) -> Callable[[Step], None]:
    def show(step: Step) -> None:
        verdict = "ok" if meets_target(step, options.p95_ms) else "over target"
        if not step.requests:
            measured = f"no request answered in {step.seconds:.0f}s"
        else:
            measured = f"{step.rps:8.1f} req/s, p95 {step.p95_ms:8.1f} ms"
        errors = f", {step.errors} failed" if step.errors else ""
        console.print(
            f"  {url}  {step.concurrency:>3} connections: {measured}{errors}  {verdict}",
            markup=False,
        )

    return show


def _write_json(path: str, report: dict[str, Any], console: Console) -> None:
    from pagedoctor.report.json import write_json

    try:
        write_json(report, path)
    except OSError as exc:
        raise CapacityError(f"cannot write the report to {path!r} ({exc.strerror or exc})") from exc
    console.print(f"Wrote {Path(path)}", markup=False)
