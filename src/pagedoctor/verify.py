"""Prove a fix: re-run the page with it applied, and compare queries, time and output.

Each run happens like the audit's own: Django's test client, inside a transaction that is
rolled back. Runs with and without the fix alternate, and the medians are compared, so the
machine's noise falls on both sides alike. The fix is applied at run time, at the place it
names (``prefetch_related`` added to the querysets built on that line; a method turned into a
``cached_property``), so the site's code is never edited to check it.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.test import Client

from pagedoctor.audit.runner import PageResult, request_page
from pagedoctor.capture.orm import AppliedFix, fixes_applied
from pagedoctor.diagnose.findings import Finding, Verification

RUNS = 3


@dataclass(frozen=True)
class CachedMethod:
    """Turn ``model.name`` into a ``cached_property`` while the page is re-run."""

    model: type[Any]
    name: str


@contextmanager
def applied(remedy: AppliedFix | CachedMethod) -> Iterator[None]:
    """Apply ``remedy`` inside the block, and undo it after."""
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


def compare(url: str, remedy: AppliedFix | CachedMethod, *, runs: int = RUNS) -> Verification:
    """Request ``url`` ``runs`` times without and with ``remedy``, alternating."""
    before: list[PageResult] = []
    after: list[PageResult] = []
    for _ in range(runs):
        before.append(request_page(Client(), url))
        with applied(remedy):
            after.append(request_page(Client(), url))
    return Verification(
        queries_before=len(before[-1].recording.queries),
        queries_after=len(after[-1].recording.queries),
        ms_before=round(statistics.median(p.ms for p in before), 1),
        ms_after=round(statistics.median(p.ms for p in after), 1),
        same_output=all(
            p.digest == before[0].digest and p.status == before[0].status for p in after
        ),
    )


def verify(finding: Finding, *, runs: int = RUNS) -> None:
    """Fill ``finding.verified``; withdraw the fix if it does not help or changes the page."""
    if finding.remedy is None or not finding.pages or finding.fix is None:
        return
    result = compare(finding.pages[0], finding.remedy, runs=runs)
    finding.verified = result
    if result.queries_after >= result.queries_before or not result.same_output:
        why = (
            "changed the page's output" if not result.same_output else "did not reduce the queries"
        )
        finding.evidence["tried"] = {"code": finding.fix.code, "outcome": why}
        finding.fix = None
