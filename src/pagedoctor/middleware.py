"""Record every request, add a ``Server-Timing`` header where allowed, and log a summary."""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.utils.functional import LazyObject, empty

from pagedoctor.capture.recording import Recording
from pagedoctor.conf import conf
from pagedoctor.report.paths import relative_path

request_logger = logging.getLogger("pagedoctor.request")
findings_logger = logging.getLogger("pagedoctor.findings")
# Findings already logged in this process, by kind and place: each is logged once.
_logged: set[tuple[object, ...]] = set()
sql_logger = logging.getLogger("pagedoctor.sql")

GetResponse = Callable[[HttpRequest], HttpResponseBase]
AsyncGetResponse = Callable[[HttpRequest], Awaitable[HttpResponseBase]]


class PagedoctorMiddleware:
    """Record each sampled request; put it first in ``MIDDLEWARE`` so it sees every query."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse | AsyncGetResponse) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        if not _should_record(request):
            return self.get_response(request)
        with Recording(label=f"{request.method} {request.get_full_path()}") as recording:
            response: HttpResponseBase = self.get_response(request)  # type: ignore[assignment]
        request.pagedoctor = recording  # type: ignore[attr-defined]
        if _timing_wanted(request, staff=lambda: _is_staff(_loaded_user(request))):
            add_server_timing(response, recording)
        log_request(request, response, recording)
        log_findings(recording)
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        get_response: AsyncGetResponse = self.get_response  # type: ignore[assignment]
        if not _should_record(request):
            return await get_response(request)
        async with Recording(label=f"{request.method} {request.get_full_path()}") as recording:
            response = await get_response(request)
        request.pagedoctor = recording  # type: ignore[attr-defined]
        if _timing_wanted(request, staff=lambda: _is_staff(_loaded_user(request))):
            add_server_timing(response, recording)
        log_request(request, response, recording)
        log_findings(recording)
        return response


def _should_record(request: HttpRequest) -> bool:
    if request.path.startswith(conf.IGNORE_PATHS):
        return False
    rate = conf.SAMPLE_RATE
    return rate >= 1 or (rate > 0 and random.random() < rate)


def _loaded_user(request: HttpRequest) -> Any:
    """Return the user if the request already loaded it, else None.

    Loading it here would add a session and a user query to the request: recording must not
    change what a site does, so a staff user on a page that never looks at the user gets no
    header.
    """
    user = request.__dict__.get("user")
    if isinstance(user, LazyObject):
        wrapped = user._wrapped
        return None if wrapped is empty else wrapped
    if user is not None:
        return user
    return getattr(request, "_acached_user", None)


def _is_staff(user: Any) -> bool:
    return bool(getattr(user, "is_staff", False))


def _timing_wanted(request: HttpRequest, *, staff: Callable[[], bool]) -> bool:
    """Return whether this request may see timings: never leak them to the public."""
    mode = conf.SERVER_TIMING
    if mode == "never":
        return False
    return mode == "always" or settings.DEBUG or staff()


def server_timing(recording: Recording) -> str:
    """Return a ``Server-Timing`` value: durations and counts only, never SQL or keys."""
    queries = len(recording.queries)
    hits, misses = recording.cache_hits, recording.cache_misses
    renders = sum(1 for t in recording.templates if t.depth == 0)
    parts = [
        f'db;dur={recording.query_ms:.1f};desc="{_count(queries, "query", "queries")}"',
        f'cache;dur={recording.cache_ms:.1f};desc="{hits} hits {misses} misses"',
        f'tpl;dur={recording.template_ms:.1f};desc="{_count(renders, "template", "templates")}"',
        f"total;dur={recording.duration_ms:.1f}",
    ]
    return ", ".join(parts)


def log_findings(recording: Recording) -> None:
    """In development (DEBUG), log each N+1 and duplicate query once, with its fix."""
    if not settings.DEBUG or not findings_logger.isEnabledFor(logging.WARNING):
        return
    from pagedoctor.diagnose.api import diagnose
    from pagedoctor.strict import describe

    for finding in diagnose(recording):
        where = (finding.where.file, finding.where.line) if finding.where else None
        key = (finding.kind, where, finding.evidence.get("relation"))
        if key not in _logged:
            _logged.add(key)
            findings_logger.warning("%s: %s", recording.label, describe(finding))


def reset() -> None:
    """Forget which findings were logged (for tests)."""
    _logged.clear()


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def add_server_timing(response: HttpResponseBase, recording: Recording) -> None:
    value = server_timing(recording)
    existing = response.headers.get("Server-Timing")
    response.headers["Server-Timing"] = f"{existing}, {value}" if existing else value


def log_request(request: HttpRequest, response: HttpResponseBase, recording: Recording) -> None:
    """Log one line per request, and at DEBUG level each query with where it came from."""
    if request_logger.isEnabledFor(logging.INFO):
        request_logger.info(
            "%s %s %s %.1fms: %d queries (%.1fms, %d duplicates), cache %d hits %d misses, "
            "templates %.1fms",
            request.method,
            request.get_full_path(),
            response.status_code,
            recording.duration_ms,
            len(recording.queries),
            recording.query_ms,
            recording.duplicate_queries,
            recording.cache_hits,
            recording.cache_misses,
            recording.template_ms,
        )
    if sql_logger.isEnabledFor(logging.DEBUG):
        for query in recording.queries:
            site = query.callsite
            where = f"{relative_path(site.file)}:{site.line} in {site.function}" if site else "?"
            if query.template:
                where += f" (template {query.template.name}:{query.template.line})"
            sql_logger.debug(
                "[%.2fms] %s\n    %s\n    params=%r",
                query.duration_ms,
                where,
                query.sql,
                query.params,
            )
