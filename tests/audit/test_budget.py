from __future__ import annotations

import copy
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from pagedoctor.audit.budget import (
    EXIT_OK,
    EXIT_OVER_BUDGET,
    EXIT_PAGE_ERRORS,
    Budget,
    Gate,
    PageBudget,
    check_budget,
    compile_pattern,
    exit_status,
    judge,
    load_budget,
    parse_budget,
)
from pagedoctor.cli import build_parser, run
from pagedoctor.exceptions import AuditError
from tests.report import make_report
from tests.testapp.models import Author, Book

BUDGET = """\
fail_on = ["n_plus_one"]
fail_on_regression = true

[pages."/pizzas/"]
max_queries = 10

[pages."/products/<slug>/"]
max_queries = 12
max_ms = 150

[pages."**"]
max_ms = 500.5
"""


def test_a_budget_file_is_read_in_file_order(tmp_path: Path) -> None:
    path = tmp_path / "budget.toml"
    path.write_text(BUDGET)

    assert load_budget(str(path)) == Budget(
        source=str(path),
        pages=(
            PageBudget("/pizzas/", max_queries=10),
            PageBudget("/products/<slug>/", max_queries=12, max_ms=150.0),
            PageBudget("**", max_ms=500.5),
        ),
        fail_on=("n_plus_one",),
        fail_on_regression=True,
    )


@pytest.mark.parametrize(
    ("pattern", "url", "matches"),
    [
        ("/pizzas/", "/pizzas/", True),
        ("/pizzas/", "/pizzas/margherita/", False),
        ("/pizzas/", "/pizzas/?page=2", True),  # the query string is not part of the path
        ("/products/<slug>/", "/products/lamp-3/", True),
        ("/products/<slug:slug>/", "/products/lamp-3/", True),
        ("/products/<slug>/", "/products/a/b/", False),
        ("/products/<slug>/", "/products//", False),
        ("/files/<path:rest>", "/files/a/b/c.txt", True),
        ("/blog/*/", "/blog/2026/", True),
        ("/blog/*/", "/blog/2026/11/", False),
        ("/blog/**", "/blog/2026/11/", True),
        ("**", "/anything/at/all/", True),
        ("/a.b/", "/axb/", False),  # a dot is literal, not a regular-expression wildcard
        ("/fixed/*", "/fixed/pizzas/", False),
    ],
)
def test_patterns_match_whole_paths_segment_by_segment(
    pattern: str, url: str, matches: bool
) -> None:
    assert PageBudget(pattern, max_queries=1).matches(url) is matches
    assert compile_pattern(pattern).pattern  # compiled once, cached


def test_the_first_matching_pattern_is_the_pages_budget() -> None:
    budget = parse_budget(BUDGET, source="b.toml")

    assert budget.for_url("/pizzas/") == PageBudget("/pizzas/", max_queries=10)
    assert budget.for_url("/team/") == PageBudget("**", max_ms=500.5)
    assert parse_budget('[pages."/x/"]\nmax_ms = 1', source="b").for_url("/y/") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'fail_on = ["n_plus_one"\n',
            "b.toml is not valid TOML: ",
        ),
        (
            "[pages./pizzas/]\nmax_queries = 3\n",
            "(at line 1, column 8); fix the file there "
            '(URL patterns are quoted: [pages."/pizzas/"])',
        ),
        (
            "fail_on_regresion = true\n",
            "b.toml, line 1: fail_on_regresion is not a budget key; "
            "did you mean 'fail_on_regression'?",
        ),
        (
            '[pages."/x/"]\nmax_ms = 3\nmax_querys = 1\n',
            'b.toml, line 3: pages."/x/".max_querys is not a budget key; '
            "did you mean 'max_queries'?",
        ),
        (
            '[pages."/x/"]\nmax_queries = "ten"\n',
            'b.toml, line 2: pages."/x/".max_queries must be a whole number of at least 0, '
            "got 'ten': max_queries = 10",
        ),
        (
            '[pages."/x/"]\nmax_queries = -1\n',
            "line 2: pages.\"/x/\".max_queries must be a whole number of at least 0, got -1",
        ),
        (
            '[pages."/x/"]\nmax_queries = true\n',
            "got True",
        ),
        (
            '\n[pages."/x/"]\nmax_ms = 0\n',
            'b.toml, line 3: pages."/x/".max_ms must be a number of milliseconds above 0, '
            "got 0: max_ms = 250",
        ),
        (
            '[pages."pizzas/"]\nmax_ms = 10\n',
            'b.toml, line 1: pages."pizzas/" is not a path pattern; '
            "start it with '/' (\"/pizzas/\") or use \"**\" for all",
        ),
        (
            '[pages."/x/"]\n',
            'b.toml, line 1: pages."/x/" sets no limit; add max_queries or max_ms',
        ),
        (
            'pages = ["/x/"]\n',
            'b.toml, line 1: pages must be tables, one per URL pattern: [pages."/pizzas/"]',
        ),
        (
            'fail_on = ["n_plus_1"]\n',
            "b.toml, line 1: fail_on names an unknown finding kind 'n_plus_1'; "
            "did you mean 'n_plus_one'?",
        ),
        (
            'fail_on = ["zzz"]\n',
            "fail_on names an unknown finding kind 'zzz'; known kinds: blocking_call, ",
        ),
        (
            'fail_on = "n_plus_one"\n',
            'b.toml, line 1: fail_on must be a list of finding kinds: fail_on = ["n_plus_one"]',
        ),
        (
            'fail_on_regression = "yes"\n',
            "b.toml, line 1: fail_on_regression must be true or false, got 'yes': "
            "fail_on_regression = true",
        ),
    ],
)  # fmt: skip
def test_a_bad_budget_names_the_line_the_key_and_the_fix(text: str, message: str) -> None:
    with pytest.raises(AuditError) as raised:
        parse_budget(text, source="b.toml")

    assert message in str(raised.value)


def test_a_missing_budget_file_says_what_to_pass(tmp_path: Path) -> None:
    with pytest.raises(AuditError, match=r"cannot read the budget file '.*nope.toml' \("):
        load_budget(str(tmp_path / "nope.toml"))


def test_pages_over_their_limits_are_violations() -> None:
    budget = parse_budget(
        '[pages."/pizzas/"]\nmax_queries = 100\nmax_ms = 40\n[pages."**"]\nmax_queries = 5\n',
        source="b.toml",
    )

    checked = check_budget(budget, make_report(), baseline_given=False)

    assert checked["passed"] is False
    assert [(v["rule"], v["url"], v["limit"], v["actual"]) for v in checked["violations"]] == [
        ("max_queries", "/pizzas/", 100, 101),
        ("max_ms", "/pizzas/", 40.0, 41.2),
        ("max_queries", "/pizzas/margherita/", 5, 7),
    ]
    assert checked["violations"][1]["message"] == (
        "/pizzas/: 41.2 ms, over the budget of 40 ms for /pizzas/"
    )
    assert checked["violations"][2]["pattern"] == "**"


def test_limits_are_inclusive() -> None:
    budget = parse_budget('[pages."/pizzas/"]\nmax_queries = 101\nmax_ms = 41.2\n', source="b")

    assert check_budget(budget, make_report(), baseline_given=False) == {
        "file": "b",
        "passed": True,
        "violations": [],
        "notes": [],
    }


def test_findings_of_a_failing_kind_are_violations() -> None:
    budget = parse_budget('fail_on = ["n_plus_one", "missing_index"]', source="b")

    violations = check_budget(budget, make_report(), baseline_given=False)["violations"]

    assert [(v["rule"], v["findings"]) for v in violations] == [("fail_on", ["n_plus_one:1"])]
    assert violations[0]["message"] == (
        "n_plus_one (n_plus_one:1) on /pizzas/: "
        "Pizza.toppings is loaded once per pizza (100 queries)"
    )


def test_regressions_fail_only_with_fail_on_regression_and_a_baseline() -> None:
    report = make_report()
    report["baseline"] = {
        "pages": [
            {"url": "/pizzas/", "verdict": "regressed", "regressions": ["queries 2 → 101"]},
            {"url": "/pizzas/margherita/", "verdict": "improved", "regressions": []},
        ]
    }
    strict = parse_budget("fail_on_regression = true", source="b")
    lenient = parse_budget("fail_on_regression = false", source="b")

    checked = check_budget(strict, report, baseline_given=True)
    assert [v["message"] for v in checked["violations"]] == [
        "/pizzas/ regressed against the baseline: queries 2 → 101"
    ]
    assert check_budget(lenient, report, baseline_given=True)["passed"] is True
    unchecked = check_budget(strict, make_report(), baseline_given=False)
    assert unchecked["passed"] is True
    assert unchecked["notes"] == [
        "fail_on_regression is set but no --baseline was given: regressions not checked"
    ]


def test_exit_status_puts_failed_pages_before_the_budget() -> None:
    report = make_report()
    report["pages"] = report["pages"][:2]
    assert exit_status(report) == EXIT_OK
    report["budget"] = {"passed": False, "violations": [{}]}
    assert exit_status(report) == EXIT_OVER_BUDGET
    report["pages"] = make_report()["pages"]  # /checkout/ raised
    assert exit_status(report) == EXIT_PAGE_ERRORS
    report["pages"][2].update(error=None, status=404)  # a 404 is an answer, not a failure
    assert exit_status(report) == EXIT_OVER_BUDGET


def audit(*args: str) -> tuple[int, str]:
    """Run ``pagedoctor audit`` in this process, as the console script would."""
    options = vars(build_parser().parse_args(["audit", "--repeat", "1", *args]))
    out = io.StringIO()
    status = run(options, stdout=out)
    return status, out.getvalue()


@pytest.fixture
def books() -> None:
    for i in range(3):
        Book.objects.create(title=f"b{i}", author=Author.objects.create(name=f"a{i}"))


@pytest.mark.django_db(transaction=True)
def test_an_audit_over_budget_exits_3_and_prints_each_violation(
    books: None, tmp_path: Path
) -> None:
    budget = tmp_path / "budget.toml"
    budget.write_text('fail_on = ["n_plus_one"]\n[pages."/test/<name>/"]\nmax_queries = 2\n')

    status, out = audit("/test/books/", "--budget", str(budget), "--json", str(tmp_path / "r.json"))

    assert status == EXIT_OVER_BUDGET == 3
    assert "✗ /test/books/: 4 queries, over the budget of 2 queries for /test/<name>/" in out
    assert "✗ n_plus_one (n_plus_one:1) on /test/books/: " in out
    assert f"FAIL (exit 3): over the budget in {budget}: 2 violations" in out
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["schema"] == "pagedoctor.report/1"
    assert report["budget"]["passed"] is False
    assert [v["rule"] for v in report["budget"]["violations"]] == ["max_queries", "fail_on"]


@pytest.mark.django_db(transaction=True)
def test_an_audit_within_budget_exits_0(books: None, tmp_path: Path) -> None:
    budget = tmp_path / "budget.toml"
    budget.write_text('[pages."**"]\nmax_queries = 4\n')

    status, out = audit("/test/books/", "--budget", str(budget))

    assert status == EXIT_OK
    assert out.rstrip().endswith(f"OK (exit 0): every page audited, within the budget in {budget}")


@pytest.mark.django_db(transaction=True)
def test_quiet_prints_only_problems_and_the_verdict(books: None, tmp_path: Path) -> None:
    budget = tmp_path / "budget.toml"
    budget.write_text('[pages."/test/books/"]\nmax_queries = 3\n')

    status, out = audit("/test/books/", "/test/boom/", "--budget", str(budget), "--quiet")

    assert status == EXIT_PAGE_ERRORS
    lines = out.splitlines()
    assert lines[:3] == [
        "✗ /test/boom/ answered 500: ValueError: boom",
        "✗ /test/books/: 4 queries, over the budget of 3 queries for /test/books/",
        "",
    ]
    # How many findings depends on the analyzers; the line's shape does not.
    assert re.fullmatch(
        r"pagedoctor: 2 pages \(1 failed\); \d+ findings? \(\d+ high\); budget: 1 violation",
        lines[3],
    )
    assert lines[4:] == ["FAIL (exit 1): 1 page could not be audited: /test/boom/"]
    assert "\x1b[" not in out


@pytest.mark.django_db(transaction=True)
def test_manage_py_passes_the_budget_exit_status_on(books: None, tmp_path: Path) -> None:
    budget = tmp_path / "budget.toml"
    budget.write_text('[pages."/test/books/"]\nmax_queries = 3\n')

    with pytest.raises(CommandError) as raised:
        call_command("pagedoctor", "audit", "/test/books/", "--budget", str(budget), "--quiet")

    assert raised.value.returncode == 3


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env: dict[str, Any] = {
        **os.environ,
        "PAGEDOCTOR_DEMO_SQLITE": str(cwd / "demo.sqlite3"),
        "DJANGO_SETTINGS_MODULE": "",
    }
    return subprocess.run(
        [sys.executable, "-m", "pagedoctor", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
    )


def test_a_bad_budget_stops_the_console_script_with_exit_2_before_any_request(
    tmp_path: Path,
) -> None:
    (tmp_path / "budget.toml").write_text('[pages."/x/"]\nmax_ms = "fast"\n')

    result = run_cli("audit", "--budget", "budget.toml", cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr == (
        'pagedoctor: error: budget.toml, line 2: pages."/x/".max_ms must be a number of '
        "milliseconds above 0, got 'fast': max_ms = 250\n"
    )
    assert result.stdout == ""  # not even "Preparing the demo shop"


def test_judging_compares_with_the_budgets_noise_and_fails_on_regressions() -> None:
    old, new = make_report(), make_report()
    new["pages"] = new["pages"][:2]
    new["pages"][0]["ms"] = 45.0  # +3.8 ms: noise by default, a regression with noise_ms = 1
    budget = parse_budget(
        "fail_on_regression = true\nnoise_ms = 1\nnoise_percent = 5\n", source="b.toml"
    )

    lenient = judge(copy.deepcopy(new), Gate(baseline=old, baseline_file="old.json"))
    status = judge(new, Gate(budget=budget, baseline=old, baseline_file="old.json"))

    assert lenient == EXIT_OK
    assert status == EXIT_OVER_BUDGET
    assert new["baseline"]["pages"][0]["regressions"] == ["ms 41.2 → 45"]
    assert [v["message"] for v in new["budget"]["violations"]] == [
        "/pizzas/ regressed against the baseline: ms 41.2 → 45"
    ]
