"""The demo's fixed pages cache with pagedoctor and hold no invalidation code: changes show on
the very next request however they are made (the admin, ``QuerySet.update()``, ``bulk_create``)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from pagedoctor.capture.recording import record
from pagedoctor.demo.shop.models import Category, Flower, Product
from pagedoctor.demo.shop.seed import seed

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("pagedoctor.demo.urls")]


@pytest.fixture
def shop(cache_backend: str) -> Client:
    seed(products=30)
    return Client()


def queries(client: Client, url: str) -> tuple[str, int]:
    with record() as rec:
        body = client.get(url).content.decode()
    return body, len(rec.queries)


def test_a_flower_is_served_from_the_cache_until_an_update(shop: Client) -> None:
    url = "/fixed/flowers/rose/"
    first, cold = queries(shop, url)
    again, warm = queries(shop, url)
    assert again == first
    assert warm < cold
    Flower.objects.filter(slug="rose").update(name="Crimson rose")
    assert "Crimson rose" in shop.get(url).content.decode()


def test_the_footer_follows_a_bulk_create(shop: Client) -> None:
    count = Product.objects.count()
    assert f"{count} products" in shop.get("/fixed/").content.decode()
    Product.objects.bulk_create(
        [Product(name="New", slug="new-one", type="ceramics", price=1, created=timezone.now())]
    )
    assert f"{count + 1} products" in shop.get("/fixed/").content.decode()


def test_a_save_in_the_admin_changes_the_menu_on_the_next_request(shop: Client) -> None:
    category = Category.objects.order_by("position").first()
    assert category is not None
    assert category.name in shop.get("/fixed/").content.decode()
    admin = Client()
    admin.force_login(User.objects.create_superuser("admin", "a@example.com", "pw"))
    response = admin.post(
        f"/admin/shop/category/{category.pk}/change/",
        {"name": "Renamed in the admin", "slug": category.slug, "position": category.position},
    )
    assert response.status_code == 302, response.content.decode()[:500]
    assert "Renamed in the admin" in shop.get("/fixed/").content.decode()
