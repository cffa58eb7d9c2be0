"""The names of what the fixed pages cache, shared by the views, templates and signals."""

from __future__ import annotations

from django.core.cache.utils import make_template_fragment_key

# How long, in seconds, a cached copy may live even if nothing invalidates it.
TIMEOUT = 600

# Fragment names used by {% cache %} in the templates; keep the two in step.
MENU_FRAGMENT = "category_menu"
FOOTER_FRAGMENT = "homepage_footer"
TEAM_FRAGMENT = "team_list"


def fragment_key(name: str) -> str:
    """Return the cache key of the template fragment ``name`` (cached without ``vary_on``)."""
    return make_template_fragment_key(name)


def flower_key(slug: str) -> str:
    """Return the cache key of the flower with ``slug``."""
    return f"shop:flower:{slug}"
