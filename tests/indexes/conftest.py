"""Gadgets to index (a few thousand rows, fresh planner statistics), and a migrations package."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test import override_settings

from tests.testapp.models import Gadget

GADGETS = 6_000
PER_KIND = 20  # rows of one kind are stored together, as rows created together often are


@pytest.fixture(autouse=True)
def _decide_by_plans_not_stopwatches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Take any measured time as fast enough, so these tests check the advisor's logic.

    Whether an index wins on a few thousand rows is for the stopwatch of a loaded 2-core
    machine to say, differently from run to run: the timing rule itself is tested with fixed
    timings in test_verify.py, and the speed-ups are measured in benchmarks/indexes.py.
    """
    monkeypatch.setattr("pagedoctor.indexes.verify.MIN_SPEEDUP", 0.0)


def make_gadgets(count: int = GADGETS) -> None:
    """Create ``count`` gadgets and refresh the planner's statistics."""
    start = datetime(2017, 1, 1, tzinfo=UTC)
    Gadget.objects.bulk_create(
        Gadget(
            kind=f"kind-{n // PER_KIND}",
            color=f"color-{n % 50}",
            serial=f"serial-{n}",
            maker=f"maker-{n % 30}",
            size=n % 100,
            created=start + timedelta(minutes=n),
        )
        for n in range(count)
    )
    with connection.cursor() as cursor:
        if connection.vendor == "mysql":
            cursor.execute("ANALYZE TABLE testapp_gadget")
            cursor.fetchall()
        else:
            cursor.execute("ANALYZE testapp_gadget")


@pytest.fixture
def gadgets(transactional_db: None) -> None:
    make_gadgets()


@pytest.fixture
def migrations_package(tmp_path: Path) -> Iterator[str]:
    """A copy of testapp's migrations in a package of its own, where tests may write."""
    name = f"pd_index_migrations_{abs(hash(tmp_path)) % 10**8}"
    package = tmp_path / name
    package.mkdir()
    source = Path(__file__).parents[1] / "testapp" / "migrations"
    for path in source.glob("0*.py"):
        (package / path.name).write_text(path.read_text())
    (package / "__init__.py").write_text("")
    sys.path.insert(0, str(tmp_path))
    try:
        with override_settings(MIGRATION_MODULES={"testapp": name}):
            yield name
    finally:
        sys.path.remove(str(tmp_path))
        for module in [m for m in sys.modules if m.startswith(name)]:
            del sys.modules[module]
