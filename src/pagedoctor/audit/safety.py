"""Which pages the audit never requests on its own: they change data, log out, or are files.

A page the user names is requested as asked; these rules decide only what discovery (routes,
the database, the sitemap, links) may add.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from pagedoctor.audit.routes import Route, resolved

ADMIN = "the admin site, which the audit never walks on its own"
_WORDS = re.compile(
    r"log-?out|log-?off|sign-?out|sign-?off|delete|remove|destroy|unsubscribe", re.IGNORECASE
)
_FILE_PREFIXES = ("/static/", "/media/")
_FILE_VIEWS = ("django.views.static", "django.contrib.staticfiles")


def refusal(url: str) -> str | None:
    """Return why the audit would not request ``url`` unasked, or None if it may."""
    parts = urlsplit(url)
    if parts.path.startswith(_file_prefixes()):
        return "a static or media file"
    if parts.path.startswith("/admin/"):
        return ADMIN
    if _WORDS.search(parts.path) or _WORDS.search(parts.query):
        return "its URL says it logs out, deletes or removes"
    match = resolved(url)
    if match is None:
        return None
    if "admin" in match.app_names:
        return ADMIN
    return view_refusal(match.func)


def route_refusal(route: Route) -> str | None:
    """Return why the audit would not request pages of ``route`` unasked, or None if it may."""
    if "admin" in route.app_names:
        return ADMIN
    return view_refusal(route.view)


def view_refusal(view: Callable[..., Any]) -> str | None:
    """Return why a GET to ``view`` could change data or be refused, or None if it is a page."""
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        reason = _class_refusal(view_class, getattr(view, "view_initkwargs", {}))
        if reason is not None:
            return reason
    for function in _wrapped(view):
        methods = _allowed_methods(function)
        if methods is not None and "GET" not in methods:
            return f"its view accepts only {', '.join(methods)}"
    if str(getattr(view, "__module__", "")).startswith(_FILE_VIEWS):
        return "its view serves files"
    name = getattr(view_class or view, "__qualname__", "")
    if _WORDS.search(name):
        return f"its view {name} looks like it logs out, deletes or removes"
    return None


def _class_refusal(view_class: type[Any], initkwargs: dict[str, Any]) -> str | None:
    if any(
        base.__name__ == "LogoutView" and base.__module__ == "django.contrib.auth.views"
        for base in view_class.__mro__
    ):
        return "a logout view"
    from django.views.generic.edit import DeletionMixin

    if issubclass(view_class, DeletionMixin):
        return "a delete view"
    methods = initkwargs.get("http_method_names", view_class.http_method_names)
    if "get" not in methods or not hasattr(view_class, "get"):
        return "its view does not answer GET"
    return None


def _wrapped(view: Callable[..., Any]) -> Iterator[Callable[..., Any]]:
    """Yield ``view`` and each function its decorators wrap (``functools.wraps`` chains)."""
    seen: set[int] = set()
    function: Any = view
    while callable(function) and id(function) not in seen:
        seen.add(id(function))
        yield function
        function = getattr(function, "__wrapped__", None)


def _allowed_methods(function: Callable[..., Any]) -> list[str] | None:
    """Return the methods ``require_http_methods`` (or ``require_POST``...) lets through, if any.

    The decorator keeps its list only in the closure of the function it returns.
    """
    code = getattr(function, "__code__", None)
    if code is None or not code.co_qualname.startswith("require_http_methods."):
        return None
    methods = inspect.getclosurevars(function).nonlocals.get("request_method_list")
    return [str(method) for method in methods] if methods is not None else None


def _file_prefixes() -> tuple[str, ...]:
    """Return the path prefixes of static and media files, from the settings and the usual."""
    prefixes = list(_FILE_PREFIXES)
    for setting in ("STATIC_URL", "MEDIA_URL"):
        path = urlsplit(str(getattr(settings, setting, None) or "")).path
        path = path if path.startswith("/") else f"/{path}"
        if len(path) > 1:  # "/" would refuse the whole site
            prefixes.append(path if path.endswith("/") else f"{path}/")
    return tuple(prefixes)
