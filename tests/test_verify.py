"""Fixes proved on the demo: the page re-run with the fix applied at run time."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from pagedoctor.audit.analysis import analyze
from pagedoctor.audit.runner import audit_pages, request_page
from pagedoctor.capture.orm import AppliedFix, fixes_applied
from pagedoctor.demo.shop import views
from pagedoctor.demo.shop.models import Pizza
from pagedoctor.demo.shop.seed import seed

pytestmark = pytest.mark.django_db(transaction=True)


def pizza_queries(page: object) -> int:
    tables = ("shop_pizza", "shop_topping", "shop_chef")
    return sum(
        1
        for q in page.recording.queries
        if any(t in q.sql for t in tables)  # type: ignore[attr-defined]
    )


def test_the_pizza_page_findings_are_verified() -> None:
    seed(products=50)
    pizzas = Pizza.objects.count()
    result = audit_pages(["/pizzas/", "/products/product-1/"], repeat=2, client=Client())
    findings = {f.evidence.get("relation") or f.evidence.get("method"): f for f in analyze(result)}

    toppings = findings["toppings"]
    assert toppings.fix is not None
    assert toppings.fix.code == 'Pizza.objects.prefetch_related("toppings")'
    assert toppings.fix.file.endswith("pagedoctor/demo/shop/views.py")  # type: ignore[union-attr]
    assert toppings.verified is not None
    assert toppings.verified.queries_before - toppings.verified.queries_after == pizzas - 1
    assert toppings.verified.same_output

    chef = findings["chef"]
    assert chef.fix is not None
    assert chef.fix.code == 'Pizza.objects.select_related("chef")'
    assert chef.verified is not None
    assert chef.verified.queries_before - chef.verified.queries_after == pizzas
    assert chef.verified.same_output

    similar = findings["shop.Product.count_similar_products"]
    assert similar.verified is not None
    assert similar.verified.queries_before - similar.verified.queries_after == 1
    assert similar.verified.same_output
    assert result.pages[0].findings == [toppings.id, chef.id]


@pytest.mark.parametrize("extra_pizzas", [0, 20])
def test_with_both_fixes_the_pizzas_take_two_queries_whatever_their_number(
    extra_pizzas: int,
) -> None:
    seed(products=50)
    chef = Pizza.objects.first().chef  # type: ignore[union-attr]
    for i in range(extra_pizzas):
        Pizza.objects.create(name=f"extra {i}", chef=chef).toppings.set(
            Pizza.objects.first().toppings.all()  # type: ignore[union-attr]
        )
    client = Client()
    before = request_page(client, "/pizzas/")
    source = Path(views.__file__).read_text().splitlines()
    line = next(i for i, text in enumerate(source, 1) if "pizzas = Pizza.objects.all()" in text)
    fix = AppliedFix(
        "shop.Pizza", views.__file__, line, select_related=("chef",), prefetch_related=("toppings",)
    )
    with fixes_applied(fix):
        after = request_page(client, "/pizzas/")
    assert pizza_queries(before) == 1 + 2 * Pizza.objects.count()
    assert pizza_queries(after) == 2
    assert after.digest == before.digest


def test_a_fix_that_does_not_help_is_withdrawn() -> None:
    from pagedoctor.diagnose.findings import Finding, Fix
    from pagedoctor.verify import verify

    seed(products=50)
    # Prefetching a relation the page never reads adds a query: the fix does not help.
    remedy = AppliedFix("shop.Pizza", "/nowhere.py", 1, prefetch_related=("toppings",))
    finding = Finding(
        kind="n_plus_one",
        severity="high",
        message="m",
        pages=["/pizzas/"],
        fix=Fix(summary="s", code="Pizza.objects.prefetch_related('toppings')"),
        remedy=remedy,
    )
    verify(finding, runs=1)
    assert finding.verified is not None
    assert finding.verified.queries_after == finding.verified.queries_before
    assert finding.fix is None
    assert finding.evidence["tried"]["outcome"] == "did not reduce the queries"
