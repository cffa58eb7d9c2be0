"""Read a SQL statement for what a cached value depends on, or what a write invalidates.

A statement is read once per SQL text (Django repeats the same text with other parameters) into
an :class:`Access`: the tables it reads and writes, and where its ``WHERE`` pins the rows by
primary key, which parameters (or literals) hold those keys. The parameters of each execution
then turn an ``Access`` into dependency tags (:mod:`pagedoctor.cache.tags`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from pagedoctor.capture.fingerprint import DIALECTS

# Where a pinned primary key comes from: a parameter's position (3), a named parameter
# (":name"), or a literal in the SQL ("=42").
Pin = int | str


@dataclass(frozen=True)
class TableAccess:
    """One table a statement reads or writes, and the primary keys it is pinned to, if any."""

    table: str
    pins: tuple[Pin, ...] | None = None
    deletes: bool = False


@dataclass(frozen=True)
class Access:
    """What one statement reads and writes. ``everything`` means: assume it changed anything."""

    reads: tuple[TableAccess, ...] = ()
    writes: tuple[TableAccess, ...] = ()
    understood: bool = True
    everything: bool = False


NOTHING = Access()
UNKNOWN_READ = Access(understood=False)
UNKNOWN_WRITE = Access(understood=False, everything=True)

# Statements that neither read nor change table data.
_INERT = re.compile(
    r"\s*(SAVEPOINT|RELEASE|ROLLBACK|BEGIN|START\s+TRANSACTION|COMMIT|SET|SHOW|PRAGMA|EXPLAIN|"
    r"DESCRIBE|VACUUM|ANALYZE|LOCK|DEALLOCATE|PREPARE|RESET|LISTEN|NOTIFY|UNLISTEN)\b",
    re.IGNORECASE,
)
_SELECT = re.compile(r"\s*\(?\s*SELECT\b", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"%\(([^)]+)\)s|%s")
_DDL = (exp.Create, exp.Drop, exp.Alter, exp.Command)


def is_plain_select(sql: str) -> bool:
    """Return whether ``sql`` starts like a SELECT (cheap: no parsing)."""
    return _SELECT.match(sql) is not None


def is_inert(sql: str) -> bool:
    """Return whether ``sql`` is transaction or session control, which touches no table data.

    Only a single statement: ``SET ...; UPDATE ...`` is a write.
    """
    return _INERT.match(sql) is not None and ";" not in sql.strip().rstrip(";")


def analyze(sql: str, vendor: str, pk_columns: dict[str, str]) -> Access:
    """Return what ``sql`` reads and writes; ``pk_columns`` maps tables to their primary keys."""
    return _analyze(sql, DIALECTS.get(vendor, ""), tuple(sorted(pk_columns.items())))


@lru_cache(maxsize=4096)
def _analyze(sql: str, dialect: str, pk_items: tuple[tuple[str, str], ...]) -> Access:
    if is_inert(sql):
        return NOTHING
    text, named = _numbered(sql)
    try:
        statements = [s for s in sqlglot.parse(text, read=dialect or None) if s is not None]
    except SqlglotError:
        return UNKNOWN_READ if is_plain_select(sql) else UNKNOWN_WRITE
    pk_columns = dict(pk_items)
    reads: list[TableAccess] = []
    writes: list[TableAccess] = []
    for statement in statements:
        if isinstance(statement, _DDL) or statement.find(*_DDL) is not None:
            return UNKNOWN_WRITE
        written = _writes(statement, pk_columns, named)
        # A table no model has is likely a misreading (MySQL's UPDATE LOW_PRIORITY t reads as
        # a table called LOW_PRIORITY): assume the write changed anything.
        if written is None or any(w.table not in pk_columns for w in written):
            return UNKNOWN_WRITE
        writes += written
        reads += _reads(statement, pk_columns, named, {w.table for w in written})
    return Access(reads=tuple(dict.fromkeys(reads)), writes=tuple(dict.fromkeys(writes)))


def _numbered(sql: str) -> tuple[str, dict[str, int]]:
    """Replace each ``%s`` with ``:pN`` so that sqlglot keeps each parameter's position.

    ``%(name)s`` placeholders keep their name; the map says which name is which position for
    positional ones (named parameters are looked up by name when tags are made).
    """
    named: dict[str, int] = {}
    counter = iter(range(1_000_000))

    def replace(match: re.Match[str]) -> str:
        if match.group(1):
            return f":{match.group(1)}"
        position = next(counter)
        named[f"p{position}"] = position
        return f":p{position}"

    return _PLACEHOLDER.sub(replace, sql).replace("%%", "%"), named


def _writes(
    statement: exp.Expression, pk_columns: dict[str, str], named: dict[str, int]
) -> list[TableAccess] | None:
    """Return the tables ``statement`` changes, or None if it may change what we cannot name."""
    found: list[TableAccess] = []
    for node in statement.find_all(
        exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.TruncateTable
    ):
        if isinstance(node, exp.TruncateTable):
            found += [
                TableAccess(t.name, deletes=True)
                for t in node.expressions
                if isinstance(t, exp.Table)
            ]
            continue
        target = node.this
        if isinstance(target, exp.Schema):
            target = target.this
        if not isinstance(target, exp.Table) or not target.name:
            return None
        pins = None
        if isinstance(node, exp.Update | exp.Delete):
            pins = _pins(node.args.get("where"), target.name, pk_columns, named)
        found.append(
            TableAccess(target.name, pins, deletes=isinstance(node, exp.Delete | exp.Merge))
        )
    return found


def _reads(
    statement: exp.Expression,
    pk_columns: dict[str, str],
    named: dict[str, int],
    written: set[str],
) -> list[TableAccess]:
    ctes = {cte.alias_or_name for cte in statement.find_all(exp.CTE)}
    tables = [
        t.name
        for t in statement.find_all(exp.Table)
        if t.name and t.name not in ctes and t.name not in written
    ]
    distinct = list(dict.fromkeys(tables))
    if len(distinct) == 1 and len(tables) == 1 and isinstance(statement, exp.Select):
        pins = _pins(statement.args.get("where"), distinct[0], pk_columns, named)
        return [TableAccess(distinct[0], pins)]
    return [TableAccess(t) for t in distinct]


def _pins(
    where: exp.Expression | None, table: str, pk_columns: dict[str, str], named: dict[str, int]
) -> tuple[Pin, ...] | None:
    """Return the primary keys a ``WHERE`` pins its rows to, or None if it does not.

    ``pk = x`` and ``pk IN (x, y)`` pin, alone or AND-ed with other conditions (those only
    narrow the rows further); anything under an OR, NOT or a subquery does not.
    """
    pk = pk_columns.get(table)
    if where is None or pk is None:
        return None
    condition = where.this
    for part in _conjuncts(condition):
        pins = _pinned_values(part, table, pk, named)
        if pins is not None:
            return pins
    return None


def _conjuncts(condition: exp.Expression) -> list[exp.Expression]:
    while isinstance(condition, exp.Paren):
        condition = condition.this
    if isinstance(condition, exp.And):
        return _conjuncts(condition.left) + _conjuncts(condition.right)
    return [condition]


def _pinned_values(
    part: exp.Expression, table: str, pk: str, named: dict[str, int]
) -> tuple[Pin, ...] | None:
    if isinstance(part, exp.EQ):
        column, value = part.left, part.right
        if not _is_pk(column, table, pk):
            column, value = value, column
        if _is_pk(column, table, pk):
            pin = _value(value, named)
            return None if pin is None else (pin,)
        return None
    if isinstance(part, exp.In) and _is_pk(part.this, table, pk) and not part.args.get("query"):
        pins = [_value(v, named) for v in part.expressions]
        if pins and all(p is not None for p in pins):
            return tuple(p for p in pins if p is not None)
    return None


def _is_pk(node: exp.Expression, table: str, pk: str) -> bool:
    return (
        isinstance(node, exp.Column) and node.name == pk and (not node.table or node.table == table)
    )


def _value(node: exp.Expression, named: dict[str, int]) -> Pin | None:
    if isinstance(node, exp.Placeholder):
        return named.get(node.name) if node.name in named else f":{node.name}"
    if isinstance(node, exp.Literal):
        return f"={node.this}"
    return None
