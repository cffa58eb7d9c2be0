"""The row the cache benchmarks read by group and by primary key, and count writes in."""

from __future__ import annotations

from django.db import models


class Item(models.Model):
    name = models.CharField(max_length=50)
    group = models.IntegerField(db_index=True)
    # Only ever incremented: a value served below one already committed is stale.
    counter = models.IntegerField(default=0)

    class Meta:
        app_label = "cache_app"

    def __str__(self) -> str:
        return self.name
