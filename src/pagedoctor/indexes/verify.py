"""Verify a candidate index on the real database: plan and time the query without and with it.

On PostgreSQL and SQLite, where DDL is transactional, the index is created inside a transaction
that is rolled back, so it never exists for anybody else. MariaDB and MySQL commit DDL at once:
there the index is created, measured and dropped again, outside any transaction (and refused
inside one, which the CREATE INDEX would silently commit). With HypoPG installed, PostgreSQL
first checks a hypothetical index, and builds the real one only if the planner would use it.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, models
from django.db.backends.base.base import BaseDatabaseWrapper

from pagedoctor.indexes.candidates import Candidate
from pagedoctor.indexes.plans import (
    DEFAULT_TIMEOUT_MS,
    Plan,
    UnsafeStatement,
    explain,
    rolled_back,
    statement_timeout,
)
from pagedoctor.indexes.statements import is_single_select

# A candidate is kept only if the query gets at least this much faster (timing noise aside).
MIN_SPEEDUP = 1.1
# Fast queries are run until this many milliseconds are spent (at most MAX_RUNS times), so that
# the median of a sub-millisecond query is not one scheduler hiccup.
MIN_TIMED_MS = 50.0
MAX_RUNS = 200


class VerificationError(RuntimeError):
    """The candidate could not be tried on this database; the message says why."""


@dataclass
class Timing:
    """How long a query took (median of several runs) and what it returned."""

    ms: float
    rows: int
    output: Counter[str]


@dataclass
class Verdict:
    """A candidate index tried on the database: the plans and timings without and with it."""

    candidate: Candidate
    index: models.Index
    plan_before: Plan
    plan_after: Plan
    before: Timing
    after: Timing
    hypothetical: bool = False

    @property
    def same_output(self) -> bool:
        return self.before.output == self.after.output

    @property
    def plan_improves(self) -> bool:
        """Return whether the table went from being read in full to being read by the index."""
        table = self.candidate.table
        if self.candidate.reason == "sort":
            before = self.plan_before.sorts or self.plan_before.scans(table)
            return before and not self.plan_after.sorts
        return self.plan_before.scans(table) and self.plan_after.uses_index(table)

    @property
    def helps(self) -> bool:
        """Return whether to propose the index: index use instead of a scan, and faster."""
        faster = self.after.ms * MIN_SPEEDUP <= self.before.ms
        return self.plan_improves and faster and self.same_output


def time_query(
    connection: BaseDatabaseWrapper,
    sql: str,
    params: Any,
    *,
    repeat: int = 5,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
) -> Timing:
    """Time a SELECT in a rolled-back transaction: the median of at least ``repeat`` runs.

    One warm-up run comes first; a fast query runs more often, until ``MIN_TIMED_MS``.
    """
    if not is_single_select(sql, connection.vendor):
        raise UnsafeStatement(f"pagedoctor times only single SELECT statements, not {sql!r}")
    runs: list[float] = []
    rows: list[tuple[Any, ...]] = []
    with (
        rolled_back(connection),
        statement_timeout(connection, timeout_ms),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, params)
        rows = cursor.fetchall()
        while len(runs) < repeat or (sum(runs) < MIN_TIMED_MS and len(runs) < MAX_RUNS):
            started = time.perf_counter()
            cursor.execute(sql, params)
            rows = cursor.fetchall()
            runs.append((time.perf_counter() - started) * 1000)
    return Timing(statistics.median(runs), len(rows), Counter(map(repr, rows)))


def verify(
    connection: BaseDatabaseWrapper,
    candidate: Candidate,
    index: models.Index,
    sql: str,
    params: Any,
    *,
    repeat: int = 5,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
) -> Verdict:
    """Plan and time ``sql`` without, then with ``index``; leave the database as it was."""
    measure: dict[str, Any] = {"repeat": repeat, "timeout_ms": timeout_ms}
    try:
        if connection.vendor == "mysql":
            if connection.in_atomic_block:
                raise VerificationError(
                    "MariaDB and MySQL commit CREATE INDEX at once, which would commit the "
                    "open transaction: verify indexes outside transaction.atomic()"
                )
            plan_before = explain(connection, sql, params, timeout_ms=timeout_ms)
            before = time_query(connection, sql, params, **measure)
            with _created(connection, candidate.model, index, transactional=False):
                plan_after = explain(connection, sql, params, timeout_ms=timeout_ms)
                after = time_query(connection, sql, params, **measure)
            return Verdict(candidate, index, plan_before, plan_after, before, after)
        with rolled_back(connection):
            plan_before = explain(connection, sql, params, timeout_ms=timeout_ms)
            before = time_query(connection, sql, params, **measure)
            hypothetical = _hypothetical_plan(connection, candidate, index, sql, params)
            if hypothetical is not None and not hypothetical.uses_index(candidate.table):
                return Verdict(
                    candidate, index, plan_before, hypothetical, before, before, hypothetical=True
                )
            with _created(connection, candidate.model, index, transactional=True):
                plan_after = explain(connection, sql, params, timeout_ms=timeout_ms)
                after = time_query(connection, sql, params, **measure)
        return Verdict(candidate, index, plan_before, plan_after, before, after)
    except DatabaseError as exc:
        raise VerificationError(f"could not try {index.name} on {candidate.table}: {exc}") from exc


@contextmanager
def _created(
    connection: BaseDatabaseWrapper,
    model: type[models.Model],
    index: models.Index,
    *,
    transactional: bool,
) -> Iterator[None]:
    create, drop = index_sql(connection, model, index)
    with connection.cursor() as cursor:
        cursor.execute(create)
    try:
        yield
    finally:
        if not transactional:
            with connection.cursor() as cursor:
                cursor.execute(drop)


def index_sql(
    connection: BaseDatabaseWrapper, model: type[models.Model], index: models.Index
) -> tuple[str, str]:
    """Return the SQL that creates and drops ``index``, as Django's migration would write it."""
    # The schema editor is not entered: SQLite's refuses to open inside a transaction (it would
    # have to switch foreign key checks off). It only writes SQL here, and runs none.
    editor = connection.schema_editor(collect_sql=True, atomic=False)
    editor.deferred_sql = []
    return str(index.create_sql(model, editor)), str(index.remove_sql(model, editor))


def _hypothetical_plan(
    connection: BaseDatabaseWrapper,
    candidate: Candidate,
    index: models.Index,
    sql: str,
    params: Any,
) -> Plan | None:
    """Return the plan with ``index`` as a HypoPG hypothetical index, if HypoPG is installed."""
    if connection.vendor != "postgresql" or not has_hypopg(connection):
        return None
    create, _ = index_sql(connection, candidate.model, index)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM hypopg_create_index(%s)", [create])
    try:
        return explain(connection, sql, params)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT hypopg_reset()")


def has_hypopg(connection: BaseDatabaseWrapper) -> bool:
    """Return whether the HypoPG extension is installed in this PostgreSQL database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'hypopg'")
        return cursor.fetchone() is not None
