from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console

from pagedoctor.audit.command import request_pages
from pagedoctor.audit.crawl import LinkClient, links, same_site
from pagedoctor.cli import build_parser
from tests.testapp.models import Author, Book


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("/test/books/", "/test/books/"),
        ("3/", "/test/books/3/"),  # relative to the page
        ("../authors/", "/test/authors/"),
        ("?page=2#results", "/test/books/?page=2"),  # the fragment is the same page
        ("#top", "/test/books/"),
        ("http://testserver/x/", "/x/"),
        ("https://localhost/x/", "/x/"),  # one of ALLOWED_HOSTS: the site's own
        ("https://example.com/x/", None),
        ("//example.com/x/", None),
        ("mailto:shop@example.com", None),
        ("tel:+4912345", None),
        ("javascript:void(0)", None),
        ("/files/price-list.PDF", None),
        ("/img/logo.svg", None),
    ],
)
def test_same_site(href: str, expected: str | None) -> None:
    assert same_site(href, "/test/books/") == expected


def test_allow_all_hosts_does_not_make_other_sites_ours(settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["*"]
    assert same_site("https://example.com/x/", "/") is None
    assert same_site("http://testserver/x/", "/") == "/x/"


@pytest.fixture
def site(settings: Any) -> list[Book]:
    settings.ROOT_URLCONF = "tests.audit.site_urls"
    settings.PAGEDOCTOR = {}
    ann = Author.objects.create(name="Ann")
    return [Book.objects.create(title=f"Book {n}", author=ann) for n in range(3)]


@pytest.mark.django_db
def test_links_are_read_from_the_html_in_order(site: list[Book]) -> None:
    client = LinkClient()
    client.get("/test/links/")
    found = links(client.kept["/test/links/"], "/test/links/")
    assert found == [
        *(f"/test/books/{book.pk}/" for book in site),
        "/test/session/end/",
        "/test/books/add/",
        "/test/delete-everything/",
        "/test/links/",  # "#top"
        "/admin/",
        "/test/books/?sort=title&page=2",  # &amp; decoded by the HTML parser
        "/test/no-such-page/",
    ]


def crawl(**options: Any) -> tuple[list[str], str]:
    out = io.StringIO()
    options["urls"] = ["/test/links/"]
    result = request_pages(options, Console(file=out, width=200), command="audit", repeat=1)
    return [page.url for page in result.pages], out.getvalue()


@pytest.mark.django_db
def test_crawl_follows_safe_links_once_per_route_breadth_first(site: list[Book]) -> None:
    urls, out = crawl(crawl=10)
    assert urls == [
        "/test/links/",
        f"/test/books/{site[0].pk}/",  # one book: the others are the same route
        "/test/books/?sort=title&page=2",
        "/test/authors/Ann/",  # linked from the book page: the second level
    ]
    assert (
        "Followed links to 3 more pages (--crawl 10); "
        "left out links to 2 more of the same routes (--per-route 1)"
    ) in out


@pytest.mark.django_db
def test_per_route_lets_more_pages_of_a_route_through(site: list[Book]) -> None:
    urls, _ = crawl(crawl=10, per_route=3)
    assert [url for url in urls if url.startswith("/test/books/")] == [
        *(f"/test/books/{book.pk}/" for book in site),
        "/test/books/?sort=title&page=2",
    ]


@pytest.mark.django_db
def test_crawl_stops_at_its_limit(site: list[Book]) -> None:
    urls, out = crawl(crawl=1)
    assert urls == ["/test/links/", f"/test/books/{site[0].pk}/"]
    assert "Followed links to 1 more page (--crawl 1)" in out


@pytest.mark.django_db
def test_without_crawl_no_link_is_followed(site: list[Book]) -> None:
    urls, out = crawl()
    assert urls == ["/test/links/"]
    assert "Followed links" not in out


@pytest.mark.django_db
def test_the_command_line_takes_crawl_and_per_route(site: list[Book]) -> None:
    args = ["audit", "/test/links/", "--crawl", "5", "--per-route", "2", "--repeat", "1"]
    options = vars(build_parser().parse_args(args))
    result = request_pages(options, Console(file=io.StringIO()), command="audit", repeat=1)
    urls = [page.url for page in result.pages]
    assert urls[:3] == ["/test/links/", f"/test/books/{site[0].pk}/", f"/test/books/{site[1].pk}/"]


def test_crawl_and_per_route_take_whole_numbers_of_at_least_one() -> None:
    assert build_parser().parse_args(["audit"]).crawl is None  # no crawl unless asked
    for option in ("--crawl", "--per-route"):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["audit", option, "0"])
