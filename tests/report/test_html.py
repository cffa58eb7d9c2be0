from __future__ import annotations

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

from pagedoctor.report.html import render_html
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

    VOID = frozenset({"meta", "br", "hr", "img", "input", "link"})

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


def test_header_shows_site_version_and_generated_time() -> None:
    text = text_of(render_html(make_report()))

    assert "settings pagedoctor.demo.settings · database sqlite · cache locmem" in text
    assert "Generated 2026-11-26 07:30:00 UTC by pagedoctor 0.1.0.dev0" in text


def test_summary_counts_pages_queries_duplicates_errors_and_findings() -> None:
    tree = parse(render_html(make_report()))
    stats = [stat.words() for stat in tree.root.find_all("div", "stat")]

    assert stats == [
        "3 pages audited",
        "109 queries in total",
        "3 duplicate queries",
        "1 errors",
        "2 findings 1 high · 1 medium",
    ]


def test_summary_lists_the_slowest_pages_first() -> None:
    tree = parse(render_html(make_report()))
    (worst,) = tree.root.find_all("div", "worst")
    items = [li.words() for li in worst.find_all("li")]

    assert items == [
        "/pizzas/ 41.2 ms · 101 queries",
        "/pizzas/margherita/ 12.6 ms · 7 queries",
        "/checkout/ 3.0 ms · 1 query",
    ]


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


def test_finding_shows_message_where_evidence_fix_and_verification() -> None:
    tree = parse(render_html(make_report()))
    finding = next(a for a in tree.root.find_all("article") if "sev-high" in a.attrs["class"])
    text = finding.words()
    evidence = {
        tr.find_all("th")[0].all_text(): tr.find_all("td")[0].all_text()
        for tr in finding.find_all("table", "evidence")[0].find_all("tr")
    }
    (code,) = [pre for pre in finding.find_all("pre", "code") if pre.find_all("code")]

    assert text.startswith("HIGH n_plus_one Pizza.toppings is loaded once per pizza (100 queries)")
    assert "Where pagedoctor/demo/shop/templates/shop/pizza_list.html:7" in text
    assert "Pages /pizzas/" in text
    assert evidence == {
        "model": "shop.Pizza",
        "relation": "toppings",
        "count": "100",
        "sql": 'SELECT "shop_topping"."id" FROM "shop_topping" WHERE "pizza_id" = %s',
    }
    assert "prefetch the relation in pagedoctor/demo/shop/views.py:14" in text
    assert code.all_text() == 'Pizza.objects.prefetch_related("toppings")'
    assert "Verified Queries 101 → 2 Time 41.2 → 6.3 ms Output same" in text


def test_findings_are_listed_most_severe_first_and_linked_from_pages() -> None:
    html = render_html(make_report())
    tree = parse(html)
    articles = tree.root.find_all("article")

    assert [a.attrs["class"] for a in articles] == ["finding sev-high", "finding sev-medium"]
    assert f'<a href="#{articles[0].attrs["id"]}"><code>n_plus_one:1</code></a>' in html


def test_finding_without_fix_says_no_fix_proposed() -> None:
    tree = parse(render_html(make_report()))
    medium = next(a for a in tree.root.find_all("article") if "sev-medium" in a.attrs["class"])

    assert "No fix proposed." in medium.all_text()
    assert not medium.find_all("ul", "verified")


def test_changed_output_is_reported() -> None:
    report = make_report()
    report["findings"][1]["verified"]["same_output"] = False

    assert '<span class="output-changed">changed</span>' in render_html(report)


def test_empty_findings_show_the_no_findings_note() -> None:
    html = render_html(make_report(findings=[]))

    assert "Findings No findings yet." in text_of(html)
    assert "<article" not in html


def test_error_page_shows_its_traceback_open() -> None:
    tree = parse(render_html(make_report()))
    details = {d.attrs["id"]: d for d in tree.root.find_all("details", "page")}
    (traceback,) = details["page-3"].find_all("pre", "traceback")

    assert traceback.all_text() == TRACEBACK
    assert "open" in details["page-3"].attrs
    assert "open" not in details["page-1"].attrs


def test_timeline_lists_every_event_with_its_fields() -> None:
    tree = parse(render_html(make_report()))
    details = {d.attrs["id"]: d for d in tree.root.find_all("details", "page")}
    rows = details["page-1"].find_all("table", "timeline")[0].find_all("tbody")[0].find_all("tr")
    cells = [[td.words() for td in tr.find_all("td")] for tr in rows]

    assert [row[:3] for row in cells] == [
        ["template", "0.9", "8.0"],
        ["query", "1.2", "0.3"],
        ["cache", "3.0", "<0.1"],
    ]
    assert cells[1][4] == (
        'SELECT "shop_pizza"."id", "shop_pizza"."name" FROM "shop_pizza" '
        "at pagedoctor/demo/shop/views.py:14 in pizza_list template shop/pizza_list.html:7"
    )
    assert rows[1].find_all("pre")[0].all_text().startswith("SELECT")


def test_dropped_timeline_events_are_counted() -> None:
    html = render_html(make_report())

    assert "250 events not shown" in text_of(html)
    assert text_of(html).count("events not shown") == 1


def test_site_strings_are_escaped_everywhere() -> None:
    report = make_report()
    report["site"]["settings"] = PAYLOAD
    page = report["pages"][0]
    page["url"] = "/p/" + PAYLOAD
    page["findings"] = [PAYLOAD]
    page["timeline"][1]["text"] = "SELECT " + PAYLOAD
    page["timeline"][1]["where"] = PAYLOAD
    page["timeline"][1]["template"] = PAYLOAD
    page["timeline"][1]["kind"] = PAYLOAD
    report["pages"][2]["error"] = "Traceback\n" + PAYLOAD
    finding = report["findings"][1]
    finding.update(id=PAYLOAD, kind=PAYLOAD, severity=PAYLOAD, message=PAYLOAD, pages=[PAYLOAD])
    finding["where"] = {"file": PAYLOAD, "line": 7}
    finding["evidence"] = {PAYLOAD: PAYLOAD, "params": [PAYLOAD]}
    finding["fix"].update(summary=PAYLOAD, code=PAYLOAD, file=PAYLOAD)

    html = render_html(report)

    assert "<script" not in html
    assert "\"'&" not in html
    assert ESCAPED_SCRIPT + "&quot;&#x27;&amp;" in html
    # Escaped, not dropped: the reader sees every payload as text.
    assert text_of(html).count(PAYLOAD) >= 15


def test_page_is_self_contained() -> None:
    html = render_html(make_report())

    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:|//)""", html, re.IGNORECASE)
    assert not re.search(r"<link\b|<script\b|<img\b|<iframe\b|@import|url\(", html, re.I)
    assert "<style>" in html


def test_tags_are_balanced() -> None:
    tree = parse(render_html(make_report()))

    for tag in ("html", "body", "section", "details", "summary", "table", "tr", "td", "svg", "g"):
        assert tree.starts[tag] == tree.ends[tag], tag
    assert tree.starts["details"] == 3
    assert tree.stack == [tree.root]


def chart_bars(html: str) -> list[Element]:
    tree = parse(html)
    (chart,) = tree.root.find_all("svg", "chart")
    return chart.find_all("g", "bar")


def segment_widths(bar: Element) -> dict[str, float]:
    return {rect.attrs["data-segment"]: float(rect.attrs["width"]) for rect in bar.find_all("rect")}


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
    rects = bar.find_all("rect")

    for left, right in itertools.pairwise(rects):
        end = float(left.attrs["x"]) + float(left.attrs["width"])
        assert float(right.attrs["x"]) == pytest.approx(end, abs=0.02)


def test_chart_takes_queries_inside_templates_off_the_template_time() -> None:
    report = make_report()
    # 3 ms of the 8 ms of queries ran inside the 4 ms of template rendering.
    report["pages"][0].update(ms=10.0, query_ms=8.0, cache_ms=1.0, template_ms=4.0)

    widths = segment_widths(chart_bars(render_html(report))[0])

    assert set(widths) == {"db", "cache", "templates"}
    assert widths["templates"] == pytest.approx(widths["cache"], abs=0.01)
    assert widths["db"] / 8 == pytest.approx(widths["cache"], abs=0.01)


def test_chart_tooltips_and_legend_give_the_numbers() -> None:
    html = render_html(make_report())
    (bar, *_) = chart_bars(html)
    titles = [rect.find_all("title")[0].all_text() for rect in bar.find_all("rect")]
    (legend,) = parse(html).root.find_all("ul", "legend")

    assert titles == [
        "/pizzas/: database 30.5 ms",
        "/pizzas/: cache 0.4 ms",
        "/pizzas/: templates 8.0 ms",
        "/pizzas/: other 2.3 ms",
    ]
    assert legend.all_text().split() == ["Database", "Cache", "Templates", "Other"]


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
        "from pagedoctor.report.html import render_html\n"
        "print(len(render_html(make_report())))\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", script], cwd=root, env=env, capture_output=True, text=True
    )

    assert result.returncode == 0, result.stderr
    assert int(result.stdout) > 1000
