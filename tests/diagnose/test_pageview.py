from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from django.test import Client, override_settings

from pagedoctor.demo.shop import views
from pagedoctor.diagnose.pageview import page_view, view_wrapped
from tests.diagnose import caching_site

pytestmark = pytest.mark.urls("tests.diagnose.caching_site")


def test_a_function_view_is_found_at_its_def() -> None:
    view = page_view("/authors/?page=2")
    assert view is not None
    assert view.callback is caching_site.authors
    assert (view.file, view.line) == (
        caching_site.__file__,
        inspect.getsourcelines(caching_site.authors)[1],
    )
    assert view.name == "tests.diagnose.caching_site.authors"
    assert view.decorated("cache_view(timeout=300)") == "@cache_view(timeout=300)"


def test_a_class_based_view_is_found_at_its_class() -> None:
    view = page_view("/count/")
    assert view is not None
    assert view.is_class
    assert not view.in_urlconf
    assert view.line == inspect.getsourcelines(caching_site.AuthorCount)[1]
    assert view.decorated("cache_view(timeout=300)") == (
        '@method_decorator(cache_view(timeout=300), name="dispatch")'
    )


def test_a_decorated_view_is_found_at_its_code() -> None:
    # @cache_page wraps the function; the fix goes on the site's code, not on Django's wrapper.
    view = page_view("/django-cached/")
    assert view is not None
    assert view.file == caching_site.__file__
    assert view.name == "tests.diagnose.caching_site.cached_by_django"


def test_a_library_view_is_found_at_the_url_pattern() -> None:
    view = page_view("/jsi18n/")
    assert view is not None
    assert view.in_urlconf
    lines = Path(caching_site.__file__).read_text().splitlines()
    assert (view.file, lines[view.line - 1].strip()) == (
        caching_site.__file__,
        'path("jsi18n/", JavaScriptCatalog.as_view(), name="jsi18n"),',
    )
    assert view.decorated("cache_view(timeout=300)") == (
        "cache_view(timeout=300)(JavaScriptCatalog.as_view(...))"
    )


def test_no_view_for_an_unknown_url() -> None:
    assert page_view("/nowhere/") is None


@override_settings(ROOT_URLCONF="tests.urls")
@pytest.mark.django_db
def test_the_demo_views_are_user_code() -> None:
    view = page_view("/team/")
    assert view is not None
    assert (view.file, view.line) == (views.__file__, inspect.getsourcelines(views.team)[1])


def test_a_wrapped_view_answers_in_the_block_only() -> None:
    def wrapper(request: object) -> object:
        from django.http import HttpResponse

        return HttpResponse("wrapped")

    with view_wrapped(caching_site.cheap, wrapper):
        assert Client().get("/cheap/").content == b"wrapped"
    assert Client().get("/cheap/").content == b"static text"
