"""The columns a SELECT filters, sorts and joins on, and the index that would serve them.

The SQL is read with sqlglot, not with patterns: equality (``=``, ``IN``, ``IS NULL``) and range
(``<``, ``>=``, ``BETWEEN``) conditions of the WHERE clause, the ORDER BY, and the join
conditions. Tables and columns are mapped back to models and fields. A candidate puts the
equality columns first, then one range column (an index cannot be used past a range); a query
that only sorts gets its ORDER BY columns; a join, the joined table's column.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from sqlglot import exp

_EQUALITY = (exp.EQ, exp.In, exp.Is)
_RANGE = (exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Between)


@dataclass
class Columns:
    """What one query does with the columns of one table, in the order the SQL names them."""

    table: str
    equality: list[str] = field(default_factory=list)
    range: list[str] = field(default_factory=list)
    order: list[str] = field(default_factory=list)
    join: list[str] = field(default_factory=list)
    like: list[tuple[str, int]] = field(default_factory=list)  # (column, parameter position)

    def add(self, kind: str, column: str) -> None:
        found: list[str] = getattr(self, kind)
        if column not in found:
            found.append(column)


@dataclass(frozen=True)
class Candidate:
    """An index that might serve a query: a model, its columns in order, and why."""

    model: type[models.Model]
    table: str
    columns: tuple[str, ...]
    fields: tuple[str, ...]
    reason: str  # "filter", "sort" or "join"
    equality: int = 0  # how many leading columns are compared for equality
    then_sorted_by: tuple[str, ...] = ()  # fields of an ORDER BY the index leaves to a sort

    @property
    def label(self) -> str:
        return self.model._meta.label


def query_columns(query: exp.Query) -> dict[str, Columns]:
    """Return, per table of the outermost SELECT, the columns it filters, sorts and joins on."""
    select = query if isinstance(query, exp.Select) else None
    if select is None:
        return {}
    aliases = _aliases(select)
    tables: dict[str, Columns] = {name: Columns(name) for name in dict.fromkeys(aliases.values())}

    def table_of(column: exp.Column) -> str | None:
        if column.table:
            return aliases.get(column.table)
        return next(iter(tables)) if len(tables) == 1 else None

    placeholders = {id(node): n for n, node in enumerate(_placeholders(select))}
    where = select.args.get("where")
    for condition in _conjuncts(where.this if where else None):
        _read_condition(condition, table_of, tables, placeholders, in_join=False)
    for join in select.args.get("joins") or []:
        for condition in _conjuncts(join.args.get("on")):
            _read_condition(condition, table_of, tables, placeholders, in_join=True)
    order = select.args.get("order")
    for ordered in order.expressions if order else []:
        column = ordered.this
        if isinstance(column, exp.Column) and (table := table_of(column)):
            tables[table].add("order", column.name)
    return tables


def _aliases(select: exp.Select) -> dict[str, str]:
    sources = [select.args.get("from_") or select.args.get("from")]
    sources += list(select.args.get("joins") or [])
    aliases: dict[str, str] = {}
    for source in sources:
        table = source.this if source is not None else None
        if isinstance(table, exp.Table):
            aliases[table.alias_or_name] = table.name
    return aliases


def _placeholders(node: exp.Expression) -> Iterator[exp.Placeholder]:
    # Depth-first, arguments in order: the order the placeholders appear in the SQL.
    for child in node.walk(bfs=False):
        if isinstance(child, exp.Placeholder):
            yield child


def _conjuncts(condition: exp.Expression | None) -> Iterator[exp.Expression]:
    if condition is None:
        return
    while isinstance(condition, exp.Paren):
        condition = condition.this
    if isinstance(condition, exp.And):
        yield from _conjuncts(condition.left)
        yield from _conjuncts(condition.right)
    else:
        yield condition


def _read_condition(
    condition: exp.Expression,
    table_of: Any,
    tables: dict[str, Columns],
    placeholders: dict[int, int],
    *,
    in_join: bool,
) -> None:
    if isinstance(condition, exp.Escape):  # LIKE %s ESCAPE '\\', as Django writes it
        condition = condition.this
    left, right = condition.this, condition.args.get("expression")
    if (
        isinstance(condition, exp.EQ)
        and isinstance(left, exp.Column)
        and isinstance(right, exp.Column)
    ):
        for column in (left, right):
            if table := table_of(column):
                tables[table].add("join", column.name)
        return
    if isinstance(condition, exp.Like | exp.ILike) and not in_join:
        _read_like(left, right, table_of, tables, placeholders)
        return
    if in_join or not isinstance(left, exp.Column) or not (table := table_of(left)):
        return
    if isinstance(right, exp.Column):
        return  # compares two columns of one row: no index helps
    if isinstance(condition, _EQUALITY):
        tables[table].add("equality", left.name)
    elif isinstance(condition, _RANGE):
        tables[table].add("range", left.name)


def _read_like(
    left: exp.Expression,
    right: exp.Expression | None,
    table_of: Any,
    tables: dict[str, Columns],
    placeholders: dict[int, int],
) -> None:
    # Django wraps both sides: UPPER("t"."name"::text) LIKE UPPER(%s), `name` LIKE BINARY %s.
    column = left if isinstance(left, exp.Column) else left.find(exp.Column)
    if right is None or column is None or not (table := table_of(column)):
        return
    value = right if isinstance(right, exp.Placeholder) else right.find(exp.Placeholder)
    tables[table].like.append((column.name, placeholders.get(id(value), -1)))


def model_for_table(table: str) -> type[models.Model] | None:
    """Return the managed, concrete model whose table is ``table``."""
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.db_table.lower() == table.lower() and meta.managed and not meta.proxy:
            return model
    return None


def field_for_column(model: type[models.Model], column: str) -> str | None:
    for model_field in model._meta.concrete_fields:
        if model_field.column is not None and model_field.column.lower() == column.lower():
            return model_field.name
    return None


def candidates(query: exp.Query) -> list[Candidate]:
    """Return the indexes that could serve ``query``, one per table at most, plus its joins."""
    found: list[Candidate] = []
    for position, columns in enumerate(query_columns(query).values()):
        model = model_for_table(columns.table)
        if model is None:
            continue
        pk = model._meta.pk.column if model._meta.pk is not None else None
        equality = [c for c in columns.equality if c != pk]
        if equality or columns.range:
            chosen, reason = [*equality, *columns.range[:1]], "filter"
        elif columns.order and position == 0:
            chosen, reason = list(columns.order), "sort"
        else:
            chosen, reason = [], ""
        candidate = _candidate(model, columns.table, chosen, reason, equality)
        if candidate is not None:
            if reason == "filter" and not columns.range and position == 0:
                order = [field_for_column(model, c) for c in columns.order if c not in chosen]
                if order and None not in order:
                    sorted_by = tuple(f for f in order if f is not None)
                    candidate = dataclasses.replace(candidate, then_sorted_by=sorted_by)
            found.append(candidate)
        if position > 0:
            for column in columns.join:
                if column != pk and (
                    join := _candidate(model, columns.table, [column], "join", [])
                ):
                    found.append(join)
    return found


def _candidate(
    model: type[models.Model], table: str, columns: list[str], reason: str, equality: list[str]
) -> Candidate | None:
    names = [field_for_column(model, c) for c in columns]
    if not columns or any(n is None for n in names):
        return None
    return Candidate(
        model=model,
        table=table,
        columns=tuple(columns),
        fields=tuple(n for n in names if n is not None),
        reason=reason,
        equality=len([c for c in columns if c in equality]),
    )


def existing_indexes(connection: BaseDatabaseWrapper, table: str) -> list[tuple[str, ...]]:
    """Return the column lists of every index, unique constraint and primary key on ``table``."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return [
        tuple(c for c in info["columns"] if c)
        for info in constraints.values()
        if (info.get("index") or info.get("unique") or info.get("primary_key"))
        and info.get("columns")
        and all(info["columns"])
    ]


def covered_by(candidate: Candidate, indexes: list[tuple[str, ...]]) -> tuple[str, ...] | None:
    """Return the existing index that already serves ``candidate``, if there is one.

    An index serves it when the candidate's columns are its leading columns; equality columns
    may come in any order among themselves.
    """
    wanted = [c.lower() for c in candidate.columns]
    n = len(wanted)
    for index in indexes:
        head = [c.lower() for c in index[:n]]
        if head == wanted:
            return index
        eq = candidate.equality
        if len(head) == n and sorted(head[:eq]) == sorted(wanted[:eq]) and head[eq:] == wanted[eq:]:
            return index
    return None
