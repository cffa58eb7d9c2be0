from __future__ import annotations

import base64
import hashlib
import itertools
import os
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from django.utils import translation

from pagedoctor.report.html import MINUS, render_html
from tests.report import TRACEBACK, make_report

PAYLOAD = "<script>alert(1)</script>\"'&"
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
SEGMENT_FIELDS = {"db": "query_ms", "cache": "cache_ms", "templates": "template_ms"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list[Element] = field(default_factory=list)
    text: str = ""

    def find_all(self, tag: str, cls: str | None = None) -> list[Element]:
        found = []
        for child in self.children:
            if child.tag == tag and (cls is None or cls in child.attrs.get("class", "").split()):
                found.append(child)
            found.extend(child.find_all(tag, cls))
        return found

    def all_text(self) -> str:
        return self.text + "".join(child.all_text() for child in self.children)

    def words(self) -> str:
        """Return the text with one space between text nodes, as a reader sees it."""
        pieces = [self.text, *(child.words() for child in self.children)]
        return " ".join(" ".join(piece.split()) for piece in pieces if piece.strip())


class TreeBuilder(HTMLParser):
    """Build a small element tree and count start and end tags."""

    VOID = frozenset({"meta", "br", "hr", "img", "input", "link", "col"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("root", {})
        self.stack = [self.root]
        self.starts: Counter[str] = Counter()
        self.ends: Counter[str] = Counter()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.starts[tag] += 1
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(element)
        if tag not in self.VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Element(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        self.ends[tag] += 1
        if self.stack[-1].tag == tag:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(Element("#text", {}, text=data))


def parse(html: str) -> TreeBuilder:
    builder = TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder


def text_of(html: str) -> str:
    """Return the page's text as a reader sees it: tags dropped, entities decoded."""
    return parse(html).root.words()


def find_id(root: Element, anchor: str) -> Element:
    """Return the element with id ``anchor``; fail when there is none or several."""
    (found,) = [el for el in walk(root) if el.attrs.get("id") == anchor]
    return found


def walk(root: Element) -> list[Element]:
    found = []
    for child in root.children:
        found.append(child)
        found.extend(walk(child))
    return found


def article(root: Element, finding_id: str) -> Element:
    """Return the finding's article, found by the id shown in its header."""
    (found,) = [
        a
        for a in root.find_all("article")
        if a.find_all("code", "fid-label")[0].all_text() == finding_id
    ]
    return found


def withdraw(finding: dict[str, Any], outcome: str = "did not reduce the queries") -> None:
    """Make ``finding`` look like one whose fix verification withdrew (see verify.py)."""
    finding["evidence"]["tried"] = {"code": finding["fix"]["code"], "outcome": outcome}
    finding["fix"] = None


def ranking() -> list[dict[str, Any]]:
    """Return a ``report["ranking"]`` for ``make_report()``, shaped like audit/ranking.py's."""
    return [
        {
            "rank": 1,
            "findings": ["duplicate_query:1"],
            "kind": "duplicate_query",
            "severity": "medium",
            "title": "The same query runs 3 times on /pizzas/margherita/",
            "pages": ["/pizzas/margherita/", "/checkout/"],
            "saving": {"ms": 50.0, "basis": "estimated", "total_ms": 100.0, "how": "2 queries"},
            "fix": "cache the topping at pagedoctor/demo/shop/views.py:31",
            "where": "pagedoctor/demo/shop/views.py:31",
        },
        {
            "rank": 2,
            "findings": ["n_plus_one:1"],
            "kind": "n_plus_one",
            "severity": "high",
            "title": "Pizza.toppings is loaded once per pizza (100 queries)",
            "pages": ["/pizzas/"],
            "saving": {"ms": 34.9, "basis": "verified", "total_ms": 34.9, "how": "measured"},
            "fix": 'Pizza.objects.prefetch_related("toppings") at pagedoctor/demo/shop/views.py:14',
            "where": "pagedoctor/demo/shop/templates/shop/pizza_list.html:7",
        },
    ]


def stats(html: str) -> dict[str, str]:
    return {s.attrs["data-stat"]: s.words() for s in parse(html).root.find_all("div", "stat")}


def fix_first(html: str) -> list[Element]:
    (items,) = parse(html).root.find_all("ol", "fix-first")
    return [li for li in items.children if li.tag == "li"]


# Header and summary ----------------------------------------------------------------------------


def test_header_shows_site_version_and_generated_time() -> None:
    text = text_of(render_html(make_report()))

    assert "settings pagedoctor.demo.settings · database sqlite · cache locmem" in text
    assert "Generated 2026-11-26 07:30:00 UTC by pagedoctor 0.1.0.dev0" in text


def test_summary_counts_pages_queries_findings_and_what_the_fixes_save() -> None:
    html = render_html(make_report())

    assert stats(html) == {
        "pages": "3 pages audited 1 error",
        "queries": "109 queries in total 3 duplicate",
        "findings": "2 findings 1 high · 1 medium",
        "queries-saved": "99 fewer queries with 1 verified fix",
        "ms-saved": "34.9 ms saved, verified one request of each page",
    }
    (pages,) = [s for s in parse(html).root.find_all("div", "stat") if "1 error" in s.words()]
    assert "bad" in pages.attrs["class"].split()


@pytest.mark.parametrize("failure", ["withdrawn", "changed output"])
def test_savings_leave_out_fixes_that_failed_verification(failure: str) -> None:
    report = make_report()
    if failure == "withdrawn":
        withdraw(report["findings"][1])
    else:
        report["findings"][1]["verified"]["same_output"] = False

    saved = stats(render_html(report))

    assert saved["queries-saved"] == "0 fewer queries with 0 verified fixes"
    assert saved["ms-saved"].startswith("0.0 ms saved")


def test_ranking_totals_split_verified_from_estimated_savings() -> None:
    saved = stats(render_html(make_report(ranking=ranking())))

    assert saved["ms-saved"] == "34.9 ms saved, verified ~100.0 ms more estimated"


def test_summary_lists_the_slowest_pages_first_with_their_time_split() -> None:
    tree = parse(render_html(make_report()))
    (worst,) = tree.root.find_all("ol", "worst")
    items = worst.find_all("li")
    stacks = [li.find_all("div", "stack")[0] for li in items]

    assert [li.words() for li in items] == [
        "/pizzas/ 41.2 ms · 101 queries",
        "/pizzas/margherita/ 12.6 ms · 7 queries",
        "/checkout/ 3.0 ms · 1 query",
    ]
    # Each bar is as long as the page is slow, split like the page's time.
    assert [s.attrs["style"] for s in stacks] == [
        "width: 100.00%",
        "width: 30.58%",
        "width: 7.28%",
    ]
    assert [span.attrs["title"] for span in stacks[0].find_all("span")] == [
        "Database 30.5 ms",
        "Cache 0.4 ms",
        "Templates 8.0 ms",
        "Other 2.3 ms",
    ]


def test_fix_first_follows_the_reports_ranking() -> None:
    html = render_html(make_report(ranking=ranking()))
    tree = parse(html)
    first, second = fix_first(html)

    assert first.words() == (
        f"1 MEDIUM The same query runs 3 times on /pizzas/margherita/ {MINUS}50.0 ms estimated "
        f"{MINUS}100.0 ms on 2 pages duplicate_query · /pizzas/margherita/ · /checkout/ "
        "cache the topping at pagedoctor/demo/shop/views.py:31"
    )
    assert first.find_all("span", "ff-saving")[0].attrs["title"] == "2 queries"
    # The finding's own fix is shown as code, with the place apart.
    assert second.find_all("span", "ff-fix")[0].words() == (
        'Pizza.objects.prefetch_related("toppings") at pagedoctor/demo/shop/views.py:14'
    )
    assert second.find_all("code")[0].all_text() == 'Pizza.objects.prefetch_related("toppings")'
    assert f"{MINUS}34.9 ms verified" in second.words()
    for item, finding_id in ((first, "duplicate_query:1"), (second, "n_plus_one:1")):
        link = item.find_all("span", "ff-title")[0].find_all("a")[0]
        assert article(tree.root, finding_id).attrs["id"] == link.attrs["href"][1:]


def test_fix_first_without_a_ranking_orders_fixes_by_severity_then_saving() -> None:
    report = make_report()
    base = report["findings"][1]
    report["findings"] = [
        {**base, "id": "a:1", "severity": "medium", "message": "medium, saves 40 ms"},
        {**base, "id": "b:1", "message": "high, not verified", "verified": None},
        {**base, "id": "c:1", "message": "high, no fix", "fix": None},
        {**base, "id": "d:1", "message": "high, saves 34.9 ms"},
    ]
    report["findings"][0]["verified"] = {**base["verified"], "ms_before": 50.0, "ms_after": 10.0}

    titles = [li.find_all("span", "ff-title")[0].words() for li in fix_first(render_html(report))]

    assert titles == [
        "HIGH high, saves 34.9 ms",
        "HIGH high, not verified",
        "MEDIUM medium, saves 40 ms",
    ]


def test_fix_first_shows_five_and_counts_the_rest() -> None:
    report = make_report()
    base = report["findings"][1]
    report["findings"] = [{**base, "id": f"n_plus_one:{n}"} for n in range(1, 8)]

    html = render_html(report)

    assert len(fix_first(html)) == 5
    assert "2 more in Findings" in text_of(html)


# Findings --------------------------------------------------------------------------------------


def test_finding_shows_message_where_evidence_fix_and_verification() -> None:
    tree = parse(render_html(make_report()))
    finding = article(tree.root, "n_plus_one:1")
    text = finding.words()
    (evidence,) = finding.find_all("dl", "evidence")
    facts = {
        item.find_all("dt")[0].all_text(): item.find_all("dd")[0].all_text()
        for item in evidence.find_all("div")
    }
    (snippet,) = finding.find_all("figure", "snippet")

    assert text.startswith("HIGH n_plus_one n_plus_one:1 Pizza.toppings is loaded once per pizza")
    assert "Where pagedoctor/demo/shop/templates/shop/pizza_list.html:7" in text
    assert "Pages /pizzas/" in text
    assert facts == {
        "model": "shop.Pizza",
        "relation": "toppings",
        "count": "100",
        "sql": 'SELECT "shop_topping"."id" FROM "shop_topping" WHERE "pizza_id" = %s',
    }
    assert "Fix prefetch the relation" in text
    assert snippet.find_all("figcaption")[0].words() == "in pagedoctor/demo/shop/views.py:14"
    assert (
        snippet.find_all("pre", "code")[0].all_text()
        == 'Pizza.objects.prefetch_related("toppings")'
    )
    assert (
        f"Verified Queries before 101 after 2 {MINUS}99 "
        f"Time before 41.2 ms after 6.3 ms {MINUS}34.9 ms "
        "Output ✓ same"
    ) in text


def test_verification_bars_are_as_long_as_the_numbers() -> None:
    finding = article(parse(render_html(make_report())).root, "n_plus_one:1")
    (measure,) = finding.find_all("div", "measure")
    widths = [meter.children[0].attrs["style"] for meter in measure.find_all("span", "meter")]

    assert widths == ["width: 100.00%", "width: 1.98%", "width: 100.00%", "width: 15.29%"]


def test_evidence_shows_short_facts_first_and_lists_as_lists() -> None:
    long_sql = "SELECT shop_product.id, shop_product.name FROM shop_product WHERE type = ?"
    report = make_report()
    report["findings"][1]["evidence"] = {
        "sql": "SELECT 1",
        "queries": [long_sql, "SELECT b"],
        "model": "shop.Pizza",
        "fields": ["type", "created"],
        "built": "pagedoctor/demo/shop/views.py:14",
    }
    (evidence,) = article(parse(render_html(report)).root, "n_plus_one:1").find_all(
        "dl", "evidence"
    )
    items = evidence.find_all("div")

    assert [(i.find_all("dt")[0].all_text(), i.attrs["class"]) for i in items] == [
        ("model", "span-1"),
        ("fields", "span-1"),
        ("built", "span-2"),
        ("sql", "wide"),
        ("queries", "wide"),
    ]
    assert [li.all_text() for li in items[1].find_all("li")] == ["type", "created"]
    assert [li.all_text() for li in items[4].find_all("li")] == [long_sql, "SELECT b"]
    assert items[3].find_all("pre")[0].all_text() == "SELECT 1"


def test_withdrawn_fix_says_what_was_tried_and_why() -> None:
    report = make_report()
    withdraw(report["findings"][1])

    finding = article(parse(render_html(report)).root, "n_plus_one:1")

    (note,) = finding.find_all("p", "withdrawn")
    assert note.all_text() == (
        'Fix withdrawn. Tried Pizza.objects.prefetch_related("toppings"): '
        "it did not reduce the queries."
    )
    assert "Measured with the withdrawn fix Queries before 101" in finding.words()
    assert not finding.find_all("figure", "snippet")
    assert "tried" not in [dt.all_text() for dt in finding.find_all("dt")]


def test_changed_output_is_reported() -> None:
    report = make_report()
    report["findings"][1]["verified"]["same_output"] = False

    assert '<span class="output-changed">&#10007; changed</span>' in render_html(report)


def test_fix_without_code_or_measurement_says_where_and_that_it_is_unverified() -> None:
    report = make_report()
    report["findings"][1]["fix"]["code"] = None
    report["findings"][1]["verified"] = None

    text = article(parse(render_html(report)).root, "n_plus_one:1").words()

    assert "Fix prefetch the relation in pagedoctor/demo/shop/views.py:14" in text
    assert "Not verified automatically" in text


def test_finding_without_fix_says_no_fix_proposed() -> None:
    medium = article(parse(render_html(make_report())).root, "duplicate_query:1")

    assert "No fix proposed." in medium.all_text()
    assert not medium.find_all("div", "measure")


def test_findings_are_listed_most_severe_first_and_linked_from_pages() -> None:
    html = render_html(make_report())
    tree = parse(html)
    articles = tree.root.find_all("article")

    assert [a.attrs["class"] for a in articles] == ["finding sev-high", "finding sev-medium"]
    anchor = articles[0].attrs["id"]
    assert f'<a class="fid" href="#{anchor}"><code>n_plus_one:1</code></a>' in html


def test_empty_findings_show_the_no_findings_note() -> None:
    html = render_html(make_report(findings=[]))

    assert "Findings No findings yet." in text_of(html)
    assert "<article" not in html
    assert "Nothing to fix" in text_of(html)


# Pages and timelines ---------------------------------------------------------------------------


def test_pages_table_shows_every_column() -> None:
    tree = parse(render_html(make_report()))
    (table,) = tree.root.find_all("table", "pages")
    rows = [
        [td.words() for td in tr.find_all("td")] for tr in table.find_all("tbody")[0].find_all("tr")
    ]

    assert rows == [
        ["/pizzas/", "200", "41.2", "101", "30.5", "0", "0/1", "17.8 KiB", "n_plus_one:1"],
        ["/pizzas/margherita/", "200", "12.6", "7", "4.1", "3", "2/0", "5.0 KiB", "none"],
        ["/checkout/", "500", "3.0", "1", "0.5", "0", "0/0", "145 B", "none"],
    ]


def test_failed_page_row_is_marked() -> None:
    tree = parse(render_html(make_report()))
    (table,) = tree.root.find_all("table", "pages")
    classes = [tr.attrs.get("class", "") for tr in table.find_all("tbody")[0].find_all("tr")]

    assert classes == ["", "", "failed"]


def test_error_page_shows_its_traceback_open() -> None:
    tree = parse(render_html(make_report()))
    details = {d.attrs["id"]: d for d in tree.root.find_all("details", "page")}
    (traceback,) = details["page-3"].find_all("pre", "traceback")

    assert traceback.all_text() == TRACEBACK
    assert "open" in details["page-3"].attrs
    assert "open" not in details["page-1"].attrs


def timeline_rows(html: str, page: str = "page-1") -> list[Element]:
    details = find_id(parse(html).root, page)
    return details.find_all("table", "timeline")[0].find_all("tbody")[0].find_all("tr")


def test_timeline_lists_every_event_with_its_fields() -> None:
    rows = timeline_rows(render_html(make_report()))
    cells = [[td.words() for td in tr.find_all("td")] for tr in rows]

    assert [row[:4] for row in cells] == [
        ["1", "template", "0.9", "8.0"],
        ["2", "query", "1.2", "0.3"],
        ["3", "cache", "3.0", "<0.1"],
    ]
    assert cells[1][5] == (
        'SELECT "shop_pizza"."id", "shop_pizza"."name" FROM "shop_pizza" '
        "at pagedoctor/demo/shop/views.py:14 in pizza_list template shop/pizza_list.html:7"
    )
    assert rows[1].find_all("pre")[0].all_text().startswith("SELECT")
    assert [tr.attrs["id"] for tr in rows] == ["page-1-ev-1", "page-1-ev-2", "page-1-ev-3"]


def with_n_plus_one_events(report: dict[str, Any], count: int) -> dict[str, Any]:
    """Add ``count`` runs of the N+1 finding's statement to the first page's timeline."""
    sql = report["findings"][1]["evidence"]["sql"]
    report["pages"][0]["timeline"] += [
        {"kind": "query", "start_ms": 10.0 + n, "ms": 0.1, "text": sql, "where": "x.py:1"}
        for n in range(count)
    ]
    return report


def test_statements_of_a_finding_are_flagged_and_repeats_shown_once() -> None:
    html = render_html(with_n_plus_one_events(make_report(), 3))
    rows = timeline_rows(html)
    flagged = [tr for tr in rows if "flagged" in tr.attrs["class"].split()]
    details = find_id(parse(html).root, "page-1")
    (repeats,) = details.find_all("table", "repeats")

    assert [tr.attrs["id"] for tr in flagged] == ["page-1-ev-4", "page-1-ev-5", "page-1-ev-6"]
    assert all("n_plus_one:1" in tr.words() for tr in flagged)
    # The first run shows the statement in full; the others one line, pointing back to it.
    assert [tr.find_all("pre")[0].attrs.get("class", "") for tr in flagged] == [
        "",
        "clamp",
        "clamp",
    ]
    assert "same statement as #4" in flagged[2].words()
    assert repeats.find_all("tbody")[0].words().startswith("3\u00d7 0.3 SELECT")
    assert repeats.find_all("a")[0].all_text() == "n_plus_one:1"
    assert len(details.find_all("rect", "flagged")) == 3


def lane_rects(html: str, page: str = "page-1") -> list[Element]:
    (lanes,) = find_id(parse(html).root, page).find_all("svg", "lanes")
    return lanes.find_all("rect", "ev")


def test_lanes_place_each_event_by_its_start_and_duration() -> None:
    html = render_html(make_report())
    (lanes,) = find_id(parse(html).root, "page-1").find_all("svg", "lanes")
    scale = 880 / 41.2  # the lanes' width over the page's time

    assert [t.all_text() for t in lanes.find_all("text", "lane-label")] == [
        "templates",
        "queries",
        "cache",
    ]
    assert [
        (r.attrs["data-kind"], float(r.attrs["x"]), float(r.attrs["width"]), r.attrs["y"])
        for r in lane_rects(html)
    ] == [
        (
            "template",
            pytest.approx(100 + 0.9 * scale, abs=0.01),
            pytest.approx(8 * scale, abs=0.01),
            "23",
        ),
        (
            "query",
            pytest.approx(100 + 1.2 * scale, abs=0.01),
            pytest.approx(0.31 * scale, abs=0.01),
            "41",
        ),
        # Too short to see at this scale: drawn at the minimum width.
        ("cache", pytest.approx(100 + 3.0 * scale, abs=0.01), 1.5, "59"),
    ]


def test_lane_bars_link_to_their_rows_and_name_them() -> None:
    html = render_html(make_report())
    (lanes,) = find_id(parse(html).root, "page-1").find_all("svg", "lanes")
    links = lanes.find_all("a")

    assert [a.attrs["href"] for a in links] == ["#page-1-ev-1", "#page-1-ev-2", "#page-1-ev-3"]
    assert links[1].find_all("title")[0].all_text() == (
        '#2 query at 1.2 ms, 0.3 ms: SELECT "shop_pizza"."id", "shop_pizza"."name" FROM '
        '"shop_pizza"'
    )


def test_included_templates_get_a_lane_of_their_own() -> None:
    report = make_report()
    report["pages"][0]["timeline"].append(
        {"kind": "template", "start_ms": 2.0, "ms": 1.0, "text": "shop/_menu.html", "depth": 1}
    )

    labels = [t.all_text() for t in parse(render_html(report)).root.find_all("text", "lane-label")]

    assert labels[:4] == ["templates", "included", "queries", "cache"]


def test_a_long_timeline_starts_folded_and_every_event_is_drawn() -> None:
    html = render_html(with_n_plus_one_events(make_report(), 150))
    details = find_id(parse(html).root, "page-1")
    (events,) = details.find_all("details", "events")

    assert "open" not in events.attrs
    assert events.find_all("summary")[0].words() == "All 153 events in order"
    assert len(lane_rects(html)) == len(timeline_rows(html)) == 153
    short = find_id(parse(render_html(make_report())).root, "page-1")
    assert "open" in short.find_all("details", "events")[0].attrs


def test_dropped_timeline_events_are_counted() -> None:
    html = render_html(make_report())

    assert "250 events not shown" in text_of(html)
    assert text_of(html).count("events not shown") == 1


# Escaping and self-containment -----------------------------------------------------------------

HOSTILE = [
    PAYLOAD,
    "</script><script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' onmouseover='alert(1)",
    "{{ csp }}{% include 'report.js' %}",
    "</title></style></svg><svg onload=alert(1)>",
]


def hostile_report() -> dict[str, Any]:
    """Return a report with hostile text in every field that comes from the site."""
    bad = " ".join(HOSTILE)
    report = make_report(ranking=ranking())
    report["site"]["settings"] = bad
    page = report["pages"][0]
    page["url"] = "/p/?q=" + bad
    page["findings"] = [bad]
    page["timeline"][0].update(text=bad, kind=bad)
    page["timeline"][1].update(text="SELECT " + bad, where=bad, template=bad)
    page["timeline"].append({**page["timeline"][1]})
    report["pages"][2]["error"] = "Traceback\n" + bad
    finding = report["findings"][1]
    finding.update(id=bad, kind=bad, severity=bad, message=bad, pages=[bad, page["url"]])
    finding["where"] = {"file": bad, "line": 7}
    finding["evidence"] = {bad: bad, "sql": page["timeline"][1]["text"], "params": [bad, bad]}
    finding["fix"].update(summary=bad, code=bad, file=bad)
    withdrawn = report["findings"][0]
    withdrawn["evidence"]["tried"] = {"code": bad, "outcome": bad}
    for entry in report["ranking"]:
        entry.update(title=bad, kind=bad, severity=bad, pages=[bad], fix=bad, where=bad)
        entry["saving"]["how"] = bad
    report["ranking"][1]["findings"] = [bad]
    return report


def test_site_strings_are_escaped_everywhere() -> None:
    html = render_html(hostile_report())
    tree = parse(html)

    # One script: the report's own, at the end of the body.
    assert html.count("<script") == 1
    assert tree.starts["script"] == 1
    assert tree.starts["img"] == 0
    assert not [el for el in walk(tree.root) if any(a.startswith("on") for a in el.attrs)]
    assert "\"'&" not in html
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert ESCAPED_SCRIPT + "&quot;&#x27;&amp;" in html
    # Template syntax in the data is shown, never evaluated.
    assert "{{ csp }}{% include &#x27;report.js&#x27; %}" in html
    # Escaped, not dropped: the reader sees every payload as text.
    assert text_of(html).count(" ".join(HOSTILE)) >= 30


def test_page_is_self_contained() -> None:
    html = render_html(make_report())
    tree = parse(html)
    (script,) = tree.root.find_all("script")

    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:|//|file:)""", html, re.IGNORECASE)
    assert not re.search(r"<link\b|<img\b|<iframe\b|<object\b|@import|url\(", html, re.I)
    assert "src" not in script.attrs
    assert html.count("<style>") == 1


def test_content_security_policy_allows_only_the_reports_own_script() -> None:
    tree = parse(render_html(make_report()))
    (meta,) = [m for m in tree.root.find_all("meta") if "http-equiv" in m.attrs]
    (script,) = tree.root.find_all("script")
    digest = base64.b64encode(hashlib.sha256(script.all_text().encode()).digest()).decode()

    assert meta.attrs["http-equiv"] == "Content-Security-Policy"
    policy = dict(part.strip().split(" ", 1) for part in meta.attrs["content"].split(";"))
    assert policy == {
        "default-src": "'none'",
        "style-src": "'unsafe-inline'",
        "script-src": f"'sha256-{digest}'",
        "img-src": "data:",
        "base-uri": "'none'",
        "form-action": "'none'",
    }


def test_tags_are_balanced() -> None:
    tree = parse(render_html(make_report()))

    for tag in ("html", "body", "section", "details", "summary", "table", "tr", "td", "svg", "g"):
        assert tree.starts[tag] == tree.ends[tag], tag
    # Three pages, and the one page with a timeline has its event list.
    assert tree.starts["details"] == 4
    assert tree.stack == [tree.root]


# The time chart --------------------------------------------------------------------------------


def chart_bars(html: str) -> list[Element]:
    tree = parse(html)
    (chart,) = tree.root.find_all("svg", "breakdown")
    return chart.find_all("g", "bar")


def segments(bar: Element) -> list[Element]:
    return [rect for rect in bar.find_all("rect") if "data-segment" in rect.attrs]


def segment_widths(bar: Element) -> dict[str, float]:
    return {rect.attrs["data-segment"]: float(rect.attrs["width"]) for rect in segments(bar)}


def expected_segments(page: dict[str, Any]) -> dict[str, float]:
    parts = {key: page[name] for key, name in SEGMENT_FIELDS.items()}
    parts["other"] = page["ms"] - sum(parts.values())
    assert parts["other"] >= 0, "the sample pages have no overlap between templates and db"
    return {key: ms for key, ms in parts.items() if ms > 0}


def test_chart_has_one_bar_per_page_with_widths_proportional_to_time() -> None:
    report = make_report()
    bars = chart_bars(render_html(report))

    assert len(bars) == len(report["pages"])
    scale = sum(segment_widths(bars[0]).values()) / sum(
        expected_segments(report["pages"][0]).values()
    )
    for bar, page in zip(bars, report["pages"], strict=True):
        widths = segment_widths(bar)
        expected = expected_segments(page)
        assert widths.keys() == expected.keys()
        for key, ms in expected.items():
            assert widths[key] == pytest.approx(ms * scale, abs=0.01), (page["url"], key)


def test_chart_segments_are_stacked_end_to_end() -> None:
    (bar, *_) = chart_bars(render_html(make_report()))

    for left, right in itertools.pairwise(segments(bar)):
        end = float(left.attrs["x"]) + float(left.attrs["width"])
        assert float(right.attrs["x"]) == pytest.approx(end, abs=0.02)


def test_chart_shows_each_pages_split_as_shares_of_its_time() -> None:
    report = make_report()
    bars = chart_bars(render_html(report))

    for bar, page in zip(bars, report["pages"], strict=True):
        shares = {
            r.attrs["data-share"]: float(r.attrs["width"])
            for r in bar.find_all("rect")
            if "data-share" in r.attrs
        }
        expected = expected_segments(page)
        assert shares.keys() == expected.keys()
        for key, ms in expected.items():
            # The share bars are all one length: a fast page's split reads as well as a slow one's.
            assert shares[key] == pytest.approx(ms / page["ms"] * 240, abs=0.01), (page["url"], key)
    titles = [t.all_text() for t in bars[2].find_all("title")]
    assert titles[-2:] == ["/checkout/: database 17%", "/checkout/: other 83%"]


def test_chart_takes_queries_inside_templates_off_the_template_time() -> None:
    report = make_report()
    # 3 ms of the 8 ms of queries ran inside the 4 ms of template rendering.
    report["pages"][0].update(ms=10.0, query_ms=8.0, cache_ms=1.0, template_ms=4.0)

    widths = segment_widths(chart_bars(render_html(report))[0])

    assert set(widths) == {"db", "cache", "templates"}
    assert widths["templates"] == pytest.approx(widths["cache"], abs=0.01)
    assert widths["db"] / 8 == pytest.approx(widths["cache"], abs=0.01)


def test_chart_tooltips_legend_and_labels_give_the_numbers() -> None:
    html = render_html(make_report())
    (bar, *_) = chart_bars(html)
    titles = [rect.find_all("title")[0].all_text() for rect in segments(bar)]
    (legend,) = find_id(parse(html).root, "time").find_all("ul", "legend")

    assert titles == [
        "/pizzas/: database 30.5 ms",
        "/pizzas/: cache 0.4 ms",
        "/pizzas/: templates 8.0 ms",
        "/pizzas/: other 2.3 ms",
    ]
    assert [li.words() for li in legend.find_all("li")][:4] == [
        "Database 35.1 ms · 62%",
        "Cache 0.6 ms · 1%",
        "Templates 11.3 ms · 20%",
        "Other 9.8 ms · 17%",
    ]
    assert bar.find_all("a")[0].attrs["href"] == "#page-1"


def test_chart_with_no_pages_or_no_time_renders_empty() -> None:
    assert chart_bars(render_html(make_report(pages=[]))) == []
    report = make_report()
    for page in report["pages"]:
        page.update(ms=0.0, query_ms=0.0, cache_ms=0.0, template_ms=0.0)
    assert all(segment_widths(bar) == {} for bar in chart_bars(render_html(report)))


def test_numbers_ignore_the_sites_localization() -> None:
    report = make_report()
    report["pages"][0].update(ms=1234.5, queries=12345)

    with override_settings(USE_I18N=True, USE_THOUSAND_SEPARATOR=True), translation.override("de"):
        html = render_html(report)

    assert "1234.5" in html
    assert "12345" in html
    for bar in chart_bars(html):
        assert all(width >= 0 for width in segment_widths(bar).values())
    for rect in lane_rects(html):
        assert "," not in rect.attrs["x"] + rect.attrs["width"]


def test_report_with_only_contract_fields_renders() -> None:
    report = make_report()
    del report["generated"], report["pagedoctor"]
    for page in report["pages"]:
        for key in ("cache_ms", "template_ms", "error", "timeline", "timeline_dropped"):
            del page[key]

    html = render_html(report)

    assert "/pizzas/margherita/" in html
    assert "traceback" not in html.split("</style>")[1]
    assert "No timeline events recorded." in html


def test_renders_without_configured_django_settings() -> None:
    # A saved JSON report can be rendered from a plain script, outside any Django project.
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    script = (
        "from tests.report import make_report\n"
        "from pagedoctor.report.html import MINUS, render_html\n"
        "print(len(render_html(make_report())))\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", script], cwd=root, env=env, capture_output=True, text=True
    )

    assert result.returncode == 0, result.stderr
    assert int(result.stdout) > 1000
