"""What the cache benchmarks share: settings for each contender, the data, and counters.

``benchmarks/cache_hit.py`` and ``benchmarks/cache_orm.py`` configure Django in code (no settings
module) with the one-model app ``cache_app``, on SQLite in memory or on a PostgreSQL database
of their own, and with Redis db 5 as the cache; they count Redis round trips at the client.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REDIS_URL = "redis://127.0.0.1:6379/5"
PG = {"HOST": "127.0.0.1", "PORT": "5432", "USER": "postgres"}
ROWS = 200
GROUPS = 10
# The contenders of cache_orm.py, and the app each one adds to INSTALLED_APPS.
APPS = {
    "none": [],
    "pagedoctor": ["pagedoctor"],
    "cachalot": ["cachalot"],
    "cacheops": ["cacheops"],
}


def configure(*, mode: str, database: str, cache: str = "redis") -> None:
    """Configure and set up Django for one contender.

    ``database`` is ``sqlite`` (in memory) or the name of a PostgreSQL database; ``cache`` is
    ``redis`` or ``locmem``. The peers are configured as their documentation says: cachalot
    uses the ``default`` cache (Django's Redis backend), cacheops its own Redis client on the
    same Redis database, with every operation cached for ``cache_app.Item``.
    """
    import django
    from django.conf import settings

    if database == "sqlite":
        db = {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
    else:
        db = {"ENGINE": "django.db.backends.postgresql", "NAME": database, **PG}
    if cache == "redis":
        backend = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    else:
        backend = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "b"}
    settings.configure(
        DEBUG=False,
        SECRET_KEY="pagedoctor-cache-benchmark",
        USE_TZ=True,
        DATABASES={"default": db},
        CACHES={"default": backend},
        INSTALLED_APPS=[*APPS[mode], "cache_app"],
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        LOGGING_CONFIG=None,
        CACHEOPS_REDIS=REDIS_URL,
        CACHEOPS={"cache_app.item": {"ops": "all", "timeout": 60 * 15}},
    )
    django.setup()


def create_schema_and_rows() -> None:
    """Create the ``Item`` table and its rows: ``ROWS`` rows in ``GROUPS`` groups."""
    from cache_app.models import Item
    from django.db import connection

    with connection.schema_editor() as editor:
        editor.create_model(Item)
    Item.objects.bulk_create(
        Item(name=f"item {n}", group=n % GROUPS, counter=0) for n in range(ROWS)
    )


def flush_redis() -> None:
    """Empty the benchmarks' Redis database (db 5), and only it."""
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


class RoundTrips:
    """Count the requests redis-py sends: one per command, one per pipeline."""

    def __init__(self) -> None:
        self.count = 0
        self.on = False

    def install(self) -> None:
        from redis.connection import AbstractConnection

        original = AbstractConnection.send_packed_command
        counter = self

        def send_packed_command(self: Any, command: Any, check_health: bool = True) -> None:
            if counter.on:
                counter.count += 1
            original(self, command, check_health)

        AbstractConnection.send_packed_command = send_packed_command  # type: ignore[method-assign]

    @contextmanager
    def counting(self) -> Iterator[None]:
        """Count inside the block only (from zero)."""
        self.count, self.on = 0, True
        try:
            yield
        finally:
            self.on = False


@contextmanager
def counting_sql(into: list[int]) -> Iterator[None]:
    """Count the SQL statements that reach the database inside the block, in ``into[0]``."""
    from django.db import connection

    def wrapper(execute: Callable[..., Any], *args: Any) -> Any:
        into[0] += 1
        return execute(*args)

    with connection.execute_wrapper(wrapper):
        yield


def spread(values: Sequence[float], digits: int = 1) -> str:
    """Return ``median (min-max)`` of ``values``."""
    low, mid, high = min(values), statistics.median(values), max(values)
    return f"{mid:.{digits}f} ({low:.{digits}f}-{high:.{digits}f})"


def ratios(values: Sequence[float], bases: Sequence[float]) -> str:
    """Return ``median (min-max)`` of ``values[i] / bases[i]``: ratios within each repetition."""
    return spread([v / b for v, b in zip(values, bases, strict=True)], digits=2)


def create_database(name: str) -> None:
    """Create the PostgreSQL database ``name`` afresh (dropping a leftover one)."""
    drop_database(name)
    with _postgres() as server:
        server.execute(f'CREATE DATABASE "{name}"')


def drop_database(name: str) -> None:
    """Drop the PostgreSQL database ``name`` if it exists."""
    with _postgres() as server:
        server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _postgres() -> Any:
    import psycopg

    return psycopg.connect(
        host=PG["HOST"], port=PG["PORT"], user=PG["USER"], dbname="postgres", autocommit=True
    )


def fill_database(name: str) -> None:
    """Create the table and rows in the PostgreSQL database ``name``, in a process of its own."""
    code = (
        "import cache_common as c; "
        f"c.configure(mode='none', database={name!r}, cache='locmem'); c.create_schema_and_rows()"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parent)
