"""``{% cached %}``: Django's ``{% cache %}``, invalidated by any commit to what it read.

::

    {% load pagedoctor %}
    {% cached 600 "homepage_footer" request.user.username %} ... {% endcached %}
    {% cached None "menu" using="redis" %} ... {% endcached %}

The first argument is the timeout in seconds (None: until invalidated), the second the
fragment's name, the rest the values it varies on. A fragment that renders a CSRF token is
never stored: the token belongs to one user.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template.base import FilterExpression, NodeList, Parser, Token
from django.utils.safestring import SafeString, mark_safe

from pagedoctor.cache import fragments, tracking, values

register = template.Library()


class CachedNode(template.Node):
    def __init__(
        self,
        nodelist: NodeList,
        timeout: FilterExpression,
        name: str,
        vary_on: list[FilterExpression],
        using: FilterExpression | None,
    ) -> None:
        self.nodelist = nodelist
        self.timeout = timeout
        self.name = name
        self.vary_on = vary_on
        self.using = using

    def render(self, context: template.Context) -> SafeString:
        timeout = self.timeout.resolve(context)
        if timeout is not None and not isinstance(timeout, int | float):
            try:
                timeout = float(timeout)
            except (TypeError, ValueError):
                raise template.TemplateSyntaxError(
                    f"{{% cached %}} fragment {self.name!r}: the timeout must be a number of "
                    f"seconds or None, got {timeout!r}"
                ) from None
        vary = [v.resolve(context) for v in self.vary_on]
        using = self.using.resolve(context) if self.using else None
        every, one = fragments.tag_names(self.name, vary)
        rendered = values.get_or_compute(
            fragments.key(self.name, vary),
            lambda: self._render(context),
            timeout=timeout,
            cache=using,
            tags_=(every, one),
            lock=False,
        )
        return mark_safe(str(rendered))

    def _render(self, context: template.Context) -> str:
        probe = _CsrfProbe(context.get("csrf_token"))
        with context.push(csrf_token=probe):
            rendered = self.nodelist.render(context)
        if probe.used:
            for computation in tracking.enclosing()[-1:]:
                computation.spoil("it contains a CSRF token, which belongs to one user")
        return rendered


class _CsrfProbe:
    """Stands in for the CSRF token and remembers whether the fragment printed it."""

    def __init__(self, token: Any) -> None:
        self.token = token
        self.used = False

    def __bool__(self) -> bool:
        return bool(self.token)

    def __eq__(self, other: object) -> bool:
        return bool(self.token == other)

    def __hash__(self) -> int:
        return hash(self.token)

    def __str__(self) -> str:
        self.used = True
        return str(self.token)

    def __html__(self) -> str:
        return str(self)


@register.tag("cached")
def do_cached(parser: Parser, token: Token) -> CachedNode:
    """Parse ``{% cached TIMEOUT NAME [VARY ...] [using="ALIAS"] %}...{% endcached %}``."""
    tracking.use()
    nodelist = parser.parse(("endcached",))
    parser.delete_first_token()
    bits = token.split_contents()
    if len(bits) < 3:
        raise template.TemplateSyntaxError(
            f"{bits[0]!r} takes at least two arguments: a timeout and a fragment name, as in "
            '{% cached 600 "footer" %}'
        )
    using = None
    if bits[-1].startswith("using="):
        using = parser.compile_filter(bits.pop()[len("using=") :])
    name = bits[2].strip("'\"")
    return CachedNode(
        nodelist,
        parser.compile_filter(bits[1]),
        name,
        [parser.compile_filter(b) for b in bits[3:]],
        using,
    )
