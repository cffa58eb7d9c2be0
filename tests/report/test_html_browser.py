"""Open the HTML report of a real demo audit in headless Chromium, and check what it shows.

Chromium parses the page, runs its script under the page's Content-Security-Policy and dumps
the DOM it ended with (``--dump-dom``), or paints it (``--screenshot``); the tests read those.
It comes from Debian's ``chromium`` package, which scripts/test installs (``pd_ensure_test_tools``
in scripts/_bootstrap.sh). Without it these tests skip, and under ``CI=true`` they fail.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pagedoctor.report.html import render_html
from tests.report.test_html import Element, TreeBuilder, article, find_id, parse, walk
from tests.services import under_ci

pytestmark = pytest.mark.skipif(
    os.environ.get("PAGEDOCTOR_TEST_DB", "sqlite") != "sqlite",
    reason="the demo audit runs on its own SQLite file; once per matrix is enough",
)

# Enough of the demo for every part of the report: verified N+1 fixes and a long timeline
# (/pizzas/), a verified duplicate and an index (/products/product-1/), a fixed twin, and one
# very slow page; the whole shop takes twice as long to audit.
DEMO_PAGES = ("/", "/pizzas/", "/fixed/pizzas/", "/products/product-1/", "/report/")
INSTALL_HINT = "apt-get install -y chromium (scripts/test does it through pd_ensure_test_tools)"
# Each payload tries to end the element it lands in and run a script that renames the page.
HOSTILE = (
    "</script><script>document.title='pwned'</script>"
    '"><img src=x onerror="document.title=\'pwned\'">'
    "</title></style></svg><svg onload=\"document.title='pwned'\">"
    "' onmouseover='x' {{ csp }} {% include 'report.js' %} &amp;"
)


@dataclass(frozen=True)
class Browser:
    """Headless Chromium, started once per page, each time with a fresh profile."""

    executable: str

    def run(self, url: str, *args: str) -> str:
        # A profile of its own lets several test runs use the browser at the same time.
        with tempfile.TemporaryDirectory(prefix="pagedoctor-chromium-") as profile:
            result = subprocess.run(
                [
                    self.executable,
                    "--headless",
                    "--disable-gpu",
                    "--no-sandbox",
                    "--no-first-run",
                    "--hide-scrollbars",
                    f"--user-data-dir={profile}",
                    *args,
                    url,
                ],
                capture_output=True,
                text=True,
                timeout=120,
            )
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout

    def dom(self, url: str, *args: str) -> TreeBuilder:
        """Return the page's DOM as the browser left it, after its script ran."""
        return parse(self.run(url, "--dump-dom", *args))

    def screenshot(self, url: str, path: Path, *, width: int, height: int, scale: float) -> Path:
        size, factor = f"--window-size={width},{height}", f"--force-device-scale-factor={scale}"
        self.run(url, f"--screenshot={path}", size, factor)
        return path


def find_chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser() -> Browser:
    executable = find_chromium()
    if executable is None:
        reason = f"Chromium is not installed; install it with: {INSTALL_HINT}"
        if under_ci():
            pytest.fail(f"{reason} (CI=true, so this is an error, not a skip)", pytrace=False)
        pytest.skip(reason)
    return Browser(executable)


@pytest.fixture(scope="session")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Return the JSON report of an audit of the demo shop, on a small catalogue to be quick."""
    folder = tmp_path_factory.mktemp("demo-audit")
    env = {
        **os.environ,
        "PAGEDOCTOR_DEMO_SQLITE": str(folder / "demo.sqlite3"),
        "DJANGO_SETTINGS_MODULE": "",
    }
    command = [sys.executable, "-m", "pagedoctor", "audit", "--products", "3000", *DEMO_PAGES]
    result = subprocess.run(
        [*command, "--json", "r.json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=folder,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    report: dict[str, Any] = json.loads((folder / "r.json").read_text())
    return report


def write_page(report: dict[str, Any], folder: Path) -> Path:
    path = folder / "report.html"
    path.write_text(render_html(report), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def page_file(demo_report: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_page(demo_report, tmp_path_factory.mktemp("page"))


@pytest.fixture(scope="session")
def dom(browser: Browser, page_file: Path) -> Element:
    return browser.dom(page_file.as_uri()).root


def stat_values(dom: Element) -> dict[str, str]:
    return {
        stat.attrs["data-stat"]: stat.find_all("span", "value")[0].words()
        for stat in dom.find_all("div", "stat")
    }


def test_the_summary_counts_what_the_audit_found(dom: Element, demo_report: dict[str, Any]) -> None:
    pages = demo_report["pages"]
    (fix_first,) = dom.find_all("ol", "fix-first")
    items = [li for li in fix_first.children if li.tag == "li"]

    values = stat_values(dom)
    assert values["pages"] == str(len(pages))
    assert values["queries"] == str(sum(page["queries"] for page in pages))
    assert values["findings"] == str(len(demo_report["findings"]))
    # The demo's N+1 fixes are verified: the summary says what they save.
    assert int(values["queries-saved"]) > 0
    assert 1 <= len(items) <= 5
    for item in items:
        (link,) = item.find_all("span", "ff-title")[0].find_all("a")
        assert find_id(dom, link.attrs["href"][1:]).tag == "article"


def test_every_link_in_the_page_leads_somewhere(dom: Element) -> None:
    targets = [el.attrs["href"] for el in walk(dom) if el.tag == "a"]

    assert len(targets) > 50
    ids = {el.attrs["id"] for el in walk(dom) if "id" in el.attrs}
    assert {href for href in targets if href[1:] not in ids} == set()
    assert all(href.startswith("#") for href in targets)


def test_the_script_ran_under_the_pages_policy(dom: Element) -> None:
    (html,) = dom.find_all("html")
    snippets = dom.find_all("figure", "snippet")
    (toolbar,) = [el for el in walk(dom) if "data-toolbar" in el.attrs]

    # Only the script can add these: the policy allowed it, by its hash.
    assert "js" in html.attrs["class"].split()
    assert snippets
    assert [s.find_all("button", "copy")[0].all_text() for s in snippets] == ["Copy"] * len(
        snippets
    )
    assert [b.all_text() for b in toolbar.find_all("button")] == ["Expand all", "Collapse all"]


def test_each_verified_fix_shows_its_code_its_place_and_its_measurement(
    dom: Element, demo_report: dict[str, Any]
) -> None:
    verified = [
        f for f in demo_report["findings"] if f["fix"] and f["fix"]["code"] and f["verified"]
    ]

    assert verified, "the demo has verified fixes"
    for finding in verified:
        shown = article(dom, finding["id"])
        (snippet,) = shown.find_all("figure", "snippet")
        (measure,) = shown.find_all("div", "measure")
        assert snippet.find_all("pre", "code")[0].all_text() == finding["fix"]["code"]
        place = f"{finding['fix']['file']}:{finding['fix']['line']}"
        assert snippet.find_all("code", "fix-where")[0].all_text() == place
        numbers = measure.words()
        assert f"before {finding['verified']['queries_before']} " in numbers
        assert f"after {finding['verified']['queries_after']} " in numbers
        assert shown.find_all(
            "span", f"output-{'same' if finding['verified']['same_output'] else 'changed'}"
        )


def test_the_charts_draw_every_page_and_every_event(
    dom: Element, demo_report: dict[str, Any]
) -> None:
    (breakdown,) = dom.find_all("svg", "breakdown")
    bars = breakdown.find_all("g", "bar")

    assert len(bars) == len(demo_report["pages"])
    for bar, page in zip(bars, demo_report["pages"], strict=True):
        widths = [
            float(r.attrs["width"]) for r in bar.find_all("rect") if "data-segment" in r.attrs
        ]
        assert (sum(widths) > 0) == (page["ms"] > 0), page["url"]
    for n, page in enumerate(demo_report["pages"], 1):
        (lanes,) = find_id(dom, f"page-{n}").find_all("svg", "lanes")
        assert len(lanes.find_all("rect", "ev")) == len(page["timeline"]), page["url"]


def test_a_link_into_a_folded_timeline_unfolds_it(
    browser: Browser, page_file: Path, demo_report: dict[str, Any], dom: Element
) -> None:
    number, page = max(
        enumerate(demo_report["pages"], 1), key=lambda item: len(item[1]["timeline"])
    )
    assert len(page["timeline"]) > 30, "the demo has a page with a long timeline"
    anchor = f"page-{number}"
    assert "open" not in find_id(dom, anchor).attrs

    opened = browser.dom(f"{page_file.as_uri()}#{anchor}-ev-40").root

    details = find_id(opened, anchor)
    assert "open" in details.attrs
    assert "open" in details.find_all("details", "events")[0].attrs


@pytest.fixture(scope="session")
def hostile_dom(
    browser: Browser, demo_report: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Element:
    report = copy.deepcopy(demo_report)
    report["site"]["settings"] = HOSTILE
    page = report["pages"][0]
    page["url"] = "/?q=" + HOSTILE
    page["timeline"][0]["text"] = HOSTILE
    report["pages"][1]["error"] = "Traceback\n" + HOSTILE
    finding = report["findings"][0]
    finding["message"] = HOSTILE
    finding["evidence"].update(sql=HOSTILE, params=[HOSTILE])
    if finding["fix"]:
        finding["fix"].update(code=HOSTILE, file=HOSTILE)
    for entry in report.get("ranking") or []:
        entry.update(title=HOSTILE, fix=HOSTILE, where=HOSTILE)
    return browser.dom(write_page(report, tmp_path_factory.mktemp("hostile")).as_uri()).root


def test_hostile_site_data_stays_text(hostile_dom: Element, demo_report: dict[str, Any]) -> None:
    (head,) = hostile_dom.find_all("head")
    (title,) = head.find_all("title")
    (script,) = hostile_dom.find_all("script")

    # Had any payload run, the page's title would be "pwned".
    assert title.all_text() == f"pagedoctor report: {HOSTILE}"
    assert script.all_text().lstrip().startswith("// The report reads fully without this script")
    assert not hostile_dom.find_all("img")
    assert not [el for el in walk(hostile_dom) if any(name.startswith("on") for name in el.attrs)]
    assert (
        article(hostile_dom, demo_report["findings"][0]["id"]).find_all("h3")[0].all_text()
        == HOSTILE
    )
    assert sum(HOSTILE in el.text for el in walk(hostile_dom)) >= 8


def png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """Return the width, height and RGB(A) rows of an 8-bit, non-interlaced PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks: dict[bytes, bytes] = {}
    offset = 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        chunks[kind] = chunks.get(kind, b"") + data[offset + 8 : offset + 8 + length]
        offset += 12 + length
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert (depth, interlace) == (8, 0)
    assert color in (2, 6)  # RGB or RGBA
    channels = 3 if color == 2 else 4
    raw = zlib.decompress(chunks[b"IDAT"])
    stride = width * channels
    rows: list[bytes] = []
    previous = bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        row = _unfilter(
            raw[start], bytearray(raw[start + 1 : start + 1 + stride]), previous, channels
        )
        rows.append(bytes(row))
        previous = row
    return width, height, rows


def _unfilter(kind: int, row: bytearray, above: bytes, bpp: int) -> bytearray:
    for i in range(len(row)):
        left = row[i - bpp] if i >= bpp else 0
        up = above[i]
        corner = above[i - bpp] if i >= bpp else 0
        if kind == 1:
            row[i] = (row[i] + left) & 0xFF
        elif kind == 2:
            row[i] = (row[i] + up) & 0xFF
        elif kind == 3:
            row[i] = (row[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            p = left + up - corner
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
            predictor = left if pa <= pb and pa <= pc else up if pb <= pc else corner
            row[i] = (row[i] + predictor) & 0xFF
    return row


def colour_count(rows: list[bytes], rgb: tuple[int, int, int], channels: int) -> int:
    wanted = bytes(rgb)
    return sum(row[i : i + 3] == wanted for row in rows for i in range(0, len(row), channels))


@pytest.fixture(scope="session")
def screenshot(browser: Browser, page_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Painted at half scale: flat fills keep their exact colours, and there are 4x fewer
    # pixels for the pure-Python decoder below.
    path = tmp_path_factory.mktemp("screenshot") / "top.png"
    return browser.screenshot(page_file.as_uri(), path, width=1280, height=1000, scale=0.5)


def test_a_screenshot_shows_the_summary_in_the_reports_colours(screenshot: Path) -> None:
    width, height, rows = png_pixels(screenshot)
    channels = len(rows[0]) // width

    assert (width, height) == (640, 500)
    # The verified-saving cards are green, the HIGH badges red, the slowest pages' bars grey:
    # painted, not just present in the DOM.
    assert colour_count(rows, (0xEB, 0xFB, 0xEE), channels) > 2000  # --ok-bg
    assert colour_count(rows, (0xC9, 0x2A, 0x2A), channels) > 100  # --high
    assert colour_count(rows, (0xAD, 0xB5, 0xBD), channels) > 300  # --other
