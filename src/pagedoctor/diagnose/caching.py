"""Pages worth caching whole (``uncached_page``), and responses nobody can reuse (``http_caching``).

Each page the audit saw answer 200 is requested again by a new anonymous visitor. If the body
is the one the audit got (or, failing that, one more anonymous visitor gets it too):

- ``uncached_page``: the response may be shared (no cookie, no ``Vary: Cookie``, not private,
  no write, email or work after commit), nothing caches it yet (no shared ``max-age``), and it
  costs queries or time. The fix is ``@cache_view`` on the view, proved by serving the page
  through it: the first request stores, the ones after are measured.
- ``http_caching``: otherwise, the response lacks validators (``ETag``/``Last-Modified``) or
  ``Cache-Control``. A shareable page gets ``@cache_view`` (which sends both and answers 304);
  one that must not be shared gets ``ConditionalGetMiddleware`` and a private
  ``@cache_control``. Proved by a conditional GET that answers 304 Not Modified.

A page whose body differs from one request to the next is neither: no cache or validator
could serve it. Why a page is passed over is logged at DEBUG (``pagedoctor.diagnose``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings

from pagedoctor.audit.runner import AuditResult, PageResult
from pagedoctor.diagnose.findings import Finding, Fix, Severity, Where
from pagedoctor.diagnose.pageview import PageView, View, page_view
from pagedoctor.diagnose.responses import (
    Sample,
    cache_control,
    max_age,
    not_shareable,
    sample,
)
from pagedoctor.diagnose.settingsource import setting_place, settings_file

logger = logging.getLogger("pagedoctor.diagnose")

CACHE_VIEWS = "pagedoctor.cache.views"
CONDITIONAL_GET = "django.middleware.http.ConditionalGetMiddleware"
TIMEOUT = 300
# Django's views for static files, meant for development: the fix is how files are served.
STATIC_VIEWS = ("django.views.static.serve", "django.contrib.staticfiles.views.serve")
YEAR = 365 * 24 * 3600
# A page that runs no query is still worth caching whole when it takes this long.
MIN_MS = 25.0
SLOW_MS = 1000.0


def page_caching(result: AuditResult) -> list[Finding]:
    """Find the pages to cache whole and the responses without HTTP caching; verify each fix."""
    from pagedoctor.verify import RUNS, verify

    merged: dict[tuple[str, str], Finding] = {}
    for page in result.pages:
        finding = diagnose_page(page)
        if finding is None:
            continue
        key = (finding.kind, str(finding.evidence["view"]))
        if key in merged:
            merged[key].pages.append(page.url)
        else:
            finding.pages = [page.url]
            merged[key] = finding
    findings = list(merged.values())
    for finding in findings:
        # A page that takes a second is re-run once each way: its noise is small beside it,
        # and three runs would triple what its verification adds to the audit.
        slow = float(finding.evidence.get("ms", 0)) >= SLOW_MS
        verify(finding, runs=1 if slow else RUNS)
    return findings


def diagnose_page(page: PageResult) -> Finding | None:
    """Return the caching finding for one audited page, or None (the reason is logged)."""
    if not page.ok or page.status != 200:
        return None
    view = page_view(page.url)
    if view is None:
        logger.debug("%s: no view with source code answers it", page.url)
        return None
    found = _stable_sample(page)
    if found is None:
        logger.debug("%s: its body differs between two anonymous requests", page.url)
        return None
    if view.name in STATIC_VIEWS:
        return static_file(view, found)
    why_not = not_shareable(found)
    cached_for = max_age(found.headers)
    passed_over = why_not or _cached_already(found, cached_for) or _cheap(page, found.page)
    if passed_over is None:
        return uncached_page(view, found)
    logger.debug("%s: not worth caching whole: %s", page.url, passed_over)
    return http_caching(view, found, why_not=why_not, cached_for=cached_for)


def _stable_sample(page: PageResult) -> Sample | None:
    """Return an anonymous sample of ``page`` if two requests got the same body, else None.

    The audit's own last request counts as the first when it got the same body (it may have
    been made logged in, or with cookies); otherwise a second anonymous one is made.
    """
    found = sample(page.url)
    if found.page.status != 200:
        return None
    if found.page.digest == page.digest:
        return found
    again = sample(page.url)
    return again if again.page.status == 200 and again.page.digest == found.page.digest else None


def _cached_already(found: Sample, cached_for: int) -> str | None:
    if cached_for:
        return f"shared caches may keep it already (max-age={cached_for})"
    hits = sum(counts["hits"] for counts in found.page.recording.treatments.values())
    if hits and not found.page.recording.queries:
        return "pagedoctor's cache serves it already"
    return None


def _cheap(audited: PageResult, found: PageResult) -> str | None:
    # The faster of two runs: one slow run (a first use, a busy machine) does not make a page
    # worth caching.
    ms = min(audited.ms, found.ms)
    if found.recording.queries or ms >= MIN_MS:
        return None
    return f"it runs no query and takes {ms:.1f} ms"


def _cache_view(timeout: int) -> Callable[[View], View]:
    from pagedoctor.cache.views import cache_view

    return cache_view(timeout=timeout)


def _import_line() -> str:
    """Return where users import ``cache_view`` from (the package, once it re-exports it)."""
    import pagedoctor.cache

    package = "pagedoctor.cache" if hasattr(pagedoctor.cache, "cache_view") else CACHE_VIEWS
    return f"from {package} import cache_view"


def _severity(queries: int, ms: float) -> Severity:
    if queries >= 20 or ms >= 100:
        return "high"
    return "medium" if queries >= 5 or ms >= 20 else "low"


def uncached_page(view: PageView, found: Sample) -> Finding:
    """Return the finding that ``view`` should be cached whole with ``cache_view``."""
    from pagedoctor.verify import WrappedView

    queries, ms = len(found.page.recording.queries), round(found.page.ms, 1)
    cost = f"runs {_queries(queries)} in {ms} ms" if queries else f"takes {ms} ms"
    return Finding(
        kind="uncached_page",
        severity=_severity(queries, ms),
        message=f"{view.name} renders the same page for every anonymous visitor, "
        f"yet {cost} on every request",
        where=_where(view),
        evidence={
            "view": view.name,
            "queries": queries,
            "ms": ms,
            "bytes": found.page.bytes,
            "headers": found.caching_headers,
        },
        fix=Fix(
            summary=f"cache the whole response ({_import_line()}): it is outdated by the next "
            "commit that changes what the page read, and sent with ETag, Last-Modified and "
            "Cache-Control, so browsers revalidate it with a 304",
            code=view.decorated(f"cache_view(timeout={TIMEOUT})"),
            file=view.file,
            line=view.line,
        ),
        remedy=WrappedView.of(view.callback, _cache_view(TIMEOUT)),
    )


def _queries(count: int) -> str:
    return f"{count} query" if count == 1 else f"{count} queries"


def _where(view: PageView) -> Where:
    return Where(view.file, view.line, view.name.rsplit(".", 1)[-1])


def missing_headers(headers: dict[str, str]) -> list[str]:
    """Return what a response lacks for HTTP caching: validators, ``Cache-Control``."""
    missing = []
    if "etag" not in headers and "last-modified" not in headers:
        missing.append("ETag or Last-Modified")
    if "cache-control" not in headers:
        missing.append("Cache-Control")
    return missing


def http_caching(
    view: PageView, found: Sample, *, why_not: str | None, cached_for: int
) -> Finding | None:
    """Return the finding that ``view``'s responses lack validators or Cache-Control, if so."""
    missing = missing_headers(found.headers)
    if not missing or "no-store" in cache_control(found.headers):
        return None  # no-store: the site chose that nothing keeps it
    size = f"{found.page.bytes:,} bytes"
    if len(missing) == 2:
        problem = f"sends no ETag, Last-Modified or Cache-Control: each visit downloads all {size}"
    elif "Cache-Control" in missing:
        problem = "sends no Cache-Control: browsers and proxies guess how long to keep it"
    else:
        problem = "sends no ETag or Last-Modified: browsers cannot ask whether it changed, and "
        problem += f"download all {size} again"
    if why_not is None and cached_for == 0:
        fix, remedy = _cache_view_fix(view)
    else:
        advice = _private_fix(view, found, missing, why_not or "shared caches keep it already")
        if advice is None:
            return None
        fix, remedy = advice
    return Finding(
        kind="http_caching",
        severity="low",
        message=f"{view.name} {problem}",
        where=_where(view),
        evidence={
            "view": view.name,
            "headers": found.caching_headers,
            "missing": missing,
            "bytes": found.page.bytes,
            "shareable": why_not is None,
            "not_shareable": why_not,
        },
        fix=fix,
        remedy=remedy,
    )


def _cache_view_fix(view: PageView) -> tuple[Fix, Any]:
    from pagedoctor.verify import Revalidation, WrappedView

    fix = Fix(
        summary=f"cache_view ({_import_line()}) sends ETag, Last-Modified and Cache-Control, and "
        "answers 304 Not Modified while the page has not changed, without running the view",
        code=view.decorated(f"cache_view(timeout={TIMEOUT})"),
        file=view.file,
        line=view.line,
    )
    return fix, Revalidation(WrappedView.of(view.callback, _cache_view(TIMEOUT)))


def _private_fix(
    view: PageView, found: Sample, missing: list[str], why_not: str
) -> tuple[Fix, Any] | None:
    """Return validators and Cache-Control for a page that must not be stored for everyone.

    None when there is nothing to add: ConditionalGetMiddleware gives no ETag to a streamed
    response, and is there already when a response that is not lacks one.
    """
    from pagedoctor.verify import ChangedSettings, Revalidation

    middleware = list(settings.MIDDLEWARE)
    add_middleware = (
        "ETag or Last-Modified" in missing
        and CONDITIONAL_GET not in middleware
        and not found.streamed
    )
    steps = []
    if add_middleware:
        steps.append(
            f"add {CONDITIONAL_GET!r} to settings.MIDDLEWARE, after GZipMiddleware: Django "
            "then sends an ETag and answers 304 Not Modified while the page has not changed"
        )
    if "Cache-Control" in missing:
        steps.append(
            "mark it private and revalidated, so that browsers keep it but ask each time and "
            "shared caches do not store it (or max_age=N if it may be N seconds old)"
        )
    if not steps:
        return None
    summary = f"it must not be stored for everyone ({why_not}): " + "; ".join(steps)
    if "Cache-Control" in missing:
        code = view.decorated("cache_control(private=True, no_cache=True)")
        fix = Fix(summary=summary, code=code, file=view.file, line=view.line)
    else:
        place = setting_place("MIDDLEWARE")
        fix = Fix(
            summary=summary,
            code=f'"{CONDITIONAL_GET}",',
            file=place.file if place else None,
            line=place.line if place else None,
        )
    if not add_middleware:
        return fix, None  # a Cache-Control choice: nothing a re-run can prove
    changed = ChangedSettings((("MIDDLEWARE", with_conditional_get(middleware)),))
    return fix, Revalidation(changed)


def with_conditional_get(middleware: list[str]) -> list[str]:
    """Return ``middleware`` with ConditionalGetMiddleware where Django's docs place it.

    Near the top, so it sees the response last, as sent; after GZipMiddleware (an ETag of the
    compressed body would change with it) and pagedoctor's own middleware.
    """
    after = ("pagedoctor.middleware.PagedoctorMiddleware", "django.middleware.gzip.GZipMiddleware")
    position = max((middleware.index(m) + 1 for m in after if m in middleware), default=0)
    return [*middleware[:position], CONDITIONAL_GET, *middleware[position:]]


def static_file(view: PageView, found: Sample) -> Finding | None:
    """Return the finding that a static file is sent without a long ``Cache-Control``, if so."""
    if max_age(found.headers) >= YEAR:
        return None
    return Finding(
        kind="http_caching",
        severity="low",
        message=f"Static files are served by {view.name} without a long Cache-Control: "
        f"browsers ask for all {found.page.bytes:,} bytes again, or at least revalidate",
        where=_where(view),
        evidence={
            "view": view.name,
            "headers": found.caching_headers,
            "missing": ["Cache-Control: max-age"],
            "bytes": found.page.bytes,
            "static": True,
        },
        fix=Fix(
            summary="give static files content-hashed names (ManifestStaticFilesStorage) and "
            f"serve them with Cache-Control: public, max-age={YEAR}, immutable, from "
            "WhiteNoise or the web server; Django's serve view is for development only",
            code='STORAGES = {..., "staticfiles": {"BACKEND": '
            '"django.contrib.staticfiles.storage.ManifestStaticFilesStorage"}}',
            file=settings_file(),
        ),
    )
