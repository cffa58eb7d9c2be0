"""Forget cached copies once a change to what they show is committed.

Deleting before the commit would let a reader cache the old row again in between, so every
delete waits for ``transaction.on_commit``. One race remains: a reader that read the old row
before the commit can store it after the delete, and it then lives until the timeout.
pagedoctor's cache module closes that race with versioned, compare-and-set stores; this is the
talk's advice done as well as plain Django allows. Bulk writes (``QuerySet.update``,
``bulk_create``) send no signals: those copies expire after ``caching.TIMEOUT``.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from pagedoctor.demo.shop.caching import (
    FOOTER_FRAGMENT,
    MENU_FRAGMENT,
    TEAM_FRAGMENT,
    flower_key,
    fragment_key,
)
from pagedoctor.demo.shop.models import Category, Flower, Product, TeamMember


def delete_on_commit(keys: list[str], *, using: str | None) -> None:
    """Delete ``keys`` from the cache once the current transaction commits."""
    transaction.on_commit(lambda: cache.delete_many(keys), using=using)


@receiver([post_save, post_delete], sender=Flower, dispatch_uid="shop.forget_flower")
def forget_flower(sender: type[Flower], instance: Flower, **kwargs: Any) -> None:
    """Forget the cached flower, under its new slug and the one it was read with."""
    slugs = {instance.slug, instance.loaded_slug} - {""}
    delete_on_commit([flower_key(slug) for slug in sorted(slugs)], using=kwargs.get("using"))
    instance.loaded_slug = instance.slug


@receiver([post_save, post_delete], sender=TeamMember, dispatch_uid="shop.forget_team")
def forget_team(sender: type[TeamMember], instance: TeamMember, **kwargs: Any) -> None:
    """Forget the cached team list: somebody joined, left or changed role."""
    delete_on_commit([fragment_key(TEAM_FRAGMENT)], using=kwargs.get("using"))


@receiver([post_save, post_delete], sender=Category, dispatch_uid="shop.forget_menu")
def forget_menu(sender: type[Category], instance: Category, **kwargs: Any) -> None:
    """Forget the cached category menu."""
    delete_on_commit([fragment_key(MENU_FRAGMENT)], using=kwargs.get("using"))


@receiver([post_save, post_delete], sender=Product, dispatch_uid="shop.forget_footer")
def forget_footer(sender: type[Product], instance: Product, **kwargs: Any) -> None:
    """Forget the cached footer, which shows how many products there are."""
    delete_on_commit([fragment_key(FOOTER_FRAGMENT)], using=kwargs.get("using"))
