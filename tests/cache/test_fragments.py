from __future__ import annotations

import pytest
from django.template import Context, Engine, RequestContext, TemplateSyntaxError
from django.test import RequestFactory

from pagedoctor.cache import stats
from pagedoctor.cache.fragments import invalidate_fragment
from tests.testapp.models import Author

pytestmark = pytest.mark.django_db(transaction=True)

ENGINE = Engine(
    libraries={"pagedoctor": "pagedoctor.templatetags.pagedoctor"},
    context_processors=["django.template.context_processors.csrf"],
)
AUTHORS = ENGINE.from_string(
    "{% load pagedoctor %}{% cached 600 'authors' who %}"
    "{% for a in authors %}{{ a.name }};{% endfor %}{% endcached %}"
)


def render_authors(who: str = "ann") -> str:
    return AUTHORS.render(Context({"authors": Author.objects.order_by("name"), "who": who}))


def test_fragment_is_cached_and_invalidated_by_a_save(cache_backend: str) -> None:
    author = Author.objects.create(name="Ann")
    assert render_authors() == "Ann;"
    assert render_authors() == "Ann;"
    assert stats.totals()["default"]["hits"] == 1
    author.name = "Anna"
    author.save()
    assert render_authors() == "Anna;"


def test_fragment_varies_on_its_arguments(cache_backend: str) -> None:
    Author.objects.create(name="Ann")
    assert render_authors("ann") == "Ann;"
    assert render_authors("bob") == "Ann;"
    assert stats.totals()["default"]["misses"] == 2


def test_invalidate_fragment_by_hand() -> None:
    template = ENGINE.from_string(
        "{% load pagedoctor %}{% cached None 'footer' who %}{{ text }}{% endcached %}"
    )
    assert template.render(Context({"text": "one", "who": "a"})) == "one"
    assert template.render(Context({"text": "two", "who": "a"})) == "one"
    invalidate_fragment("footer", ["b"])  # another variant: this one stays
    assert template.render(Context({"text": "two", "who": "a"})) == "one"
    invalidate_fragment("footer", ["a"])
    assert template.render(Context({"text": "two", "who": "a"})) == "two"
    invalidate_fragment("footer")  # every variant
    assert template.render(Context({"text": "three", "who": "a"})) == "three"


def test_a_fragment_with_a_csrf_token_is_never_stored() -> None:
    template = ENGINE.from_string(
        "{% load pagedoctor %}{% cached 600 'form' %}{% csrf_token %}{% endcached %}"
    )
    first, second = RequestFactory().get("/"), RequestFactory().get("/")
    page_one = template.render(RequestContext(first, {}))
    page_two = template.render(RequestContext(second, {}))
    assert page_one != page_two
    assert stats.totals()["default"]["unstored"] == 2


def test_bad_timeout_is_a_clear_error() -> None:
    template = ENGINE.from_string("{% load pagedoctor %}{% cached 'soon' 'x' %}x{% endcached %}")
    with pytest.raises(TemplateSyntaxError, match="the timeout must be a number"):
        template.render(Context({}))


def test_missing_name_is_a_clear_error() -> None:
    with pytest.raises(TemplateSyntaxError, match="a timeout and a fragment name"):
        ENGINE.from_string("{% load pagedoctor %}{% cached 600 %}x{% endcached %}")
