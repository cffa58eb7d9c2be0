"""What to fix first: findings grouped by root cause, ranked by the time their fix saves.

Pure functions over the report's plain data (``report["findings"]`` and ``report["pages"]``), so
a ranking can be recomputed from any ``pagedoctor.report/1`` file.

The saving of a group is per request on a page where it occurs, times the number of such
pages. It is *verified* when the fix was measured (``verified.ms_before - ms_after``), else
*estimated* from the evidence: the recorded time of the queries the fix removes or speeds up.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeGuard

Basis = Literal["verified", "estimated", "unknown"]

_SEVERITY = {"high": 0, "medium": 1, "low": 2}
# Kinds whose fix keeps one of the repeated queries (a prefetch, a value computed once).
_KEEPS_ONE = frozenset({"n_plus_one", "duplicate_query"})


@dataclass(frozen=True)
class Saving:
    """Milliseconds a fix saves per request on one page, and how that number was found."""

    ms: float | None
    basis: Basis
    how: str


def rank(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return the report's findings grouped by root cause, the largest total saving first."""
    pages = {page.get("url"): page for page in report.get("pages") or []}
    entries = [_entry(group, pages) for group in group_findings(report.get("findings") or [])]
    entries.sort(key=_order)
    return [{"rank": number, **entry} for number, entry in enumerate(entries, 1)]


def group_findings(findings: Iterable[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """Return the findings grouped by root cause, groups and members in report order."""
    groups: dict[tuple[object, ...], list[Mapping[str, Any]]] = {}
    for finding in findings:
        groups.setdefault(root_cause(finding), []).append(finding)
    return list(groups.values())


def root_cause(finding: Mapping[str, Any]) -> tuple[object, ...]:
    """Return what makes two findings one problem: the same kind fixed by the same change.

    The analyzers already merge one cause seen on several pages into one finding; this also
    joins findings that one edit fixes (the same code at the same line), and, without a fix,
    findings about the same statement from the same place.
    """
    kind = finding.get("kind")
    fix = finding.get("fix") or {}
    if fix.get("file"):
        return (kind, "fix", fix["file"], fix.get("line"), fix.get("code") or fix.get("summary"))
    where = finding.get("where") or {}
    evidence = finding.get("evidence") or {}
    if where.get("file") or evidence.get("sql"):
        return (
            kind,
            "where",
            where.get("file"),
            where.get("line"),
            evidence.get("model"),
            evidence.get("relation"),
            evidence.get("sql"),
        )
    return (kind, "id", finding.get("id"))


def saving(finding: Mapping[str, Any], pages: Mapping[Any, Mapping[str, Any]]) -> Saving:
    """Return what fixing ``finding`` saves per request: measured if verified, else estimated."""
    verified: Mapping[str, Any] = finding.get("verified") or {}
    before, after = verified.get("ms_before"), verified.get("ms_after")
    # A withdrawn fix (``fix`` null) was measured but did not work: its numbers save nothing.
    if finding.get("fix") and _is_number(before) and _is_number(after):
        one_query = " (one run of the query)" if finding.get("kind") == "missing_index" else ""
        return Saving(
            round(max(0.0, before - after), 1),
            "verified",
            f"measured with the fix applied: {before:g} → {after:g} ms{one_query}",
        )
    return estimate(finding, pages)


def estimate(finding: Mapping[str, Any], pages: Mapping[Any, Mapping[str, Any]]) -> Saving:
    """Return the saving ``finding``'s evidence suggests, from the recorded query times."""
    kind = str(finding.get("kind"))
    evidence = finding.get("evidence") or {}
    if kind == "duplicate_query" and _is_number(evidence.get("ms")):
        count = max(int(evidence.get("count") or 1), 1)
        return Saving(
            round(evidence["ms"] * (count - 1) / count, 1),
            "estimated",
            f"the time of the {count - 1} repeated queries (database time only)",
        )
    per_page = [
        ms
        for url in finding.get("pages") or []
        if url in pages
        and (ms := _page_estimate(kind, evidence.get("sql"), pages[url])) is not None
    ]
    if per_page:
        return Saving(round(statistics.fmean(per_page), 1), "estimated", _HOW.get(kind, _HOW[""]))
    if _is_number(evidence.get("ms")):
        return Saving(round(evidence["ms"], 1), "estimated", "the recorded time of the evidence")
    return Saving(None, "unknown", "nothing recorded to estimate it from")


_HOW = {
    "n_plus_one": "the time of the per-row queries but one (database time only: a lower bound)",
    "unbounded_query": "at most: the query and the page's time outside SQL, templates and "
    "cache, where the rows are fetched and handled",
    "": "the time of the queries the fix removes or speeds up (database time only)",
}


def _page_estimate(kind: str, sql: Any, page: Mapping[str, Any]) -> float | None:
    """Return the time ``page`` spent in the statement ``sql`` that the fix removes."""
    if not sql:
        return None
    times = [
        float(event.get("ms") or 0.0)
        for event in page.get("timeline") or []
        if event.get("kind") == "query" and event.get("text") == sql
    ]
    if not times:
        return None
    total = sum(times)
    if kind in _KEEPS_ONE:
        total -= total / len(times)
    if kind == "unbounded_query":
        # SQLite and others time only the execute; fetching the rows happens afterwards.
        accounted = sum(float(page.get(key) or 0.0) for key in _ACCOUNTED)
        total += max(0.0, float(page.get("ms") or 0.0) - accounted)
    return total


_ACCOUNTED = ("query_ms", "template_ms", "cache_ms")


def fix_line(fix: Mapping[str, Any] | None, where: str | None) -> str | None:
    """Return the fix in one line: its code (or summary) and where to make it."""
    if not fix:
        return None
    code = str(fix.get("code") or "")
    text = code if code and "\n" not in code else str(fix.get("summary") or code)
    place = _place(fix) or where
    return f"{text} at {place}" if place else text


def _entry(
    group: Sequence[Mapping[str, Any]], pages: Mapping[Any, Mapping[str, Any]]
) -> dict[str, Any]:
    head = min(group, key=lambda f: _SEVERITY.get(str(f.get("severity")), 3))
    # One edit fixes every member: the group saves what its best-measured member saves.
    savings = [saving(finding, pages) for finding in group]
    best = min(savings, key=lambda s: (_BASIS_ORDER[s.basis], -(s.ms or 0.0)))
    urls = list(dict.fromkeys(url for finding in group for url in finding.get("pages") or []))
    where = _place(head.get("where") or {})
    return {
        "findings": [finding.get("id") for finding in group],
        "kind": head.get("kind"),
        "severity": head.get("severity"),
        "title": head.get("message"),
        "pages": urls,
        "saving": {
            "ms": best.ms,
            "basis": best.basis,
            "total_ms": None if best.ms is None else round(best.ms * max(len(urls), 1), 1),
            "how": best.how,
        },
        "fix": fix_line(next((f["fix"] for f in group if f.get("fix")), None), where),
        "where": where,
    }


_BASIS_ORDER: dict[Basis, int] = {"verified": 0, "estimated": 1, "unknown": 2}


def _order(entry: Mapping[str, Any]) -> tuple[int, float, int]:
    total = entry["saving"]["total_ms"]
    severity = _SEVERITY.get(str(entry.get("severity")), 3)
    # Groups without a number come last, most severe first; sort is stable for the rest.
    return (total is None, -(total or 0.0), severity)


def _place(where: Mapping[str, Any]) -> str | None:
    if not where.get("file"):
        return None
    line = where.get("line")
    return f"{where['file']}:{line}" if line is not None else str(where["file"])


def _is_number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)
