"""``@cache_view``: cache whole responses with HTTP semantics, never one user's page for another.

A response is stored as a :class:`Page` through :mod:`pagedoctor.cache.values`, so it depends on
what the view's SQL read and is outdated by the next commit that changes it. Its key is the view,
the absolute URL with its query string, the active language and time zone, and (RFC 9111 §4.1)
the request's values of the headers the stored response's ``Vary`` names: the list of those
names is kept under the URL's own key, as Django's ``learn_cache_key`` does, and each variant
under the URL, the names and the request's values for them (an absent header is not an empty
one). Every served response carries an ``ETag`` made from the entry's dependency versions and a
``Last-Modified`` from when it was computed, so a conditional GET gets ``304 Not Modified``
without the view running.

A response is shared only if nothing in it can belong to one user: it sets no cookie, used no
CSRF token, did not touch the session (``request.user`` does), is not ``private``, ``no-store``
or ``no-cache`` and does not vary on ``*``, ``Cookie`` or ``Authorization``; a request with an
``Authorization`` header is never answered from a shared entry. ``per_user=True`` keys entries
by who is asking instead (user, session and its contents, CSRF cookie, ``Authorization``) and
marks them private. A response that sets a cookie, changed the session, or says ``no-store`` or
``no-cache`` is never stored at all.

Django's security advisories about its cache middleware and ``cache_page`` (2026; none about them
were found for 2025), and the test in ``tests/cache/test_privacy.py`` that shows each cannot
happen here:

- CVE-2026-35192 (5.2.14, 6.0.5), session fixation through a cached public page with
  ``SESSION_SAVE_EVERY_REQUEST``: a page is stored as the view made it, before the session
  middleware adds its cookie, and never with a cookie.
  ``test_cve_2026_35192_a_visitors_session_cookie_never_reaches_the_next``.
- CVE-2026-6907 (5.2.14, 6.0.5), responses with ``Vary: *`` were cached.
  ``test_cve_2026_6907_and_48587_vary_star_is_never_stored``.
- CVE-2026-8404 (5.2.15, 6.0.6), ``Cache-Control`` directives matched case-sensitively
  (``Private``). Directives are compared lower-cased, qualified forms (``private="Set-Cookie"``)
  by their name. ``test_cve_2026_8404_private_directives_in_any_case_are_not_shared``.
- CVE-2026-35193 (5.2.15, 6.0.6), responses to requests with ``Authorization`` were cached
  without varying on it. ``test_cve_2026_35193_authorization_is_never_served_from_a_shared_entry``.
- CVE-2026-48587 (5.2.15, 6.0.6), ``Vary`` values padded with whitespace (`` * ``) were not
  recognised. Header tokens are stripped. Same test as CVE-2026-6907, and
  ``test_vary_cookie_or_authorization_in_any_spelling_is_not_shared``.
- CVE-2026-48588 (5.2.16, 6.0.7), a response setting a cookie was cached when the request
  carried an unrelated cookie. A response with a cookie is never stored, whatever the request
  holds. ``test_cve_2026_48588_a_response_that_sets_a_cookie_is_never_stored``.
- CVE-2026-113593 (5.2.19, 6.0.10, 6.1.3), a request without a header the response varies on
  shared the key of one with that header empty. Header values are keyed by
  :func:`pagedoctor.cache.keys.canonical`, which tells ``None`` from ``""`` and cannot run two
  values together. ``test_cve_2026_113593_an_absent_header_is_not_an_empty_one``.

``django.utils.cache.learn_cache_key`` and ``get_cache_key`` are not used for the key: on Django
5.2 they join header values without a separator (``"ab" + "c"`` is ``"a" + "bc"``) and they key by
method, where a HEAD must be answered from the GET's entry.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date, parse_http_date_safe, quote_etag
from django.utils.timezone import get_current_timezone_name
from django.utils.translation import get_language

from pagedoctor.cache import backend, keys, stats, tags, tracking, values

logger = logging.getLogger("pagedoctor.cache")

V = TypeVar("V", bound=Callable[..., Any])

_NEVER_STORED = frozenset({"no-store", "no-cache"})
_FRESHNESS = frozenset({"max-age", "s-maxage", "no-cache", "no-store"})
_PERSONAL_VARY = frozenset({"cookie", "authorization"})


@dataclass(frozen=True)
class Page:
    """A stored response: enough to answer with it again, and when it was computed."""

    status: int
    reason: str
    content: bytes
    headers: tuple[tuple[str, str], ...]
    computed_at: float


@dataclass(frozen=True)
class Options:
    """How one decorated view is cached."""

    timeout: float | None
    cache: str | None
    max_age: int | None
    s_maxage: int | None
    stale_while_revalidate: int | None
    per_user: bool
    tags: frozenset[str]


@dataclass
class Target:
    """Where one request's response is kept: the cache, the URL's key, its tags; and the CSRF
    secret the request came with."""

    options: Options
    alias: str
    base: tuple[object, ...]
    extra_tags: set[str]
    csrf_before: str | None = None


def cache_view(
    timeout: float | None = 300,
    *,
    cache: str | None = None,
    max_age: int | None = None,
    s_maxage: int | None = None,
    stale_while_revalidate: int | None = None,
    per_user: bool = False,
    tags: Iterable[str] = (),
) -> Callable[[V], V]:
    """Cache a view's GET responses until a commit changes what they read, sync or async.

    - ``timeout``: seconds to keep a response at most (None: until invalidated).
    - ``cache``: the Django cache alias (default ``PAGEDOCTOR['CACHE']``).
    - ``max_age``, ``s_maxage``, ``stale_while_revalidate``: ``Cache-Control`` for browsers and
      shared caches; without ``max_age`` or ``s_maxage`` they are told to revalidate
      (``no-cache``), which the ``ETag`` makes a cheap 304.
    - ``per_user``: key responses by who asks, so pages that use the user or session are
      cached too, privately.
    - ``tags``: names to invalidate the view's responses by, with :func:`pagedoctor.invalidate`.

    Put access checks (``login_required``) outside it: a hit does not run the view.
    """
    if callable(timeout):
        raise TypeError("cache_view takes options, not the view: write @cache_view(60)")
    options = Options(
        timeout, cache, max_age, s_maxage, stale_while_revalidate, per_user, frozenset(tags)
    )

    def decorate(view: V) -> V:
        name = _view_name(view)
        if iscoroutinefunction(view):

            @functools.wraps(view)
            async def awrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                return await _aserve(options, name, lambda: view(request, *args, **kwargs), request)

            return awrapper  # type: ignore[return-value]

        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            return _serve(options, name, lambda: view(request, *args, **kwargs), request)

        return wrapper  # type: ignore[return-value]

    return decorate


def _view_name(view: Callable[..., Any]) -> str:
    # as_view() returns the same inner function for every class: name the class instead.
    target: Any = getattr(view, "view_class", None) or view
    return f"{getattr(target, '__module__', '')}.{getattr(target, '__qualname__', repr(target))}"


def _serve(
    options: Options, name: str, call: Callable[[], HttpResponseBase], request: HttpRequest
) -> HttpResponseBase:
    if not _wanted(request, options):
        return call()
    identity, user_tags = _identity(request, _user(request)) if options.per_user else (None, set())
    current = _start(options, name, request, identity, user_tags)
    try:
        found = _find(current, request)
    except backend.Unavailable:
        return call()
    if (answer := _hit(current, request, found)) is not None:
        return answer
    response, computation, elapsed = values.compute(
        lambda: _rendered(call()), extra_tags=current.extra_tags
    )
    return _keep(current, request, response, computation, elapsed, found)


async def _aserve(
    options: Options,
    name: str,
    call: Callable[[], Awaitable[HttpResponseBase]],
    request: HttpRequest,
) -> HttpResponseBase:
    if not _wanted(request, options):
        return await call()
    identity: str | None = None
    user_tags: set[str] = set()
    if options.per_user:
        user = await _auser(request)
        identity, user_tags = await sync_to_async(_identity)(request, user)
    current = _start(options, name, request, identity, user_tags)
    try:
        found = await sync_to_async(_find)(current, request)
    except backend.Unavailable:
        return await call()
    if (answer := _hit(current, request, found)) is not None:
        return answer

    async def run() -> HttpResponseBase:
        return await _arendered(await call())

    response, computation, elapsed = await values.acompute(run, extra_tags=current.extra_tags)
    return await sync_to_async(_keep)(current, request, response, computation, elapsed, found)


def _wanted(request: HttpRequest, options: Options) -> bool:
    """Return whether to use the cache at all: GET and HEAD, and no credentials to share."""
    if request.method not in ("GET", "HEAD"):
        return False
    return options.per_user or "Authorization" not in request.headers


def _start(
    options: Options, name: str, request: HttpRequest, identity: str | None, user_tags: set[str]
) -> Target:
    return Target(
        options=options,
        alias=backend.alias(options.cache),
        base=(name, *_place(request), identity),
        extra_tags={tags.custom(t) for t in options.tags} | user_tags,
        csrf_before=request.META.get("CSRF_COOKIE"),
    )


def _place(request: HttpRequest) -> tuple[object, ...]:
    """Return the URL, language and time zone a response was made for (as ``cache_page``)."""
    language = getattr(request, "LANGUAGE_CODE", get_language()) if settings.USE_I18N else ""
    zone = get_current_timezone_name() if settings.USE_TZ else ""
    return (request.build_absolute_uri(), language, zone)


def _user(request: HttpRequest) -> Any:
    return getattr(request, "user", None)


async def _auser(request: HttpRequest) -> Any:
    auser = getattr(request, "auser", None)
    return await auser() if auser is not None else None


def _identity(request: HttpRequest, user: Any) -> tuple[str, set[str]]:
    """Return who is asking, for a per-user key, and the tags of their user row.

    The session's contents are part of it: what a view reads from a session is not SQL that
    pagedoctor sees (cache and cookie sessions run none), so a changed session is a new key.
    """
    parts: list[str] = []
    user_tags: set[str] = set()
    if user is not None and user.is_authenticated:
        parts.append(f"user:{user.pk}")
        table = user._meta.db_table
        # A change to the user's row (a new name, say) must outdate their pages.
        user_tags = {tags.row(table, user.pk), tags.unpinned(table)}
    session = getattr(request, "session", None)
    if session is not None:
        contents = json.dumps(dict(session.items()), sort_keys=True, default=repr)
        parts.append(f"session:{session.session_key}:{_digest(contents)}")
    parts.append(f"csrf:{_digest(request.META.get('CSRF_COOKIE'))}")
    parts.append(f"authorization:{_digest(request.headers.get('Authorization'))}")
    return "|".join(parts), user_tags


def _digest(text: str | None) -> str:
    if text is None:
        return "-"
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _vary_key(base: tuple[object, ...]) -> str:
    return keys.make("cache_view:vary", base)[0]


def _variant_key(base: tuple[object, ...], names: list[str], request: HttpRequest) -> str:
    # None for an absent header, "" for an empty one: RFC 9111 §4.1 tells them apart.
    found = [request.headers.get(name) for name in names]
    return keys.make("cache_view", (base, names, found))[0]


def _find(current: Target, request: HttpRequest) -> values.Lookup:
    """Return the entry for this request's variant; raise ``Unavailable`` if the cache failed."""
    names = backend.call(current.alias, lambda cache: cache.get(_vary_key(current.base)))
    if not isinstance(names, list):
        return values.Lookup()
    return values.lookup(current.alias, _variant_key(current.base, names, request))


def _hit(current: Target, request: HttpRequest, found: values.Lookup) -> HttpResponseBase | None:
    """Answer from a valid entry, or return None and count why the view must run."""
    entry = found.entry
    if entry is not None and isinstance(entry.value, Page) and _servable(entry.value):
        stats.count(current.alias, "hits")
        for outer in tracking.enclosing():
            outer.inherit(entry.deps)
        return _answer(request, entry.value)
    stats.count(current.alias, "bypassed" if found.bypassed else "misses")
    return None


def _servable(page: Page) -> bool:
    # Never stored so, but a stored Set-Cookie would hand one visitor's cookie to the next.
    return all(name.lower() != "set-cookie" for name, _ in page.headers)


def _answer(request: HttpRequest, page: Page) -> HttpResponseBase:
    """Rebuild the stored response; a matching conditional request gets 304 instead."""
    head = request.method == "HEAD"
    response = HttpResponse(b"" if head else page.content, status=page.status, reason=page.reason)
    for name, value in page.headers:
        response.headers[name] = value
    if head:
        response.headers["Content-Length"] = str(len(page.content))
    last_modified = parse_http_date_safe(response.get("Last-Modified", ""))
    conditional = get_conditional_response(
        request, etag=response.get("ETag"), last_modified=last_modified, response=response
    )
    return conditional if conditional is not None else response


def _rendered(response: HttpResponseBase) -> HttpResponseBase:
    # A TemplateResponse renders later, outside the computation: render it here, while its SQL
    # and its {% csrf_token %} are seen.
    render = getattr(response, "render", None)
    return render() if callable(render) else response


async def _arendered(response: HttpResponseBase) -> HttpResponseBase:
    render = getattr(response, "render", None)
    if callable(render):
        return await sync_to_async(render)()  # type: ignore[no-any-return]
    return response


def _keep(
    current: Target,
    request: HttpRequest,
    response: HttpResponseBase,
    computation: tracking.Computation,
    elapsed: float,
    found: values.Lookup,
) -> HttpResponseBase:
    """Store the view's response if it may be served again, to this request's audience."""
    reason = _why_not_stored(request, response, current)
    if reason is None and request.method != "GET":
        return response  # a HEAD's response may lack the GET's body
    if reason is None and found.bypassed:
        return response  # its transaction wrote what it read and has not committed
    if reason is not None or not isinstance(response, HttpResponse):
        stats.count(current.alias, "unstored")
        logger.debug("pagedoctor: not caching %s: %s", request.get_full_path(), reason)
        return response
    names = _vary_names(response)
    key = _variant_key(current.base, names, request)
    page = _page(response, current, key, computation, elapsed, found)
    if values.store(
        current.alias, key, page, computation, timeout=current.options.timeout, compute_s=elapsed
    ):
        _learn(current, names)
    return response


def _why_not_stored(
    request: HttpRequest, response: HttpResponseBase, current: Target
) -> str | None:
    """Return why ``response`` may not be served again to this request's audience, or None."""
    if not isinstance(response, HttpResponse) or response.streaming:
        return "it is streamed"
    if response.status_code != 200:
        return f"its status is {response.status_code}"
    if response.cookies or response.has_header("Set-Cookie"):
        return "it sets a cookie"
    directives = _tokens(response.get("Cache-Control", ""), qualified=True)
    vary = _tokens(response.get("Vary", ""))
    if directives & _NEVER_STORED:
        return "its Cache-Control says no-store or no-cache"
    if "*" in vary:
        return "it varies on *"
    session = getattr(request, "session", None)
    if session is not None and session.modified:
        return "it changed the session"
    if (reason := _csrf_reason(request, current)) is not None:
        return reason
    if current.options.per_user:
        return None
    if "private" in directives:
        return "its Cache-Control says private (per_user=True caches it per user)"
    if vary & _PERSONAL_VARY:
        return "it varies on Cookie or Authorization (per_user=True caches it per user)"
    if session is not None and session.accessed:
        return "it used the session or request.user (per_user=True caches it per user)"
    return None


def _csrf_reason(request: HttpRequest, current: Target) -> str | None:
    # get_token() (and {% csrf_token %}) asks the CSRF middleware to send the cookie: the page
    # holds a token for this visitor's secret. Per user, the secret is in the key, so the page
    # may be kept if it used the secret the request came with.
    if not request.META.get("CSRF_COOKIE_NEEDS_UPDATE"):
        return None
    secret = request.META.get("CSRF_COOKIE")
    if current.options.per_user and secret is not None and secret == current.csrf_before:
        return None
    return "it holds a CSRF token (per_user=True caches it per user)"


def _tokens(value: str, *, qualified: bool = False) -> set[str]:
    """Return the lower-cased, stripped names in a comma-separated header value.

    With ``qualified``, ``private="Set-Cookie"`` counts as ``private`` (RFC 9111 §5.2.2).
    """
    found = set()
    for part in value.split(","):
        name = part.split("=", 1)[0] if qualified else part
        if name.strip():
            found.add(name.strip().lower())
    return found


def _vary_names(response: HttpResponse) -> list[str]:
    return sorted(_tokens(response.get("Vary", "")))


def _page(
    response: HttpResponse,
    current: Target,
    key: str,
    computation: tracking.Computation,
    elapsed: float,
    found: values.Lookup,
) -> Page:
    """Add caching headers and validators to ``response`` and return it as a :class:`Page`."""
    computed_at = time.time() - elapsed
    _patch_cache_control(response, current.options)
    if not response.has_header("ETag"):
        response.headers["ETag"] = _etag(key, computation.deps, computed_at)
    if not response.has_header("Last-Modified") and _new_second(found, computed_at):
        response.headers["Last-Modified"] = http_date(computed_at)
    return Page(
        status=response.status_code,
        reason=response.reason_phrase,
        content=response.content,
        headers=tuple(response.items()),
        computed_at=computed_at,
    )


def _patch_cache_control(response: HttpResponse, options: Options) -> None:
    """Add the directives asked for, without overriding what the view chose itself."""
    own = _tokens(response.get("Cache-Control", ""), qualified=True)
    extra: dict[str, Any] = {}
    if options.max_age is not None:
        extra["max_age"] = options.max_age
    if options.s_maxage is not None and not options.per_user:
        extra["s_maxage"] = options.s_maxage
    if options.stale_while_revalidate is not None:
        extra["stale_while_revalidate"] = options.stale_while_revalidate
    fresh = "max_age" in extra or "s_maxage" in extra
    if not own & {"public", "private"}:
        if options.per_user:
            extra["private"] = True
        elif fresh:
            extra["public"] = True
    if not fresh and not own & _FRESHNESS:
        # Without it, browsers may reuse the page by heuristic past a commit that changed it.
        extra["no_cache"] = True
    if extra:
        patch_cache_control(response, **extra)


def _etag(key: str, deps: dict[str, int], computed_at: float) -> str:
    """Return a validator that changes whenever a dependency's version or the entry does."""
    text = f"{key}\x00{sorted(deps.items())!r}\x00{computed_at!r}"
    return quote_etag(hashlib.blake2b(text.encode(), digest_size=16).hexdigest())


def _new_second(found: values.Lookup, computed_at: float) -> bool:
    """Return whether ``Last-Modified`` would tell this entry from the one it replaces.

    HTTP dates have whole seconds: a page recomputed within the second of the previous one would
    answer ``If-Modified-Since`` for the old page with 304. Such a page gets no Last-Modified
    (its ETag still validates it).
    """
    previous = found.previous.value if found.previous is not None else None
    if not isinstance(previous, Page):
        return True
    return math.floor(computed_at) > math.floor(previous.computed_at)


def _learn(current: Target, names: list[str]) -> None:
    """Remember which request headers select this URL's variant."""
    # If the cache fails here, the variant stays unreachable until a later response records it.
    with contextlib.suppress(backend.Unavailable):
        backend.call(
            current.alias,
            lambda cache: cache.set(_vary_key(current.base), names, current.options.timeout),
        )
