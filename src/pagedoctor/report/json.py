"""The JSON report, schema ``pagedoctor.report/1`` (see docs/report-schema.md)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pagedoctor
from pagedoctor.audit.ranking import rank
from pagedoctor.audit.runner import AuditResult, PageResult
from pagedoctor.cache import stats
from pagedoctor.capture.events import CacheEvent, CallSite, QueryEvent, TemplateEvent
from pagedoctor.capture.recording import Recording
from pagedoctor.diagnose.findings import Finding
from pagedoctor.report.paths import relative_path

SCHEMA = "pagedoctor.report/1"
TIMELINE_LIMIT = 500


def build_report(result: AuditResult) -> dict[str, Any]:
    """Return the report as plain data, ready for ``json.dumps`` and the renderers."""
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "pagedoctor": pagedoctor.__version__,
        "site": dict(result.site),
        "pages": [_page(page) for page in result.pages],
        "findings": [finding_data(f) for f in result.findings],
    }
    # Added within /1: what to fix first, from the fields above alone.
    report["ranking"] = rank(report)
    return report


def write_json(report: dict[str, Any], path: str | Path) -> None:
    Path(path).write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")


def _page(page: PageResult) -> dict[str, Any]:
    recording = page.recording
    timeline = _timeline(recording)
    return {
        "url": page.url,
        "status": page.status,
        "ms": round(page.ms, 1),
        "queries": len(recording.queries),
        "query_ms": round(recording.query_ms, 1),
        "duplicate_queries": recording.duplicate_queries,
        "cache_hits": recording.cache_hits,
        "cache_misses": recording.cache_misses,
        "bytes": page.bytes,
        "findings": list(page.findings),
        "cache_ms": round(recording.cache_ms, 1),
        "template_ms": round(recording.template_ms, 1),
        "treatments": {
            alias: {kind: counts[kind] for kind in stats.KINDS}
            for alias, counts in sorted(recording.treatments.items())
        },
        "error": page.error,
        "timeline": timeline[:TIMELINE_LIMIT],
        "timeline_dropped": max(0, len(timeline) - TIMELINE_LIMIT) + recording.dropped,
    }


def _timeline(recording: Recording) -> list[dict[str, Any]]:
    events: list[QueryEvent | CacheEvent | TemplateEvent] = [
        *recording.queries,
        *recording.cache_calls,
        *recording.templates,
    ]
    events.sort(key=lambda e: e.started)
    return [_event(e, recording.started) for e in events]


def _event(event: QueryEvent | CacheEvent | TemplateEvent, origin: float) -> dict[str, Any]:
    data: dict[str, Any] = {
        "start_ms": round((event.started - origin) * 1000, 2),
        "ms": round(event.duration_ms, 2),
        "where": None,
        "template": None,
    }
    if isinstance(event, QueryEvent):
        data.update(kind="query", text=event.sql, where=_site(event.callsite))
        if event.template is not None:
            data["template"] = f"{event.template.name}:{event.template.line}"
    elif isinstance(event, CacheEvent):
        outcome = " (hit)" if event.hits and not event.misses else " (miss)" if event.misses else ""
        data.update(
            kind="cache",
            text=f"{event.operation} {' '.join(event.keys)}{outcome}".strip(),
            where=_site(event.callsite),
        )
    else:
        data.update(kind="template", text=event.name, depth=event.depth)
    return data


def _site(site: CallSite | None) -> str | None:
    return f"{relative_path(site.file)}:{site.line} in {site.function}" if site else None


_PLACES = ("built", "iterated", "touched")


def _evidence(evidence: dict[str, Any]) -> dict[str, Any]:
    """Return the evidence with its "file:line" places relative to the project."""
    data = dict(evidence)
    for key in _PLACES:
        place = data.get(key)
        if isinstance(place, str) and ":" in place:
            file, line = place.rsplit(":", 1)
            data[key] = f"{relative_path(file)}:{line}"
    return data


def finding_data(finding: Finding) -> dict[str, Any]:
    """Return a finding as the report shows it, with paths relative to the project."""
    where = None
    if finding.where is not None:
        where = {"file": relative_path(finding.where.file), "line": finding.where.line}
    fix = None
    if finding.fix is not None:
        fix = dataclasses.asdict(finding.fix)
        if fix["file"]:
            fix["file"] = relative_path(fix["file"])
    return {
        "id": finding.id,
        "kind": finding.kind,
        "severity": finding.severity,
        "message": finding.message,
        "where": where,
        "pages": list(finding.pages),
        "evidence": _evidence(finding.evidence),
        "fix": fix,
        "verified": dataclasses.asdict(finding.verified) if finding.verified else None,
    }
