"""Learn what a cached value depends on from the SQL run while computing it; see every write.

One ``execute_wrapper`` on every connection, installed when the app is ready:

- a SELECT run while a value is being computed (a :class:`Computation` is active) adds its
  tables, or the rows it pins by primary key, to the value's dependencies. The version of each
  new dependency is read from the cache *before* the statement runs: a write that commits
  after that read changes the version, so the stored value can never match it;
- any other statement that changes data is read for the tags it changes, which are bumped when
  it commits (:mod:`pagedoctor.cache.transactions`), whoever ran it: the ORM, a bulk operation,
  an M2M manager or raw SQL. A ``DELETE`` also changes the tables whose rows the database
  deletes or updates itself (Django 6.1's ``DB_CASCADE``, ``DB_SET_NULL``, ``DB_SET_DEFAULT``).

Snapshot transactions (SQLite, REPEATABLE READ, SERIALIZABLE) read from the database as it was
when they began, however late their reads are: a version read now may be newer than their data.
So the clock is read when such a transaction begins, and a value computed in it is stored only
if no write anywhere has changed the clock since.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from typing import Any

from django.apps import apps
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created

from pagedoctor.cache import backend, tags, transactions, versions
from pagedoctor.cache.statements import Access, analyze, is_inert, is_plain_select

logger = logging.getLogger("pagedoctor.cache")


class Computation:
    """The dependencies of one value being computed, with their versions before it read them."""

    def __init__(self) -> None:
        self.deps: dict[str, int] = {}
        self.snapshots: list[tuple[str, int]] = []
        self.unstorable: str | None = None

    def spoil(self, reason: str) -> None:
        """Mark the value as one that must not be stored, and why (the first reason wins)."""
        if self.unstorable is None:
            self.unstorable = reason

    def inherit(self, deps: Mapping[str, int]) -> None:
        """Depend on what a cached value used inside this computation depends on."""
        for tag, version in deps.items():
            self.deps.setdefault(tag, version)


_computing: ContextVar[tuple[Computation, ...]] = ContextVar("pagedoctor_computing", default=())

# Whether this process uses pagedoctor's caches (something was decorated with @cached, a
# {% cached %} tag parsed, a value computed): until then snapshot transactions are not worth a
# cache round trip at their start.
_used = False


def use() -> None:
    """Note that this process caches values, so transactions note the clock when they begin."""
    global _used
    _used = True


@contextmanager
def computing() -> Iterator[Computation]:
    """Collect the dependencies of what runs inside the block, nested in any outer collection."""
    use()
    computation = Computation()
    token = _computing.set((*_computing.get(), computation))
    try:
        yield computation
    finally:
        _computing.reset(token)


def enclosing() -> tuple[Computation, ...]:
    """Return the computations in progress around the caller, outermost first."""
    return _computing.get()


def track(
    execute: Callable[..., Any],
    sql: str,
    params: Any,
    many: bool,
    context: Mapping[str, Any],
) -> Any:
    """Run the statement as Django would, noting what it reads or invalidating what it writes."""
    if backend.internal.get():
        return execute(sql, params, many, context)
    connection: BaseDatabaseWrapper = context["connection"]
    transactions.flush(connection)
    if transactions.in_transaction(connection):
        _note_begin(connection)
    if is_plain_select(sql):
        computations = _computing.get()
        if computations:
            _before_read(connection, _access(sql, connection), params, many, computations)
        return execute(sql, params, many, context)
    if is_inert(sql):
        return execute(sql, params, many, context)
    access = _access(sql, connection)
    if not access.writes and not access.everything:
        computations = _computing.get()
        if computations:
            _before_read(connection, access, params, many, computations)
        return execute(sql, params, many, context)
    changed = tags.write_tags(access, params, many) | _cascades(access)
    changed -= {tags.table(t) for t in backend.cache_tables()}
    if not changed:
        return execute(sql, params, many, context)
    transactions.before_write(connection, changed, tags.tables_of(changed))
    try:
        return execute(sql, params, many, context)
    finally:
        # Even a statement that raised may have changed rows (a multi-statement batch, a
        # driver error after the server applied it): invalidating too much is only a miss.
        transactions.after_write(connection, changed)


def _access(sql: str, connection: BaseDatabaseWrapper) -> Access:
    return analyze(sql, connection.vendor, pk_columns())


def _note_begin(connection: BaseDatabaseWrapper) -> None:
    current = transactions.state(connection)
    if current.began:
        return
    current.began = True
    # Read the clock only at a transaction's first statement: later, its snapshot may already
    # be older than the clock. Before asking the database for its isolation level, too, in
    # case asking takes the snapshot.
    if not _used:
        return
    try:
        current.snapshot = backend.call(backend.alias(), _clock)
    except backend.Unavailable:
        current.snapshot = None
    if not transactions.has_snapshot(connection):
        current.snapshot = None


def _clock(cache: Any) -> int:
    found = versions.clock(cache)
    if found is None:
        cache.add(versions.CLOCK, versions.fresh(), timeout=None)
        found = versions.clock(cache)
    return found if found is not None else -1


def _before_read(
    connection: BaseDatabaseWrapper,
    access: Access,
    params: Any,
    many: bool,
    computations: tuple[Computation, ...],
) -> None:
    if not access.understood:
        for computation in computations:
            computation.spoil("pagedoctor could not read one of its SQL statements")
        return
    needed = tags.read_tags(access, params, many)
    needed -= {tags.table(t) for t in backend.cache_tables()}
    if not needed:
        return
    if tags.overlap(tags.tables_of(needed), transactions.written_tables()):
        for computation in computations:
            computation.spoil("it read what its transaction wrote and has not committed")
    if transactions.in_transaction(connection) and transactions.has_snapshot(connection):
        snapshot = transactions.state(connection).snapshot
        for computation in computations:
            if snapshot is None:
                computation.spoil("it read in a snapshot transaction begun before caching")
            else:
                computation.snapshots.append((backend.alias(), snapshot))
    missing = {tag for c in computations for tag in needed if tag not in c.deps}
    if not missing:
        return
    try:
        found = backend.call(backend.alias(), lambda cache: versions.current(cache, missing))
    except backend.Unavailable:
        for computation in computations:
            computation.spoil("the cache failed")
        return
    if any(versions.is_pending(found[tag]) for tag in missing):
        for computation in computations:
            computation.spoil("a write to what it read is committing")
    for computation in computations:
        for tag in missing:
            computation.deps.setdefault(tag, found[tag])


def _cascades(access: Access) -> set[str]:
    changed: set[str] = set()
    for write in access.writes:
        if write.deletes:
            for child in db_cascades().get(write.table, ()):
                changed |= {tags.table(child), tags.unpinned(child)}
    return changed


@cache
def pk_columns() -> dict[str, str]:
    """Return each model table's primary key column."""
    return {
        model._meta.db_table: model._meta.pk.column
        for model in apps.get_models(include_auto_created=True)
        if model._meta.pk is not None and model._meta.pk.column
    }


@cache
def db_cascades() -> dict[str, frozenset[str]]:
    """Return, per table, the tables whose rows the database changes when its rows are deleted.

    Django 6.1's ``on_delete=DB_CASCADE`` (and ``DB_SET_NULL``, ``DB_SET_DEFAULT``) are done by
    the database, with no SQL of Django's and no signals; followed transitively.
    """
    try:
        from django.db.models.deletion import DatabaseOnDelete  # type: ignore[attr-defined,unused-ignore]
    except ImportError:  # Django before 6.1
        return {}
    direct: dict[str, set[str]] = {}
    for model in apps.get_models(include_auto_created=True):
        for field in model._meta.concrete_fields:
            remote = getattr(field, "remote_field", None)
            on_delete = getattr(remote, "on_delete", None)
            if remote is not None and isinstance(on_delete, DatabaseOnDelete):
                parent = remote.model._meta.db_table
                direct.setdefault(parent, set()).add(model._meta.db_table)
    closure: dict[str, frozenset[str]] = {}
    for parent in direct:
        seen: set[str] = set()
        todo = list(direct[parent])
        while todo:
            table = todo.pop()
            if table not in seen:
                seen.add(table)
                todo += direct.get(table, ())
        closure[parent] = frozenset(seen)
    return closure


def install_on(connection: BaseDatabaseWrapper) -> None:
    """Add the tracker to ``connection``, outermost, unless it is there already."""
    if track not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, track)


def _on_connection_created(
    sender: object, connection: BaseDatabaseWrapper, **kwargs: object
) -> None:
    install_on(connection)


def install() -> None:
    """Track reads and writes on every connection from now on, in every thread."""
    transactions.install()
    connection_created.connect(_on_connection_created, dispatch_uid="pagedoctor.cache.tracking")
    for connection in connections.all(initialized_only=True):
        install_on(connection)


def reset() -> None:
    """Forget cached model metadata and pending bumps (tests)."""
    global _used
    versions._alive_seen = False
    versions._generation = None
    pk_columns.cache_clear()
    db_cascades.cache_clear()
    transactions.lost.clear()
    _used = False
