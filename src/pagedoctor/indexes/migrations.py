"""The fix as Django code: the ``Meta.indexes`` entry, and a migration that adds the index."""

from __future__ import annotations

import hashlib
import inspect
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from django.db import migrations, models
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations.base import Operation
from django.db.migrations.writer import MigrationWriter

# Django's limit on index names (models.E034), which Oracle once imposed.
MAX_NAME_LENGTH = 30


def index_name(table: str, columns: Sequence[str]) -> str:
    """Return a deterministic index name within Django's 30 characters: ``shop_product_type_idx``.

    When ``<table>_<columns>_idx`` is too long, it is cut and a hash of the whole keeps names of
    different indexes apart.
    """
    base = re.sub(r"[^a-z0-9_]", "_", f"{table}_{'_'.join(columns)}".lower())
    if not base[0].isalpha():
        base = f"i{base}"
    if len(base) + len("_idx") <= MAX_NAME_LENGTH:
        return f"{base}_idx"
    digest = hashlib.sha1(base.encode(), usedforsecurity=False).hexdigest()[:6]
    return f"{base[: MAX_NAME_LENGTH - 11].rstrip('_')}_{digest}_idx"


def make_index(fields: Sequence[str], table: str, columns: Sequence[str]) -> models.Index:
    return models.Index(fields=list(fields), name=index_name(table, columns))


def meta_entry(index: models.Index) -> str:
    """Return the line to put in the model's ``Meta.indexes``."""
    fields = ", ".join(f'"{f}"' for f in index.fields)
    return f'models.Index(fields=[{fields}], name="{index.name}")'


def model_location(model: type[models.Model]) -> tuple[str | None, int | None]:
    """Return the file and line of the model's ``class Meta`` (or of the class if it has none)."""
    try:
        file = inspect.getsourcefile(model)
        lines, start = inspect.getsourcelines(model)
    except (OSError, TypeError):
        return None, None
    for offset, line in enumerate(lines):
        if offset and re.match(r"\s+class Meta\b", line):
            return file, start + offset
    return file, start


@dataclass(frozen=True)
class IndexMigration:
    """A migration adding indexes to one app: where it goes and what it says."""

    app_label: str
    name: str
    path: Path
    text: str


def index_migration(
    app_label: str,
    indexes: Sequence[tuple[str, models.Index]],
    *,
    concurrently: bool,
    loader: MigrationLoader | None = None,
) -> IndexMigration:
    """Return a migration adding ``indexes`` (model name, index) after the app's latest one.

    ``concurrently`` (PostgreSQL) writes ``AddIndexConcurrently`` in a non-atomic migration, so
    the table stays writable while the index builds.
    """
    loader = loader or MigrationLoader(None, ignore_no_migrations=True)
    leaves = loader.graph.leaf_nodes(app_label)
    number = max((MigrationAutodetector.parse_number(n) or 0 for _, n in leaves), default=0) + 1
    names = "_".join(index.name.removesuffix("_idx") for _, index in indexes)
    name = f"{number:04d}_{names}"[:52].rstrip("_")
    operations: list[Operation] = []
    for model_name, index in indexes:
        if concurrently:
            from django.contrib.postgres.operations import AddIndexConcurrently

            operations.append(AddIndexConcurrently(model_name=model_name, index=index))
        else:
            operations.append(migrations.AddIndex(model_name=model_name, index=index))
    attributes = {"dependencies": list(leaves), "operations": operations}
    migration = type("Migration", (migrations.Migration,), attributes)(name, app_label)
    writer = MigrationWriter(migration, include_header=False)
    text = writer.as_string()
    if concurrently:
        # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
        text = text.replace(
            "class Migration(migrations.Migration):\n",
            "class Migration(migrations.Migration):\n    atomic = False\n\n",
            1,
        )
    return IndexMigration(app_label, name, Path(writer.path), text)


def write_migration(migration: IndexMigration) -> Path:
    """Write ``migration`` into its app's migrations package; refuse to overwrite a file."""
    path = migration.path
    os.makedirs(path.parent, exist_ok=True)
    init = path.parent / "__init__.py"
    if not init.exists():
        init.write_text("", encoding="utf-8")
    with open(path, "x", encoding="utf-8") as handle:
        handle.write(migration.text)
    return path
