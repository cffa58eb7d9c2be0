"""Print the ``capacity`` section: a table of pages, then the slow pages beside their twins."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text


def render_capacity(section: dict[str, Any], *, console: Console) -> None:
    """Print ``section`` (see ``section.capacity_section``) as tables and the model it used."""
    target, model = section["target"], section["model"]
    console.print()
    console.print(_pages_table(section), markup=False)
    if section["pairs"]:
        console.print()
        console.print(_pairs_table(section), markup=False)
    console.print()
    console.print(
        f"Peak model: the busiest hour carries {model['peak_hour_percent']:g}% of a day's views "
        f"and bursts reach {model['burst']:g}x that hour's average, so the busiest moments run at "
        f"{model['peak_factor']:g}x the day's average. {target['views_per_day']:,} views a day "
        f"then need {model['required_rps']:g} req/s at p95 <= {target['p95_ms']:g} ms "
        f"(naively, spread evenly over the day: {model['naive_required_rps']:g} req/s).",
        markup=False,
        highlight=False,
    )
    run = section["run"]
    console.print(
        f"Measured with {run['load_generator']} against {run['server']} ({run['workers']} "
        f"workers) on {run['host']}, {run['cores']} cores shared by both, "
        f"{run['step_seconds']}s per step, in {run['elapsed_seconds']:g}s.",
        markup=False,
        highlight=False,
    )
    for url in section["unmeasured"]:
        console.print(f"Not measured (time limit): {url}", markup=False, highlight=False)


def _pages_table(section: dict[str, Any]) -> Table:
    target = section["target"]
    table = Table(
        title=f"Capacity at p95 <= {target['p95_ms']:g} ms: the best rate, and the views a day "
        "it serves (naive, and under the peak model)",
        title_justify="left",
        box=None,
    )
    table.add_column("Page", no_wrap=True)
    for name in ("req/s", "conns", "p95 ms", "naive/day", "peak/day"):
        table.add_column(name, justify="right")
    table.add_column(f"vs {target['views_per_day']:,}", justify="right")
    for page in section["pages"]:
        best = page["best"]
        table.add_row(
            Text(page["url"] + ("" if page["complete"] else " (cut short)")),
            f"{page['rps']:,.1f}" if best else "none",
            str(best["concurrency"]) if best else "-",
            f"{best['p95_ms']:,.0f}" if best else _first_p95(page),
            f"{page['views_per_day']['naive']:,}",
            f"{page['views_per_day']['peak']:,}",
            _headroom(page["headroom"]["peak"]),
        )
    return table


def _first_p95(page: dict[str, Any]) -> str:
    """Show why no step met the target: the first step's p95 (or its length if none came back)."""
    if not page["steps"]:
        return "-"
    first = page["steps"][0]
    if not first["requests"]:
        # Not one request came back within the step: each took longer than the step lasted.
        return f">{first['seconds'] * 1000:,.0f}"
    return f"{first['p95_ms']:,.0f}"


def _headroom(ratio: float) -> Text:
    style = "green" if ratio >= 1 else "red"
    return Text(f"{ratio:,.2f}x", style=style)


def _pairs_table(section: dict[str, Any]) -> Table:
    table = Table(title="Slow pages beside their fixed twins", title_justify="left", box=None)
    table.add_column("Slow page", no_wrap=True)
    table.add_column("req/s", justify="right")
    table.add_column("Fixed twin", no_wrap=True)
    table.add_column("req/s", justify="right")
    table.add_column("gain", justify="right")
    table.add_column("peak/day slow", justify="right")
    table.add_column("peak/day fixed", justify="right")
    pages = {page["url"]: page for page in section["pages"]}
    for pair in section["pairs"]:
        slow, fixed = pages[pair["slow"]], pages[pair["fixed"]]
        ratio = pair["rps_ratio"]
        table.add_row(
            Text(slow["url"]),
            f"{slow['rps']:,.1f}",
            Text(fixed["url"]),
            f"{fixed['rps']:,.1f}",
            f"{ratio:,.1f}x" if ratio is not None else "-",
            f"{slow['views_per_day']['peak']:,}",
            f"{fixed['views_per_day']['peak']:,}",
        )
    return table
