"""What the race tests and the concurrency harness share: caches, rows, cached functions, threads.

The cached functions live here, not in a test module, so that every process of the harness
imports them under the same name and so reads and writes the same cache keys. Each one has a
twin that reads the same thing straight from the database, outside any cache: what was
committed when it ran.

Every counter only ever grows, so "stale" is exact: a value served that is smaller than what
a plain query read just before the call is stale. Writes that are rolled back on purpose add
:data:`ROLLED_BACK` (or name authors and tags with :data:`BAIT`), which no committed write ever
reaches: a value served that shows them was never committed.
"""

from __future__ import annotations

import itertools
import os
import secrets
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import django.utils.timezone
import pytest
from django.db import connection, connections
from django.db.models import Count, Q, Sum

import pagedoctor.cache as pdcache
from tests.testapp.models import Author, Book, Gadget, Tag

# Redis databases of their own, flushed by these tests: the race tests' and the load's, so
# that a run of one does not empty the cache under a run of the other. Other tests use 3 and
# the benchmarks 5.
REDIS_RACES = "redis://127.0.0.1:6379/12"
REDIS_LOAD = "redis://127.0.0.1:6379/11"
# Keys of this test session only: another session on the same Redis (another Python, a
# colleague's run) has rows with the same primary keys in another database, and must not be
# served this session's values.
KEY_PREFIX = f"pd-{os.getpid()}-{secrets.token_hex(3)}"
ROLLED_BACK = 1_000_000
BAIT = "x"
# Seconds any wait of a test may last before it fails instead of hanging.
WAIT_S = 15.0

computed: Counter[str] = Counter()
_computed_lock = threading.Lock()
_unique = itertools.count()


def cache_config(name: str) -> dict[str, Any]:
    """Return the CACHES entry of backend ``name``: ``locmem``, ``redis`` or ``redis-load``."""
    if name == "locmem":
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "races"}
    if name in ("redis", "redis-load"):
        return {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_LOAD if name == "redis-load" else REDIS_RACES,
            "KEY_PREFIX": KEY_PREFIX,
        }
    raise ValueError(f"no cache backend called {name!r}: locmem, redis or redis-load")


def _computing(what: str) -> None:
    with _computed_lock:
        computed[what] += 1


@pdcache.cached
def gadget_size(pk: int) -> int:
    """Read one row by primary key."""
    _computing(f"size {pk}")
    return int(Gadget.objects.values_list("size", flat=True).get(pk=pk))


@pdcache.cached
def total_size() -> int:
    """Aggregate a whole table."""
    _computing("total")
    return int(Gadget.objects.aggregate(total=Sum("size"))["total"] or 0)


@pdcache.cached
def book_view(pk: int) -> tuple[str, int, int]:
    """Read across a foreign key join and a many-to-many join."""
    _computing(f"book {pk}")
    return _book(pk)


@pdcache.cached(lock=True)
def locked_size(pk: int) -> int:
    """Read one row by primary key, one caller at a time (the stampede lock)."""
    _computing(f"locked size {pk}")
    return int(Gadget.objects.values_list("size", flat=True).get(pk=pk))


def committed_size(pk: int) -> int:
    """Return what :func:`gadget_size` must serve at least, read outside any cache."""
    return int(Gadget.objects.values_list("size", flat=True).get(pk=pk))


def committed_total() -> int:
    """Return what :func:`total_size` must serve at least, read outside any cache."""
    return int(Gadget.objects.aggregate(total=Sum("size"))["total"] or 0)


def committed_book(pk: int) -> tuple[str, int, int]:
    """Return what :func:`book_view` must serve at least, read outside any cache."""
    return _book(pk)


def _book(pk: int) -> tuple[str, int, int]:
    # One query across the author's foreign key and the tags' many-to-many table.
    name, tags, bait = (
        Book.objects.filter(pk=pk)
        .annotate(n=Count("tags"), bait=Count("tags", filter=Q(tags__name__startswith=BAIT)))
        .values_list("author__name", "n", "bait")
        .get()
    )
    return str(name), int(tags), int(bait)


def author_name(counter: int, book: int) -> str:
    """Return the name of the author of the ``book``-th book when its counter is ``counter``."""
    return f"n{counter:09d}-{book}"


def author_counter(name: str) -> int:
    """Return the counter in an author's name (:data:`ROLLED_BACK` and more for bait names)."""
    return ROLLED_BACK + int(name[1:10]) if name.startswith(BAIT) else int(name[1:10])


def renamed(name: str, *, bait: bool = False) -> str:
    """Return ``name`` with its counter grown by one, or as bait (never to be committed)."""
    book = int(name.split("-", 1)[1])
    grown = author_name(author_counter(name) + 1, book)
    return BAIT + grown[1:] if bait else grown


def make_gadgets(count: int, *, size: int = 0) -> list[int]:
    """Create ``count`` gadgets of ``size``; return their primary keys."""
    now = django.utils.timezone.now()
    made = Gadget.objects.bulk_create(
        Gadget(kind="k", color="c", serial=f"s{next(_unique)}", maker="m", size=size, created=now)
        for _ in range(count)
    )
    return sorted(g.pk for g in made)


def make_books(count: int) -> list[int]:
    """Create ``count`` books, each with an author of its own and one tag; return their keys."""
    pks = []
    for _ in range(count):
        i = next(_unique)
        author = Author.objects.create(name=author_name(0, i))
        book = Book.objects.create(title=f"b{i}", author=author)
        book.tags.add(Tag.objects.create(name=f"t{i}"))
        pks.append(book.pk)
    return pks


NO_SNAPSHOTS = (
    "the in-memory SQLite test database is shared between connections (cache=shared): its "
    "transactions take table locks, not snapshots"
)


def use_snapshot_isolation(*, tell_django: bool = True) -> None:
    """Make this thread's transactions read one snapshot taken at their start (REPEATABLE READ).

    Django's own level, READ COMMITTED, takes a snapshot per statement. ``tell_django``: also
    set ``connection.isolation_level``, as ``OPTIONS["isolation_level"]`` would; without it,
    the level is only the session's default, as the server or ``init_command`` may set it.
    """
    if connection.vendor == "postgresql":
        from django.db.backends.postgresql.psycopg_any import IsolationLevel

        statement = "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ"
        level: object = IsolationLevel.REPEATABLE_READ
    elif connection.vendor == "mysql":
        statement = "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"
        level = "repeatable read"
    else:
        raise RuntimeError(NO_SNAPSHOTS)
    with connection.cursor() as cursor:
        cursor.execute(statement)
    if tell_django:
        connection.isolation_level = level


class Worker:
    """Run a function in a thread of its own, with its own database connections.

    :meth:`result` waits at most :data:`WAIT_S`, then returns what the function returned or
    raises what it raised, so that a bug cannot hang the test run.
    """

    def __init__(self, name: str, func: Callable[..., Any], *args: Any) -> None:
        self.func, self.args = func, args
        self.value: Any = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> Worker:
        self.thread.start()
        return self

    def _run(self) -> None:
        try:
            self.value = self.func(*self.args)
        except BaseException as exc:  # handed to the test's thread by result()
            self.error = exc
        finally:
            connections.close_all()

    def result(self) -> Any:
        self.thread.join(WAIT_S)
        if self.thread.is_alive():
            raise AssertionError(f"thread {self.thread.name} did not finish in {WAIT_S} s")
        if self.error is not None:
            raise self.error
        return self.value


def wait(event: threading.Event, what: str) -> None:
    """Wait for ``event``, at most :data:`WAIT_S`; fail saying ``what`` did not happen."""
    if not event.wait(WAIT_S):
        raise AssertionError(f"timed out waiting until {what}")


class Pause:
    """Stop a module-level function, in the thread called ``thread``, until the test says go.

    It stops before the original runs, or with ``after=True`` once it has returned. Other
    threads, and calls once :meth:`release` was called, run straight through.
    """

    def __init__(
        self,
        monkeypatch: pytest.MonkeyPatch,
        module: object,
        name: str,
        *,
        thread: str,
        after: bool = False,
    ) -> None:
        self.reached, self.go = threading.Event(), threading.Event()
        original = getattr(module, name)

        def paused(*args: Any, **kwargs: Any) -> Any:
            if threading.current_thread().name != thread:
                return original(*args, **kwargs)
            if not after:
                self._stop()
            result = original(*args, **kwargs)
            if after:
                self._stop()
            return result

        self.where = f"{thread} reaches {getattr(module, '__name__', module)}.{name}"
        monkeypatch.setattr(module, name, paused)

    def _stop(self) -> None:
        self.reached.set()
        if not self.go.wait(WAIT_S):
            raise TimeoutError(f"nobody released the pause where {self.where}")

    def wait_reached(self) -> None:
        """Wait until the paused thread is stopped at the function."""
        wait(self.reached, self.where)

    def release(self) -> None:
        """Let the paused thread go on."""
        self.go.set()
