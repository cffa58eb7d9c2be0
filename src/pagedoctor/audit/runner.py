"""Request each page with Django's test client under a Recording, changing no data."""

from __future__ import annotations

import hashlib
import os
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import caches
from django.db import connections, transaction
from django.test import Client

from pagedoctor.cache import tracking
from pagedoctor.capture.recording import Recording, record
from pagedoctor.diagnose.findings import Finding


@dataclass
class PageResult:
    """One audited page: its last request's status, time, size and recording."""

    url: str
    status: int
    ms: float
    bytes: int
    recording: Recording
    error: str | None = None
    findings: list[str] = field(default_factory=list)
    digest: str = ""  # sha256 of the body, to tell whether a fix changed the page

    @property
    def ok(self) -> bool:
        return self.error is None and self.status < 500


@dataclass
class AuditResult:
    site: dict[str, str]
    pages: list[PageResult]
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Return whether every page could be audited (none raised or answered 5xx)."""
        return all(page.ok for page in self.pages)


@contextmanager
def rolled_back() -> Iterator[None]:
    """Run the block in a transaction on every database, rolled back at the end."""
    with ExitStack() as stack:
        for alias in connections:
            stack.enter_context(transaction.atomic(using=alias))
        try:
            yield
        finally:
            for alias in connections:
                transaction.set_rollback(True, using=alias)


def request_page(client: Client, url: str) -> PageResult:
    """Request ``url`` once, recording it; an exception becomes a 500 with a short traceback."""
    with rolled_back(), record(label=url) as recording:
        started = time.perf_counter()
        try:
            response = client.get(url)
            body = (
                b"".join(response.streaming_content)  # type: ignore[attr-defined]
                if response.streaming
                else response.content
            )
            status, error = response.status_code, None
        except Exception as exc:
            body, status = b"", 500
            error = "".join(traceback.format_exception(exc, limit=-8)).rstrip()
        ms = (time.perf_counter() - started) * 1000
    return PageResult(
        url=url,
        status=status,
        ms=ms,
        bytes=len(body),
        recording=recording,
        error=error,
        digest=hashlib.sha256(body).hexdigest(),
    )


def audit_pages(
    urls: Sequence[str],
    *,
    repeat: int = 2,
    client: Client | None = None,
    progress: Callable[[PageResult], None] | None = None,
) -> AuditResult:
    """Request each URL ``repeat`` times and keep the last run: the first ones warm up caches."""
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    # Each page runs in a transaction of its own; the site's caches can store what such a
    # transaction computes only if its start was noted, so note it from the first page on.
    tracking.use()
    client = client or Client()
    pages: list[PageResult] = []
    for url in urls:
        for _ in range(repeat):
            page = request_page(client, url)
        pages.append(page)
        if progress is not None:
            progress(page)
    return AuditResult(site=site_info(), pages=pages)


_CACHE_NAMES = {
    "LocMemCache": "locmem",
    "FileBasedCache": "file",
    "DatabaseCache": "db",
    "RedisCache": "redis",
    "PyMemcacheCache": "memcached",
    "PyLibMCCache": "memcached",
    "DummyCache": "dummy",
}


def site_info() -> dict[str, str]:
    """Return the settings module, database and cache the audit ran against."""
    connection = connections["default"]
    database = connection.vendor
    if database == "mysql":
        database = "mariadb" if connection.mysql_is_mariadb else "mysql"  # type: ignore[attr-defined]
    backend = type(caches["default"]).__name__
    return {
        "settings": str(
            getattr(settings, "SETTINGS_MODULE", None)
            or os.environ.get("DJANGO_SETTINGS_MODULE", "")
        ),
        "database": database,
        "cache": _CACHE_NAMES.get(backend, backend),
    }
