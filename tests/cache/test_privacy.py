"""@cache_view never gives one visitor's page to another (DESIGN invariant 3).

The tests named after a CVE show that the bug of Django's cache middleware that it names cannot
happen with ``@cache_view``; ``pagedoctor/cache/views.py`` lists the advisories.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from django.test import AsyncClient, Client, override_settings

from pagedoctor.cache import stats
from pagedoctor.cache.views import Page, _servable
from tests.cache import views
from tests.cache.views import runs
from tests.testapp.models import Author

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.urls("tests.cache.urls"),
    pytest.mark.parametrize("cache_backend", ["locmem", "redis"], indirect=True),
]


@pytest.fixture(autouse=True)
def _fresh_views() -> Iterator[None]:
    runs.clear()
    views.outside.update({"raise": False, "menu": "soup"})
    yield
    runs.clear()


@pytest.fixture(autouse=True)
def _data(cache_backend: str) -> None:
    Author.objects.create(name="Ann")


def logged_in(name: str) -> Client:
    client = Client()
    client.force_login(User.objects.create_user(name))
    return client


def body(response: object) -> str:
    return response.content.decode()  # type: ignore[attr-defined, no-any-return]


def unstored() -> int:
    return stats.totals()["default"]["unstored"]


# The user and the session.


def test_a_page_that_used_request_user_is_not_shared() -> None:
    alice = logged_in("alice")
    assert body(alice.get("/whoami/")) == "alice: Ann"
    assert body(Client().get("/whoami/")) == ": Ann"
    assert body(alice.get("/whoami/")) == "alice: Ann"
    assert runs["whoami"] == 3


def test_an_async_page_that_used_request_auser_is_not_shared() -> None:
    alice = AsyncClient()
    alice.force_login(User.objects.create_user("alice"))

    async def main() -> list[str]:
        return [body(await alice.get("/awhoami/")), body(await AsyncClient().get("/awhoami/"))]

    assert async_to_sync(main)() == ["alice", ""]
    assert runs["awhoami"] == 2


def test_per_user_pages_are_kept_for_each_user_and_private() -> None:
    alice, bob = logged_in("alice"), logged_in("bob")
    assert body(alice.get("/whoami-per-user/")) == "alice: Ann"
    assert body(bob.get("/whoami-per-user/")) == "bob: Ann"
    assert body(Client().get("/whoami-per-user/")) == ": Ann"
    again = alice.get("/whoami-per-user/")
    assert body(again) == "alice: Ann"
    assert "private" in again["Cache-Control"]
    assert "public" not in again["Cache-Control"]
    assert runs["whoami_per_user"] == 3


def test_per_user_pages_follow_the_users_row_and_the_data() -> None:
    alice = logged_in("alice")
    alice.get("/whoami-per-user/")
    User.objects.filter(username="alice").update(username="alicia")
    assert body(alice.get("/whoami-per-user/")) == "alicia: Ann"
    Author.objects.update(name="Bea")
    assert body(alice.get("/whoami-per-user/")) == "alicia: Bea"
    assert runs["whoami_per_user"] == 3


def test_async_per_user_pages() -> None:
    alice, bob = logged_in("alice"), logged_in("bob")
    assert body(alice.get("/awhoami-per-user/")) == "alice: Ann"
    assert body(bob.get("/awhoami-per-user/")) == "bob: Ann"
    assert body(alice.get("/awhoami-per-user/")) == "alice: Ann"
    assert runs["awhoami_per_user"] == 2


def test_per_user_anonymous_visitors_are_told_apart_by_their_session() -> None:
    first, second = Client(), Client()
    for client, cart in ((first, ["tea"]), (second, ["jam"])):
        session = client.session
        session["cart"] = cart
        session.save()
    assert body(first.get("/cart-per-user/")) == "['tea']"
    assert body(second.get("/cart-per-user/")) == "['jam']"
    assert body(first.get("/cart-per-user/")) == "['tea']"
    assert runs["cart_per_user"] == 2


def test_per_user_pages_follow_the_session_contents() -> None:
    client = Client()
    session = client.session
    session["cart"] = ["tea"]
    session.save()
    assert body(client.get("/cart-per-user/")) == "['tea']"
    session["cart"] = ["tea", "jam"]
    session.save()
    assert body(client.get("/cart-per-user/")) == "['tea', 'jam']"


def test_a_page_that_changed_the_session_is_never_stored_even_per_user() -> None:
    client = Client()
    for _ in range(3):
        client.get("/adds-to-session/")
    assert runs["adds_to_session"] == 3


@override_settings(SESSION_SAVE_EVERY_REQUEST=True)
def test_cve_2026_35192_a_visitors_session_cookie_never_reaches_the_next() -> None:
    alice = Client()
    session = alice.session
    session["cart"] = ["tea"]
    session.save()
    assert "sessionid" in alice.get("/public/").cookies  # the session middleware's, for alice
    response = Client().get("/public/")
    assert body(response) == "Ann"
    assert runs["public"] == 1  # a hit
    assert "sessionid" not in response.cookies
    assert session.session_key not in str(response.headers)


# Cookies and CSRF tokens.


def test_a_stored_page_with_a_set_cookie_header_is_never_served() -> None:
    # Never stored so (the tests below), but a cache written by other code could hold one.
    page = Page(200, "OK", b"", (("set-cookie", "sessionid=alice"),), computed_at=0.0)
    assert not _servable(page)
    assert _servable(Page(200, "OK", b"", (("Vary", "Accept"),), computed_at=0.0))


def test_cve_2026_48588_a_response_that_sets_a_cookie_is_never_stored() -> None:
    visitor = Client()
    visitor.cookies["theme"] = "dark"  # an unrelated cookie on the request
    first = visitor.get("/sets-cookie/")
    second = Client().get("/sets-cookie/")
    assert first.cookies["flavour"].value == "visitor-1"
    assert second.cookies["flavour"].value == "visitor-2"
    assert runs["sets_cookie"] == 2
    assert unstored() == 2


def test_a_response_that_sets_a_cookie_is_never_stored_even_per_user() -> None:
    client = Client()
    client.get("/sets-cookie-per-user/")
    assert client.get("/sets-cookie-per-user/").cookies["flavour"].value == "visitor-2"
    assert runs["sets_cookie_per_user"] == 2


def test_a_set_cookie_header_set_by_hand_is_never_stored_even_per_user() -> None:
    client = Client()
    client.get("/sets-cookie-header/")
    assert client.get("/sets-cookie-header/")["Set-Cookie"] == "flavour=visitor-2"
    assert runs["sets_cookie_header"] == 2


@pytest.mark.parametrize("url", ["/form/", "/form-template/"])
def test_a_page_with_a_csrf_token_is_not_shared(url: str) -> None:
    first = Client().get(url)
    second = Client().get(url)
    token = body(first).split('value="')[-1].split('"')[0]
    assert token
    assert token not in body(second)
    assert sum(runs.values()) == 2


def test_per_user_csrf_pages_are_kept_for_the_secret_they_hold() -> None:
    alice, bob = Client(), Client()
    alice.get("/form-per-user/")  # no CSRF cookie yet: a new secret, so not kept
    bob.get("/form-per-user/")
    first = body(alice.get("/form-per-user/"))
    assert body(alice.get("/form-per-user/")) == first
    assert body(bob.get("/form-per-user/")) != first
    assert runs["form_per_user"] == 4


# Cache-Control, Vary and Authorization.


@pytest.mark.parametrize(
    "value", ["private", "Private", "PRIVATE, max-age=60", 'private="Set-Cookie"', " private "]
)
def test_cve_2026_8404_private_directives_in_any_case_are_not_shared(value: str) -> None:
    url = f"/header/?name=Cache-Control&value={value}"
    Client().get(url)
    Client().get(url)
    assert runs["header"] == 2


@pytest.mark.parametrize("value", ["no-store", "NO-STORE", "No-Cache", 'no-cache="Set-Cookie"'])
def test_no_store_and_no_cache_are_never_stored(value: str) -> None:
    url = f"/header/?name=Cache-Control&value={value}"
    Client().get(url)
    Client().get(url)
    assert runs["header"] == 2


@pytest.mark.parametrize("value", ["*", " * ", "Accept, *", "Accept ,  *  "])
def test_cve_2026_6907_and_48587_vary_star_is_never_stored(value: str) -> None:
    url = f"/header/?name=Vary&value={value}"
    Client().get(url)
    Client().get(url)
    assert runs["header"] == 2


@pytest.mark.parametrize("value", ["Cookie", " cookie ", "Accept, COOKIE", "Authorization "])
def test_vary_cookie_or_authorization_in_any_spelling_is_not_shared(value: str) -> None:
    url = f"/header/?name=Vary&value={value}"
    Client().get(url, headers={"Cookie": "a=1"})
    Client().get(url, headers={"Cookie": "a=1"})
    assert runs["header"] == 2


def test_cve_2026_35193_authorization_is_never_served_from_a_shared_entry() -> None:
    alice = Client(headers={"Authorization": "Bearer alice"})
    assert body(alice.get("/authorization/")) == "for Bearer alice"
    assert body(Client().get("/authorization/")) == "for None"  # not alice's page
    assert body(alice.get("/authorization/")) == "for Bearer alice"  # not the shared page
    assert body(Client().get("/authorization/")) == "for None"
    assert runs["authorization"] == 3


def test_a_shareable_page_is_shared() -> None:
    # The other tests' counterpart: a page that is nobody's in particular is a hit for all.
    Client().get("/public/")
    logged_in("alice").get("/public/")
    Client(headers={"Cookie": "theme=dark"}).get("/public/")
    assert runs["public"] == 1


# The key of a variant: RFC 9111 §4.1.


def test_cve_2026_113593_an_absent_header_is_not_an_empty_one() -> None:
    assert body(Client().get("/vary-on/", headers={"X-Token": ""})) == "['', None]"
    assert body(Client().get("/vary-on/")) == "[None, None]"
    assert body(Client().get("/vary-on/", headers={"X-Token": ""})) == "['', None]"
    assert runs["vary_on"] == 2


def test_two_header_values_cannot_run_together_into_one_key() -> None:
    ab_c = {"X-Token": "ab", "X-Other": "c"}
    a_bc = {"X-Token": "a", "X-Other": "bc"}
    assert body(Client().get("/vary-on/", headers=ab_c)) == "['ab', 'c']"
    assert body(Client().get("/vary-on/", headers=a_bc)) == "['a', 'bc']"
    assert runs["vary_on"] == 2
