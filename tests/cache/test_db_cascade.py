"""Django 6.1's database-level cascades change rows with no SQL naming them: still invalidated."""

from __future__ import annotations

import django
import pytest

import pagedoctor.cache as pdcache

if django.VERSION < (6, 1):
    pytest.skip("on_delete=DB_CASCADE is new in Django 6.1", allow_module_level=True)

from tests.dbcascadeapp.models import Jar, Lid, Shelf

pytestmark = pytest.mark.django_db(transaction=True)


@pdcache.cached
def jar_labels() -> list[str]:
    return sorted(Jar.objects.values_list("label", flat=True))


@pdcache.cached
def lid_count() -> int:
    return Lid.objects.count()


def test_a_database_cascade_invalidates_the_children(cache_backend: str) -> None:
    shelf = Shelf.objects.create(name="top")
    jar = Jar.objects.create(label="jam", shelf=shelf)
    Lid.objects.create(jar=jar)
    assert jar_labels() == ["jam"]
    assert lid_count() == 1
    shelf.delete()  # the database deletes the jar, and the jar's lid, itself
    assert not Jar.objects.exists()
    assert jar_labels() == []
    assert lid_count() == 0
