"""Decide which pages to audit, and say where each came from.

Pages the user gives (arguments, a URL file) are requested as given, and only they. Otherwise:
``PAGEDOCTOR["AUDIT_URLS"]``, the routes without parameters, ``/sitemap.xml``, and the routes
with parameters filled from the database. What discovery adds passes ``safety`` (no admin,
logout, delete or POST-only pages) and keeps to ``per_route`` pages of each route.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from xml.etree import ElementTree

from django.test import Client
from django.urls import URLPattern, URLResolver

from pagedoctor.audit.fill import fill
from pagedoctor.audit.routes import Route, resolved, site_routes
from pagedoctor.audit.safety import refusal, route_refusal
from pagedoctor.capture.recording import suspended
from pagedoctor.conf import conf
from pagedoctor.exceptions import AuditError, PagedoctorError

# Where a page came from, as the summary line says it.
GIVEN = "given"
URL_FILE = "from the URL file"
CONFIGURED = "from PAGEDOCTOR['AUDIT_URLS']"
ROUTES = "from routes without parameters"
DATABASE = "from the database (routes with parameters)"
SITEMAP = "from /sitemap.xml"
LINKS = "from links on audited pages"

SKIPPED_SHOWN = 10  # reasons listed before "… and N more"
MAX_SITEMAPS = 20  # sitemaps read from a sitemap index


@dataclass
class Plan:
    """The pages to request, where each came from, and what discovery left out and why."""

    per_route: int = 1
    urls: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, list[str]] = field(default_factory=dict)  # reason -> routes
    notes: list[str] = field(default_factory=list)
    capped: dict[str, set[str]] = field(default_factory=dict)  # source -> URLs over per_route
    _per_route_count: Counter[str] = field(default_factory=Counter)

    def give(self, url: str, source: str) -> None:
        """Add a page the user asked for: requested as given, with a note if discovery wouldn't."""
        reason = refusal(url)
        if reason is not None and url not in self.sources:
            self.notes.append(f"Requesting {url} as given; unasked, it would be left out: {reason}")
        self._add(url, source)

    def offer(self, url: str, source: str, *, capped: bool = True) -> bool:
        """Add a discovered page unless it is unsafe, known, or its route has enough pages."""
        if url in self.sources or refusal(url) is not None:
            return False
        route = _route_of(url)
        if source == LINKS and route is None:
            return False  # no route: not a page of this site's URLconf
        if capped and route is not None and self._per_route_count[route] >= self.per_route:
            self.capped.setdefault(source, set()).add(url)
            return False
        self._add(url, source, route)
        return True

    def room(self, route: Route) -> int:
        """Return how many more pages ``route`` may get from discovery."""
        return max(0, self.per_route - self._per_route_count[route.text])

    def skip(self, route: Route, reason: str) -> None:
        """Note that discovery requests no page of ``route``, and why."""
        self.skipped.setdefault(reason, []).append(_label(route))

    def summary(self) -> str:
        """Return how many pages came from each source, e.g. "3 given, 2 from /sitemap.xml"."""
        counts = Counter(self.sources.values())
        parts = ", ".join(f"{count} {source}" for source, count in counts.items())
        capped = sum(len(urls) for urls in self.capped.values())
        more = f"; left out {capped} more of the same routes (--per-route {self.per_route})"
        return f"{parts}{more if capped else ''}"

    def report_lines(self) -> list[str]:
        """Return the notes on pages given, then what discovery left out and why."""
        lines = list(self.notes)
        if self.skipped:
            count = sum(len(routes) for routes in self.skipped.values())
            lines.append(f"Left out {plural(count, 'route')} (give their URLs to audit them):")
            for reason, routes in list(self.skipped.items())[:SKIPPED_SHOWN]:
                more = f" and {len(routes) - 1} more" if len(routes) > 1 else ""
                lines.append(f"  {routes[0]}{more}: {reason}")
            if len(self.skipped) > SKIPPED_SHOWN:
                lines.append(f"  … and {len(self.skipped) - SKIPPED_SHOWN} more reasons")
        return lines

    def _add(self, url: str, source: str, route: str | None = None) -> None:
        if url in self.sources:
            return
        self.urls.append(url)
        self.sources[url] = source
        route = route or _route_of(url)
        if route is not None:
            self._per_route_count[route] += 1


def given(urls: Sequence[str], *, url_file: str | None = None, per_route: int = 1) -> Plan:
    """Return the plan for pages the user names: ``urls``, then those of ``url_file``.

    ``per_route`` bounds only what a crawl adds later.
    """
    plan = Plan(per_route=per_route)
    for url in urls:
        plan.give(normalize(url), GIVEN)
    for url in read_url_file(url_file) if url_file else []:
        plan.give(url, URL_FILE)
    return plan


def discover(client: Client, *, per_route: int = 1) -> Plan:
    """Return the plan when no pages are given: AUDIT_URLS, routes, sitemap, the database."""
    plan = Plan(per_route=per_route)
    for url in conf.AUDIT_URLS:
        plan.give(normalize(url), CONFIGURED)
    open_routes: list[Route] = []
    for route in site_routes():
        reason = route_refusal(route) or (refusal(route.path) if route.path else None)
        if reason is not None:
            plan.skip(route, reason)
        elif route.path is not None:
            plan.offer(route.path, ROUTES, capped=False)  # one page: nothing to cap
        else:
            open_routes.append(route)
    for url in sitemap_urls(client):
        plan.offer(url, SITEMAP)
    for route in open_routes:
        _fill(plan, route)
    return plan


def _fill(plan: Plan, route: Route) -> None:
    wanted = plan.room(route)
    if not wanted:
        return  # AUDIT_URLS or the sitemap already has its pages
    filled = fill(route, count=wanted)
    if filled.reason is not None:
        plan.skip(route, filled.reason)
    added = [url for url in filled.urls if plan.offer(url, DATABASE)]
    unsafe = refusal(filled.urls[0]) if filled.urls and not added else None
    if unsafe is not None:  # e.g. the first product's slug is "remove-stains"
        plan.skip(route, f"its page {filled.urls[0]} is left out: {unsafe}")


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


def read_url_file(
    path: str,
    *,
    parse: Callable[[str], str] = normalize,
    error: type[PagedoctorError] = AuditError,
) -> list[str]:
    """Return the URLs in ``path``: one per line, blank lines and ``#`` comments skipped.

    Each line goes through ``parse``; an unreadable file raises ``error``.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise error(
            f"cannot read the URL file {path!r} ({exc.strerror or exc}); "
            "pass a text file with one path per line"
        ) from exc
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [parse(line) for line in lines if line]


def routes_without_parameters(
    patterns: Iterable[URLPattern | URLResolver] | None = None,
) -> list[str]:
    """Return the paths of the URLconf's routes that take no parameters."""
    return [route.path for route in site_routes(patterns) if route.path is not None]


def sitemap_urls(client: Client, path: str = "/sitemap.xml", *, index: bool = True) -> list[str]:
    """Return the pages ``/sitemap.xml`` lists, following a sitemap index one level down."""
    root = _xml(client, path)
    if root is None:
        return []
    if _tag(root) == "sitemapindex":
        sitemaps = _locations(root, "sitemap")[:MAX_SITEMAPS] if index else []
        return [url for sitemap in sitemaps for url in sitemap_urls(client, sitemap, index=False)]
    return _locations(root, "url")


def _xml(client: Client, path: str) -> ElementTree.Element | None:
    with suspended():
        try:
            response = client.get(path)
        except Exception:  # a broken sitemap view must not stop the audit of the pages
            return None
    if response.status_code != 200:
        return None
    try:
        return ElementTree.fromstring(response.content)
    except ElementTree.ParseError:
        return None


def _locations(root: ElementTree.Element, entry: str) -> list[str]:
    """Return the ``<loc>`` paths of the ``<url>`` (or ``<sitemap>``) entries, not images'."""
    found = []
    for element in root:
        if _tag(element) != entry:
            continue
        for child in element:
            text = (child.text or "").strip()
            if _tag(child) == "loc" and text.startswith(("/", "http://", "https://")):
                found.append(normalize(text))
    return found


def _tag(element: ElementTree.Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def _route_of(url: str) -> str | None:
    match = resolved(url)
    return match.route if match is not None else None


def _label(route: Route) -> str:
    return route.text if route.text.startswith("^") else f"/{route.text}"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def dedupe(urls: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(urls))
