from __future__ import annotations

import pytest
from django.test import Client

import pagedoctor
from pagedoctor.demo.shop.models import Product
from pagedoctor.demo.shop.seed import seed
from tests.testapp.models import Author

pytestmark = pytest.mark.django_db


def test_the_talks_double_evaluation_gets_cached_property() -> None:
    seed(products=50)
    with pagedoctor.record() as rec:
        Client().get("/products/product-1/")
    (finding,) = [f for f in pagedoctor.diagnose(rec) if f.kind == "duplicate_query"]
    assert finding.message == (
        "The same query runs 2 times with the same parameters (Product.count_similar_products)"
    )
    assert finding.evidence["method"] == "shop.Product.count_similar_products"
    assert finding.fix is not None
    assert finding.fix.code is not None
    assert finding.fix.code.startswith("@cached_property")
    method = Product.count_similar_products
    assert finding.fix.line == method.__code__.co_firstlineno


def test_a_repeated_lookup_in_plain_code() -> None:
    Author.objects.create(name="a")
    with pagedoctor.record() as rec:
        for _ in range(3):
            Author.objects.filter(name="a").exists()  # the same lookup three times
    (finding,) = pagedoctor.diagnose(rec)
    assert finding.kind == "duplicate_query"
    assert finding.evidence["count"] == 3
    assert finding.fix is not None
    assert "reuse" in finding.fix.summary


def test_quiet_on_different_parameters_and_on_writes() -> None:
    with pagedoctor.record() as rec:
        Author.objects.filter(name="a").exists()
        Author.objects.filter(name="b").exists()
        Author.objects.create(name="x")
        Author.objects.filter(name="x").update(name="y")
        Author.objects.filter(name="y").update(name="z")
    assert pagedoctor.diagnose(rec) == []
