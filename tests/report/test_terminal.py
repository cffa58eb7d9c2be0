from __future__ import annotations

import io
import re
from typing import Any

import pytest
from rich.console import Console

from pagedoctor.audit.baseline import compare
from pagedoctor.audit.ranking import rank
from pagedoctor.report.terminal import (
    describe_saving,
    format_bytes,
    format_ms,
    render_problems,
    render_terminal,
    render_verdict,
)
from tests.report import make_report


def render(report: dict[str, Any], *, width: int = 100) -> str:
    console = Console(record=True, width=width, file=io.StringIO())
    render_terminal(report, console=console)
    return console.export_text()


def render_styled(report: dict[str, Any]) -> str:
    console = Console(
        record=True, width=100, file=io.StringIO(), force_terminal=True, color_system="standard"
    )
    render_terminal(report, console=console)
    return console.export_text(styles=True)


def line_starting(output: str, start: str) -> str:
    return next(line for line in output.splitlines() if line.strip().startswith(start))


def test_header_names_the_site() -> None:
    output = render(make_report())

    assert "settings pagedoctor.demo.settings, database sqlite, cache locmem" in output
    assert "generated 2026-11-26T07:30:00+00:00" in output


@pytest.mark.parametrize(
    ("url", "cells"),
    [
        ("/pizzas/", ["200", "41.2", "101", "30.5", "0", "0/1", "17.8 KiB"]),
        ("/pizzas/margherita/", ["200", "12.6", "7", "4.1", "3", "2/0", "5.0 KiB"]),
        ("/checkout/", ["500", "3.0", "1", "0.5", "0", "0/0", "145 B"]),
    ],
)
def test_pages_table_row_shows_every_column(url: str, cells: list[str]) -> None:
    row = line_starting(render(make_report()), url)

    assert row.split() == [url, *cells[:-1], *cells[-1].split()]


def test_table_has_a_header_per_column() -> None:
    header = line_starting(render(make_report()), "URL")

    assert header.split() == [
        "URL",
        "Status",
        "ms",
        "Queries",
        "DB",
        "ms",
        "Dup",
        "Cache",
        "h/m",
        "Size",
    ]


def test_failed_status_is_red_and_ok_status_is_not() -> None:
    output = render_styled(make_report())

    assert re.search(r"\x1b\[[0-9;]*31m\s*500\x1b\[0m", output)
    assert not re.search(r"\x1b\[[0-9;]*31m\s*200", output)


def test_summary_line_totals_pages_queries_and_names_the_slowest_page() -> None:
    output = render(make_report())

    assert "3 pages, 109 queries (3 duplicate), 1 error; slowest: /pizzas/ at 41.2 ms" in output


def test_finding_shows_badge_message_location_fix_and_verification() -> None:
    output = render(make_report())

    assert "HIGH   n_plus_one: Pizza.toppings is loaded once per pizza (100 queries)" in output
    assert "where pagedoctor/demo/shop/templates/shop/pizza_list.html:7" in output
    assert "pages /pizzas/" in output
    assert "fix prefetch the relation in pagedoctor/demo/shop/views.py:14" in output
    assert 'Pizza.objects.prefetch_related("toppings")' in output
    assert "verified 101 → 2 queries, 41.2 → 6.3 ms, same output" in output


def test_findings_are_listed_most_severe_first() -> None:
    output = render(make_report())

    assert output.index("HIGH ") < output.index("MEDIUM ")


def test_finding_without_a_fix_says_so() -> None:
    output = render(make_report())
    after_medium = output[output.index("MEDIUM ") :]

    assert "fix none proposed" in after_medium
    assert "verified" not in after_medium


def test_fix_that_changes_the_output_is_flagged_in_words() -> None:
    report = make_report()
    report["findings"][1]["verified"]["same_output"] = False

    assert "101 → 2 queries, 41.2 → 6.3 ms, OUTPUT CHANGED" in render(report)


def test_unverified_fix_says_not_verified() -> None:
    report = make_report()
    report["findings"][1]["verified"] = None

    assert "verified not verified" in render(report)


def test_empty_findings_say_no_findings_yet() -> None:
    output = render(make_report(findings=[]))

    assert "No findings yet." in output
    assert "Findings (" not in output


def test_error_page_shows_first_and_last_traceback_lines() -> None:
    output = render(make_report())
    errors = output[output.index("Errors (1)") :]

    assert "/checkout/ (500)" in errors
    assert "Traceback (most recent call last):" in errors
    assert "ValueError: basket is empty" in errors
    assert "... 4 more lines ..." in errors
    assert "get_response(request)" not in errors


def test_no_error_section_without_errors() -> None:
    report = make_report()
    report["pages"] = report["pages"][:2]

    assert "Errors (" not in render(report)


def test_site_strings_are_printed_literally_not_as_markup() -> None:
    report = make_report()
    report["site"]["settings"] = "[italic]mysite.settings"
    report["pages"][0]["url"] = "/[bold]x[/bold]/"
    report["findings"][1]["pages"] = ["/[bold]x[/bold]/"]
    report["findings"][1]["message"] = "[red]boom[/red] :thumbs_up:"
    report["findings"][1]["fix"]["code"] = 'qs.filter(name="[link=https://e.com]x")'

    output = render(report)

    assert "[italic]mysite.settings" in output
    assert line_starting(output, "/[bold]x[/bold]/").split()[1] == "200"
    assert "slowest: /[bold]x[/bold]/ at 41.2 ms" in output
    assert "pages /[bold]x[/bold]/" in output
    assert "[red]boom[/red] :thumbs_up:" in output
    assert 'qs.filter(name="[link=https://e.com]x")' in output


@pytest.mark.parametrize("width", [80, 100])
def test_output_fits_the_console_even_with_long_urls_and_numbers(width: int) -> None:
    report = make_report()
    report["pages"][0].update(url="/search/?" + "q=pizza&" * 30, ms=12345.6, queries=10000)
    report["pages"][0].update(cache_hits=100, cache_misses=100, bytes=999 * 1024)
    report["findings"][1]["message"] = "a very long message " * 10

    output = render(report, width=width)

    assert max(len(line) for line in output.splitlines()) <= width
    assert "12345.6" in output
    assert "999.0 KiB" in output
    assert "100/100" in output


def test_report_with_only_contract_fields_renders() -> None:
    report = make_report()
    del report["generated"], report["pagedoctor"]
    for page in report["pages"]:
        for key in ("cache_ms", "template_ms", "error", "timeline", "timeline_dropped"):
            del page[key]

    output = render(report)

    assert "/pizzas/" in output
    assert "Errors (" not in output


def test_prints_to_stdout_without_a_console(capsys: pytest.CaptureFixture[str]) -> None:
    render_terminal(make_report())

    assert "/pizzas/margherita/" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("size", "text"),
    [(None, "-"), (0, "0 B"), (1023, "1023 B"), (18211, "17.8 KiB"), (5 * 1024**2, "5.0 MiB")],
)
def test_format_bytes(size: int | None, text: str) -> None:
    assert format_bytes(size) == text


@pytest.mark.parametrize(
    ("ms", "text"), [(None, "-"), (0.0, "0.0"), (0.02, "<0.1"), (0.31, "0.3"), (41.23, "41.2")]
)
def test_format_ms(ms: float | None, text: str) -> None:
    assert format_ms(ms) == text


def ranked(report: dict[str, Any]) -> dict[str, Any]:
    report["ranking"] = rank(report)
    return report


def test_what_to_fix_first_comes_right_after_the_header() -> None:
    output = "\n".join(line.rstrip() for line in render(ranked(make_report())).splitlines())

    assert output.index("settings pagedoctor") < output.index("Fix first") < output.index("URL")
    first = output[output.index("1. ") :]
    assert first.startswith(
        "1. Pizza.toppings is loaded once per pizza (100 queries)\n"
        "   n_plus_one: saves 34.9 ms a request on 1 page, verified\n"
        '   fix: Pizza.objects.prefetch_related("toppings") at pagedoctor/demo/shop/views.py:14\n'
        "2. The same query runs 3 times on /pizzas/margherita/\n"
        "   duplicate_query: saving unknown, on 1 page\n"
        "   fix: none proposed\n"
    )


def test_only_the_top_of_a_long_ranking_is_shown() -> None:
    report = make_report()
    extra = report["findings"][1]
    report["findings"] += [
        {**extra, "id": f"n_plus_one:{n}", "fix": {**extra["fix"], "line": n}} for n in range(2, 8)
    ]

    output = render(ranked(report))

    assert "5. " in output
    assert "6. " not in output
    assert "… and 3 more in the findings below" in output


def test_no_ranking_without_findings() -> None:
    assert "Fix first" not in render(ranked(make_report(findings=[])))


@pytest.mark.parametrize(
    ("saving", "pages", "text"),
    [
        ({"ms": 7.6, "basis": "verified", "total_ms": 22.8}, 3,
         "saves 7.6 ms a request on 3 pages (22.8 ms in all), verified"),
        ({"ms": 1.2, "basis": "estimated", "total_ms": 1.2}, 1,
         "saves ~1.2 ms a request on 1 page, estimated"),
        ({"ms": None, "basis": "unknown", "total_ms": None}, 2, "saving unknown, on 2 pages"),
    ],
)  # fmt: skip
def test_describe_saving(saving: dict[str, Any], pages: int, text: str) -> None:
    assert describe_saving(saving, pages) == text


def baseline_report() -> dict[str, Any]:
    new = make_report()
    new["pages"][0].update(url="/fixed/pizzas/", queries=2, ms=6.3, findings=[])
    new["pages"][1].update(queries=9)
    new["baseline"] = compare(make_report(), new, file="old.json", url_map=[("/fixed/", "/")])
    return new


def test_the_baseline_shows_each_page_before_and_after_with_its_verdict() -> None:
    output = render(baseline_report())
    section = output[output.index("Baseline: old.json") :]

    assert "Baseline: old.json (generated 2026-11-26T07:30:00+00:00)" in section
    assert "pages under /fixed/ compared with /" in section
    assert line_starting(section, "/fixed/pizzas/").split() == [
        "/fixed/pizzas/", "←", "/pizzas/", "101", "→", "2", "41.2", "→", "6.3", "improved",
    ]  # fmt: skip
    assert line_starting(section, "/pizzas/margherita/").split()[-1] == "regressed"
    assert line_starting(section, "/checkout/").split()[-1] == "same"
    assert "1 improved, 1 regressed, 1 the same" in section
    assert "new finding kinds: none; fixed: n_plus_one" in section


def test_the_budget_lists_each_violation_or_says_it_is_met() -> None:
    report = make_report()
    report["budget"] = {
        "file": "budget.toml",
        "passed": False,
        "violations": [{"message": "/pizzas/: 101 queries, over the budget of 10 queries"}],
        "notes": ["fail_on_regression is set but no --baseline was given"],
    }
    output = render(report)

    assert "Budget: budget.toml\n✗ /pizzas/: 101 queries, over the budget of 10 queries\n" in output
    assert "note: fail_on_regression is set but no --baseline was given" in output
    report["budget"].update(passed=True, violations=[], notes=[])
    assert "Budget: budget.toml\nwithin the budget\n" in render(report)


def quiet(report: dict[str, Any]) -> str:
    console = Console(record=True, width=80, file=io.StringIO())
    render_problems(report, console=console)
    return console.export_text()


def test_quiet_shows_failed_pages_regressions_and_violations_only() -> None:
    report = baseline_report()
    report["budget"] = {"file": "b.toml", "violations": [{"message": "too slow"}], "notes": []}

    assert quiet(report).splitlines() == [
        "✗ /checkout/ answered 500: ValueError: basket is empty",
        "✗ /pizzas/margherita/ regressed: queries 7 → 9",
        "✗ too slow",
    ]
    assert quiet(make_report(pages=[])) == ""


def test_quiet_leaves_regressions_to_a_budget_that_fails_on_them() -> None:
    report = baseline_report()
    report["budget"] = {
        "violations": [{"rule": "fail_on_regression", "message": "/pizzas/margherita/ regressed"}]
    }

    assert quiet(report).count("regressed") == 1


def verdict(report: dict[str, Any], status: int) -> list[str]:
    console = Console(record=True, width=40, file=io.StringIO())
    render_verdict(report, status=status, console=console)
    return console.export_text().splitlines()


def test_the_verdict_names_the_exit_status_and_why_on_unwrapped_lines() -> None:
    report = make_report()
    assert verdict(report, 1) == [
        "",
        "pagedoctor: 3 pages (1 failed); 2 findings (1 high)",
        "FAIL (exit 1): 1 page could not be audited: /checkout/",
    ]
    report["budget"] = {"file": "budget.toml", "passed": False, "violations": [{}, {}]}
    report["baseline"] = {"improved": 2, "regressed": 1}
    assert verdict(report, 3)[1:] == [
        "pagedoctor: 3 pages (1 failed); 2 findings (1 high); baseline: 2 improved, "
        "1 regressed; budget: 2 violations",
        "FAIL (exit 3): over the budget in budget.toml: 2 violations",
    ]
    report["budget"] = {"file": "budget.toml", "passed": True, "violations": []}
    assert (
        verdict(report, 0)[-1]
        == "OK (exit 0): every page audited, within the budget in budget.toml"
    )


def test_ranking_and_baseline_print_the_sites_text_literally() -> None:
    report = make_report()
    report["findings"][1]["message"] = "[red]boom[/red]"
    report["findings"][1]["fix"]["code"] = "qs.filter(x='[b]')"
    report = ranked(report)
    old = make_report()
    report["pages"][1]["url"] = old["pages"][1]["url"] = "/[bold]x[/bold]/"
    report["baseline"] = compare(old, report, file="[i]old.json")

    output = render(report)

    assert "1. [red]boom[/red]" in output
    assert "fix: qs.filter(x='[b]') at" in output
    assert "Baseline: [i]old.json" in output
    assert line_starting(output[output.index("Baseline") :], "/[bold]x[/bold]/")


@pytest.mark.parametrize("width", [80, 100])
def test_the_added_sections_fit_the_console(width: int) -> None:
    report = baseline_report()
    report["findings"][1]["message"] = "a very long message " * 10
    report["budget"] = {"file": "b.toml", "violations": [{"message": "x" * 150}], "notes": []}

    output = render(ranked(report), width=width)

    # Violations are single lines for grep and CI logs: the one line allowed to be longer.
    assert [line for line in output.splitlines() if len(line) > width] == ["✗ " + "x" * 150]
