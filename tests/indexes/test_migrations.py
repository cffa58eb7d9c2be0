from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection, models
from django.db.migrations.loader import MigrationLoader

from pagedoctor.indexes.migrations import (
    MAX_NAME_LENGTH,
    index_migration,
    index_name,
    make_index,
    meta_entry,
    model_location,
    write_migration,
)
from tests.testapp.models import Gadget


def test_index_names_are_deterministic_and_fit_django_s_limit() -> None:
    assert index_name("shop_product", ["type"]) == "shop_product_type_idx"
    long = index_name("accounting_invoiceline", ["customer_id", "created_at"])
    other = index_name("accounting_invoiceline", ["customer_id", "created_on"])
    assert len(long) <= MAX_NAME_LENGTH
    assert len(other) <= MAX_NAME_LENGTH
    assert long == index_name("accounting_invoiceline", ["customer_id", "created_at"])
    assert long != other
    assert long[0].isalpha()
    assert long.endswith("_idx")
    assert index_name("1table", ["x"])[0].isalpha()


def test_the_fix_is_the_meta_indexes_entry_at_the_model_s_meta() -> None:
    index = make_index(["kind"], "testapp_gadget", ["kind"])
    assert meta_entry(index) == 'models.Index(fields=["kind"], name="testapp_gadget_kind_idx")'
    file, line = model_location(Gadget)
    assert file is not None
    assert file.endswith("tests/testapp/models.py")
    assert line is not None
    assert Path(file).read_text().splitlines()[line - 1].strip() == "class Meta:"


@pytest.mark.parametrize("concurrently", [False, True])
def test_the_migration_adds_the_index_after_the_app_s_latest(concurrently: bool) -> None:
    index = make_index(["kind"], "testapp_gadget", ["kind"])
    migration = index_migration("testapp", [("gadget", index)], concurrently=concurrently)
    assert migration.name == "0003_testapp_gadget_kind"
    assert "('testapp', '0002_gadget')" in migration.text
    if concurrently:
        assert "AddIndexConcurrently(" in migration.text
        assert "    atomic = False\n" in migration.text
    else:
        assert "migrations.AddIndex(" in migration.text
        assert "atomic = False" not in migration.text
    compile(migration.text, migration.name, "exec")


@pytest.mark.django_db(transaction=True)
def test_the_written_migration_applies_and_satisfies_makemigrations_check(
    migrations_package: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = make_index(["kind"], "testapp_gadget", ["kind"])
    concurrently = connection.vendor == "postgresql"
    migration = index_migration("testapp", [("gadget", index)], concurrently=concurrently)
    path = write_migration(migration)
    assert path.parent.name == migrations_package
    with pytest.raises(FileExistsError):
        write_migration(migration)
    call_command("migrate", "testapp", verbosity=0)
    try:
        with connection.cursor() as cursor:
            constraints = connection.introspection.get_constraints(cursor, "testapp_gadget")
        assert constraints[index.name]["columns"] == ["kind"]
        # With the entry the fix names in Meta.indexes, the models and migrations agree.
        monkeypatch.setattr(Gadget._meta, "indexes", [*Gadget._meta.indexes, index])
        call_command("makemigrations", "testapp", "--check", "--dry-run", verbosity=0)
    finally:
        call_command("migrate", "testapp", "0002", verbosity=0)
    loader = MigrationLoader(connection)
    assert ("testapp", migration.name) in loader.graph.nodes
    assert isinstance(index, models.Index)
