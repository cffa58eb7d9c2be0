"""Prove a fix: re-run the page with it applied, and compare queries, time and output.

Each run happens like the audit's own: Django's test client, inside a transaction that is
rolled back. Runs with and without the fix alternate, and the medians are compared, so the
machine's noise falls on both sides alike. The fix is applied at run time, at the place it
names (``prefetch_related`` added to the querysets built on that line; a method turned into a
``cached_property``; the view wrapped in a decorator; a setting overridden), so the site's code
is never edited to check it.

Some fixes are measured on the request they are for: a cache on the requests after the one that
stores (:class:`WrappedView`), a session setting on a returning visitor's request
(:class:`ChangedSettings` with ``returning``), HTTP validators on a conditional GET
(:class:`Revalidation`).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.test import Client, override_settings

from pagedoctor.audit.runner import PageResult, request_page, rolled_back
from pagedoctor.capture.orm import AppliedFix, fixes_applied
from pagedoctor.diagnose.findings import Finding, Verification
from pagedoctor.diagnose.pageview import View, view_wrapped
from pagedoctor.diagnose.responses import ResponseClient

RUNS = 3


@dataclass(frozen=True)
class CachedMethod:
    """Turn ``model.name`` into a ``cached_property`` while the page is re-run."""

    model: type[Any]
    name: str


@dataclass(frozen=True)
class WrappedView:
    """Serve ``wrapper`` (the view in a decorator, made once) wherever ``callback`` is routed.

    The first request with it is not measured: a cache has to store before it can serve.
    """

    callback: View
    wrapper: View

    @classmethod
    def of(cls, callback: View, decorator: Callable[[View], View]) -> WrappedView:
        """Return the remedy that puts ``decorator`` on ``callback``."""
        return cls(callback, decorator(callback))


@dataclass(frozen=True)
class ChangedSettings:
    """Re-run the page with these settings overridden.

    With ``returning``, each run is a returning visitor's request: the page is requested once to
    begin a session, and the request after it, with the session's cookie, is measured.
    """

    values: tuple[tuple[str, Any], ...]
    returning: bool = False


@dataclass(frozen=True)
class Revalidation:
    """Apply ``remedy``, then ask for the page again with the validators it sent."""

    remedy: WrappedView | ChangedSettings


@dataclass
class ConditionalVerification(Verification):
    """A conditional GET with the fix applied: what it sent back, against a full GET without."""

    bytes_before: int = 0
    bytes_after: int = 0
    status_after: int = 0


Remedy = AppliedFix | CachedMethod | WrappedView | ChangedSettings | Revalidation


@contextmanager
def applied(remedy: Remedy) -> Iterator[None]:
    """Apply ``remedy`` inside the block, and undo it after."""
    if isinstance(remedy, Revalidation):
        with applied(remedy.remedy):
            yield
        return
    if isinstance(remedy, WrappedView):
        with view_wrapped(remedy.callback, remedy.wrapper):
            yield
        return
    if isinstance(remedy, ChangedSettings):
        with override_settings(**dict(remedy.values)):
            yield
        return
    if isinstance(remedy, AppliedFix):
        with fixes_applied(remedy):
            yield
        return
    original = remedy.model.__dict__[remedy.name]
    replacement: Any
    if isinstance(original, property):
        replacement = cached_property(original.fget)  # type: ignore[arg-type]
        replacement.__set_name__(remedy.model, remedy.name)
    else:
        # A method is called as obj.name(): keep that working, computing the result once.
        replacement = _CachedCall(original, remedy.name)
    setattr(remedy.model, remedy.name, replacement)
    try:
        yield
    finally:
        setattr(remedy.model, remedy.name, original)


class _CachedCall:
    """A method whose result is computed once per instance: ``obj.method()`` as before."""

    def __init__(self, function: Any, name: str) -> None:
        self.function = function
        self.attribute = f"_pagedoctor_cached_{name}"

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        if self.attribute not in instance.__dict__:
            instance.__dict__[self.attribute] = self.function(instance)
        value = instance.__dict__[self.attribute]
        return lambda: value


def visit(url: str) -> PageResult:
    """Request ``url`` as a new visitor."""
    return request_page(Client(), url)


def returning_visit(url: str) -> PageResult:
    """Request ``url`` twice with one client in one rolled-back transaction; return the second.

    The first request begins the session (its row stays for the second); the second is what a
    visitor with a session cookie costs.
    """
    client = Client()
    with rolled_back():
        # If the page raises, the measured request below raises again and reports it as a 500.
        with suppress(Exception):
            client.get(url)
        return request_page(client, url)


def compare(url: str, remedy: Remedy, *, runs: int = RUNS) -> Verification:
    """Request ``url`` ``runs`` times without and with ``remedy``, alternating."""
    if isinstance(remedy, Revalidation):
        return revalidate(url, remedy, runs=runs)
    request = returning_visit if isinstance(remedy, ChangedSettings) and remedy.returning else visit
    if isinstance(remedy, WrappedView):
        with applied(remedy):
            request(url)  # stores: the runs below measure what the cache serves
    before: list[PageResult] = []
    after: list[PageResult] = []
    for _ in range(runs):
        before.append(request(url))
        with applied(remedy):
            after.append(request(url))
    return Verification(
        queries_before=len(before[-1].recording.queries),
        queries_after=len(after[-1].recording.queries),
        ms_before=round(statistics.median(p.ms for p in before), 1),
        ms_after=round(statistics.median(p.ms for p in after), 1),
        same_output=all(
            p.digest == before[0].digest and p.status == before[0].status for p in after
        ),
    )


def revalidate(url: str, remedy: Revalidation, *, runs: int = RUNS) -> ConditionalVerification:
    """Compare full GETs without the fix to conditional GETs with it, alternating.

    With the fix applied, a new visitor's GET gives the validators (``ETag``,
    ``Last-Modified``); the GET after it sends them back (``If-None-Match``,
    ``If-Modified-Since``) and is the one measured.
    """
    before: list[PageResult] = []
    primed: list[PageResult] = []
    after: list[PageResult] = []
    for _ in range(runs):
        before.append(visit(url))
        with applied(remedy):
            client = ResponseClient()
            primed.append(request_page(client, url))
            after.append(request_page(ResponseClient(headers=client.validators()), url))
    return ConditionalVerification(
        queries_before=len(before[-1].recording.queries),
        queries_after=len(after[-1].recording.queries),
        ms_before=round(statistics.median(p.ms for p in before), 1),
        ms_after=round(statistics.median(p.ms for p in after), 1),
        same_output=all(
            p.digest == before[0].digest and p.status == before[0].status for p in primed
        ),
        bytes_before=before[-1].bytes,
        bytes_after=after[-1].bytes,
        status_after=after[-1].status,
    )


def _failure(result: Verification, remedy: Remedy) -> str | None:
    """Return why the fix did not prove itself, or None if it did."""
    if not result.same_output:
        return "changed the page's output"
    if isinstance(result, ConditionalVerification):
        if result.status_after != 304:
            return f"answered {result.status_after} to a conditional GET, not 304 Not Modified"
        return None
    if isinstance(remedy, WrappedView):
        # A cache may save time rather than queries (a page slow in Python or templates).
        if result.queries_after < result.queries_before or result.ms_after < result.ms_before / 2:
            return None
        return "did not reduce the queries or the time"
    if result.queries_after >= result.queries_before:
        return "did not reduce the queries"
    return None


def verify(finding: Finding, *, runs: int = RUNS) -> None:
    """Fill ``finding.verified``; withdraw the fix if it does not help or changes the page."""
    if finding.remedy is None or not finding.pages or finding.fix is None:
        return
    result = compare(finding.pages[0], finding.remedy, runs=runs)
    finding.verified = result
    why = _failure(result, finding.remedy)
    if why is not None:
        finding.evidence["tried"] = {"code": finding.fix.code, "outcome": why}
        finding.fix = None
