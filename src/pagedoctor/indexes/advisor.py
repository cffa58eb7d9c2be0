"""The index advisor: EXPLAIN each SELECT shape, propose verified indexes, flag costly queries.

``advise()`` works on any recordings; ``analyze_indexes()`` is the audit's analyzer (listed in
``pagedoctor.audit.analysis.ANALYZERS``) and turns the advice into findings:

- ``missing_index``: a query reads a whole table to filter or sort it, and an index, tried on the
  database, turns the scan into index use and makes the query faster;
- ``slow_query``: a query over ``slow_ms``, with its plan in plain words;
- ``unbounded_query``: a query without LIMIT that fetches many rows of a large table;
- ``large_count``: ``COUNT(*)`` over a whole large table;
- ``leading_wildcard``: ``LIKE '%x%'`` on a large table, which no B-tree index can serve.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from sqlglot import exp

from pagedoctor.audit.runner import AuditResult
from pagedoctor.capture.events import QueryEvent
from pagedoctor.capture.recording import Recording
from pagedoctor.diagnose.findings import Finding, Fix, Severity, Verification, Where
from pagedoctor.indexes import candidates as cands
from pagedoctor.indexes.migrations import make_index, meta_entry, model_location
from pagedoctor.indexes.plans import (
    DEFAULT_TIMEOUT_MS,
    Plan,
    UnsafeStatement,
    explain,
    rolled_back,
    statement_timeout,
)
from pagedoctor.indexes.shapes import Shape, select_shapes
from pagedoctor.indexes.statements import parse_select
from pagedoctor.indexes.verify import Verdict, VerificationError, verify

# Tables with fewer rows are read in full quickly enough: no index is proposed for them.
DEFAULT_MIN_ROWS = 1_000
# Queries slower than this (milliseconds, the slowest run) are reported as slow_query.
DEFAULT_SLOW_MS = 50.0
# COUNT(*) over a whole table this large, or LIMIT-less queries returning this many rows.
LARGE_TABLE_ROWS = 100_000
UNBOUNDED_ROWS = 1_000
# The costliest shapes explained, and candidate indexes tried, per run: keeps an audit bounded.
MAX_SHAPES = 40
MAX_VERIFICATIONS = 8


@dataclass
class Advice:
    """An index verified to help, with the query shapes it serves."""

    verdict: Verdict
    shapes: list[Shape]
    table_rows: int

    @property
    def pages(self) -> list[str]:
        return list(dict.fromkeys(p for s in self.shapes for p in s.pages))

    @property
    def event(self) -> QueryEvent:
        return self.shapes[0].slowest


@dataclass
class Advisor:
    """One run of the advisor over some recordings; ``run()`` fills the lists."""

    min_rows: int = DEFAULT_MIN_ROWS
    slow_ms: float = DEFAULT_SLOW_MS
    repeat: int = 5
    timeout_ms: int = DEFAULT_TIMEOUT_MS
    large_rows: int = LARGE_TABLE_ROWS
    advice: list[Advice] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    rejected: list[Verdict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    _rows: dict[tuple[str, str], int] = field(default_factory=dict)

    def run(self, recordings: Iterable[tuple[str, Recording]]) -> Advisor:
        wanted: dict[tuple[str, str, tuple[str, ...]], tuple[cands.Candidate, list[Shape]]] = {}
        for shape in select_shapes(recordings)[:MAX_SHAPES]:
            connection = connections[shape.alias]
            event = shape.slowest
            query = parse_select(event.sql, event.vendor)
            if query is None:
                continue
            try:
                plan = explain(connection, event.sql, event.params, timeout_ms=self.timeout_ms)
                self._other_findings(connection, shape, query, plan)
                worth = [
                    c for c in cands.candidates(query) if self._worth_trying(connection, c, plan)
                ]
            except (DatabaseError, UnsafeStatement) as exc:
                # One query the database cannot explain (or times out on) must not stop the rest.
                self.problems.append(f"cannot EXPLAIN {event.sql[:80]!r}: {exc}")
                continue
            for candidate in worth:
                key = (shape.alias, candidate.table, candidate.columns)
                kept, shapes = wanted.setdefault(key, (candidate, []))
                shapes.append(shape)
                if candidate.then_sorted_by and not kept.then_sorted_by:
                    wanted[key] = (candidate, shapes)
        for candidate, shapes in list(wanted.values())[:MAX_VERIFICATIONS]:
            self._verify(candidate, shapes)
        return self

    def table_rows(self, connection: BaseDatabaseWrapper, table: str) -> int:
        key = (connection.alias, table)
        if key not in self._rows:
            self._rows[key] = table_rows(connection, table, timeout_ms=self.timeout_ms)
        return self._rows[key]

    def _worth_trying(
        self, connection: BaseDatabaseWrapper, candidate: cands.Candidate, plan: Plan
    ) -> bool:
        problem = plan.sorts if candidate.reason == "sort" else plan.scans(candidate.table)
        if not problem or self.table_rows(connection, candidate.table) < self.min_rows:
            return False
        existing = cands.existing_indexes(connection, candidate.table)
        return cands.covered_by(candidate, existing) is None

    def _verify(self, candidate: cands.Candidate, shapes: list[Shape]) -> None:
        shape = shapes[0]
        connection = connections[shape.alias]
        event = shape.slowest
        index = make_index(candidate.fields, candidate.table, candidate.columns)
        try:
            verdict = verify(
                connection,
                candidate,
                index,
                event.sql,
                event.params,
                repeat=self.repeat,
                timeout_ms=self.timeout_ms,
            )
        except VerificationError as exc:
            self.problems.append(str(exc))
            return
        if not verdict.helps:
            self.rejected.append(verdict)
            return
        advice = Advice(verdict, shapes, self.table_rows(connection, candidate.table))
        self.advice.append(advice)
        self.findings.insert(0, missing_index_finding(advice))

    def _other_findings(
        self, connection: BaseDatabaseWrapper, shape: Shape, query: exp.Query, plan: Plan
    ) -> None:
        event = shape.slowest
        scanned = [s.table for s in plan.steps if s.kind == "scan" and s.table]
        if event.duration_ms >= self.slow_ms:
            self.findings.append(self._slow_query(connection, shape, plan, scanned))
        if not scanned or not isinstance(query, exp.Select):
            return
        table = scanned[0]
        rows = self.table_rows(connection, table)
        if rows < self.min_rows:
            return
        aggregate = bool(query.args.get("group")) or any(
            isinstance(e.unalias(), exp.AggFunc) for e in query.expressions
        )
        if _is_whole_count(query) and rows >= self.large_rows:
            self.findings.append(
                _finding(
                    "large_count",
                    "medium",
                    f"COUNT(*) reads all {rows:,} rows of {table} on every request",
                    shape,
                    {"table": table, "rows": rows, "plan": plan.describe()},
                    Fix(
                        summary="cache the count (it changes rarely), or show an estimate; "
                        "on PostgreSQL pg_class.reltuples holds one"
                    ),
                )
            )
        elif not aggregate and query.args.get("limit") is None:
            returned = count_rows(connection, event.sql, event.params, timeout_ms=self.timeout_ms)
            if returned is not None and returned >= UNBOUNDED_ROWS:
                self.findings.append(
                    _finding(
                        "unbounded_query",
                        "high" if returned >= self.large_rows else "medium",
                        f"a query without LIMIT fetches {returned:,} rows of {table}",
                        shape,
                        {"table": table, "rows": rows, "returned": returned},
                        Fix(
                            summary="paginate, slice the queryset, or aggregate in the "
                            "database (.aggregate(), .annotate(), .count())"
                        ),
                    )
                )
        self._leading_wildcards(connection, shape, query, rows)

    def _slow_query(
        self, connection: BaseDatabaseWrapper, shape: Shape, plan: Plan, scanned: list[str]
    ) -> Finding:
        event = shape.slowest
        words = plan.describe()
        evidence: dict[str, Any] = {"ms": round(event.duration_ms, 2), "plan": words}
        if scanned:
            rows = self.table_rows(connection, scanned[0])
            returned = count_rows(connection, event.sql, event.params, timeout_ms=self.timeout_ms)
            evidence.update(table=scanned[0], rows=rows, returned=returned)
            shown = f"{returned:,}" if returned is not None else "its result"
            words = f"reads all {rows:,} rows of {scanned[0]} to return {shown}"
        severity: Severity = "high" if event.duration_ms >= 10 * self.slow_ms else "medium"
        return _finding(
            "slow_query",
            severity,
            f"a query takes {event.duration_ms:.0f} ms: it {words}",
            shape,
            evidence,
            None,
        )

    def _leading_wildcards(
        self, connection: BaseDatabaseWrapper, shape: Shape, query: exp.Query, rows: int
    ) -> None:
        event = shape.slowest
        params = event.params if isinstance(event.params, list | tuple) else ()
        for columns in cands.query_columns(query).values():
            for column, position in columns.like:
                value = params[position] if 0 <= position < len(params) else None
                if not (isinstance(value, str) and value[:1] in ("%", "_")):
                    continue
                postgres = event.vendor == "postgresql"
                fix = Fix(
                    summary="a trigram index (pg_trgm, GinIndex with gin_trgm_ops) or full-text "
                    "search (SearchVector)"
                    if postgres
                    else "full-text search, or a search engine: no B-tree index serves "
                    "LIKE '%...%'",
                    code=f'GinIndex(OpClass(Upper("{column}"), name="gin_trgm_ops"), '
                    f'name="{columns.table}_{column}_trgm")'[:200]
                    if postgres
                    else None,
                )
                self.findings.append(
                    _finding(
                        "leading_wildcard",
                        "medium",
                        f"LIKE with a leading wildcard on {columns.table}.{column} reads all "
                        f"{rows:,} rows",
                        shape,
                        {"table": columns.table, "column": column, "rows": rows},
                        fix,
                    )
                )


def _is_whole_count(query: exp.Select) -> bool:
    return (
        not query.args.get("where")
        and not query.args.get("group")
        and not query.args.get("joins")
        and len(query.expressions) == 1
        and isinstance(query.expressions[0].unalias(), exp.Count)
    )


def _where(event: QueryEvent) -> Where | None:
    site = event.callsite
    return Where(site.file, site.line, site.function) if site else None


def _finding(
    kind: str,
    severity: Severity,
    message: str,
    shape: Shape,
    evidence: dict[str, Any],
    fix: Fix | None,
) -> Finding:
    event = shape.slowest
    return Finding(
        kind=kind,
        severity=severity,
        message=message,
        where=_where(event),
        pages=list(shape.pages),
        evidence={**evidence, "sql": event.sql, "database": event.vendor},
        fix=fix,
    )


def missing_index_finding(advice: Advice) -> Finding:
    """Return the ``missing_index`` finding for a verified index."""
    verdict = advice.verdict
    candidate = verdict.candidate
    before, after = verdict.before.ms, verdict.after.ms
    speedup = before / after if after else float("inf")
    fields = ", ".join(candidate.fields)
    file, line = model_location(candidate.model)
    runs = sum(len(s.events) for s in advice.shapes)
    return Finding(
        kind="missing_index",
        severity="high" if speedup >= 5 or before >= 100 else "medium",
        message=(
            f"{candidate.label} has no index on {fields}: the query reads all "
            f"{advice.table_rows:,} rows of {candidate.table}; with the index it is "
            f"{speedup:.1f}x faster"
        ),
        where=_where(advice.event),
        pages=advice.pages,
        evidence={
            "model": candidate.label,
            "fields": list(candidate.fields),
            "reason": candidate.reason,
            "table": candidate.table,
            "rows": advice.table_rows,
            "returned": verdict.before.rows,
            "plan_before": verdict.plan_before.describe(),
            "plan_after": verdict.plan_after.describe(),
            "sql": advice.event.sql,
            "database": advice.event.vendor,
            "queries": [s.fingerprint for s in advice.shapes],
            **_composite_hint(candidate),
        },
        fix=Fix(
            summary=f"add the index to {candidate.model.__name__}.Meta.indexes, then run "
            "makemigrations (or pagedoctor indexes --write-migrations)",
            code=meta_entry(verdict.index),
            file=file,
            line=line,
        ),
        verified=Verification(
            queries_before=runs,
            queries_after=runs,
            ms_before=round(before, 3),
            ms_after=round(after, 3),
            same_output=verdict.same_output,
        ),
    )


def _composite_hint(candidate: cands.Candidate) -> dict[str, str]:
    """Say which wider index would also spare the sort (proposed is the narrowest that helps)."""
    if not candidate.then_sorted_by:
        return {}
    fields = ", ".join(f'"{f}"' for f in (*candidate.fields, *candidate.then_sorted_by))
    return {
        "also_consider": f"models.Index(fields=[{fields}]) serves the ORDER BY too, "
        "at the cost of a wider index"
    }


def table_rows(
    connection: BaseDatabaseWrapper, table: str, *, timeout_ms: int = DEFAULT_TIMEOUT_MS
) -> int:
    """Return how many rows ``table`` has: the planner's estimate when large, else a count."""
    quoted = connection.ops.quote_name(table)
    with (
        rolled_back(connection),
        statement_timeout(connection, timeout_ms),
        connection.cursor() as cursor,
    ):
        estimate = None
        if connection.vendor == "postgresql":
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [quoted])
            row = cursor.fetchone()
            estimate = int(row[0]) if row and row[0] >= 0 else None
        elif connection.vendor == "mysql":
            cursor.execute(
                "SELECT table_rows FROM information_schema.tables "
                "WHERE table_schema = DATABASE() AND table_name = %s",
                [table],
            )
            row = cursor.fetchone()
            estimate = int(row[0]) if row and row[0] is not None else None
        if estimate is not None and estimate >= 1_000_000:
            return estimate
        cursor.execute(f"SELECT COUNT(*) FROM {quoted}")
        return int(cursor.fetchone()[0])


def count_rows(
    connection: BaseDatabaseWrapper, sql: str, params: Any, *, timeout_ms: int = DEFAULT_TIMEOUT_MS
) -> int | None:
    """Return how many rows a SELECT returns, counted by the database; None if it cannot say."""
    if parse_select(sql, connection.vendor) is None:
        raise UnsafeStatement(f"pagedoctor counts only single SELECT statements, not {sql!r}")
    try:
        with (
            rolled_back(connection),
            statement_timeout(connection, timeout_ms),
            connection.cursor() as cursor,
        ):
            cursor.execute(f"SELECT COUNT(*) FROM ({sql}) pagedoctor_rows", params)
            return int(cursor.fetchone()[0])
    except DatabaseError:
        return None


def advise(
    recordings: Iterable[tuple[str, Recording]],
    *,
    min_rows: int = DEFAULT_MIN_ROWS,
    slow_ms: float = DEFAULT_SLOW_MS,
    repeat: int = 5,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
) -> Advisor:
    """EXPLAIN the SELECTs of ``recordings`` (page, recording) and verify the indexes they need."""
    advisor = Advisor(min_rows=min_rows, slow_ms=slow_ms, repeat=repeat, timeout_ms=timeout_ms)
    return advisor.run(recordings)


def analyze_indexes(result: AuditResult) -> list[Finding]:
    """Return the audit's missing_index, slow_query and related findings."""
    return advise((page.url, page.recording) for page in result.pages).findings
