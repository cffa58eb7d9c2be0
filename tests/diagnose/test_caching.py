from __future__ import annotations

import dataclasses
import inspect
import logging

import pytest
from django.conf import settings
from django.test import Client

from pagedoctor.audit.analysis import analyze
from pagedoctor.audit.runner import audit_pages
from pagedoctor.demo.shop import views
from pagedoctor.demo.shop.seed import seed
from pagedoctor.diagnose.caching import CONDITIONAL_GET, page_caching, with_conditional_get
from pagedoctor.diagnose.findings import Finding
from pagedoctor.diagnose.settingsource import setting_place, settings_file
from pagedoctor.report.json import finding_data
from pagedoctor.verify import ConditionalVerification
from tests.diagnose import caching_site
from tests.testapp.models import Author

pytestmark = pytest.mark.django_db(transaction=True)
site = pytest.mark.urls("tests.diagnose.caching_site")


def findings_for(*urls: str) -> list[Finding]:
    Author.objects.bulk_create(Author(name=name) for name in ("ann", "bob", "cy"))
    return page_caching(audit_pages(list(urls), repeat=2, client=Client()))


def line_of(function: object) -> int:
    return inspect.getsourcelines(function)[1]  # type: ignore[arg-type]


@site
def test_a_page_the_same_for_everyone_is_cached_whole_and_proved() -> None:
    (finding,) = findings_for("/authors/", "/authors/?order=name")
    assert finding.kind == "uncached_page"
    assert finding.pages == ["/authors/", "/authors/?order=name"]  # one view, one finding
    assert finding.where is not None
    assert (finding.where.file, finding.where.line) == (
        caching_site.__file__,
        line_of(caching_site.authors),
    )
    assert finding.fix is not None
    assert finding.fix.code == "@cache_view(timeout=300)"
    assert finding.evidence["queries"] == 1
    assert finding.evidence["headers"]["ETag"] is None
    assert finding.verified is not None
    assert (finding.verified.queries_before, finding.verified.queries_after) == (1, 0)
    assert finding.verified.same_output


@site
def test_a_class_based_view_gets_method_decorator() -> None:
    (finding,) = findings_for("/count/")
    assert finding.kind == "uncached_page"
    assert finding.fix is not None
    assert finding.fix.code == '@method_decorator(cache_view(timeout=300), name="dispatch")'
    assert finding.fix.line == line_of(caching_site.AuthorCount)
    assert finding.verified is not None
    assert finding.verified.queries_after == 0


@site
def test_a_page_that_sets_a_cookie_gets_validators_not_a_shared_cache() -> None:
    (finding,) = findings_for("/cookie/")
    assert finding.kind == "http_caching"
    assert finding.evidence["not_shareable"] == "it sets the cookie seen"
    assert finding.evidence["missing"] == ["ETag or Last-Modified", "Cache-Control"]
    assert finding.fix is not None
    assert finding.fix.code == "@cache_control(private=True, no_cache=True)"
    assert CONDITIONAL_GET in finding.fix.summary
    verified = finding.verified
    assert isinstance(verified, ConditionalVerification)
    # The view still runs (the cookie must be set), but no body is sent again.
    assert verified.status_after == 304
    assert verified.bytes_before == len(b"3 authors")
    assert verified.bytes_after == 0
    assert verified.queries_after == verified.queries_before == 1
    assert verified.same_output
    # The report carries the bytes and status beside the usual numbers.
    assert finding_data(finding)["verified"] == dataclasses.asdict(verified)
    assert finding_data(finding)["verified"]["status_after"] == 304


@site
def test_a_page_that_reads_the_session_is_not_shared() -> None:
    (finding,) = findings_for("/session/")
    assert finding.kind == "http_caching"
    assert finding.evidence["shareable"] is False
    assert "cookie" in finding.evidence["not_shareable"]


@site
def test_a_page_cached_by_django_gets_the_middleware_in_settings() -> None:
    (finding,) = findings_for("/django-cached/")
    assert finding.kind == "http_caching"
    assert finding.evidence["missing"] == ["ETag or Last-Modified"]
    assert finding.evidence["headers"]["Cache-Control"] == "max-age=60"
    place = setting_place("MIDDLEWARE")
    assert place is not None
    assert finding.fix is not None
    assert (finding.fix.code, finding.fix.file, finding.fix.line) == (
        f'"{CONDITIONAL_GET}",',
        place.file,
        place.line,
    )
    assert isinstance(finding.verified, ConditionalVerification)
    assert finding.verified.status_after == 304


@site
def test_a_cheap_page_gets_cache_view_for_its_validators() -> None:
    (finding,) = findings_for("/cheap/")
    assert finding.kind == "http_caching"
    assert finding.evidence["shareable"] is True
    assert finding.fix is not None
    assert finding.fix.code == "@cache_view(timeout=300)"
    verified = finding.verified
    assert isinstance(verified, ConditionalVerification)
    assert (verified.status_after, verified.bytes_before, verified.bytes_after) == (304, 11, 0)


@site
def test_a_library_view_is_wrapped_in_the_urlconf() -> None:
    (finding,) = findings_for("/jsi18n/")
    assert finding.fix is not None
    assert finding.fix.code == "cache_view(timeout=300)(JavaScriptCatalog.as_view(...))"
    assert finding.fix.file == caching_site.__file__
    assert isinstance(finding.verified, ConditionalVerification)
    assert finding.verified.status_after == 304


@site
def test_a_page_that_writes_is_not_cached_whole() -> None:
    (finding,) = findings_for("/writing/")
    assert finding.kind == "http_caching"
    assert finding.evidence["not_shareable"] == "it writes to the database (INSERT ...)"


@site
def test_quiet_on_changing_no_store_and_validated_pages(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="pagedoctor.diagnose"):
        quiet = ("/changing/", "/not-stored/", "/validated/", "/pagedoctor-cached/")
        assert findings_for(*quiet) == []
    assert "/changing/: its body differs between two anonymous requests" in caplog.messages
    assert (
        "/not-stored/: not worth caching whole: it is marked Cache-Control: no-store"
        in caplog.messages
    )


@site
def test_a_streamed_page_gets_cache_control_only() -> None:
    # ConditionalGetMiddleware gives streamed responses no ETag: only Cache-Control is advised.
    (finding,) = findings_for("/streamed/")
    assert finding.evidence["not_shareable"] == "it is streamed"
    assert finding.fix is not None
    assert finding.fix.code == "@cache_control(private=True, no_cache=True)"
    assert CONDITIONAL_GET not in finding.fix.summary
    assert finding.verified is None


def test_conditional_get_goes_after_gzip_and_pagedoctor() -> None:
    middleware = [
        "django.middleware.security.SecurityMiddleware",
        "pagedoctor.middleware.PagedoctorMiddleware",
        "django.middleware.gzip.GZipMiddleware",
        "django.middleware.common.CommonMiddleware",
    ]
    assert with_conditional_get(middleware)[3] == CONDITIONAL_GET
    assert with_conditional_get(["django.middleware.common.CommonMiddleware"])[0] == CONDITIONAL_GET


def test_the_demo_pages() -> None:
    seed(products=50)
    result = audit_pages(["/team/", "/fixed/team/", "/products/product-1/"], repeat=2)
    findings = {
        f.pages[0]: f for f in analyze(result) if f.kind in ("uncached_page", "http_caching")
    }

    team = findings["/team/"]
    assert team.kind == "uncached_page"
    assert team.fix is not None
    assert team.fix.line == line_of(views.team)
    assert team.verified is not None
    assert team.verified.queries_before == team.evidence["queries"] > 0
    assert team.verified.queries_after == 0

    # The fixed twin caches its fragment: no query left, so only validators are missing.
    fixed = findings["/fixed/team/"]
    assert fixed.kind == "http_caching"
    assert fixed.evidence["shareable"] is True
    assert isinstance(fixed.verified, ConditionalVerification)
    assert fixed.verified.status_after == 304

    # "Recently viewed" is kept in the session: a cookie on every first visit.
    product = findings["/products/product-1/"]
    assert product.kind == "http_caching"
    assert product.evidence["not_shareable"] == f"it sets the cookie {settings.SESSION_COOKIE_NAME}"
    assert isinstance(product.verified, ConditionalVerification)
    assert product.verified.status_after == 304


@site
def test_a_static_file_served_by_django_gets_a_static_file_policy() -> None:
    (finding,) = findings_for("/static/shop/shop.css")
    assert finding.kind == "http_caching"
    assert finding.evidence["static"] is True
    assert finding.evidence["headers"]["Last-Modified"] is not None  # serve() sends it itself
    assert finding.evidence["headers"]["Cache-Control"] is None
    assert finding.fix is not None
    assert "ManifestStaticFilesStorage" in (finding.fix.code or "")
    assert finding.fix.file == settings_file()
