"""Follow each connection's transactions: invalidate what a write changed when it commits.

A committed write changes its tags twice (:mod:`pagedoctor.cache.versions`):

1. just *before* the commit, each tag is marked pending: no value that depends on a pending tag
   is served or stored, so nothing stale can be served between the commit and step 2;
2. just after it, each tag gets a new version.

- In autocommit the statement is its own commit: the mark is made before it runs, the bump once
  it is finished (its cursor closed, the connection closed, the request finished, or before the
  connection runs anything else: SQLite commits ``INSERT ... RETURNING`` only then).
- Inside ``atomic()`` the tags ride on ``on_commit`` entries, so Django drops those of a
  savepoint that is rolled back; ``commit()`` itself, wrapped, marks what is left, and the
  entries bump it once autocommit is back on, before the application's callbacks (one that
  raises cannot skip them). A rolled-back transaction invalidates nothing.
- In a transaction begun by hand (``set_autocommit(False)``), everything it wrote is marked and
  bumped around ``commit()``.

A pending mark expires after ``versions.PENDING_SECONDS``, so a process that dies between the
two steps cannot keep values uncached for longer than that.

Per connection this also keeps the tables the current transaction wrote (its reads bypass
cached values built from them: read-your-writes) and, for snapshot transactions, the clock when
the transaction began (:mod:`pagedoctor.cache.tracking` explains why).

``commit``, ``rollback``, ``close`` and ``run_and_clear_commit_hooks`` of ``BaseDatabaseWrapper``,
and ``close`` of Django's cursor wrapper, are wrapped once; the originals run unchanged.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from django.core.cache.backends.db import DatabaseCache
from django.core.signals import request_finished
from django.db import DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper

from pagedoctor.cache import backend, stats, versions

_STATE = "_pagedoctor_cache_state"


@dataclass
class State:
    """What pagedoctor knows of one connection's current transaction."""

    written: set[str] = field(default_factory=set)
    manual: set[str] = field(default_factory=set)
    autocommitted: set[str] = field(default_factory=set)
    autocommitted_marked: dict[str, int] = field(default_factory=dict)
    began: bool = False
    snapshot: int | None = None
    last: Invalidation | None = None
    session_level: str | None = None


def state(connection: BaseDatabaseWrapper) -> State:
    """Return ``connection``'s transaction state, made on first use."""
    found: State | None = getattr(connection, _STATE, None)
    if found is None:
        found = State()
        setattr(connection, _STATE, found)
    return found


def in_transaction(connection: BaseDatabaseWrapper) -> bool:
    """Return whether ``connection`` is inside a transaction that has not committed yet."""
    return connection.in_atomic_block or not connection.get_autocommit()


_SNAPSHOT_LEVELS = ("repeatable read", "serializable")


def has_snapshot(connection: BaseDatabaseWrapper) -> bool:
    """Return whether a transaction on ``connection`` reads from a snapshot taken at its start.

    PostgreSQL and MariaDB under READ COMMITTED take a new snapshot per statement; REPEATABLE
    READ and SERIALIZABLE keep the first one, and so does SQLite. The level is Django's
    ``OPTIONS["isolation_level"]`` or, when Django sets none, the session's own default (the
    server's configuration, an ``init_command``), asked of the database once per connection.
    """
    if connection.vendor not in ("postgresql", "mysql"):
        return True
    level = getattr(connection, "isolation_level", None)
    if connection.vendor == "postgresql" and level is not None and int(level) >= 3:
        return True  # psycopg's REPEATABLE_READ and SERIALIZABLE
    if connection.vendor == "mysql" and str(level or "").lower() in _SNAPSHOT_LEVELS:
        return True
    current = state(connection)
    if current.session_level is None:
        current.session_level = _session_level(connection)
    return current.session_level in _SNAPSHOT_LEVELS


def _session_level(connection: BaseDatabaseWrapper) -> str:
    """Ask the database for the session's isolation level ("read committed", ...)."""
    from pagedoctor.capture.recording import suspended

    queries = (
        ["SHOW transaction_isolation"]
        if connection.vendor == "postgresql"
        else ["SELECT @@SESSION.transaction_isolation", "SELECT @@SESSION.tx_isolation"]
    )
    token = backend.internal.set(True)
    try:
        with suspended():
            for sql in queries:
                try:
                    with connection.cursor() as cursor:
                        cursor.execute(sql)
                        row = cursor.fetchone()
                except DatabaseError:
                    continue  # MariaDB before 11.1 knows only tx_isolation
                if row:
                    return str(row[0]).lower().replace("-", " ")
    finally:
        backend.internal.reset(token)
    return "serializable"  # unknown: assume the strictest, which only stores less


def flush_and_written() -> set[str]:
    """Bump what this thread's finished autocommit statements changed; return written tables.

    One pass over the connections for the two things every cache lookup needs first.
    """
    tables: set[str] = set()
    for connection in connections.all(initialized_only=True):
        found: State | None = getattr(connection, _STATE, None)
        if found is None:
            continue
        if found.autocommitted:
            flush(connection)
        if found.written:
            if in_transaction(connection):
                tables |= found.written
            else:
                found.written.clear()
    return tables


def written_tables() -> set[str]:
    """Return the tables this thread's open transactions wrote and have not committed."""
    tables: set[str] = set()
    for connection in connections.all(initialized_only=True):
        found: State | None = getattr(connection, _STATE, None)
        if found is not None and found.written:
            if in_transaction(connection):
                tables |= found.written
            else:
                found.written.clear()  # it ended without us seeing it (closed connection)
    return tables


def invalidate_now(tags: set[str], *, marked: dict[str, int] | None = None) -> None:
    """Bump ``tags`` now; take back ``marked``, the pending marks a write made (tag: generation).

    If the cache is down the bumps wait in ``lost`` and the marks expire on their own.
    """
    if not tags:
        return
    alias = backend.alias()
    stats.count(alias, "invalidations", len(tags))
    if not lost.flush(alias):
        lost.add(alias, tags)
        return
    try:
        if marked:
            versions.finish_on(alias, tags, marks=marked)
        else:
            versions.bump_on(alias, tags)
    except backend.Unavailable:
        lost.add(alias, tags)


class _Lost:
    """Bumps the cache refused: no value is read or stored until they have been made."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending: dict[str, set[str]] = {}

    def add(self, alias: str, tags: set[str]) -> None:
        with self.lock:
            self.pending.setdefault(alias, set()).update(tags)

    def flush(self, alias: str) -> bool:
        """Make the pending bumps of ``alias``; return whether none is left."""
        with self.lock:
            tags = self.pending.pop(alias, set())
        if not tags:
            return True
        try:
            versions.bump_on(alias, tags)
        except backend.Unavailable:
            self.add(alias, tags)
            return False
        return True

    def clear(self) -> None:
        with self.lock:
            self.pending.clear()


lost = _Lost()


class Invalidation:
    """The tags a savepoint's writes change, as an ``on_commit`` entry Django drops with it.

    ``commit()`` marks them pending; Django calls this after the commit, with autocommit back
    on, and it bumps them. It never raises, and it runs before the application's callbacks.
    """

    def __init__(self, tags: set[str]) -> None:
        self.tags = tags
        self.marked: dict[str, int] = {}

    def __call__(self) -> None:
        invalidate_now(self.tags, marked=self.marked)


def before_write(connection: BaseDatabaseWrapper, tags: set[str], tables: set[str]) -> None:
    """Note ``tags`` for the commit of the write that changes them, before the write runs."""
    current = state(connection)
    if connection.in_atomic_block:
        current.written |= tables
        hooks = connection.run_on_commit
        savepoints = set(connection.savepoint_ids)
        last = current.last
        if last is not None and hooks and hooks[-1][1] is last and hooks[-1][0] == savepoints:
            last.tags |= tags  # same savepoint: one entry for the transaction's writes
            return
        current.last = Invalidation(set(tags))
        connection.on_commit(current.last)
    elif not connection.get_autocommit():
        current.written |= tables
        current.manual |= tags
    else:
        current.autocommitted_marked.update(_mark(tags))


def _mark(tags: set[str]) -> dict[str, int]:
    """Mark ``tags`` pending; return those marked, with their generation (none on failure)."""
    if not tags:
        return {}
    alias = backend.alias()
    try:
        return versions.mark_on(alias, tags)
    except backend.Unavailable:
        lost.add(alias, tags)  # bumped as soon as the cache answers, before any read
        return {}


def after_write(connection: BaseDatabaseWrapper, tags: set[str]) -> None:
    """Bump ``tags`` once an autocommit write that changed them is finished."""
    if not in_transaction(connection):
        state(connection).autocommitted |= tags


def flush(connection: BaseDatabaseWrapper) -> None:
    """Bump what ``connection``'s finished autocommit statements changed."""
    found: State | None = getattr(connection, _STATE, None)
    if found is not None and found.autocommitted:
        tags, found.autocommitted = found.autocommitted, set()
        marked, found.autocommitted_marked = found.autocommitted_marked, {}
        invalidate_now(tags, marked=marked)


def flush_all(**kwargs: object) -> None:
    """Bump what every finished autocommit statement of this thread changed."""
    for connection in connections.all(initialized_only=True):
        flush(connection)


def _committing(connection: BaseDatabaseWrapper) -> tuple[set[str], dict[str, int], bool]:
    """Mark pending what the transaction about to commit changed.

    Return the tags, those marked, and whether an ``on_commit`` entry will finish them (the
    first entry takes them all, so that each mark is taken back exactly once).
    """
    tags = set(state(connection).manual)
    entries = [
        entry[1]  # (savepoint ids, callback, robust)
        for entry in connection.run_on_commit
        if isinstance(entry[1], Invalidation)
    ]
    for hook in entries:
        tags |= hook.tags
    marked = _mark(tags)
    for hook in entries:
        hook.tags, hook.marked = set(), {}
    if entries:
        entries[0].tags, entries[0].marked = tags, marked
    return tags, marked, bool(entries)


def _cache_shares_connections() -> bool:
    return isinstance(backend.get(), DatabaseCache)


def _ended(connection: BaseDatabaseWrapper) -> None:
    current = state(connection)
    current.written.clear()
    current.manual.clear()
    current.began = False
    current.snapshot = None
    current.last = None


def _wrap_commit() -> None:
    original = BaseDatabaseWrapper.commit
    if getattr(original, "_pagedoctor", False):
        return

    @wraps(original)
    def commit(self: BaseDatabaseWrapper) -> None:
        if backend.internal.get():  # the database cache backend's own transaction
            original(self)
            return
        tags, marked, entries = _committing(self)
        try:
            original(self)
        except BaseException:
            invalidate_now(tags, marked=marked)  # the marks must go; a miss is all it costs
            raise
        finally:
            _ended(self)
        if entries:
            return  # Django calls them once autocommit is back on, before the application's
        if tags and _cache_shares_connections():
            # The database cache would write into the next transaction, which the application
            # began: wait for autocommit to come back, as Django's own on_commit entries do.
            hook = Invalidation(tags)
            hook.marked = marked
            entry: Any = (set(), hook, True)  # (savepoints, callback, robust)
            self.run_on_commit.append(entry)
        else:
            invalidate_now(tags, marked=marked)

    commit._pagedoctor = True  # type: ignore[attr-defined]
    BaseDatabaseWrapper.commit = commit  # type: ignore[method-assign]


def _wrap(name: str, after: Callable[[BaseDatabaseWrapper], None]) -> None:
    original = getattr(BaseDatabaseWrapper, name)
    if getattr(original, "_pagedoctor", False):
        return

    @wraps(original)
    def wrapper(self: BaseDatabaseWrapper, *args: Any, **kwargs: Any) -> Any:
        try:
            return original(self, *args, **kwargs)
        finally:
            after(self)

    wrapper._pagedoctor = True  # type: ignore[attr-defined]
    setattr(BaseDatabaseWrapper, name, wrapper)


def _wrap_cursor_close() -> None:
    # CursorWrapper passes close() to the driver's cursor through __getattr__; defining it on
    # the class keeps that behaviour and runs the bump once the driver has finished.
    if getattr(CursorWrapper.__dict__.get("close"), "_pagedoctor", False):
        return

    def close(self: CursorWrapper) -> None:
        try:
            self.cursor.close()
        finally:
            flush(self.db)

    close._pagedoctor = True  # type: ignore[attr-defined]
    CursorWrapper.close = close  # type: ignore[attr-defined]


def _wrap_commit_hooks() -> None:
    original = BaseDatabaseWrapper.run_and_clear_commit_hooks
    if getattr(original, "_pagedoctor", False):
        return

    @wraps(original)
    def run_and_clear_commit_hooks(self: BaseDatabaseWrapper) -> None:
        # pagedoctor's first: an application callback that raises stops the ones after it.
        self.run_on_commit.sort(key=lambda entry: not isinstance(entry[1], Invalidation))
        original(self)

    run_and_clear_commit_hooks._pagedoctor = True  # type: ignore[attr-defined]
    BaseDatabaseWrapper.run_and_clear_commit_hooks = run_and_clear_commit_hooks  # type: ignore[method-assign]


def install() -> None:
    """Wrap commit, rollback and close of connections, and cursors' close, once."""
    _wrap_commit()
    _wrap_commit_hooks()
    _wrap("rollback", _ended)
    _wrap("close", flush)
    _wrap_cursor_close()
    request_finished.connect(flush_all, dispatch_uid="pagedoctor.cache.transactions")
