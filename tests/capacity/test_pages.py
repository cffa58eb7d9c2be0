from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from pagedoctor.capacity.errors import CapacityError, LoopbackError
from pagedoctor.capacity.pages import (
    DEMO_PAGES,
    choose_pages,
    fixed_twins,
    loopback_host,
    page_path,
    read_pages_file,
)


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("127.0.0.2", "127.0.0.2"),
        ("::1", "::1"),
        ("[::1]", "::1"),
        ("localhost", "127.0.0.1"),
        ("LOCALHOST", "127.0.0.1"),
    ],
)
def test_loopback_hosts_are_accepted(host: str, address: str) -> None:
    assert loopback_host(host) == address


@pytest.mark.parametrize(
    "host", ["0.0.0.0", "10.0.0.5", "192.168.1.10", "8.8.8.8", "example.com", "::", ""]
)
def test_every_other_host_is_refused(host: str) -> None:
    with pytest.raises(LoopbackError, match="sends load only to this machine"):
        loopback_host(host)


def test_a_full_url_keeps_only_its_path_when_its_host_is_loopback() -> None:
    assert page_path("http://127.0.0.1:8000/pizzas/?page=2") == "/pizzas/?page=2"
    assert page_path("http://localhost") == "/"
    assert page_path(" /fixed/pizzas/ ") == "/fixed/pizzas/"


@pytest.mark.parametrize(
    "url", ["https://example.com/pizzas/", "http://10.1.2.3/", "http://[2001:db8::1]:80/x"]
)
def test_a_url_of_another_host_is_refused(url: str) -> None:
    with pytest.raises(LoopbackError, match="got the host"):
        page_path(url)


@pytest.mark.parametrize("url", ["pizzas/", "ftp://127.0.0.1/x"])
def test_what_is_not_a_path_is_refused(url: str) -> None:
    with pytest.raises(CapacityError, match="give paths"):
        page_path(url)


def test_the_urls_file_is_checked_line_by_line(tmp_path: Path) -> None:
    good = tmp_path / "good.txt"
    good.write_text("# pages\n/pizzas/\n\nhttp://127.0.0.1/fixed/pizzas/  # twin\n")
    assert read_pages_file(str(good)) == ["/pizzas/", "/fixed/pizzas/"]
    bad = tmp_path / "bad.txt"
    bad.write_text("/pizzas/\nhttp://example.org/\n")
    with pytest.raises(LoopbackError, match=r"'example\.org'"):
        read_pages_file(str(bad))
    with pytest.raises(CapacityError, match="cannot read the URL file"):
        read_pages_file(str(tmp_path / "missing.txt"))


def test_pages_default_to_the_demo_pairs_or_audit_urls() -> None:
    assert choose_pages([], urls_file=None, demo=True, audit_urls=["/x/"]) == DEMO_PAGES
    assert choose_pages([], urls_file=None, demo=False, audit_urls=["/x/"]) == ["/x/"]
    assert choose_pages(["/a/", "/a/"], urls_file=None, demo=True, audit_urls=[]) == ["/a/"]
    with pytest.raises(CapacityError, match="found no pages to measure"):
        choose_pages([], urls_file=None, demo=False, audit_urls=[])


def test_each_demo_page_has_its_fixed_twin() -> None:
    assert fixed_twins(DEMO_PAGES) == [
        ("/", "/fixed/"),
        ("/pizzas/", "/fixed/pizzas/"),
        ("/report/", "/fixed/report/"),
    ]
    assert fixed_twins(["/pizzas/", "/fixed/team/"]) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--host", "10.0.0.1"], "got the host '10.0.0.1'"),
        (["http://example.com/pizzas/"], "got the host 'example.com'"),
        (["--peak-hour-percent", "2"], "expected a number of at least 4.17"),
        (["--max-concurrency", "100000"], "at most 256"),
        (["--json", "no/such/folder/r.json"], "cannot write the report to 'no/such/folder/r.json'"),
    ],
)
def test_the_command_refuses_before_any_load(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("pagedoctor", "capacity", *args)
