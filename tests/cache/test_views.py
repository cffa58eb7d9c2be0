"""@cache_view: hits, invalidation on the next request, HTTP validators and Cache-Control."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from asgiref.sync import async_to_sync
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, Client, RequestFactory, override_settings
from django.utils import timezone, translation
from django.utils.http import http_date
from django.views import View

import pagedoctor.cache as pdcache
from pagedoctor.cache import stats
from pagedoctor.cache.views import cache_view
from tests.cache import views
from tests.cache.views import runs
from tests.testapp.models import Author, Book

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.cache.urls")]


@pytest.fixture(autouse=True)
def _fresh_views() -> Iterator[None]:
    runs.clear()
    views.outside.update({"raise": False, "menu": "soup"})
    yield
    runs.clear()


@pytest.fixture
def ann() -> Author:
    return Author.objects.create(name="Ann")


def body(response: object) -> str:
    return response.content.decode()  # type: ignore[attr-defined, no-any-return]


# Hits and invalidation, on every cache backend.


def test_a_hit_does_not_run_the_view(cache_backend: str, ann: Author, client: Client) -> None:
    first = client.get("/authors/")
    second = client.get("/authors/")
    assert body(first) == body(second) == "Ann"
    assert runs["authors"] == 1


def test_queryset_update_shows_on_the_very_next_request(
    cache_backend: str, ann: Author, client: Client
) -> None:
    assert body(client.get("/authors/")) == "Ann"
    Author.objects.update(name="Bea")
    assert body(client.get("/authors/")) == "Bea"
    assert runs["authors"] == 2


def test_save_shows_on_the_very_next_request(
    cache_backend: str, ann: Author, client: Client
) -> None:
    assert body(client.get(f"/authors/{ann.pk}/")) == "Ann"
    ann.name = "Anna"
    ann.save()
    assert body(client.get(f"/authors/{ann.pk}/")) == "Anna"


def test_a_write_to_another_row_keeps_the_page(
    cache_backend: str, ann: Author, client: Client
) -> None:
    bob = Author.objects.create(name="Bob")
    assert body(client.get(f"/authors/{ann.pk}/")) == "Ann"
    bob.name = "Bobby"
    bob.save()
    assert body(client.get(f"/authors/{ann.pk}/")) == "Ann"
    assert runs["author"] == 1


def test_conditional_get_is_answered_304_without_running_the_view(
    cache_backend: str, ann: Author, client: Client
) -> None:
    first = client.get("/authors/")
    etag = first["ETag"]
    again = client.get("/authors/", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again["ETag"] == etag
    since = client.get("/authors/", headers={"If-Modified-Since": first["Last-Modified"]})
    assert since.status_code == 304
    assert runs["authors"] == 1


def test_the_etag_changes_after_a_commit(cache_backend: str, ann: Author, client: Client) -> None:
    etag = client.get("/authors/")["ETag"]
    Author.objects.create(name="Bob")
    response = client.get("/authors/", headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert body(response) == "Ann, Bob"
    assert response["ETag"] != etag
    assert runs["authors"] == 2


def test_if_modified_since_after_a_commit_gets_the_new_page(
    cache_backend: str, ann: Author, client: Client
) -> None:
    modified = client.get("/authors/")["Last-Modified"]
    Author.objects.update(name="Bea")
    assert body(client.get("/authors/")) == "Bea"
    # Recomputed within the second of the old page (as a rule): the old page's date must not
    # make the new one look unmodified.
    response = client.get("/authors/", headers={"If-Modified-Since": modified})
    assert response.status_code == 200
    assert body(response) == "Bea"
    assert runs["authors"] == 2


def test_async_view_hit_and_invalidation(cache_backend: str, ann: Author) -> None:
    client = AsyncClient()

    async def main() -> None:
        assert body(await client.get("/aauthors/")) == "Ann"
        assert body(await client.get("/aauthors/")) == "Ann"
        assert runs["aauthors"] == 1
        await Author.objects.filter(pk=ann.pk).aupdate(name="Bea")
        response = await client.get("/aauthors/")
        assert body(response) == "Bea"
        conditional = await client.get("/aauthors/", headers={"If-None-Match": response["ETag"]})
        assert conditional.status_code == 304
        assert runs["aauthors"] == 2

    async_to_sync(main)()


# HTTP semantics.


def test_head_is_answered_from_the_get_entry_without_a_body(ann: Author, client: Client) -> None:
    get = client.get("/authors/")
    head = client.head("/authors/")
    assert head.status_code == 200
    assert head.content == b""
    assert head["ETag"] == get["ETag"]
    assert head["Content-Length"] == str(len(get.content))
    assert runs["authors"] == 1


def test_a_head_miss_runs_the_view_and_stores_nothing(ann: Author, client: Client) -> None:
    client.head("/authors/")
    client.get("/authors/")
    assert runs["authors"] == 2


def test_post_is_never_cached(ann: Author, client: Client) -> None:
    client.get("/authors/")
    client.post("/authors/")
    assert runs["authors"] == 2


def test_the_query_string_host_and_scheme_are_in_the_key(ann: Author, client: Client) -> None:
    client.get("/authors/")
    client.get("/authors/?page=2")
    client.get("/authors/", headers={"Host": "localhost"})
    client.get("/authors/", secure=True)
    client.get("/authors/?page=2")
    assert runs["authors"] == 4


def test_language_and_time_zone_are_in_the_key(client: Client) -> None:
    assert body(client.get("/place/")) == "en-us UTC"
    with translation.override("fr"):
        assert body(client.get("/place/")) == "fr UTC"
    with timezone.override("Europe/Paris"):
        assert body(client.get("/place/")) == "en-us Europe/Paris"
    assert body(client.get("/place/")) == "en-us UTC"
    assert runs["place"] == 3


def test_the_vary_headers_pick_the_variant(client: Client) -> None:
    token = {"X-Token": "a"}
    assert body(client.get("/vary-on/", headers=token)) == "['a', None]"
    assert body(client.get("/vary-on/", headers={"X-Token": "b"})) == "['b', None]"
    assert body(client.get("/vary-on/", headers=token)) == "['a', None]"
    assert body(client.get("/vary-on/", headers={**token, "X-Other": "o"})) == "['a', 'o']"
    assert runs["vary_on"] == 3


def test_a_template_response_is_rendered_and_depends_on_its_queries(
    cache_backend: str, ann: Author, client: Client
) -> None:
    book = Book.objects.create(title="Emma", author=ann)
    assert body(client.get("/books-template/")) == "Emma by Ann;"
    assert body(client.get("/books-template/")) == "Emma by Ann;"
    assert runs["books_template"] == 1
    Book.objects.filter(pk=book.pk).update(title="Persuasion")
    assert body(client.get("/books-template/")) == "Persuasion by Ann;"


@pytest.mark.parametrize("url", ["/streaming/", "/file/", "/status/404/", "/status/201/"])
def test_only_whole_200_responses_are_stored(url: str, ann: Author, client: Client) -> None:
    client.get(url)
    client.get(url)
    assert sum(runs.values()) == 2


def test_a_view_that_raises_is_not_cached(ann: Author, client: Client) -> None:
    views.outside["raise"] = True
    with pytest.raises(ValueError, match="the view failed"):
        client.get("/raising/")
    views.outside["raise"] = False
    assert body(client.get("/raising/")) == "Ann"
    assert body(client.get("/raising/")) == "Ann"
    assert runs["raising"] == 2


def test_its_own_uncommitted_writes_are_seen_and_not_stored(ann: Author, client: Client) -> None:
    assert body(client.get("/authors/")) == "Ann"
    with transaction.atomic():
        Author.objects.update(name="Bea")
        assert body(client.get("/authors/")) == "Bea"
        transaction.set_rollback(True)
    assert body(client.get("/authors/")) == "Ann"
    assert runs["authors"] == 2
    counts = stats.totals()["default"]
    assert (counts["bypassed"], counts["unstored"]) == (1, 0)


def test_tags_invalidate_what_sql_does_not_show(client: Client) -> None:
    assert body(client.get("/menu/")) == "soup"
    views.outside["menu"] = "salad"
    assert body(client.get("/menu/")) == "soup"
    pdcache.invalidate("menu")
    assert body(client.get("/menu/")) == "salad"


# Class-based views.


@pytest.mark.parametrize("url", ["/author-list/", "/page-view/"])
def test_class_based_views(url: str, ann: Author, client: Client) -> None:
    client.get(url)
    assert body(client.get(url)) == "Ann"
    Author.objects.update(name="Bea")
    assert body(client.get(url)) == "Bea"
    assert sum(runs.values()) == 2


@pytest.mark.parametrize("url", ["/async-author-list/", "/async-page-view/"])
def test_async_class_based_views(url: str, ann: Author) -> None:
    client = AsyncClient()

    async def main() -> None:
        await client.get(url)
        assert body(await client.get(url)) == "Ann"
        await Author.objects.aupdate(name="Bea")
        assert body(await client.get(url)) == "Bea"

    async_to_sync(main)()
    assert sum(runs.values()) == 2


def test_two_classes_at_one_url_have_their_own_entries(rf: RequestFactory) -> None:
    # as_view() returns the same inner function for every class: the class must tell them apart.
    class One(View):
        def get(self, request: HttpRequest) -> HttpResponse:
            return HttpResponse("one")

    class Two(View):
        def get(self, request: HttpRequest) -> HttpResponse:
            return HttpResponse("two")

    one, two = cache_view(60)(One.as_view()), cache_view(60)(Two.as_view())
    assert one(rf.get("/same/")).content == b"one"
    assert two(rf.get("/same/")).content == b"two"


def test_calling_it_without_options_says_how() -> None:
    with pytest.raises(TypeError, match=r"@cache_view\(60\)"):
        cache_view(views.authors)  # type: ignore[arg-type]


# Cache-Control, ETag, Last-Modified.


def test_cache_control_as_asked_and_public_when_shared(ann: Author, client: Client) -> None:
    for response in (client.get("/tuned/"), client.get("/tuned/")):
        directives = {d.strip() for d in response["Cache-Control"].split(",")}
        assert directives == {"public", "max-age=30", "s-maxage=600", "stale-while-revalidate=15"}


def test_without_max_age_browsers_are_told_to_revalidate(ann: Author, client: Client) -> None:
    assert client.get("/authors/")["Cache-Control"] == "no-cache"
    assert client.get("/authors/")["Cache-Control"] == "no-cache"


def test_the_views_own_directives_are_kept(ann: Author, client: Client) -> None:
    response = client.get("/own-cache-control/")
    directives = {d.strip() for d in response["Cache-Control"].split(",")}
    # patch_cache_control keeps the smaller max-age, and the view's must-revalidate.
    assert directives == {"max-age=10", "must-revalidate", "public"}


def test_validators_describe_the_entry(ann: Author, client: Client) -> None:
    before = http_date()
    response = client.get("/authors/")
    assert response["ETag"][0] == response["ETag"][-1] == '"'
    assert response["Last-Modified"] in (before, http_date())
    assert client.get("/authors/")["ETag"] == response["ETag"]


# Counts and failure.


def test_stats_count_hits_misses_and_unstored(ann: Author, client: Client) -> None:
    client.get("/authors/")
    client.get("/authors/")
    client.get("/authors/", headers={"If-None-Match": client.get("/authors/")["ETag"]})
    client.get("/status/404/")
    counts = stats.totals()["default"]
    assert (counts["hits"], counts["misses"], counts["unstored"]) == (3, 2, 1)


DOWN = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6390/0",
    }
}


def test_a_cache_that_is_down_answers_and_warns_once(
    ann: Author, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with override_settings(CACHES=DOWN), caplog.at_level(logging.WARNING, "pagedoctor.cache"):
        for name in ("Ann", "Bea"):
            Author.objects.update(name=name)
            response = client.get("/authors/")
            assert response.status_code == 200
            assert body(response) == name
    failures = [r for r in caplog.records if "failed" in r.getMessage()]
    assert len(failures) == 1


def test_a_cache_that_is_down_answers_async_views(
    ann: Author, caplog: pytest.LogCaptureFixture
) -> None:
    with override_settings(CACHES=DOWN), caplog.at_level(logging.WARNING, "pagedoctor.cache"):
        response = async_to_sync(AsyncClient().get)("/aauthors/")
    assert response.status_code == 200
    assert body(response) == "Ann"
    assert len([r for r in caplog.records if "failed" in r.getMessage()]) == 1
