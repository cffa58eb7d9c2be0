from __future__ import annotations

from django.apps import AppConfig


class GenericappConfig(AppConfig):
    name = "tests.genericapp"
    label = "genericapp"
    default_auto_field = "django.db.models.BigAutoField"
