"""Record SQL through ``connection.execute_wrappers``, installed once on every connection."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from time import perf_counter
from typing import Any

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created

from pagedoctor.capture import callsite, orm
from pagedoctor.capture.events import QueryEvent
from pagedoctor.capture.recording import active_now


def record_query(
    execute: Callable[..., Any],
    sql: str,
    params: Any,
    many: bool,
    context: Mapping[str, Any],
) -> Any:
    """Run the statement as Django would and, while a recording is active, record it."""
    recordings = active_now()
    if not recordings:
        return execute(sql, params, many, context)
    started = perf_counter()
    error: str | None = None
    try:
        return execute(sql, params, many, context)
    except BaseException as exc:
        error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        duration_ms = (perf_counter() - started) * 1000
        site, template = callsite.find(sys._getframe(1))
        connection: BaseDatabaseWrapper = context["connection"]
        event = QueryEvent(
            alias=connection.alias,
            vendor=connection.vendor,
            sql=sql,
            params=_kept_params(params, many),
            many=many,
            duration_ms=duration_ms,
            started=started,
            callsite=site,
            template=template,
            error=error,
            orm=orm.context(),
        )
        for recording in recordings:
            recording.add(event)


def _kept_params(params: Any, many: bool) -> Any:
    # The caller may reuse or mutate its list, and executemany may be fed a one-shot iterator
    # that recording must not consume.
    if many:
        return len(params) if isinstance(params, Sequence) else None
    if isinstance(params, list):
        return tuple(params)
    return params


def install_on(connection: BaseDatabaseWrapper) -> None:
    """Add the recording wrapper to ``connection`` unless it is there already."""
    if record_query not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, record_query)


def _on_connection_created(
    sender: object, connection: BaseDatabaseWrapper, **kwargs: object
) -> None:
    install_on(connection)


def install() -> None:
    """Record queries on every connection from now on, in every thread."""
    connection_created.connect(_on_connection_created, dispatch_uid="pagedoctor.capture.sql")
    for connection in connections.all(initialized_only=True):
        install_on(connection)
