"""Decide which pages to audit: URLs given, routes without parameters, the sitemap, AUDIT_URLS."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import urlsplit
from xml.etree import ElementTree

from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern

from pagedoctor.capture.recording import suspended
from pagedoctor.conf import conf
from pagedoctor.exceptions import AuditError

# Never request these on our own: they change state or need a login to mean anything.
_SKIPPED_PREFIXES = ("/admin/", "/static/", "/media/")
_SKIPPED_WORDS = re.compile(r"logout|signout|sign-out|log-out|delete|remove", re.IGNORECASE)
_REGEX_SPECIALS = re.compile(r"[\\.*+?()\[\]{}|]")


def normalize(url: str) -> str:
    """Return ``url`` as a path with its query string; reject what is not a URL of this site."""
    url = url.strip()
    if url.startswith(("http://", "https://")):
        parts = urlsplit(url)
        url = parts.path + (f"?{parts.query}" if parts.query else "")
    if not url.startswith("/"):
        raise AuditError(
            f"{url!r} is not a URL path; give paths that start with '/', like /pizzas/"
        )
    return url


def read_url_file(path: str) -> list[str]:
    """Return the URLs in ``path``: one per line, blank lines and ``#`` comments skipped."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise AuditError(
            f"cannot read the URL file {path!r} ({exc.strerror or exc}); "
            "pass a text file with one path per line"
        ) from exc
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [normalize(line) for line in lines if line]


def routes_without_parameters(
    patterns: Iterable[URLPattern | URLResolver] | None = None,
) -> list[str]:
    """Return the paths of the URLconf's routes that take no parameters."""
    if patterns is None:
        patterns = get_resolver().url_patterns
    return [f"/{route}" for route in _walk(patterns, "")]


def _walk(patterns: Iterable[URLPattern | URLResolver], prefix: str) -> Iterator[str]:
    for entry in patterns:
        piece = _literal(entry.pattern)
        if piece is None:
            continue
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + piece)
        else:
            yield prefix + piece


def _literal(pattern: object) -> str | None:
    """Return the fixed text a pattern matches, or None if it takes parameters."""
    if isinstance(pattern, RoutePattern):
        return None if pattern.converters else str(pattern)
    if isinstance(pattern, RegexPattern):
        text = str(pattern.regex.pattern).lstrip("^").rstrip("$").replace("\\Z", "")
        if pattern.regex.groups or _REGEX_SPECIALS.search(text.replace("\\/", "/")):
            return None
        return text
    return None


def sitemap_urls(client: Client) -> list[str]:
    """Return the paths listed in the site's ``/sitemap.xml``, if it has one."""
    with suspended():
        try:
            response = client.get("/sitemap.xml")
        except Exception:
            return []
    if response.status_code != 200:
        return []
    try:
        root = ElementTree.fromstring(response.content)
    except ElementTree.ParseError:
        return []
    locations = (el.text or "" for el in root.iter() if el.tag.endswith("loc"))
    return [normalize(loc) for loc in locations if loc.strip()]


def discover(client: Client) -> list[str]:
    """Return the pages to audit when none are given: AUDIT_URLS, routes, the sitemap."""
    found = routes_without_parameters() + sitemap_urls(client)
    configured = [normalize(u) for u in conf.AUDIT_URLS]
    return dedupe([*configured, *(u for u in found if is_safe(u))])


def is_safe(url: str) -> bool:
    """Return whether a page is safe to request unasked: no admin, static or logout URLs."""
    path = urlsplit(url).path
    return not path.startswith(_SKIPPED_PREFIXES) and not _SKIPPED_WORDS.search(path)


def dedupe(urls: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(urls))
