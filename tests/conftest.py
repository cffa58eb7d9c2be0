"""Test-wide policy: which database servers must be up, and state reset between tests."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created

from tests.services import under_ci, unreachable_reason

# Requesting any of these gives a test database access (pytest-django's fixtures).
_DB_FIXTURES = frozenset(
    {
        "db",
        "transactional_db",
        "django_db_reset_sequences",
        "django_db_serialized_rollback",
        "django_db_setup",
        "live_server",
        "admin_user",
        "admin_client",
        "async_admin_client",
    }
)

_DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306}
_SERVICE_NAMES = {"postgresql": "postgresql", "mysql": "mariadb"}


def _database_problems() -> list[str]:
    """Say, for each configured database server that does not answer, why and how to start it."""
    problems = []
    for alias, config in settings.DATABASES.items():
        vendor = next((v for v in _DEFAULT_PORTS if v in config.get("ENGINE", "")), None)
        host = config.get("HOST") or ""
        if vendor is None or not host or host.startswith("/"):
            continue  # SQLite, or a Unix socket, which Django reports clearly itself
        port = int(config.get("PORT") or _DEFAULT_PORTS[vendor])
        reason = unreachable_reason(_SERVICE_NAMES[vendor], host, port)
        if reason is not None:
            problems.append(f"database {alias!r}: {reason}")
    return problems


def _uses_database(item: pytest.Item) -> bool:
    if item.get_closest_marker("django_db") is not None:
        return True
    if _DB_FIXTURES.intersection(getattr(item, "fixturenames", ())):
        return True
    from django.test import TransactionTestCase

    cls = getattr(item, "cls", None)
    return cls is not None and issubclass(cls, TransactionTestCase)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip database tests when the server is down; under CI=true, stop the run instead."""
    problems = _database_problems()
    if not problems:
        return
    if under_ci():
        pytest.exit(
            "CI=true and a database server the tests need is down:\n  "
            + "\n  ".join(problems)
            + "\n(on a developer's machine these tests would be skipped)",
            returncode=pytest.ExitCode.TESTS_FAILED,
        )
    skip = pytest.mark.skip(reason="; ".join(problems))
    for item in items:
        if _uses_database(item):
            item.add_marker(skip)


def _clear_caches() -> None:
    from django.core.cache import caches
    from django.core.cache.backends.db import DatabaseCache

    for cache in caches.all():
        # A database cache lives in the test database, which pytest-django already rolls back,
        # and clearing it here would need database access that most tests do not have.
        if not isinstance(cache, DatabaseCache):
            cache.clear()


# Connections that threads other than the main one, where tests run, opened (worker threads,
# sync_to_async's executor): nothing closes them, and an open one stops the test database from
# being dropped ("being accessed by other users") on PostgreSQL.
_connections: weakref.WeakSet[BaseDatabaseWrapper] = weakref.WeakSet()


def _remember_connection(sender: object, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    if threading.current_thread() is not threading.main_thread():
        _connections.add(connection)


connection_created.connect(_remember_connection, weak=False, dispatch_uid="pagedoctor-tests")


def _close_other_threads_connections() -> None:
    for connection in list(_connections):
        if connection.connection is None:
            continue
        connection.inc_thread_sharing()
        try:
            connection.close()
        finally:
            connection.dec_thread_sharing()


def reset_process_state() -> None:
    """Put every process-global registry back as a fresh process has it."""
    _clear_caches()
    _close_other_threads_connections()
    # Each pagedoctor registry, with its own reset function.
    from pagedoctor import middleware
    from pagedoctor.cache import backend, stats, tracking

    middleware.reset()
    tracking.reset()
    stats.reset()
    backend.health.down.clear()


@pytest.fixture(autouse=True)
def _fresh_process_state() -> Iterator[None]:
    reset_process_state()
    yield
    reset_process_state()
