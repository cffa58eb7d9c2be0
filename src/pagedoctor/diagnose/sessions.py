"""``session_storage``: pages that read or write the session table on every request.

With ``SESSION_ENGINE`` on the database backend (Django's default), every request that uses the
session (every page that reads ``request.user``, a cart, "recently viewed") reads its row, and
writes it back when it changed. ``cached_db`` reads it from the cache and still writes through
to the database, so no session is lost when the cache is emptied. The fix is proved on a
returning visitor's request (the one after the request that began the session), with the
setting overridden, and the queries before and after compared.

The talk paired cache sessions with ``PickleSerializer``: that serializer runs code from
session data, Django removed it, and pagedoctor refuses it (``pagedoctor.E002``); the advice
here never changes the serializer.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends import cached_db, db

from pagedoctor.audit.runner import AuditResult
from pagedoctor.capture.events import QueryEvent
from pagedoctor.diagnose.findings import Finding, Fix
from pagedoctor.diagnose.settingsource import setting_place, settings_file

CACHED_DB = "django.contrib.sessions.backends.cached_db"


def session_table() -> str | None:
    """Return the table sessions are read from on every request, or None if they are not.

    Only database engines that do not cache (``db`` and its subclasses, not ``cached_db``).
    """
    try:
        store: Any = import_module(settings.SESSION_ENGINE).SessionStore
    except (ImportError, AttributeError):
        return None
    if not issubclass(store, db.SessionStore) or issubclass(store, cached_db.SessionStore):
        return None
    return str(store.get_model_class()._meta.db_table)


def _session_queries(queries: list[QueryEvent], table: str) -> list[QueryEvent]:
    quoted = (f'"{table}"', f"`{table}`", f" {table} ")
    return [q for q in queries if any(name in q.sql for name in quoted)]


def session_storage(result: AuditResult) -> list[Finding]:
    """Find the pages that query the session table, with ``cached_db`` as the fix, verified."""
    from pagedoctor.verify import ChangedSettings, verify

    table = session_table()
    if table is None:
        return []
    pages: dict[str, list[QueryEvent]] = {}
    for page in result.pages:
        found = _session_queries(page.recording.queries, table) if page.ok else []
        if found:
            pages[page.url] = found
    if not pages:
        return []
    engine = settings.SESSION_ENGINE
    place = setting_place("SESSION_ENGINE")
    sample = next(iter(pages.values()))
    finding = Finding(
        kind="session_storage",
        severity="medium" if len(pages) > 1 else "low",
        message=f"Sessions are stored in the database ({engine}): {len(pages)} page"
        f"{'s' if len(pages) != 1 else ''} query {table} on every request that uses the session",
        where=place,
        pages=list(pages),
        evidence={
            "engine": engine,
            "table": table,
            "queries": {url: len(found) for url, found in pages.items()},
            "sql": sample[0].sql,
        },
        fix=Fix(
            summary="read sessions from the cache and write them through to the database "
            "(keep the JSON serializer; with a persistent cache such as Redis, "
            "django.contrib.sessions.backends.cache also saves the writes)",
            code=f'SESSION_ENGINE = "{CACHED_DB}"',
            file=place.file if place else settings_file(),
            line=place.line if place else None,
        ),
        remedy=ChangedSettings((("SESSION_ENGINE", CACHED_DB),), returning=True),
    )
    verify(finding)
    return [finding]
