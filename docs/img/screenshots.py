"""Regenerate the screenshots of the HTML report in this folder.

Audit the bundled demo shop, then paint the report with headless Chromium (Debian's
``chromium`` package):

    .venv/py311-dj52/bin/python docs/img/screenshots.py

A headless screenshot shows the top of the page only, so for a finding and a page's timeline
the report is painted with everything else hidden (and that page's sections unfolded).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TIMELINE_URL = "/pizzas/"
FINDING_ID = "n_plus_one:1"


def main() -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("chromium is not installed: apt-get install -y chromium")
    with tempfile.TemporaryDirectory(prefix="pagedoctor-screenshots-") as tmp:
        work = Path(tmp)
        audit = [sys.executable, "-m", "pagedoctor", "audit", "--html", "report.html"]
        subprocess.run(audit, cwd=work, check=True, capture_output=True)
        html = (work / "report.html").read_text(encoding="utf-8")
        shots = {
            "report-summary.png": (html, 1280, 1000),
            "report-finding.png": (only_finding(html, FINDING_ID), 1280, 760),
            "report-timeline.png": (only_timeline(html, TIMELINE_URL), 1280, 1120),
        }
        for name, (page, width, height) in shots.items():
            source = work / name.replace(".png", ".html")
            source.write_text(page, encoding="utf-8")
            paint(chromium, source, HERE / name, width, height, profile=work / "profile")
            print(f"wrote {HERE / name}")


def only_finding(html: str, finding_id: str) -> str:
    """Return the report showing one finding alone."""
    anchor = next(
        found.group(1)
        for found in re.finditer(
            r'<article [^>]*id="(finding-\d+)">\s*<header>(.*?)</header>', html
        )
        if f">{finding_id}<" in found.group(2)
    )
    return _with_style(
        html,
        f".top, nav.toc, section:not(#findings), #findings > h2, "
        f"article.finding:not(#{anchor}) {{ display: none; }}",
    )


def only_timeline(html: str, url: str) -> str:
    """Return the report showing one page's details alone, unfolded."""
    anchor = _match(
        rf'<details class="page" id="(page-\d+)">\s*<summary><span class="head">'
        rf'<span class="url">{re.escape(url)}</span>',
        html,
    )
    opened = f'<details class="page" id="{anchor}" open>'
    html = html.replace(f'<details class="page" id="{anchor}">', opened)
    # Unfold the page's event list too: it is the first folded list after the page.
    start = html.index(opened)
    head, tail = html[:start], html[start:]
    html = head + tail.replace('<details class="events">', '<details class="events" open>', 1)
    return _with_style(
        html,
        f".top, nav.toc, section:not(#pages), #pages > header, #pages > .table-wrap, "
        f"#pages > h4, details.page:not(#{anchor}) {{ display: none; }}",
    )


def _match(pattern: str, html: str) -> str:
    found = re.search(pattern, html, re.DOTALL)
    if found is None:
        sys.exit(f"not in the report: {pattern}")
    return found.group(1)


def _with_style(html: str, css: str) -> str:
    return html.replace("</head>", f"<style>{css}</style>\n</head>", 1)


def paint(
    chromium: str, source: Path, target: Path, width: int, height: int, *, profile: Path
) -> None:
    subprocess.run(
        [
            chromium,
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--screenshot={target}",
            f"--window-size={width},{height}",
            source.as_uri(),
        ],
        check=True,
        capture_output=True,
    )


if __name__ == "__main__":
    main()
