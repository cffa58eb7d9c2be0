"""Concurrent readers and writers, in threads of several processes, on one database and cache.

:func:`run` starts the processes (``spawn``: each sets Django up afresh, on the test database
whose name it is given), lets them go at once, flushes the cache at set points of the run, and
returns what they counted. In every process:

- readers read what is committed with a plain query, then call a cached function, and count
  a *stale* value when it serves less than that (counters only grow), a *dirty* one when it
  serves what only a rolled-back write wrote;
- snapshot readers do the same inside a REPEATABLE READ transaction: the plain query takes the
  snapshot, and the cached function may serve it or anything newer, never older;
- writers grow the counters in every way Django writes, some rolled back on purpose, and count
  what they committed, to be checked against the database after.

Threads take operations from one shared count until none is left, so the run does exactly as
many as it is asked to, however fast each kind of thread is.

Writers say which rows they are writing (:attr:`Shared.busy`) from before their write until its
invalidation has been sent, so that a stale value can be told apart: served while a write to
what it read had committed but was not yet invalidated, or after every invalidation was sent.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import random
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

# Seconds a process may take to start, and the whole run to finish, before the test fails.
START_S = 60.0
RUN_S = 150.0


@dataclass(frozen=True)
class Plan:
    """What every process needs to know: where, which rows, what threads, how much to do."""

    database: str
    cache: dict[str, Any]
    gadgets: tuple[int, ...]
    serials: tuple[str, ...]
    books: tuple[int, ...]
    authors: tuple[int, ...]  # the author of each book, in the same order
    roles: tuple[str, ...]  # one thread each, in every process: reader, snapshot or writer
    operations: int  # reads and writes, in all, shared out to whichever thread is free
    write_share: float  # at most this part of the operations done so far are writes
    results: str
    seed: int = 0

    def resources(self) -> int:
        return len(self.gadgets) + 2 * len(self.books)


@dataclass
class Shared:
    """What the processes share: the start, the operations left to do, the writes in flight."""

    start: Any  # multiprocessing Barrier
    left: Any  # multiprocessing Value("i"): operations not yet taken
    writes: Any  # multiprocessing Value("i"): writes taken
    busy: Any  # multiprocessing Array("i"): writes in flight per resource

    def take(self, total: int, *, share: float | None = None) -> bool | None:
        """Take one operation; False once none is left, None if a write must wait its turn.

        ``share`` is given for writes: the part of the operations done so far they may be.
        """
        with self.left.get_lock():
            if self.left.value <= 0:
                return False
            if share is not None:
                if self.writes.value > share * (total - self.left.value):
                    return None
                self.writes.value += 1
            self.left.value -= 1
            return True


@dataclass
class Tally:
    """What one thread counted."""

    counts: Counter[str] = field(default_factory=Counter)
    committed: Counter[str] = field(default_factory=Counter)
    examples: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def run(
    plan: Plan, *, processes: int, flush_at: tuple[float, ...], flush: Callable[[], None]
) -> dict[str, Any]:
    """Run ``processes`` processes of ``plan.roles`` threads; return their merged counts.

    ``flush`` (which empties the cache) runs once each part of the operations in ``flush_at``
    (0.5: half of them) has been taken.
    """
    context = multiprocessing.get_context("spawn")
    shared = Shared(
        start=context.Barrier(processes + 1),
        left=context.Value("i", plan.operations),
        writes=context.Value("i", 0, lock=False),
        busy=context.Array("i", plan.resources()),
    )
    workers = [
        context.Process(target=process_main, args=(plan, shared, n), name=f"harness-{n}")
        for n in range(processes)
    ]
    for worker in workers:
        worker.start()
    flushed: list[float] = []
    try:
        shared.start.wait(START_S)
        deadline = time.monotonic() + RUN_S
        alive = list(workers)
        due = sorted(flush_at)
        while alive and time.monotonic() < deadline:
            wait([w.sentinel for w in alive], timeout=0.02)
            alive = [w for w in alive if w.is_alive()]
            done = 1 - shared.left.value / plan.operations
            if due and done >= due[0] and shared.left.value > 0:
                due.pop(0)
                flush()
                flushed.append(time.time())
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.kill()
            worker.join(10)
    exit_codes = [w.exitcode for w in workers]
    for worker in workers:
        worker.close()
    merged = merge(Path(plan.results), processes)
    merged.update(flushes=len(flushed), exit_codes=exit_codes)
    for example in merged["examples"]:
        # How close to a flush of the cache it was served: a flush loses the pending marks.
        example["seconds from a flush"] = round(
            min((example["at"] - at for at in flushed), key=abs, default=float("inf")), 3
        )
    return merged


def merge(results: Path, processes: int) -> dict[str, Any]:
    """Add up what the processes wrote to ``results``."""
    total: dict[str, Any] = {
        "counts": Counter(),
        "committed": Counter(),
        "stats": Counter(),
        "unstored": Counter(),
        "examples": [],
        "errors": [],
        "began": [],
        "ended": [],
    }
    for n in range(processes):
        path = results / f"{n}.json"
        if not path.exists():
            total["errors"].append(f"process {n} wrote no results")
            continue
        found = json.loads(path.read_text())
        for key in ("counts", "committed", "stats", "unstored"):
            total[key].update(found[key])
        for key in ("examples", "errors"):
            total[key] += found[key]
        total["began"].append(found["began"])
        total["ended"].append(found["ended"])
    total["seconds"] = max(total["ended"], default=0) - min(total["began"], default=0)
    return total


def process_main(plan: Plan, shared: Shared, number: int) -> None:
    """Set Django up on the test database and cache, run the threads, write what they counted."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")  # the parent's, if set
    import django
    from django.conf import settings

    settings.DATABASES["default"]["NAME"] = plan.database
    settings.CACHES = {"default": plan.cache}
    django.setup()

    from pagedoctor.cache import stats

    unstored = _count_unstored()
    tallies = [Tally() for _ in plan.roles]
    threads = [
        threading.Thread(
            target=thread_main,
            args=(role, plan, shared, tallies[i], random.Random(f"{plan.seed}-{number}-{i}")),
            name=f"{role}-{number}-{i}",
        )
        for i, role in enumerate(plan.roles)
    ]
    shared.start.wait(START_S)
    began = time.time()
    for thread in threads:
        thread.start()
    errors = []
    for thread in threads:
        thread.join(RUN_S)
        if thread.is_alive():
            errors.append(f"{thread.name} did not finish in {RUN_S} s")
    ended = time.time()
    result = {
        "counts": sum((t.counts for t in tallies), Counter()),
        "committed": sum((t.committed for t in tallies), Counter()),
        "stats": stats.totals().get("default", {}),
        "unstored": unstored,
        "examples": [e for t in tallies for e in t.examples][:10],
        "errors": errors + [e for t in tallies for e in t.errors],
        "began": began,
        "ended": ended,
    }
    Path(plan.results, f"{number}.json").write_text(json.dumps(result))
    if errors:
        os._exit(3)  # a thread is stuck: do not wait for it


def _count_unstored() -> Counter[str]:
    """Count why values were computed and not stored, from pagedoctor's debug log."""
    found: Counter[str] = Counter()

    class Reasons(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.msg.startswith("pagedoctor: not caching") and record.args:
                found[str(record.args[-1])] += 1

    logger = logging.getLogger("pagedoctor.cache")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(Reasons(logging.DEBUG))
    return found


def thread_main(role: str, plan: Plan, shared: Shared, tally: Tally, rng: random.Random) -> None:
    """Run one reader, snapshot reader or writer until its work is done."""
    from django.db import connections

    from tests.cache import harness

    try:
        if role == "writer":
            writes = Writes(plan, shared, tally, rng)
            while (taken := shared.take(plan.operations, share=plan.write_share)) is not False:
                if taken:
                    writes.one()
                else:
                    time.sleep(0.001)  # the readers are behind: let them catch up
            return
        if role == "snapshot":
            harness.use_snapshot_isolation()
        reads = Reads(plan, shared, tally, rng, snapshot=role == "snapshot")
        while shared.take(plan.operations):
            reads.one()
    except Exception:
        tally.errors.append(traceback.format_exc())
    finally:
        connections.close_all()


class Reads:
    """A reader: a plain query for what is committed, then the cached function, compared."""

    def __init__(
        self, plan: Plan, shared: Shared, tally: Tally, rng: random.Random, *, snapshot: bool
    ) -> None:
        self.plan, self.shared, self.tally, self.rng = plan, shared, tally, rng
        self.snapshot = snapshot

    def one(self) -> None:
        from django.db import transaction

        from tests.cache import harness

        which = self.rng.choice(("row", "row", "total", "book", "book"))
        with transaction.atomic() if self.snapshot else _nothing():
            if which == "row":
                index = self.rng.randrange(len(self.plan.gadgets))
                pk = self.plan.gadgets[index]
                before: tuple[int, ...] = (harness.committed_size(pk),)
                busy = self._busy([index])
                served: tuple[int, ...] = (harness.gadget_size(pk),)
                args: tuple[int, ...] = (pk,)
            elif which == "total":
                before = (harness.committed_total(),)
                busy = self._busy(range(len(self.plan.gadgets)))
                served = (harness.total_size(),)
                args = ()
            else:
                index = self.rng.randrange(len(self.plan.books))
                pk = self.plan.books[index]
                before = _book_counters(harness.committed_book(pk))
                first = len(self.plan.gadgets) + 2 * index
                busy = self._busy([first, first + 1])
                served = _book_counters(harness.book_view(pk))
                args = (pk,)
        self._check(which, args, before, served, busy)

    def _busy(self, indexes: Any) -> bool:
        # After the plain query: a write it saw has either sent its invalidation or is in flight.
        values = self.shared.busy[:]
        return any(values[i] for i in indexes)

    def _check(
        self,
        which: str,
        args: tuple[int, ...],
        before: tuple[int, ...],
        served: tuple[int, ...],
        busy: bool,
    ) -> None:
        from tests.cache.harness import ROLLED_BACK

        counts = self.tally.counts
        counts["reads"] += 1
        counts[f"reads {which}"] += 1
        if self.snapshot:
            counts["snapshot reads"] += 1
        stale = any(s < b for s, b in zip(served, before, strict=True))
        dirty = any(s >= ROLLED_BACK for s in served)
        if stale:
            counts["stale"] += 1
            counts["stale while a write was in flight" if busy else "stale after invalidation"] += 1
        if dirty:
            counts["dirty"] += 1
        if (stale or dirty) and len(self.tally.examples) < 5:
            self.tally.examples.append(
                {
                    "read": which,
                    "committed before": before,
                    "served": served,
                    "write in flight": busy,
                    "snapshot": self.snapshot,
                    "thread": threading.current_thread().name,
                    "at": time.time(),
                    **_stored(which, args),
                }
            )


def _stored(which: str, args: tuple[int, ...]) -> dict[str, Any]:
    """Return what the cache holds for a value found stale, to say where it came from."""
    from django.core.cache import caches

    from pagedoctor.cache import keys, versions
    from tests.cache import harness

    func = {"row": harness.gadget_size, "total": harness.total_size, "book": harness.book_view}
    key, _ = keys.for_call(func[which].__wrapped__, args, {}, None)  # type: ignore[attr-defined]
    entry = caches["default"].get(key)
    if entry is None:
        return {"stored": None}
    return {
        "stored": repr(entry.value),
        "stored seconds ago": round(time.time() - entry.created, 3),
        "stored with": entry.deps,
        "versions now": versions.read(caches["default"], entry.deps),
    }


def _book_counters(found: tuple[str, int, int]) -> tuple[int, ...]:
    from tests.cache.harness import ROLLED_BACK, author_counter

    name, tags, bait = found
    return (author_counter(name), tags + ROLLED_BACK * bait)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


class Rollback(Exception):
    """Raised to roll a writer's transaction back on purpose."""


def _rolled_back() -> int:
    from tests.cache.harness import ROLLED_BACK

    return ROLLED_BACK


class Writes:
    """A writer: grows counters in every way Django writes, some rolled back on purpose."""

    KINDS = {
        "update": 3,
        "update_unpinned": 1,
        "raw": 2,
        "save": 2,
        "atomic": 2,
        "rolled_back": 1,
        "savepoint": 1,
        "bulk_update": 1,
        "rename": 2,
        "m2m_add": 2,
        "m2m_rolled_back": 1,
    }

    def __init__(self, plan: Plan, shared: Shared, tally: Tally, rng: random.Random) -> None:
        self.plan, self.shared, self.tally, self.rng = plan, shared, tally, rng
        self.kinds = list(self.KINDS)
        self.weights = list(self.KINDS.values())
        self.made = 0

    def one(self) -> None:
        from django.db import DatabaseError

        kind = self.rng.choices(self.kinds, self.weights)[0]
        method: Callable[[], Counter[str]] = getattr(self, kind)
        self.tally.counts["writes"] += 1
        self.tally.counts[f"writes {kind}"] += 1
        try:
            committed = method()
        except Rollback:
            self.tally.counts["rolled back"] += 1
        except DatabaseError as exc:  # a deadlock or serialization failure: rolled back
            self.tally.counts["aborted"] += 1
            self.tally.counts[f"aborted {type(exc).__name__}"] += 1
        else:
            self.tally.committed.update(committed)

    # Each write returns what it grew, once committed; _writing marks what it may touch busy
    # from before it writes until its invalidation has been sent.

    def _gadgets(self, count: int) -> list[int]:
        return sorted(self.rng.sample(range(len(self.plan.gadgets)), count))

    @contextmanager
    def _writing(self, indexes: list[int]) -> Iterator[None]:
        busy = self.shared.busy
        with busy.get_lock():
            for i in indexes:
                busy.get_obj()[i] += 1
        try:
            yield
        finally:
            with busy.get_lock():
                for i in indexes:
                    busy.get_obj()[i] -= 1

    def _grow(self, indexes: list[int], by: int = 1) -> Counter[str]:
        from django.db.models import F

        from tests.testapp.models import Gadget

        for i in indexes:
            Gadget.objects.filter(pk=self.plan.gadgets[i]).update(size=F("size") + by)
        return Counter({f"gadget {self.plan.gadgets[i]}": by for i in indexes})

    def update(self) -> Counter[str]:
        indexes = self._gadgets(1)
        with self._writing(indexes):
            return self._grow(indexes)

    def update_unpinned(self) -> Counter[str]:
        from django.db.models import F

        from tests.testapp.models import Gadget

        (i,) = self._gadgets(1)
        with self._writing([i]):
            Gadget.objects.filter(serial=self.plan.serials[i]).update(size=F("size") + 1)
        return Counter({f"gadget {self.plan.gadgets[i]}": 1})

    def raw(self) -> Counter[str]:
        from django.db import connection

        from tests.testapp.models import Gadget

        (i,) = self._gadgets(1)
        table = connection.ops.quote_name(Gadget._meta.db_table)
        with self._writing([i]), connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET size = size + 1 WHERE id = %s", [self.plan.gadgets[i]]
            )
        return Counter({f"gadget {self.plan.gadgets[i]}": 1})

    def save(self) -> Counter[str]:
        from django.db import transaction

        from tests.testapp.models import Gadget

        (i,) = self._gadgets(1)
        with self._writing([i]), transaction.atomic():
            gadget = Gadget.objects.select_for_update().get(pk=self.plan.gadgets[i])
            gadget.size += 1
            gadget.save(update_fields=["size"])
        return Counter({f"gadget {gadget.pk}": 1})

    def atomic(self, *, bait: bool = False) -> Counter[str]:
        from django.db import transaction

        indexes = self._gadgets(2)
        book = self.rng.randrange(len(self.plan.books))
        author = len(self.plan.gadgets) + 2 * book
        with self._writing([*indexes, author]), transaction.atomic():
            grown = self._grow(indexes, _rolled_back() if bait else 1)
            grown.update(self._rename(book, bait=bait))
            if bait:
                raise Rollback
        return grown

    def rolled_back(self) -> Counter[str]:
        return self.atomic(bait=True)

    def savepoint(self) -> Counter[str]:
        from django.db import transaction

        indexes = self._gadgets(2)
        with self._writing(indexes), transaction.atomic():
            grown = self._grow(indexes[:1])
            try:
                with transaction.atomic():
                    self._grow(indexes[1:], _rolled_back())
                    raise Rollback
            except Rollback:
                pass
        return grown

    def bulk_update(self) -> Counter[str]:
        from django.db import transaction

        from tests.testapp.models import Gadget

        indexes = self._gadgets(2)
        pks = [self.plan.gadgets[i] for i in indexes]
        with self._writing(indexes), transaction.atomic():
            gadgets = list(Gadget.objects.select_for_update().filter(pk__in=pks).order_by("pk"))
            for gadget in gadgets:
                gadget.size += 1
            Gadget.objects.bulk_update(gadgets, ["size"])
        return Counter({f"gadget {pk}": 1 for pk in pks})

    def rename(self) -> Counter[str]:
        from django.db import transaction

        book = self.rng.randrange(len(self.plan.books))
        with self._writing([len(self.plan.gadgets) + 2 * book]), transaction.atomic():
            return self._rename(book)

    def _rename(self, book: int, *, bait: bool = False) -> Counter[str]:
        from tests.cache.harness import renamed
        from tests.testapp.models import Author

        pk = self.plan.authors[book]
        author = Author.objects.select_for_update().get(pk=pk)
        author.name = renamed(author.name, bait=bait)
        author.save(update_fields=["name"])
        return Counter({f"author {pk}": 1})

    def m2m_add(self, *, bait: bool = False) -> Counter[str]:
        from django.db import transaction

        from tests.cache.harness import BAIT
        from tests.testapp.models import Book, Tag

        book = self.rng.randrange(len(self.plan.books))
        pk = self.plan.books[book]
        self.made += 1
        name = f"{BAIT if bait else 't'}{threading.get_ident() % 10**8}-{self.made}"
        with self._writing([len(self.plan.gadgets) + 2 * book + 1]):
            if bait:
                with transaction.atomic():
                    Book.objects.get(pk=pk).tags.add(Tag.objects.create(name=name))
                    raise Rollback
            Book.objects.get(pk=pk).tags.add(Tag.objects.create(name=name))
        return Counter({f"book {pk}": 1})

    def m2m_rolled_back(self) -> Counter[str]:
        return self.m2m_add(bait=True)
