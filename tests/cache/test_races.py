"""Force, one by one, the interleavings where a cache could serve a value that is outdated.

Each test stops a thread at a seam of :mod:`pagedoctor.cache` (a module-level function wrapped
with ``monkeypatch``), commits a write from another thread while it waits, lets it go on, and
checks what is served against what was committed. Events order the threads; every wait has a
timeout (:data:`tests.cache.harness.WAIT_S`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from django.core.cache import caches
from django.db import connection, transaction
from django.db.models import F
from django.test import override_settings

from pagedoctor.cache import get_or_compute, stats, tags, tracking, transactions, values, versions
from tests.cache import harness
from tests.cache.harness import Pause, Worker, gadget_size, wait
from tests.services import require_service
from tests.testapp.models import Book, Gadget, Publisher, Tag

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=["locmem", "redis"])
def shared_cache(request: pytest.FixtureRequest) -> Iterator[str]:
    """Make pagedoctor's cache one that every thread shares: in-process, then Redis."""
    if request.param == "redis":
        require_service("redis")
    with override_settings(CACHES={"default": harness.cache_config(request.param)}):
        caches["default"].clear()
        tracking.reset()  # a new cache, not a lost one
        # As in a process that has served requests: pagedoctor knows it caches.
        get_or_compute("races:warm-up", lambda: None)
        harness.computed.clear()
        yield request.param
        caches["default"].clear()


class Rollback(Exception):
    """Raised to roll an atomic block back on purpose."""


@contextmanager
def rolled_back() -> Iterator[None]:
    """Run the block in a savepoint (or transaction) that is rolled back at its end."""
    try:
        with transaction.atomic():
            yield
            raise Rollback
    except Rollback:
        pass


def needs_snapshots() -> None:
    if connection.vendor == "sqlite":
        pytest.skip(harness.NO_SNAPSHOTS)


def grow(pk: int, by: int = 1) -> None:
    Gadget.objects.filter(pk=pk).update(size=F("size") + by)


def sizes(*pks: int) -> list[int]:
    return [harness.committed_size(pk) for pk in pks]


def computations(*pks: int, since: list[int] | None = None) -> list[int]:
    """Return how many times gadget_size computed each row's value (since ``since``)."""
    counts = [harness.computed[f"size {pk}"] for pk in pks]
    return [n - m for n, m in zip(counts, since or [0] * len(pks), strict=True)]


# a. A write commits between a read and its store.


@pytest.mark.parametrize("seam", ["before the store", "between the store's check and its set"])
def test_a_write_committed_while_a_value_is_stored_is_not_served(
    shared_cache: str, monkeypatch: pytest.MonkeyPatch, seam: str
) -> None:
    (pk,) = harness.make_gadgets(1, size=1)
    if seam == "before the store":
        pause = Pause(monkeypatch, values, "store", thread="reader")
    else:
        pause = Pause(monkeypatch, values, "_outdated", thread="reader", after=True)
    reader = Worker("reader", gadget_size, pk).start()
    pause.wait_reached()  # the reader has read size 1 and not stored it yet
    grow(pk)  # autocommit: committed and invalidated when it returns
    assert sizes(pk) == [2]
    pause.release()

    assert reader.result() == 1  # it began before the commit: the old value is its answer
    assert gadget_size(pk) == 2
    assert harness.computed[f"size {pk}"] == 2
    if seam == "before the store":  # the store compares versions and refuses
        assert stats.totals()["default"]["unstored"] == 1


# b. A snapshot transaction computes a value from before a commit, with versions from after it.


@pytest.mark.parametrize("chosen_by", ["isolation_level", "session default"])
def test_a_snapshot_transaction_does_not_store_what_it_read_before_a_commit(
    shared_cache: str, chosen_by: str
) -> None:
    """A REPEATABLE READ transaction computes a value from its snapshot, older than a commit.

    The isolation level is Django's ``OPTIONS["isolation_level"]``, or the session's default
    as the server, ``OPTIONS["init_command"]`` or ``"-c default_transaction_isolation=..."``
    set it (Django then does not set one, and ``connection.isolation_level`` says READ
    COMMITTED, or None on MariaDB).
    """
    needs_snapshots()
    (pk,) = harness.make_gadgets(1, size=1)
    began, committed = threading.Event(), threading.Event()

    def in_snapshot() -> tuple[int, int]:
        harness.use_snapshot_isolation(tell_django=chosen_by == "isolation_level")
        with transaction.atomic():
            Publisher.objects.count()  # the first read: the snapshot is taken here
            began.set()
            wait(committed, "the write committed")
            return harness.committed_size(pk), gadget_size(pk)

    reader = Worker("snapshot", in_snapshot).start()
    wait(began, "the snapshot transaction began")
    grow(pk)
    committed.set()
    seen, served = reader.result()

    assert seen == served == 1  # the transaction's own view: the write is not in its snapshot
    assert gadget_size(pk) == 2  # not the value the snapshot computed
    assert harness.computed[f"size {pk}"] == 2


# c. Savepoints: a rolled-back one leaves nothing behind; the outer commit invalidates the rest.


def test_a_rolled_back_savepoint_leaves_nothing_and_the_outer_commit_invalidates_the_rest(
    shared_cache: str,
) -> None:
    a, b, c, d, e = harness.make_gadgets(5, size=1)
    assert [gadget_size(pk) for pk in (a, b, c, d, e)] == [1] * 5

    with transaction.atomic():
        grow(a)  # the outer block, before any savepoint
        with rolled_back():
            grow(b)
            grow(a)
            assert (gadget_size(b), gadget_size(a)) == (2, 3)  # computed, never to be stored
        grow(c)  # the outer block, after a rolled-back savepoint
        with transaction.atomic():
            grow(d)  # a savepoint released into the outer block
        with rolled_back():
            grow(e)
            assert gadget_size(e) == 2
        assert [gadget_size(pk) for pk in (a, b, c, d, e)] == [2, 1, 2, 2, 1]

    assert sizes(a, b, c, d, e) == [2, 1, 2, 2, 1]
    counted = computations(a, b, c, d, e)
    assert [gadget_size(pk) for pk in (a, b, c, d, e)] == [2, 1, 2, 2, 1]
    # Computed again: what the commit changed; served from the cache: what it did not.
    assert computations(a, b, c, d, e, since=counted) == [1, 0, 1, 1, 0]
    assert [gadget_size(pk) for pk in (a, b, c, d, e)] == [2, 1, 2, 2, 1]


def test_a_rolled_back_transaction_leaves_the_committed_values(shared_cache: str) -> None:
    a, b = harness.make_gadgets(2, size=1)
    assert [gadget_size(a), gadget_size(b)] == [1, 1]

    with rolled_back():
        grow(a)
        with transaction.atomic():
            grow(b)
            assert [gadget_size(a), gadget_size(b)] == [2, 2]

    assert sizes(a, b) == [1, 1]
    counted = computations(a, b)
    assert [gadget_size(a), gadget_size(b)] == [1, 1]
    assert computations(a, b, since=counted) == [0, 0]  # the values cached before it


# d. An application's on_commit callback that raises.


def test_an_on_commit_callback_that_raises_does_not_skip_the_invalidation(
    shared_cache: str,
) -> None:
    a, b = harness.make_gadgets(2, size=1)
    assert [gadget_size(a), gadget_size(b)] == [1, 1]

    def fail() -> None:
        raise Rollback("an application callback failed")

    def write() -> None:
        with transaction.atomic():
            transaction.on_commit(fail)  # not robust, and before pagedoctor's
            grow(a)
            with transaction.atomic():
                grow(b)

    with pytest.raises(Rollback, match="an application callback failed"):
        write()

    assert sizes(a, b) == [2, 2]  # committed before the callbacks ran
    assert [gadget_size(a), gadget_size(b)] == [2, 2]


# e. Read-your-writes: a transaction sees its own writes; what it computes is never stored.


@dataclass(frozen=True)
class Write:
    """One way to add 1 to what a cached function returns, and that function."""

    write: Callable[[int], None]
    cached: Callable[[int], int]
    vendors: tuple[str, ...] = ("sqlite", "postgresql", "mysql")


def _save(pk: int) -> None:
    gadget = Gadget.objects.get(pk=pk)
    gadget.size += 1
    gadget.save()


def _raw(pk: int) -> None:
    table = connection.ops.quote_name(Gadget._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET size = size + 1 WHERE id = %s", [pk])


def _bulk_update(pk: int) -> None:
    gadget = Gadget.objects.get(pk=pk)
    gadget.size += 1
    Gadget.objects.bulk_update([gadget], ["size"])


def _m2m_add(pk: int) -> None:
    Book.objects.get(pk=pk).tags.add(Tag.objects.create(name="added"))


def _unreadable(pk: int) -> None:
    """Write with a statement pagedoctor cannot read, so it must assume it changed anything."""
    table = Gadget._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"DO $$ BEGIN UPDATE {table} SET size = size + 1 WHERE id = {pk}; END $$"
            )
        else:
            columns = "id, kind, color, serial, maker, {size}, created"
            cursor.execute(
                f"REPLACE INTO {table} ({columns.format(size='size')}) "
                f"SELECT {columns.format(size='size + 1')} FROM {table} WHERE id = %s",
                [pk],
            )


def _behind_set(pk: int) -> None:
    """Write in the same statement as a SET (one round trip, as PostgreSQL allows)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SET LOCAL lock_timeout = '5s'; "
            f"UPDATE {Gadget._meta.db_table} SET size = size + 1 WHERE id = {int(pk)}"
        )


def _low_priority(pk: int) -> None:
    """MySQL's UPDATE with a modifier before the table's name."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE LOW_PRIORITY {Gadget._meta.db_table} SET size = size + 1 WHERE id = %s", [pk]
        )


def _tags(pk: int) -> int:
    return harness.book_view(pk)[1]


WRITES = {
    "update": Write(grow, gadget_size),
    "save": Write(_save, gadget_size),
    "raw": Write(_raw, gadget_size),
    "bulk_update": Write(_bulk_update, gadget_size),
    "m2m_add": Write(_m2m_add, _tags),
    "unreadable": Write(_unreadable, gadget_size),
    "behind_set": Write(_behind_set, gadget_size, vendors=("postgresql",)),
    "low_priority": Write(_low_priority, gadget_size, vendors=("mysql",)),
}


@pytest.mark.parametrize("shared_cache", ["redis"], indirect=True)
@pytest.mark.parametrize("kind", WRITES)
def test_a_transaction_reads_its_own_writes_and_stores_none_of_them(
    shared_cache: str, kind: str
) -> None:
    way = WRITES[kind]
    if connection.vendor not in way.vendors:
        pytest.skip(f"{connection.vendor} does not run this kind of statement")
    served = {}
    for cached_before in ("cached", "not cached"):
        for outcome in ("commit", "rollback"):
            # A row of its own for each case, so that no case sees another's cached values.
            (pk,) = harness.make_books(1) if kind == "m2m_add" else harness.make_gadgets(1, size=1)
            before = way.cached(pk) if cached_before == "cached" else None
            with transaction.atomic() if outcome == "commit" else rolled_back():
                way.write(pk)
                inside = way.cached(pk)
            served[cached_before, outcome] = (before, inside, way.cached(pk))

    assert served == {
        # (served before the transaction, inside it after its write, after it ended)
        ("cached", "commit"): (1, 2, 2),
        ("cached", "rollback"): (1, 2, 1),
        ("not cached", "commit"): (None, 2, 2),
        ("not cached", "rollback"): (None, 2, 1),  # not what the transaction computed
    }


# The moment between a commit and its invalidation.


def test_no_stale_value_is_served_between_a_commit_and_its_invalidation(
    shared_cache: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (pk,) = harness.make_gadgets(1, size=1)
    assert gadget_size(pk) == 1
    pause = Pause(monkeypatch, transactions, "invalidate_now", thread="writer")

    def write() -> None:
        with transaction.atomic():
            grow(pk)

    writer = Worker("writer", write).start()
    pause.wait_reached()  # committed; its on_commit invalidation has not reached the cache
    try:
        committed = harness.committed_size(pk)
        served = gadget_size(pk)
    finally:
        pause.release()
    writer.result()

    assert committed == 2
    assert served == committed


@pytest.mark.parametrize("second", ["open", "committing", "autocommit"])
def test_overlapping_writes_to_one_table_serve_no_stale_value(
    shared_cache: str, monkeypatch: pytest.MonkeyPatch, second: str
) -> None:
    """Two writes to one table; the one that began second commits, and is invalidated, first.

    When the first commits, the second is a transaction still ``open``, or ``committing`` (its
    tags marked pending, its COMMIT not run yet), or an ``autocommit`` statement whose tags are
    marked and which has not run yet (as while it waits for a row lock).
    """
    if connection.vendor == "sqlite" and second != "autocommit":
        pytest.skip("SQLite runs one write transaction at a time: they cannot overlap")
    a, b = harness.make_gadgets(2, size=1)
    wrote, commit = threading.Event(), threading.Event()
    if second != "open":
        marked = Pause(monkeypatch, versions, "mark_on", thread="second", after=True)
    bumping = Pause(monkeypatch, transactions, "invalidate_now", thread="second")

    def write_b() -> None:
        if second == "autocommit":
            grow(b)
            return
        with transaction.atomic():
            grow(b)
            wrote.set()
            if second == "open":
                wait(commit, "the first write committed and the total was read")

    writer = Worker("second", write_b).start()
    if second == "open":
        wait(wrote, "the second write ran")
    else:
        marked.wait_reached()
    with transaction.atomic():
        grow(a)  # the first write commits, and is invalidated, before the second
    assert harness.total_size() == 3  # a's write is committed, b's is not
    if second == "open":
        commit.set()
    else:
        marked.release()
    bumping.wait_reached()  # b's write committed; its invalidation has not reached the cache
    try:
        committed = harness.committed_total()
        served = harness.total_size()
    finally:
        bumping.release()
    writer.result()

    assert committed == 4
    assert served == committed


def test_a_write_that_finishes_keeps_the_pending_mark_of_one_committing(
    shared_cache: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first write takes its pending mark on the table back while the second marks it."""
    a, b = harness.make_gadgets(2, size=1)
    assert harness.total_size() == 2  # and the inserts are invalidated: nothing is pending
    count_key = versions.pending_key(
        tags.table(Gadget._meta.db_table), versions.generation(caches["default"])
    )
    taken_back, go_on = threading.Event(), threading.Event()
    counts_left: list[int] = []

    def write_a() -> None:
        cache = caches["default"]  # this thread's: pause it once it counted its write out
        decr = cache.decr

        def paused(key: str, *args: object, **kwargs: object) -> int:
            found = decr(key, *args, **kwargs)
            if key == count_key and not taken_back.is_set():
                counts_left.append(found)
                taken_back.set()
                wait(go_on, "the second write marked the table pending")
            return found

        monkeypatch.setattr(cache, "decr", paused)
        grow(a)

    first = Worker("first", write_a).start()
    marked = Pause(monkeypatch, versions, "mark_on", thread="second", after=True)
    bumping = Pause(monkeypatch, transactions, "invalidate_now", thread="second")
    wait(taken_back, "the first write took its pending mark back")
    second = Worker("second", grow, b).start()  # autocommit: marked, then run, then bumped
    marked.wait_reached()
    go_on.set()
    first.result()
    assert counts_left == [0]  # no other write was committing to the table when a's ended
    assert harness.total_size() == 3  # a's write is committed; b's has not run
    marked.release()
    bumping.wait_reached()  # b's write committed; its invalidation has not reached the cache
    try:
        committed = harness.committed_total()
        served = harness.total_size()
    finally:
        bumping.release()
    second.result()

    assert committed == 4
    assert served == committed


def test_a_raw_write_on_a_cursor_never_closed_is_invalidated(shared_cache: str) -> None:
    (pk,) = harness.make_gadgets(1, size=1)
    assert gadget_size(pk) == 1

    def write() -> None:
        # As a view may: no ``with``, and the request's end closes the connection.
        cursor = connection.cursor()
        cursor.execute(f"UPDATE {Gadget._meta.db_table} SET size = size + 1 WHERE id = %s", [pk])
        connection.close()

    Worker("writer", write).start().result()

    assert harness.committed_size(pk) == 2
    assert gadget_size(pk) == 2


# The stampede lock: waiters wait for the holder's value, not for a value that never comes.


def test_a_waiter_does_not_wait_out_the_lock_when_the_holder_stores_nothing(
    shared_cache: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (pk,) = harness.make_gadgets(1, size=1)
    holding = Pause(monkeypatch, values, "store", thread="holder")
    waiting = Pause(monkeypatch, values, "_wait", thread="waiter")
    holder = Worker("holder", harness.locked_size, pk).start()
    holding.wait_reached()  # it computed 1 and holds the lock
    grow(pk)  # so its value will not be stored
    waiter = Worker("waiter", harness.locked_size, pk).start()
    waiting.wait_reached()  # it found the lock taken and waits for the holder's value
    waiting.release()
    released = time.monotonic()
    holding.release()

    assert holder.result() == 1
    assert waiter.result() == 2
    # It computed as soon as the lock was free, not after lock_timeout (10 s) of polling.
    assert time.monotonic() - released < 5


# A cache that loses everything (Redis FLUSHDB, a restart) while values are computed.


@pytest.mark.parametrize("lost", ["before the write", "after the write"])
def test_a_cache_lost_while_a_value_is_computed_serves_no_stale_value(
    shared_cache: str, monkeypatch: pytest.MonkeyPatch, lost: str
) -> None:
    (pk,) = harness.make_gadgets(1, size=1)
    pause = Pause(monkeypatch, values, "store", thread="reader")
    reader = Worker("reader", gadget_size, pk).start()
    pause.wait_reached()
    if lost == "before the write":
        caches["default"].clear()
    grow(pk)
    if lost == "after the write":
        caches["default"].clear()
    pause.release()

    assert reader.result() == 1
    assert gadget_size(pk) == 2


def test_a_cache_lost_while_a_write_commits_serves_no_stale_value(
    shared_cache: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache is emptied between a write's pending mark and its commit: the mark is lost."""
    (pk,) = harness.make_gadgets(1, size=1)
    marked = Pause(monkeypatch, versions, "mark_on", thread="writer", after=True)
    bumping = Pause(monkeypatch, transactions, "invalidate_now", thread="writer")
    writer = Worker("writer", grow, pk).start()  # autocommit: marked, then run, then bumped
    marked.wait_reached()  # its tags are marked pending; its UPDATE has not run
    caches["default"].clear()  # and the marks go with everything else
    assert gadget_size(pk) == 1  # what is committed: the write has not run
    marked.release()
    bumping.wait_reached()  # committed; its invalidation has not reached the cache
    try:
        committed = harness.committed_size(pk)
        served = gadget_size(pk)
    finally:
        bumping.release()
    writer.result()

    assert committed == 2
    assert served == committed


def test_a_cache_lost_during_a_snapshot_transaction_serves_no_stale_value(
    shared_cache: str,
) -> None:
    needs_snapshots()
    (pk,) = harness.make_gadgets(1, size=1)
    assert gadget_size(pk) == 1
    began, committed = threading.Event(), threading.Event()

    def in_snapshot() -> int:
        harness.use_snapshot_isolation()
        with transaction.atomic():
            Publisher.objects.count()
            began.set()
            wait(committed, "the write committed and the cache was lost")
            return gadget_size(pk)

    reader = Worker("snapshot", in_snapshot).start()
    wait(began, "the snapshot transaction began")
    grow(pk)
    caches["default"].clear()  # the clock the transaction began with is gone
    committed.set()

    assert reader.result() == 1
    assert gadget_size(pk) == 2
