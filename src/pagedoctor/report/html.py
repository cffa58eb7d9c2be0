"""Render a pagedoctor report as one self-contained HTML document.

The page is rendered by Django's template engine with autoescaping on, from a context that holds
only strings, lists and dicts: numbers are formatted here, so the site's localization settings
(decimal commas, thousand separators) can never leak into SVG coordinates, and rendering works
without configured Django settings (e.g. from a saved JSON report).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from importlib.resources import files
from typing import Any

from django.template import Context, Engine, Template

from pagedoctor.report.terminal import (
    format_bytes,
    format_ms,
    format_where,
    page_is_error,
    plural,
    sorted_findings,
)

# The chart is drawn in SVG user units; the browser scales the whole picture to the page width.
CHART_WIDTH = 1000
_LABEL_WIDTH = 230
_BAR_X = 240
_BAR_WIDTH = 640
_ROW_HEIGHT = 28
_BAR_HEIGHT = 18
_AXIS_HEIGHT = 22
_LABEL_CHARS = 30
_WORST_PAGES = 3

SEGMENTS = (("db", "Database"), ("cache", "Cache"), ("templates", "Templates"), ("other", "Other"))


def render_html(report: dict[str, Any]) -> str:
    """Return ``report`` (schema ``pagedoctor.report/1``) as a self-contained HTML page."""
    context = Context(_report_context(report), autoescape=True, use_l10n=False, use_tz=False)
    return _template().render(context)


@cache
def _template() -> Template:
    source = files("pagedoctor").joinpath("report/templates/report.html").read_text("utf-8")
    # libraries={} keeps installed apps' template tags out: the page needs only the builtins.
    return Engine(libraries={}, autoescape=True).from_string(source)


def _report_context(report: Mapping[str, Any]) -> dict[str, Any]:
    pages: list[dict[str, Any]] = report.get("pages") or []
    findings = sorted_findings(report.get("findings") or [])
    anchors: dict[str, str] = {}
    for n, finding in enumerate(findings, 1):
        anchors.setdefault(str(finding.get("id")), f"finding-{n}")
    site = report.get("site") or {}
    return {
        "site": {key: str(site.get(key) or "-") for key in ("settings", "database", "cache")},
        "schema": str(report.get("schema") or ""),
        "version": str(report.get("pagedoctor") or ""),
        "generated": _format_generated(report.get("generated")),
        "generated_iso": str(report.get("generated") or ""),
        "summary": _summary(pages, findings),
        "chart": _chart(pages),
        "segments": [{"key": key, "label": label} for key, label in SEGMENTS],
        "pages": [_page(page, n, anchors) for n, page in enumerate(pages, 1)],
        "findings": [_finding(f, f"finding-{n}", pages) for n, f in enumerate(findings, 1)],
    }


def _format_generated(value: Any) -> str:
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    offset = moment.strftime("%z")
    zone = "UTC" if offset in ("+0000", "") else offset
    return f"{moment:%Y-%m-%d %H:%M:%S} {zone}"


def _summary(pages: list[dict[str, Any]], findings: list[dict[str, Any]]) -> dict[str, Any]:
    numbered = sorted(enumerate(pages, 1), key=lambda item: item[1].get("ms") or 0.0, reverse=True)
    severities = [str(f.get("severity", "")) for f in findings]
    return {
        "pages": str(len(pages)),
        "queries": str(sum(page.get("queries") or 0 for page in pages)),
        "duplicates": str(sum(page.get("duplicate_queries") or 0 for page in pages)),
        "errors": str(sum(page_is_error(page) for page in pages)),
        "findings": str(len(findings)),
        "by_severity": [
            {"severity": level, "count": str(severities.count(level))}
            for level in ("high", "medium", "low")
            if level in severities
        ],
        "worst": [
            {
                "url": str(page.get("url", "")),
                "anchor": f"page-{number}",
                "ms": format_ms(page.get("ms")),
                "queries_label": plural(page.get("queries") or 0, "query", "queries"),
            }
            for number, page in numbered[:_WORST_PAGES]
        ],
    }


def time_breakdown(page: Mapping[str, Any]) -> list[tuple[str, str, float]]:
    """Return ``(key, label, ms)`` for db, cache, templates and the rest of the page's time."""
    total = float(page.get("ms") or 0.0)
    db = float(page.get("query_ms") or 0.0)
    cache = float(page.get("cache_ms") or 0.0)
    # A template's time includes the queries and cache calls made while it renders: taking
    # the overlap off the templates keeps the bar from outgrowing the page's own time.
    templates = min(float(page.get("template_ms") or 0.0), max(total - db - cache, 0.0))
    other = max(total - db - cache - templates, 0.0)
    return [
        (key, label, ms)
        for (key, label), ms in zip(SEGMENTS, (db, cache, templates, other), strict=True)
    ]


def _chart(pages: list[dict[str, Any]]) -> dict[str, Any]:
    breakdowns = [time_breakdown(page) for page in pages]
    longest = max((sum(ms for *_, ms in parts) for parts in breakdowns), default=0.0)
    scale = _BAR_WIDTH / longest if longest > 0 else 0.0
    bars = [
        _bar(page, parts, scale, _AXIS_HEIGHT + n * _ROW_HEIGHT)
        for n, (page, parts) in enumerate(zip(pages, breakdowns, strict=True))
    ]
    height = _AXIS_HEIGHT + len(pages) * _ROW_HEIGHT + 4
    return {
        "width": str(CHART_WIDTH),
        "height": str(height),
        "bars": bars,
        "ticks": _ticks(longest, scale, height),
        "bar_x": str(_BAR_X),
        "label_x": str(_LABEL_WIDTH),
    }


def _bar(
    page: Mapping[str, Any], parts: list[tuple[str, str, float]], scale: float, top: int
) -> dict[str, Any]:
    url = str(page.get("url", ""))
    x = float(_BAR_X)
    segments = []
    for key, label, ms in parts:
        if ms <= 0:
            continue
        width = ms * scale
        segments.append(
            {
                "key": key,
                "x": f"{x:.2f}",
                "width": f"{width:.2f}",
                "ms": format_ms(ms),
                "title": f"{url}: {label.lower()} {format_ms(ms)} ms",
            }
        )
        x += width
    return {
        "url": url,
        "label": url if len(url) <= _LABEL_CHARS else url[: _LABEL_CHARS - 1] + "…",
        "ms": format_ms(page.get("ms")),
        "failed": page_is_error(page),
        "y": str(top),
        "bar_y": str(top + (_ROW_HEIGHT - _BAR_HEIGHT) // 2),
        "text_y": str(top + _ROW_HEIGHT // 2 + 4),
        "bar_height": str(_BAR_HEIGHT),
        "end_x": f"{x + 6:.2f}",
        "segments": segments,
    }


def _ticks(longest: float, scale: float, height: int) -> list[dict[str, str]]:
    if longest <= 0:
        return []
    step = _nice_step(longest / 4)
    count = int(longest / step + 1e-9) + 1
    return [
        {
            "x": f"{_BAR_X + n * step * scale:.2f}",
            "label": f"{n * step:g} ms",
            "bottom": str(height - 4),
        }
        for n in range(count)
    ]


def _nice_step(raw: float) -> float:
    magnitude = 10.0 ** math.floor(math.log10(raw))
    return next(f * magnitude for f in (1, 2, 2.5, 5, 10) if raw <= f * magnitude)


def _page(page: Mapping[str, Any], number: int, anchors: Mapping[str, str]) -> dict[str, Any]:
    timeline: list[dict[str, Any]] = page.get("timeline") or []
    dropped = int(page.get("timeline_dropped") or 0)
    return {
        "anchor": f"page-{number}",
        "url": str(page.get("url", "")),
        "status": "-" if page.get("status") is None else str(page["status"]),
        "failed": page_is_error(page),
        "ms": format_ms(page.get("ms")),
        "queries": str(page.get("queries", 0)),
        "query_ms": format_ms(page.get("query_ms")),
        "duplicates": str(page.get("duplicate_queries", 0)),
        "cache": f"{page.get('cache_hits', 0)}/{page.get('cache_misses', 0)}",
        "size": format_bytes(page.get("bytes")),
        "findings": [
            {"id": str(fid), "anchor": anchors.get(str(fid), "")}
            for fid in page.get("findings") or []
        ],
        "error": str(page["error"]) if page.get("error") else "",
        "timeline": _timeline(timeline, float(page.get("ms") or 0.0)),
        "queries_label": plural(page.get("queries") or 0, "query", "queries"),
        "events_label": plural(len(timeline), "event"),
        "dropped": str(dropped) if dropped > 0 else "",
    }


def _timeline(events: list[dict[str, Any]], page_ms: float) -> list[dict[str, str]]:
    ordered = sorted(events, key=lambda event: float(event.get("start_ms") or 0.0))
    span = max([page_ms, *(_event_end(event) for event in ordered)])
    return [_event(event, span) for event in ordered]


def _event_end(event: Mapping[str, Any]) -> float:
    return float(event.get("start_ms") or 0.0) + float(event.get("ms") or 0.0)


def _event(event: Mapping[str, Any], span: float) -> dict[str, str]:
    start = float(event.get("start_ms") or 0.0)
    duration = float(event.get("ms") or 0.0)
    left = start / span * 100 if span else 0.0
    width = min(max(duration / span * 100 if span else 0.0, 0.5), 100 - left)
    return {
        "kind": str(event.get("kind", "")),
        "start": format_ms(start),
        "ms": format_ms(duration),
        "text": str(event.get("text") or ""),
        "where": str(event.get("where") or ""),
        "template": str(event.get("template") or ""),
        "indent": str(int(event.get("depth") or 0)),
        "left": f"{left:.2f}",
        "width": f"{max(width, 0.0):.2f}",
    }


def _finding(
    finding: Mapping[str, Any], anchor: str, pages: list[dict[str, Any]]
) -> dict[str, Any]:
    page_anchors = {str(page.get("url", "")): f"page-{n}" for n, page in enumerate(pages, 1)}
    severity = str(finding.get("severity", "")).lower()
    return {
        "anchor": anchor,
        "id": str(finding.get("id", "")),
        "kind": str(finding.get("kind", "")),
        "severity": severity if severity in ("high", "medium", "low") else "other",
        "severity_label": severity.upper() or "?",
        "message": str(finding.get("message", "")),
        "where": format_where(finding.get("where")),
        "pages": [
            {"url": str(url), "anchor": page_anchors.get(str(url), "")}
            for url in finding.get("pages") or []
        ],
        "evidence": [_evidence_row(key, value) for key, value in _items(finding.get("evidence"))],
        "fix": _fix(finding.get("fix")),
        "verified": _verified(finding.get("verified")),
    }


def _items(value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, Mapping):
        return [(str(key), item) for key, item in value.items()]
    return [] if value is None else [("value", value)]


def _evidence_row(key: str, value: Any) -> dict[str, Any]:
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return {"key": key, "value": text, "long": len(text) > 60 or "\n" in text}


def _fix(fix: Mapping[str, Any] | None) -> dict[str, str] | None:
    if not fix:
        return None
    return {
        "summary": str(fix.get("summary") or ""),
        "where": format_where(fix),
        "code": str(fix.get("code") or ""),
    }


def _verified(verified: Mapping[str, Any] | None) -> dict[str, str] | None:
    if not verified:
        return None
    same = verified.get("same_output")
    return {
        "queries_before": _text(verified.get("queries_before")),
        "queries_after": _text(verified.get("queries_after")),
        "ms_before": format_ms(verified.get("ms_before")),
        "ms_after": format_ms(verified.get("ms_after")),
        "output": "unknown" if same is None else ("same" if same else "changed"),
    }


def _text(value: Any) -> str:
    return "-" if value is None else str(value)
