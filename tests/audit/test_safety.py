from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.views import LoginView, LogoutView
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
    require_safe,
)
from django.views.generic import TemplateView

from pagedoctor.audit.safety import ADMIN, refusal, view_refusal
from tests.testapp import views


def page(request: object) -> None:  # pragma: no cover - only inspected
    raise AssertionError


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("/pizzas/", None),
        ("/pizzas/?page=2", None),
        ("/admin/", ADMIN),
        ("/admin/shop/product/1/change/", ADMIN),
        ("/accounts/logout/", "its URL says it logs out, deletes or removes"),
        ("/accounts/sign-out/", "its URL says it logs out, deletes or removes"),
        ("/cart/delete/", "its URL says it logs out, deletes or removes"),
        ("/cart/?remove=3", "its URL says it logs out, deletes or removes"),
        ("/newsletter/unsubscribe/", "its URL says it logs out, deletes or removes"),
        ("/static/app.css", "a static or media file"),
        ("/media/cover.jpg", "a static or media file"),
    ],
)
def test_urls_refused_by_their_path(url: str, reason: str | None) -> None:
    assert refusal(url) == reason


def test_the_sites_own_static_and_media_prefixes_are_refused(settings: Any) -> None:
    settings.STATIC_URL = "https://cdn.example.com/assets/"
    settings.MEDIA_URL = "uploads/"
    assert refusal("/assets/app.css") == "a static or media file"
    assert refusal("/uploads/a.png") == "a static or media file"
    assert refusal("/uploadsfolder/") is None


def test_the_admin_is_refused_wherever_it_is_mounted(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.audit.site_urls"
    assert refusal("/backoffice/") == ADMIN
    assert refusal("/backoffice/testapp/book/1/change/") == ADMIN
    assert refusal("/test/books/") is None


@pytest.mark.parametrize(
    ("view", "reason"),
    [
        (page, None),
        (require_GET(page), None),
        (require_safe(page), None),
        (require_http_methods(["GET", "POST"])(page), None),
        (views.search, None),
        (require_POST(page), "its view accepts only POST"),
        (views.add_book, "its view accepts only POST"),
        (views.rate_book, "its view accepts only POST, PUT"),  # async, under login_required
        (LogoutView.as_view(), "a logout view"),
        (views.BookErase.as_view(), "a delete view"),
        (views.Hook.as_view(), "its view does not answer GET"),
        (TemplateView.as_view(http_method_names=["post"]), "its view does not answer GET"),
        (LoginView.as_view(), None),
        (views.BookDetail.as_view(), None),
        (views.remove_tag, "its view remove_tag looks like it logs out, deletes or removes"),
    ],
)
def test_views_that_change_data_or_refuse_get(view: Callable[..., Any], reason: str | None) -> None:
    assert view_refusal(view) == reason


def test_resolved_urls_are_refused_by_their_view(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.audit.site_urls"
    assert refusal("/test/session/end/") == "a logout view"
    assert refusal("/test/books/1/erase/") == "a delete view"
    assert refusal("/test/books/1/") is None
    assert refusal("/no/such/page/") is None  # nothing to judge; the page answers 404
