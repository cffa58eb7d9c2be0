"""The site's routes: each URL pattern of the URLconf, and the path it gives for some values."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from django.urls import Resolver404, ResolverMatch, URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import LocalePrefixPattern, RegexPattern, RoutePattern
from django.utils.http import RFC3986_SUBDELIMS
from django.utils.regex_helper import normalize

_PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
_REGEX_SPECIALS = re.compile(r"[\\.*+?()\[\]{}|]")
_SAFE_IN_PATH = RFC3986_SUBDELIMS + "/~:@"  # what reverse() leaves unquoted


@dataclass(frozen=True)
class Parameter:
    """A value a route takes: its name, and how the path spells a value."""

    name: str
    to_url: Callable[[Any], str]


@dataclass(frozen=True)
class Route:
    """One URL pattern, with the patterns of the includes that lead to it."""

    patterns: tuple[Any, ...]
    view: Callable[..., Any]
    name: str | None
    app_names: tuple[str, ...]  # of the includes, e.g. ("admin",)

    @property
    def text(self) -> str:
        """Return the route as Django's ``ResolverMatch.route`` spells it: ``pizzas/<int:pk>/``."""
        return join_route(str(pattern) for pattern in self.patterns)

    @property
    def path(self) -> str | None:
        """Return the one path this route matches, or None if it takes parameters."""
        pieces = [_literal(pattern) for pattern in self.patterns]
        if any(piece is None for piece in pieces):
            return None
        return "/" + "".join(piece or "" for piece in pieces)

    @property
    def parameters(self) -> list[Parameter] | None:
        """Return the values the route takes, or None if it takes unnamed (positional) ones."""
        found: list[Parameter] = []
        for pattern in self.patterns:
            if isinstance(pattern, RoutePattern):
                found += [
                    Parameter(name, converter.to_url)
                    for name, converter in pattern.converters.items()
                ]
            elif isinstance(pattern, RegexPattern):
                # As Django passes them: named groups if there are any (the others are ignored),
                # else the unnamed ones, positionally.
                regex = pattern.regex
                if regex.groups and not regex.groupindex:
                    return None
                found += [Parameter(name, str) for name in regex.groupindex]
        return found

    def build(self, values: Mapping[str, Any]) -> str | None:
        """Return the path that passes ``values`` to this route's view, or None if none does.

        The path is checked by resolving it: a value the converter rejects, or a path that an
        earlier route answers, gives None.
        """
        pieces = [_formatted(pattern, values) for pattern in self.patterns]
        if any(piece is None for piece in pieces):
            return None
        path = "/" + "".join(piece or "" for piece in pieces)
        match = resolved(path)
        if match is None or match.func is not self.view or match.route != self.text:
            return None
        parameters = self.parameters or []
        if not all(_same(p, match.kwargs.get(p.name), values[p.name]) for p in parameters):
            return None
        return quote(path, safe=_SAFE_IN_PATH)


def site_routes(patterns: Iterable[URLPattern | URLResolver] | None = None) -> list[Route]:
    """Return every route of the URLconf (or of ``patterns``), in the URLconf's order."""
    if patterns is None:
        patterns = get_resolver().url_patterns
    return list(_walk(patterns, (), ()))


def _walk(
    entries: Iterable[URLPattern | URLResolver],
    prefix: tuple[Any, ...],
    app_names: tuple[str, ...],
) -> Iterator[Route]:
    for entry in entries:
        if isinstance(entry, URLResolver):
            names = (*app_names, entry.app_name) if entry.app_name else app_names
            yield from _walk(entry.url_patterns, (*prefix, entry.pattern), names)
        elif isinstance(entry, URLPattern):
            yield Route((*prefix, entry.pattern), entry.callback, entry.name, app_names)


def join_route(pieces: Iterable[str]) -> str:
    """Join route pieces as Django's resolver does: a later piece loses its leading ``^``."""
    joined = ""
    for piece in pieces:
        joined = joined + piece.removeprefix("^") if joined else piece
    return joined


def resolved(url: str) -> ResolverMatch | None:
    """Return what the URLconf routes ``url`` to, or None if no route matches it."""
    try:
        return resolve(unquote(urlsplit(url).path))
    except Resolver404:
        return None


def _literal(pattern: object) -> str | None:
    """Return the fixed text a pattern matches, or None if it takes parameters."""
    if isinstance(pattern, LocalePrefixPattern):
        return pattern.language_prefix
    if isinstance(pattern, RoutePattern):
        return None if pattern.converters else str(pattern)
    if isinstance(pattern, RegexPattern):
        text = str(pattern.regex.pattern).lstrip("^").rstrip("$").replace("\\Z", "")
        if pattern.regex.groups or _REGEX_SPECIALS.search(text.replace("\\/", "/")):
            return None
        return text
    return None


def _same(parameter: Parameter, got: Any, wanted: Any) -> bool:
    """Return whether the view receives ``wanted`` (as the path spells it) for ``parameter``."""
    try:
        return got is not None and str(parameter.to_url(got)) == str(parameter.to_url(wanted))
    except ValueError:
        return False


def _formatted(pattern: object, values: Mapping[str, Any]) -> str | None:
    """Return the text ``pattern`` matches with ``values`` in its parameters, or None."""
    literal = _literal(pattern)
    if literal is not None:
        return literal
    if isinstance(pattern, RoutePattern):
        return _route_formatted(pattern, values)
    if isinstance(pattern, RegexPattern):
        names = set(pattern.regex.groupindex)
        for form, params in normalize(pattern.regex.pattern):
            if set(params) == names:
                return str(form % {name: str(values[name]) for name in params})
    return None


def _route_formatted(pattern: RoutePattern, values: Mapping[str, Any]) -> str | None:
    route, pieces, end = str(pattern), [], 0
    for match in _PARAMETER.finditer(route):
        converter = pattern.converters[match["name"]]
        try:
            text = str(converter.to_url(values[match["name"]]))
        except ValueError:  # how a converter says "not a value of mine", as reverse() knows
            return None
        if not re.fullmatch(converter.regex, text):
            return None
        pieces += [route[end : match.start()], text]
        end = match.end()
    return "".join(pieces) + route[end:]
