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
    # Query waste only: the caching analyzers' findings on these pages are tested on their own.
    found = analyze(result, analyzers=("pagedoctor.diagnose.audit.query_waste",))
    findings = {f.evidence.get("relation") or f.evidence.get("method"): f for f in found}

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


def test_a_wrapped_view_is_measured_on_the_requests_after_the_one_that_stores() -> None:
    from pagedoctor.cache.views import cache_view
    from pagedoctor.verify import WrappedView, compare

    seed(products=50)
    remedy = WrappedView.of(views.team, cache_view(timeout=300))
    result = compare("/team/", remedy, runs=2)
    assert result.queries_before > 0
    assert result.queries_after == 0
    assert result.same_output
    # Undone after: the URLconf routes to the view itself again.
    assert request_page(Client(), "/team/").recording.queries


def test_changed_settings_measure_a_returning_visitor() -> None:
    from pagedoctor.verify import ChangedSettings, compare

    seed(products=50)
    remedy = ChangedSettings(
        (("SESSION_ENGINE", "django.contrib.sessions.backends.cached_db"),), returning=True
    )
    result = compare("/products/product-1/", remedy, runs=1)
    # The returning visitor's session row is read from the cache instead of the database.
    assert result.queries_before - result.queries_after == 1
    assert result.same_output


def test_revalidation_answers_304_without_the_body() -> None:
    from django.conf import settings

    from pagedoctor.diagnose.caching import with_conditional_get
    from pagedoctor.verify import ChangedSettings, ConditionalVerification, Revalidation, compare

    seed(products=50)
    middleware = with_conditional_get(list(settings.MIDDLEWARE))
    result = compare("/team/", Revalidation(ChangedSettings((("MIDDLEWARE", middleware),))), runs=1)
    assert isinstance(result, ConditionalVerification)
    assert result.status_after == 304
    assert result.bytes_before == request_page(Client(), "/team/").bytes > 0
    assert result.bytes_after == 0


def test_validators_that_do_not_give_304_are_withdrawn() -> None:
    from pagedoctor.diagnose.findings import Finding, Fix
    from pagedoctor.verify import ChangedSettings, Revalidation, verify

    seed(products=50)
    finding = Finding(
        kind="http_caching",
        severity="low",
        message="m",
        pages=["/team/"],
        fix=Fix(summary="s", code="nothing at all"),
        remedy=Revalidation(ChangedSettings(())),  # changes nothing: no validator is sent
    )
    verify(finding, runs=1)
    assert finding.fix is None
    assert finding.evidence["tried"] == {
        "code": "nothing at all",
        "outcome": "answered 200 to a conditional GET, not 304 Not Modified",
    }


def test_a_cache_that_changes_the_page_is_withdrawn() -> None:
    from django.http import HttpResponse

    from pagedoctor.diagnose.findings import Finding, Fix
    from pagedoctor.verify import WrappedView, verify

    def stale(view: object) -> object:
        return lambda request, *args, **kwargs: HttpResponse("an old page")

    seed(products=50)
    finding = Finding(
        kind="uncached_page",
        severity="low",
        message="m",
        pages=["/team/"],
        fix=Fix(summary="s", code="@stale"),
        remedy=WrappedView.of(views.team, stale),  # type: ignore[arg-type]
    )
    verify(finding, runs=1)
    assert finding.verified is not None
    assert finding.verified.queries_after == 0
    assert finding.fix is None
    assert finding.evidence["tried"]["outcome"] == "changed the page's output"
