"""Follow each connection's transactions: invalidate on commit, forget on rollback.

- In autocommit a write is committed when its statement is finished, so its tags are bumped
  when its cursor is closed, or before the connection runs anything else, whichever is first.
- Inside ``atomic()`` they are bumped by an ``on_commit`` callback: Django runs it when the
  outermost block commits and drops it with a savepoint that is rolled back. pagedoctor's
  callbacks run before the application's, so an application callback that raises cannot skip
  an invalidation.
- With autocommit turned off by hand (no ``atomic()``), they are bumped after ``commit()``.

Per connection this also keeps the tables the current transaction wrote (its reads bypass
cached values built from them: read-your-writes) and, for snapshot transactions, the clock when
the transaction began (:mod:`pagedoctor.cache.tracking` explains why).

``commit``, ``rollback`` and ``run_and_clear_commit_hooks`` of ``BaseDatabaseWrapper`` are
wrapped, once; the originals run unchanged.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from django.db import connections
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
    began: bool = False
    snapshot: int | None = None
    last: Invalidation | None = None


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


def has_snapshot(connection: BaseDatabaseWrapper) -> bool:
    """Return whether a transaction on ``connection`` reads from a snapshot taken at its start.

    PostgreSQL and MariaDB under Django's default READ COMMITTED take a new snapshot per
    statement; REPEATABLE READ and SERIALIZABLE keep the first one, and so does SQLite.
    """
    level = getattr(connection, "isolation_level", None)
    if connection.vendor == "postgresql":
        return level is not None and int(level) >= 3  # psycopg's REPEATABLE_READ, SERIALIZABLE
    if connection.vendor == "mysql":
        return str(level or "").lower() in ("repeatable read", "serializable")
    return True


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


class Invalidation:
    """An ``on_commit`` callback that bumps tags; it never raises."""

    def __init__(self, tags: set[str]) -> None:
        self.tags = tags

    def __call__(self) -> None:
        invalidate_now(self.tags)


def invalidate_now(tags: set[str]) -> None:
    """Bump ``tags`` now; if the cache is down, keep them to bump when it answers again."""
    if not tags:
        return
    alias = backend.alias()
    stats.count(alias, "invalidations", len(tags))
    lost.add(alias, tags)
    lost.flush(alias)


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


def after_write(connection: BaseDatabaseWrapper, tags: set[str], tables: set[str]) -> None:
    """Invalidate ``tags`` when the write that changed them commits."""
    current = state(connection)
    if connection.in_atomic_block:
        current.written |= tables
        pending = connection.run_on_commit
        savepoints = set(connection.savepoint_ids)
        last = current.last
        if last is not None and pending and pending[-1][1] is last and pending[-1][0] == savepoints:
            last.tags |= tags  # same savepoint: one callback for the transaction's writes
            return
        current.last = Invalidation(set(tags))
        connection.on_commit(current.last, robust=True)
    elif connection.get_autocommit():
        # Committed once the statement is finished, which for SQLite's INSERT ... RETURNING is
        # when its cursor is done with: bump then (or before anything else reads).
        current.autocommitted |= tags
    else:
        current.written |= tables
        current.manual |= tags


def flush(connection: BaseDatabaseWrapper) -> None:
    """Bump what ``connection``'s finished autocommit statements changed."""
    found: State | None = getattr(connection, _STATE, None)
    if found is not None and found.autocommitted:
        tags, found.autocommitted = found.autocommitted, set()
        invalidate_now(tags)


def flush_all() -> None:
    """Bump what every finished autocommit statement of this thread changed."""
    for connection in connections.all(initialized_only=True):
        flush(connection)


def _ended(connection: BaseDatabaseWrapper, *, committed: bool) -> None:
    current = state(connection)
    manual, current.manual = current.manual, set()
    current.written.clear()
    current.began = False
    current.snapshot = None
    current.last = None
    if committed and manual:
        invalidate_now(manual)


def _wrap(name: str, after: Callable[[BaseDatabaseWrapper], None]) -> None:
    original = getattr(BaseDatabaseWrapper, name)
    if getattr(original, "_pagedoctor", False):
        return

    @wraps(original)
    def wrapper(self: BaseDatabaseWrapper, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        after(self)
        return result

    wrapper._pagedoctor = True  # type: ignore[attr-defined]
    setattr(BaseDatabaseWrapper, name, wrapper)


def _ours_first(connection: BaseDatabaseWrapper) -> None:
    # Runs before the original: move pagedoctor's callbacks to the front of the queue.
    hooks = connection.run_on_commit
    if any(isinstance(hook[1], Invalidation) for hook in hooks):
        hooks.sort(key=lambda hook: not isinstance(hook[1], Invalidation))


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


def install() -> None:
    """Wrap commit, rollback, cursor close and the on-commit queue, once."""
    _wrap("commit", lambda c: _ended(c, committed=True))
    _wrap("rollback", lambda c: _ended(c, committed=False))
    _wrap_cursor_close()
    original = BaseDatabaseWrapper.run_and_clear_commit_hooks
    if getattr(original, "_pagedoctor", False):
        return

    @wraps(original)
    def run_and_clear_commit_hooks(self: BaseDatabaseWrapper) -> None:
        _ours_first(self)
        original(self)

    run_and_clear_commit_hooks._pagedoctor = True  # type: ignore[attr-defined]
    BaseDatabaseWrapper.run_and_clear_commit_hooks = run_and_clear_commit_hooks  # type: ignore[method-assign]
