"""What the fixed pages cache, with pagedoctor's caches: no invalidation code anywhere.

The talk caches the menu, the footer and a flower, and deletes each copy by hand from
``post_save`` handlers, which miss ``QuerySet.update()``, ``bulk_create`` and raw SQL, and race
with readers. pagedoctor records what each value read and invalidates it when a write to that
commits, whichever way it was written.
"""

from __future__ import annotations

from pagedoctor.cache import cached
from pagedoctor.demo.shop.models import Flower

# How long, in seconds, a cached copy may live even if nothing changes.
TIMEOUT = 600


@cached(timeout=TIMEOUT)
def flower_by_slug(slug: str) -> Flower | None:
    """Return the flower with ``slug``, or None: a miss is cached too, until a flower is added."""
    return Flower.objects.filter(slug=slug).first()
