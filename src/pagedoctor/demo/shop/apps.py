from __future__ import annotations

from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "pagedoctor.demo.shop"
    label = "shop"
    verbose_name = "Demo shop"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from pagedoctor.demo.shop import signals  # noqa: F401 - connects the cache invalidation
