"""Render a pagedoctor report to the terminal with rich.

Everything that came from the site (URLs, SQL, messages, file names) is wrapped in ``Text`` so
rich never reads it as markup, and every colour repeats something the words already say, so
the output reads the same in a CI log without colour.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}

_SEVERITY_STYLES = {
    "high": "bold white on red",
    "medium": "bold black on yellow",
    "low": "bold white on blue",
}
_BADGE_WIDTH = 8
RANKING_SHOWN = 5


def render_terminal(report: dict[str, Any], *, console: Console | None = None) -> None:
    """Print ``report`` (schema ``pagedoctor.report/1``) to ``console`` or to stdout."""
    console = console or Console()
    pages: list[dict[str, Any]] = report.get("pages") or []
    console.print(_header(report))
    _print_ranking(console, report.get("ranking") or [])
    console.print(_pages_table(pages))
    console.print(_summary(pages))
    console.print()
    _print_findings(console, report.get("findings") or [])
    _print_errors(console, pages)
    if report.get("baseline") is not None:
        _print_baseline(console, report["baseline"])
    if report.get("budget") is not None:
        _print_budget(console, report["budget"])


def render_problems(report: dict[str, Any], *, console: Console | None = None) -> None:
    """Print only what is wrong: failed pages, regressions and budget violations (``--quiet``)."""
    console = console or Console()
    for page in report.get("pages") or []:
        if _failed(page):
            last = [line for line in str(page.get("error") or "").splitlines() if line.strip()]
            reason = f": {last[-1].strip()}" if last else ""
            console.print(
                _cross(f"{page.get('url', '')} answered {page.get('status')}{reason}"),
                soft_wrap=True,
            )
    budget = report.get("budget") or {}
    rules = {violation.get("rule") for violation in budget.get("violations") or []}
    if "fail_on_regression" not in rules:  # else the budget lists them below
        for page in _regressed(report.get("baseline") or {}):
            console.print(_cross(_regression_text(page)), soft_wrap=True)
    for violation in budget.get("violations") or []:
        console.print(_cross(str(violation.get("message", ""))), soft_wrap=True)
    for note in budget.get("notes") or []:
        console.print(Text(f"note: {note}", style="yellow"), soft_wrap=True)


def render_verdict(report: dict[str, Any], *, status: int, console: Console | None = None) -> None:
    """Print the run's summary line and its verdict with the exit status it sets."""
    console = console or Console()
    pages = report.get("pages") or []
    findings = report.get("findings") or []
    failed = [str(page.get("url", "")) for page in pages if _failed(page)]
    high = sum(finding.get("severity") == "high" for finding in findings)
    parts = [
        f"{plural(len(pages), 'page')} ({len(failed)} failed)",
        f"{plural(len(findings), 'finding')} ({high} high)",
    ]
    baseline = report.get("baseline")
    if baseline is not None:
        parts.append(
            f"baseline: {baseline.get('improved', 0)} improved, "
            f"{baseline.get('regressed', 0)} regressed"
        )
    budget = report.get("budget")
    if budget is not None:
        parts.append(f"budget: {plural(len(budget.get('violations') or []), 'violation')}")
    console.print()
    console.print(Text("pagedoctor: " + "; ".join(parts)), soft_wrap=True)
    console.print(_verdict_text(status, failed, budget), soft_wrap=True)


def format_ms(value: float | None) -> str:
    """Return milliseconds to one decimal, ``<0.1`` for a blip, or a dash when unknown."""
    if value is None:
        return "-"
    # "0.0" would read as "took no time" for a 0.02 ms cache hit.
    return "<0.1" if 0 < value < 0.05 else f"{value:.1f}"


def format_bytes(size: int | None) -> str:
    """Return a size in binary units: ``512 B``, ``17.8 KiB``, ``1.2 MiB``."""
    if size is None:
        return "-"
    if size < 1024:
        return f"{size} B"
    value = size / 1024
    for unit in ("KiB", "MiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def format_where(where: Mapping[str, Any] | None) -> str:
    """Return ``file:line in function`` for a finding's or fix's location, or ``""``."""
    if not where or not where.get("file"):
        return ""
    text = str(where["file"])
    if where.get("line") is not None:
        text += f":{where['line']}"
    if where.get("function"):
        text += f" in {where['function']}"
    return text


def describe_verification(verified: Mapping[str, Any] | None) -> str:
    """Return ``101 → 2 queries, 41.2 → 6.3 ms, same output`` for a verified fix."""
    if not verified:
        return "not verified"
    parts = []
    if verified.get("queries_before") is not None:
        parts.append(f"{verified['queries_before']} → {verified.get('queries_after')} queries")
    if verified.get("ms_before") is not None:
        before, after = verified["ms_before"], verified.get("ms_after")
        parts.append(f"{format_ms(before)} → {format_ms(after)} ms")
    same = verified.get("same_output")
    if same is not None:
        parts.append("same output" if same else "OUTPUT CHANGED")
    return ", ".join(parts) or "not verified"


def sorted_findings(findings: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return findings most severe first, keeping the report's order within a severity."""
    return sorted(findings, key=lambda f: SEVERITY_ORDER.get(f.get("severity", ""), 3))


def page_is_error(page: Mapping[str, Any]) -> bool:
    """Return whether a page failed: an error was recorded or the status is 400 or more."""
    return bool(page.get("error")) or (page.get("status") or 0) >= 400


def _verdict_text(status: int, failed: list[str], budget: Mapping[str, Any] | None) -> Text:
    if status == 0:
        within = f", within the budget in {budget.get('file')}" if budget is not None else ""
        return Text.assemble(("OK", "bold green"), f" (exit 0): every page audited{within}")
    if status == 1:
        shown = ", ".join(failed[:5]) + (", …" if len(failed) > 5 else "")
        reason = f"{plural(len(failed), 'page')} could not be audited: {shown}"
    elif status == 3 and budget is not None:
        count = plural(len(budget.get("violations") or []), "violation")
        reason = f"over the budget in {budget.get('file')}: {count}"
    else:
        reason = "see above"
    return Text.assemble(("FAIL", "bold red"), f" (exit {status}): {reason}")


def _failed(page: Mapping[str, Any]) -> bool:
    """Return whether a page could not be audited (it raised or answered 5xx): exit status 1."""
    return bool(page.get("error")) or (page.get("status") or 0) >= 500


def _cross(message: str) -> Text:
    return Text.assemble(("✗ ", "bold red"), message)


def _print_ranking(console: Console, ranking: list[dict[str, Any]]) -> None:
    if not ranking:
        return
    console.print()
    console.print(
        Text("Fix first: most time saved, per request on every page", style="bold underline")
    )
    grid = Table.grid(padding=(0, 1))
    grid.add_column(justify="right", no_wrap=True)
    grid.add_column(overflow="fold")
    for entry in ranking[:RANKING_SHOWN]:
        grid.add_row(Text(f"{entry.get('rank', '')}."), _ranking_text(entry))
    console.print(grid)
    if len(ranking) > RANKING_SHOWN:
        more = len(ranking) - RANKING_SHOWN
        console.print(Text(f"   … and {more} more in the findings below", style="dim"))
    console.print()


def _ranking_text(entry: Mapping[str, Any]) -> Text:
    text = Text(str(entry.get("title") or ""), style="bold")
    text.append(f"\n{entry.get('kind', '')}: ", style="dim")
    text.append(describe_saving(entry.get("saving") or {}, len(entry.get("pages") or [])))
    fix = entry.get("fix")
    text.append("\nfix: ", style="dim")
    text.append(str(fix) if fix else "none proposed", style="green" if fix else "")
    return text


def describe_saving(saving: Mapping[str, Any], pages: int) -> str:
    """Return ``saves 7.6 ms a request on 3 pages (22.8 ms in all), verified``.

    ``~`` marks an estimate.
    """
    ms, basis = saving.get("ms"), saving.get("basis")
    on = f"on {plural(pages, 'page')}"
    if ms is None:
        return f"saving unknown, {on}"
    about = "~" if basis == "estimated" else ""
    total = "" if pages < 2 else f" ({about}{format_ms(saving.get('total_ms'))} ms in all)"
    return f"saves {about}{format_ms(ms)} ms a request {on}{total}, {basis}"


def _print_baseline(console: Console, baseline: Mapping[str, Any]) -> None:
    console.print()
    title = Text(f"Baseline: {baseline.get('file')}", style="bold underline")
    if baseline.get("generated"):
        title.append(f" (generated {baseline['generated']})", style="dim")
    console.print(title, soft_wrap=True)
    for pair in baseline.get("map") or []:
        console.print(Text(f"pages under {pair.get('new')} compared with {pair.get('old')}"))
    pages = baseline.get("pages") or []
    if pages:
        console.print(_baseline_table(pages))
    text = Text(
        f"{baseline.get('improved', 0)} improved, {baseline.get('regressed', 0)} regressed, "
        f"{baseline.get('same', 0)} the same"
    )
    noise = baseline.get("noise") or {}
    text.append(
        f" (time counts from {noise.get('ms_percent', 20):g}% and {noise.get('ms', 5):g} ms)",
        style="dim",
    )
    console.print(text)
    console.print(
        Text(
            f"new finding kinds: {', '.join(baseline.get('new_kinds') or []) or 'none'}; "
            f"fixed: {', '.join(baseline.get('fixed_kinds') or []) or 'none'}"
        )
    )
    for label, key in (
        ("not in the baseline", "only_in_run"),
        ("only in the baseline", "only_in_baseline"),
    ):
        if baseline.get(key):
            console.print(Text(f"{label}: {', '.join(map(str, baseline[key]))}", style="dim"))


def _baseline_table(pages: list[dict[str, Any]]) -> Table:
    table = Table(
        box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold",
        collapse_padding=True,
    )  # fmt: skip
    table.add_column("URL", overflow="fold", ratio=1, min_width=12)
    table.add_column("Queries", justify="right", no_wrap=True)
    table.add_column("ms", justify="right", no_wrap=True)
    table.add_column("Verdict", no_wrap=True)
    for page in pages:
        url = Text(str(page.get("url", "")))
        if page.get("baseline_url") != page.get("url"):
            url.append(f" ← {page.get('baseline_url')}", style="dim")
        verdict = str(page.get("verdict", ""))
        table.add_row(
            url,
            Text(_before_after(page.get("queries") or {}, str)),
            Text(_before_after(page.get("ms") or {}, format_ms)),
            Text(verdict, style=_VERDICT_STYLES.get(verdict, "")),
        )
    return table


_VERDICT_STYLES = {"improved": "green", "regressed": "bold red"}


def _before_after(change: Mapping[str, Any], show: Callable[[Any], str]) -> str:
    before, after = change.get("before"), change.get("after")
    return f"{'-' if before is None else show(before)} → {'-' if after is None else show(after)}"


def _regressed(baseline: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [page for page in baseline.get("pages") or [] if page.get("verdict") == "regressed"]


def _regression_text(page: Mapping[str, Any]) -> str:
    return f"{page.get('url')} regressed: {', '.join(page.get('regressions') or [])}"


def _print_budget(console: Console, budget: Mapping[str, Any]) -> None:
    console.print()
    violations = budget.get("violations") or []
    title = Text(f"Budget: {budget.get('file')}", style="bold underline")
    console.print(title, soft_wrap=True)
    if not violations:
        console.print(Text("within the budget", style="green"))
    for violation in violations:
        console.print(_cross(str(violation.get("message", ""))), soft_wrap=True)
    for note in budget.get("notes") or []:
        console.print(Text(f"note: {note}", style="yellow"), soft_wrap=True)


def _header(report: Mapping[str, Any]) -> Text:
    site = report.get("site") or {}
    text = Text.assemble(("pagedoctor report", "bold"))
    if report.get("generated"):
        text.append(f", generated {report['generated']}", style="dim")
    for separator, label in (("\n", "settings"), (", ", "database"), (", ", "cache")):
        text.append(f"{separator}{label} ")
        text.append(str(site.get(label) or "-"), style="cyan")
    return text


def _pages_table(pages: list[dict[str, Any]]) -> Table:
    # No edges and a narrow URL minimum keep the table inside 80 columns, rich's default in CI.
    table = Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        header_style="bold",
        collapse_padding=True,
    )
    table.add_column("URL", overflow="fold", ratio=1, min_width=12)
    for name in ("Status", "ms", "Queries", "DB ms", "Dup", "Cache h/m", "Size"):
        table.add_column(name, justify="right", no_wrap=True)
    for page in pages:
        table.add_row(*_page_cells(page))
    return table


def _page_cells(page: Mapping[str, Any]) -> list[Text]:
    status = page.get("status")
    status_style = "bold red" if page_is_error(page) else "green"
    cache = f"{page.get('cache_hits', 0)}/{page.get('cache_misses', 0)}"
    return [
        Text(str(page.get("url", ""))),
        Text("-" if status is None else str(status), style=status_style),
        Text(format_ms(page.get("ms"))),
        Text(str(page.get("queries", 0))),
        Text(format_ms(page.get("query_ms"))),
        Text(str(page.get("duplicate_queries", 0))),
        Text(cache),
        Text(format_bytes(page.get("bytes"))),
    ]


def _summary(pages: list[dict[str, Any]]) -> Text:
    if not pages:
        return Text("No pages audited.")
    queries = sum(page.get("queries") or 0 for page in pages)
    duplicates = sum(page.get("duplicate_queries") or 0 for page in pages)
    errors = sum(page_is_error(page) for page in pages)
    slowest = max(pages, key=lambda page: page.get("ms") or 0.0)
    text = Text(f"{plural(len(pages), 'page')}, {plural(queries, 'query', 'queries')}")
    text.append(f" ({duplicates} duplicate), {plural(errors, 'error')}; slowest: ")
    text.append(str(slowest.get("url", "")), style="bold")
    text.append(f" at {format_ms(slowest.get('ms'))} ms")
    return text


def _print_findings(console: Console, findings: list[dict[str, Any]]) -> None:
    if not findings:
        console.print(Text("No findings yet.", style="bold"))
        return
    console.print(Text(f"Findings ({len(findings)})", style="bold underline"))
    for finding in sorted_findings(findings):
        console.print()
        console.print(_finding_title(finding))
        console.print(_finding_details(finding))


def _finding_title(finding: Mapping[str, Any]) -> Text:
    severity = str(finding.get("severity", "")).lower()
    badge = severity.upper().center(_BADGE_WIDTH)
    text = Text()
    text.append(badge, style=_SEVERITY_STYLES.get(severity, "reverse"))
    text.append(f" {finding.get('kind', '')}: ", style="dim")
    text.append(str(finding.get("message", "")), style="bold")
    return text


def _finding_details(finding: Mapping[str, Any]) -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=_BADGE_WIDTH, justify="right", style="dim")
    grid.add_column(overflow="fold")
    where = format_where(finding.get("where"))
    if where:
        grid.add_row("where", Text(where))
    if finding.get("pages"):
        grid.add_row("pages", Text(", ".join(str(url) for url in finding["pages"])))
    fix = finding.get("fix")
    if fix:
        grid.add_row("fix", _fix_text(fix))
        grid.add_row("verified", Text(describe_verification(finding.get("verified"))))
    else:
        grid.add_row("fix", Text("none proposed"))
    return grid


def _fix_text(fix: Mapping[str, Any]) -> Text:
    text = Text(str(fix.get("summary") or ""))
    location = format_where(fix)
    if location:
        text.append(f"{' in ' if text else ''}{location}")
    if fix.get("code"):
        text.append("\n" if text else "")
        text.append(str(fix["code"]), style="green")
    return text


def _print_errors(console: Console, pages: list[dict[str, Any]]) -> None:
    failed = [page for page in pages if page.get("error")]
    if not failed:
        return
    console.print()
    console.print(Text(f"Errors ({len(failed)})", style="bold underline"))
    for page in failed:
        console.print(_error_text(page))


def _error_text(page: Mapping[str, Any]) -> Text:
    lines = [line for line in str(page["error"]).splitlines() if line.strip()]
    text = Text()
    text.append(str(page.get("url", "")), style="bold")
    text.append(f" ({page.get('status', '-')})\n", style="bold red")
    if lines:
        text.append(f"  {lines[0].strip()}\n")
    if len(lines) > 2:
        text.append(f"  ... {len(lines) - 2} more lines ...\n", style="dim")
    if len(lines) > 1:
        text.append(f"  {lines[-1].strip()}\n", style="red")
    return text


def plural(count: int, singular: str, many: str | None = None) -> str:
    """Return ``1 page``, ``2 pages``; ``many`` for irregular plurals (``queries``)."""
    return f"{count} {singular if count == 1 else many or singular + 's'}"
