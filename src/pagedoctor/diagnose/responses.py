"""What a page sends back to an anonymous visitor, and whether it may be shared or reused.

The audit's own runs keep a page's body digest and recording; caching advice also needs the
response's headers and cookies and what the request did besides answering (writes, email, work
left for after commit). A page is sampled again here, as a new anonymous visitor, in a
rolled-back transaction like every audit request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core import mail
from django.db import connections
from django.http import HttpResponseBase
from django.test import Client

from pagedoctor.audit.runner import PageResult, request_page

# The headers that say how a response may be cached, as the evidence shows them.
CACHING_HEADERS = ("Cache-Control", "ETag", "Last-Modified", "Expires", "Vary")
_WRITES = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE", "MERGE", "TRUNCATE"})


def _deferred_work() -> int:
    """Return how many ``on_commit`` callbacks wait on this thread's connections."""
    return sum(len(c.run_on_commit) for c in connections.all(initialized_only=True))


class ResponseClient(Client):
    """A test client that keeps its last response and counts the work it left for commit.

    The audit requests pages in a transaction that is rolled back, so ``on_commit`` callbacks
    never run: they are counted just after the response, before the rollback drops them.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.last: HttpResponseBase | None = None
        self.deferred = 0

    def request(self, **request: Any) -> Any:
        queued = _deferred_work()
        response = super().request(**request)
        self.deferred = _deferred_work() - queued
        self.last = response
        return response

    def validators(self) -> dict[str, str]:
        """Return the headers that ask again for the last response only if it changed."""
        found: dict[str, str] = {}
        if self.last is not None and self.last.has_header("ETag"):
            found["If-None-Match"] = self.last["ETag"]
        if self.last is not None and self.last.has_header("Last-Modified"):
            found["If-Modified-Since"] = self.last["Last-Modified"]
        return found


@dataclass
class Sample:
    """One anonymous GET of a page: the audit's measurements, and the response's headers."""

    page: PageResult
    headers: dict[str, str]  # every header, names lowercased
    cookies: tuple[str, ...]  # the names of the cookies it sets
    writes: tuple[str, ...]  # the statements that changed data
    mails: int  # messages sent (Django's in-memory outbox, which the audit swaps in)
    deferred: int  # on_commit callbacks queued
    streamed: bool = False

    @property
    def caching_headers(self) -> dict[str, str | None]:
        """Return the headers that govern caching as sent, None for those missing."""
        return {name: self.headers.get(name.lower()) for name in CACHING_HEADERS}


def sample(url: str) -> Sample:
    """Request ``url`` as a new anonymous visitor and return what came back."""
    client = ResponseClient()
    sent = len(getattr(mail, "outbox", []))
    page = request_page(client, url)
    response = client.last
    headers = {k.lower(): v for k, v in response.items()} if response is not None else {}
    cookies = tuple(response.cookies) if response is not None else ()
    return Sample(
        page=page,
        headers=headers,
        cookies=cookies,
        writes=tuple(q.sql for q in page.recording.queries if _changes_data(q.sql)),
        mails=len(getattr(mail, "outbox", [])) - sent,
        deferred=client.deferred,
        streamed=bool(response is not None and response.streaming),
    )


def _changes_data(sql: str) -> bool:
    head = sql.lstrip().split(None, 1)
    return bool(head) and head[0].upper() in _WRITES


def cache_control(headers: Mapping[str, str]) -> dict[str, str]:
    """Return the ``Cache-Control`` directives by lowercased name (``""``: without a value)."""
    directives: dict[str, str] = {}
    for part in headers.get("cache-control", "").split(","):
        name, _, value = part.partition("=")
        if name.strip():
            directives[name.strip().lower()] = value.strip().strip('"')
    return directives


def not_shareable(found: Sample) -> str | None:
    """Return why this response must not be served to other visitors, or None if it may be.

    These are the responses ``cache_view`` does not share: ones that are streamed, set cookies,
    vary on the visitor (the session, the user, a CSRF token), are marked private, no-store or
    no-cache; and requests that do more than answer (writes, email, work after commit), which
    a cache would skip.
    """
    if found.page.status != 200:
        return f"it answers {found.page.status}"
    if found.streamed:
        return "it is streamed"
    if found.cookies:
        return f"it sets the cookie {', '.join(found.cookies)}"
    vary = {v.strip().lower() for v in found.headers.get("vary", "").split(",")}
    personal = sorted(vary & {"cookie", "authorization", "*"})
    if personal:
        return f"it varies on {', '.join(personal)} (it reads the session, the user or a token)"
    directives = cache_control(found.headers)
    marked = [d for d in ("private", "no-store", "no-cache") if d in directives]
    if marked:
        return f"it is marked Cache-Control: {', '.join(marked)}"
    if found.writes:
        return f"it writes to the database ({found.writes[0].split(None, 1)[0].upper()} ...)"
    if found.mails:
        return "it sends email"
    if found.deferred:
        return "it leaves work to run after commit (transaction.on_commit)"
    return None


def max_age(headers: Mapping[str, str]) -> int:
    """Return how long a shared cache may keep the response (``s-maxage``, ``max-age``), or 0."""
    directives = cache_control(headers)
    if {"private", "no-store", "no-cache"} & directives.keys():
        return 0
    for name in ("s-maxage", "max-age"):
        if directives.get(name, "").isdigit():
            return int(directives[name])
    return 0
