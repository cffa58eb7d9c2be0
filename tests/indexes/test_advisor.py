from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from pagedoctor.audit.analysis import analyze
from pagedoctor.audit.runner import audit_pages
from pagedoctor.capture.recording import Recording, record
from pagedoctor.demo.shop.seed import seed
from pagedoctor.indexes.advisor import Advisor, advise, analyze_indexes
from pagedoctor.indexes.statements import is_single_select
from pagedoctor.report.json import finding_data
from tests.indexes.conftest import GADGETS
from tests.testapp.models import Gadget

pytestmark = pytest.mark.usefixtures("gadgets")

EXPLAIN_PREFIX = re.compile(r"^(EXPLAIN QUERY PLAN|EXPLAIN \([A-Z, ]+\)|EXPLAIN FORMAT=JSON) ")


def recorded(*querysets: object) -> Recording:
    with record() as recording:
        for queryset in querysets:
            list(queryset)  # type: ignore[call-overload]
    return recording


def test_an_index_is_proposed_only_where_none_covers_the_query() -> None:
    recording = recorded(
        Gadget.objects.filter(kind="kind-1"),  # no index: propose one
        Gadget.objects.filter(color="color-1"),  # db_index=True
        Gadget.objects.filter(serial="serial-1"),  # unique=True
        Gadget.objects.filter(maker="maker-1"),  # the prefix of (maker, size)
        Gadget.objects.filter(maker="maker-1", size=5),  # (maker, size) itself
    )
    advisor = advise([("/gadgets/", recording)], repeat=3)
    assert [(a.verdict.candidate.label, a.verdict.index.fields) for a in advisor.advice] == [
        ("testapp.Gadget", ["kind"])
    ]
    (finding,) = [f for f in advisor.findings if f.kind == "missing_index"]
    data = finding_data(finding)
    assert data["fix"]["code"] == ('models.Index(fields=["kind"], name="testapp_gadget_kind_idx")')
    assert data["fix"]["file"].endswith("testapp/models.py")
    assert data["where"]["file"].endswith("tests/indexes/test_advisor.py")
    assert data["pages"] == ["/gadgets/"]
    assert data["evidence"]["rows"] == GADGETS
    assert "every row of testapp_gadget" in data["evidence"]["plan_before"]
    assert "testapp_gadget_kind_idx" in data["evidence"]["plan_after"]
    verified = data["verified"]
    assert verified["queries_before"] == verified["queries_after"] == 1
    assert verified["ms_after"] > 0
    assert verified["same_output"] is True


def test_small_tables_are_left_alone() -> None:
    recording = recorded(Gadget.objects.filter(kind="kind-1"))
    assert advise([("/gadgets/", recording)], min_rows=10_000).advice == []


def test_explain_is_never_run_on_a_write_whatever_the_recording_held() -> None:
    with record() as recording:
        Gadget.objects.filter(kind="kind-1").update(size=1)
        Gadget.objects.filter(kind="kind-2").delete()
        Gadget.objects.create(
            kind="k", color="c", serial="s", maker="m", size=1, created="2017-01-01T00:00Z"
        )
        list(Gadget.objects.filter(kind="kind-3"))
    count = Gadget.objects.count()
    with CaptureQueriesContext(connection) as sent:
        advise([("/gadgets/", recording)], repeat=1)
    assert Gadget.objects.count() == count
    for query in sent.captured_queries:
        sql = query["sql"]
        assert not sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
        if sql.upper().startswith(("EXPLAIN", "ANALYZE")):
            assert "testapp_gadget" in sql
            assert is_single_select(EXPLAIN_PREFIX.sub("", sql), connection.vendor)


def test_the_audit_attaches_missing_index_and_slow_query_findings_to_the_pages() -> None:
    seed(products=5_000)
    with connection.cursor() as cursor:
        cursor.execute(
            "ANALYZE TABLE shop_product" if connection.vendor == "mysql" else "ANALYZE shop_product"
        )
        if connection.vendor == "mysql":
            cursor.fetchall()
    result = audit_pages(
        ["/products/", "/products/product-1/", "/pizzas/"], repeat=1, client=Client()
    )
    findings = analyze(result, analyzers=("pagedoctor.indexes.advisor.analyze_indexes",))
    missing = [f for f in findings if f.kind == "missing_index"]
    assert [f.evidence["model"] for f in missing] == ["shop.Product"]
    (finding,) = missing
    assert finding.evidence["fields"] == ["type"]
    assert finding.fix is not None
    assert finding.fix.code == 'models.Index(fields=["type"], name="shop_product_type_idx")'
    assert finding.verified is not None
    assert finding.verified.ms_after > 0
    assert sorted(finding.pages) == ["/products/", "/products/product-1/"]
    pages = {page.url: page.findings for page in result.pages}
    assert finding.id in pages["/products/"]
    assert finding.id in pages["/products/product-1/"]
    assert finding.id not in pages["/pizzas/"]
    # The list also sorts: the evidence names the composite index that would spare the sort.
    assert finding.evidence["also_consider"].startswith('models.Index(fields=["type", "created"])')


def test_slow_queries_are_described_in_plain_words() -> None:
    recording = recorded(Gadget.objects.filter(kind__gte=""))
    findings = advise([("/all/", recording)], slow_ms=0, repeat=1).findings
    slow = [f for f in findings if f.kind == "slow_query"]
    assert slow
    assert f"reads all {GADGETS:,} rows of testapp_gadget to return {GADGETS:,}" in slow[0].message
    unbounded = [f for f in findings if f.kind == "unbounded_query"]
    assert unbounded[0].evidence["returned"] == GADGETS


def test_the_analyzer_runs_on_an_audit_result() -> None:
    result = audit_pages(["/test/books/"], repeat=1, client=Client())
    assert analyze_indexes(result) == []


def test_counting_a_whole_large_table_is_reported() -> None:
    with record() as recording:
        Gadget.objects.count()
    advisor = Advisor(large_rows=GADGETS).run([("/count/", recording)])
    (finding,) = [f for f in advisor.findings if f.kind == "large_count"]
    assert (
        finding.message == f"COUNT(*) reads all {GADGETS:,} rows of testapp_gadget on every request"
    )
    assert finding.pages == ["/count/"]
    assert Advisor(large_rows=GADGETS + 1).run([("/count/", recording)]).findings == []


def test_like_with_a_leading_wildcard_on_a_large_table_is_reported() -> None:
    recording = recorded(Gadget.objects.filter(kind__icontains="ind-7"))
    findings = advise([("/search/", recording)], repeat=1).findings
    (finding,) = [f for f in findings if f.kind == "leading_wildcard"]
    assert finding.evidence["column"] == "kind"
    assert finding.fix is not None
    if connection.vendor == "postgresql":
        assert "trigram" in finding.fix.summary
    # A prefix search is not a leading wildcard.
    prefix = recorded(Gadget.objects.filter(kind__startswith="kind-7"))
    assert not [
        f for f in advise([("/p/", prefix)], repeat=1).findings if f.kind == "leading_wildcard"
    ]
