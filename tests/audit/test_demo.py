"""The audit of the bundled demo shop, on whichever database the run uses."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from pagedoctor.audit.runner import audit_pages, rolled_back
from pagedoctor.conf import conf
from pagedoctor.demo.shop.seed import seed
from pagedoctor.report.json import build_report

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop() -> None:
    seed(products=2_000)


def test_every_demo_page_is_audited_and_counted_as_django_counts(shop: None) -> None:
    urls = conf.AUDIT_URLS
    client = Client()
    report = build_report(audit_pages(urls, repeat=2, client=client))
    assert [p["url"] for p in report["pages"]] == urls
    assert {p["url"]: p["status"] for p in report["pages"]} == dict.fromkeys(urls, 200)
    for page in report["pages"]:
        with rolled_back(), CaptureQueriesContext(connection) as django_counted:
            assert client.get(page["url"]).status_code == 200
        assert page["queries"] == len(django_counted.captured_queries), page["url"]


def test_the_pizza_pages_show_the_n_plus_one_and_its_fix(shop: None) -> None:
    from pagedoctor.demo.shop.models import Pizza

    pizzas = Pizza.objects.count()
    report = build_report(audit_pages(["/pizzas/", "/fixed/pizzas/", "/async/pizzas/"], repeat=2))
    slow, fixed, async_page = (p["queries"] for p in report["pages"])
    assert slow >= 1 + 2 * pizzas  # the list, then toppings and chef once per pizza
    assert async_page == slow
    assert fixed < 5
    timeline = report["pages"][0]["timeline"]
    topping_queries = [e for e in timeline if e["kind"] == "query" and "shop_topping" in e["text"]]
    assert len(topping_queries) == pizzas
    # Attributed to the template line that touches the relation, in the demo's own code.
    assert all(e["template"] and e["template"].startswith("shop/") for e in topping_queries)
    assert all(e["where"].startswith("pagedoctor/demo/shop/") for e in topping_queries)


def test_async_pizza_queries_point_at_the_awaiting_view(shop: None) -> None:
    report = build_report(audit_pages(["/async/pizzas/"], repeat=1))
    queries = [e for e in report["pages"][0]["timeline"] if e["kind"] == "query"]
    shop_queries = [e for e in queries if "shop_" in e["text"]]
    assert shop_queries
    assert all(
        e["where"] and e["where"].startswith("pagedoctor/demo/shop/views.py:") for e in shop_queries
    )
