from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import path

from pagedoctor.audit.fill import Filled, fill
from pagedoctor.audit.routes import Route, site_routes
from pagedoctor.capture.recording import record
from tests.testapp import views
from tests.testapp.models import Author, Book, Tag

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _site(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.audit.site_urls"


@pytest.fixture
def books() -> list[Book]:
    # Created out of name order, so "lowest primary key first" differs from any other order.
    zed, ann = Author.objects.create(name="Zed"), Author.objects.create(name="Ann")
    return [
        Book.objects.create(title="Quiet", author=ann),
        Book.objects.create(title="Pale Fire", author=ann),
        Book.objects.create(title="Pnin", author=zed),
    ]


def route(text: str) -> Route:
    return next(r for r in site_routes() if r.text == text)


def filled(text: str, count: int = 1) -> Filled:
    return fill(route(text), count=count)


def test_a_detail_view_is_filled_from_its_model_lowest_pk_first(books: list[Book]) -> None:
    assert filled("test/books/<int:pk>/", count=2) == Filled(
        [f"/test/books/{books[0].pk}/", f"/test/books/{books[1].pk}/"]
    )


def test_a_detail_views_queryset_and_slug_field_are_used(books: list[Book]) -> None:
    # PublishedBookDetail shows only titles starting with "P", found by title.
    assert filled("test/published/<str:title>/").urls == ["/test/published/Pale%20Fire/"]


def test_a_function_views_parameter_is_matched_to_the_model_its_route_names(
    books: list[Book],
) -> None:
    # Author, Publisher and Tag all have a name; the route says "authors".
    assert filled("test/authors/<str:name>/").urls == ["/test/authors/Zed/"]


def test_values_come_from_one_row_that_reaches_every_parameter(books: list[Book]) -> None:
    # author_id: an Author's pk or a Book's author_id; the book's gives an author with books.
    assert filled("test/authors/<int:author_id>/books/").urls == [
        f"/test/authors/{books[0].author_id}/books/"
    ]


def test_a_field_only_one_model_has_needs_no_other_clue() -> None:
    User.objects.create(username="bob")
    User.objects.create(username="alice")
    assert filled("test/users/<str:username>/").urls == ["/test/users/bob/"]


def test_regex_routes_with_named_groups_are_filled() -> None:
    tag = Tag.objects.create(name="poetry")
    assert filled(r"^test/tags/(?P<pk>[0-9]+)/$").urls == [f"/test/tags/{tag.pk}/"]


def test_a_model_without_rows_is_a_reason() -> None:
    assert filled("test/publishers/<int:pk>/") == Filled([], "testapp.Publisher has no rows")


def test_a_generic_name_without_a_clue_is_not_guessed(books: list[Book]) -> None:
    result = filled("test/items/<int:pk>/")
    assert result.urls == []
    assert result.reason is not None
    assert result.reason.startswith("cannot tell which model `pk` comes from (testapp.")


def test_parameters_no_model_has_are_a_reason() -> None:
    assert filled("sitemap-<str:section>.xml").reason == "no model has fields for `section`"


def test_values_the_route_does_not_accept_are_passed_over() -> None:
    Author.objects.create(name="a/b")  # <str:name> stops at a slash
    assert filled("test/authors/<str:name>/").reason == (
        "testapp.Author has no row (of the first 20) with values it accepts"
    )
    Author.objects.create(name="Ann")
    assert filled("test/authors/<str:name>/").urls == ["/test/authors/Ann/"]


def test_a_views_model_without_the_field_is_a_reason() -> None:
    bad = site_routes([path("books/<str:colour>/", views.BookDetail.as_view())])[0]
    assert fill(bad, count=1).reason == "its view's model testapp.Book has no field for `colour`"


def test_the_database_is_read_outside_any_recording(books: list[Book]) -> None:
    with record() as recording:
        assert filled("test/books/<int:pk>/").urls
    assert recording.queries == []
