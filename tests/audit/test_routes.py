from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.urls import include, path, re_path

from pagedoctor.audit.routes import Route, site_routes


def view(request: object, **kwargs: Any) -> None:  # pragma: no cover - only routed
    raise AssertionError


def other(request: object, **kwargs: Any) -> None:  # pragma: no cover - only routed
    raise AssertionError


nested = [path("<slug:shop>/items/<int:pk>/", view, name="item")]
urlpatterns = [
    path("pizzas/<int:pk>/", view),
    path("people/<str:name>/", view),
    path("orders/<uuid:ref>/", view),
    re_path(r"^tags/(?P<year>[0-9]{4})/(?P<slug>[-\w]+)/$", view),
    re_path(r"^positional/([0-9]+)/$", view),
    re_path(r"^words/(?P<slug>[a-z]+(-[a-z]+)*)/$", view),  # the inner group is not a value
    path("shops/", include((nested, "shops"))),
    path("same/<int:pk>/", other),
    path("same/<int:pk>/", view),  # shadowed: /same/1/ reaches `other`
]


@pytest.fixture(autouse=True)
def _urls(settings: Any) -> None:
    settings.ROOT_URLCONF = __name__


def route(text: str) -> Route:
    return next(r for r in site_routes() if r.text == text)


def test_routes_are_listed_in_order_with_the_include_prefix_joined() -> None:
    texts = [r.text for r in site_routes()]
    assert texts[:3] == ["pizzas/<int:pk>/", "people/<str:name>/", "orders/<uuid:ref>/"]
    assert "shops/<slug:shop>/items/<int:pk>/" in texts
    shop_route = route("shops/<slug:shop>/items/<int:pk>/")
    assert shop_route.app_names == ("shops",)
    assert [p.name for p in shop_route.parameters or []] == ["shop", "pk"]


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("pizzas/<int:pk>/", {"pk": 7}, "/pizzas/7/"),
        ("pizzas/<int:pk>/", {"pk": "x"}, None),  # the converter does not take it
        ("people/<str:name>/", {"name": "Ann Smith"}, "/people/Ann%20Smith/"),
        ("people/<str:name>/", {"name": "a/b"}, None),  # str stops at a slash
        ("people/<str:name>/", {"name": "Zoë"}, "/people/Zo%C3%AB/"),
        (
            "orders/<uuid:ref>/",
            {"ref": uuid.UUID("12345678-1234-5678-1234-567812345678")},
            "/orders/12345678-1234-5678-1234-567812345678/",
        ),
        (
            r"^tags/(?P<year>[0-9]{4})/(?P<slug>[-\w]+)/$",
            {"year": 2017, "slug": "talk"},
            "/tags/2017/talk/",
        ),
        (r"^tags/(?P<year>[0-9]{4})/(?P<slug>[-\w]+)/$", {"year": 17, "slug": "talk"}, None),
        (
            "shops/<slug:shop>/items/<int:pk>/",
            {"shop": "corner", "pk": 3},
            "/shops/corner/items/3/",
        ),
        (r"^words/(?P<slug>[a-z]+(-[a-z]+)*)/$", {"slug": "a-b-c"}, "/words/a-b-c/"),
    ],
)
def test_build_returns_a_path_that_resolves_to_the_route(
    text: str, values: dict[str, Any], expected: str | None
) -> None:
    assert route(text).build(values) == expected


def test_a_shadowed_route_builds_nothing() -> None:
    shadowed = [r for r in site_routes() if r.text == "same/<int:pk>/"][1]
    assert shadowed.view is view
    assert shadowed.build({"pk": 1}) is None


def test_positional_groups_cannot_be_filled() -> None:
    assert route(r"^positional/([0-9]+)/$").parameters is None
    assert route(r"^positional/([0-9]+)/$").path is None
