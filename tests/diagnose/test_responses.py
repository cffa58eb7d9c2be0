from __future__ import annotations

import pytest

from pagedoctor.diagnose.responses import cache_control, max_age, not_shareable, sample
from tests.testapp.models import Author

pytestmark = [pytest.mark.urls("tests.diagnose.caching_site"), pytest.mark.django_db]


def test_a_sample_keeps_headers_cookies_and_what_the_request_did() -> None:
    Author.objects.create(name="a")
    found = sample("/cookie/")
    assert found.page.status == 200
    assert found.page.recording.queries  # measured like the audit's own requests
    assert found.cookies == ("seen",)
    assert found.caching_headers == {
        "Cache-Control": None,
        "ETag": None,
        "Last-Modified": None,
        "Expires": None,
        "Vary": None,
    }
    assert (found.writes, found.mails, found.deferred) == ((), 0, 0)


def test_a_plain_page_may_be_shared() -> None:
    assert not_shareable(sample("/authors/")) is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("/cookie/", "it sets the cookie seen"),
        ("/session/", "it varies on cookie (it reads the session, the user or a token)"),
        ("/not-stored/", "it is marked Cache-Control: no-store"),
        ("/validated/", "it is marked Cache-Control: private, no-cache"),
        ("/writing/", "it writes to the database (INSERT ...)"),
        ("/later/", "it leaves work to run after commit (transaction.on_commit)"),
        ("/nowhere/", "it answers 404"),
    ],
)
def test_pages_that_must_not_be_shared_say_why(url: str, reason: str) -> None:
    assert not_shareable(sample(url)) == reason


def test_a_page_that_sends_email_must_not_be_shared() -> None:
    # The demo's order page sends its confirmation on every visit (with the in-memory backend).
    from django.test import override_settings

    from pagedoctor.demo.shop.seed import seed

    seed(products=20)
    with override_settings(ROOT_URLCONF="tests.urls"):
        found = sample("/orders/1001/thanks/")
    assert found.mails == 1
    assert not_shareable(found) == "it sends email"


def test_cache_control_and_max_age() -> None:
    headers = {"cache-control": 'public, max-age=60, s-maxage="120", no-transform'}
    assert cache_control(headers) == {
        "public": "",
        "max-age": "60",
        "s-maxage": "120",
        "no-transform": "",
    }
    assert max_age(headers) == 120
    assert max_age({"cache-control": "max-age=60"}) == 60
    assert max_age({"cache-control": "private, max-age=60"}) == 0
    assert max_age({}) == 0
    assert max_age(sample("/django-cached/").headers) == 60
