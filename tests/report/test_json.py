from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.test import Client

from pagedoctor.audit.analysis import analyze
from pagedoctor.audit.runner import audit_pages
from pagedoctor.diagnose.findings import Finding, Fix, Verification, Where
from pagedoctor.report.json import SCHEMA, TIMELINE_LIMIT, build_report, finding_data, write_json
from tests.testapp.models import Author, Book

pytestmark = pytest.mark.django_db

CONTRACT_PAGE_FIELDS = {
    "url", "status", "ms", "queries", "query_ms", "duplicate_queries",
    "cache_hits", "cache_misses", "bytes", "findings",
}  # fmt: skip


@pytest.fixture
def books() -> None:
    for i in range(3):
        Book.objects.create(title=f"b{i}", author=Author.objects.create(name=f"a{i}"))


def test_the_contract(books: None, tmp_path: Path) -> None:
    report = build_report(audit_pages(["/test/books/", "/test/boom/"], repeat=1, client=Client()))
    path = tmp_path / "report.json"
    write_json(report, path)
    data = json.loads(path.read_text())
    assert data["schema"] == SCHEMA == "pagedoctor.report/1"
    assert set(data["site"]) == {"settings", "database", "cache"}
    books_page, boom = data["pages"]
    assert set(books_page) >= CONTRACT_PAGE_FIELDS
    assert books_page["url"] == "/test/books/"
    assert books_page["status"] == 200
    assert books_page["queries"] == 4
    assert books_page["duplicate_queries"] == 0
    assert books_page["error"] is None
    assert boom["status"] == 500
    assert "ValueError: boom" in boom["error"]
    assert data["findings"] == []


def test_timeline_events_point_at_user_code(books: None) -> None:
    report = build_report(audit_pages(["/test/books/"], repeat=1))
    queries = [e for e in report["pages"][0]["timeline"] if e["kind"] == "query"]
    assert len(queries) == 4
    assert queries[0]["where"].startswith("tests/testapp/views.py:")
    assert queries[0]["where"].endswith(" in books")
    starts = [e["start_ms"] for e in report["pages"][0]["timeline"]]
    assert starts == sorted(starts)


def test_timeline_is_capped(books: None) -> None:
    for i in range(TIMELINE_LIMIT):
        Book.objects.create(title=f"x{i}", author=Author.objects.create(name=f"x{i}"))
    report = build_report(audit_pages(["/test/books/"], repeat=1))
    page = report["pages"][0]
    assert len(page["timeline"]) == TIMELINE_LIMIT
    assert page["timeline_dropped"] == page["queries"] - TIMELINE_LIMIT


def test_duplicate_queries_are_counted(books: None) -> None:
    report = build_report(audit_pages(["/test/books/"], repeat=1))
    assert report["pages"][0]["duplicate_queries"] == 0
    Book.objects.update(author=Author.objects.first())
    report = build_report(audit_pages(["/test/books/"], repeat=1))
    assert report["pages"][0]["duplicate_queries"] == 2


def test_finding_paths_are_relative() -> None:
    finding = Finding(
        kind="n_plus_one",
        severity="high",
        message="m",
        where=Where(file=__file__, line=3),
        pages=["/x/"],
        evidence={"count": 3},
        fix=Fix(summary="s", code="c", file=__file__, line=4),
        verified=Verification(
            queries_before=3, queries_after=1, ms_before=2.0, ms_after=1.0, same_output=True
        ),
        id="n_plus_one:1",
    )
    data = finding_data(finding)
    assert data["where"] == {"file": "tests/report/test_json.py", "line": 3}
    assert data["fix"]["file"] == "tests/report/test_json.py"
    assert data["verified"]["queries_after"] == 1
    json.dumps(data)


def test_the_ranking_is_an_added_field_over_the_reports_findings(
    books: None, tmp_path: Path
) -> None:
    result = audit_pages(["/test/books/"], repeat=1, client=Client())
    analyze(result)
    path = tmp_path / "report.json"
    write_json(build_report(result), path)
    data = json.loads(path.read_text())

    assert data["schema"] == "pagedoctor.report/1"
    assert set(data) == {
        "schema",
        "generated",
        "pagedoctor",
        "site",
        "pages",
        "findings",
        "ranking",
    }
    for entry in data["ranking"]:
        assert set(entry) == {
            "rank", "findings", "kind", "severity", "title", "pages", "saving", "fix", "where",
        }  # fmt: skip
        assert set(entry["saving"]) == {"ms", "basis", "total_ms", "how"}
    ranked = sorted(finding_id for entry in data["ranking"] for finding_id in entry["findings"])
    assert ranked == sorted(finding["id"] for finding in data["findings"])
    (entry,) = [entry for entry in data["ranking"] if entry["kind"] == "n_plus_one"]
    finding = next(f for f in data["findings"] if f["id"] == entry["findings"][0])
    assert entry["title"] == finding["message"] == "Book.author is loaded once per book (3 queries)"
    assert entry["pages"] == ["/test/books/"]
    assert entry["fix"] == 'Book.objects.select_related("author") at tests/testapp/views.py:16'


def test_a_report_without_findings_ranks_nothing() -> None:
    assert build_report(audit_pages([], repeat=1))["ranking"] == []


@pytest.mark.django_db(transaction=True)  # TestCase never commits: nothing would be stored
def test_a_page_reports_what_pagedoctors_caches_did() -> None:
    from django.test import override_settings

    from pagedoctor.demo.shop.seed import seed

    seed(products=10)
    with override_settings(ROOT_URLCONF="pagedoctor.demo.urls"):
        report = build_report(audit_pages(["/fixed/team/", "/team/"], repeat=2))
    fixed, slow = report["pages"]
    assert fixed["treatments"]["default"]["hits"] >= 3  # menu, footer, team: all from the cache
    assert fixed["treatments"]["default"]["misses"] == 0
    assert slow["treatments"] == {}
