"""Follow links: the same-site ``<a href>`` of audited pages lead to pages discovery missed.

The links are read from the pages the audit already requested (their HTML is kept, not parsed,
while a page is timed), breadth first, up to a number of extra pages. A link is followed only
if it stays on the site, routes to a view, passes ``safety``, and its route has fewer than
``--per-route`` pages, so a shop's links to 500 products add one product page.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

from django.conf import settings
from django.http.request import validate_host
from django.test import Client

from pagedoctor.audit.pages import LINKS, Plan, plural

# Links to these are files, not pages.
_FILE_SUFFIXES = (
    *(".css", ".js", ".mjs", ".map", ".json", ".xml", ".txt", ".csv", ".pdf", ".zip", ".gz"),
    *(".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".avif", ".ico", ".bmp"),
    *(".mp3", ".mp4", ".webm", ".ogg", ".woff", ".woff2", ".ttf", ".otf", ".eot"),
    *(".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx"),
)
_SITE = "http://testserver"  # the test client's host


@dataclass(frozen=True)
class _Kept:
    content: bytes
    charset: str
    content_type: str
    location: str | None


class LinkClient(Client):
    """A test client that keeps each page it gets, for its links to be read after timing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kept: dict[str, _Kept] = {}

    def get(self, path: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().get(path, *args, **kwargs)
        # Only a reference is kept here: parsing waits until the page's timing is over.
        if not response.streaming:
            self.kept[str(path)] = _Kept(
                content=response.content,
                charset=response.charset,
                content_type=response.get("Content-Type", ""),
                location=response.get("Location"),
            )
        return response


def follow_links(
    client: LinkClient, plan: Plan, *, limit: int, request: Callable[[list[str]], None]
) -> str:
    """Request up to ``limit`` more pages linked from those requested; return what was done."""
    queue = deque(plan.urls)
    followed = 0
    while queue and followed < limit:
        page = queue.popleft()
        batch: list[str] = []
        for link in links(client.kept.pop(page, None), page):
            if followed + len(batch) >= limit:
                break
            if plan.offer(link, LINKS):
                batch.append(link)
        if batch:
            request(batch)
            followed += len(batch)
            queue.extend(batch)
    client.kept.clear()
    capped = len(plan.capped.get(LINKS, ()))
    more = f"; left out links to {capped} more of the same routes (--per-route {plan.per_route})"
    pages = plural(followed, "more page")
    return f"Followed links to {pages} (--crawl {limit}){more if capped else ''}"


def links(kept: _Kept | None, page: str) -> list[str]:
    """Return the same-site paths ``kept`` (the response to ``page``) links to, in order."""
    if kept is None:
        return []
    hrefs = [kept.location] if kept.location else []
    base = page
    if "html" in kept.content_type:
        parser = _LinkParser()
        parser.feed(kept.content.decode(kept.charset or "utf-8", errors="replace"))
        parser.close()
        hrefs += parser.hrefs
        base = urljoin(page, parser.base or "")
    found = (same_site(href, base) for href in hrefs)
    return list(dict.fromkeys(path for path in found if path is not None))


def same_site(href: str, base: str) -> str | None:
    """Return ``href`` as a path of this site (relative to ``base``), or None if it is not."""
    parts = urlsplit(urljoin(_SITE + base, href.strip()))
    if parts.scheme not in ("http", "https") or not _on_site(parts.hostname or ""):
        return None  # mailto:, tel:, javascript:, another host
    path = parts.path or "/"
    if path.lower().endswith(_FILE_SUFFIXES):
        return None
    return path + (f"?{parts.query}" if parts.query else "")  # the fragment is the same page


def _on_site(host: str) -> bool:
    # "*" lets any host in, which says nothing about which links are this site's own.
    hosts = [host for host in settings.ALLOWED_HOSTS if host != "*"]
    return host == "testserver" or validate_host(host, hosts)


class _LinkParser(HTMLParser):
    """Collect ``<a href>`` (not ``download`` links) and the first ``<base href>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        href = values.get("href")
        if not href:
            return
        if tag == "base" and self.base is None:
            self.base = href
        elif tag == "a" and "download" not in values:
            self.hrefs.append(href)
