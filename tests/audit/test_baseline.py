from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, override_settings

from pagedoctor.audit.analysis import analyze
from pagedoctor.audit.baseline import baseline_url, compare, load_baseline, ms_change, parse_map
from pagedoctor.audit.budget import parse_budget
from pagedoctor.audit.command import audit_overrides
from pagedoctor.audit.runner import audit_pages
from pagedoctor.cli import build_parser, run
from pagedoctor.demo.shop.seed import seed
from pagedoctor.exceptions import AuditError
from pagedoctor.report.json import build_report
from tests.report import make_report

# The demo's slow pages, each beside its fixed twin under /fixed/.
SLOW = [
    "/",
    "/products/product-1/",
    "/pizzas/",
    "/flowers/rose/",
    "/team/",
    "/report/",
    "/orders/1001/thanks/",
]
FIXED = ["/fixed" + url for url in SLOW]


@pytest.mark.parametrize(
    ("before", "after", "change"),
    [
        (100.0, 119.0, "same"),  # +19%: under 20%
        (100.0, 121.0, "regressed"),
        (100.0, 79.0, "improved"),
        (10.0, 14.9, "same"),  # +49%, but under 5 ms
        (10.0, 15.0, "regressed"),
        (10.0, 5.0, "improved"),
        (None, 15.0, "same"),  # nothing to compare with
    ],
)
def test_time_changes_count_only_above_the_noise(
    before: float | None, after: float, change: str
) -> None:
    assert ms_change(before, after) == change


def changed(**pages: dict[str, Any]) -> dict[str, Any]:
    """Return ``make_report()`` with the named pages' fields changed (keys: URLs, / as _)."""
    report = make_report()
    for page in report["pages"]:
        page.update(pages.get(page["url"].strip("/").replace("/", "_") or "_", {}))
    return report


def test_an_identical_run_is_the_same_everywhere() -> None:
    comparison = compare(make_report(), make_report(), file="old.json")

    assert [(p["url"], p["verdict"]) for p in comparison["pages"]] == [
        ("/pizzas/", "same"),
        ("/pizzas/margherita/", "same"),
        ("/checkout/", "same"),
    ]
    assert (comparison["improved"], comparison["regressed"], comparison["same"]) == (0, 0, 3)
    assert comparison["file"] == "old.json"
    assert comparison["generated"] == "2026-11-26T07:30:00+00:00"


def test_more_queries_are_a_regression_however_few() -> None:
    new = changed(pizzas_margherita={"queries": 8, "ms": 12.9})

    page = compare(make_report(), new, file="old.json")["pages"][1]

    assert page == {
        "url": "/pizzas/margherita/",
        "baseline_url": "/pizzas/margherita/",
        "status": {"before": 200, "after": 200, "change": "same"},
        "queries": {"before": 7, "after": 8, "change": "regressed"},
        "ms": {"before": 12.6, "after": 12.9, "change": "same"},
        "new_kinds": [],
        "fixed_kinds": [],
        "regressions": ["queries 7 → 8"],
        "verdict": "regressed",
    }


def test_fewer_queries_and_less_time_and_a_fixed_finding_are_improvements() -> None:
    new = changed(pizzas={"queries": 2, "ms": 6.3, "findings": []})

    comparison = compare(make_report(), new, file="old.json")
    page = comparison["pages"][0]

    assert (page["queries"]["change"], page["ms"]["change"]) == ("improved", "improved")
    assert page["fixed_kinds"] == ["n_plus_one"]
    assert page["verdict"] == "improved"
    assert comparison["fixed_kinds"] == ["n_plus_one"]
    assert comparison["improved"] == 1


def test_a_failing_page_is_a_regression_even_if_faster() -> None:
    new = changed(pizzas={"status": 500, "ms": 2.0}, checkout={"status": 200, "error": None})

    pages = compare(make_report(), new, file="old.json")["pages"]

    assert pages[0]["regressions"] == ["status 200 → 500"]
    assert (pages[0]["ms"]["change"], pages[0]["verdict"]) == ("improved", "regressed")
    assert (pages[2]["status"]["change"], pages[2]["verdict"]) == ("improved", "improved")


def test_finding_kinds_that_come_and_go_are_listed_not_judged() -> None:
    # A newer pagedoctor finds new kinds on an unchanged page: that is no regression of the site.
    new = changed(pizzas={"findings": ["duplicate_query:1"]})

    comparison = compare(make_report(), new, file="old.json")
    page = comparison["pages"][0]

    assert (page["new_kinds"], page["fixed_kinds"]) == (["duplicate_query"], ["n_plus_one"])
    assert (page["regressions"], page["verdict"]) == ([], "same")
    assert (comparison["new_kinds"], comparison["fixed_kinds"]) == (
        ["duplicate_query"],
        ["n_plus_one"],
    )


def test_a_budget_can_set_the_noise_for_time() -> None:
    new = changed(pizzas={"ms": 45.0})  # +3.8 ms, +9%
    budget = parse_budget("noise_percent = 5\nnoise_ms = 1\n", source="b")

    default = compare(make_report(), new, file="old.json")
    strict = compare(make_report(), new, file="old.json", noise=budget.noise)

    assert default["pages"][0]["ms"]["change"] == "same"
    assert strict["pages"][0]["ms"]["change"] == "regressed"
    assert strict["noise"] == {"ms_percent": 5.0, "ms": 1.0}
    with pytest.raises(AuditError, match=r"b, line 1: noise_ms must be a number of at least 0"):
        parse_budget("noise_ms = -1", source="b")


def test_pages_are_paired_by_url_and_the_unpaired_are_listed() -> None:
    new = make_report()
    new["pages"][2]["url"] = "/basket/"

    comparison = compare(make_report(), new, file="old.json")

    assert [p["url"] for p in comparison["pages"]] == ["/pizzas/", "/pizzas/margherita/"]
    assert comparison["only_in_run"] == ["/basket/"]
    assert comparison["only_in_baseline"] == ["/checkout/"]


def test_a_url_map_pairs_pages_under_one_prefix_with_another() -> None:
    url_map = parse_map(["/fixed/=/", "/v2/=/v1/"])

    assert url_map == [("/fixed/", "/"), ("/v2/", "/v1/")]
    assert baseline_url("/fixed/pizzas/", url_map) == "/pizzas/"
    assert baseline_url("/v2/shop/?q=1", url_map) == "/v1/shop/?q=1"
    assert baseline_url("/team/", url_map) == "/team/"
    new = make_report()
    new["pages"][0]["url"] = "/fixed/pizzas/"
    comparison = compare(make_report(), new, file="old.json", url_map=url_map)
    assert comparison["pages"][0]["baseline_url"] == "/pizzas/"
    assert comparison["map"] == [{"new": "/fixed/", "old": "/"}, {"new": "/v2/", "old": "/v1/"}]


@pytest.mark.parametrize("item", ["/fixed/", "fixed/=/", "/fixed/=", "=/"])
def test_a_malformed_map_says_what_it_should_look_like(item: str) -> None:
    with pytest.raises(AuditError, match=r"is not NEW=OLD with two URL prefixes; e\.g\. "):
        parse_map([item])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, r"cannot read the baseline '.*old\.json' \(No such file or directory\); pass a "),
        ('{"schema": ', r"is not JSON \(line 1, column 12: Expecting value\); pass a report"),
        ('{"schema": "other/2", "pages": []}', r"is not a pagedoctor\.report/1 report \(its "),
        ("[1, 2]", r"its schema is None\); pass a report written by `pagedoctor audit --json"),
        ('{"schema": "pagedoctor.report/1"}', r"has no pages list; write it again with --json"),
    ],
)
def test_an_unusable_baseline_says_why(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "old.json"
    if content is not None:
        path.write_text(content)

    with pytest.raises(AuditError, match=message):
        load_baseline(str(path))


def audit_report(urls: list[str]) -> dict[str, Any]:
    with override_settings(**audit_overrides()):
        result = audit_pages(urls, repeat=2, client=Client())
        analyze(result)
    return build_report(result)


@pytest.mark.django_db(transaction=True)
def test_the_demos_fixed_twins_improve_on_its_slow_pages() -> None:
    seed(products=2_000)
    slow, fixed = audit_report(SLOW), audit_report(FIXED)

    comparison = compare(slow, fixed, file="slow.json", url_map=parse_map(["/fixed/=/"]))

    assert comparison["only_in_run"] == comparison["only_in_baseline"] == []
    assert [(p["url"], p["baseline_url"]) for p in comparison["pages"]] == list(
        zip(FIXED, SLOW, strict=True)
    )
    # Query counts are exact, so every twin must show its improvement; times are left to noise.
    for page in comparison["pages"]:
        assert page["queries"]["after"] < page["queries"]["before"], page["url"]
        assert page["queries"]["change"] == "improved"
    assert {"n_plus_one", "duplicate_query", "unbounded_query"} <= set(comparison["fixed_kinds"])
    assert comparison["regressed"] + comparison["improved"] + comparison["same"] == len(SLOW)


def audit(*args: str) -> tuple[int, str]:
    options = vars(build_parser().parse_args(["audit", "--repeat", "1", *args]))
    out = io.StringIO()
    return run(options, stdout=out), out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_undoing_the_fixes_fails_a_run_that_fails_on_regression(tmp_path: Path) -> None:
    seed(products=500)
    old, new = tmp_path / "fixed.json", tmp_path / "slow.json"
    budget = tmp_path / "budget.toml"
    budget.write_text("fail_on_regression = true\n")
    # Twice, so that the fixed pages' caches are warm, as on a busy site.
    status, out = audit("/fixed/pizzas/", "/fixed/team/", "--repeat", "2", "--json", str(old), "-q")
    assert (status, out.splitlines()[-1]) == (0, "OK (exit 0): every page audited")

    # The slow pages against the fixed twins: as if a change had undone the fixes.
    status, out = audit(
        "/pizzas/",
        "/team/",
        *("--baseline", str(old), "--baseline-map", "/=/fixed/", "--budget", str(budget)),
        *("--json", str(new)),
    )

    assert status == 3
    assert "Baseline: " in out
    assert "/pizzas/ ← /fixed/pizzas/" in out
    assert "✗ /team/ regressed against the baseline: queries 0 → 3" in out
    assert re.search(r"^new finding kinds: .*\bn_plus_one\b.*; fixed: ", out, re.MULTILINE)
    assert "FAIL (exit 3): over the budget in" in out
    report = json.loads(new.read_text())
    assert report["baseline"]["regressed"] == 2
    assert report["baseline"]["map"] == [{"new": "/", "old": "/fixed/"}]
    assert [v["rule"] for v in report["budget"]["violations"]] == ["fail_on_regression"] * 2


@pytest.mark.django_db(transaction=True)
def test_quiet_prints_regressions_once_even_without_a_budget(tmp_path: Path) -> None:
    seed(products=500)
    old = tmp_path / "fixed.json"
    audit("/fixed/team/", "--repeat", "2", "--json", str(old), "--quiet")

    status, out = audit("/team/", "--baseline", str(old), "--baseline-map", "/=/fixed/", "-q")

    assert status == 0  # regressions fail a run only when the budget says so
    assert out.splitlines()[0].startswith("✗ /team/ regressed: queries 0 → 3")  # and ms, if noisy
    assert out.count("regressed:") == 1
    assert "pagedoctor: 1 page (0 failed); " in out
    assert "baseline: 0 improved, 1 regressed" in out


def test_a_map_without_a_baseline_is_a_usage_error() -> None:
    with pytest.raises(AuditError, match=r"pass --baseline OLD\.json too"):
        audit("/team/", "--baseline-map", "/=/fixed/")
