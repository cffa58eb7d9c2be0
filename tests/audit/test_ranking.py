from __future__ import annotations

import copy
from typing import Any

import pytest
from django.test import Client, override_settings

from pagedoctor.audit.analysis import analyze
from pagedoctor.audit.command import audit_overrides
from pagedoctor.audit.ranking import fix_line, rank, root_cause, saving
from pagedoctor.audit.runner import audit_pages
from pagedoctor.demo.shop.seed import seed
from pagedoctor.report.json import build_report
from tests.report import make_report

TOPPINGS_SQL = 'SELECT "shop_topping"."id" FROM "shop_topping" WHERE "pizza_id" = %s'


def finding(id: str, **fields: Any) -> dict[str, Any]:
    """Return a finding as the report holds it, with no fix, verification or evidence."""
    data: dict[str, Any] = {
        "id": id,
        "kind": id.split(":")[0],
        "severity": "high",
        "message": f"message of {id}",
        "where": {"file": "shop/views.py", "line": int(id.split(":")[1])},
        "pages": ["/a/"],
        "evidence": {},
        "fix": None,
        "verified": None,
    }
    data.update(fields)
    return data


def query(sql: str, ms: float) -> dict[str, Any]:
    return {"kind": "query", "start_ms": 0.0, "ms": ms, "text": sql, "where": None}


def page(url: str, *timeline: dict[str, Any], **fields: Any) -> dict[str, Any]:
    data = {"url": url, "status": 200, "ms": 50.0, "query_ms": 0.0, "timeline": list(timeline)}
    data.update(fields)
    return data


FIX = {"summary": "prefetch", "code": 'Pizza.objects.prefetch_related("toppings")'}
VERIFIED = {
    "queries_before": 101,
    "queries_after": 2,
    "ms_before": 41.2,
    "ms_after": 6.3,
    "same_output": True,
}


def test_a_verified_fix_saves_what_was_measured() -> None:
    entry = rank(make_report())[0]

    assert entry == {
        "rank": 1,
        "findings": ["n_plus_one:1"],
        "kind": "n_plus_one",
        "severity": "high",
        "title": "Pizza.toppings is loaded once per pizza (100 queries)",
        "pages": ["/pizzas/"],
        "saving": {
            "ms": 34.9,
            "basis": "verified",
            "total_ms": 34.9,
            "how": "measured with the fix applied: 41.2 → 6.3 ms",
        },
        "fix": 'Pizza.objects.prefetch_related("toppings") at pagedoctor/demo/shop/views.py:14',
        "where": "pagedoctor/demo/shop/templates/shop/pizza_list.html:7",
    }


def test_an_unverified_n_plus_one_is_estimated_from_its_queries_but_one() -> None:
    report = {
        "pages": [page("/a/", *[query(TOPPINGS_SQL, 2.0)] * 4, query("SELECT 1", 9.0))],
        "findings": [finding("n_plus_one:1", evidence={"sql": TOPPINGS_SQL})],
    }

    saved = rank(report)[0]["saving"]

    assert (saved["ms"], saved["basis"]) == (6.0, "estimated")
    assert "lower bound" in saved["how"]


def test_an_estimate_is_the_mean_over_the_pages_it_is_on() -> None:
    report = {
        "pages": [
            page("/a/", query("SELECT COUNT(*) FROM t", 2.0)),
            page("/b/", query("SELECT COUNT(*) FROM t", 4.0)),
        ],
        "findings": [
            finding(
                "large_count:1", pages=["/a/", "/b/"], evidence={"sql": "SELECT COUNT(*) FROM t"}
            )
        ],
    }

    saved = rank(report)[0]["saving"]

    assert (saved["ms"], saved["total_ms"], saved["basis"]) == (3.0, 6.0, "estimated")


def test_an_unbounded_query_counts_the_time_spent_on_its_rows_as_at_most() -> None:
    sql = "SELECT * FROM shop_product"
    report = {
        "pages": [
            page(
                "/report/",
                query(sql, 1.0),
                ms=1100.0,
                query_ms=1.5,
                template_ms=3.0,
                cache_ms=0.5,
            )
        ],
        "findings": [finding("unbounded_query:1", pages=["/report/"], evidence={"sql": sql})],
    }

    saved = rank(report)[0]["saving"]

    assert saved["ms"] == pytest.approx(1.0 + 1100.0 - 5.0)
    assert saved["how"].startswith("at most")


def test_a_duplicate_saves_all_its_runs_but_one() -> None:
    report = {
        "pages": [page("/a/")],
        "findings": [finding("duplicate_query:1", evidence={"count": 3, "ms": 9.0, "sql": "S"})],
    }

    assert rank(report)[0]["saving"]["ms"] == 6.0


def test_a_withdrawn_fix_is_not_counted_as_verified() -> None:
    report = {
        "pages": [page("/a/", query(TOPPINGS_SQL, 1.0), query(TOPPINGS_SQL, 1.0))],
        "findings": [
            finding("n_plus_one:1", evidence={"sql": TOPPINGS_SQL}, verified=VERIFIED, fix=None)
        ],
    }

    entry = rank(report)[0]

    assert entry["saving"]["basis"] == "estimated"
    assert entry["saving"]["ms"] == 1.0
    assert entry["fix"] is None


def test_nothing_to_estimate_from_is_unknown_and_ranked_last_by_severity() -> None:
    report = {
        "pages": [page("/a/", query("SELECT 1", 1.0))],
        "findings": [
            finding("slow_query:1", severity="low"),
            finding("http_caching:2", severity="medium"),
            finding("large_count:3", evidence={"sql": "SELECT 1"}),
        ],
    }

    ranking = rank(report)

    assert [e["findings"] for e in ranking] == [
        ["large_count:3"],
        ["http_caching:2"],
        ["slow_query:1"],
    ]
    assert ranking[2]["saving"] == {
        "ms": None,
        "basis": "unknown",
        "total_ms": None,
        "how": "nothing recorded to estimate it from",
    }


def test_time_saved_on_every_page_outranks_a_bigger_saving_on_one_page() -> None:
    one_page = {**VERIFIED, "ms_before": 30.0, "ms_after": 5.0}  # 25 ms on one page
    three_pages = {**VERIFIED, "ms_before": 15.0, "ms_after": 5.0}  # 10 ms on each of three
    fix_two = {**FIX, "file": "shop/views.py", "line": 2}
    report = {
        "pages": [page("/a/"), page("/b/"), page("/c/")],
        "findings": [
            finding("n_plus_one:1", verified=one_page, fix={**FIX, "file": "v.py", "line": 1}),
            finding("n_plus_one:2", verified=three_pages, fix=fix_two, pages=["/a/", "/b/", "/c/"]),
        ],
    }

    ranking = rank(report)

    assert [(e["rank"], e["findings"], e["saving"]["total_ms"]) for e in ranking] == [
        (1, ["n_plus_one:2"], 30.0),
        (2, ["n_plus_one:1"], 25.0),
    ]


def test_findings_one_edit_fixes_are_one_group_on_all_their_pages() -> None:
    fix = {**FIX, "file": "shop/views.py", "line": 14}
    report = {
        "pages": [page("/a/"), page("/b/")],
        "findings": [
            finding("n_plus_one:1", fix=fix, verified=VERIFIED, pages=["/a/"]),
            finding("n_plus_one:2", fix=fix, pages=["/b/"], where={"file": "t.html", "line": 9}),
            finding("n_plus_one:3", fix={**fix, "line": 15}, verified=VERIFIED, pages=["/b/"]),
        ],
    }

    ranking = rank(report)

    assert [(e["findings"], e["pages"]) for e in ranking] == [
        (["n_plus_one:1", "n_plus_one:2"], ["/a/", "/b/"]),
        (["n_plus_one:3"], ["/b/"]),
    ]
    assert ranking[0]["saving"]["total_ms"] == pytest.approx(2 * 34.9)


def test_without_a_fix_the_same_statement_from_the_same_place_is_one_cause() -> None:
    same = {"where": {"file": "v.py", "line": 3}, "evidence": {"sql": "SELECT 1"}}
    assert root_cause(finding("slow_query:1", **same)) == root_cause(
        finding("slow_query:2", **same)
    )
    assert root_cause(finding("slow_query:1", **same)) != root_cause(
        finding("slow_query:2", where={"file": "v.py", "line": 4}, evidence={"sql": "SELECT 1"})
    )
    # Nothing to tell them apart by: two problems, not one.
    bare = {"where": None, "evidence": {}}
    assert root_cause(finding("x:1", **bare)) != root_cause(finding("x:2", **bare))


def test_a_missing_index_says_its_saving_is_one_run_of_the_query() -> None:
    index = {**VERIFIED, "queries_before": 4, "queries_after": 4, "ms_before": 7.7, "ms_after": 0.2}
    found = finding("missing_index:1", verified=index, fix={**FIX, "file": "m.py", "line": 2})

    saved = saving(found, {})

    assert (saved.ms, saved.basis) == (7.5, "verified")
    assert saved.how.endswith("(one run of the query)")


CACHED_PROPERTY = "@cached_property\ndef f(self): ..."


@pytest.mark.parametrize(
    ("fix", "where", "line"),
    [
        (None, "v.py:3", None),
        ({"summary": "s", "code": "qs.x()", "file": "v.py", "line": 3}, None, "qs.x() at v.py:3"),
        ({"summary": "cache it", "code": CACHED_PROPERTY}, "m.py:9", "cache it at m.py:9"),
        ({"summary": "paginate", "code": None, "file": None, "line": None}, None, "paginate"),
    ],
)  # fmt: skip
def test_fix_line(fix: dict[str, Any] | None, where: str | None, line: str | None) -> None:
    assert fix_line(fix, where) == line


def test_ranking_reads_only_the_report_and_leaves_it_unchanged() -> None:
    report = make_report()
    before = copy.deepcopy(report)

    rank(report)

    assert report == before


@pytest.mark.django_db(transaction=True)
def test_the_demo_pizza_pages_rank_every_finding_once_by_total_saving() -> None:
    seed(products=2_000)
    with override_settings(**audit_overrides()):
        result = audit_pages(["/pizzas/", "/async/pizzas/"], repeat=2, client=Client())
        analyze(result)
    report = build_report(result)
    ranking = report["ranking"]

    grouped = [finding_id for entry in ranking for finding_id in entry["findings"]]
    assert sorted(grouped) == sorted(f["id"] for f in report["findings"])
    assert [entry["rank"] for entry in ranking] == list(range(1, len(ranking) + 1))
    totals = [e["saving"]["total_ms"] for e in ranking if e["saving"]["total_ms"] is not None]
    assert totals == sorted(totals, reverse=True)
    findings = {f["id"]: f for f in report["findings"]}
    verified = [e for e in ranking if e["saving"]["basis"] == "verified"]
    assert {e["kind"] for e in verified} >= {"n_plus_one"}
    for entry in verified:
        measured = findings[entry["findings"][0]]["verified"]
        saved = max(0.0, measured["ms_before"] - measured["ms_after"])
        assert entry["saving"]["ms"] == pytest.approx(saved, abs=0.051)
    assert all(e["fix"].startswith("Pizza.objects.") for e in verified if e["kind"] == "n_plus_one")
