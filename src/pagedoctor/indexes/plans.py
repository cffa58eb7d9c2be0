"""EXPLAIN a recorded SELECT on its own database and read the plan into one common form.

SQLite answers ``EXPLAIN QUERY PLAN`` with lines of text, PostgreSQL ``EXPLAIN (FORMAT JSON)``
with a tree of nodes, MariaDB and MySQL ``EXPLAIN FORMAT=JSON`` with nested query blocks. Each
becomes a ``Plan``: a list of ``Step`` (read a whole table, use an index, sort without an index,
join without an index), which ``describe()`` puts into plain words.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from pagedoctor.capture.recording import suspended
from pagedoctor.indexes.statements import is_single_select

StepKind = Literal["scan", "index", "sort", "join_scan"]

# How long one of pagedoctor's own statements may run, in milliseconds.
DEFAULT_TIMEOUT_MS = 5_000


class UnsafeStatement(ValueError):
    """The statement is not a single plain SELECT, so pagedoctor will not send it."""


@dataclass(frozen=True)
class Step:
    """One thing the database does to answer a query, in vendor-neutral terms."""

    kind: StepKind
    table: str | None = None
    index: str | None = None
    rows: int | None = None  # the planner's estimate of rows read (MariaDB) or returned (PG)
    filtered: bool | None = None  # a scan that filters rows as it reads; None: not known (SQLite)
    detail: str = ""

    def words(self) -> str:
        """Return the step as a person would say it."""
        if self.kind == "scan":
            rows = f" (about {self.rows:,} rows)" if self.rows is not None else ""
            verb = "reads and filters" if self.filtered else "reads"
            through = f" through the index {self.index}" if self.index else ""
            return f"{verb} every row of {self.table}{rows}{through}"
        if self.kind == "index":
            return (
                f"uses the index {self.index} on {self.table}"
                if self.index
                else (f"uses an index on {self.table}")
            )
        if self.kind == "sort":
            return (
                f"sorts the rows without an index ({self.detail})"
                if self.detail
                else ("sorts the rows without an index")
            )
        return f"joins {self.table} without an index on the join column"


@dataclass
class Plan:
    """A query plan: its steps in the order the database reports them, and the raw answer."""

    vendor: str
    steps: list[Step]
    raw: Any = field(default=None, repr=False)

    def scans(self, table: str) -> bool:
        """Return whether the plan reads the whole of ``table`` (as a scan or an unindexed join)."""
        return any(s.kind in ("scan", "join_scan") and _same(s.table, table) for s in self.steps)

    def uses_index(self, table: str) -> bool:
        """Return whether the plan reads ``table`` through an index and nowhere in full."""
        reads = [s for s in self.steps if _same(s.table, table)]
        return bool(reads) and all(s.kind == "index" for s in reads)

    @property
    def sorts(self) -> bool:
        return any(s.kind == "sort" for s in self.steps)

    def describe(self) -> str:
        """Return the plan in plain words: ``reads and filters every row of shop_product; ...``."""
        return "; ".join(dict.fromkeys(s.words() for s in self.steps)) or "no table read"


def _same(a: str | None, b: str) -> bool:
    return a is not None and a.lower() == b.lower()


_PREFIXES = {
    "sqlite": ("EXPLAIN QUERY PLAN ", None),
    "postgresql": ("EXPLAIN (FORMAT JSON) ", "EXPLAIN (ANALYZE, FORMAT JSON) "),
    "mysql": ("EXPLAIN FORMAT=JSON ", "ANALYZE FORMAT=JSON "),
}


def explain(
    connection: BaseDatabaseWrapper,
    sql: str,
    params: Any,
    *,
    analyze: bool = False,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
) -> Plan:
    """EXPLAIN ``sql`` with its recorded ``params`` on ``connection``, and read the plan.

    Only a single SELECT is explained (``UnsafeStatement`` otherwise). ``analyze=True`` runs the
    query (PostgreSQL ``EXPLAIN ANALYZE``, MariaDB ``ANALYZE``) inside a transaction that is
    rolled back, whatever the query does; SQLite has no such mode and explains only. Everything
    runs under a statement timeout and outside any recording.
    """
    vendor = connection.vendor
    if not is_single_select(sql, vendor):
        raise UnsafeStatement(f"pagedoctor explains only single SELECT statements, not {sql!r}")
    plain, analyzing = _PREFIXES.get(vendor, ("EXPLAIN ", None))
    if analyze and vendor == "mysql" and not getattr(connection, "mysql_is_mariadb", False):
        analyzing = None  # MySQL's EXPLAIN ANALYZE has no JSON form
    prefix = analyzing if analyze and analyzing else plain
    with (
        rolled_back(connection),
        statement_timeout(connection, timeout_ms),
        connection.cursor() as cursor,
    ):
        # The DB-API substitutes the parameters, as it did when the page ran the query.
        cursor.execute(prefix + sql, params)
        rows = cursor.fetchall()
    return read_plan(vendor, rows)


def read_plan(vendor: str, rows: list[tuple[Any, ...]]) -> Plan:
    """Read the rows an EXPLAIN returned on ``vendor`` into a Plan."""
    if vendor == "sqlite":
        return Plan(vendor, _sqlite_steps([str(row[-1]) for row in rows]), rows)
    document = rows[0][0] if rows else "[]"
    data = json.loads(document) if isinstance(document, str | bytes) else document
    if vendor == "postgresql":
        root = data[0]["Plan"] if data else {}
        return Plan(vendor, list(_postgres_steps(root, parent=None, inner=False)), data)
    return Plan(vendor, list(_mysql_steps(data, joined=False)), data)


# -- SQLite ------------------------------------------------------------------------------------

_SQLITE_READ = re.compile(r"^(SCAN|SEARCH) (\S+)(?: AS \S+)?(?: USING (.*))?$")
_SQLITE_INDEX = re.compile(r"(?:COVERING )?INDEX (\S+)")


def _sqlite_steps(details: list[str]) -> list[Step]:
    steps: list[Step] = []
    tables_read = 0
    for detail in details:
        if detail.startswith("USE TEMP B-TREE"):
            steps.append(Step("sort", detail=detail.removeprefix("USE TEMP B-TREE FOR ").lower()))
            continue
        match = _SQLITE_READ.match(detail)
        if match is None or match.group(2) in ("CONSTANT", "SUBQUERY"):
            continue
        verb, table, using = match.groups()
        tables_read += 1
        if using and "AUTOMATIC" in using:
            steps.append(Step("join_scan", table=table, detail=detail))
        elif using and verb == "SCAN":
            # Reads the whole table in index order (or the whole index): a full read still.
            steps.append(Step("scan", table=table, index=_sqlite_index(using), detail=detail))
        elif using and ("INDEX" in using or "PRIMARY KEY" in using):
            steps.append(Step("index", table=table, index=_sqlite_index(using), detail=detail))
        elif tables_read > 1:
            steps.append(Step("join_scan", table=table, detail=detail))
        else:
            steps.append(Step("scan", table=table, detail=detail))
    return steps


def _sqlite_index(using: str) -> str:
    index = _SQLITE_INDEX.search(using)
    return index.group(1) if index else "the primary key"


# -- PostgreSQL --------------------------------------------------------------------------------

_PG_INDEX_NODES = {"Index Scan", "Index Only Scan", "Bitmap Heap Scan"}


def _postgres_steps(node: dict[str, Any], *, parent: str | None, inner: bool) -> Iterator[Step]:
    kind = node.get("Node Type", "")
    table = node.get("Relation Name")
    rows = node.get("Plan Rows")
    if kind == "Seq Scan":
        if inner and parent == "Nested Loop":
            yield Step("join_scan", table=table, rows=rows, detail=node.get("Join Filter", ""))
        else:
            filtered = "Filter" in node
            yield Step("scan", table=table, filtered=filtered, detail=kind)
    elif kind in _PG_INDEX_NODES and not _pg_condition(node):
        # An index scan without an index condition reads the whole index, in its order.
        yield Step("scan", table=table, index=node.get("Index Name"), detail=kind)
    elif kind in _PG_INDEX_NODES:
        index = node.get("Index Name") or next(
            (c.get("Index Name") for c in node.get("Plans", []) if c.get("Index Name")), None
        )
        yield Step("index", table=table, index=index, rows=rows, detail=kind)
    elif kind == "Sort":
        yield Step("sort", rows=rows, detail=", ".join(node.get("Sort Key", [])))
    children = node.get("Plans", [])
    for position, child in enumerate(children):
        if kind == "Bitmap Heap Scan" and child.get("Node Type") == "Bitmap Index Scan":
            continue
        yield from _postgres_steps(child, parent=kind, inner=position > 0)


def _pg_condition(node: dict[str, Any]) -> bool:
    if node.get("Node Type") == "Bitmap Heap Scan" or "Index Cond" in node:
        return True
    return any("Index Cond" in child for child in node.get("Plans", []))


# -- MariaDB and MySQL -------------------------------------------------------------------------

_MYSQL_FULL = {"ALL", "index"}  # "index": the whole index is read


def _mysql_steps(data: Any, *, joined: bool) -> Iterator[Step]:
    if isinstance(data, list):
        for position, item in enumerate(data):
            yield from _mysql_steps(item, joined=joined or position > 0)
        return
    if not isinstance(data, dict):
        return
    if "filesort" in data or data.get("using_filesort") is True:
        sort = data.get("filesort", {})
        key = sort.get("sort_key", "") if isinstance(sort, dict) else ""
        yield Step("sort", detail=str(key))
    if "table_name" in data and "access_type" in data:
        yield _mysql_table(data, joined=joined)
    for key, value in data.items():
        if isinstance(value, dict | list):
            # A block nested-loop join reads the joined table in full for each buffer of rows.
            yield from _mysql_steps(value, joined=joined or key in ("block-nl-join", "bka-join"))


def _mysql_table(table: dict[str, Any], *, joined: bool) -> Step:
    name = table["table_name"]
    rows = table.get("rows") or table.get("rows_examined_per_scan")
    access = table["access_type"]
    if access in _MYSQL_FULL:
        if joined:
            return Step("join_scan", table=name, rows=rows)
        filtered = "attached_condition" in table
        index = table.get("key") if access == "index" else None
        return Step("scan", table=name, index=index, rows=rows, filtered=filtered, detail=access)
    return Step("index", table=name, index=table.get("key"), rows=rows, detail=access)


# -- safety ------------------------------------------------------------------------------------


@contextmanager
def rolled_back(connection: BaseDatabaseWrapper) -> Iterator[None]:
    """Run the block in a transaction (a savepoint if one is open) that is always rolled back."""
    with suspended(), transaction.atomic(using=connection.alias):
        try:
            yield
        finally:
            transaction.set_rollback(True, using=connection.alias)


@contextmanager
def statement_timeout(connection: BaseDatabaseWrapper, timeout_ms: int) -> Iterator[None]:
    """Cancel any statement in the block that runs longer than ``timeout_ms`` milliseconds.

    PostgreSQL's is local to the transaction (``rolled_back`` opens one); MariaDB's and MySQL's
    session value is put back afterwards; SQLite's is a progress handler on the connection.
    """
    vendor = connection.vendor
    if vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", [str(timeout_ms)])
        yield
    elif vendor == "mysql":
        mariadb = getattr(connection, "mysql_is_mariadb", False)
        variable = "max_statement_time" if mariadb else "max_execution_time"
        value: float = timeout_ms / 1000 if mariadb else timeout_ms
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT @@SESSION.{variable}")
            (previous,) = cursor.fetchone()
            cursor.execute(f"SET SESSION {variable} = %s", [value])
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute(f"SET SESSION {variable} = %s", [previous])
    elif vendor == "sqlite":
        import time

        connection.ensure_connection()
        raw = connection.connection
        deadline = time.monotonic() + timeout_ms / 1000
        raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
        try:
            yield
        finally:
            raw.set_progress_handler(None, 0)
    else:
        yield
