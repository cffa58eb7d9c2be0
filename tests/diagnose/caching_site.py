"""A URLconf of pages that are and are not worth caching, for tests/diagnose/test_caching.py."""

from __future__ import annotations

import itertools
from pathlib import Path

from django.db import transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import path, re_path
from django.views import View
from django.views.decorators.cache import cache_control, cache_page
from django.views.decorators.http import etag
from django.views.i18n import JavaScriptCatalog
from django.views.static import serve

import pagedoctor.demo.shop
from pagedoctor.cache.views import cache_view
from tests.testapp.models import Author

_counter = itertools.count()


def authors(request: HttpRequest) -> HttpResponse:
    return HttpResponse(", ".join(a.name for a in Author.objects.order_by("name")))


class AuthorCount(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(f"{Author.objects.count()} authors")


def with_cookie(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(f"{Author.objects.count()} authors")
    response.set_cookie("seen", "1")
    return response


def with_session(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"{Author.objects.count()} authors, {request.session.get('n', 0)}")


@cache_page(60)
def cached_by_django(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"{Author.objects.count()} authors")


def changing(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"{Author.objects.count()} authors, visit {next(_counter)}")


def writing(request: HttpRequest) -> HttpResponse:
    Author.objects.get_or_create(name="visitor")
    return HttpResponse("hello")


def later(request: HttpRequest) -> HttpResponse:
    transaction.on_commit(lambda: None)
    return HttpResponse(f"{Author.objects.count()} authors")


@cache_control(no_store=True)
def not_stored(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"{Author.objects.count()} authors")


@cache_control(private=True, no_cache=True)
@etag(lambda request: '"v1"')
def validated(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"{Author.objects.count()} authors")


@cache_view(timeout=60)
def cached_by_pagedoctor(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"{Author.objects.count()} authors")


def streamed(request: HttpRequest) -> StreamingHttpResponse:
    return StreamingHttpResponse(iter([b"a, ", b"b"]))


def cheap(request: HttpRequest) -> HttpResponse:
    return HttpResponse("static text")


urlpatterns = [
    path("authors/", authors),
    path("count/", AuthorCount.as_view()),
    path("cookie/", with_cookie),
    path("session/", with_session),
    path("django-cached/", cached_by_django),
    path("changing/", changing),
    path("writing/", writing),
    path("later/", later),
    path("not-stored/", not_stored),
    path("validated/", validated),
    path("pagedoctor-cached/", cached_by_pagedoctor),
    path("streamed/", streamed),
    path("cheap/", cheap),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="jsi18n"),
    re_path(
        r"^static/(?P<path>.*)$",
        serve,
        {"document_root": Path(pagedoctor.demo.shop.__file__).parent / "static"},
    ),
]
