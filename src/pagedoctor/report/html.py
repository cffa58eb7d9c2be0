"""Render a pagedoctor report as one self-contained HTML document.

The page is rendered by Django's template engine with autoescaping on, from a context that holds
only strings, numbers-as-strings, lists and dicts: numbers are formatted here, so the site's
localization settings (decimal commas, thousand separators) can never leak into SVG coordinates,
and rendering works without configured Django settings (e.g. from a saved JSON report).

The page carries a Content-Security-Policy that allows its inline styles and its one inline
script (by hash) and nothing else: were anything from the site ever to slip past escaping, the
browser would still neither run it nor fetch anything from the network.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib.resources import files
from typing import Any

from django.template import Context, Engine

from pagedoctor.report.terminal import (
    SEVERITY_ORDER,
    format_bytes,
    format_ms,
    format_where,
    page_is_error,
    plural,
    sorted_findings,
)

# The charts are drawn in SVG user units; the browser scales each picture to the page width.
CHART_WIDTH = 1000
_LABEL_WIDTH = 230
_BAR_X = 240
_BAR_WIDTH = 420
# Beside each page's bar, the same split stretched to 100%: one slow page squashes the other
# bars to slivers, but its share of database, cache and templates still reads at a glance.
_SHARE_X = 750
_SHARE_WIDTH = 240
_ROW_HEIGHT = 28
_BAR_HEIGHT = 18
_AXIS_HEIGHT = 22
_LABEL_CHARS = 30
_WORST_PAGES = 5
_FIX_FIRST = 5

# The per-page timeline: one lane per template depth, then queries, then cache calls.
_LANE_X = 100
_LANE_WIDTH = 880
_LANE_ROW = 18
_LANE_BAR = 12
_LANE_AXIS = 20
_LANE_MIN_WIDTH = 1.5
_TEMPLATE_ROWS = 3
_TITLE_CHARS = 160
# Up to this many events the event list is open; longer lists start folded behind the chart.
_OPEN_EVENTS = 30
_REPEATS = 8
# About as many monospace characters as fit one column of the evidence grid.
_EVIDENCE_CHARS = 24

SEGMENTS = (("db", "Database"), ("cache", "Cache"), ("templates", "Templates"), ("other", "Other"))
SEVERITIES = ("high", "medium", "low")
MINUS = "\u2212"  # a real minus sign: as wide as the plus, and read as one by screen readers


def render_html(report: dict[str, Any]) -> str:
    """Return ``report`` (schema ``pagedoctor.report/1``) as a self-contained HTML page."""
    context = Context(_report_context(report), autoescape=True, use_l10n=False, use_tz=False)
    return _engine().get_template("report.html").render(context)


def content_security_policy() -> str:
    """Return the page's policy: its own inline style and script, no network, no plugins."""
    digest = hashlib.sha256(_sources()["report.js"].encode("utf-8")).digest()
    script = base64.b64encode(digest).decode("ascii")
    return (
        f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{script}'; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )


@cache
def _sources() -> dict[str, str]:
    folder = files("pagedoctor").joinpath("report/templates")
    return {item.name: item.read_text("utf-8") for item in folder.iterdir() if item.is_file()}


@cache
def _engine() -> Engine:
    # A locmem loader reads the templates once and works from a zipped package too;
    # libraries={} keeps installed apps' template tags out: the page needs only the builtins.
    loader = ("django.template.loaders.locmem.Loader", _sources())
    return Engine(loaders=[loader], libraries={}, autoescape=True)


@dataclass(frozen=True)
class _Links:
    """Anchors for pages and findings, and which findings each page's statements belong to."""

    pages: Mapping[str, str]
    findings: Mapping[str, str]
    statements: Mapping[tuple[str, str], tuple[str, ...]]

    @classmethod
    def build(cls, pages: list[dict[str, Any]], findings: list[dict[str, Any]]) -> _Links:
        page_anchors: dict[str, str] = {}
        for n, page in enumerate(pages, 1):
            page_anchors.setdefault(str(page.get("url", "")), f"page-{n}")
        finding_anchors: dict[str, str] = {}
        statements: dict[tuple[str, str], tuple[str, ...]] = {}
        for n, finding in enumerate(findings, 1):
            fid = str(finding.get("id", ""))
            finding_anchors.setdefault(fid, f"finding-{n}")
            sql = (finding.get("evidence") or {}).get("sql")
            if isinstance(sql, str) and sql:
                for url in finding.get("pages") or []:
                    key = (str(url), sql)
                    statements[key] = (*statements.get(key, ()), fid)
        return cls(page_anchors, finding_anchors, statements)

    def page(self, url: Any) -> dict[str, str]:
        return {"url": str(url), "anchor": self.pages.get(str(url), "")}

    def finding(self, fid: Any) -> dict[str, str]:
        return {"id": str(fid), "anchor": self.findings.get(str(fid), "")}


def _report_context(report: Mapping[str, Any]) -> dict[str, Any]:
    pages: list[dict[str, Any]] = list(report.get("pages") or [])
    findings = sorted_findings(report.get("findings") or [])
    links = _Links.build(pages, findings)
    site = report.get("site") or {}
    fix_first = _fix_first(report.get("ranking"), findings, pages, links)
    return {
        "csp": content_security_policy(),
        "site": {key: str(site.get(key) or "-") for key in ("settings", "database", "cache")},
        "schema": str(report.get("schema") or ""),
        "version": str(report.get("pagedoctor") or ""),
        "generated": _format_generated(report.get("generated")),
        "generated_iso": str(report.get("generated") or ""),
        "summary": _summary(pages, findings, fix_first),
        "fix_first": fix_first,
        "chart": _chart(pages, links),
        "segments": _segment_totals(pages),
        "pages": [_page(page, links) for page in pages],
        "findings": [_finding(f, links) for f in findings],
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


def _percent(part: float, whole: float) -> str:
    return f"{min(max(part / whole * 100, 0.0), 100.0):.2f}" if whole > 0 else "0.00"


# Summary -------------------------------------------------------------------------------------


def _summary(
    pages: list[dict[str, Any]], findings: list[dict[str, Any]], fix_first: Mapping[str, Any]
) -> dict[str, Any]:
    numbered = sorted(enumerate(pages, 1), key=lambda item: item[1].get("ms") or 0.0, reverse=True)
    slowest = float(numbered[0][1].get("ms") or 0.0) if numbered else 0.0
    severities = [str(f.get("severity", "")) for f in findings]
    errors = sum(page_is_error(page) for page in pages)
    return {
        "pages": str(len(pages)),
        "queries": str(sum(page.get("queries") or 0 for page in pages)),
        "duplicates": str(sum(page.get("duplicate_queries") or 0 for page in pages)),
        "errors": str(errors),
        "errors_label": plural(errors, "error"),
        "findings": str(len(findings)),
        "by_severity": [
            {"severity": level, "count": str(severities.count(level))}
            for level in SEVERITIES
            if level in severities
        ],
        "saved": _savings(findings, fix_first),
        "worst": [
            {
                "url": str(page.get("url", "")),
                "anchor": f"page-{number}",
                "ms": format_ms(page.get("ms")),
                "failed": page_is_error(page),
                "queries_label": plural(page.get("queries") or 0, "query", "queries"),
                "width": _percent(float(page.get("ms") or 0.0), slowest),
                "parts": _breakdown_parts(page),
            }
            for number, page in numbered[:_WORST_PAGES]
        ],
    }


def _savings(findings: list[dict[str, Any]], fix_first: Mapping[str, Any]) -> dict[str, str]:
    """Sum the queries the verified fixes remove, and the time the fix-first list saves."""
    queries = 0.0
    fixes = 0
    for finding in findings:
        if _verified_saving(finding) is None:
            continue
        verified = finding["verified"]
        fixes += 1
        before, after = (
            _number(verified.get("queries_before")),
            _number(verified.get("queries_after")),
        )
        queries += max(before - after, 0.0)
    totals = {"verified": 0.0, "estimated": 0.0}
    for item in fix_first["all"]:
        if item["basis"] in totals:
            totals[item["basis"]] += item["total"]
    return {
        "queries": f"{queries:g}",
        "fixes": plural(fixes, "verified fix", "verified fixes"),
        "ms": format_ms(totals["verified"]),
        "estimated": format_ms(totals["estimated"]) if totals["estimated"] > 0 else "",
    }


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _fix_first(
    ranking: Any,
    findings: list[dict[str, Any]],
    pages: list[dict[str, Any]],
    links: _Links,
) -> dict[str, Any]:
    """Return what to fix first: the report's ``ranking`` when it has one, else the findings."""
    by_id = {str(f.get("id", "")): f for f in findings}
    if isinstance(ranking, list) and ranking:
        items = [_ranked(entry, by_id, links) for entry in ranking if isinstance(entry, Mapping)]
        source = "ranking"
    else:
        items = [_ranked_finding(f, links) for f in _rank_findings(findings, pages)]
        source = "findings"
    for n, item in enumerate(items, 1):
        item["rank"] = str(n)
    return {
        "items": items[:_FIX_FIRST],
        "all": items,
        "more": str(len(items) - _FIX_FIRST) if len(items) > _FIX_FIRST else "",
        "source": source,
    }


def _rank_findings(
    findings: list[dict[str, Any]], pages: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Order the findings that have a fix: most severe, most time saved, on the slowest page."""
    page_ms = {str(page.get("url", "")): _number(page.get("ms")) for page in pages}

    def key(finding: dict[str, Any]) -> tuple[int, float, float]:
        saved = _verified_saving(finding) or 0.0
        urls = finding.get("pages") or []
        slowest = max((page_ms.get(str(url), 0.0) for url in urls), default=0.0)
        return (SEVERITY_ORDER.get(finding.get("severity", ""), 3), -saved, -slowest)

    return sorted((f for f in findings if f.get("fix")), key=key)


def _verified_saving(finding: Mapping[str, Any]) -> float | None:
    """Return the milliseconds a fix saved when measured, or None when it was not (or failed)."""
    verified = finding.get("verified")
    # A withdrawn fix (``fix`` null) keeps its measurement, but saves nothing: it is gone.
    if not finding.get("fix") or not verified or verified.get("same_output") is False:
        return None
    return max(_number(verified.get("ms_before")) - _number(verified.get("ms_after")), 0.0)


def _ranked_finding(finding: Mapping[str, Any], links: _Links) -> dict[str, Any]:
    saving = _verified_saving(finding)
    return _fix_item(
        finding,
        ids=[finding.get("id", "")],
        saving={"ms": saving, "basis": "verified" if saving is not None else ""},
        fix=finding.get("fix"),
        place=format_where(finding.get("where")),
        links=links,
    )


def _ranked(
    entry: Mapping[str, Any], by_id: Mapping[str, Mapping[str, Any]], links: _Links
) -> dict[str, Any]:
    """Read one ``report["ranking"]`` entry: a group of findings that one change fixes."""
    ids = [str(fid) for fid in entry.get("findings") or []]
    members = [by_id[fid] for fid in ids if fid in by_id]
    # The finding's own fix shows code and place apart; the ranking's line is the fallback.
    fix = next((m["fix"] for m in members if m.get("fix")), None) or entry.get("fix")
    saving = entry.get("saving")
    return _fix_item(
        {**(members[0] if members else {}), **entry},
        ids=ids,
        saving=saving if isinstance(saving, Mapping) else {},
        fix=fix,
        place=str(entry.get("where") or ""),
        links=links,
    )


def _fix_item(
    entry: Mapping[str, Any],
    *,
    ids: Iterable[Any],
    saving: Mapping[str, Any],
    fix: Any,
    place: str,
    links: _Links,
) -> dict[str, Any]:
    """Return one line of the fix-first list from a finding or a ranking entry."""
    severity = str(entry.get("severity") or "").lower()
    pages = list(entry.get("pages") or [])
    ms = None if saving.get("ms") is None else _number(saving["ms"])
    total = saving.get("total_ms")
    total_ms = _number(total) if total is not None else (ms or 0.0) * max(len(pages), 1)
    basis = str(saving.get("basis") or "")
    if isinstance(fix, Mapping):
        code = str(fix.get("code") or "")
        # A one-line fix reads best as code; a longer one is named by its summary.
        is_code = bool(code) and "\n" not in code
        line = code if is_code else str(fix.get("summary") or code)
        # A fix without a place of its own (paginate, cache the count) applies where the
        # problem shows.
        where = format_where(fix) or place
    else:
        line, where, is_code = str(fix or ""), "", False
    return {
        "title": str(entry.get("title") or entry.get("message") or ""),
        "kind": str(entry.get("kind") or ""),
        "severity": severity if severity in SEVERITIES else "other",
        "severity_label": severity.upper(),
        "findings": [links.finding(fid) for fid in ids],
        "pages": [links.page(url) for url in pages],
        "more_pages": str(len(pages) - 3) if len(pages) > 3 else "",
        "saving": "" if ms is None else format_ms(ms),
        "total": total_ms,
        "total_label": format_ms(total_ms) if len(pages) > 1 and ms else "",
        "basis": basis if basis in ("verified", "estimated") and ms is not None else "",
        "how": str(saving.get("how") or ""),
        "fix": line,
        "fix_is_code": is_code,
        "where": where,
    }


# Time per page ---------------------------------------------------------------------------------


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


def _breakdown_parts(page: Mapping[str, Any]) -> list[dict[str, str]]:
    parts = time_breakdown(page)
    total = sum(ms for *_, ms in parts)
    return [
        {"key": key, "label": label, "ms": format_ms(ms), "width": _percent(ms, total)}
        for key, label, ms in parts
        if ms > 0
    ]


def _segment_totals(pages: list[dict[str, Any]]) -> list[dict[str, str]]:
    totals = [0.0] * len(SEGMENTS)
    for page in pages:
        for n, (*_, ms) in enumerate(time_breakdown(page)):
            totals[n] += ms
    whole = sum(totals)
    return [
        {
            "key": key,
            "label": label,
            "ms": format_ms(ms),
            "share": f"{ms / whole * 100:.0f}%" if whole > 0 else "",
        }
        for (key, label), ms in zip(SEGMENTS, totals, strict=True)
    ]


def _chart(pages: list[dict[str, Any]], links: _Links) -> dict[str, Any]:
    breakdowns = [time_breakdown(page) for page in pages]
    longest = max((sum(ms for *_, ms in parts) for parts in breakdowns), default=0.0)
    scale = _BAR_WIDTH / longest if longest > 0 else 0.0
    bars = [
        _bar(page, parts, scale, _AXIS_HEIGHT + n * _ROW_HEIGHT, links)
        for n, (page, parts) in enumerate(zip(pages, breakdowns, strict=True))
    ]
    height = _AXIS_HEIGHT + len(pages) * _ROW_HEIGHT + 4
    return {
        "width": str(CHART_WIDTH),
        "height": str(height),
        "bars": bars,
        "ticks": _ticks(longest, scale, _BAR_X, top=16, bottom=height - 4),
        "label_x": str(_LABEL_WIDTH),
        "row_height": str(_ROW_HEIGHT),
        "share_x": str(_SHARE_X),
        "share_end": str(_SHARE_X + _SHARE_WIDTH),
        "share_middle": str(_SHARE_X + _SHARE_WIDTH // 2),
        "bottom": str(height - 4),
    }


def _bar(
    page: Mapping[str, Any],
    parts: list[tuple[str, str, float]],
    scale: float,
    top: int,
    links: _Links,
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
        "shares": _shares(url, parts),
        "url": url,
        "anchor": links.pages.get(url, ""),
        "label": _shorten(url, _LABEL_CHARS),
        "ms": format_ms(page.get("ms")),
        "failed": page_is_error(page),
        "y": str(top),
        "bar_y": str(top + (_ROW_HEIGHT - _BAR_HEIGHT) // 2),
        "text_y": str(top + _ROW_HEIGHT // 2 + 4),
        "bar_height": str(_BAR_HEIGHT),
        "end_x": f"{x + 6:.2f}",
        "segments": segments,
    }


def _shares(url: str, parts: list[tuple[str, str, float]]) -> list[dict[str, str]]:
    total = sum(ms for *_, ms in parts)
    x = float(_SHARE_X)
    shares = []
    for key, label, ms in parts:
        if ms <= 0:
            continue
        width = ms / total * _SHARE_WIDTH
        share = f"{ms / total * 100:.0f}%"
        title = f"{url}: {label.lower()} {share}"
        shares.append({"key": key, "x": f"{x:.2f}", "width": f"{width:.2f}", "title": title})
        x += width
    return shares


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _ticks(
    longest: float, scale: float, left: float, *, top: int, bottom: int
) -> list[dict[str, str]]:
    if longest <= 0:
        return []
    step = _nice_step(longest / 4)
    count = int(longest / step + 1e-9) + 1
    return [
        {
            "x": f"{left + n * step * scale:.2f}",
            "label": f"{n * step:g} ms",
            "top": str(top),
            "bottom": str(bottom),
        }
        for n in range(count)
    ]


def _nice_step(raw: float) -> float:
    magnitude = 10.0 ** math.floor(math.log10(raw))
    return next(f * magnitude for f in (1, 2, 2.5, 5, 10) if raw <= f * magnitude)


# Pages -----------------------------------------------------------------------------------------


def _page(page: Mapping[str, Any], links: _Links) -> dict[str, Any]:
    url = str(page.get("url", ""))
    raw: list[dict[str, Any]] = page.get("timeline") or []
    ordered = sorted(raw, key=lambda event: _number(event.get("start_ms")))
    span = max([_number(page.get("ms")), *(_event_end(event) for event in ordered)])
    events = [_event(event, n, span, url, links) for n, event in enumerate(ordered, 1)]
    _mark_repeats(events)
    anchor = links.pages.get(url, "")
    dropped = int(page.get("timeline_dropped") or 0)
    return {
        "anchor": anchor,
        "url": url,
        "status": "-" if page.get("status") is None else str(page["status"]),
        "failed": page_is_error(page),
        "ms": format_ms(page.get("ms")),
        "queries": str(page.get("queries", 0)),
        "query_ms": format_ms(page.get("query_ms")),
        "duplicates": str(page.get("duplicate_queries", 0)),
        "cache": f"{page.get('cache_hits', 0)}/{page.get('cache_misses', 0)}",
        "size": format_bytes(page.get("bytes")),
        "findings": [links.finding(fid) for fid in page.get("findings") or []],
        "error": str(page["error"]) if page.get("error") else "",
        "parts": _breakdown_parts(page),
        "lanes": _lanes(ordered, events, span),
        "repeats": _repeats(events),
        "timeline": events,
        "timeline_open": len(events) <= _OPEN_EVENTS,
        "queries_label": plural(page.get("queries") or 0, "query", "queries"),
        "events_label": plural(len(events), "event"),
        "dropped": str(dropped) if dropped > 0 else "",
    }


def _event_end(event: Mapping[str, Any]) -> float:
    return _number(event.get("start_ms")) + _number(event.get("ms"))


def _event(
    event: Mapping[str, Any], number: int, span: float, url: str, links: _Links
) -> dict[str, Any]:
    start = _number(event.get("start_ms"))
    duration = _number(event.get("ms"))
    left = start / span * 100 if span else 0.0
    width = min(max(duration / span * 100 if span else 0.0, 0.5), max(100 - left, 0.0))
    kind = str(event.get("kind", ""))
    text = str(event.get("text") or "")
    findings = links.statements.get((url, text), ()) if kind == "query" else ()
    page_anchor = links.pages.get(url, "")
    return {
        "number": str(number),
        "anchor": f"{page_anchor}-ev-{number}" if page_anchor else "",
        "kind": kind,
        "start": format_ms(start),
        "ms": format_ms(duration),
        "duration": duration,
        "text": text,
        "where": str(event.get("where") or ""),
        "template": str(event.get("template") or ""),
        "indent": str(int(_number(event.get("depth")))),
        "left": f"{left:.2f}",
        "width": f"{width:.2f}",
        "findings": [links.finding(fid) for fid in findings],
    }


def _mark_repeats(events: list[dict[str, Any]]) -> None:
    """Point each repeated statement at its first run, so the list shows its text only once."""
    first: dict[str, dict[str, Any]] = {}
    for event in events:
        event["same_as"] = None
        if event["kind"] != "query":
            continue
        earlier = first.setdefault(event["text"], event)
        if earlier is not event:
            event["same_as"] = {"number": earlier["number"], "anchor": earlier["anchor"]}


def _lanes(
    raw: list[dict[str, Any]], events: list[dict[str, Any]], span: float
) -> dict[str, Any] | None:
    """Lay the events out on lanes: templates by depth, queries, cache calls."""
    if not events or span <= 0:
        return None
    depth = max(
        (int(_number(e.get("depth"))) for e in raw if e.get("kind") == "template"), default=-1
    )
    rows = [("template", d) for d in range(min(depth + 1, _TEMPLATE_ROWS))]
    rows += [(kind, 0) for kind in ("query", "cache") if any(e["kind"] == kind for e in events)]
    index = {row: n for n, row in enumerate(rows)}
    scale = _LANE_WIDTH / span
    bars = []
    for event, ctx in zip(raw, events, strict=True):
        kind = ctx["kind"]
        level = (
            min(int(_number(event.get("depth"))), _TEMPLATE_ROWS - 1) if kind == "template" else 0
        )
        row = index.get((kind, level))
        if row is None:
            continue
        bars.append(_lane_bar(event, ctx, row, scale))
    height = _LANE_AXIS + len(rows) * _LANE_ROW + 4
    labels = {"template": "templates", "query": "queries", "cache": "cache"}
    return {
        "width": str(CHART_WIDTH),
        "height": str(height),
        "label_x": str(_LANE_X - 8),
        "track_x": str(_LANE_X - 4),
        "track_width": str(_LANE_WIDTH + 8),
        "track_height": str(_LANE_ROW - 2),
        "rows": [
            {
                "label": labels[kind] if level == 0 else "included",
                "y": str(_LANE_AXIS + n * _LANE_ROW),
                "text_y": str(_LANE_AXIS + n * _LANE_ROW + _LANE_ROW // 2 + 4),
                "kind": kind,
            }
            for n, (kind, level) in enumerate(rows)
        ],
        "bars": bars,
        "ticks": _ticks(span, scale, _LANE_X, top=14, bottom=height - 2),
    }


def _lane_bar(
    event: Mapping[str, Any], ctx: Mapping[str, Any], row: int, scale: float
) -> dict[str, str]:
    x = _LANE_X + _number(event.get("start_ms")) * scale
    width = max(ctx["duration"] * scale, _LANE_MIN_WIDTH)
    width = min(width, max(_LANE_X + _LANE_WIDTH - x, _LANE_MIN_WIDTH))
    flagged = " ".join(f["id"] for f in ctx["findings"])
    title = f"#{ctx['number']} {ctx['kind']} at {ctx['start']} ms, {ctx['ms']} ms: "
    title += _shorten(" ".join(ctx["text"].split()), _TITLE_CHARS)
    if flagged:
        title += f" ({flagged})"
    return {
        "kind": ctx["kind"],
        "flagged": "flagged" if flagged else "",
        "href": f"#{ctx['anchor']}" if ctx["anchor"] else "",
        "x": f"{x:.2f}",
        "y": str(_LANE_AXIS + row * _LANE_ROW + (_LANE_ROW - _LANE_BAR) // 2),
        "width": f"{width:.2f}",
        "height": str(_LANE_BAR),
        "title": title,
    }


def _repeats(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the statements run more than once on the page, most repeated first."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        if event["kind"] == "query":
            groups.setdefault(event["text"], []).append(event)
    repeated = sorted(
        (group for group in groups.values() if len(group) > 1),
        key=lambda group: (-len(group), -sum(e["duration"] for e in group)),
    )
    return [
        {
            "count": str(len(group)),
            "ms": format_ms(sum(e["duration"] for e in group)),
            "text": group[0]["text"],
            "where": group[0]["where"] or group[0]["template"],
            "findings": group[0]["findings"],
        }
        for group in repeated[:_REPEATS]
    ]


# Findings --------------------------------------------------------------------------------------


def _finding(finding: Mapping[str, Any], links: _Links) -> dict[str, Any]:
    severity = str(finding.get("severity", "")).lower()
    fid = str(finding.get("id", ""))
    evidence = dict(_items(finding.get("evidence")))
    tried = evidence.pop("tried", None)
    return {
        "anchor": links.findings.get(fid, ""),
        "id": fid,
        "kind": str(finding.get("kind", "")),
        "severity": severity if severity in SEVERITIES else "other",
        "severity_label": severity.upper() or "?",
        "message": str(finding.get("message", "")),
        "where": format_where(finding.get("where")),
        "pages": [links.page(url) for url in finding.get("pages") or []],
        "evidence": _evidence_rows(evidence),
        "fix": _fix(finding.get("fix")),
        "withdrawn": _withdrawn(tried) if not finding.get("fix") else None,
        "verified": _verified(finding.get("verified")),
    }


def _items(value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, Mapping):
        return [(str(key), item) for key, item in value.items()]
    return [] if value is None else [("value", value)]


def _evidence_rows(evidence: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = [_evidence_row(key, value) for key, value in evidence.items()]
    # Short facts first, side by side; then the statements and lists, each on its own line.
    return sorted(rows, key=lambda row: row["span"] == "wide")


def _evidence_row(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        return {
            "key": key,
            "value": "",
            "items": value,
            "span": _evidence_span(key, " ".join(value)),
        }
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return {"key": key, "value": text, "items": [], "span": _evidence_span(key, text)}


def _evidence_span(key: str, text: str) -> str:
    """Return how many grid columns a value needs: short ones sit side by side."""
    if key == "sql" or "\n" in text or len(text) > _EVIDENCE_CHARS * 3:
        return "wide"
    return f"span-{min(math.ceil(max(len(text), 1) / _EVIDENCE_CHARS), 3)}"


def _fix(fix: Mapping[str, Any] | None) -> dict[str, str] | None:
    if not fix:
        return None
    return {
        "summary": str(fix.get("summary") or ""),
        "where": format_where(fix),
        "code": str(fix.get("code") or ""),
    }


def _withdrawn(tried: Any) -> dict[str, str] | None:
    if not isinstance(tried, Mapping):
        return None
    return {"code": str(tried.get("code") or ""), "outcome": str(tried.get("outcome") or "")}


def _verified(verified: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not verified:
        return None
    same = verified.get("same_output")
    return {
        "rows": [
            _before_after("Queries", verified.get("queries_before"), verified.get("queries_after")),
            _before_after("Time", verified.get("ms_before"), verified.get("ms_after"), unit="ms"),
        ],
        "output": "unknown" if same is None else ("same" if same else "changed"),
    }


def _before_after(label: str, before: Any, after: Any, *, unit: str = "") -> dict[str, str]:
    """Return both sides of a measurement, with bar widths relative to the larger one."""
    old, new = _number(before), _number(after)
    largest = max(old, new)

    def text(value: Any) -> str:
        if value is None:
            return "-"
        return format_ms(_number(value)) if unit else str(value)

    change = ""
    if before is not None and after is not None:
        delta = new - old
        shown = (format_ms(abs(delta)) if unit else f"{abs(delta):g}") + (
            f" {unit}" if unit else ""
        )
        change = f"{MINUS if delta < 0 else '+'}{shown}" if delta else "±0"
    return {
        "label": label,
        "unit": f" {unit}" if unit else "",
        "before": text(before),
        "after": text(after),
        "before_width": _percent(old, largest),
        "after_width": _percent(new, largest),
        "change": change,
        "better": "better" if new < old else ("worse" if new > old else "same"),
    }
