"""The view behind a page: where a decorator for it goes, and wrapping it for a re-run.

A fix that decorates a view (``@cache_view``, ``@cache_control``) names the line to put it on:
the view's ``def`` or ``class`` in the site's code, or, for a view that lives in a library
(``TemplateView.as_view(...)``), the URLconf line that routes to it, where it can be wrapped.
Verification swaps the callable the URLconf holds for the time of a re-run, so the site's code
is never edited to check a fix.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve

from pagedoctor.capture.callsite import is_user_code

View = Callable[..., Any]


@dataclass(frozen=True)
class PageView:
    """The view a URL resolves to: the callable the URLconf holds, and where to change it."""

    callback: View
    name: str  # "shop.views.pizza_list"; a class-based view's class
    file: str
    line: int
    is_class: bool
    in_urlconf: bool = False  # the view is a library's: the line is the URL pattern's

    def decorated(self, decorator: str) -> str:
        """Return the code that puts ``decorator`` (``"cache_view(timeout=300)"``) on the view."""
        short = self.name.rsplit(".", 1)[-1]
        if self.in_urlconf:
            return (
                f"{decorator}({short}.as_view(...))" if self.is_class else f"{decorator}({short})"
            )
        if self.is_class:
            return f'@method_decorator({decorator}, name="dispatch")'
        return f"@{decorator}"


def page_view(url: str) -> PageView | None:
    """Return the view ``url`` resolves to, or None if it resolves to none with known source."""
    try:
        match = resolve(urlsplit(url).path)
    except Resolver404:
        return None
    callback = match.func
    view_class = getattr(callback, "view_class", None)
    target: Any = view_class if isinstance(view_class, type) else inspect.unwrap(callback)
    place = _source(target)
    if place is None:
        return None
    name = f"{target.__module__}.{getattr(target, '__qualname__', type(target).__name__)}"
    is_class = target is view_class
    # is_user_code judges code objects by their file name: give it one for this file.
    if is_user_code(compile("", place[0], "exec")):
        return PageView(callback, name, *place, is_class=is_class)
    routed = _route_line(callback)
    if routed is None:
        return None
    return PageView(callback, name, *routed, is_class=is_class, in_urlconf=True)


def _source(target: Any) -> tuple[str, int] | None:
    try:
        file = inspect.getsourcefile(target)
        _, line = inspect.getsourcelines(target)
    except (OSError, TypeError):
        return None  # a partial, a builtin, or code without a file
    return (file, line) if file else None


def _patterns(
    patterns: Iterable[URLPattern | URLResolver], module: Any
) -> Iterator[tuple[URLPattern, Any]]:
    """Yield every URL pattern with the URLconf module that lists it."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = pattern.urlconf_module
            yield from _patterns(pattern.url_patterns, inner if inspect.ismodule(inner) else module)
        else:
            yield pattern, module


def _route_line(callback: View) -> tuple[str, int] | None:
    """Return the file and line of the URLconf pattern that routes to ``callback``."""
    root = get_resolver()
    for pattern, module in _patterns(root.url_patterns, root.urlconf_module):
        if pattern.callback is not callback or not inspect.ismodule(module):
            continue
        file = inspect.getsourcefile(module)
        if file is None:
            return None
        route = str(pattern.pattern)
        try:
            lines = Path(file).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            return file, 1
        for number, text in enumerate(lines, 1):
            if f'"{route}"' in text or f"'{route}'" in text:
                return file, number
        return file, 1
    return None


@contextmanager
def view_wrapped(callback: View, wrapper: View) -> Iterator[None]:
    """Serve ``wrapper`` wherever the URLconf routes to ``callback``, in the block.

    Pass one wrapper for all the runs of a verification, so that what it keeps between
    requests (a cache, say) is shared as it would be with the decorator in the code.
    """
    root = get_resolver()
    holders = [p for p, _ in _patterns(root.url_patterns, None) if p.callback is callback]
    for pattern in holders:
        pattern.callback = wrapper
    try:
        yield
    finally:
        for pattern in holders:
            pattern.callback = callback
