"""Duplicate queries: the same SQL with the same parameters, run again in one request."""

from __future__ import annotations

import inspect
from collections import defaultdict
from functools import cached_property
from typing import Any

from django.apps import apps

from pagedoctor.capture.events import QueryEvent
from pagedoctor.capture.recording import Recording
from pagedoctor.diagnose.findings import Finding, Fix, Where
from pagedoctor.diagnose.nplusone import THRESHOLD, n_plus_one


def model_method(file: str, function: str) -> tuple[type[Any], str, Any] | None:
    """Return (model, attribute name, attribute) if ``function`` in ``file`` is a model's method."""
    for model in apps.get_models():
        for name, attribute in vars(model).items():
            func = attribute.fget if isinstance(attribute, property) else attribute
            func = getattr(func, "func", func)  # cached_property keeps the function here
            code = getattr(func, "__code__", None)
            if code is not None and code.co_name == function and code.co_filename == file:
                return model, name, attribute
    return None


def find_duplicates(
    recording: Recording, *, threshold: int = THRESHOLD, skip: set[int] | None = None
) -> list[Finding]:
    """Return a finding for each query run more than once with the same parameters.

    Queries that belong to an N+1 (by ``threshold``; or ``skip``, their ids, when the caller
    has them) are its evidence, not duplicates.
    """
    if skip is None:
        skip = n_plus_one(recording, threshold=threshold)[1]
    groups: dict[tuple[str, str, str], list[QueryEvent]] = defaultdict(list)
    for query in recording.queries:
        if query.is_select and not query.many and id(query) not in skip:
            groups[query.identity].append(query)
    return [_finding(queries) for queries in groups.values() if len(queries) > 1]


def _finding(queries: list[QueryEvent]) -> Finding:
    first = queries[0]
    count = len(queries)
    site = first.callsite
    where = Where(site.file, site.line, site.function) if site else None
    method = model_method(site.file, site.function) if site else None
    fix: Fix | None = None
    if method is not None:
        model, name, attribute = method
        takes_arguments = (
            len(inspect.signature(getattr(attribute, "fget", attribute)).parameters) > 1
        )
        if isinstance(attribute, cached_property):
            fix = None  # already cached per instance: the repeats come from separate instances
        elif not takes_arguments:
            line = inspect.getsourcelines(getattr(attribute, "fget", attribute))[1]
            fix = Fix(
                summary=f"compute {model.__name__}.{name} once per instance",
                code=f"@cached_property\ndef {name}(self): ...",
                file=site.file if site else None,
                line=line,
            )
    if fix is None:
        fix = Fix(
            summary="run it once: keep the evaluated queryset or the value in a variable and "
            "reuse it",
            file=site.file if site else None,
            line=site.line if site else None,
        )
    label = f"{method[0].__name__}.{method[1]}" if method else (site.function if site else "?")
    remedy = None
    if method is not None and fix.code is not None:
        from pagedoctor.verify import CachedMethod

        remedy = CachedMethod(method[0], method[1])
    return Finding(
        remedy=remedy,
        kind="duplicate_query",
        severity="medium" if count > 2 or sum(q.duration_ms for q in queries) > 5 else "low",
        message=f"The same query runs {count} times with the same parameters ({label})",
        where=where,
        evidence={
            "count": count,
            "sql": first.sql,
            "params": repr(first.params),
            "method": f"{method[0]._meta.label}.{method[1]}" if method else None,
            "ms": round(sum(q.duration_ms for q in queries), 2),
        },
        fix=fix,
    )
