from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import path, re_path

from pagedoctor.audit import pages
from pagedoctor.audit.safety import ADMIN
from pagedoctor.exceptions import AuditError
from tests.testapp.models import Author, Book


def view() -> None:  # pragma: no cover - never called, only routed
    raise AssertionError


def test_routes_without_parameters() -> None:
    patterns = [
        path("", view),
        path("pizzas/", view),
        path("pizzas/<int:pk>/", view),
        re_path(r"^about/$", view),
        re_path(r"^items/(?P<pk>\d+)/$", view),
        re_path(r"^any.*$", view),
    ]
    assert pages.routes_without_parameters(patterns) == ["/", "/pizzas/", "/about/"]


def test_normalize() -> None:
    assert pages.normalize(" /a/?b=1 ") == "/a/?b=1"
    assert pages.normalize("http://example.com/x/?y=2") == "/x/?y=2"
    with pytest.raises(AuditError, match="start with '/'"):
        pages.normalize("pizzas/")


def test_url_file(tmp_path: Path) -> None:
    urls = tmp_path / "urls.txt"
    urls.write_text("# pages\n/a/\n\n/b/  # the b page\n")
    assert pages.read_url_file(str(urls)) == ["/a/", "/b/"]


def test_missing_url_file_names_the_file_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(AuditError, match=r"cannot read the URL file .*one path per line"):
        pages.read_url_file(str(tmp_path / "nope.txt"))


def test_given_pages_are_requested_as_given_and_unsafe_ones_said(tmp_path: Path) -> None:
    urls = tmp_path / "urls.txt"
    urls.write_text("/b/\n/a/\n")
    plan = pages.given(["/a/", "/accounts/logout/"], url_file=str(urls))
    assert plan.urls == ["/a/", "/accounts/logout/", "/b/"]
    assert plan.sources["/b/"] == pages.URL_FILE
    assert plan.notes == [
        "Requesting /accounts/logout/ as given; unasked, it would be left out: "
        "its URL says it logs out, deletes or removes"
    ]
    assert plan.summary() == "2 given, 1 from the URL file"


@pytest.fixture
def site(settings: Any) -> list[Book]:
    settings.ROOT_URLCONF = "tests.audit.site_urls"
    settings.PAGEDOCTOR = {}
    zed, ann = Author.objects.create(name="Zed"), Author.objects.create(name="Ann")
    return [
        Book.objects.create(title="Quiet", author=ann),
        Book.objects.create(title="Pale Fire", author=ann),
        Book.objects.create(title="Pnin", author=zed),
    ]


@pytest.mark.django_db
def test_discover_finds_each_source_and_leaves_out_what_is_unsafe(site: list[Book]) -> None:
    plan = pages.discover(Client())
    first = site[0].pk
    assert plan.sources == {
        "/sitemap.xml": pages.ROUTES,
        "/test/books/": pages.ROUTES,
        "/test/books/search/": pages.ROUTES,  # GET and POST: GET is a page
        "/test/links/": pages.ROUTES,
        "/test/whoami/": pages.ROUTES,
        f"/test/books/{first}/": pages.SITEMAP,  # the sitemap index's books sitemap
        "/test/published/Pale%20Fire/": pages.DATABASE,
        "/test/authors/Zed/": pages.DATABASE,
        f"/test/authors/{site[0].author_id}/books/": pages.DATABASE,
    }
    assert plan.summary() == (
        "5 from routes without parameters, 1 from /sitemap.xml, "
        "3 from the database (routes with parameters); "
        "left out 2 more of the same routes (--per-route 1)"
    )
    skipped = {reason: routes[0] for reason, routes in plan.skipped.items()}
    assert len(plan.skipped[ADMIN]) > 20  # every admin route, listed as one line
    assert skipped[ADMIN] == "/backoffice/"
    assert skipped["its view accepts only POST"] == "/test/books/add/"
    assert skipped["a delete view"] == "/test/books/<int:pk>/erase/"
    assert skipped["a logout view"] == "/test/session/end/"
    assert skipped["its URL says it logs out, deletes or removes"] == "/test/sign-out/"
    assert skipped["its view does not answer GET"] == "/test/hook/"
    assert skipped["testapp.Publisher has no rows"] == "/test/publishers/<int:pk>/"
    lines = plan.report_lines()
    total = sum(len(routes) for routes in plan.skipped.values())
    assert lines[0] == f"Left out {total} routes (give their URLs to audit them):"
    assert f"  /backoffice/ and {len(plan.skipped[ADMIN]) - 1} more: {ADMIN}" in lines


@pytest.mark.django_db
def test_per_route_takes_more_pages_of_each_route(site: list[Book]) -> None:
    plan = pages.discover(Client(), per_route=2)
    book_pages = [
        url for url in plan.urls if url.startswith("/test/books/") and url[12:13].isdigit()
    ]
    assert book_pages == [f"/test/books/{site[0].pk}/", f"/test/books/{site[1].pk}/"]
    assert "/test/published/Pnin/" in plan.urls


@pytest.mark.django_db
def test_configured_pages_come_first_are_trusted_and_fill_their_routes(
    site: list[Book], settings: Any
) -> None:
    settings.PAGEDOCTOR = {"AUDIT_URLS": ["/test/authors/Ann/", "/backoffice/"]}
    plan = pages.discover(Client())
    assert plan.urls[:2] == ["/test/authors/Ann/", "/backoffice/"]
    assert plan.notes == [
        f"Requesting /backoffice/ as given; unasked, it would be left out: {ADMIN}"
    ]
    # The authors route has its one page already: the database adds no other.
    assert "/test/authors/Zed/" not in plan.urls
    assert len(plan.urls) == len(set(plan.urls))


@pytest.mark.django_db
def test_the_sitemap_index_is_followed_and_image_locations_ignored(site: list[Book]) -> None:
    urls = pages.sitemap_urls(Client())
    assert urls == [*(f"/test/books/{book.pk}/" for book in site), "/test/links/", "/backoffice/"]


@pytest.mark.django_db(transaction=True)
def test_the_demo_shops_parameter_routes_are_filled_from_its_data(settings: Any) -> None:
    from pagedoctor.demo.shop.models import Flower, Order
    from pagedoctor.demo.shop.seed import seed

    seed(products=20)
    settings.PAGEDOCTOR = {}
    plan = pages.discover(Client())
    flower = Flower.objects.order_by("pk").first()
    order = Order.objects.order_by("pk").first()
    assert flower is not None
    assert order is not None
    filled = [url for url, source in plan.sources.items() if source == pages.DATABASE]
    assert filled == [
        "/products/product-1/",
        "/fixed/products/product-1/",
        f"/flowers/{flower.slug}/",
        f"/fixed/flowers/{flower.slug}/",
        f"/orders/{order.number}/thanks/",
        f"/fixed/orders/{order.number}/thanks/",
    ]
    assert not any(url.startswith("/admin/") for url in plan.urls)


@pytest.mark.django_db(transaction=True)
def test_the_demos_audit_urls_leave_nothing_for_the_database_to_fill() -> None:
    from pagedoctor.demo.shop.seed import seed

    seed(products=20)
    plan = pages.discover(Client())
    assert pages.DATABASE not in plan.sources.values()


@pytest.mark.django_db
def test_the_audit_says_where_its_pages_came_from_and_what_it_left_out(site: list[Book]) -> None:
    import io

    from rich.console import Console

    from pagedoctor.audit.command import request_pages
    from pagedoctor.audit.runner import site_info

    out = io.StringIO()
    result = request_pages({}, Console(file=out, width=300), command="audit", repeat=1)
    assert len(result.pages) == 9
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("Left out ")
    assert "  /test/session/end/: a logout view" in lines
    assert lines[-1] == (
        f"Requesting 9 pages of {site_info()['settings']} (5 from routes without parameters, "
        "1 from /sitemap.xml, 3 from the database (routes with parameters); "
        "left out 2 more of the same routes (--per-route 1)) …"
    )


@pytest.mark.django_db
def test_a_filled_page_that_looks_destructive_is_left_out_and_said(site: list[Book]) -> None:
    Author.objects.all().delete()
    Author.objects.create(name="delete-me")
    plan = pages.discover(Client())
    assert "/test/authors/delete-me/" not in plan.urls
    assert plan.skipped[
        "its page /test/authors/delete-me/ is left out: "
        "its URL says it logs out, deletes or removes"
    ] == ["/test/authors/<str:name>/"]
