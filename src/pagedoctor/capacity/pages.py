"""Which pages to load, and the refusal of any host that is not this machine's loopback.

Load is only ever sent to the server ``pagedoctor capacity`` starts itself on 127.0.0.1 (or
::1): a full URL is accepted only when its host is a loopback one, and only its path is used.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from pagedoctor.capacity.errors import CapacityError, LoopbackError

LOOPBACK_NAMES = {"localhost": "127.0.0.1", "localhost.localdomain": "127.0.0.1"}

# The demo's slow pages beside their fixed twins, chosen because requesting them changes no
# data (the product page writes a session per visit) and each pair shows a different cure.
DEMO_PAGES = ["/", "/fixed/", "/pizzas/", "/fixed/pizzas/", "/report/", "/fixed/report/"]
FIXED_PREFIX = "/fixed"


def loopback_host(host: str) -> str:
    """Return ``host`` as the loopback address to bind; refuse every other host."""
    name = host.strip().strip("[]").lower()
    address = LOOPBACK_NAMES.get(name, name)
    try:
        loopback = ipaddress.ip_address(address).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise LoopbackError(
            f"pagedoctor capacity sends load only to this machine, got the host {host!r}; "
            "use a loopback address (127.0.0.1, ::1 or localhost), or leave --host out"
        )
    return address


def page_path(url: str) -> str:
    """Return the path and query of ``url``; refuse URLs of another host and non-paths."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CapacityError(f"{url!r} is not an http URL; give paths like /pizzas/")
        loopback_host(parts.hostname)
        url = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if not url.startswith("/"):
        raise CapacityError(
            f"{url!r} is not a URL path; give paths that start with '/', like /pizzas/"
        )
    return url


def read_pages_file(path: str) -> list[str]:
    """Return the pages in ``path``: one per line, blank lines and ``#`` comments skipped."""
    from pagedoctor.audit.pages import read_url_file  # the audit's reader, with our rules

    return read_url_file(path, parse=page_path, error=CapacityError)


def choose_pages(
    urls: list[str], *, urls_file: str | None, demo: bool, audit_urls: list[str]
) -> list[str]:
    """Return the pages to measure, in order and without repeats."""
    pages = [page_path(url) for url in urls]
    if urls_file:
        pages += read_pages_file(urls_file)
    if not pages:
        pages = list(DEMO_PAGES if demo else audit_urls)
    if not pages:
        raise CapacityError(
            "found no pages to measure; pass URLs (pagedoctor capacity /pizzas/ /menu/), "
            "--urls-file, or list them in PAGEDOCTOR['AUDIT_URLS']"
        )
    return list(dict.fromkeys(pages))


def fixed_twins(pages: list[str]) -> list[tuple[str, str]]:
    """Return the (slow, fixed) pairs among ``pages``: ``/x/`` beside ``/fixed/x/``."""
    chosen = set(pages)
    return [
        (page, FIXED_PREFIX + page)
        for page in pages
        if not page.startswith(FIXED_PREFIX + "/") and FIXED_PREFIX + page in chosen
    ]
