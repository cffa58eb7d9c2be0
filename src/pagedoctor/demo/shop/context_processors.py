"""What every page's layout shows: the category menu and the footer."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from pagedoctor.demo.shop.models import Category, Product


def shop(request: HttpRequest) -> dict[str, Any]:
    """Return the menu and the product count, lazily.

    Neither is queried here: the queryset runs when a template iterates it, and the template
    calls ``count``, so a fragment served from ``{% cache %}`` costs no query (the talk's "use
    lazy objects"). An async view passes ready values under the same names instead.
    """
    return {
        "menu_categories": Category.objects.all(),
        "product_count": Product.objects.count,
    }
